package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ktest-dev/ktest/initramfs"
	"github.com/ktest-dev/ktest/kbuild"
	"github.com/ktest-dev/ktest/pipeline"
	"github.com/ktest-dev/ktest/plan"
	"github.com/ktest-dev/ktest/results"
	"github.com/ktest-dev/ktest/series"
	"github.com/ktest-dev/ktest/vm"
)

func runCommand() *command {
	return &command{
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
	}
}

// runFlags are `ktest run`'s flags: the plan's overrides, and where and
// how the run is made.
type runFlags struct {
	over                     plan.Overrides
	planFile, targets        string
	printPlan, buildOnly     bool
	exportKernels, kernels   string
	baseImage, out, history  string
	withFixups, allowMissing bool
	useVersion, jobs         *int
	cacheDir                 string
	verbose                  bool
}

func parseRunFlags(stdout io.Writer, args []string) (*runFlags, error) {
	c := commands["run"]
	fs := newFlagSet(c, stdout)
	f := &runFlags{}
	o := &f.over
	fs.StringVar(&f.planFile, "plan", "", "plan `FILE` (TOML); default: the embedded plan (see --print-plan)")
	fs.BoolVar(&f.printPlan, "print-plan", false, "print the embedded default plan and exit")
	fs.StringVar(&o.Tree, "tree", "", "kernel tree `DIR` (git or plain), or debian:X for Debian's linux-source-X (installed and extracted once), overriding the plan's")
	fs.StringVar(&o.Series, "series", "", "`SERIES` to test (mbox, thread dump, directory, diff, or embedded:DIR): baseline = tree, patched = tree + series")
	fs.BoolVar(&o.Quick, "quick", false, "CI mode: a small file, one boot and one repeat (figures, but too few samples to call changes)")
	fs.StringVar(&o.Shard, "shard", "", "run shard `K/N` of the plan: its targets split in N groups, both variants on this machine (CI)")
	fs.BoolVar(&f.buildOnly, "build-only", false, "build the variants' kernels and stop (a CI build job; see --export-kernels)")
	fs.StringVar(&f.exportKernels, "export-kernels", "", "copy every variant's kernel into `DIR`/<variant> for other jobs' --kernels")
	fs.StringVar(&f.kernels, "kernels", "", "take the kernels from `DIR` (written by --export-kernels), refusing one not built from what this run asks for")
	fs.StringVar(&f.baseImage, "initramfs", "", "boot the guest image in `CPIO` (from 'ktest initramfs -o') instead of building one: a CI test job needs no Go")
	fs.StringVar(&f.out, "out", "", "run `DIR` (default ./ktest-runs/<run-id>)")
	fs.StringVar(&f.history, "history", "", "nightly mode: keep runs in `DIR`, compare with the last good run, exit 1 on a regression")
	fs.StringVar(&o.Accel, "accel", "", "accelerator `MODE`: auto, kvm or tcg (default: the plan's)")
	fs.StringVar(&o.Clock, "clock", "", "what the guest's clock counts, `C`: auto (instructions under TCG), host or instructions (default: the plan's)")
	fs.BoolVar(&f.withFixups, "with-fixups", false, "also apply the fixup diffs carried by review replies")
	f.useVersion = useVersionFlag(fs)
	fs.BoolVar(&f.allowMissing, "allow-missing", false, "test the series even when some of its patches (N/M) are missing")
	fs.StringVar(&f.targets, "targets", "", "comma-separated `LIST` of targets ("+strings.Join(plan.KnownTargets(), ",")+"), overriding the plan's")
	fs.IntVar(&o.Boots, "boots", 0, "benchmark boots per variant, interleaved with the other variants', overriding the plan's; adaptive boots may add more, up to the plan's max_boots (raised to N if lower)")
	fs.IntVar(&o.Repeats, "repeats", 0, "fio runs per engine and boot, overriding the plan's")
	fs.BoolVar(&o.AA, "aa", false, "A/A run: test the plan's last variant against itself, to check that ktest calls no change")
	fs.BoolVar(&o.PerPatch, "per-patch", false, "test the series one patch more at a time (build, boot, correctness on each) and name the first bad patch, instead of the A/B benchmark")
	fs.BoolVar(&o.FirstBad, "first-bad", false, "with --per-patch: stop at the first bad patch")
	fs.BoolVar(&o.Bisect, "bisect", false, "with --per-patch: binary search over the patches instead of testing every one")
	fs.StringVar(&o.Size, "size", "", "benchmark file `SIZE`, overriding the plan's (e.g. 64M)")
	fs.StringVar(&f.cacheDir, "cache", "", "the cache `DIR` (default $KTEST_CACHE, $XDG_CACHE_HOME/ktest or ~/.cache/ktest)")
	f.jobs = fs.Int("j", 0, "make jobs (default: number of CPUs)")
	fs.BoolVar(&f.verbose, "verbose", false, "print each QEMU command, quoted for pasting")
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, usageErrorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if f.targets != "" {
		o.Targets = strings.Split(f.targets, ",")
	}
	return f, nil
}

