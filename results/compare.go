package results

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ktest-dev/ktest/internal/metric"
	"github.com/ktest-dev/ktest/internal/termfmt"
	"github.com/ktest-dev/ktest/verdict"
)

// Comparison is a newer run measured against an older one (nightly
// mode): what got worse beyond noise, which tests newly fail, which
// were fixed.
type Comparison struct {
	Old RunRef `json:"old"`
	New RunRef `json:"new"`
	// Regressions are metrics that moved beyond noise (see Diff) in
	// their bad direction for the same variant, target and engine.
	Regressions []Regression `json:"regressions"`
	// NewFailures are tests that passed in Old and fail or hang in New.
	// Nightly runs re-run these once (ConfirmFailures) and keep only
	// those that fail again.
	NewFailures []TestID `json:"new_failures"`
	// Fixed are tests that failed or hung in Old and pass in New.
	Fixed []TestID `json:"fixed"`
	// NewErrors are targets that could not be set up in New but were in
	// Old.
	NewErrors []TargetID `json:"new_errors,omitempty"`
	// NotRun are tests that passed in Old and are missing from New. A
	// comparison with any is no verdict (its reason names them), so a
	// verdict's NotRun is empty; kept for readers of older documents.
	NotRun []TestID `json:"not_run,omitempty"`
	// Flaky are new failures that passed when re-run; not counted.
	Flaky []TestID `json:"flaky,omitempty"`
	// Mismatch lists how the runs' plans differ (sizes, targets, boots,
	// ...). Unlike runs get no verdict at all.
	Mismatch []string `json:"mismatch,omitempty"`
	// NoVerdict, when set, is why the runs could not be compared: then
	// nothing else is concluded and every list is empty.
	NoVerdict *NoVerdict `json:"no_verdict,omitempty"`
	// Compared and Called count the metric comparisons made and the
	// changes called, in either direction; WithinNoise those the rule
	// judged unchanged, Held those held back as the control's drift,
	// and Undecided those it could not judge (too few samples a side).
	Compared    int `json:"compared"`
	Called      int `json:"called"`
	WithinNoise int `json:"within_noise"`
	Held        int `json:"held,omitempty"`
	Undecided   int `json:"undecided,omitempty"`
	// TooFew says why metrics could not be judged when a side had too
	// few samples, e.g. "1 boot per side, 3 needed".
	TooFew string       `json:"too_few,omitempty"`
	Few    sampleCounts `json:"-"` // the sample counts TooFew speaks of
	// Drift are the control engine's changes: between-boot drift, which
	// raises the bar for the other engines, never a regression.
	Drift []Regression `json:"drift,omitempty"`
	// Improvements are metrics that moved beyond noise in their good
	// direction: listed so that every called change is visible.
	Improvements []Regression `json:"improvements,omitempty"`
}

// RunRef identifies a compared run.
type RunRef struct {
	ID         string    `json:"id"`
	Status     RunStatus `json:"status"`
	Incomplete string    `json:"incomplete,omitempty"`
}

// Regression is one metric that got worse beyond noise.
type Regression struct {
	Variant string `json:"variant"`
	Target  string `json:"target"`
	Engine  string `json:"engine"`
	Metric  string `json:"metric"`
	Old     Metric `json:"old"`
	New     Metric `json:"new"`
	// Change is (New-Old)/|Old| of the medians (see Diff.Change).
	Change float64 `json:"change"`
}

// comparedMetrics are the stored metrics Compare checks, in report
// order.
var comparedMetrics = metric.Compared()

// ComparedMetrics are the metric names Compare and the A/B verdicts
// judge, in report order.
func ComparedMetrics() []string { return metric.Compared() }

