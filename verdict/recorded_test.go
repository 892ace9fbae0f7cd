package verdict

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
)

// recorded is testdata/runs.json: the per-boot samples of real runs.
type recorded struct {
	Runs []struct {
		Name, Kind, A, B string
		Comparisons      []struct {
			Target, Engine, Metric string
			A, B                   []float64
		}
	}
}

// judgeRun applies the rule to every comparison of a recorded run, with
// psync as the control, and returns the called changes as
// "target/engine/metric".
func judgeRun(t *testing.T, name string) (called []string, compared int) {
	t.Helper()
	b, err := os.ReadFile("testdata/runs.json")
	if err != nil {
		t.Fatal(err)
	}
	var rec recorded
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	for _, r := range rec.Runs {
		if r.Name != name {
			continue
		}
		control := map[string]Judgement{}
		for _, c := range r.Comparisons {
			if c.Engine == "psync" {
				control[c.Target+"/"+c.Metric] = Judge(c.A, c.B)
			}
		}
		for _, c := range r.Comparisons {
			j := Judge(c.A, c.B)
			if c.Engine != "psync" {
				j = j.Hold(control[c.Target+"/"+c.Metric])
			}
			compared++
			if j.Called() {
				called = append(called, fmt.Sprintf("%s/%s/%s %+.0f%%", c.Target, c.Engine, c.Metric, j.Change*100))
			}
		}
		return called, compared
	}
	t.Fatalf("no recorded run %s", name)
	return nil, 0
}

// TestRecordedAA: the same kernel as both variants, on a host loaded by
// parallel builds (the noisiest case): nothing is called.
func TestRecordedAA(t *testing.T) {
	called, n := judgeRun(t, "aa1")
	t.Logf("A/A: %d comparisons, %d called", n, len(called))
	if len(called) > 0 {
		t.Errorf("A/A run: changes called: %v", called)
	}
}

// TestRecordedAB: the series' effect, as the cover letter reports it, on
// the recorded A/B runs: io-wq workers 4 -> 0 on every target, and
// context switches and wall time down where the quiet host's spread
// allows.
func TestRecordedAB(t *testing.T) {
	for _, tc := range []struct {
		run  string
		want []string
	}{
		{"ab1", []string{"ext4/io_uring/iowq_workers_peak -100%", "xfs/io_uring/iowq_workers_peak -100%",
			"btrfs/io_uring/iowq_workers_peak -100%", "raw/io_uring/iowq_workers_peak -100%"}},
		{"ab2", []string{"ext4/io_uring/iowq_workers_peak -100%", "xfs/io_uring/iowq_workers_peak -100%",
			"btrfs/io_uring/iowq_workers_peak -100%", "raw/io_uring/iowq_workers_peak -100%",
			"ext4/io_uring/ctx_switches", "xfs/io_uring/ctx_switches", "raw/io_uring/ctx_switches",
			"ext4/io_uring/wall_ms", "raw/io_uring/wall_ms"}},
	} {
		called, n := judgeRun(t, tc.run)
		t.Logf("%s: %d comparisons, %d called: %v", tc.run, n, len(called), called)
		all := strings.Join(called, "\n")
		for _, w := range tc.want {
			if !strings.Contains(all, w) {
				t.Errorf("%s: %q not called", tc.run, w)
			}
		}
		// io_uring offload is forced to io-wq on both kernels: the series
		// cannot change it. (psync is the control: what it moves is
		// reported as drift, and it moved on the loaded host.)
		for _, c := range called {
			if strings.Contains(c, "/io_uring-offload/") {
				t.Errorf("%s: a change of io_uring offload, which the series does not touch: %s", tc.run, c)
			}
		}
	}
}
