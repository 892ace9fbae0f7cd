// Package pipeline is a ktest run: it wires the stages (tree, apply,
// config and build, initramfs, boot, tests, collect) for each variant of
// a plan and records everything in a results.Run as it goes, so a run
// that fails or is interrupted still leaves its partial results.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/ktest-dev/ktest/apply"
	"github.com/ktest-dev/ktest/initramfs"
	"github.com/ktest-dev/ktest/internal/termfmt"
	"github.com/ktest-dev/ktest/kbuild"
	"github.com/ktest-dev/ktest/kconfig"
	"github.com/ktest-dev/ktest/plan"
	"github.com/ktest-dev/ktest/report"
	"github.com/ktest-dev/ktest/results"
	"github.com/ktest-dev/ktest/series"
	"github.com/ktest-dev/ktest/vm"
)

// Config is everything a run needs besides its plan.
type Config struct {
	Plan       *plan.Plan
	Cache      *kbuild.Cache
	OutDir     string // the run directory; created
	Command    string // the command line that reproduces the run
	WithFixups bool
	Jobs       int
	Log        io.Writer // progress; stderr in the CLI
	Verbose    bool
	// Only restricts a run to these tests; used by the nightly re-run
	// of new failures.
	Only []results.TestID
	// Parts are the builder, guest image and machines the run drives;
	// the zero value is the real ones.
	Parts Parts
	// BuildOnly stops after the builds (a CI build job).
	BuildOnly bool
	// ExportKernels, if set, receives every variant's kernel in
	// ExportKernels/<variant>; ImportKernels takes them from there,
	// refusing a kernel not built from what the variant asks for.
	ExportKernels, ImportKernels string
	// Shard records which shard of the plan this run is (the plan's
	// targets are already the shard's).
	Shard *results.Shard
	// Identity signs the renderings' Tested-by line; nil writes a line
	// saying no identity is configured.
	Identity *mail.Address
	// Series chooses the version of the plan's series (--use-version);
	// AllowMissing applies it even when patches of it are missing.
	Series       series.Options
	AllowMissing bool
}

// StageError is the error of a stage that stopped the run, with its
// cause; the run records it as a results.StageFailure.
type StageError struct {
	Stage   string
	Variant string
	Err     error
}

func (e *StageError) Error() string {
	if e.Variant != "" {
		return fmt.Sprintf("stage %s [%s]: %v", e.Stage, e.Variant, e.Err)
	}
	return fmt.Sprintf("stage %s: %v", e.Stage, e.Err)
}
func (e *StageError) Unwrap() error { return e.Err }

// runner holds one run's state.
type runner struct {
	cfg      Config
	run      *results.Run
	log      io.Writer
	parts    Parts
	tree     *kbuild.Tree
	series   *series.Series // the series the run is about, if any
	era      *eraState      // the tree's era, when the plan's baseline is its era's
	machines Machines       // boots every guest on the run's accelerator
	image    *vm.Image      // the run's guest image and its keys
	disks    *diskSet       // each variant's target disks, kept across its boots
	kernels  map[string]*kbuild.Result
	// wholeSeries says how the whole series failed to apply or build in
	// a per-patch run, which went on to its steps.
	wholeSeries string
}

