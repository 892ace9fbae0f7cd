// Package patches embeds the patch series ktest ships: the flagship
// async-buffered-reads series, the project's baseline patches (one per
// era of the series' flag, see package era) and
// test-only fault patches. See README.md.
package patches

import (
	"embed"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/ktest-dev/ktest/internal/suggest"
)

// FS holds every directory of patches, e.g. "baseline-6.1/0001-....patch".
//
//go:embed */*.patch README.md
var FS embed.FS

// Well-known directories in FS.
const (
	AsyncBufferedReads = "async-buffered-reads"
	Baseline61         = "baseline-6.1"
	Baseline612        = "baseline-6.12"
	Faults61           = "faults-6.1"
	PerPatchHang61     = "perpatch-hang-6.1"
	PerPatchBuild61    = "perpatch-build-6.1"
	PerPatchUnfixed61  = "perpatch-unfixed-6.1"
	Lockup61           = "lockup-6.1"
)

// SlowRead61 are the power study's test-only planted slowdowns of the
// io_uring read path on 6.1, by their intended size in percent of a
// cold random read's wall time on ext4 under TCG (plans/power-slowread.toml).
var SlowRead61 = map[int]string{5: "slowread-5-6.1", 10: "slowread-10-6.1", 25: "slowread-25-6.1"}

// Prefix marks a patch source that names a series ktest ships rather
// than a path: "embedded:NAME", NAME a directory of FS.
const Prefix = "embedded:"

// Source is the patch source naming the embedded series name.
func Source(name string) string { return Prefix + name }

// Lookup is the one reader of "embedded:NAME": for such a source it
// returns NAME, the directory of FS that holds the series, with ok true,
// or an *UnknownError when ktest ships no series of that name; any other
// source is a path, and ok is false.
func Lookup(src string) (dir string, ok bool, err error) {
	name, ok := strings.CutPrefix(src, Prefix)
	if !ok {
		return "", false, nil
	}
	return name, true, Check(name)
}

// Names lists the series directories in FS, sorted: what "embedded:NAME"
// may name.
func Names() []string {
	entries, _ := fs.ReadDir(FS, ".")
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	return names
}

// UnknownError is an embedded series name that ktest does not ship.
type UnknownError struct {
	Name    string
	Known   []string
	Suggest string // the known name it is probably a typo of, or ""
}

func (e *UnknownError) Error() string {
	msg := fmt.Sprintf("embedded:%s: ktest ships no such series", e.Name)
	if e.Suggest != "" {
		msg += fmt.Sprintf("; did you mean embedded:%s?", e.Suggest)
	}
	return msg + " (embedded series: embedded:" + strings.Join(e.Known, ", embedded:") + ")"
}

// Check returns an *UnknownError unless FS has a series directory name.
func Check(name string) error {
	names := Names()
	if slices.Contains(names, name) {
		return nil
	}
	s, _ := suggest.Closest(name, names)
	return &UnknownError{Name: name, Known: names, Suggest: s}
}
