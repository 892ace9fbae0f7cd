// Parsing checkpatch.pl's report.

package review

import (
	"errors"
	"regexp"
	"strconv"
	"strings"

	"github.com/ktest-dev/ktest/internal/termfmt"
)

// Severity is checkpatch's level of an item.
type Severity string

const (
	SevError   Severity = "ERROR"
	SevWarning Severity = "WARNING"
	SevCheck   Severity = "CHECK"
)

// CheckpatchResult is checkpatch's report on one patch.
type CheckpatchResult struct {
	Name     string // the patch, as given to Checkpatch
	Errors   int    // from checkpatch's "total:" line
	Warnings int
	Checks   int // 0 when checkpatch printed no count (CHECKs off)
	Lines    int // lines checked (0 for a mail without a diff)
	Items    []CheckpatchItem
	ExitCode int    // checkpatch's exit status: 0 clean, 1 problems found
	Output   string // checkpatch's report as printed
}

// CheckpatchItem is one ERROR, WARNING or CHECK.
type CheckpatchItem struct {
	Severity  Severity
	Type      string // e.g. LONG_LINE; empty if printed without --show-types
	Message   string // one or more lines
	Locations []CheckpatchLocation
	Excerpt   []string // the lines checkpatch quotes after the location
}

// CheckpatchLocation is a "#N: FILE: path:line:" line of an item.
type CheckpatchLocation struct {
	PatchLine int    // N: the line in the patch as given
	File      string // the file the diff changes; empty in the commit message
	Line      int    // the line in File after the patch; 0 without File
}

// Summary is the counts for a table cell: "2 errors, 5 warnings,
// 1 check", leaving out zeros, or "clean".
func (r *CheckpatchResult) Summary() string {
	var parts []string
	for _, c := range []struct {
		n    int
		noun string
	}{{r.Errors, "error"}, {r.Warnings, "warning"}, {r.Checks, "check"}} {
		if c.n > 0 {
			parts = append(parts, termfmt.Plural(c.n, c.noun))
		}
	}
	if len(parts) == 0 {
		return "clean"
	}
	return strings.Join(parts, ", ")
}

func (r *CheckpatchResult) String() string { return r.Summary() }

var (
	// "total: 0 errors, 2 warnings, 90 lines checked"; the checks count
	// is there only when CHECKs were on. --summary-file puts the file
	// name first.
	totalRE = regexp.MustCompile(`^(?:.* )?total: (\d+) errors, (\d+) warnings, (?:(\d+) checks, )?(\d+) lines checked$`)
	// "WARNING:TABSTOP: Statements should start on a tabstop"
	itemRE = regexp.MustCompile(`^(ERROR|WARNING|CHECK):(?:([A-Z0-9_]+):)? (.*)$`)
	// "#40: FILE: include/linux/pagemap.h:476:", or "#48: " in the
	// commit message.
	locationRE = regexp.MustCompile(`^#(\d+): (?:FILE: (.+):(\d+):)?\s*$`)
)

// ErrNoCheckpatchSummary is returned when the output has no "total:"
// line: checkpatch did not get to the end of the patch.
var ErrNoCheckpatchSummary = errors.New(`no "total:" line in checkpatch's output`)

// ParseCheckpatch parses the report checkpatch.pl prints for one patch
// with --show-types (items without types parse too). Items run from
// their "LEVEL:TYPE: message" line to the next item or the total line;
// what follows the total line (notes, the verdict) is not parsed.
// checkpatch ends every item with an empty line, so an item or total
// line counts only at the start or after an empty line: a quoted commit
// message line such as "WARNING: CPU: 0 PID: 1 at ..." is an excerpt.
func ParseCheckpatch(out []byte) (*CheckpatchResult, error) {
	r := &CheckpatchResult{Output: string(out)}
	var cur *CheckpatchItem
	done, afterBlank := false, true
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.TrimSuffix(line, "\r")
		atStart := afterBlank
		afterBlank = line == ""
		if m := totalRE.FindStringSubmatch(line); atStart && m != nil {
			r.Errors, _ = strconv.Atoi(m[1])
			r.Warnings, _ = strconv.Atoi(m[2])
			r.Checks, _ = strconv.Atoi(m[3]) // "" when absent: 0
			r.Lines, _ = strconv.Atoi(m[4])
			done = true
			break
		}
		if m := itemRE.FindStringSubmatch(line); atStart && m != nil {
			r.Items = append(r.Items, CheckpatchItem{Severity: Severity(m[1]), Type: m[2], Message: m[3]})
			cur = &r.Items[len(r.Items)-1]
			continue
		}
		if cur == nil {
			continue
		}
		if m := locationRE.FindStringSubmatch(line); m != nil {
			loc := CheckpatchLocation{File: m[2]}
			loc.PatchLine, _ = strconv.Atoi(m[1])
			loc.Line, _ = strconv.Atoi(m[3])
			cur.Locations = append(cur.Locations, loc)
			continue
		}
		if len(cur.Locations) == 0 {
			cur.Message += "\n" + line
		} else {
			cur.Excerpt = append(cur.Excerpt, line)
		}
	}
	if !done {
		return nil, ErrNoCheckpatchSummary
	}
	for i := range r.Items {
		it := &r.Items[i]
		it.Message = strings.TrimRight(it.Message, "\n")
		for len(it.Excerpt) > 0 && it.Excerpt[len(it.Excerpt)-1] == "" {
			it.Excerpt = it.Excerpt[:len(it.Excerpt)-1]
		}
	}
	return r, nil
}
