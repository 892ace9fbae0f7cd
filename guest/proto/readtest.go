// Package proto is the wire contract between the ktest host and its guest
// programs. It imports nothing from ktest, so both sides can depend on it.
package proto

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// ReadTestSchema identifies the JSON document ktest-readtest prints. It
// changes only when a field is removed or changes meaning; new fields may be
// added under the same schema.
const ReadTestSchema = "ktest.readtest/v1"

// Status values of a TestResult.
const (
	StatusPass = "pass" // every check held
	StatusFail = "fail" // a check failed; Message says which and where
	StatusHung = "hung" // the test did not finish within its timeout
	StatusSkip = "skip" // not applicable to this target; Message says why
	// StatusNotRun is a test left out because the kernel hung in an
	// earlier one: a wedged kernel costs one timeout, not one per test.
	StatusNotRun = "not-run"
)

// CorrectnessTests names ktest-readtest's correctness tests, in the
// order it runs them; the host validates plans and --only against it.
var CorrectnessTests = []string{
	"rand4k-qd32-cold", "rand4k-qd32-warm", "unaligned-span", "eof", "large-read",
	"concurrent-waiters", "truncate-race", "readv-multi-iovec", "force-async", "preadv",
}

// Exit codes of ktest-readtest. The JSON document is printed in every case
// where the flags parsed, so the host should read stdout before judging.
const (
	ReadTestExitOK          = 0 // every test passed (or was skipped) and the benchmark ran
	ReadTestExitFailed      = 1 // a test failed or hung, or the benchmark failed
	ReadTestExitUsage       = 2 // bad flags
	ReadTestExitSetupFailed = 3 // mkfs, mount, or writing the test file failed
)

// TargetResult is the single JSON document ktest-readtest prints on stdout,
// on one line, for one target (one filesystem or raw device) per run. When a
// test hangs the process may never fully exit (a thread stuck in the
// kernel), so the host must parse the first complete line rather than wait
// for EOF.
type TargetResult struct {
	Schema   string `json:"schema"`    // ReadTestSchema
	Target   Target `json:"target"`    // one of Targets
	FS       string `json:"fs"`        // filesystem type; "" for raw
	Device   string `json:"device"`    // block device, e.g. "/dev/vdb"
	Kernel   string `json:"kernel"`    // uname -r of the guest
	Path     string `json:"path"`      // file read: the test file, or the device for raw
	FileSize int64  `json:"file_size"` // bytes of pattern readable at Path (raw: device size)
	Seed     uint64 `json:"seed"`      // pattern seed; rerun with --seed to reproduce
	Mode     Mode   `json:"mode"`      // one of Modes
	// ReadAheadKB is the device's read_ahead_kb, used to size large-read.
	ReadAheadKB int `json:"read_ahead_kb"`
	// Mkfs says how the filesystem was made; nil for raw.
	Mkfs *Mkfs `json:"mkfs,omitempty"`
	// Error is set when setup failed (exit 3) or the run was cut short.
	Error string         `json:"error,omitempty"`
	Tests []TestResult   `json:"tests"`
	Bench []EngineResult `json:"bench"`
	// DurationMS is the wall time of the whole run.
	DurationMS int64 `json:"duration_ms"`
}

// Mkfs is how a target's filesystem was made: the profile chosen for the
// kernel, the exact command, and the features read back from the
// superblock.
type Mkfs struct {
	Profile  string   `json:"profile"` // e.g. "xfs/lts_5.4"
	Command  []string `json:"command"`
	Features []string `json:"features,omitempty"`
}

// TestResult is one named correctness test.
type TestResult struct {
	Name       string `json:"name"`    // e.g. "rand4k-qd32-cold"
	Status     string `json:"status"`  // StatusPass, StatusFail, StatusHung, StatusSkip or StatusNotRun
	Message    string `json:"message"` // first failure, or a short summary of what was checked
	DurationMS int64  `json:"duration_ms"`
	// Evidence is what the kernel said about a hung test: the blocked
	// tasks and their stacks (sysrq w), so a report shows where the
	// reader sleeps.
	Evidence string `json:"evidence,omitempty"`
}