// Compare measures newRun against oldRun (both non-nil): tests that
// newly fail or were fixed, targets that newly cannot be set up, and
// metrics that got worse by the one rule of package verdict. A change
// of the plan's control engine is drift: it holds back the other
// engines' changes of the same metric and is never a regression itself.
// Runs that cannot be compared (see NoVerdict) get a Comparison that
// says why and concludes nothing.
func Compare(oldRun, newRun *Run) *Comparison {
	c := &Comparison{
		Old:         RunRef{oldRun.ID, oldRun.Status, oldRun.Incomplete()},
		New:         RunRef{newRun.ID, newRun.Status, newRun.Incomplete()},
		Regressions: []Regression{},
		NewFailures: []TestID{},
		Fixed:       []TestID{},
		Mismatch:    oldRun.Plan.Differences(newRun.Plan),
	}
	if c.NoVerdict = noVerdict(oldRun, newRun, c.Mismatch); c.NoVerdict != nil {
		return c
	}
	c.compare(oldRun, newRun)
	if len(c.NotRun) > 0 {
		// B is complete and made alike, yet left out tests A passed:
		// it did not run the same tests, and "no regressions" would
		// cover tests that never ran.
		c.NoVerdict = &NoVerdict{WrongInput: true, Reasons: []string{fmt.Sprintf("B did not run %s that A passed (%s): not the same tests",
			termfmt.Plural(len(c.NotRun), "test"), firstFew(Strs(c.NotRun), 3))}}
		*c = Comparison{Old: c.Old, New: c.New, Regressions: []Regression{}, NewFailures: []TestID{}, Fixed: []TestID{}, NoVerdict: c.NoVerdict}
	}
	return c
}

func (c *Comparison) compare(oldRun, newRun *Run) {
	for _, ov := range oldRun.Variants {
		nv := newRun.Variant(ov.Name)
		for _, ot := range ov.Targets {
			tid := TargetID{ov.Name, ot.Name}
			var nt *Target
			if nv != nil {
				nt = nv.Target(ot.Name)
			}
			if nt != nil && nt.Error != "" && ot.Error == "" {
				c.NewErrors = append(c.NewErrors, tid)
			}
			for _, tc := range ot.Tests {
				id := tid.Test(tc.Name)
				now, ok := nt.Test(tc.Name)
				switch {
				case !ok:
					// A target that could not be set up ran nothing:
					// that is its NewError, not tests left out.
					if tc.Status == TestPass && (nt == nil || nt.Error == "") {
						c.NotRun = append(c.NotRun, id)
					}
				case tc.Status == TestPass && now.Status.Failing():
					c.NewFailures = append(c.NewFailures, id)
				case tc.Status.Failing() && now.Status == TestPass:
					c.Fixed = append(c.Fixed, id)
				}
			}
			if nt != nil {
				c.compareBench(tid, ot, nt, oldRun.Plan.Control)
			}
		}
	}
}

// compareBench judges every metric of every engine both targets ran;
// the control engine's first, so that its drift can hold the others.
func (c *Comparison) compareBench(tid TargetID, ot, nt *Target, control string) {
	engines := benchEngines(ot)
	if i := slices.Index(engines, control); i > 0 {
		engines = append([]string{control}, slices.Delete(engines, i, i+1)...)
	}
	drift := map[string][2]Metric{} // the control's old and new metric
	for _, name := range engines {
		oe, ne := ot.Engine(name), nt.Engine(name)
		if ne == nil {
			continue
		}
		for _, m := range comparedMetrics {
			om, ok1 := oe.Metrics[m]
			nm, ok2 := ne.Metrics[m]
			if !ok1 || !ok2 {
				continue
			}
			d := CompareMetric(om, nm)
			c.Compared++
			if d.Outcome == verdict.TooFew {
				c.Undecided++
				c.Few = c.Few.fewer(d.NA, d.NB)
				c.TooFew = c.Few.TooFew()
			}
			g := Regression{Variant: tid.Variant, Target: tid.Target, Engine: name, Metric: m, Old: om, New: nm, Change: d.Change}
			if name == control {
				drift[m] = [2]Metric{om, nm}
				switch {
				case d.Called():
					c.Called++
					c.Drift = append(c.Drift, g)
				case d.Outcome == verdict.Same:
					c.WithinNoise++
				}
				continue
			}
			if ctl, ok := drift[m]; ok {
				d = Diff{d.HoldBy(ctl[0].samples(), ctl[1].samples())}
			}
			switch {
			case d.Outcome == verdict.Same:
				c.WithinNoise++
			case d.Outcome == verdict.Held:
				c.Held++
			case d.Worse(m):
				c.Called++
				c.Regressions = append(c.Regressions, g)
			case d.Called():
				c.Called++
				c.Improvements = append(c.Improvements, g)
			}
		}
	}
}