// Run executes the plan. It always returns the run record (possibly
// partial, Complete=false) alongside any error, and has written it to
// cfg.OutDir/results.json.
func Run(ctx context.Context, cfg Config) (*results.Run, error) {
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	if err := os.MkdirAll(cfg.OutDir, 0o755); err != nil {
		return nil, err
	}
	p := cfg.Plan
	host, _ := os.Hostname()
	uname := unameRelease()
	r := &runner{cfg: cfg, log: cfg.Log, parts: cfg.Parts.orReal(), kernels: map[string]*kbuild.Result{}}
	r.run = &results.Run{
		Schema: results.Schema, ID: filepath.Base(cfg.OutDir), Started: time.Now().UTC(),
		Status: results.StatusRunning, Command: cfg.Command,
		Host:  results.Host{Hostname: host, CPUs: runtime.NumCPU(), Kernel: uname},
		Plan:  results.Plan{Name: p.Name, Targets: p.Targets, Suites: p.Suites, FileSize: p.FileSize, Boots: p.Boots, MaxBoots: p.MaxBoots, AdaptiveMetrics: p.AdaptiveMetrics, Repeats: p.Repeats, Control: p.Control, KernelArgs: p.KernelArgs},
		Shard: cfg.Shard, BuildOnly: cfg.BuildOnly,
	}
	if c, err := kbuild.Compiler(ctx); err == nil {
		r.run.Host.Compiler = c
	}
	for _, v := range p.Variants {
		r.run.Variants = append(r.run.Variants, &results.Variant{Name: v.Name, Description: v.Description, Patches: v.Patches,
			Kernel: results.Kernel{Status: results.StepPending}, Boot: results.Boot{Status: results.StepPending}})
	}
	r.save()

	err := r.execute(ctx)
	r.finish(ctx, err)
	return r.run, err
}

func unameRelease() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// logf writes a progress line. Best effort: progress is for the
// reader, and a log that cannot be written must not stop a run.
func (r *runner) logf(format string, args ...any) {
	_, _ = fmt.Fprintf(r.log, "ktest: "+format+"\n", args...)
}

// warnIf logs a best-effort cleanup that failed: the run's result
// stands, and the reader learns what was left behind.
func (r *runner) warnIf(what string, err error) {
	if err != nil {
		r.logf("warning: %s: %v", what, err)
	}
}

// save writes the results so far; a failure to save is reported but
// does not stop the run.
func (r *runner) save() {
	if err := r.run.Write(filepath.Join(r.cfg.OutDir, "results.json")); err != nil {
		r.logf("warning: saving results: %v", err)
	}
}

// stage runs fn as a named, timed stage and records it.
func (r *runner) stage(ctx context.Context, name, variant string, fn func(ctx context.Context) (string, error)) error {
	start := time.Now()
	label := name
	if variant != "" {
		label += " [" + variant + "]"
	}
	r.logf("stage %s ...", label)
	detail, err := fn(ctx)
	st := results.Stage{Name: name, Variant: variant, Status: results.StageOK, Seconds: time.Since(start).Seconds(), Detail: detail}
	switch {
	case err != nil && ctx.Err() != nil:
		st.Status = results.StageInterrupted
	case err != nil:
		st.Status, st.Fault = results.StageFailed, FaultOf(err)
		if st.Detail == "" {
			st.Detail = err.Error()
		}
	}
	r.run.Stages = append(r.run.Stages, st)
	r.save()
	if err != nil {
		r.logf("stage %s %s after %s: %v", label, st.Status, time.Since(start).Round(100*time.Millisecond), err)
		var se *StageError
		if errors.As(err, &se) {
			return err
		}
		return &StageError{Stage: name, Variant: variant, Err: err}
	}
	r.logf("stage %s ok in %s%s", label, time.Since(start).Round(100*time.Millisecond), prefixed(detail))
	return nil
}

func prefixed(s string) string {
	if s == "" {
		return ""
	}
	return " (" + s + ")"
}

