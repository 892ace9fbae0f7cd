package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ktest-dev/ktest/era"
	"github.com/ktest-dev/ktest/initramfs"
	"github.com/ktest-dev/ktest/kbuild"
	"github.com/ktest-dev/ktest/kconfig"
	"github.com/ktest-dev/ktest/patches"
	"github.com/ktest-dev/ktest/pipeline"
	"github.com/ktest-dev/ktest/plan"
	"github.com/ktest-dev/ktest/results"
	"github.com/ktest-dev/ktest/series"
	"github.com/ktest-dev/ktest/vm"
)

func init() {
	register(&command{
		name: "run",
		summary: `Run a plan end to end: apply, build, boot, test and report.
The stages: apply, config, build (variants incremental), initramfs, boot,
tests, collect. With no arguments, the embedded default plan: Debian's
Linux 6.1 with the project's baseline patch (FMODE_BUF_RASYNC removed, so
io_uring punts buffered reads to io-wq) against stock 6.1, which contains the
async buffered reads series. With --tree T alone the same A/B runs on T,
with the baseline of T's era (FOP_BUFFER_RASYNC removed on 6.12 and later,
e.g. --tree debian:6.12). --tree T --series S tests any series: baseline
= T, patched = T + S; without --tree, inside a kernel checkout, T is that
checkout. Of a patch posted in several versions the newest is applied
(--use-version N: vN); a series with missing patches is refused unless
--allow-missing. --per-patch names the first bad patch of the series;
--aa checks ktest's statistics on one kernel against itself; --shard,
--build-only and --kernels split a run across CI jobs ('ktest merge').`,
		usage: "[--plan FILE] [--tree DIR] [--series S] [--quick] [--per-patch [--first-bad|--bisect]] [--aa] [--shard K/N] [--out DIR] [--history DIR]",
		examples: []string{
			"ktest run                                  # the default A/B on Linux 6.1",
			"ktest run --quick --tree debian:6.12       # the same A/B on Debian's 6.12",
			"ktest run --quick --tree ~/src/linux --series thread.mbox",
			"ktest run --quick --series ../thread.mbox  # in a kernel checkout:",
			"                                 # baseline = it, patched = it + series",
			"ktest run --tree ~/src/linux --series thread.mbox --per-patch",
			"                                           # which patch breaks it?",
			"ktest run --history /var/lib/ktest/nightly # nightly: exit 1 on a regression",
		},
		run: runRun,
	})
}

