package results

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/ktest-dev/ktest/internal/termfmt"
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
	// NewFailures lists "variant/target/test" for tests that passed in
	// Old and fail or hang in New. The pipeline re-runs these once and
	// keeps only those that fail again.
	NewFailures []string `json:"new_failures"`
	// Fixed lists "variant/target/test" for tests that failed or hung in
	// Old and pass in New.
	Fixed []string `json:"fixed"`
	// NotRun lists tests that passed in Old and are missing from New
	// (a stage failed, or the plan changed); reported, not counted.
	NotRun []string `json:"not_run,omitempty"`
}

// RunRef identifies a compared run.
type RunRef struct {
	ID         string `json:"id"`
	Status     string `json:"status"`
	Incomplete string `json:"incomplete,omitempty"`
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
	// NoSpread is set when a side had a single sample, so only the
	// noise floor was applied.
	NoSpread bool `json:"no_spread,omitempty"`
}

// String is "patched/ext4/io_uring ctx_switches 4300 -> 8700 (+102%)".
func (g Regression) String() string {
	s := fmt.Sprintf("%s/%s/%s %s %s -> %s (%s)", g.Variant, g.Target, g.Engine, g.Metric,
		plainNumber(g.Metric, g.Old.Median), plainNumber(g.Metric, g.New.Median), changeText(g.Change, g.Old.Median, "-"))
	if g.NoSpread {
		s += " " + noSpreadNote
	}
	return s
}

// changeText is the percentage, or "from 0" when the old median was 0.
func changeText(change, old float64, minus string) string {
	if old == 0 {
		return "from 0"
	}
	return signedPct(change, minus)
}

// comparedMetrics are the stored metrics Compare checks, in report
// order.
var comparedMetrics = []string{
	MetricWallMS, MetricIOPS, MetricLatP50US, MetricLatP99US,
	MetricUserCPU, MetricSysCPU, MetricCtxSwitches, MetricWorkers,
}

// Compare measures newRun against oldRun (both non-nil). Only variants, targets and
// engines present in both are compared; metrics are checked with the
// noise rule of CompareMetric, and a change counts as a regression
// only in the metric's bad direction (higher time, latency, CPU,
// context switches or io-wq workers; lower IOPS).
func Compare(oldRun, newRun *Run) *Comparison {
	c := &Comparison{
		Old:         RunRef{oldRun.ID, oldRun.Status, oldRun.Incomplete()},
		New:         RunRef{newRun.ID, newRun.Status, newRun.Incomplete()},
		Regressions: []Regression{},
		NewFailures: []string{},
		Fixed:       []string{},
	}
	for _, ov := range oldRun.Variants {
		nv := newRun.Variant(ov.Name)
		if nv == nil {
			for _, ot := range ov.Targets {
				for _, tc := range ot.Tests {
					if tc.Status == "pass" {
						c.NotRun = append(c.NotRun, ov.Name+"/"+ot.Name+"/"+tc.Name)
					}
				}
			}
			continue
		}
		for _, ot := range ov.Targets {
			nt := nv.Target(ot.Name)
			for _, tc := range ot.Tests {
				id := ov.Name + "/" + ot.Name + "/" + tc.Name
				now, ok := findTest(nt, tc.Name)
				switch {
				case !ok:
					if tc.Status == "pass" {
						c.NotRun = append(c.NotRun, id)
					}
				case tc.Status == "pass" && failing(now.Status):
					c.NewFailures = append(c.NewFailures, id)
				case failing(tc.Status) && now.Status == "pass":
					c.Fixed = append(c.Fixed, id)
				}
			}
			if nt == nil {
				continue
			}
			for _, oe := range ot.Bench {
				ne := nt.Engine(oe.Engine)
				if ne == nil {
					continue
				}
				for _, m := range comparedMetrics {
					om, ok1 := oe.Metrics[m]
					nm, ok2 := ne.Metrics[m]
					if !ok1 || !ok2 {
						continue
					}
					if d := CompareMetric(om, nm); d.Worse(m) {
						c.Regressions = append(c.Regressions, Regression{
							Variant: ov.Name, Target: ot.Name, Engine: oe.Engine, Metric: m,
							Old: om, New: nm, Change: d.Change, NoSpread: d.NoSpread,
						})
					}
				}
			}
		}
	}
	return c
}

