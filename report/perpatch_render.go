package report

import (
	"fmt"
	"strings"

	"github.com/ktest-dev/ktest/internal/termfmt"
	"github.com/ktest-dev/ktest/results"
)

// The per-patch table: one row per patch with checkpatch, build, boot
// and tests, the first bad patch named, and its evidence.

// stepCells are a step's table cells: checkpatch, build, boot, tests,
// verdict.
func stepCells(st results.PatchStep) []string {
	build := string(st.Build)
	switch {
	case st.Build == results.StepOK && st.Cached:
		build = "cached"
	case st.Build == results.StepOK:
		build = fmt.Sprintf("%d objects, %s s", st.Objects, results.Seconds(st.BuildSeconds))
	case st.Apply == results.StepFailed:
		build = "does not apply"
	case st.Build == results.StepFailed:
		build = "FAILED"
	}
	if len(st.NewWarnings) > 0 {
		build += fmt.Sprintf(", %s", termfmt.Plural(len(st.NewWarnings), "new warning"))
	}
	tests := string(st.Tests)
	switch st.Tests {
	case results.StepOK:
		tests = "pass"
	case results.StepFailed:
		tests = fmt.Sprintf("FAILED (%d)", len(st.Failed))
		if len(st.Failed) == 0 && st.Variant != nil && len(st.Variant.Crashes) > 0 {
			tests = "CRASH"
		}
	case results.StepPending:
		tests = "—"
	}
	boot := map[results.StepStatus]string{results.StepOK: "ok", results.StepFailed: "FAILED", results.StepPending: "—"}[st.Boot]
	if st.Build == results.StepPending || st.Build == results.StepFailed {
		boot = "—"
	}
	return []string{st.Checkpatch.String(), build, boot, tests, string(st.Grade)}
}

// firstBadText is "02/03 subject", or "" when no patch is bad.
func firstBadText(p *results.PerPatch) string {
	if st := p.FirstBadStep(); st != nil {
		return st.Label + " " + st.Subject
	}
	return ""
}

func mdPerPatch(p *printer, pp *results.PerPatch) {
	p.f("## Per patch\n\n")
	p.f("Each patch applied on top of the ones before it, built in the same build slot and booted")
	if pp.Suite != "none" {
		p.f(", then the %s tests on %s", mdText(pp.Suite), mdText(strings.Join(pp.Targets, ", ")))
	}
	p.f(" (mode %s).", mdText(pp.Mode))
	if pp.Note != "" {
		p.f(" %s.", mdText(strings.TrimSuffix(pp.Note, ".")))
	}
	p.f("\n\n")
	if fb := firstBadText(pp); fb != "" {
		p.f("**First bad patch: %s**\n\n", mdText(fb))
	} else if anyTested(pp) {
		p.f("No bad patch.\n\n")
	}
	p.f("| # | patch | checkpatch | build | boot | tests | verdict |\n|---|---|---|---|---|---|---|\n")
	for _, st := range pp.Steps {
		c := stepCells(st)
		verdict := c[4]
		if st.Grade == results.StepBad {
			verdict = "**bad**"
		}
		p.f("| %s | %s | %s | %s | %s | %s | %s |\n", st.Label, mdCell(st.Subject), mdCell(c[0]), mdCell(c[1]), c[2], c[3], verdict)
	}
	p.f("\n")
	for _, st := range pp.Steps {
		if st.Grade == results.StepBad && st.Evidence != "" {
			p.f("%s %s:\n", st.Label, mdText(st.Subject))
			p.fence(st.Evidence)
			p.f("\n")
		}
		if len(st.NewWarnings) > 0 {
			p.f("%s adds compiler warnings:\n", st.Label)
			p.fence(strings.Join(st.NewWarnings, "\n"))
			p.f("\n")
		}
	}
}

func anyTested(pp *results.PerPatch) bool {
	for _, st := range pp.Steps {
		if st.Grade != results.StepUntested {
			return true
		}
	}
	return false
}

func emailPerPatch(e *emailText, pp *results.PerPatch) {
	e.blank()
	head := "Per patch (mode " + pp.Mode + ")"
	if fb := firstBadText(pp); fb != "" {
		head += ": first bad patch " + fb
	}
	e.para(head + ".")
	if pp.Note != "" {
		e.para(pp.Note)
	}
	for _, st := range pp.Steps {
		c := stepCells(st)
		e.hang("  ", fmt.Sprintf("%s %s: checkpatch %s; build %s; boot %s; tests %s; %s", st.Label, st.Subject, c[0], c[1], c[2], c[3], c[4]))
		if st.Grade == results.StepBad && st.Evidence != "" {
			e.verbatim("      ", firstLines(st.Evidence, 12))
		}
	}
}

// firstLines keeps the first n lines of s.
func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = append(lines[:n], "[...]")
	}
	return strings.Join(lines, "\n")
}

// junitPerPatch is one case per patch: a bad step fails with its
// evidence, an untested one is skipped.
func junitPerPatch(r *results.Run) *JUnitSuite {
	pp := r.PerPatch
	if pp == nil {
		return nil
	}
	s := &JUnitSuite{Name: "per-patch"}
	for _, st := range pp.Steps {
		c := JUnitCase{Name: st.Label + " " + st.Subject, Classname: "ktest.per-patch", Time: junitTime(st.BuildSeconds)}
		switch st.Grade {
		case results.StepBad:
			c.Failure = &JUnitProblem{Message: "bad: " + termfmt.FirstLine(st.Evidence), Type: "bad-patch", Body: st.Evidence}
		case results.StepUntested:
			c.Skipped = &JUnitSkipped{Message: "not tested (" + pp.Mode + ")"}
		}
		s.Cases = append(s.Cases, c)
	}
	return s
}
