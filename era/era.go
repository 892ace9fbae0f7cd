// Package era tells where a kernel tree keeps the flag of the "async
// buffered reads" series, and which of ktest's baseline patches removes
// it. The series (merged for 5.9) made ext4, xfs, btrfs and block
// devices advertise FMODE_BUF_RASYNC in f_mode; commit 210a03c9d51a
// ("fs: claw back a few FMODE_* bits", 2024) moved it to
// FOP_BUFFER_RASYNC in file_operations.fop_flags. io_uring retries a
// buffered read from the page-wait callback only for files that
// advertise it, and punts the read to an io-wq worker otherwise.
//
// The era is read from what the tree's include/linux/fs.h defines, not
// from its version: a stable or vendor tree may carry the move earlier
// or later than mainline did. Choosing and scanning are pure; OfTree
// only reads the header.
package era

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"github.com/ktest-dev/ktest/kconfig"
)

// Era is one home of the series' flag.
type Era struct {
	// Name is the era's short name, as results record it.
	Name string
	// Flag is the identifier a file sets to advertise async buffered
	// reads.
	Flag string
	// Where says where the flag is set.
	Where string
	// Baseline is the embedded series (patches/) that removes the flag
	// from every file that sets it.
	Baseline string
	// WrittenFor is the tree the baseline was written against and
	// tested on.
	WrittenFor string
}

// String names the era for messages and reports.
func (e Era) String() string { return fmt.Sprintf("%s (%s in %s)", e.Name, e.Flag, e.Where) }

// The known eras, oldest first.
var (
	FMode = Era{Name: "f_mode", Flag: "FMODE_BUF_RASYNC", Where: "file->f_mode, set at open",
		Baseline: "baseline-6.1", WrittenFor: "Debian linux-source-6.1"}
	FOp = Era{Name: "fop_flags", Flag: "FOP_BUFFER_RASYNC", Where: "file_operations.fop_flags",
		Baseline: "baseline-6.12", WrittenFor: "Debian linux-source-6.12"}
	All = []Era{FMode, FOp}
)

// SeriesMerged is the first release with the series.
var SeriesMerged = kconfig.Version{Major: 5, Minor: 9}

// PredatesError is a tree older than the series: it has no flag to
// remove, so the default A/B means nothing there.
type PredatesError struct {
	Version kconfig.Version
}

func (e *PredatesError) Error() string {
	return fmt.Sprintf("this tree predates the series; test it with --series (Linux %s: its include/linux/fs.h defines neither %s nor %s; the series was merged for %d.%d)",
		e.Version, FMode.Flag, FOp.Flag, SeriesMerged.Major, SeriesMerged.Minor)
}

// UnknownError is a tree whose header matches no known era, or more
// than one.
type UnknownError struct {
	Version kconfig.Version
	Reason  string
}

func (e *UnknownError) Error() string {
	return fmt.Sprintf("Linux %s: no known baseline fits this tree: %s; test it with --series", e.Version, e.Reason)
}

// FSHeader is the header whose definitions tell the era.
const FSHeader = "include/linux/fs.h"

func defineRE(flag string) *regexp.Regexp {
	return regexp.MustCompile(`(?m)^[ \t]*#[ \t]*define[ \t]+` + flag + `\b`)
}

// Choose returns the era of a tree of version v whose include/linux/fs.h
// is fsh: the era whose flag the header defines. A tree that defines
// neither is a *PredatesError when its version is older than the series,
// else an *UnknownError (a kernel that moved or dropped the flag again);
// one that defines both is an *UnknownError.
func Choose(v kconfig.Version, fsh []byte) (Era, error) {
	code := stripComments(fsh)
	var found []Era
	for _, e := range All {
		if defineRE(e.Flag).Match(code) {
			found = append(found, e)
		}
	}
	switch {
	case len(found) == 1:
		return found[0], nil
	case len(found) > 1:
		return Era{}, &UnknownError{Version: v, Reason: fmt.Sprintf("%s defines both %s and %s", FSHeader, FMode.Flag, FOp.Flag)}
	case v.Less(SeriesMerged):
		return Era{}, &PredatesError{Version: v}
	}
	return Era{}, &UnknownError{Version: v, Reason: fmt.Sprintf("%s defines neither %s nor %s, though the series was merged for %d.%d",
		FSHeader, FMode.Flag, FOp.Flag, SeriesMerged.Major, SeriesMerged.Minor)}
}

// OfTree reads the tree's include/linux/fs.h and chooses its era; v is
// the tree's version (from its Makefile).
func OfTree(dir string, v kconfig.Version) (Era, error) {
	fsh, err := os.ReadFile(filepath.Join(dir, FSHeader))
	if errors.Is(err, os.ErrNotExist) {
		return Era{}, &UnknownError{Version: v, Reason: "the tree has no " + FSHeader}
	}
	if err != nil {
		return Era{}, fmt.Errorf("reading the era of %s: %w", dir, err)
	}
	return Choose(v, fsh)
}

// IsRefusal reports whether err says the default A/B cannot run on the
// tree (no era, no baseline that applies, or a baseline that leaves the
// flag): the user's tree, not the host, is the reason.
func IsRefusal(err error) bool {
	var p *PredatesError
	var u *UnknownError
	var b *BaselineError
	return errors.As(err, &p) || errors.As(err, &u) || errors.As(err, &b)
}
