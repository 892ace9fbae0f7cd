package results

import (
	"github.com/ktest-dev/ktest/internal/termfmt"

	"fmt"
	"strings"
)

// The trailer rule. A Tested-by (or any trailer a reviewer signs with)
// is picked up by b4 and patchwork and taken at its word, so a reply
// carries one only when the run established what it claims. Every
// rendering asks WhyNoTrailer; none decides on its own.

// WhyNoTrailer returns "" when the run earned a trailer, and otherwise
// what failed or was not run, in one line for the reply. A run earns one
// when it is complete and passed: every variant built and booted, every
// target set up, every test passed or skipped, no crash, no hang, no bad
// patch, and every benchmark comparison it made could be decided (a run
// with too few boots shows figures only). A build-only run and a shard
// tested less than the plan asks, so they earn none; a per-patch run
// earns one only when it found no bad patch and tested the whole series
// (ktest has no per-patch reply to sign patch by patch).
func (r *Run) WhyNoTrailer() string {
	if r == nil {
		return "no run"
	}
	if why := r.Incomplete(); why != "" {
		return "the run did not finish: " + why
	}
	switch {
	case r.BuildOnly:
		return "a build-only run: no kernel was booted or tested"
	case r.Shard != nil:
		return fmt.Sprintf("shard %s tested only targets %s of the plan; the merged run is the one to sign",
			r.Shard, strings.Join(r.Plan.Targets, ", "))
	}
	var why []string
	if fb := r.FirstBadPatch(); fb != "" {
		why = append(why, fb)
	}
	if failed := r.Failed(); len(failed) > 0 {
		why = append(why, fmt.Sprintf("%s failed or hung: %s", termfmt.Plural(len(failed), "test"), firstFew(Strs(failed), 3)))
	}
	if n := r.notRun(); n > 0 {
		why = append(why, fmt.Sprintf("%s not run", termfmt.Plural(n, "test")))
	}
	if errs := r.TargetErrors(); len(errs) > 0 {
		why = append(why, "target setup failed: "+firstFew(Strs(errs), 2))
	}
	for _, v := range r.Variants {
		for _, c := range v.Crashes {
			why = append(why, fmt.Sprintf("%s crashed: %s %s", v.Name, c.Kind, termfmt.FirstLine(c.Title)))
			break
		}
	}
	why = append(why, r.untestedVariants()...)
	if r.Status != StatusPass && len(why) == 0 {
		why = append(why, "the run's status is "+OrDefault(string(r.Status), "unknown"))
	}
	if len(why) > 0 {
		return strings.Join(why, "; ")
	}
	return r.undecided()
}

// untestedVariants names what the run did not build, boot or test:
// every variant of an A/B run, the whole series of a per-patch run.
func (r *Run) untestedVariants() []string {
	if pp := r.PerPatch; pp != nil {
		switch {
		case pp.Suite == "none":
			return []string{"the per-patch steps were built, not booted or tested"}
		case len(pp.Steps) == 0 || pp.Steps[len(pp.Steps)-1].Grade != StepGood:
			return []string{"the whole series was not tested"}
		}
		return nil
	}
	var out []string
	for _, v := range r.Variants {
		switch {
		case v.Kernel.Status != StepOK:
			out = append(out, v.Name+" "+BuildText(v.Kernel))
		case v.Boot.Status != StepOK:
			out = append(out, v.Name+" "+BootText(v.Boot))
		}
	}
	if len(r.Variants) == 0 {
		out = append(out, "no kernel was tested")
	}
	return out
}

// notRun counts the tests left out (after a hang), which neither passed
// nor were skipped.
func (r *Run) notRun() int {
	n := 0
	for _, v := range r.Variants {
		n += TestCounts(v).notRun
	}
	return n
}

// undecided says which benchmark comparisons had too few samples a
// side for package verdict to decide: "figures only: ..." when none
// could be, "" when all could.
func (r *Run) undecided() string {
	var tables []ABTarget
	for _, pair := range r.BenchPairs() {
		if pair[1] != nil {
			tables = append(tables, r.ABTables(pair[0], pair[1])...)
		}
	}
	switch j := JudgedIn(tables); {
	case j.FiguresOnly():
		return "figures only: " + j.Few.NoCall()
	case j.Undecided > 0:
		return fmt.Sprintf("%d of %d benchmark comparisons could not be judged (%s)", j.Undecided, j.Compared, j.Few.TooFew())
	}
	return ""
}

// firstFew joins up to n items, saying how many more there are.
func firstFew(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return strings.Join(items[:n], ", ") + fmt.Sprintf(" and %d more", len(items)-n)
}
