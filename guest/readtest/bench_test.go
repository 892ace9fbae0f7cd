package readtest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ktest-dev/ktest/guest/proto"
)

func TestFioArgs(t *testing.T) {
	tests := []struct {
		engine proto.Engine
		want   []string
	}{
		{proto.EnginePsync, []string{"--ioengine=pvsync", "--iodepth=1"}},
		{proto.EngineIOUringOffload, []string{"--ioengine=io_uring", "--iodepth=32", "--force_async=1"}},
		{proto.EngineIOUring, []string{"--ioengine=io_uring", "--iodepth=32"}},
	}
	common := []string{"--rw=randread", "--bs=4k", "--direct=0", "--invalidate=1", "--numjobs=1",
		"--output-format=json", "--size=8388608", `--filename=/mnt/a\:b/f`}
	for _, tc := range tests {
		args, err := FioArgs(tc.engine, "/mnt/a:b/f", 8<<20+1234)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range append(tc.want, common...) {
			if !slices.Contains(args, w) {
				t.Errorf("%s: args %q lack %q", tc.engine, args, w)
			}
		}
		if tc.engine == proto.EngineIOUring && slices.Contains(args, "--force_async=1") {
			t.Errorf("default io_uring engine forces async: %q", args)
		}
	}
	if _, err := FioArgs("libaio", "/f", 1<<20); err == nil {
		t.Error("unknown engine accepted")
	}
	// An engine added to proto.Engines needs its fio arguments here.
	for _, e := range proto.Engines {
		if _, err := FioArgs(e, "/f", 1<<20); err != nil {
			t.Errorf("engine %s of proto.Engines: %v", e, err)
		}
	}
}

