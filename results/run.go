package results

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ktest-dev/ktest/apply"
	"github.com/ktest-dev/ktest/internal/atomicfile"
	"github.com/ktest-dev/ktest/internal/metric"
	"github.com/ktest-dev/ktest/internal/termfmt"
)

// Schema versions the JSON document. Bump the suffix on any change that
// breaks readers; add fields freely.
//
// v2 also carries, on a failed stage and on the error that stopped a
// run, "fault": "kernel" (the kernel under test: a compiler error in it,
// a crash, a boot that failed in the guest, a frozen guest; the run's
// status is then "fail") or "host" (QEMU killed or failing, a port, disk
// images, the SSH transport; status "error"); absent when ktest cannot
// tell, which counts as an error.
//
// v2 (from v1): a benchmark metric's samples are one per boot (the
// median of that boot's repeats), boots interleaved between variants,
// and plan.boots says how many; a test status may be "not-run" (the
// kernel hung in an earlier test of the target) with "evidence" on the
// hung test; "per_patch" holds a per-patch run; a series' patches carry
// "checkpatch"; "shard", "build_only" and "boot_order" are new. v1
// documents still load: their samples are repeats within one boot, and
// nightly mode never compares them with v2 runs (their plans differ in
// boots).
const Schema = "ktest.run/v2"

// schemaV1 is the previous document, which Load still reads.
const schemaV1 = "ktest.run/v1"

// Run is one `ktest run`: metadata, then per variant, per target, per
// test. It is written as the run progresses, so an interrupted or
// failed run leaves a partial document with Complete=false.
type Run struct {
	Schema   string    `json:"schema"`
	ID       string    `json:"id"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished,omitzero"`
	Complete bool      `json:"complete"`
	Status   RunStatus `json:"status"`
	// Error names the stage that stopped the run, if one did.
	Error *StageFailure `json:"error,omitempty"`

	Command string `json:"command"` // the exact command that reproduces this run
	Host    Host   `json:"host"`
	Accel   string `json:"accel"` // "kvm" or "tcg"
	// AccelReason says why, e.g. why KVM was not usable.
	AccelReason string  `json:"accel_reason,omitempty"`
	Tree        Tree    `json:"tree"`
	Series      *Series `json:"series,omitempty"`
	Plan        Plan    `json:"plan"`
	Stages      []Stage `json:"stages"`
	// Shard says which shard of a plan this run is, when it is one;
	// `ktest merge` joins the shards.
	Shard *Shard `json:"shard,omitempty"`
	// BuildOnly: the run built (and maybe exported) its kernels and
	// tested nothing, a CI build job.
	BuildOnly bool `json:"build_only,omitempty"`
	// PerPatch is set by a per-patch run.
	PerPatch *PerPatch `json:"per_patch,omitempty"`
	// BootOrder names the variant of every boot, in order: the
	// benchmark's interleaving.
	BootOrder []string   `json:"boot_order,omitempty"`
	Variants  []*Variant `json:"variants"`
}

// StageFailure is the record of the failure that stopped a run, as
// results.json keeps it: the stage, its variant, the message and whose
// fault it was. It is data, not an error; the error a stage returns is
// pipeline.StageError, whose cause the record keeps as Message.
type StageFailure struct {
	Stage   string `json:"stage"`
	Variant string `json:"variant,omitempty"`
	Message string `json:"message"`
	// Fault says whose doing it was: the kernel's stops a run as
	// "fail", the host's (or an unknown cause) as "error".
	Fault Fault `json:"fault,omitempty"`
}

// Host describes the machine that ran the tests.
type Host struct {
	Hostname string `json:"hostname"`
	CPUs     int    `json:"cpus"`
	Kernel   string `json:"kernel"`
	QEMU     string `json:"qemu,omitempty"`
	Compiler string `json:"compiler,omitempty"`
	Ktest    string `json:"ktest_version,omitempty"`
}

// Tree is the kernel source tree the variants were built from.
type Tree struct {
	Origin  string `json:"origin"` // a directory, or the default tarball
	Key     string `json:"key"`
	Version string `json:"version"`
	Kind    string `json:"kind"`
	// Era is set when the plan's baseline is the tree's era baseline.
	Era *Era `json:"era,omitempty"`
}

