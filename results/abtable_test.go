package results

import (
	"slices"
	"testing"
)

// ABTables lists as open the comparisons judged within noise whose
// medians differ beyond the floor, IOPS left out where wall time is
// there (one measurement), and nothing that was called.
func TestABTablesOpen(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Run)
		want []string // "engine/metric"
	}{
		{"nothing apart", nil, nil},
		{"wall time apart, overlapping: open, its IOPS not listed", func(r *Run) {
			setMetric(r, "patched", "ext4", "io_uring", MetricWallMS, 3500, 3900, 4070)
			setMetric(r, "patched", "ext4", "io_uring", MetricIOPS, 1900, 2150, 2400)
		}, []string{"io_uring/wall_ms"}},
		{"a clear change is called, not open", func(r *Run) {
			setMetric(r, "patched", "ext4", "psync", MetricWallMS, 11100, 11200, 11280)
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := fixtureRun(3)
			if tc.edit != nil {
				tc.edit(r)
			}
			var got []string
			for _, tab := range r.ABTables(r.Variant("baseline"), r.Variant("patched")) {
				if tab.Target != "ext4" {
					continue
				}
				for _, o := range tab.Open {
					got = append(got, o.Engine+"/"+o.Verdict.Metric)
					if !o.Verdict.Diff.BeyondFloor() || o.Verdict.Diff.Called() {
						t.Errorf("%s/%s open but %+v", o.Engine, o.Verdict.Metric, o.Verdict.Diff)
					}
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("open %v, want %v", got, tc.want)
			}
		})
	}
}
