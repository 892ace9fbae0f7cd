package results

import "fmt"

// Seconds prints a duration in seconds: "9.1", "1290".
func Seconds(v float64) string {
	if v >= 100 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

// Tally counts a variant's tests by status.
type Tally struct{ pass, fail, hung, skip, notRun int }

// TestCounts tallies a variant's tests by status.
func TestCounts(v *Variant) Tally {
	var n Tally
	for _, t := range v.Targets {
		for _, tc := range t.Tests {
			switch tc.Status {
			case TestPass:
				n.pass++
			case TestHung:
				n.hung++
			case TestSkip:
				n.skip++
			case TestNotRun:
				n.notRun++
			default:
				n.fail++
			}
		}
	}
	return n
}

// String is "38 passed, 0 failed, 1 hung, 1 skipped", plus "9 not run
// (the kernel hung)" when a hang left tests out.
func (n Tally) String() string {
	s := fmt.Sprintf("%d passed, %d failed, %d hung, %d skipped", n.pass, n.fail, n.hung, n.skip)
	if n.notRun > 0 {
		s += fmt.Sprintf(", %d not run (the kernel hung)", n.notRun)
	}
	return s
}

// BuildText describes a variant's build: "cached", "built in 412 s,
// 2345 objects compiled", "build FAILED after 37 s".
func BuildText(k Kernel) string {
	switch {
	case k.Status == StepFailed:
		return fmt.Sprintf("build FAILED after %s s", Seconds(k.BuildSeconds))
	case k.Status != StepOK:
		return "not built"
	case k.Cached:
		return "cached"
	}
	return fmt.Sprintf("built in %s s, %d objects compiled", Seconds(k.BuildSeconds), k.Objects)
}

// BootText describes a variant's boot.
func BootText(b Boot) string {
	switch b.Status {
	case StepOK:
		return fmt.Sprintf("booted in %s s", Seconds(b.Seconds))
	case StepFailed:
		return fmt.Sprintf("boot FAILED after %s s", Seconds(b.Seconds))
	}
	return "not booted"
}

// PatchLabel is "01/12" or "" for a patch without numbering.
func PatchLabel(p Patch) string {
	if p.Total > 0 {
		w := len(fmt.Sprint(p.Total))
		return fmt.Sprintf("%0*d/%d", w, p.Number, p.Total)
	}
	if p.Number > 0 {
		return fmt.Sprint(p.Number)
	}
	return ""
}

// OrDefault is s, or def when s is empty.
func OrDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