func (r *runner) execute(ctx context.Context) error {
	p := r.cfg.Plan
	if err := r.stage(ctx, "tree", "", r.openTree); err != nil {
		return err
	}
	if p.UsesEra() {
		if err := r.stage(ctx, "era", "", r.chooseEra); err != nil {
			return err
		}
		p = r.cfg.Plan // the variants now name the era's baseline
	}
	if err := r.stage(ctx, "series", "", r.describeSeries); err != nil {
		return err
	}
	if r.series != nil && p.RunsCheckpatch() {
		if err := r.stage(ctx, "checkpatch", "", r.checkpatch); err != nil {
			return err
		}
	}
	overlays := map[string]map[string][]byte{}
	for i, v := range p.Variants {
		v, rv := v, r.run.Variants[i]
		if err := r.stage(ctx, "apply", v.Name, func(ctx context.Context) (string, error) {
			ov, detail, err := r.applyVariant(ctx, v)
			overlays[v.Name] = ov
			return detail, err
		}); err != nil {
			if r.seriesEvidence(ctx, i, err) {
				continue
			}
			return err
		}
		if v.EraBaseline && r.era != nil {
			if err := r.stage(ctx, "baseline", v.Name, func(context.Context) (string, error) {
				return r.verifyBaseline(overlays[v.Name])
			}); err != nil {
				return err
			}
		}
		if err := r.stage(ctx, "build", v.Name, func(ctx context.Context) (string, error) {
			return r.build(ctx, v, rv, overlays[v.Name])
		}); err != nil {
			rv.Kernel.Status = results.StepFailed
			if r.seriesEvidence(ctx, i, err) {
				continue
			}
			return err
		}
	}
	if r.cfg.BuildOnly {
		return nil
	}
	if err := r.stage(ctx, "accel", "", r.probeAccel); err != nil {
		return err
	}
	if err := r.stage(ctx, "initramfs", "", r.buildInitramfs); err != nil {
		return err
	}
	defer func() { r.warnIf("removing the guest image", r.image.Remove()) }()
	if p.PerPatch != nil {
		return r.perPatch(ctx)
	}
	r.disks = &diskSet{targets: p.Targets, fileSize: p.FileSizeBytes()}
	defer r.disks.remove()
	return r.testAll(ctx)
}

// seriesEvidence reports whether the failure err of variant i is
// evidence rather than the run's end: in a per-patch run, the whole
// series (the last variant) not applying or not compiling is what the
// steps are there to explain, each patch with its own conflict or
// compiler error. The host failing, or the baseline, still ends the run.
func (r *runner) seriesEvidence(ctx context.Context, i int, err error) bool {
	p := r.cfg.Plan
	if p.PerPatch == nil || i == 0 || i != len(p.Variants)-1 || ctx.Err() != nil ||
		FaultOf(err) != results.FaultKernel {
		return false
	}
	var be *kbuild.BuildError
	var conflict *apply.Conflict
	switch {
	case errors.As(err, &be) && be.FirstError != "":
		r.wholeSeries = "the whole series does not build: " + be.FirstError
	case errors.As(err, &conflict):
		r.wholeSeries = "the whole series does not apply: " + termfmt.FirstLine(conflict.Error())
	default:
		r.wholeSeries = "the whole series fails: " + termfmt.FirstLine(err.Error())
	}
	r.logf("%s; the per-patch steps look for the patch that did it", r.wholeSeries)
	return true
}

func (r *runner) openTree(ctx context.Context) (string, error) {
	var err error
	r.tree, err = kbuild.OpenSpec(ctx, r.cfg.Cache, r.cfg.Plan.Tree, r.log)
	if err != nil {
		return "", err
	}
	r.run.Tree = results.Tree{Origin: r.tree.Origin, Key: r.tree.Key, Version: r.tree.Version.String(), Kind: r.tree.Kind}
	return fmt.Sprintf("%s %s", r.tree.Origin, r.tree.Version), nil
}

// loadSource reads a patch source; the run's series gets the version
// the command line asked for, the plan's other sources their newest.
func (r *runner) loadSource(src string) (*series.Series, error) {
	var opts series.Options
	if src == r.cfg.Plan.Series.Source {
		opts = r.cfg.Series
	}
	return opts.Load(src)
}

// sourcePatches is sourcePatches reading sources as loadSource does.
func (r *runner) sourcePatches(sources []string, withFixups bool) ([]apply.Patch, error) {
	return sourcePatches(sources, withFixups, r.loadSource)
}

