package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ktest-dev/ktest/internal/atomicfile"

	"github.com/ktest-dev/ktest/kbuild"
	"github.com/ktest-dev/ktest/kconfig"
	"github.com/ktest-dev/ktest/pipeline"
	"github.com/ktest-dev/ktest/plan"
	"github.com/ktest-dev/ktest/results"
	"github.com/ktest-dev/ktest/series"
	"github.com/ktest-dev/ktest/vm"
)

func init() {
	register(&command{
		name: "run",
		summary: `Run a plan end to end: apply, config, build (variants incremental), initramfs,
boot, tests, collect. With no arguments, the embedded default plan: Debian's
Linux 6.1 with the project's baseline patch (FMODE_BUF_RASYNC removed, so
io_uring punts buffered reads to io-wq) against stock 6.1, which contains the
async buffered reads series. --tree T --series S tests any series: baseline
= T, patched = T + S.`,
		usage: "[--plan FILE] [--tree DIR] [--series S] [--quick] [--out DIR] [--history DIR]",
		run:   runRun,
	})
}

func runRun(ctx context.Context, args []string) error {
	c := commands["run"]
	fs := newFlagSet(c)
	planFile := fs.String("plan", "", "plan file (TOML); default: the embedded plan (see --print-plan)")
	printPlan := fs.Bool("print-plan", false, "print the embedded default plan and exit")
	tree := fs.String("tree", "", "kernel tree, overriding the plan's")
	seriesSrc := fs.String("series", "", "series to test (mbox, thread dump, directory, diff, or embedded:DIR): baseline = tree, patched = tree + series")
	quick := fs.Bool("quick", false, "CI mode: a small file and one repeat")
	out := fs.String("out", "", "run directory (default ./ktest-runs/<run-id>)")
	history := fs.String("history", "", "nightly mode: keep runs in DIR, compare with the last good run, exit 1 on a regression")
	accel := fs.String("accel", "", "auto, kvm or tcg (default: the plan's)")
	withFixups := fs.Bool("with-fixups", false, "also apply the fixup diffs carried by review replies")
	targets := fs.String("targets", "", "comma-separated targets, overriding the plan's (ext4,xfs,btrfs,raw)")
	boots := fs.Int("boots", 0, "benchmark boots per variant, interleaved with the other variants', overriding the plan's")
	repeats := fs.Int("repeats", 0, "fio runs per engine and boot, overriding the plan's")
	aa := fs.Bool("aa", false, "A/A run: test the plan's last variant against itself, to check that ktest calls no change")
	size := fs.String("size", "", "benchmark file size, overriding the plan's (e.g. 64M)")
	cacheDir := fs.String("cache", "", "cache directory (default $KTEST_CACHE, $XDG_CACHE_HOME/ktest or ~/.cache/ktest)")
	jobs := fs.Int("j", 0, "make jobs (default: number of CPUs)")
	verbose := fs.Bool("verbose", false, "print each QEMU command, quoted for pasting")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if *printPlan {
		os.Stdout.Write(plan.DefaultText())
		return nil
	}

	p := plan.Default()
	if *planFile != "" {
		var err error
		if p, err = plan.Load(*planFile); err != nil {
			return badInput(err)
		}
	}
	if *seriesSrc != "" {
		if !strings.HasPrefix(*seriesSrc, "embedded:") {
			// Read it now, so a damaged series is bad input (exit 2)
			// before anything is built.
			if _, err := series.Load(*seriesSrc); err != nil {
				return badInput(err)
			}
		}
	}
	p.Retarget(*tree, *seriesSrc)
	if *quick {
		p.Quick()
	}
	if *accel != "" {
		if _, err := vm.ParseAccel(*accel); err != nil {
			return usageErrorf("--accel: %v", err)
		}
		p.Accel = *accel
	}
	if *targets != "" {
		p.Targets = strings.Split(*targets, ",")
	}
	if *repeats > 0 {
		p.Repeats = *repeats
	}
	if *boots > 0 {
		p.Boots = *boots
	}
	if *aa {
		p.AA()
	}
	if *size != "" {
		if _, err := plan.ParseSize(*size); err != nil {
			return usageErrorf("--size: %v", err)
		}
		p.FileSize = *size
	}
	for _, t := range p.Targets {
		if !contains(plan.KnownTargets, t) {
			return usageErrorf("unknown target %q (known: %s)", t, strings.Join(plan.KnownTargets, ", "))
		}
	}
	if err := p.Validate(); err != nil {
		return usageErrorf("the plan with the command line's overrides: %v", err)
	}
	if _, err := kconfig.Resolve(p.Fragments); err != nil {
		return badInput(err)
	}
	cache, err := kbuild.OpenCache(*cacheDir)
	if err != nil {
		return infraFailure(err)
	}
	if *tree != "" {
		// Keying the tree now also warms its index for the pipeline.
		if _, err := kbuild.OpenTree(ctx, cache, *tree); err != nil {
			var nt *kbuild.NotATreeError
			if errors.As(err, &nt) {
				return badInput(err)
			}
			return infraFailure(err)
		}
	}

	id := newRunID()
	dir := *out
	if dir == "" {
		dir = filepath.Join("ktest-runs", id)
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return infraFailure(err)
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		return usageErrorf("run directory: %v (it must not exist yet)", err)
	}
	cfg := pipeline.Config{Plan: p, Cache: cache, OutDir: dir, Command: reproduceCommand(args),
		WithFixups: *withFixups, Jobs: *jobs, Log: os.Stderr, Verbose: *verbose}
	// The renderings' Tested-by: git's identity, or a line saying there
	// is none.
	if cfg.Identity, err = identity(ctx, ""); err != nil {
		fmt.Fprintf(os.Stderr, "ktest: warning: %v; the reports carry no Tested-by\n", err)
	}

	hist := results.History{Dir: *history}
	if *history != "" {
		if err := os.MkdirAll(*history, 0o755); err != nil {
			return infraFailure(err)
		}
	}

	start := time.Now()
	run, err := pipeline.Run(ctx, cfg)
	fmt.Fprintf(os.Stderr, "ktest: run %s finished in %s: %s\n", dir, time.Since(start).Round(time.Second), runStatus(run))
	if run != nil {
		fmt.Fprintf(os.Stderr, "ktest: results %s, summary %s\n", filepath.Join(dir, "results.json"), filepath.Join(dir, "summary.md"))
		if summary, rerr := os.ReadFile(filepath.Join(dir, "summary.md")); rerr == nil {
			os.Stdout.Write(summary)
		}
	}
	if err != nil && !isTestFailure(run) {
		return pipelineError(ctx, err)
	}
	if *history != "" && run != nil {
		// The last good run made like this one: same targets, sizes
		// and boots. Unlike runs are never compared.
		last, lerr := hist.LastLike(run)
		if _, herr := hist.Add(run); herr != nil {
			return infraFailure(fmt.Errorf("adding the run to %s: %w", *history, herr))
		}
		if last != nil {
			if err := nightlyVerdict(ctx, cfg, last, run, dir); err != nil {
				return err
			}
			return targetErrors(run)
		}
		if !errors.Is(lerr, results.ErrNoGoodRun) {
			return infraFailure(lerr)
		}
		fmt.Fprintf(os.Stderr, "ktest: nothing to compare with: %v\n", lerr)
	}
	if failed := run.Failed(); len(failed) > 0 || run.Status == results.StatusFail {
		var problems []string
		for _, id := range failed {
			problems = append(problems, id.String())
		}
		problems = append(problems, crashTitles(run)...)
		return testsFailed(fmt.Errorf("run %s failed: %s", run.ID, strings.Join(problems, ", ")))
	}
	return targetErrors(run)
}

