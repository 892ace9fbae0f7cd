package report

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ktest-dev/ktest/internal/termfmt"
	"github.com/ktest-dev/ktest/results"
)

// title is the series title, or a stand-in for runs without a series.
func title(r *results.Run) string {
	if r.Series != nil && r.Series.Title != "" {
		return r.Series.Title
	}
	if r.Tree.Version != "" {
		return "Linux " + r.Tree.Version + " (no series)"
	}
	return "ktest run " + r.ID
}

// testMatrix orders tests and maps target -> test -> result for one
// variant's correctness table.
func testMatrix(v *results.Variant) (tests, targets []string, cell map[string]map[string]results.Test) {
	cell = map[string]map[string]results.Test{}
	for _, t := range v.Targets {
		if len(t.Tests) == 0 && t.Error == "" {
			continue
		}
		targets = append(targets, t.Name)
		cell[t.Name] = map[string]results.Test{}
		for _, tc := range t.Tests {
			if !slices.Contains(tests, tc.Name) {
				tests = append(tests, tc.Name)
			}
			cell[t.Name][tc.Name] = tc
		}
	}
	return tests, targets, cell
}

// accelText is "KVM" or "TCG (reason)", and the guest clock when it
// counted instructions.
func accelText(r *results.Run) string {
	a := strings.ToUpper(results.OrDefault(r.Accel, "unknown"))
	if r.AccelReason != "" {
		a += " (" + r.AccelReason + ")"
	}
	if r.Plan.GuestClock() == "instructions" {
		a += ", guest clock counting instructions"
	}
	return a
}

// hunkText is "5 hunks, 1 offset, 1 fuzz, 1 conflict".
func hunkText(p results.Patch) string {
	s := termfmt.Plural(p.Hunks, "hunk")
	if p.Offset > 0 {
		s += fmt.Sprintf(", %d offset", p.Offset)
	}
	if p.Fuzz > 0 {
		s += fmt.Sprintf(", %d fuzz", p.Fuzz)
	}
	if p.Failed > 0 {
		s += ", " + termfmt.Plural(p.Failed, "conflict")
	}
	return s
}
