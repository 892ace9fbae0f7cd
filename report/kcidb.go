package report

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/ktest-dev/ktest/apply"
	"github.com/ktest-dev/ktest/results"
)

// KCIDB v5.3 (KernelCI's common report database; the schema is in
// testdata/kcidb.v5.3.schema.json). A run maps to:
//
//   - one checkout per variant: the tree plus that variant's patches,
//     its patchset hash over every one of them (the baseline's patch
//     too; "" only for the tree as it is). Only the variant that
//     applies the series under test is the series' checkout
//     (Message-Id, subject); a baseline is other source code and gets
//     its own.
//   - one build per variant, with the variant's build status.
//   - tests on a build: the boot, each correctness test, each target
//     that could not be set up, each kernel crash, and each benchmark
//     metric's median as a measurement (status DONE with a number).
//
// Ids are "<origin>:<run key>/<variant>[/...]": the run key is the run
// id plus a hash of host, id and start time, as run ids are directory
// names and repeat across machines.

// DefaultOrigin is the KCIDB origin of ktest's submissions.
const DefaultOrigin = "ktest"

var originPattern = regexp.MustCompile(`^[a-z0-9_]+$`)

// ValidOrigin checks a KCIDB origin: lower-case letters, digits and
// underscores.
func ValidOrigin(origin string) error {
	if !originPattern.MatchString(origin) {
		return fmt.Errorf("origin %q: KCIDB wants lower-case letters, digits and _ only", origin)
	}
	return nil
}

// kcidbMaxExcerpt is the schema's maxLength of a log excerpt, in
// characters.
const kcidbMaxExcerpt = 16384

type kcidbDoc struct {
	Version   kcidbVersion     `json:"version"`
	Checkouts []*kcidbCheckout `json:"checkouts,omitempty"`
	Builds    []*kcidbBuild    `json:"builds,omitempty"`
	Tests     []*kcidbTest     `json:"tests,omitempty"`
}

type kcidbVersion struct {
	Major int `json:"major"`
	Minor int `json:"minor"`
}

type kcidbCheckout struct {
	ID      string `json:"id"`
	Origin  string `json:"origin"`
	Comment string `json:"comment,omitempty"`
	// PatchsetHash is "" for a checkout with no patches, so it is a
	// pointer: nil is "not known".
	PatchsetHash *string        `json:"patchset_hash,omitempty"`
	MessageID    string         `json:"message_id,omitempty"`
	StartTime    string         `json:"start_time,omitempty"`
	Valid        *bool          `json:"valid,omitempty"`
	LogExcerpt   string         `json:"log_excerpt,omitempty"`
	Misc         map[string]any `json:"misc,omitempty"`
}

type kcidbBuild struct {
	ID           string         `json:"id"`
	Origin       string         `json:"origin"`
	CheckoutID   string         `json:"checkout_id"`
	Comment      string         `json:"comment,omitempty"`
	Architecture string         `json:"architecture"`
	Compiler     string         `json:"compiler,omitempty"`
	Duration     float64        `json:"duration,omitempty"`
	Status       string         `json:"status,omitempty"`
	LogExcerpt   string         `json:"log_excerpt,omitempty"`
	Misc         map[string]any `json:"misc,omitempty"`
}

type kcidbTest struct {
	ID          string            `json:"id"`
	Origin      string            `json:"origin"`
	BuildID     string            `json:"build_id"`
	Path        string            `json:"path"`
	Comment     string            `json:"comment,omitempty"`
	Status      string            `json:"status,omitempty"`
	Duration    float64           `json:"duration,omitempty"`
	LogExcerpt  string            `json:"log_excerpt,omitempty"`
	Number      *kcidbNumber      `json:"number,omitempty"`
	Environment *kcidbEnvironment `json:"environment,omitempty"`
	Misc        map[string]any    `json:"misc,omitempty"`
}

type kcidbNumber struct {
	Value  float64 `json:"value"`
	Unit   string  `json:"unit,omitempty"`
	Prefix string  `json:"prefix,omitempty"` // "metric" or "binary"
}

type kcidbEnvironment struct {
	Comment string         `json:"comment,omitempty"`
	Misc    map[string]any `json:"misc,omitempty"`
}

// kcidb writes the run as one KCIDB v5.3 submission.
func (rd Renderer) kcidb(w io.Writer, r *results.Run) error {
	origin := rd.Origin
	if origin == "" {
		origin = DefaultOrigin
	}
	if err := ValidOrigin(origin); err != nil {
		return err
	}
	doc := kcidbDocument(r, origin)
	seen := map[string]bool{}
	for _, t := range doc.Tests {
		if seen[t.ID] {
			return fmt.Errorf("two tests map to KCIDB id %q", t.ID)
		}
		seen[t.ID] = true
	}
	data, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(data, '\n'))
	return err
}

func kcidbDocument(r *results.Run, origin string) *kcidbDoc {
	doc := &kcidbDoc{Version: kcidbVersion{5, 3}}
	key := origin + ":" + runKey(r)
	env := kcidbEnv(r)
	for _, v := range r.Variants {
		id := key + "/" + v.Name
		doc.Checkouts = append(doc.Checkouts, kcidbCheckoutOf(r, v, id, origin))
		b := kcidbBuildOf(r, v, id, origin)
		doc.Builds = append(doc.Builds, b)
		if b.Status == "FAIL" || b.Status == "MISS" {
			continue // nothing was booted
		}
		for _, t := range kcidbTestsOf(r, v, id) {
			t.Origin, t.BuildID, t.Environment = origin, id, env
			doc.Tests = append(doc.Tests, t)
		}
	}
	return doc
}

// runKey names the run uniquely: its id and 8 hex digits of a hash of
// host, id and start time.
func runKey(r *results.Run) string {
	h := sha256.Sum256([]byte(r.Host.Hostname + "\n" + r.ID + "\n" + r.Started.UTC().Format(time.RFC3339Nano)))
	return results.OrDefault(r.ID, "run") + "." + hex.EncodeToString(h[:4])
}

// isSeriesVariant reports whether v applies the series under test (last,
// as the pipeline does), rather than a tree that already contains it.
func isSeriesVariant(r *results.Run, v *results.Variant) bool {
	if r.Series == nil || len(v.Patches) == 0 || v.Patches[len(v.Patches)-1] != r.Series.Source {
		return false
	}
	for _, p := range r.Series.Patches {
		if p.Status == apply.PatchInTree {
			return false
		}
	}
	return true
}

var pathUnsafe = regexp.MustCompile(`[^a-zA-Z0-9_-]+`)

// pathWord makes s one word of a KCIDB test path: [a-zA-Z0-9_-]+.
func pathWord(s string) string {
	if s = pathUnsafe.ReplaceAllString(s, "_"); s == "" {
		return "_"
	}
	return s
}

// kcidbText drops NUL, which no KCIDB string may hold.
func kcidbText(s string) string { return strings.ReplaceAll(s, "\x00", "") }

// kcidbExcerpt fits text into a log excerpt, keeping the end: the last
// lines of a log say most about how it ended.
func kcidbExcerpt(s string) string {
	rs := []rune(kcidbText(s))
	if len(rs) <= kcidbMaxExcerpt {
		return string(rs)
	}
	const mark = "[...]\n"
	return mark + string(rs[len(rs)-kcidbMaxExcerpt+len(mark):])
}