// targetErrors fails a run in which a target could not be set up: the
// harness did not test what the plan asked for (exit 3).
func targetErrors(run *results.Run) error {
	if errs := run.TargetErrors(); len(errs) > 0 {
		return infraFailure(fmt.Errorf("run %s: %d target(s) could not be set up: %s", run.ID, len(errs), strings.ReplaceAll(joinIDs(errs), ", ", "; ")))
	}
	return nil
}

// nightlyVerdict compares the run with the last good one. A test that
// newly fails is re-run once and counts only if it fails again; a metric
// counts when it moved beyond noise.
func nightlyVerdict(ctx context.Context, cfg pipeline.Config, last, run *results.Run, dir string) error {
	cmp := results.Compare(last, run)
	err := cmp.ConfirmFailures(func(only []results.TestID) (*results.Run, error) {
		fmt.Fprintf(os.Stderr, "ktest: re-running %d newly failing test(s) once: %s\n", len(only), joinIDs(only))
		rcfg := cfg
		rcfg.OutDir = filepath.Join(dir, "rerun")
		rcfg.Only = only
		return pipeline.Run(ctx, rcfg)
	})
	if err != nil && ctx.Err() != nil {
		return pipelineError(ctx, err)
	}
	for _, f := range cmp.Flaky {
		fmt.Fprintf(os.Stderr, "ktest: %s passed on re-run: flaky, not counted\n", f)
	}
	var b strings.Builder
	if err := cmp.Render(&b, "md"); err == nil {
		atomicfile.WriteFile(filepath.Join(dir, "comparison.md"), []byte(b.String()), 0o644)
		os.Stdout.WriteString("\n" + b.String())
	}
	if cmp.Failed() {
		return testsFailed(fmt.Errorf("regression against run %s: %s", last.ID, strings.Join(cmp.Problems(), "; ")))
	}
	return nil
}

func joinIDs[T fmt.Stringer](ids []T) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = id.String()
	}
	return strings.Join(s, ", ")
}

func isTestFailure(run *results.Run) bool {
	return run != nil && run.Status == results.StatusFail
}

// pipelineError maps a failed run to its exit code: interrupted 130, bad
// input (a damaged series, an unsafe path) 2, any other stage 3.
func pipelineError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return err
	}
	var damage *series.DamageError
	var pe *plan.Error
	if errors.As(err, &damage) || errors.As(err, &pe) {
		return badInput(err)
	}
	if isBadPatchInput(err) {
		return badInput(err)
	}
	return infraFailure(err)
}

func runStatus(run *results.Run) string {
	if run == nil {
		return "no results"
	}
	if run.Error != nil {
		return fmt.Sprintf("%s (stage %s)", run.Status, run.Error.Stage)
	}
	return string(run.Status)
}

func crashTitles(run *results.Run) []string {
	var out []string
	for _, v := range run.Variants {
		for _, c := range v.Crashes {
			out = append(out, fmt.Sprintf("%s crash in %s: %s", v.Name, c.During, c.Title))
		}
	}
	return out
}

func newRunID() string {
	var b [3]byte
	rand.Read(b[:])
	return time.Now().UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b[:])
}

// reproduceCommand is the command line that reproduces a run, minus
// flags that only say where to write.
func reproduceCommand(args []string) string {
	words := []string{"ktest", "run"}
	skip := false
	for _, a := range args {
		if skip {
			skip = false
			continue
		}
		name := strings.TrimLeft(a, "-")
		if k, _, ok := strings.Cut(name, "="); ok {
			name = k
		}
		if name == "out" || name == "history" || name == "cache" {
			skip = !strings.Contains(a, "=")
			continue
		}
		words = append(words, a)
	}
	return vm.ShellQuote(words...)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