// describeSeries records the series the run is about. When the plan does
// not apply it (the tree already contains it), each patch is marked so.
func (r *runner) describeSeries(ctx context.Context) (string, error) {
	src := r.cfg.Plan.Series.Source
	if src == "" {
		return "no series", nil
	}
	s, err := r.loadSource(src)
	if err != nil {
		return "", err
	}
	for _, w := range s.Warnings {
		r.logf("warning: series %s: %s", src, w)
	}
	if err := s.Complete(); err != nil && r.cfg.Plan.Series.Applied && !r.cfg.AllowMissing {
		return "", err
	}
	rs := seriesRecord(s, src, r.cfg.WithFixups, r.cfg.Plan.Series.Applied)
	if !r.cfg.Plan.Series.Applied {
		rs.Base = fmt.Sprintf("%s (the series is already in this tree; the baseline patch removes its effect)", r.tree.Version)
		if r.era != nil {
			rs.Base = fmt.Sprintf("%s (the series is already in this tree; the baseline patch of its %s era, %s, removes its effect)",
				r.tree.Version, r.era.era.Name, r.run.Tree.Era.Baseline)
		}
	}
	r.run.Series = rs
	r.series = s
	return fmt.Sprintf("%q v%d, %d patches", s.Title, s.Version, len(rs.Patches)), nil
}

// checkpatch runs the tree's scripts/checkpatch.pl on every patch of the
// series; what it finds is review, not a failure, unless the plan makes
// errors fatal.
func (r *runner) checkpatch(ctx context.Context) (string, error) {
	pats := r.series.ToApply(r.cfg.WithFixups)
	errs, warns := 0, 0
	for i, sp := range pats {
		if i >= len(r.run.Series.Patches) {
			break
		}
		cp := r.parts.Checkpatch(ctx, r.tree.Dir, series.FormatMail(r.series, sp), sp.ID().String())
		r.run.Series.Patches[i].Checkpatch = cp
		if cp.Error != "" {
			return "not run: " + cp.Error, nil
		}
		errs, warns = errs+cp.Errors, warns+cp.Warnings
	}
	return fmt.Sprintf("%d patches: %d errors, %d warnings", len(pats), errs, warns), nil
}

func countHunks(p *series.Patch) int {
	n := 0
	for _, f := range p.Files {
		n += len(f.TextFragments)
	}
	return n
}

// applyVariant applies the variant's patch sources to the tree in memory
// and returns the overlay the build switches in. Nothing is written to
// the tree.
func (r *runner) applyVariant(ctx context.Context, v plan.Variant) (map[string][]byte, string, error) {
	if len(v.Patches) == 0 {
		return nil, "no patches", nil
	}
	aps, applied, err := loadPatches(v.Patches, r.cfg.WithFixups, r.loadSource)
	if err != nil {
		return nil, "", err
	}
	// Every patch, the baseline's too, before applying: a checkout is
	// described by what was to be applied, whether or not it applied.
	if rv := r.run.Variant(v.Name); rv != nil {
		rv.Applied = applied
	}
	ov, res, err := overlayOf(ctx, r.tree.Dir, aps)
	if res != nil {
		r.recordApply(v, aps, res)
	}
	if err != nil {
		return nil, "", err
	}
	if n, in := r.seriesInTree(v, aps, res); n > 0 && in == n {
		return nil, "", &apply.InTreeError{Series: r.cfg.Plan.Series.Source, Patches: n}
	}
	counts := res.Count()
	return ov, fmt.Sprintf("%d patches, %d files; hunks: %d exact, %d offset, %d fuzz, %d merged (3-way), %d already applied",
		len(res.Patches), len(ov), counts[apply.StatusExact], counts[apply.StatusOffset], counts[apply.StatusFuzz],
		counts[apply.StatusMerged], counts[apply.StatusAlreadyApplied]), nil
}

