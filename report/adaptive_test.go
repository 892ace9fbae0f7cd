package report

import (
	"strings"
	"testing"

	"github.com/ktest-dev/ktest/results"
)

// The summary names each target's boots when they differ, and each
// engine that got fewer, and says why only as far as the plan's boots
// show it: more are adaptive boots, fewer are failed runs.
func TestFiguresText(t *testing.T) {
	const adaptive = "a target gets more boots while a metric of it is undecided, and they run only the engines with such a metric and the control"
	// more gives xfs's engines but io_uring-offload three more samples,
	// as adaptive boots do; fail drops raw psync's last sample, as a
	// failed fio run does.
	more := func(r *results.Run) {
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
	}
	fail := func(r *results.Run) {
		for _, v := range r.Variants {
			for _, e := range v.Target("raw").Bench {
				if e.Engine != "psync" {
					continue
				}
				for name, m := range e.Metrics {
					e.Metrics[name] = results.NewMetric(m.Samples[:len(m.Samples)-1])
				}
			}
		}
	}
	wallOnly := func(r *results.Run) { r.Plan.AdaptiveMetrics = []string{results.MetricWallMS} }
	for _, tc := range []struct {
		name   string
		boots  int // the plan's; 0: not recorded
		change []func(*results.Run)
		want   string
	}{
		{"equal counts", 3, nil, "Each figure is the median of 3 boots with its (min–max) range."},
		{"adaptive boots", 3, []func(*results.Run){more},
			"Each figure is the median of 3 to 6 boots with its (min–max) range: ext4 3, xfs 6 (io_uring-offload 3), btrfs 3, raw 3 (" + adaptive + ")."},
		{"a failed run is not an adaptive boot", 3, []func(*results.Run){fail},
			"Each figure is the median of 2 to 3 boots with its (min–max) range: ext4 3, xfs 3, btrfs 3, raw 3 (psync 2) (fewer than the plan's 3 boots are runs that failed)."},
		{"both", 3, []func(*results.Run){more, fail},
			"Each figure is the median of 2 to 6 boots with its (min–max) range: ext4 3, xfs 6 (io_uring-offload 3), btrfs 3, raw 3 (psync 2) (" + adaptive + "; fewer than the plan's 3 boots are runs that failed)."},
		{"adaptive boots for wall time alone", 3, []func(*results.Run){more, wallOnly},
			"Each figure is the median of 3 to 6 boots with its (min–max) range: ext4 3, xfs 6 (io_uring-offload 3), btrfs 3, raw 3 (a target gets more boots while its wall time (real) is undecided, and they run only the engines with such a metric and the control; the other metrics are judged on the boots there are)."},
		{"adaptive boots for three metrics", 3, []func(*results.Run){more, func(r *results.Run) {
			r.Plan.AdaptiveMetrics = []string{results.MetricWallMS, results.MetricSysCPU, results.MetricLatP50US}
		}},
			"(a target gets more boots while its wall time (real), sys CPU or p50 latency is undecided, and they run only the engines with such a metric and the control; the other metrics are judged on the boots there are)."},
		{"adaptive boots for every metric, named", 3, []func(*results.Run){more, func(r *results.Run) { r.Plan.AdaptiveMetrics = results.ComparedMetrics() }},
			"raw 3 (" + adaptive + ")."},
		{"no plan boots recorded: no reason guessed", 0, []func(*results.Run){more},
			"Each figure is the median of 3 to 6 boots with its (min–max) range: ext4 3, xfs 6 (io_uring-offload 3), btrfs 3, raw 3."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := fixtureRun(3)
			r.Plan.Boots = tc.boots
			for _, f := range tc.change {
				f(r)
			}
			if md := render(t, Renderer{}, r, "md"); !strings.Contains(md, tc.want) {
				t.Errorf("missing %q in:\n%s", tc.want, md)
			}
		})
	}
}