// EngineResult is one benchmark engine over all repeats.
type EngineResult struct {
	Engine  Engine      `json:"engine"`  // one of Engines
	Repeats int         `json:"repeats"` // runs requested
	Error   string      `json:"error,omitempty"`
	Runs    []RunSample `json:"runs"` // raw samples, in run order
	Median  Summary     `json:"median"`
	Min     Summary     `json:"min"`
	Max     Summary     `json:"max"`
}

// RunSample is one cold-cache fio run. CPU percentages are system-wide from
// /proc/stat deltas over the fio process's lifetime, in percent of one CPU
// (so 0..100*NCPU), which counts io-wq workers and kernel threads too.
type RunSample struct {
	WallMS      float64 `json:"wall_ms"`      // fio job runtime (read.runtime)
	ProcessMS   float64 `json:"process_ms"`   // wall time of the fio process, start to exit
	IOPS        float64 `json:"iops"`         // fio read.iops
	LatP50US    float64 `json:"lat_p50_us"`   // completion latency median (clat_ns 50th percentile)
	LatP99US    float64 `json:"lat_p99_us"`   // completion latency 99th percentile
	UserCPUPct  float64 `json:"user_cpu_pct"` // user+nice
	SysCPUPct   float64 `json:"sys_cpu_pct"`  // system+irq+softirq
	CtxSwitches float64 `json:"ctx_switches"` // system-wide "ctxt" delta
	PeakWorkers float64 `json:"peak_workers"` // most io-wq workers (iou-wrk-*, io_wqe_worker*) seen at once
	IOBytes     float64 `json:"io_bytes"`     // bytes fio read
}

// Summary holds one statistic (median, min or max) of every RunSample
// metric, computed per metric independently.
type Summary = RunSample

// Progress lines. ktest-readtest prints one on stderr when a
// correctness test starts and one when it ends, so that the host bounds
// each test by its timeout whatever the guest does, and names the test
// that was running when the kernel crashed or the guest froze.
const progressPrefix = "readtest: "

// RunningLine is the line that starts test, which has timeout.
func RunningLine(test string, timeout time.Duration) string {
	return fmt.Sprintf("%s%s: running (timeout %v)", progressPrefix, test, timeout)
}

// FinishedLine is the line that ends test r.
func FinishedLine(r TestResult) string {
	return fmt.Sprintf("%s%s: %s in %d ms: %s", progressPrefix, r.Name, r.Status, r.DurationMS, r.Message)
}

// Progress is a parsed progress line: a test that started (Running,
// with its Timeout) or ended (Result).
type Progress struct {
	Test    string
	Running bool
	Timeout time.Duration
	Result  TestResult
}

var (
	runningRE  = regexp.MustCompile(`^readtest: (\S+): running \(timeout (\S+)\)$`)
	finishedRE = regexp.MustCompile(`^readtest: (\S+): (pass|fail|hung|skip|not-run) in (\d+) ms: (.*)$`)
)

// ParseProgress reads a line RunningLine or FinishedLine made; ok is
// false for any other line.
func ParseProgress(line string) (p Progress, ok bool) {
	line = strings.TrimRight(line, "\r\n")
	if m := runningRE.FindStringSubmatch(line); m != nil {
		d, err := time.ParseDuration(m[2])
		if err != nil {
			return Progress{}, false
		}
		return Progress{Test: m[1], Running: true, Timeout: d}, true
	}
	if m := finishedRE.FindStringSubmatch(line); m != nil {
		ms, err := strconv.ParseInt(m[3], 10, 64)
		if err != nil {
			return Progress{}, false
		}
		return Progress{Test: m[1], Result: TestResult{Name: m[1], Status: m[2], DurationMS: ms, Message: m[4]}}, true
	}
	return Progress{}, false
}
