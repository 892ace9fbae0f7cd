package results

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"
)

// KCIDB v5.3 (KernelCI's common report database; the schema is in
// testdata/kcidb.v5.3.schema.json). A run maps to:
//
//   - one checkout per variant: the tree plus that variant's patches.
//     Only the variant that applies the series under test is the
//     series' checkout (patchset hash, Message-Id, subject); a baseline
//     is other source code and gets its own.
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
func (rd Renderer) kcidb(w io.Writer, r *Run) error {
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

func kcidbDocument(r *Run, origin string) *kcidbDoc {
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
func runKey(r *Run) string {
	h := sha256.Sum256([]byte(r.Host.Hostname + "\n" + r.ID + "\n" + r.Started.UTC().Format(time.RFC3339Nano)))
	return orDefault(r.ID, "run") + "." + hex.EncodeToString(h[:4])
}

// isSeriesVariant reports whether v applies the series under test (last,
// as the pipeline does), rather than a tree that already contains it.
func isSeriesVariant(r *Run, v *Variant) bool {
	if r.Series == nil || len(v.Patches) == 0 || v.Patches[len(v.Patches)-1] != r.Series.Source {
		return false
	}
	for _, p := range r.Series.Patches {
		if p.Status == "in-tree" {
			return false
		}
	}
	return true
}

// PatchsetHash is KCIDB's patchset hash: the sha256 over the
// newline-terminated hex sha256 of each patch, in order ("sha256sum
// *.patch | cut -c-64 | sha256sum"). ok is false if a patch's hash was
// not recorded.
func (s *Series) PatchsetHash() (hash string, ok bool) {
	h := sha256.New()
	for _, p := range s.Patches {
		if len(p.SHA256) != 64 {
			return "", false
		}
		fmt.Fprintf(h, "%s\n", p.SHA256)
	}
	return hex.EncodeToString(h.Sum(nil)), len(s.Patches) > 0
}

func kcidbCheckoutOf(r *Run, v *Variant, id, origin string) *kcidbCheckout {
	c := &kcidbCheckout{ID: id, Origin: origin, Comment: kcidbText(checkoutComment(r, v))}
	if !r.Started.IsZero() {
		c.StartTime = r.Started.UTC().Format(time.RFC3339Nano)
	}
	misc := map[string]any{"ktest_run": r.ID, "variant": v.Name,
		"tree": map[string]string{"origin": r.Tree.Origin, "version": r.Tree.Version, "kind": r.Tree.Kind, "key": r.Tree.Key}}
	if len(v.Patches) > 0 {
		misc["patches"] = v.Patches
	}
	switch {
	case len(v.Patches) == 0:
		empty := "" // no patches applied, as KCIDB spells it
		c.PatchsetHash = &empty
	case isSeriesVariant(r, v) && len(v.Patches) == 1:
		if h, ok := r.Series.PatchsetHash(); ok {
			c.PatchsetHash = &h
		}
	}
	if isSeriesVariant(r, v) {
		s := r.Series
		misc["series"] = map[string]any{"title": s.Title, "version": s.Version, "source": s.Source, "base": s.Base}
		if s.ReplyTo != nil && validMessageID(s.ReplyTo.MessageID) {
			c.MessageID = s.ReplyTo.MessageID
		}
	}
	c.Misc = misc
	for _, st := range r.Stages {
		if st.Name != "apply" || st.Variant != v.Name {
			continue
		}
		switch st.Status {
		case StageOK:
			c.Valid = ptr(true)
		case StageFailed:
			c.Valid = ptr(false)
			c.LogExcerpt = kcidbExcerpt(applyFailure(r, v, st))
		}
	}
	return c
}

func ptr[T any](v T) *T { return &v }

func checkoutComment(r *Run, v *Variant) string {
	if isSeriesVariant(r, v) {
		if rt := r.Series.ReplyTo; rt != nil && rt.Subject != "" {
			return rt.Subject
		}
		return r.Series.Title
	}
	tree := strings.TrimSpace(r.Tree.Kind + " " + orDefault(r.Tree.Version, r.Tree.Origin))
	if v.Description == "" {
		return tree
	}
	return tree + ": " + v.Description
}

// applyFailure is what a failed apply stage says: the stage error, and
// for the series the conflicting patches' details.
func applyFailure(r *Run, v *Variant, st Stage) string {
	var parts []string
	if e := r.Error; e != nil && e.Stage == "apply" && e.Variant == v.Name {
		parts = append(parts, e.Message)
	} else if st.Detail != "" {
		parts = append(parts, st.Detail)
	}
	if isSeriesVariant(r, v) {
		for _, p := range r.Series.Patches {
			if p.Status == "conflict" {
				parts = append(parts, fmt.Sprintf("patch %s %s: %s", patchLabel(p), p.Subject, p.Detail))
			}
		}
	}
	return strings.Join(parts, "\n")
}

// validMessageID reports whether id passes as the schema's "email"
// format: local@domain, each part plain enough.
func validMessageID(id string) bool {
	local, domain, ok := strings.Cut(id, "@")
	return ok && len(local) <= 64 && messageIDPart.MatchString(local) && messageIDDomain.MatchString(domain)
}

var (
	messageIDPart   = regexp.MustCompile(`^[A-Za-z0-9!#$%&'*+/=?^_{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_{|}~-]+)*$`)
	messageIDDomain = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$`)
)

func kcidbBuildOf(r *Run, v *Variant, id, origin string) *kcidbBuild {
	k := v.Kernel
	b := &kcidbBuild{ID: id, Origin: origin, CheckoutID: id, Comment: kcidbText(v.Description),
		Architecture: "x86_64", Compiler: kcidbText(r.Host.Compiler), Status: buildStatus(r, v)}
	if k.Status == StepOK || k.Status == StepFailed {
		b.Duration = k.BuildSeconds
	}
	if k.Status == StepFailed {
		if e := r.Error; e != nil && e.Stage == "build" && e.Variant == v.Name {
			b.LogExcerpt = kcidbExcerpt(e.Message)
		}
	}
	misc := map[string]any{"cached": k.Cached}
	for name, val := range map[string]string{"kernel_key": k.Key, "release": k.Release, "config_sha256": k.ConfigSHA256} {
		if val != "" {
			misc[name] = val
		}
	}
	if len(k.Quirks) > 0 {
		misc["quirks"] = k.Quirks
	}
	if k.Objects > 0 {
		misc["objects_compiled"] = k.Objects
	}
	b.Misc = misc
	return b
}

// buildStatus: a build that did not finish is FAIL (make or the config
// check failed: ktest cannot tell a broken tree from a broken host, and
// a kernel that did not build is the usual reading), ERROR if a signal
// cut it short, MISS if the run stopped before it, none while running.
func buildStatus(r *Run, v *Variant) string {
	switch v.Kernel.Status {
	case StepOK:
		return "PASS"
	case StepFailed:
		return "FAIL"
	case StepSkipped:
		return "SKIP"
	}
	for _, st := range r.Stages {
		if st.Name == "build" && st.Variant == v.Name && st.Status == StageInterrupted {
			return "ERROR"
		}
	}
	if r.Status == StatusRunning {
		return ""
	}
	return "MISS"
}

// kcidbTestsOf maps a variant's boot, tests, setup failures, crashes and
// benchmark medians; the caller sets origin, build and environment.
func kcidbTestsOf(r *Run, v *Variant, id string) []*kcidbTest {
	var out []*kcidbTest
	if st := stepTestStatus(v.Boot.Status); st != "" {
		t := &kcidbTest{ID: id + "/boot", Path: "ktest.boot", Status: st, Duration: v.Boot.Seconds}
		if e := r.Error; e != nil && e.Stage == "boot" && e.Variant == v.Name {
			t.LogExcerpt = kcidbExcerpt(e.Message)
		}
		out = append(out, t)
	}
	for _, tg := range v.Targets {
		tid := id + "/" + tg.Name
		if tg.Error != "" {
			out = append(out, &kcidbTest{ID: tid, Path: "ktest.setup." + pathWord(tg.Name), Status: "ERROR",
				Comment: "the target could not be set up (mkfs, mount or the test file)", LogExcerpt: kcidbExcerpt(tg.Error)})
		}
		for _, tc := range tg.Tests {
			t := &kcidbTest{ID: tid + "/" + tc.Name, Path: "ktest.correctness." + pathWord(tg.Name) + "." + pathWord(tc.Name),
				Status: testStatus(tc.Status), Duration: tc.DurationMS / 1000}
			if tc.Status != TestPass && tc.Status != TestFail && tc.Status != TestSkip {
				t.Misc = map[string]any{"ktest_status": string(tc.Status)}
			}
			if tc.Message != "" {
				t.LogExcerpt = kcidbExcerpt(tc.Message)
			}
			out = append(out, t)
		}
		for _, en := range tg.Bench {
			for _, name := range slices.Sorted(maps.Keys(en.Metrics)) {
				m := en.Metrics[name]
				n := metricNumber(name, m.Median)
				out = append(out, &kcidbTest{ID: tid + "/bench/" + en.Engine + "/" + name,
					Path:   "ktest.bench." + pathWord(tg.Name) + "." + pathWord(en.Engine) + "." + pathWord(name),
					Status: "DONE", Number: &n, Comment: "median of " + fmt.Sprint(len(m.Samples)) + " samples",
					Misc: map[string]any{"min": m.Min, "max": m.Max, "samples": m.Samples, "repeats": en.Repeats}})
			}
		}
	}
	for i, c := range v.Crashes {
		out = append(out, &kcidbTest{ID: fmt.Sprintf("%s/crash/%d", id, i+1), Path: "ktest.crash." + pathWord(orDefault(c.During, "unknown")),
			Status: "FAIL", Comment: kcidbText(c.Kind + ": " + c.Title), LogExcerpt: kcidbExcerpt(c.Title + "\n" + c.Excerpt),
			Misc: map[string]any{"kind": c.Kind, "during": c.During}})
	}
	return out
}

// testStatus maps a correctness test. A hang is FAIL: the test's own
// timeout is its verdict that the kernel never completed a read, which
// is the tested code being faulty, not the test failing to run (ERROR).
// A status this ktest does not know is ERROR: the outcome is unknown.
func testStatus(s TestStatus) string {
	switch s {
	case TestPass:
		return "PASS"
	case TestFail, TestHung:
		return "FAIL"
	case TestSkip:
		return "SKIP"
	}
	return "ERROR"
}

// stepTestStatus maps a boot; "" for one not attempted.
func stepTestStatus(s StepStatus) string {
	switch s {
	case StepOK:
		return "PASS"
	case StepFailed:
		return "FAIL"
	case StepSkipped:
		return "SKIP"
	}
	return ""
}

// metricNumber gives a median its unit. Units follow the metric's name
// (ms stays ms) so a value reads the same in ktest and in KCIDB.
func metricNumber(name string, v float64) kcidbNumber {
	n := kcidbNumber{Value: v}
	switch name {
	case MetricWallMS:
		n.Unit = "ms"
	case MetricLatP50US, MetricLatP99US:
		n.Unit = "us"
	case MetricIOPS:
		n.Unit, n.Prefix = "IOPS", "metric"
	case MetricUserCPU, MetricSysCPU:
		n.Unit = "%"
	case MetricCtxSwitches:
		n.Prefix = "metric"
	}
	return n
}

func kcidbEnv(r *Run) *kcidbEnvironment {
	e := &kcidbEnvironment{Misc: map[string]any{}}
	words := []string{"QEMU"}
	if r.Host.QEMU != "" {
		words = append(words, r.Host.QEMU)
	}
	if r.Accel != "" {
		words = append(words, "("+r.Accel+")")
	}
	if r.Host.Hostname != "" {
		words = append(words, "on", r.Host.Hostname)
	}
	e.Comment = kcidbText(strings.Join(words, " "))
	for name, val := range map[string]string{"accel": r.Accel, "accel_reason": r.AccelReason, "host_kernel": r.Host.Kernel, "qemu": r.Host.QEMU} {
		if val != "" {
			e.Misc[name] = val
		}
	}
	if r.Host.CPUs > 0 {
		e.Misc["host_cpus"] = r.Host.CPUs
	}
	return e
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
