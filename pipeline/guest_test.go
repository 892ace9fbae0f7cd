package pipeline

import (
	"testing"

	"github.com/ktest-dev/ktest/guest/proto"
	"github.com/ktest-dev/ktest/plan"
	"github.com/ktest-dev/ktest/results"
	"github.com/ktest-dev/ktest/vm"
)

func TestLineWatcherTakesFirstCompleteDocument(t *testing.T) {
	doc := `{"schema":"ktest.readtest/v1","target":"ext4","tests":[{"name":"eof","status":"pass"}]}`
	for _, tc := range []struct {
		name   string
		chunks []string
		done   bool
	}{
		{"one write", []string{doc + "\n"}, true},
		{"split mid-line", []string{doc[:20], doc[20:], "\n"}, true},
		{"noise before", []string{"warning: x\n", doc + "\n"}, true},
		{"incomplete", []string{doc[:40]}, false},
		{"other schema", []string{`{"schema":"other/v1"}` + "\n"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lw := &lineWatcher{done: make(chan struct{})}
			for _, c := range tc.chunks {
				if _, err := lw.Write([]byte(c)); err != nil {
					t.Fatal(err)
				}
			}
			select {
			case <-lw.done:
				if !tc.done {
					t.Fatal("signalled without a complete document")
				}
				d, err := lw.document()
				if err != nil || d.Target != "ext4" || len(d.Tests) != 1 {
					t.Fatalf("document = %+v, %v", d, err)
				}
			default:
				if tc.done {
					t.Fatal("not signalled")
				}
				if _, err := lw.document(); err == nil {
					t.Fatal("document() found one")
				}
			}
		})
	}
}

func TestConvertTarget(t *testing.T) {
	doc := &proto.TargetResult{
		Tests: []proto.TestResult{{Name: "eof", Status: proto.StatusPass, DurationMS: 12}, {Name: "concurrent-waiters", Status: proto.StatusHung, Message: "did not finish within 20s"}},
		Bench: []proto.EngineResult{{
			Engine: proto.EngineIOUring, Repeats: 3,
			Runs:   []proto.RunSample{{WallMS: 10, PeakWorkers: 4, CtxSwitches: 100}, {WallMS: 12, PeakWorkers: 4, CtxSwitches: 90}, {WallMS: 11, PeakWorkers: 5, CtxSwitches: 95}},
			Median: proto.RunSample{WallMS: 11, PeakWorkers: 4, CtxSwitches: 95},
			Min:    proto.RunSample{WallMS: 10, PeakWorkers: 4, CtxSwitches: 90},
			Max:    proto.RunSample{WallMS: 12, PeakWorkers: 5, CtxSwitches: 100},
		}, {Engine: proto.EnginePsync, Repeats: 3, Error: "fio: exit 1"}},
	}
	var rt results.Target
	convertTarget(doc, &rt)
	if len(rt.Tests) != 3 || rt.Tests[1].Status != "hung" || rt.Tests[2].Name != "bench-psync" || rt.Tests[2].Status != "fail" {
		t.Fatalf("tests = %+v", rt.Tests)
	}
	// One sample per boot: the median of the boot's repeats.
	m := rt.Engine("io_uring").Metrics[results.MetricWorkers]
	if m.Median != 4 || m.Min != 4 || m.Max != 4 || len(m.Samples) != 1 {
		t.Fatalf("workers metric = %+v", m)
	}
	if got := summarizeTarget(&rt); got != "1 passed, 2 failed, 1 engines" {
		t.Fatalf("summary = %q", got)
	}
	if got := summarizeBench(&rt, 1, "3", nil); got != "1 engines, sample 2 of 3" {
		t.Fatalf("bench summary = %q", got)
	}
	if got := summarizeBench(&rt, 4, "at most 8", []proto.Engine{proto.EnginePsync, proto.EngineIOUring}); got != "psync, io_uring, sample 5 of at most 8" {
		t.Fatalf("adaptive bench summary = %q", got)
	}
	// Later boots add their samples; a failing engine is one test.
	for _, wall := range []float64{14, 9} {
		doc.Bench[0].Median.WallMS = wall
		mergeBench(doc, &rt)
	}
	w := rt.Engine("io_uring").Metrics[results.MetricWallMS]
	if len(w.Samples) != 3 || w.Median != 11 || w.Min != 9 || w.Max != 14 {
		t.Fatalf("wall after three boots = %+v", w)
	}
	if len(rt.Tests) != 3 {
		t.Fatalf("tests after three boots = %+v", rt.Tests)
	}
}

func TestTargetDisks(t *testing.T) {
	devs := targetDisks([]string{"ext4", "xfs", "btrfs", "raw"}, 16<<20)
	want := []vm.Disk{
		{ID: "ext4", Serial: "ktest-ext4", Size: 1 << 30},
		{ID: "xfs", Serial: "ktest-xfs", Size: 1 << 30},
		{ID: "btrfs", Serial: "ktest-btrfs", Size: 1 << 30},
		{ID: "raw", Serial: "ktest-raw", Size: 20 << 20},
	}
	if len(devs) != len(want) {
		t.Fatalf("%d disks, want %d", len(devs), len(want))
	}
	for i, w := range want {
		if d := devs[i]; d != w {
			t.Errorf("disk %d = %+v, want %+v", i, d, w)
		}
	}
}

func TestReadtestCommand(t *testing.T) {
	base := func() *plan.Plan {
		p := plan.Default()
		p.Quick()
		return p
	}
	tests := []struct {
		name   string
		edit   func(p *plan.Plan)
		target string
		only   []string
		want   string
	}{
		{"default plan", func(p *plan.Plan) {}, "xfs", nil,
			"ktest-readtest --target xfs --serial ktest-xfs --mode all --size 16M --repeats 1 --timeout-per-test 1m30s"},
		{"correctness only, mkfs for 5.4", func(p *plan.Plan) { p.Suites = []string{"correctness"}; p.MkfsForKernel = "5.4" }, "btrfs", nil,
			"ktest-readtest --target btrfs --serial ktest-btrfs --mode correctness --size 16M --repeats 1 --timeout-per-test 1m30s --mkfs-for 5.4"},
		{"raw ignores the mkfs kernel", func(p *plan.Plan) { p.MkfsForKernel = "5.4" }, "raw", nil,
			"ktest-readtest --target raw --serial ktest-raw --mode all --size 16M --repeats 1 --timeout-per-test 1m30s"},
		{"bench only, tests filter", func(p *plan.Plan) { p.Suites = []string{"bench"}; p.Tests = []string{"eof"} }, "ext4", nil,
			"ktest-readtest --target ext4 --serial ktest-ext4 --mode bench --size 16M --repeats 1 --timeout-per-test 1m30s --only eof"},
		{"re-run of new failures: correctness, once", func(p *plan.Plan) { p.Tests = []string{"eof"} }, "ext4", []string{"truncate-race", "eof"},
			"ktest-readtest --target ext4 --serial ktest-ext4 --mode correctness --size 16M --repeats 1 --timeout-per-test 1m30s --only truncate-race,eof"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := base()
			tc.edit(p)
			if got := readtestCommand(readtestRequest(p, tc.target, tc.only, false)); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}