func runRun(ctx context.Context, args []string) error {
	c := commands["run"]
	fs := newFlagSet(c)
	planFile := fs.String("plan", "", "plan `FILE` (TOML); default: the embedded plan (see --print-plan)")
	printPlan := fs.Bool("print-plan", false, "print the embedded default plan and exit")
	tree := fs.String("tree", "", "kernel tree `DIR` (git or plain), or debian:X for Debian's linux-source-X (installed and extracted once), overriding the plan's")
	seriesSrc := fs.String("series", "", "`SERIES` to test (mbox, thread dump, directory, diff, or embedded:DIR): baseline = tree, patched = tree + series")
	quick := fs.Bool("quick", false, "CI mode: a small file, one boot and one repeat (figures, but too few samples to call changes)")
	shard := fs.String("shard", "", "run shard `K/N` of the plan: its targets split in N groups, both variants on this machine (CI)")
	buildOnly := fs.Bool("build-only", false, "build the variants' kernels and stop (a CI build job; see --export-kernels)")
	exportKernels := fs.String("export-kernels", "", "copy every variant's kernel into `DIR`/<variant> for other jobs' --kernels")
	importKernels := fs.String("kernels", "", "take the kernels from `DIR` (written by --export-kernels), refusing one not built from what this run asks for")
	baseImage := fs.String("initramfs", "", "boot the guest image in `CPIO` (from 'ktest initramfs -o') instead of building one: a CI test job needs no Go")
	out := fs.String("out", "", "run `DIR` (default ./ktest-runs/<run-id>)")
	history := fs.String("history", "", "nightly mode: keep runs in `DIR`, compare with the last good run, exit 1 on a regression")
	accel := fs.String("accel", "", "accelerator `MODE`: auto, kvm or tcg (default: the plan's)")
	withFixups := fs.Bool("with-fixups", false, "also apply the fixup diffs carried by review replies")
	useVersion := useVersionFlag(fs)
	allowMissing := fs.Bool("allow-missing", false, "test the series even when some of its patches (N/M) are missing")
	targets := fs.String("targets", "", "comma-separated `LIST` of targets ("+strings.Join(plan.KnownTargets(), ",")+"), overriding the plan's")
	boots := fs.Int("boots", 0, "benchmark boots per variant, interleaved with the other variants', overriding the plan's; adaptive boots may add more, up to the plan's max_boots (raised to N if lower)")
	repeats := fs.Int("repeats", 0, "fio runs per engine and boot, overriding the plan's")
	aa := fs.Bool("aa", false, "A/A run: test the plan's last variant against itself, to check that ktest calls no change")
	perPatch := fs.Bool("per-patch", false, "test the series one patch more at a time (build, boot, correctness on each) and name the first bad patch, instead of the A/B benchmark")
	firstBad := fs.Bool("first-bad", false, "with --per-patch: stop at the first bad patch")
	bisect := fs.Bool("bisect", false, "with --per-patch: binary search over the patches instead of testing every one")
	size := fs.String("size", "", "benchmark file `SIZE`, overriding the plan's (e.g. 64M)")
	cacheDir := fs.String("cache", "", "the cache `DIR` (default $KTEST_CACHE, $XDG_CACHE_HOME/ktest or ~/.cache/ktest)")
	jobs := fs.Int("j", 0, "make jobs (default: number of CPUs)")
	verbose := fs.Bool("verbose", false, "print each QEMU command, quoted for pasting")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if *printPlan {
		_, err := resultsStdout.Write(plan.DefaultText())
		return err
	}

	p := plan.Default()
	if *planFile != "" {
		var err error
		if p, err = plan.Load(*planFile); err != nil {
			return badInput(err)
		}
	}
	if *seriesSrc != "" {
		if err := checkEmbedded(*seriesSrc); err != nil {
			return err
		}
		if _, embedded, _ := patches.Lookup(*seriesSrc); !embedded {
			// Read it now, so a damaged series, an ambiguous or unknown
			// version or a missing patch is bad input (exit 2) before
			// anything is built.
			s, err := series.Options{Version: *useVersion}.Load(*seriesSrc)
			if err == nil && !*allowMissing {
				err = s.Complete()
			}
			if err != nil {
				return badInput(err)
			}
		}
	}
	if *tree == "" && p.Tree == "" {
		switch tc, ok, _ := checkoutTree(""); {
		case ok && *seriesSrc != "":
			// As git am and b4 shazam: the checkout the user is in. The
			// command to reproduce the run names it.
			*tree = tc.Dir
			args = append(args, "--tree", tc.Dir)
			fmt.Fprintf(os.Stderr, "ktest: tree: %s, %s (--tree DIR for another)\n", tc.Dir, tc.How)
		case ok:
			fmt.Fprintf(os.Stderr, "ktest: note: the plan runs on its own tree, not on %s, %s: --series S tests a series on it\n", tc.Dir, tc.How)
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
		p.SetBoots(*boots)
	}
	if *aa {
		p.AA()
	}
	if *firstBad && *bisect {
		return usageErrorf("--first-bad and --bisect are two ways to stop early: choose one")
	}
	if (*firstBad || *bisect) && !*perPatch && p.PerPatch == nil {
		return usageErrorf("--first-bad and --bisect tune --per-patch")
	}
	if *perPatch || *firstBad || *bisect {
		mode := plan.PerPatchEvery
		switch {
		case *firstBad:
			mode = plan.PerPatchFirstBad
		case *bisect:
			mode = plan.PerPatchBisect
		}
		if p.PerPatch == nil {
			p.PerPatch = plan.NewPerPatch(mode)
		} else {
			p.PerPatch.Mode = mode
		}
	}
	if *size != "" {
		if _, err := plan.ParseSize(*size); err != nil {
			return usageErrorf("--size: %v", err)
		}
		p.FileSize = *size
	}
	for _, t := range p.Targets {
		if !contains(plan.KnownTargets(), t) {
			return usageErrorf("unknown target %q (known: %s)", t, strings.Join(plan.KnownTargets(), ", "))
		}
	}
	var shardRecord *results.Shard
	if *shard != "" {
		k, n, err := parseShard(*shard)
		if err == nil {
			all := p.Targets
			if err = p.Shard(k, n); err == nil {
				shardRecord = &results.Shard{K: k, N: n, PlanTargets: all}
			}
		}
		if err != nil {
			return usageErrorf("--shard: %v", err)
		}
	}
	if *exportKernels != "" {
		if _, err := os.Stat(*exportKernels); err == nil {
			return usageErrorf("--export-kernels %s: it exists; give a new directory", *exportKernels)
		}
		if err := os.MkdirAll(*exportKernels, 0o755); err != nil {
			return infraFailure(err)
		}
	}
	if *importKernels != "" {
		if _, err := os.Stat(*importKernels); err != nil {
			return usageErrorf("--kernels: %v", err)
		}
	}
	if *baseImage != "" {
		if err := initramfs.CheckBase(*baseImage); err != nil {
			return usageErrorf("--initramfs: %v", err)
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
		// Keying the tree now also warms its index for the pipeline,
		// and a tree the default A/B cannot run on (one that predates
		// the series) is refused in one line before a run starts.
		t, err := kbuild.OpenSpec(ctx, cache, *tree, os.Stderr)
		if err != nil {
			if kbuild.IsBadSpec(err) {
				return badInput(err)
			}
			return infraFailure(err)
		}
		if p.UsesEra() {
			if _, err := era.OfTree(t.Dir, t.Version); err != nil {
				if era.IsRefusal(err) {
					return badInput(err)
				}
				return infraFailure(err)
			}
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
		WithFixups: *withFixups, Series: series.Options{Version: *useVersion}, AllowMissing: *allowMissing, Jobs: *jobs, Log: os.Stderr, Verbose: *verbose,
		BuildOnly: *buildOnly, ExportKernels: *exportKernels, ImportKernels: *importKernels, Shard: shardRecord}
	if *baseImage != "" {
		cfg.Parts.GuestImage = func(ctx context.Context, o initramfs.Options) (*vm.Image, error) {
			return initramfs.WithKeys(*baseImage, o.OutDir)
		}
	}
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
			_, _ = resultsStdout.Write(summary) // best effort, as say is: the results are on disk
		}
	}
	if err != nil && (!isTestFailure(run) || run.Error != nil) {
		// The run stopped at a stage: its error says why, and whose
		// fault it was sets the exit code.
		err = pipelineError(ctx, err)
		if *history != "" && run != nil && ctx.Err() == nil {
			// Nightly mode keeps the run, and its comparison.md says
			// that there is no verdict and why.
			_, nerr := nightly(ctx, hist, run, dir, nil)
			err = errors.Join(err, nerr)
		}
		return err
	}
	if *history != "" && run != nil {
		rerun := func(only []results.TestID) (*results.Run, error) {
			fmt.Fprintf(os.Stderr, "ktest: re-running %d newly failing test(s) once: %s\n", len(only), joinIDs(only))
			rcfg := cfg
			rcfg.OutDir = filepath.Join(dir, "rerun")
			rcfg.Only = only
			return pipeline.Run(ctx, rcfg)
		}
		compared, err := nightly(ctx, hist, run, dir, rerun)
		if err != nil || compared {
			return errors.Join(err, targetErrors(run))
		}
	}
	return runExit(run)
}

// targetErrors fails a run in which a target could not be set up: the
// harness did not test what the plan asked for (exit 3).
func targetErrors(run *results.Run) error {
	if errs := run.TargetErrors(); len(errs) > 0 {
		return infraFailure(fmt.Errorf("run %s: %d target(s) could not be set up: %s", run.ID, len(errs), strings.ReplaceAll(joinIDs(errs), ", ", "; ")))
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
// input (a damaged series, missing patches, an unsafe path) 2, the
// kernel's fault (it crashed, froze, did not boot, did not compile) 1,
// any other stage 3.
func pipelineError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return err
	}
	var pe *plan.Error
	if series.IsBadInput(err) || errors.As(err, &pe) {
		return badInput(err)
	}
	if isBadPatchInput(err) || era.IsRefusal(err) || kbuild.IsBadSpec(err) {
		return badInput(err)
	}
	return faultExit(err)
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

// parseShard reads "K/N".
func parseShard(s string) (k, n int, err error) {
	ks, ns, ok := strings.Cut(s, "/")
	if ok {
		k, err = strconv.Atoi(ks)
		if err == nil {
			n, err = strconv.Atoi(ns)
		}
	}
	if !ok || err != nil {
		return 0, 0, fmt.Errorf("%q: want K/N, e.g. 1/2", s)
	}
	return k, n, nil
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
		if name == "out" || name == "history" || name == "cache" || name == "kernels" || name == "export-kernels" || name == "initramfs" {
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
