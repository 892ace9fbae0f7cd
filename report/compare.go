package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/ktest-dev/ktest/internal/termfmt"
	"github.com/ktest-dev/ktest/results"
)

// Comparison writes c as "md", "text" or "json", the text format's
// lines wrapped to width columns (<= 0: not wrapped). md and json are
// never wrapped: markdown reflows by itself and JSON keeps the full
// text.
func Comparison(w io.Writer, c *results.Comparison, format string, width int) error {
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
	if nv := c.NoVerdict; nv != nil {
		for _, why := range nv.Reasons {
			para("", "  ", "No verdict: "+esc(why)+".")
		}
		p.f("\n")
		return p.err
	}
	if !c.Failed() {
		para("", "", cleanText(c))
		p.f("\n")
	}
	if c.Compared > 0 && c.Undecided < c.Compared {
		para("", "", judgedText(c))
		p.f("\n")
	}
	if len(c.Regressions) > 0 {
		if md {
			mdRegressions(p, c.Regressions)
		} else {
			p.f("Regressions (%d):\n", len(c.Regressions))
			for _, g := range c.Regressions {
				para("  ", "    ", regressionText(g))
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
	list("New failures", results.Strs(c.NewFailures))
	list("Targets that could not be set up", results.Strs(c.NewErrors))
	list("Failed, then passed when re-run (flaky, not counted)", results.Strs(c.Flaky))
	list("Fixed", results.Strs(c.Fixed))
	list("Passed before, not run now", results.Strs(c.NotRun))
	list("Control engine drift (between boots, not a regression)", regressionTexts(c.Drift))
	list("Improvements", regressionTexts(c.Improvements))
	noise := noiseRule
	if !md {
		noise = strings.ReplaceAll(noise, "–", "-")
	}
	para("", "", strings.Replace(noise, "baseline and patched", "old and new", 1))
	return p.err
}

// cleanText says what a comparison that found nothing wrong found: it
// claims "no regressions" only of metrics it could judge.
func cleanText(c *results.Comparison) string {
	const tests = "no new failures and no new target errors"
	switch {
	case c.Compared == 0:
		return "No benchmark metrics to compare; " + tests + "."
	case c.Undecided == c.Compared:
		return "Figures only: " + c.Few.NoCall() + "; " + tests + "."
	case c.Undecided > 0:
		return fmt.Sprintf("No regressions beyond noise among the %d metrics judged (%d not judged), %s.", c.Compared-c.Undecided, c.Undecided, tests)
	}
	return "No regressions beyond noise, " + tests + "."
}

// judgedText counts the metric comparisons c made and what it concluded.
func judgedText(c *results.Comparison) string {
	s := fmt.Sprintf("%d metric comparison(s), %d change(s) called, %d within noise", c.Compared, c.Called, c.WithinNoise)
	if c.Undecided > 0 {
		s += fmt.Sprintf(", %d not judged (%s)", c.Undecided, c.TooFew)
	}
	if c.Held > 0 {
		s += fmt.Sprintf(", %d held back as the control's drift", c.Held)
	}
	return s + "."
}

// mdRegressions is the comparison's table of regressions.
func mdRegressions(p *printer, gs []results.Regression) {
	p.f("## Regressions (%d)\n\n| variant | target | engine | metric | old | new | change |\n|---|---|---|---|--:|--:|--:|\n", len(gs))
	for _, g := range gs {
		p.f("| %s | %s | %s | %s | %s | %s | %s |\n", mdCell(g.Variant), mdCell(g.Target), engineLabel(g.Engine), g.Metric,
			figure(g.Metric, g.Old, "–"), figure(g.Metric, g.New, "–"), changeText(g.Change, g.Old.Median, "−"))
	}
	p.f("\n")
}
