package report

import (
	"slices"
	"strings"

	"github.com/ktest-dev/ktest/apply"
	"github.com/ktest-dev/ktest/internal/termfmt"
	"github.com/ktest-dev/ktest/results"
)

// outline is what a reading of a run says, decided once from the run:
// md and email (and so mbox) format it and add nothing of their own.
type outline struct {
	Title string
	// Incomplete is why the results are partial, "" for a complete run.
	Incomplete string
	Series     *seriesAbout // nil: the run tested no series
	Tree       treeAbout
	Era        string // "" when the tree's era is not recorded
	Run        runAbout
	KernelArgs []string
	Accel      string
	// The rows of the apply, kernels and crashes sections.
	Patches []patchRow
	Kernels []kernelRow
	Crashes []crashRow
	// PerPatch is the per-patch steps of a per-patch run, nil otherwise.
	PerPatch *results.PerPatch
	// Filesystems is how each target's filesystem was made.
	Filesystems []fsRow
	// Correctness is each variant's test matrix, for the variants
	// that ran tests.
	Correctness []testMatrixRows
	// Bench is every A/B comparison that has tables.
	Bench []benchPair
	// Trailer is the reply's signature when the run Earned it, else the
	// sentence saying why there is none; Command reproduces the run.
	Trailer string
	Earned  bool
	Command string
	// Sections are the body, in order; a format shows each it has a
	// layout for (see markdown and email).
	Sections []sectionID
}

// seriesAbout is the series a run tested: its labelled line and the
// notes the parser left on it.
type seriesAbout struct {
	Title    string
	Version  int    // 0: not numbered
	Base     string // "": not named
	Source   string // the file or directory it was read from
	Warnings []string
	Notes    []string
}

// treeAbout is the kernel tree: Kind and Name ("tarball 6.1.129"), and
// Origin when Name is the version, so the origin is not shown yet.
type treeAbout struct{ Kind, Name, Origin string }

// runAbout names the run: ID as recorded ("" when it has none), its
// status and its plan.
type runAbout struct{ ID, Status, Plan string }

// patchRow is one patch of the series and how it applied.
type patchRow struct {
	Label, Subject, Status, Hunks string
	Conflict                      bool // it did not apply
	// Detail says where the hunks of a patch that did not apply
	// cleanly went; "" for a clean one.
	Detail string
	// Checkpatch is checkpatch's count, Findings its lines.
	Checkpatch string
	Findings   []string
}

// kernelRow is one variant's kernel: Desc is its description and
// release, Build and Boot what happened to it.
type kernelRow struct{ Name, Desc, Build, Boot string }

// crashRow is one crash the console caught on a variant.
type crashRow struct{ Variant, Kind, Title, During, Excerpt string }

// testMatrixRows is one variant's correctness tests: Cell[target][test]
// (absent: not run there), and the first line of the setup error of
// each target that could not be set up.
type testMatrixRows struct {
	Variant        string
	Counts         string
	Tests, Targets []string
	Cell           map[string]map[string]results.Test
	SetupError     map[string]string
}

// benchPair is one A/B comparison: reference A against B ("" for a
// run with one variant, whose figures are shown without verdicts), and
// the table of every target benchmarked.
type benchPair struct {
	Title    string // "baseline vs patched", or the lone variant's name
	A, B     string
	FileSize string // the plan's file size; "" when not recorded
	Clock    string // what the guests' clocks counted (results.Plan.GuestClock)
	Tool     string // the fio the guests ran (results.Plan.BenchTool); "" when not recorded
	Boots    int    // the plan's benchmark boots a variant; 0 when not recorded
	// Adaptive are the metrics that earned adaptive boots
	// (results.Plan.AdaptiveMetrics); nil for runs that gave them to all.
	Adaptive []string
	Tables   []results.ABTarget
}

// instructionClock says what a time under vm.ClockInstructions is.
const instructionClock = "Times count the guest's instructions (QEMU's icount under TCG, 8 ns each) " +
	"while it runs and real time while it waits, so the host's load does not reach them."

// workload says what the benchmark did and how its times were taken.
func (p benchPair) workload() string {
	s := "Random 4 KiB reads at QD32, cold cache"
	if p.FileSize != "" {
		s += ", " + p.FileSize + " file"
	}
	if p.Tool != "" {
		s += "; " + p.Tool
	}
	s += "."
	if p.Clock == "instructions" {
		s += " " + instructionClock
	}
	return s
}

// fsRow is how a target's filesystem was made: the feature profile
// chosen for the kernel, the mkfs command and the features read back.
// Variants that made it the same way share a row.
type fsRow struct{ Variants, Target, Profile, Command, Features string }