// Series is the patch series under test and how each patch applied.
type Series struct {
	Title   string  `json:"title"`
	Version int     `json:"version,omitempty"`
	Source  string  `json:"source"`
	Base    string  `json:"base,omitempty"`
	Patches []Patch `json:"patches"`
	// Warnings are what the series parser noticed, e.g. "patch 3/5
	// missing".
	Warnings []string `json:"warnings,omitempty"`
	// Notes are facts worth knowing that are not problems, e.g. why the
	// series is titled by its first patch.
	Notes []string `json:"notes,omitempty"`
	// ReplyTo is the message a review reply answers (the cover letter,
	// else patch 1); nil when the source was not a mail (a plain diff).
	ReplyTo *ReplyTo `json:"reply_to,omitempty"`
}

// ReplyTo is the series message a reply answers, as it was sent.
type ReplyTo struct {
	// MessageID is its Message-Id without <>; "" when the source has
	// none (lore thread dumps), and then a reply cannot be threaded.
	MessageID string `json:"message_id,omitempty"`
	// References is its own References chain, oldest first.
	References []string `json:"references,omitempty"`
	Subject    string   `json:"subject"` // as sent, "[PATCH v3 0/12] ..."
	From       string   `json:"from,omitempty"`
	// To and Cc are "Name <addr>", or a bare name when the source gave
	// no address for it.
	To []string `json:"to,omitempty"`
	Cc []string `json:"cc,omitempty"`
}

// Patch is one patch's apply outcome.
type Patch struct {
	Number  int    `json:"number,omitempty"`
	Total   int    `json:"total,omitempty"`
	Subject string `json:"subject"`
	Author  string `json:"author,omitempty"`
	// Status is the patch's apply outcome, or apply.PatchInTree for a
	// series the run's tree holds.
	Status apply.PatchStatus `json:"status"`
	Hunks  int               `json:"hunks"`
	Offset int               `json:"hunks_offset,omitempty"`
	Fuzz   int               `json:"hunks_fuzz,omitempty"`
	Failed int               `json:"hunks_failed,omitempty"`
	Detail string            `json:"detail,omitempty"`
	// Checkpatch is the tree's scripts/checkpatch.pl on this patch.
	Checkpatch *Checkpatch `json:"checkpatch,omitempty"`
	// SHA256 is the hex sha256 of the patch's diff text, what is
	// applied; KCIDB's patchset hash is made of these.
	SHA256 string `json:"sha256,omitempty"`
}

// AppliedPatch is one patch applied to a variant's tree.
type AppliedPatch struct {
	Source  string `json:"source"` // the patch source it came from
	ID      string `json:"id"`     // its name within the source, "05/12"
	Subject string `json:"subject"`
	SHA256  string `json:"sha256"` // hex sha256 of its diff text
}

// Plan records the plan the run followed.
type Plan struct {
	Name     string   `json:"name"`
	Targets  []string `json:"targets"`
	Suites   []string `json:"suites"`
	FileSize string   `json:"file_size"`
	Repeats  int      `json:"repeats"`
	// Boots is how many times each variant was booted for the
	// benchmark, interleaved with the other variants' boots.
	Boots int `json:"boots,omitempty"`
	// MaxBoots is the adaptive budget: targets with an undecided
	// comparison of an AdaptiveMetrics metric got more boots, up to
	// MaxBoots a variant.
	MaxBoots int `json:"max_boots,omitempty"`
	// AdaptiveMetrics are the metrics whose undecided comparisons earned
	// those boots; runs that predate it gave them to every metric.
	AdaptiveMetrics []string `json:"adaptive_metrics,omitempty"`
	Quick           bool     `json:"quick,omitempty"`
	// Control is the benchmark engine no variant changes; see
	// plan.Plan.Control. Its drift raises the noise floor of the others.
	Control string `json:"control,omitempty"`
	// KernelArgs are the plan's extra kernel command-line words.
	KernelArgs []string `json:"kernel_args,omitempty"`
	// Clock is what the guests' clocks counted, as the run resolved the
	// plan's: "instructions" (TCG's icount) or "host" (see vm.Clock).
	// Runs made before ktest recorded it have none: they used the host's.
	Clock string `json:"clock,omitempty"`
	// BenchTool is the fio the guest image carried, as "fio-3.33,
	// static" (vm.Image.BenchTool). A dynamic fio's start-up (64 shared
	// libraries under TCG) is in its runs' CPU and context-switch
	// figures, so runs with different ones are not alike.
	BenchTool string `json:"bench_tool,omitempty"`
}