// appliesSeries reports whether variant v applies the series under
// test: the plan says the tree lacks it, and it is v's last source.
func (r *runner) appliesSeries(v plan.Variant) bool {
	return r.run.Series != nil && r.cfg.Plan.Series.Applied && len(v.Patches) > 0 && v.Patches[len(v.Patches)-1] == r.cfg.Plan.Series.Source
}

// seriesInTree counts the series' patches that v applies and how many
// of them were found already in the tree, every hunk of them.
func (r *runner) seriesInTree(v plan.Variant, aps []apply.Patch, res *apply.Result) (n, in int) {
	if !r.appliesSeries(v) {
		return 0, 0
	}
	base := len(aps) - len(r.run.Series.Patches)
	for _, pr := range res.Patches {
		if pr.Index >= base {
			n++
			if pr.Outcome().Status == apply.PatchAlreadyApplied {
				in++
			}
		}
	}
	return n, in
}

// recordApply stores per-patch apply outcomes in the run's series when
// this variant applies the series under test: its patches are the last
// of aps, and each report says which of aps it is.
func (r *runner) recordApply(v plan.Variant, aps []apply.Patch, res *apply.Result) {
	if !r.appliesSeries(v) {
		return
	}
	base := len(aps) - len(r.run.Series.Patches)
	for _, pr := range res.Patches {
		i := pr.Index - base
		if i < 0 || i >= len(r.run.Series.Patches) {
			continue
		}
		o := pr.Outcome()
		rp := &r.run.Series.Patches[i]
		rp.Status, rp.Hunks, rp.Offset, rp.Fuzz, rp.Failed, rp.Detail = o.Status, o.Hunks, o.Offset, o.Fuzz, o.Failed, o.Detail
	}
}

func (r *runner) build(ctx context.Context, v plan.Variant, rv *results.Variant, overlay map[string][]byte) (string, error) {
	frags, err := kconfig.Resolve(r.cfg.Plan.Fragments)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Plan.Timeouts.Build.Duration)
	defer cancel()
	req := kbuild.Request{Tree: r.tree, Variant: v.Name, Overlay: overlay,
		Patches: v.Patches, Fragments: frags, Jobs: r.cfg.Jobs, Log: r.log}
	imported := false
	if r.cfg.ImportKernels != "" {
		// Another job built it: take it by content key, or refuse it.
		if _, err := kbuild.Import(ctx, r.cfg.Cache, req, filepath.Join(r.cfg.ImportKernels, v.Name)); err != nil {
			return "", err
		}
		imported = true
	}
	res, err := r.parts.Build(ctx, r.cfg.Cache, req)
	if err != nil {
		return "", err
	}
	r.kernels[v.Name] = res
	if r.cfg.ExportKernels != "" {
		if _, err := kbuild.Export(ctx, r.cfg.Cache, req, filepath.Join(r.cfg.ExportKernels, v.Name)); err != nil {
			return "", err
		}
	}
	rv.Kernel = results.Kernel{Key: res.Key, ConfigSHA256: res.ConfigSHA, Quirks: res.Quirks, Cached: res.Cached,
		BuildSeconds: res.Seconds, Objects: res.Objects, Status: results.StepOK}
	switch {
	case imported:
		return "imported from " + r.cfg.ImportKernels + ", no build", nil
	case res.Cached:
		return "cached " + res.Dir, nil
	}
	return fmt.Sprintf("built in %.0f s, %d objects", res.Seconds, res.Objects), nil
}