// filesystemsOf reads the run's fsRows.
func filesystemsOf(r *results.Run) []fsRow {
	var rows []fsRow
	for _, v := range r.Variants {
		for _, t := range v.Targets {
			if t.Mkfs == nil {
				continue
			}
			cmd := strings.Join(t.Mkfs.Command, " ")
			feats := strings.Join(t.Mkfs.Features, ",")
			i := slices.IndexFunc(rows, func(x fsRow) bool {
				return x.Target == t.Name && x.Profile == t.Mkfs.Profile && x.Command == cmd && x.Features == feats
			})
			if i >= 0 {
				rows[i].Variants += ", " + v.Name
				continue
			}
			rows = append(rows, fsRow{v.Name, t.Name, t.Mkfs.Profile, cmd, feats})
		}
	}
	return rows
}

// sectionID names one part of a report's body.
type sectionID int

const (
	sectionApply sectionID = iota
	sectionKernels
	sectionCrashes
	sectionPerPatch
	sectionFilesystems
	sectionCorrectness
	sectionBench
)

// outline reads a run's outline; rd signs it.
func (rd Renderer) outline(r *results.Run) outline {
	o := outline{
		Title:      title(r),
		Trailer:    rd.trailer(r),
		Earned:     r.WhyNoTrailer() == "",
		Command:    command(r),
		Incomplete: r.Incomplete(),
		Tree: treeAbout{
			Kind: results.OrDefault(r.Tree.Kind, "tree"),
			Name: results.OrDefault(r.Tree.Version, r.Tree.Origin),
		},
		Run: runAbout{
			ID:     r.ID,
			Status: results.OrDefault(string(r.Status), "unknown"),
			Plan:   results.OrDefault(r.Plan.Name, "default"),
		},
		KernelArgs: r.Plan.KernelArgs,
		Accel:      accelText(r),
	}
	if r.Tree.Version != "" {
		o.Tree.Origin = r.Tree.Origin
	}
	if e := r.Tree.Era; e != nil {
		o.Era = e.String()
	}
	if s := r.Series; s != nil {
		o.Series = &seriesAbout{
			Title: results.OrDefault(s.Title, "(untitled)"), Version: s.Version,
			Base: s.Base, Source: s.Source, Warnings: s.Warnings, Notes: s.Notes,
		}
		for _, p := range s.Patches {
			row := patchRow{
				Label: results.PatchLabel(p), Subject: p.Subject, Status: string(p.Status), Hunks: hunkText(p),
				Conflict: p.Status == apply.PatchConflict, Checkpatch: p.Checkpatch.String(),
			}
			if p.Status != apply.PatchApplied {
				row.Detail = p.Detail
			}
			if cp := p.Checkpatch; cp != nil {
				row.Findings = cp.Items
			}
			o.Patches = append(o.Patches, row)
		}
	}
	for _, v := range r.Variants {
		desc := v.Description
		if v.Kernel.Release != "" {
			desc += " (" + v.Kernel.Release + ")"
		}
		o.Kernels = append(o.Kernels, kernelRow{v.Name, desc, results.BuildText(v.Kernel), results.BootText(v.Boot)})
		for _, c := range v.Crashes {
			o.Crashes = append(o.Crashes, crashRow{v.Name, c.Kind, c.Title, c.During, c.Excerpt})
		}
		if tests, targets, cell := testMatrix(v); len(targets) > 0 {
			m := testMatrixRows{Variant: v.Name, Counts: results.TestCounts(v).String(),
				Tests: tests, Targets: targets, Cell: cell, SetupError: map[string]string{}}
			for _, t := range targets {
				if tt := v.Target(t); tt != nil && tt.Error != "" {
					m.SetupError[t] = termfmt.FirstLine(tt.Error)
				}
			}
			o.Correctness = append(o.Correctness, m)
		}
	}
	if len(o.Patches) > 0 {
		o.Sections = append(o.Sections, sectionApply)
	}
	if len(o.Kernels) > 0 {
		o.Sections = append(o.Sections, sectionKernels)
	}
	if len(o.Crashes) > 0 {
		o.Sections = append(o.Sections, sectionCrashes)
	}
	o.PerPatch = r.PerPatch
	if o.PerPatch != nil {
		o.Sections = append(o.Sections, sectionPerPatch)
	}
	o.Filesystems = filesystemsOf(r)
	if len(o.Filesystems) > 0 {
		o.Sections = append(o.Sections, sectionFilesystems)
	}
	if len(o.Correctness) > 0 {
		o.Sections = append(o.Sections, sectionCorrectness)
	}
	for _, pair := range r.BenchPairs() {
		if tables := r.ABTables(pair[0], pair[1]); len(tables) > 0 {
			o.Bench = append(o.Bench, benchPair{Title: pairTitle(pair), A: pair[0].Name, B: nameOrEmpty(pair[1]),
				FileSize: r.Plan.FileSize, Clock: r.Plan.GuestClock(), Tool: r.Plan.BenchTool, Boots: r.Plan.Boots, Adaptive: r.Plan.AdaptiveMetrics, Tables: tables})
		}
	}
	if len(o.Bench) > 0 {
		o.Sections = append(o.Sections, sectionBench)
	}
	return o
}
