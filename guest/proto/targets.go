package proto

import (
	"fmt"
	"slices"
	"strings"
)

// The names both sides agree on: what a disk is tested as (Target), how
// the benchmark reads (Engine), and what a run does (Mode). Each has one
// list here; plan validation, the host's disks and requests, the guest's
// readtest and the results' row order all read these lists, so adding a
// target is one entry in Targets plus its mkfs profiles in guest/readtest
// (whose tests fail until it has them).

// Target names one disk of the guest and what it is tested as. Its
// string is the plan's and the results' target name ("ext4").
type Target string

// The targets of a default run.
const (
	TargetExt4  Target = "ext4"
	TargetXFS   Target = "xfs"
	TargetBtrfs Target = "btrfs"
	TargetRaw   Target = "raw"
)

// TargetSpec is one entry of Targets.
type TargetSpec struct {
	Name Target
	// FS is the filesystem made on the target's disk (mkfs.FS, mount -t
	// FS); "" for a raw block device, read without a filesystem.
	FS string
}

// Raw reports whether the target is read as a raw block device.
func (s TargetSpec) Raw() bool { return s.FS == "" }

// Targets lists every target, in the default plan's order. It is the
// only list of targets.
var Targets = []TargetSpec{
	{Name: TargetExt4, FS: "ext4"},
	{Name: TargetXFS, FS: "xfs"},
	{Name: TargetBtrfs, FS: "btrfs"},
	{Name: TargetRaw},
}

// Spec returns the target's entry in Targets, or an error naming the
// known targets.
func (t Target) Spec() (TargetSpec, error) {
	for _, s := range Targets {
		if s.Name == t {
			return s, nil
		}
	}
	return TargetSpec{}, fmt.Errorf("unknown target %q (want one of %s)", t, strings.Join(TargetNames(), ", "))
}

// TargetNames are the names of Targets, in order.
func TargetNames() []string {
	names := make([]string, len(Targets))
	for i, s := range Targets {
		names[i] = string(s.Name)
	}
	return names
}

// Engine is a benchmark engine: one way fio reads the test file. Its
// string is EngineResult.Engine and the results' engine name.
type Engine string

// Benchmark engines.
const (
	EnginePsync          Engine = "psync"            // fio ioengine=pvsync (preadv), iodepth 1, one job
	EngineIOUringOffload Engine = "io_uring-offload" // fio ioengine=io_uring, force_async=1 (IOSQE_ASYNC on every SQE)
	EngineIOUring        Engine = "io_uring"         // fio ioengine=io_uring, default submission path
)

// Engines lists the benchmark engines in run order, which is also the
// reports' row order (the cover letter's).
var Engines = []Engine{EnginePsync, EngineIOUringOffload, EngineIOUring}

// EngineNames are the names of Engines, in order.
func EngineNames() []string { return names(Engines) }

// KnownEngine reports whether e is in Engines.
func KnownEngine(e Engine) bool { return slices.Contains(Engines, e) }

// Mode is what one ktest-readtest run does.
type Mode string

// Modes of a run.
const (
	ModeCorrectness Mode = "correctness" // the correctness tests only
	ModeBench       Mode = "bench"       // the benchmark only
	ModeAll         Mode = "all"         // the correctness tests, then the benchmark
)

// Modes lists the modes.
var Modes = []Mode{ModeCorrectness, ModeBench, ModeAll}

// Correctness reports whether the mode runs the correctness tests.
func (m Mode) Correctness() bool { return m == ModeCorrectness || m == ModeAll }

// Bench reports whether the mode runs the benchmark.
func (m Mode) Bench() bool { return m == ModeBench || m == ModeAll }

func names[T ~string](xs []T) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = string(x)
	}
	return out
}