// probeAccel resolves the run's accelerator by booting the first
// variant's kernel under KVM (see vm.Prober); every boot of the run then
// goes through the pool, which falls back to TCG if a KVM boot is silent.
func (r *runner) probeAccel(ctx context.Context) (string, error) {
	want, err := vm.ParseAccel(r.cfg.Plan.Accel)
	if err != nil {
		return "", err
	}
	clock, err := vm.ParseClock(r.cfg.Plan.Clock)
	if err != nil {
		return "", err
	}
	if clock, err = clock.OnCPUs(r.cfg.Plan.CPUs); err != nil {
		return "", err
	}
	if clock == vm.ClockAuto && !slices.Contains(r.cfg.Plan.Suites, "bench") {
		// The instruction clock is for measuring. Without a benchmark it
		// would only slow the guest's own watchdogs: a spinning CPU's
		// guest time runs slower than real time under icount, and a soft
		// lockup would be found by ktest's freeze timeout first.
		clock = vm.ClockHost
	}
	r.machines = r.parts.Machines(want, clock, vm.Prober{CacheFile: vm.ProbeCacheFile(r.cfg.Cache.Dir)}, r.log)
	v, err := r.machines.Resolve(ctx, r.kernels[r.cfg.Plan.Variants[0].Name].BzImage)
	r.recordAccel(v)
	if err != nil {
		return "", err
	}
	r.logf("accel: %s, clock %s (%s)", v.Accel, v.Clock, v.Reason)
	return fmt.Sprintf("%s, clock %s", v.Accel, v.Clock), nil
}

// recordAccel writes what really ran into the run: the accelerator, the
// guest clock, and why.
func (r *runner) recordAccel(v vm.AccelChoice) {
	r.run.Accel, r.run.Plan.Clock, r.run.AccelReason = string(v.Accel), string(v.Clock), v.Reason
}

// buildInitramfs makes the run's guest image with its keys, in the temp
// directory: a run directory holds results, not a 24–98 MiB image with a
// private key.
func (r *runner) buildInitramfs(ctx context.Context) (string, error) {
	var err error
	r.image, err = r.parts.GuestImage(ctx, initramfs.Options{CacheDir: r.cfg.Cache.Dir, Log: r.log})
	if err != nil {
		return "", err
	}
	r.run.Plan.BenchTool = r.image.BenchTool
	var detail []string
	if st, _ := os.Stat(r.image.Path); st != nil {
		detail = append(detail, fmt.Sprintf("%d MiB", st.Size()>>20))
	}
	if r.image.BenchTool != "" {
		detail = append(detail, r.image.BenchTool)
	}
	return strings.Join(detail, ", "), nil
}

// finish sets the final status and writes the results and renderings.
func (r *runner) finish(ctx context.Context, err error) {
	run := r.run
	run.Finished = time.Now().UTC()
	var se *StageError
	switch {
	case ctx.Err() != nil || errors.Is(err, context.Canceled):
		run.Status = results.StatusInterrupted
		// The cause names the signal ("interrupted by SIGHUP") when the
		// CLI's signal policy cancelled the run.
		why := "interrupted"
		if c := context.Cause(ctx); c != nil && !errors.Is(c, context.Canceled) {
			why = c.Error()
		}
		run.Error = &results.StageFailure{Message: why}
		if errors.As(err, &se) {
			run.Error.Stage, run.Error.Variant = se.Stage, se.Variant
		}
	case errors.As(err, &se):
		// The kernel's fault fails the run like a failed test; the
		// host's, or one ktest cannot tell, is an error of the run.
		run.Status = results.StatusError
		fault := FaultOf(se.Err)
		if fault == results.FaultKernel {
			run.Status = results.StatusFail
		}
		run.Error = &results.StageFailure{Stage: se.Stage, Variant: se.Variant, Message: se.Err.Error(), Fault: fault}
	case err != nil:
		run.Status = results.StatusFail
	default:
		run.Conclude(r.checkpatchFatal())
	}
	if err := report.WriteRunDir(r.cfg.OutDir, run, report.Renderer{From: r.cfg.Identity}); err != nil {
		r.logf("warning: %v", err)
	}
}

// checkpatchFatal reports checkpatch errors the plan makes fatal.
func (r *runner) checkpatchFatal() bool {
	return r.cfg.Plan.CheckpatchFatal && r.run.Series != nil && len(r.run.Series.CheckpatchErrors()) > 0
}