func TestParseFioErrors(t *testing.T) {
	tests := []struct {
		name, out, errHas string
	}{
		{"no json", "fio: engine not found\n", "no JSON"},
		{"broken json", `{"jobs": [`, "parsing fio JSON"},
		{"job error", `{"jobs":[{"jobname":"readtest","error":5,"read":{"io_bytes":1}}]}`, "error 5"},
		{"nothing read", `{"jobs":[{"jobname":"readtest","read":{"io_bytes":0}}]}`, "read nothing"},
		{"no percentiles", `{"jobs":[{"jobname":"readtest","read":{"io_bytes":4096,"iops":1,"clat_ns":{}}}]}`, "percentiles"},
		{"two jobs", `{"jobs":[{},{}]}`, "2 jobs"},
	}
	for _, tc := range tests {
		_, err := ParseFio([]byte(tc.out))
		if err == nil || !strings.Contains(err.Error(), tc.errHas) {
			t.Errorf("%s: err = %v, want one containing %q", tc.name, err, tc.errHas)
		}
	}
	s, err := ParseFio([]byte("note: a notice on stdout\n" +
		`{"jobs":[{"jobname":"readtest","error":0,"read":{"io_bytes":8192,"iops":2000.5,"runtime":4,` +
		`"clat_ns":{"percentile":{"50.000000":1500,"99.000000":250000}}}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if s.IOPS != 2000.5 || s.WallMS != 4 || s.LatP50US != 1.5 || s.LatP99US != 250 || s.IOBytes != 8192 {
		t.Errorf("parsed %+v", s)
	}
}

func TestParseProcStat(t *testing.T) {
	good := "cpu  100 5 50 1000 10 3 2 0 0 0\ncpu0 50 5 25 500 5 1 1 0 0 0\ncpu1 50 0 25 500 5 2 1 0 0 0\nintr 1 2\nctxt 12345\nbtime 1\n"
	ps, err := parseProcStat(strings.NewReader(good), "stat")
	if err != nil {
		t.Fatal(err)
	}
	want := ProcStat{User: 105, System: 55, Total: 1170, CPUs: 2, Ctxt: 12345}
	if ps != want {
		t.Errorf("parsed %+v, want %+v", ps, want)
	}
	later := ProcStat{User: 105 + 30, System: 55 + 70, Total: 1170 + 200, CPUs: 2, Ctxt: 12400}
	u, s, c := ps.Delta(later)
	// 200 jiffies over 2 CPUs = 100 per CPU: 30 user jiffies = 30% of one CPU.
	if u != 30 || s != 70 || c != 55 {
		t.Errorf("Delta = %v %v %v, want 30 70 55", u, s, c)
	}
	bad := []struct{ name, in, errHas string }{
		{"short cpu line", "cpu 1 2 3\nctxt 1\n", "stat:1: cpu line has 4 fields"},
		{"bad number", "cpu 1 2 x 4 5 6 7 8\ncpu0 1 2 3 4 5 6 7 8\nctxt 1\n", "stat:1: cpu field 3"},
		{"bad ctxt", "cpu 1 2 3 4 5 6 7 8\ncpu0 1 2 3 4 5 6 7 8\nctxt z\n", "stat:3: ctxt"},
		{"missing ctxt", "cpu 1 2 3 4 5 6 7 8\ncpu0 1 2 3 4 5 6 7 8\n", "missing"},
	}
	for _, tc := range bad {
		_, err := parseProcStat(strings.NewReader(tc.in), "stat")
		if err == nil || !strings.Contains(err.Error(), tc.errHas) {
			t.Errorf("%s: err = %v, want one containing %q", tc.name, err, tc.errHas)
		}
	}
}

// TestCountWorkers builds a small procfs-shaped tree with both kinds of
// io-wq worker.
func TestCountWorkers(t *testing.T) {
	root := t.TempDir()
	write := func(path, comm string) {
		p := filepath.Join(root, path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(comm+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("1/comm", "init")
	write("1/task/1/comm", "init")
	write("7/comm", "io_wqe_worker-0") // 5.x kthread
	write("8/comm", "io_wqe_worker-1")
	write("9/comm", "kworker/0:1")
	write("100/comm", "fio")
	write("100/task/100/comm", "fio")
	write("100/task/101/comm", "iou-wrk-100") // 6.x thread
	write("100/task/102/comm", "iou-wrk-100")
	write("100/task/103/comm", "iou-wrk-100")
	write("self/comm", "iou-wrk-1") // not a pid: ignored
	write("200/comm", "ktest-readtest")
	write("200/task/200/comm", "ktest-readtest")
	write("200/task/201/comm", "iou-wrk-200") // the readtest's own ring: excluded
	if got := CountWorkers(root, 200); got != 5 {
		t.Errorf("CountWorkers = %d, want 5", got)
	}
	if got := CountWorkers(root, 0); got != 6 {
		t.Errorf("CountWorkers without exclusion = %d, want 6", got)
	}
	if got := CountWorkers(filepath.Join(root, "missing"), 0); got != 0 {
		t.Errorf("CountWorkers(missing) = %d", got)
	}
}

func TestSummarize(t *testing.T) {
	runs := []proto.RunSample{{IOPS: 30, WallMS: 1}, {IOPS: 10, WallMS: 3}, {IOPS: 20, WallMS: 2}}
	med, lo, hi := Summarize(runs)
	if med.IOPS != 20 || lo.IOPS != 10 || hi.IOPS != 30 || med.WallMS != 2 || lo.WallMS != 1 || hi.WallMS != 3 {
		t.Errorf("odd: med %+v lo %+v hi %+v", med, lo, hi)
	}
	med, _, _ = Summarize(runs[:2])
	if med.IOPS != 20 {
		t.Errorf("even median IOPS %v, want 20", med.IOPS)
	}
	if med, _, _ := Summarize(nil); med != (proto.RunSample{}) {
		t.Errorf("empty: %+v", med)
	}
}

// TestRunBenchOnHost runs the real benchmark (fio, all engines, one
// repeat) on an 8 MiB file and checks the figures are sane.
func TestRunBenchOnHost(t *testing.T) {
	fio, err := exec.LookPath("fio")
	if err != nil {
		t.Skip("fio not installed")
	}
	skipNoUring(t)
	tg := fileTarget(t, 8<<20)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res := RunBench(ctx, tg, BenchOptions{Fio: fio, Repeats: 1, Log: testLog{t}})
	if len(res) != 3 {
		t.Fatalf("%d engine results, want 3", len(res))
	}
	ncpu := float64(runtime.NumCPU())
	for _, e := range res {
		if e.Error != "" || len(e.Runs) != 1 {
			t.Fatalf("%s: error %q, %d runs", e.Engine, e.Error, len(e.Runs))
		}
		s := e.Runs[0]
		t.Logf("%s: %+v", e.Engine, s)
		switch {
		case s.IOPS <= 0 || s.WallMS <= 0 || s.ProcessMS < s.WallMS:
			t.Errorf("%s: IOPS %v, wall %v ms, process %v ms", e.Engine, s.IOPS, s.WallMS, s.ProcessMS)
		case s.IOBytes != 8<<20:
			t.Errorf("%s: read %v bytes, want %d (each block once)", e.Engine, s.IOBytes, 8<<20)
		case s.LatP50US <= 0 || s.LatP99US < s.LatP50US:
			t.Errorf("%s: latency p50 %v p99 %v", e.Engine, s.LatP50US, s.LatP99US)
		case s.CtxSwitches <= 0:
			t.Errorf("%s: no context switches", e.Engine)
		case s.UserCPUPct < 0 || s.SysCPUPct <= 0 || s.UserCPUPct+s.SysCPUPct > 100*ncpu+1:
			t.Errorf("%s: CPU user %v%% sys %v%% outside 0..%v", e.Engine, s.UserCPUPct, s.SysCPUPct, 100*ncpu)
		}
		if e.Median != s || e.Min != s || e.Max != s {
			t.Errorf("%s: summaries of one run differ from it", e.Engine)
		}
		if e.Engine == proto.EngineIOUringOffload && s.PeakWorkers < 1 {
			t.Errorf("%s: no io-wq worker seen with IOSQE_ASYNC on every read", e.Engine)
		}
	}
}

type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
