package report

import (
	"fmt"
	"github.com/ktest-dev/ktest/results"
)

// regressionText is "patched/ext4/io_uring ctx_switches 4300 -> 8700
// (+102%)".
func regressionText(g results.Regression) string {
	return fmt.Sprintf("%s/%s/%s %s %s -> %s (%s)", g.Variant, g.Target, g.Engine, g.Metric,
		figure(g.Metric, g.Old, "-"), figure(g.Metric, g.New, "-"), changeText(g.Change, g.Old.Median, "-"))
}

// changeText is the percentage, or "from 0" when the old median was 0.
func changeText(change, old float64, minus string) string {
	if old == 0 {
		return "from 0"
	}
	return signedPct(change, minus)
}

// Problems names every regression and new failure, one per string.
func Problems(c *results.Comparison) []string {
	var out []string
	for _, g := range c.Regressions {
		out = append(out, "regression "+regressionText(g))
	}
	for _, f := range c.NewFailures {
		out = append(out, "new failure "+f.String())
	}
	for _, f := range c.NewErrors {
		out = append(out, "target setup failed "+f.String())
	}
	return out
}

// regressionTexts words each of gs with regressionText.
func regressionTexts(gs []results.Regression) []string {
	out := make([]string, len(gs))
	for i, g := range gs {
		out[i] = regressionText(g)
	}
	return out
}
