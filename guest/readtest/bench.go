package readtest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ktest-dev/ktest/guest/proto"
)

// BenchOptions configure the fio benchmark. Zero values get defaults.
type BenchOptions struct {
	Fio     string         // fio binary; default "fio" from PATH
	Repeats int            // runs per engine; default 3
	Engines []proto.Engine // default proto.Engines
	Timeout time.Duration  // per fio run; default 10m
	// SampleEvery is the period of full /proc scans for io-wq workers
	// (fio's own iou-wrk threads are counted every 10ms); default 100ms.
	SampleEvery time.Duration
	ProcRoot    string // procfs mount; default "/proc" (tests point it elsewhere)
	Log         io.Writer
}

func (o *BenchOptions) defaults() {
	if o.Fio == "" {
		o.Fio = "fio"
	}
	if o.Repeats <= 0 {
		o.Repeats = 3
	}
	if len(o.Engines) == 0 {
		o.Engines = proto.Engines
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Minute
	}
	if o.SampleEvery <= 0 {
		o.SampleEvery = 100 * time.Millisecond
	}
	if o.ProcRoot == "" {
		o.ProcRoot = "/proc"
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
}

// FioArgs returns fio's arguments for one cold random-read run of engine
// over the first size bytes of path: 4 KiB random reads, buffered, each
// block once, at QD32 (io_uring) or synchronously with preadv (psync).
func FioArgs(engine proto.Engine, path string, size int64) ([]string, error) {
	args := []string{
		"--name=readtest", "--filename=" + strings.ReplaceAll(path, ":", `\:`),
		"--rw=randread", "--bs=4k", "--size=" + strconv.FormatInt(size&^(BlockSize-1), 10),
		"--direct=0", "--invalidate=1", "--numjobs=1", "--randrepeat=1",
		// The job runs as a thread of the fio process we started, so its
		// io-wq workers (iou-wrk threads of the submitting task on 6.x)
		// are found in that process's task list.
		"--thread",
		"--output-format=json",
	}
	switch engine {
	case proto.EnginePsync:
		// The cover letter's preadv baseline: one synchronous thread.
		args = append(args, "--ioengine=pvsync", "--iodepth=1")
	case proto.EngineIOUringOffload:
		// IOSQE_ASYNC on every request: always punted to io-wq threads.
		args = append(args, "--ioengine=io_uring", "--iodepth=32", "--force_async=1")
	case proto.EngineIOUring:
		args = append(args, "--ioengine=io_uring", "--iodepth=32")
	default:
		return nil, fmt.Errorf("unknown benchmark engine %q (want one of %s)", engine, strings.Join(proto.EngineNames(), ", "))
	}
	return args, nil
}

// RunBench runs every engine o.Repeats times on t, cold each time, engines
// interleaved within a repeat so slow drift affects them alike.
func RunBench(ctx context.Context, t *Target, o BenchOptions) []proto.EngineResult {
	o.defaults()
	results := make([]proto.EngineResult, len(o.Engines))
	var errs = make([][]error, len(o.Engines))
	for i, e := range o.Engines {
		results[i] = proto.EngineResult{Engine: e, Repeats: o.Repeats, Runs: []proto.RunSample{}}
	}
	for rep := range o.Repeats {
		for i, e := range o.Engines {
			if ctx.Err() != nil {
				errs[i] = append(errs[i], ctx.Err())
				continue
			}
			progress(o.Log, "readtest: bench %s run %d/%d", e, rep+1, o.Repeats)
			s, err := RunFio(ctx, t, e, o)
			if err != nil {
				progress(o.Log, "readtest: bench %s run %d: %v", e, rep+1, err)
				errs[i] = append(errs[i], fmt.Errorf("run %d: %w", rep+1, err))
				continue
			}
			progress(o.Log, "readtest: bench %s run %d: %.0f IOPS, p50 %.0fus p99 %.0fus, usr %.1f%% sys %.1f%%, %0.f ctxsw, %0.f workers",
				e, rep+1, s.IOPS, s.LatP50US, s.LatP99US, s.UserCPUPct, s.SysCPUPct, s.CtxSwitches, s.PeakWorkers)
			results[i].Runs = append(results[i].Runs, s)
		}
	}
	for i := range results {
		if err := errors.Join(errs[i]...); err != nil {
			results[i].Error = err.Error()
		}
		results[i].Median, results[i].Min, results[i].Max = Summarize(results[i].Runs)
	}
	return results
}

// FioError is a fio run that failed.
type FioError struct {
	Args   []string
	Stderr string
	Err    error
}

func (e *FioError) Error() string {
	s := fmt.Sprintf("fio %s: %v", strings.Join(e.Args, " "), e.Err)
	if tail := strings.TrimSpace(e.Stderr); tail != "" {
		if len(tail) > 2000 {
			tail = "..." + tail[len(tail)-2000:]
		}
		s += ": " + tail
	}
	return s
}

func (e *FioError) Unwrap() error { return e.Err }

// RunFio does one cold run of engine on t and measures it.
func RunFio(ctx context.Context, t *Target, engine proto.Engine, o BenchOptions) (proto.RunSample, error) {
	o.defaults()
	var s proto.RunSample
	args, err := FioArgs(engine, t.Path, t.DataEnd)
	if err != nil {
		return s, err
	}
	if err := t.DropCaches(); err != nil {
		return s, fmt.Errorf("dropping caches: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, o.Fio, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr

	before, err := ReadProcStat(o.ProcRoot)
	if err != nil {
		return s, err
	}
	start := time.Now()
	runErr := cmd.Start()
	peak := 0
	if runErr == nil {
		sampler := startWorkerSampler(o.ProcRoot, o.SampleEvery, cmd.Process.Pid)
		runErr = cmd.Wait()
		peak = sampler.stop()
	}
	elapsed := time.Since(start)
	after, err := ReadProcStat(o.ProcRoot)
	if err != nil {
		return s, err
	}
	if runErr != nil {
		return s, &FioError{Args: args, Stderr: stderr.String(), Err: runErr}
	}
	fr, err := ParseFio(stdout.Bytes())
	if err != nil {
		return s, &FioError{Args: args, Stderr: stderr.String(), Err: err}
	}
	s = fr
	s.ProcessMS = float64(elapsed.Microseconds()) / 1000
	s.UserCPUPct, s.SysCPUPct, s.CtxSwitches = before.Delta(after)
	s.PeakWorkers = float64(peak)
	return s, nil
}

// ParseFio extracts the sample fields fio reports from its JSON output
// (--output-format=json) for a single read job. Anything before the first
// '{' (fio notes printed to stdout) is skipped.
func ParseFio(out []byte) (proto.RunSample, error) {
	var s proto.RunSample
	i := bytes.IndexByte(out, '{')
	if i < 0 {
		return s, errors.New("no JSON in fio output")
	}
	var doc struct {
		Jobs []struct {
			Name  string `json:"jobname"`
			Error int    `json:"error"`
			Read  struct {
				IOBytes float64 `json:"io_bytes"`
				IOPS    float64 `json:"iops"`
				Runtime float64 `json:"runtime"` // ms
				ClatNS  struct {
					Percentile map[string]float64 `json:"percentile"`
				} `json:"clat_ns"`
			} `json:"read"`
		} `json:"jobs"`
	}
	if err := json.NewDecoder(bytes.NewReader(out[i:])).Decode(&doc); err != nil {
		return s, fmt.Errorf("parsing fio JSON: %w", err)
	}
	if len(doc.Jobs) != 1 {
		return s, fmt.Errorf("fio JSON has %d jobs, want 1", len(doc.Jobs))
	}
	j := doc.Jobs[0]
	if j.Error != 0 {
		return s, fmt.Errorf("fio job %q error %d", j.Name, j.Error)
	}
	if j.Read.IOBytes <= 0 {
		return s, fmt.Errorf("fio job %q read nothing", j.Name)
	}
	p50, ok50 := j.Read.ClatNS.Percentile["50.000000"]
	p99, ok99 := j.Read.ClatNS.Percentile["99.000000"]
	if !ok50 || !ok99 {
		return s, fmt.Errorf("fio job %q has no 50th/99th clat percentiles", j.Name)
	}
	s.WallMS = j.Read.Runtime
	s.IOPS = j.Read.IOPS
	s.IOBytes = j.Read.IOBytes
	s.LatP50US = p50 / 1000
	s.LatP99US = p99 / 1000
	return s, nil
}

// ProcStat is the system-wide part of /proc/stat the benchmark uses.
type ProcStat struct {
	User, System, Total uint64 // jiffies: user+nice, system+irq+softirq, all
	CPUs                int
	Ctxt                uint64
}

// ReadProcStat reads procRoot/stat.
func ReadProcStat(procRoot string) (ProcStat, error) {
	path := procRoot + "/stat"
	f, err := os.Open(path)
	if err != nil {
		return ProcStat{}, err
	}
	defer func() { _ = f.Close() }() // read-only: a close error loses nothing
	return parseProcStat(f, path)
}

func parseProcStat(r io.Reader, name string) (ProcStat, error) {
	var ps ProcStat
	sc := bufio.NewScanner(r)
	line, seenCPU, seenCtxt := 0, false, false
	for sc.Scan() {
		line++
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		switch {
		case fields[0] == "cpu":
			if len(fields) < 8 {
				return ps, fmt.Errorf("%s:%d: cpu line has %d fields, want at least 8", name, line, len(fields))
			}
			var v [8]uint64 // user nice system idle iowait irq softirq steal
			for k := range v {
				n, err := strconv.ParseUint(fields[k+1], 10, 64)
				if err != nil {
					return ps, fmt.Errorf("%s:%d: cpu field %d: %w", name, line, k+1, err)
				}
				v[k] = n
			}
			ps.User = v[0] + v[1]
			ps.System = v[2] + v[5] + v[6]
			for _, n := range v {
				ps.Total += n
			}
			seenCPU = true
		case strings.HasPrefix(fields[0], "cpu"):
			ps.CPUs++
		case fields[0] == "ctxt" && len(fields) >= 2:
			n, err := strconv.ParseUint(fields[1], 10, 64)
			if err != nil {
				return ps, fmt.Errorf("%s:%d: ctxt: %w", name, line, err)
			}
			ps.Ctxt = n
			seenCtxt = true
		}
	}
	if err := sc.Err(); err != nil {
		return ps, fmt.Errorf("%s: %w", name, err)
	}
	if !seenCPU || !seenCtxt || ps.CPUs == 0 {
		return ps, fmt.Errorf("%s: missing cpu, cpuN or ctxt lines", name)
	}
	return ps, nil
}

// Delta returns user and system CPU between p and later, in percent of one
// CPU (0..100*CPUs), and the context switches in between.
func (p ProcStat) Delta(later ProcStat) (userPct, sysPct, ctxt float64) {
	total := float64(later.Total - p.Total)
	if total > 0 {
		perCPU := total / float64(p.CPUs)
		userPct = 100 * float64(later.User-p.User) / perCPU
		sysPct = 100 * float64(later.System-p.System) / perCPU
	}
	return userPct, sysPct, float64(later.Ctxt - p.Ctxt)
}

// CountWorkers counts io_uring io-wq worker threads under procRoot:
// "iou-wrk-*" threads inside user processes (Linux 5.12+), found by scanning
// every process's task/ directory, and "io_wqe_worker*" kernel threads
// (5.x), which are processes of their own. Threads of excludePID are not
// counted: the readtest process's own rings (from correctness tests) keep
// idle workers for a while, and they are not fio's.
func CountWorkers(procRoot string, excludePID int) int {
	ents, err := os.ReadDir(procRoot)
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range ents {
		if !isPID(e.Name()) || e.Name() == strconv.Itoa(excludePID) {
			continue
		}
		dir := procRoot + "/" + e.Name()
		comm := readComm(dir + "/comm")
		if strings.HasPrefix(comm, "io_wqe_worker") {
			n++
			continue
		}
		if strings.HasPrefix(comm, "kworker") || comm == "" {
			continue // kernel threads have no io-wq threads of their own
		}
		tasks, err := os.ReadDir(dir + "/task")
		if err != nil || len(tasks) < 2 {
			continue // a lone thread is the process itself
		}
		for _, t := range tasks {
			if strings.HasPrefix(readComm(dir+"/task/"+t.Name()+"/comm"), "iou-wrk-") {
				n++
			}
		}
	}
	return n
}

func isPID(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func readComm(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

type workerSampler struct {
	quit chan struct{}
	wg   sync.WaitGroup
	peak int
}

// startWorkerSampler tracks the peak number of io-wq workers while fio
// (pid) runs. Every 10ms it counts the iou-wrk threads inside fio (6.x:
// cheap, one small task/ directory); every period it scans all of /proc,
// which also finds 5.x io_wqe_worker kthreads. The full count is relative
// to the one when sampling starts: on 5.x, kthreads of rings that other
// processes still hold are not fio's. A full scan every 10ms cost fio
// measurable CPU on a one-vCPU TCG guest.
func startWorkerSampler(procRoot string, period time.Duration, pid int) *workerSampler {
	w := &workerSampler{quit: make(chan struct{})}
	self := os.Getpid()
	before := CountWorkers(procRoot, self)
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		const fast = 10 * time.Millisecond
		tick := time.NewTicker(fast)
		defer tick.Stop()
		lastFull := time.Time{}
		for {
			w.peak = max(w.peak, countTaskWorkers(procRoot, pid))
			if time.Since(lastFull) >= period {
				w.peak = max(w.peak, CountWorkers(procRoot, self)-before)
				lastFull = time.Now()
			}
			select {
			case <-w.quit:
				return
			case <-tick.C:
			}
		}
	}()
	return w
}

// countTaskWorkers counts the iou-wrk threads of one process.
func countTaskWorkers(procRoot string, pid int) int {
	dir := procRoot + "/" + strconv.Itoa(pid) + "/task"
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	n := 0
	for _, t := range tasks {
		if strings.HasPrefix(readComm(dir+"/"+t.Name()+"/comm"), "iou-wrk-") {
			n++
		}
	}
	return n
}

// stop ends sampling and returns the peak.
func (w *workerSampler) stop() int {
	close(w.quit)
	w.wg.Wait()
	return w.peak
}

// sampleFields lists the metrics of a RunSample, for per-metric statistics.
func sampleFields(s *proto.RunSample) []*float64 {
	return []*float64{&s.WallMS, &s.ProcessMS, &s.IOPS, &s.LatP50US, &s.LatP99US,
		&s.UserCPUPct, &s.SysCPUPct, &s.CtxSwitches, &s.PeakWorkers, &s.IOBytes}
}

// Summarize returns the per-metric median, minimum and maximum of runs
// (each metric independently; the median of an even count is the mean of
// the middle two). No runs give zero summaries.
func Summarize(runs []proto.RunSample) (med, lo, hi proto.RunSample) {
	if len(runs) == 0 {
		return
	}
	medF, loF, hiF := sampleFields(&med), sampleFields(&lo), sampleFields(&hi)
	for k := range medF {
		vals := make([]float64, len(runs))
		for i := range runs {
			vals[i] = *sampleFields(&runs[i])[k]
		}
		slices.Sort(vals)
		*loF[k], *hiF[k] = vals[0], vals[len(vals)-1]
		m := len(vals) / 2
		if len(vals)%2 == 1 {
			*medF[k] = vals[m]
		} else {
			*medF[k] = (vals[m-1] + vals[m]) / 2
		}
	}
	return
}