func runRun(ctx context.Context, e env, args []string) error {
	f, err := parseRunFlags(e.Stdout, args)
	if err != nil {
		return err
	}
	if f.printPlan {
		_, err := e.Stdout.Write(plan.DefaultText())
		return err
	}
	p, args, err := f.plan(e, args)
	if err != nil {
		return err
	}
	if err := f.checkKernelDirs(); err != nil {
		return err
	}
	cfg, err := f.config(ctx, e, p, args)
	if err != nil {
		return err
	}
	return runAndJudge(ctx, e, cfg, f.history)
}

// plan is the plan the run carries out: the plan file or the default,
// retargeted to the tree and series asked for, with the command line's
// overrides, validated; args gain the tree chosen for the user.
func (f *runFlags) plan(e env, args []string) (*plan.Plan, []string, error) {
	p := plan.Default()
	if f.planFile != "" {
		var err error
		if p, err = plan.Load(f.planFile); err != nil {
			return nil, nil, err
		}
	}
	if err := f.checkSeries(); err != nil {
		return nil, nil, err
	}
	if f.over.Tree == "" && p.Tree == "" {
		switch tc, ok, _ := checkoutTree(""); {
		case ok && f.over.Series != "":
			// As git am and b4 shazam: the checkout the user is in. The
			// command to reproduce the run names it.
			f.over.Tree = tc.Dir
			args = append(args, "--tree", tc.Dir)
			say(e.Stderr, "ktest: tree: %s, %s (--tree DIR for another)\n", tc.Dir, tc.How)
		case ok:
			say(e.Stderr, "ktest: note: the plan runs on its own tree, not on %s, %s: --series S tests a series on it\n", tc.Dir, tc.How)
		}
	}
	if err := f.over.Apply(p); err != nil {
		return nil, nil, err
	}
	return p, args, nil
}

// checkSeries reads --series now, so a damaged series, an ambiguous or
// unknown version or a missing patch is bad input (exit 2) before
// anything is built.
func (f *runFlags) checkSeries() error {
	src := f.over.Series
	if src == "" {
		return nil
	}
	if err := checkEmbedded(src); err != nil || strings.HasPrefix(src, "embedded:") {
		return err
	}
	s, err := series.Options{Version: *f.useVersion}.Load(src)
	if err == nil && !f.allowMissing {
		err = s.Complete()
	}
	return badInput(err)
}

// checkKernelDirs checks the directories --export-kernels, --kernels
// and --initramfs name, and makes the first.
func (f *runFlags) checkKernelDirs() error {
	if f.exportKernels != "" {
		if _, err := os.Stat(f.exportKernels); err == nil {
			return usageErrorf("--export-kernels %s: it exists; give a new directory", f.exportKernels)
		}
		if err := os.MkdirAll(f.exportKernels, 0o755); err != nil {
			return err
		}
	}
	if f.kernels != "" {
		if _, err := os.Stat(f.kernels); err != nil {
			return usageErrorf("--kernels: %v", err)
		}
	}
	if f.baseImage != "" {
		if err := initramfs.CheckBase(f.baseImage); err != nil {
			return usageErrorf("--initramfs: %v", err)
		}
	}
	return nil
}

