package results

import (
	"strings"
	"testing"
)

func TestBenchComparisons(t *testing.T) {
	r := fixtureRun(3)
	cs := r.BenchComparisons()
	// 4 targets, 3 engines, 8 stored metrics: patched against baseline.
	if len(cs) != 4*3*8 {
		t.Fatalf("%d comparisons, want 96", len(cs))
	}
	c := cs[0]
	if c.Variant != "patched" || c.Target != "ext4" || c.Engine != "psync" || c.Metric != MetricWallMS || len(c.A.Samples) != 3 {
		t.Errorf("first comparison %+v", c)
	}
	r.Variants = r.Variants[:1]
	if cs := r.BenchComparisons(); len(cs) != 0 {
		t.Errorf("a single variant compares nothing, got %d", len(cs))
	}
}

// The summary says how many boots each target got when adaptive boots
// gave them different counts.
func TestFiguresTextAdaptiveBoots(t *testing.T) {
	r := fixtureRun(3)
	for _, v := range r.Variants {
		for _, e := range v.Target("xfs").Bench {
			for name, m := range e.Metrics {
				e.Metrics[name] = NewMetric(append(m.Samples, m.Samples[0], m.Samples[1], m.Samples[2]))
			}
		}
	}
	md := render(t, Renderer{}, r, "md")
	want := "Each figure is the median of 3 to 6 boots with its (min–max) range: ext4 3, xfs 6, btrfs 3, raw 3 (a target gets more boots while a metric of it is undecided)."
	if !strings.Contains(md, want) {
		t.Errorf("missing %q in:\n%s", want, md)
	}
	if md := render(t, Renderer{}, fixtureRun(3), "md"); !strings.Contains(md, "Each figure is the median of 3 boots with its (min–max) range.") {
		t.Errorf("equal counts: %s", md)
	}
}