// Failed reports whether the comparison found a regression or a new
// failure: what makes `ktest compare` exit 1.
func (c *Comparison) Failed() bool {
	return len(c.Regressions) > 0 || len(c.NewFailures) > 0 || len(c.NewErrors) > 0
}

// NoVerdict is why two runs cannot be compared: a side that did not
// finish or tested nothing, runs not made alike, or a B that left out
// tests A passed. Nothing is concluded from such runs: no "no
// regressions", no list of failures.
type NoVerdict struct {
	// Reasons name the side, "B stopped at apply: ...".
	Reasons []string `json:"reasons"`
	// WrongInput is set when the runs given cannot be compared (an A
	// that is not a finished run, a run in progress or interrupted,
	// unlike plans); otherwise B stopped on a failure of its own (a
	// stage failed, a shard is missing).
	WrongInput bool `json:"wrong_input"`
}

func (nv *NoVerdict) Error() string { return "no verdict: " + strings.Join(nv.Reasons, "; ") }

// noVerdict checks that a (older, the reference) and b can be compared.
func noVerdict(a, b *Run, mismatch []string) *NoVerdict {
	nv := &NoVerdict{}
	for _, side := range []struct {
		label string
		r     *Run
	}{{"A", a}, {"B", b}} {
		r := side.r
		switch {
		case !r.Complete:
			nv.Reasons = append(nv.Reasons, side.label+" "+r.Stopped())
			// Only B's own failure is ktest's: an unfinished A, or a run
			// still going or interrupted, is the wrong run to give.
			if side.label == "A" || r.Status != StatusError {
				nv.WrongInput = true
			}
		case r.BuildOnly:
			nv.Reasons = append(nv.Reasons, side.label+" is a build-only run: it tested nothing")
			nv.WrongInput = true
		}
	}
	if len(mismatch) > 0 {
		nv.Reasons = append(nv.Reasons, "the runs were not made alike: "+strings.Join(mismatch, "; "))
		nv.WrongInput = true
	}
	if va, vb := variantNames(a), variantNames(b); !slices.Equal(va, vb) {
		nv.Reasons = append(nv.Reasons, fmt.Sprintf("the runs have different variants: %s vs %s", strings.Join(va, ", "), strings.Join(vb, ", ")))
		nv.WrongInput = true
	}
	if len(nv.Reasons) == 0 {
		return nil
	}
	return nv
}

func variantNames(r *Run) []string {
	var out []string
	for _, v := range r.Variants {
		out = append(out, v.Name)
	}
	slices.Sort(out)
	return out
}

// Strs formats ids for a list.
func Strs[T fmt.Stringer](ids []T) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id.String()
	}
	return out
}

// ConfirmFailures re-runs the new failures once through rerun (the
// nightly policy: one retry) and keeps as new failures only those that
// fail again or could not run; the others move to Flaky. rerun runs
// exactly the given tests and returns their run.
func (c *Comparison) ConfirmFailures(rerun func(only []TestID) (*Run, error)) error {
	if len(c.NewFailures) == 0 {
		return nil
	}
	again, err := rerun(c.NewFailures)
	if err != nil && again == nil {
		return err
	}
	var still []TestID
	for _, id := range c.NewFailures {
		tc, ran := again.Test(id)
		if !ran || tc.Status.Failing() {
			still = append(still, id)
		} else {
			c.Flaky = append(c.Flaky, id)
		}
	}
	c.NewFailures = still
	return nil
}