// GuestClock is p.Clock, "host" for runs that predate it.
func (p Plan) GuestClock() string { return OrDefault(p.Clock, "host") }

// GuestBenchTool is p.BenchTool, "unrecorded" for runs that predate it
// (they carried Debian's dynamic fio, as far as ktest knows).
func (p Plan) GuestBenchTool() string { return OrDefault(p.BenchTool, "unrecorded") }

// Stage is a pipeline stage's timing.
type Stage struct {
	Name    string      `json:"name"`
	Variant string      `json:"variant,omitempty"`
	Status  StageStatus `json:"status"`
	Seconds float64     `json:"seconds"`
	Detail  string      `json:"detail,omitempty"`
	// Fault says whose doing a failed stage was, when ktest knows.
	Fault Fault `json:"fault,omitempty"`
}

// Variant is one kernel under test (e.g. baseline or patched).
type Variant struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// Patches are the patch sources applied to the tree, in order.
	Patches []string `json:"patches,omitempty"`
	// Applied are every patch of those sources, in order, with the
	// sha256 of its diff: what the variant's KCIDB checkout covers.
	// Recorded before the apply, so a patch that did not apply is
	// there too; nil in documents written before ktest recorded it.
	Applied []AppliedPatch `json:"applied,omitempty"`
	Kernel  Kernel         `json:"kernel"`
	Boot    Boot           `json:"boot"`            // the first boot
	Boots   []Boot         `json:"boots,omitempty"` // every boot, in order
	Targets []*Target      `json:"targets"`
	Crashes []Crash        `json:"crashes,omitempty"`
}

// Kernel describes a variant's build.
type Kernel struct {
	Key          string     `json:"key,omitempty"`
	Release      string     `json:"release,omitempty"` // uname -r in the guest
	ConfigSHA256 string     `json:"config_sha256,omitempty"`
	Quirks       []string   `json:"quirks,omitempty"`
	Cached       bool       `json:"cached"`
	BuildSeconds float64    `json:"build_seconds"`
	Objects      int        `json:"objects_compiled"`
	Status       StepStatus `json:"status"`
}

// Boot describes a variant's boot.
type Boot struct {
	Status  StepStatus `json:"status"`
	Seconds float64    `json:"seconds"` // QEMU start to SSH ready
}

// Crash is a kernel crash the console watcher saw.
type Crash struct {
	Kind    string `json:"kind"` // oops, bug, warning, panic, hung-task, soft-lockup, lockdep, kasan, gpf
	Title   string `json:"title"`
	Excerpt string `json:"excerpt"`
	During  string `json:"during,omitempty"` // the test or stage running at the time
}

// Target is one test target (a filesystem or the raw device) in a variant.
type Target struct {
	Name  string   `json:"name"` // ext4, xfs, btrfs, raw
	Tests []Test   `json:"tests"`
	Bench []Engine `json:"bench,omitempty"`
	Error string   `json:"error,omitempty"` // setup failure (mkfs, mount)
	// Mkfs says how the filesystem was made; nil for raw.
	Mkfs *Mkfs `json:"mkfs,omitempty"`
}

// Mkfs is how a target's filesystem was made: the feature profile
// chosen for the kernel, the exact command, and the features read back
// from the superblock.
type Mkfs struct {
	Profile  string   `json:"profile"`
	Command  []string `json:"command"`
	Features []string `json:"features,omitempty"`
}

// Test is a correctness test's outcome.
type Test struct {
	Name       string     `json:"name"`
	Status     TestStatus `json:"status"`
	Message    string     `json:"message,omitempty"`
	DurationMS float64    `json:"duration_ms"`
	// Evidence is what the kernel said about a hung test: the blocked
	// tasks and their stacks.
	Evidence string `json:"evidence,omitempty"`
}

// Engine is one benchmark engine's metrics over its repeats.
type Engine struct {
	Engine  string            `json:"engine"` // psync, io_uring-offload, io_uring
	Repeats int               `json:"repeats"`
	Metrics map[string]Metric `json:"metrics"`
}

// Metric names used in Engine.Metrics (package metric holds them).
const (
	MetricWallMS      = metric.WallMS
	MetricIOPS        = metric.IOPS
	MetricLatP50US    = metric.LatP50US
	MetricLatP99US    = metric.LatP99US
	MetricUserCPU     = metric.UserCPU
	MetricSysCPU      = metric.SysCPU
	MetricCtxSwitches = metric.CtxSwitches
	MetricWorkers     = metric.Workers
)

