package pipeline

import (
	"strings"
	"testing"

	"github.com/ktest-dev/ktest/guest/proto"
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
				lw.Write([]byte(c))
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
	m := rt.Engine("io_uring").Metrics[results.MetricWorkers]
	if m.Median != 4 || m.Min != 4 || m.Max != 5 || len(m.Samples) != 3 || m.Samples[2] != 5 {
		t.Fatalf("workers metric = %+v", m)
	}
	if w := rt.Engine("io_uring").Metrics[results.MetricWallMS]; w.Median != 11 {
		t.Fatalf("wall = %+v", w)
	}
	if got := summarizeTarget(&rt); got != "1 passed, 2 failed, 2 engines" {
		t.Fatalf("summary = %q", got)
	}
}

func TestTargetDisksMatchGuestDevices(t *testing.T) {
	devs := targetDisks([]string{"ext4", "xfs", "btrfs", "raw"}, 16<<20)
	want := []struct {
		id, dev string
		size    int64
	}{{"ext4", "/dev/vda", fsDiskSize}, {"xfs", "/dev/vdb", fsDiskSize}, {"btrfs", "/dev/vdc", fsDiskSize}, {"raw", "/dev/vdd", 16<<20 + 4<<20}}
	for i, w := range want {
		d := devs[i].(vm.Disk)
		if d.ID != w.id || d.Size != w.size || guestDevice(i) != w.dev || !strings.HasPrefix(d.Serial, "ktest-") {
			t.Errorf("disk %d = %+v on %s, want %+v", i, d, guestDevice(i), w)
		}
	}
}
