package results

import (
	"reflect"
	"testing"
)

func TestCompare(t *testing.T) {
	tests := []struct {
		name         string
		mutateOld    func(*Run)
		mutateNew    func(*Run)
		regressions  []string // "variant/target/engine metric"
		improvements []string
		newFailures  []string
		fixed        []string
		notRun       []string
		newErrors    []string
	}{
		{name: "identical runs"},
		{
			name: "2x ctx switches on patched io_uring",
			mutateNew: func(r *Run) {
				setMetric(r, "patched", "ext4", "io_uring", MetricCtxSwitches, 8500, 8600, 8800)
			},
			regressions: []string{"patched/ext4/io_uring ctx_switches"},
		},
		{
			name: "within noise: overlapping ranges and a sub-floor shift",
			mutateNew: func(r *Run) {
				setMetric(r, "patched", "ext4", "io_uring", MetricWallMS, 3400, 3450, 3500)     // overlaps 3370–3460
				setMetric(r, "baseline", "xfs", "psync", MetricWallMS, 10250, 10260, 10270)     // disjoint but +1.4%
				setMetric(r, "patched", "raw", "io_uring", MetricCtxSwitches, 4000, 4010, 4050) // lower, within noise
			},
		},
		{
			name: "lower IOPS and more io-wq workers are regressions, higher IOPS is not",
			mutateNew: func(r *Run) {
				setMetric(r, "patched", "btrfs", "io_uring", MetricIOPS, 3500, 3520, 3540)
				setMetric(r, "patched", "btrfs", "io_uring", MetricWorkers, 4, 4, 4)
				setMetric(r, "baseline", "btrfs", "io_uring", MetricIOPS, 5000, 5100, 5200)
			},
			regressions:  []string{"patched/btrfs/io_uring iops", "patched/btrfs/io_uring iowq_workers_peak"},
			improvements: []string{"baseline/btrfs/io_uring iops"},
		},
		{
			name: "a target that newly cannot be set up is a regression, its tests not left out",
			mutateNew: func(r *Run) {
				tg := r.Variant("patched").Target("xfs")
				tg.Error, tg.Tests, tg.Bench = "mkfs.xfs: unknown feature", nil, nil
			},
			newErrors: []string{"patched/xfs"},
		},
		{
			name: "a newly failing test, a fixed one, a skip is neither",
			mutateOld: func(r *Run) {
				setTest(r, "baseline", "raw", "eof", "fail", "short read")
				setTest(r, "patched", "ext4", "eof", "skip", "n/a")
			},
			mutateNew: func(r *Run) {
				setTest(r, "patched", "xfs", "truncate-race", "hung", "no completion after 60s")
				setTest(r, "patched", "btrfs", "eof", "fail", "short read")
				setTest(r, "patched", "ext4", "eof", "fail", "was skipped before")
			},
			newFailures: []string{"patched/xfs/truncate-race", "patched/btrfs/eof"},
			fixed:       []string{"baseline/raw/eof"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			oldRun, newRun := fixtureRun(3), fixtureRun(3)
			newRun.ID = "20250315-020000-cd34"
			if tc.mutateOld != nil {
				tc.mutateOld(oldRun)
			}
			if tc.mutateNew != nil {
				tc.mutateNew(newRun)
			}
			c := Compare(oldRun, newRun)
			names := func(gs []Regression) []string {
				var out []string
				for _, g := range gs {
					out = append(out, g.Variant+"/"+g.Target+"/"+g.Engine+" "+g.Metric)
				}
				return out
			}
			if got := names(c.Regressions); !sameStrings(got, tc.regressions) {
				t.Errorf("regressions %v, want %v", got, tc.regressions)
			}
			if got := names(c.Improvements); !sameStrings(got, tc.improvements) {
				t.Errorf("improvements %v, want %v", got, tc.improvements)
			}
			if want := len(tc.regressions) + len(tc.improvements); c.Called != want {
				t.Errorf("%d changes called, want %d (every one listed)", c.Called, want)
			}
			if !sameStrings(Strs(c.NewFailures), tc.newFailures) || !sameStrings(Strs(c.Fixed), tc.fixed) || !sameStrings(Strs(c.NotRun), tc.notRun) {
				t.Errorf("new failures %v fixed %v not run %v; want %v %v %v", c.NewFailures, c.Fixed, c.NotRun, tc.newFailures, tc.fixed, tc.notRun)
			}
			if !sameStrings(Strs(c.NewErrors), tc.newErrors) {
				t.Errorf("new errors %v, want %v", c.NewErrors, tc.newErrors)
			}
			if want := len(tc.regressions)+len(tc.newFailures)+len(tc.newErrors) > 0; c.Failed() != want {
				t.Errorf("Failed() = %v, want %v", c.Failed(), want)
			}
			if c.NoVerdict != nil {
				t.Errorf("no verdict: %v", c.NoVerdict)
			}
		})
	}
}

func sameStrings(a, b []string) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return reflect.DeepEqual(a, b)
}