// config is the run's configuration, checked (pipeline.Check) before
// the run directory is made.
func (f *runFlags) config(ctx context.Context, e env, p *plan.Plan, args []string) (pipeline.Config, error) {
	cache, err := kbuild.OpenCache(f.cacheDir)
	if err != nil {
		return pipeline.Config{}, err
	}
	cfg := pipeline.Config{Plan: p, Cache: cache, Command: reproduceCommand(args),
		WithFixups: f.withFixups, Series: series.Options{Version: *f.useVersion}, AllowMissing: f.allowMissing, Jobs: *f.jobs, Log: e.Stderr, Verbose: f.verbose,
		BuildOnly: f.buildOnly, ExportKernels: f.exportKernels, ImportKernels: f.kernels}
	if err := pipeline.Check(ctx, cfg); err != nil {
		return pipeline.Config{}, err
	}
	if cfg.OutDir, err = makeRunDir(f.out); err != nil {
		return pipeline.Config{}, err
	}
	if sh := p.Sharding; sh != nil {
		cfg.Shard = &results.Shard{K: sh.K, N: sh.N, PlanTargets: sh.PlanTargets}
	}
	if image := f.baseImage; image != "" {
		cfg.Parts.GuestImage = func(ctx context.Context, o initramfs.Options) (*vm.Image, error) {
			return initramfs.WithKeys(image, o.OutDir)
		}
	}
	// The renderings' Tested-by: git's identity, or a line saying there
	// is none.
	if cfg.Identity, err = identity(ctx, ""); err != nil {
		say(e.Stderr, "ktest: warning: %v; the reports carry no Tested-by\n", err)
	}
	return cfg, nil
}

// makeRunDir makes the run directory, dir or ./ktest-runs/<run-id>,
// which must not exist yet.
func makeRunDir(dir string) (string, error) {
	if dir == "" {
		dir = filepath.Join("ktest-runs", newRunID())
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", err
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		return "", usageErrorf("run directory: %v (it must not exist yet)", err)
	}
	return dir, nil
}

// runAndJudge runs the pipeline, prints the summary, and ends as the
// run's verdict, or, in nightly mode, its comparison with history, says.
func runAndJudge(ctx context.Context, e env, cfg pipeline.Config, history string) error {
	dir := cfg.OutDir
	if history != "" {
		if err := os.MkdirAll(history, 0o755); err != nil {
			return err
		}
	}

	start := time.Now()
	run, err := pipeline.Run(ctx, cfg)
	say(e.Stderr, "ktest: run %s finished in %s: %s\n", dir, time.Since(start).Round(time.Second), runStatus(run))
	if run != nil {
		say(e.Stderr, "ktest: results %s, summary %s\n", filepath.Join(dir, "results.json"), filepath.Join(dir, "summary.md"))
		if summary, rerr := os.ReadFile(filepath.Join(dir, "summary.md")); rerr == nil {
			_, _ = e.Stdout.Write(summary) // best effort, as say is: the results are on disk
		}
	}
	if err != nil && (!isTestFailure(run) || run.Error != nil) {
		// The run stopped at a stage: its error says why, and whose
		// fault it was sets the exit code (failureCode).
		if history != "" && run != nil && ctx.Err() == nil {
			// Nightly mode keeps the run, and its comparison.md says
			// that there is no verdict and why.
			_, nerr := nightly(ctx, e, history, run, dir, nil)
			err = errors.Join(err, nerr)
		}
		return err
	}
	if history != "" && run != nil {
		compared, err := nightly(ctx, e, history, run, dir, &cfg)
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
		if name == "out" || name == "history" || name == "cache" || name == "kernels" || name == "export-kernels" || name == "initramfs" {
			skip = !strings.Contains(a, "=")
			continue
		}
		words = append(words, a)
	}
	return vm.ShellQuote(words...)
}