func findTest(t *Target, name string) (Test, bool) {
	if t == nil {
		return Test{}, false
	}
	for _, tc := range t.Tests {
		if tc.Name == name {
			return tc, true
		}
	}
	return Test{}, false
}

// failing is true for statuses that count as a failed test.
func failing(status string) bool { return status != "pass" && status != "skip" }

// Failed reports whether the comparison found a regression or a new
// failure: what makes `ktest compare` exit 1.
func (c *Comparison) Failed() bool {
	return len(c.Regressions) > 0 || len(c.NewFailures) > 0
}

// Problems names every regression and new failure, one per string.
func (c *Comparison) Problems() []string {
	var out []string
	for _, g := range c.Regressions {
		out = append(out, "regression "+g.String())
	}
	for _, f := range c.NewFailures {
		out = append(out, "new failure "+f)
	}
	return out
}

// Render writes the comparison as "md", "text" or "json".
func (c *Comparison) Render(w io.Writer, format string) error {
	return c.RenderWidth(w, format, 0)
}

// RenderWidth is Render with the text format's lines wrapped to width
// columns (<= 0: not wrapped). md and json are never wrapped: markdown
// reflows by itself and JSON keeps the full text.
func (c *Comparison) RenderWidth(w io.Writer, format string, width int) error {
	switch format {
	case "json":
		data, err := json.MarshalIndent(c, "", "  ")
		if err != nil {
			return err
		}
		_, err = w.Write(append(data, '\n'))
		return err
	case "md", "text":
	default:
		return fmt.Errorf("comparison: unknown format %q (want md, text or json)", format)
	}
	md := format == "md"
	p := &printer{w: w}
	esc := func(s string) string {
		if md {
			return mdText(s)
		}
		return s
	}
	if md {
		width = 0
	}
	// para prints one paragraph or list item, wrapped in text mode.
	para := func(prefix, indent, text string) {
		p.f("%s\n", termfmt.Wrap(text, width, prefix, indent))
	}
	if md {
		p.f("# ktest compare: %s → %s\n\n", mdCode(c.Old.ID), mdCode(c.New.ID))
	} else {
		p.f("ktest compare: %s -> %s\n\n", c.Old.ID, c.New.ID)
	}
	for _, ref := range []struct {
		label string
		r     RunRef
	}{{"old", c.Old}, {"new", c.New}} {
		if ref.r.Incomplete != "" {
			para("", "  ", fmt.Sprintf("%s run is INCOMPLETE: %s", ref.label, esc(ref.r.Incomplete)))
			p.f("\n")
		}
	}
	if !c.Failed() {
		p.f("No regressions beyond noise and no new failures.\n\n")
	}
	if len(c.Regressions) > 0 {
		if md {
			p.f("## Regressions (%d)\n\n| variant | target | engine | metric | old | new | change |\n|---|---|---|---|--:|--:|--:|\n", len(c.Regressions))
			for _, g := range c.Regressions {
				note := ""
				if g.NoSpread {
					note = " " + noSpreadNote
				}
				p.f("| %s | %s | %s | %s | %s | %s | %s%s |\n", mdCell(g.Variant), mdCell(g.Target), engineLabel(g.Engine), g.Metric,
					figure(g.Metric, g.Old, "–"), figure(g.Metric, g.New, "–"), changeText(g.Change, g.Old.Median, "−"), note)
			}
			p.f("\n")
		} else {
			p.f("Regressions (%d):\n", len(c.Regressions))
			for _, g := range c.Regressions {
				para("  ", "    ", g.String())
			}
			p.f("\n")
		}
	}
	list := func(title string, items []string) {
		if len(items) == 0 {
			return
		}
		if md {
			p.f("## %s (%d)\n\n", title, len(items))
		} else {
			p.f("%s (%d):\n", title, len(items))
		}
		for _, it := range items {
			if md {
				p.f("- %s\n", mdText(it))
			} else {
				para("  ", "    ", it)
			}
		}
		p.f("\n")
	}
	list("New failures", c.NewFailures)
	list("Fixed", c.Fixed)
	list("Passed before, not run now", c.NotRun)
	noise := noiseRule
	if !md {
		noise = strings.ReplaceAll(noise, "–", "-")
	}
	para("", "", strings.Replace(noise, "baseline and patched", "old and new", 1))
	return p.err
}
