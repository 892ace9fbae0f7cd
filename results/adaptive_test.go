package results

import (
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