// Metric is a median with its spread and the raw samples.
type Metric struct {
	Median  float64   `json:"median"`
	Min     float64   `json:"min"`
	Max     float64   `json:"max"`
	Samples []float64 `json:"samples"`
}

// Variant returns the variant named name, or nil.
func (r *Run) Variant(name string) *Variant {
	for _, v := range r.Variants {
		if v.Name == name {
			return v
		}
	}
	return nil
}

// Target returns the variant's target named name, or nil.
func (v *Variant) Target(name string) *Target {
	for _, t := range v.Targets {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// Engine returns the target's engine named name, or nil.
func (t *Target) Engine(name string) *Engine {
	for i := range t.Bench {
		if t.Bench[i].Engine == name {
			return &t.Bench[i]
		}
	}
	return nil
}

// Failed lists every test that did not pass (skips excluded).
func (r *Run) Failed() []TestID {
	var out []TestID
	for _, v := range r.Variants {
		for _, t := range v.Targets {
			for _, tc := range t.Tests {
				if tc.Status.Failing() {
					out = append(out, TargetID{v.Name, t.Name}.Test(tc.Name))
				}
			}
		}
	}
	return out
}

// Test returns the test id names, if the run holds it.
func (r *Run) Test(id TestID) (Test, bool) {
	if v := r.Variant(id.Variant); v != nil {
		if t := v.Target(id.Target); t != nil {
			return t.Test(id.Test)
		}
	}
	return Test{}, false
}

// Test returns the target's test called name.
func (t *Target) Test(name string) (Test, bool) {
	if t != nil {
		for _, tc := range t.Tests {
			if tc.Name == name {
				return tc, true
			}
		}
	}
	return Test{}, false
}

// TargetError is a target that could not be set up (mkfs, mount, the
// test file): it ran nothing, so a run with one can never pass.
type TargetError struct {
	ID      TargetID
	Message string
}

func (e TargetError) String() string { return e.ID.String() + ": " + termfmt.FirstLine(e.Message) }

// TargetErrors lists the targets that could not be set up.
func (r *Run) TargetErrors() []TargetError {
	var out []TargetError
	for _, v := range r.Variants {
		for _, t := range v.Targets {
			if t.Error != "" {
				out = append(out, TargetError{TargetID{v.Name, t.Name}, t.Error})
			}
		}
	}
	return out
}

// Write stores the run as JSON at path atomically (temp file + rename),
// mode 0644.
func (r *Run) Write(path string) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, append(data, '\n'), 0o644)
}

// Load reads a run written by Write, or the results.json inside a run
// directory.
func Load(path string) (*Run, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, "results.json")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Run
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%s: not a ktest results document: %w", path, err)
	}
	if r.Schema != Schema && r.Schema != schemaV1 {
		return nil, fmt.Errorf("%s: schema %q, this ktest reads %q and %q", path, r.Schema, Schema, schemaV1)
	}
	return &r, nil
}

// Differences lists how q differs from p in what makes two runs'
// metrics comparable: targets, suites, sizes, boots, control, kernel
// arguments, the guest clock and the benchmark tool. The plan's name is not among them: a renamed plan that
// measures the same way is still alike.
func (p Plan) Differences(q Plan) []string {
	var out []string
	diff := func(what string, a, b any) {
		sa, sb := fmt.Sprint(a), fmt.Sprint(b)
		if sa != sb {
			out = append(out, fmt.Sprintf("%s %s vs %s", what, OrDefault(sa, "none"), OrDefault(sb, "none")))
		}
	}
	diff("targets", p.Targets, q.Targets)
	diff("suites", p.Suites, q.Suites)
	diff("file_size", p.FileSize, q.FileSize)
	diff("repeats", p.Repeats, q.Repeats)
	diff("boots", p.Boots, q.Boots)
	diff("control", p.Control, q.Control)
	diff("kernel_args", p.KernelArgs, q.KernelArgs)
	// Instruction-clock times and host-clock times are different units.
	diff("clock", p.GuestClock(), q.GuestClock())
	diff("bench tool", p.GuestBenchTool(), q.GuestBenchTool())
	return out
}

// Shard is one of N parts of a plan, split by target.
type Shard struct {
	K int `json:"k"`
	N int `json:"n"`
	// PlanTargets are the whole plan's targets; the run's Plan.Targets
	// are the shard's.
	PlanTargets []string `json:"plan_targets"`
}

func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.K, s.N) }
