package report

import (
	"strings"
	"testing"

	"github.com/ktest-dev/ktest/results"
)

// The summary says how many boots each target got when adaptive boots
// gave them different counts, and each engine that got fewer (adaptive
// boots run only the undecided engines and the control).
func TestFiguresTextAdaptiveBoots(t *testing.T) {
	r := fixtureRun(3)
	for _, v := range r.Variants {
		for _, e := range v.Target("xfs").Bench {
			if e.Engine == "io_uring-offload" {
				continue
			}
			for name, m := range e.Metrics {
				e.Metrics[name] = results.NewMetric(append(m.Samples, m.Samples[0], m.Samples[1], m.Samples[2]))
			}
		}
	}
	md := render(t, Renderer{}, r, "md")
	want := "Each figure is the median of 3 to 6 boots with its (min–max) range: ext4 3, xfs 6 (io_uring-offload 3), btrfs 3, raw 3 " +
		"(a target gets more boots while a metric of it is undecided, and they run only the engines with such a metric and the control)."
	if !strings.Contains(md, want) {
		t.Errorf("missing %q in:\n%s", want, md)
	}
	if md := render(t, Renderer{}, fixtureRun(3), "md"); !strings.Contains(md, "Each figure is the median of 3 boots with its (min–max) range.") {
		t.Errorf("equal counts: %s", md)
	}
}
