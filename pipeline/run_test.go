package pipeline

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ktest-dev/ktest/apply"
	"github.com/ktest-dev/ktest/kbuild"
	"github.com/ktest-dev/ktest/plan"
	"github.com/ktest-dev/ktest/results"
)

// fakeRun runs a two-variant, two-target plan on a miniature tree
// against the fakes; patched applies a one-line series.
func fakeRun(t *testing.T, w *fakeWorld, ctx context.Context, edits ...func(*plan.Plan)) (*results.Run, string, error) {
	t.Helper()
	tree := miniTree(t)
	patch := filepath.Join(t.TempDir(), "read.patch")
	if err := os.WriteFile(patch, []byte(miniPatch), 0o644); err != nil {
		t.Fatal(err)
	}
	p := plan.Default()
	p.Retarget(tree, patch)
	p.Targets = []string{"ext4", "xfs"}
	p.Quick()
	for _, e := range edits {
		e(p)
	}
	cache, err := kbuild.OpenCache(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "run")
	run, err := Run(ctx, Config{Plan: p, Cache: cache, OutDir: out, Command: "ktest run (fake)", Parts: w.parts()})
	return run, out, err
}

func stageNames(r *results.Run) []string {
	var out []string
	for _, s := range r.Stages {
		name := s.Name
		if s.Variant != "" {
			name += "[" + s.Variant + "]"
		}
		out = append(out, name+":"+string(s.Status))
	}
	return out
}

func TestRunRecordsEveryStage(t *testing.T) {
	w := &fakeWorld{targets: map[string]behaviour{}}
	run, out, err := fakeRun(t, w, context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != results.StatusPass || !run.Complete {
		t.Errorf("status %s complete %v", run.Status, run.Complete)
	}
	want := []string{"tree:ok", "series:ok", "checkpatch:ok", "apply[baseline]:ok", "build[baseline]:ok", "apply[patched]:ok", "build[patched]:ok",
		"accel:ok", "initramfs:ok", "boot[baseline]:ok", "test[baseline/ext4]:ok", "test[baseline/xfs]:ok",
		"boot[patched]:ok", "test[patched/ext4]:ok", "test[patched/xfs]:ok"}
	if got := stageNames(run); !slices.Equal(got, want) {
		t.Errorf("stages\n got %v\nwant %v", got, want)
	}
	// The series' apply outcome, the kernels and the boots are recorded.
	if s := run.Series; s == nil || len(s.Patches) != 1 || s.Patches[0].Status != "applied" || s.Patches[0].Hunks != 1 || s.Title != "fs: read c twice" {
		t.Errorf("series %+v", run.Series)
	}
	// So is what each variant applied: nothing to the baseline (the
	// tree), the series to patched, with the series' own hashes.
	if b, p := run.Variant("baseline"), run.Variant("patched"); len(b.Applied) != 0 || len(p.Applied) != 1 ||
		p.Applied[0].SHA256 != run.Series.Patches[0].SHA256 || p.Applied[0].ID != "1/1" || p.Applied[0].Subject != "fs: read c twice" {
		t.Errorf("applied: baseline %+v, patched %+v", b.Applied, p.Applied)
	}
	for _, v := range run.Variants {
		if v.Kernel.Status != results.StepOK || v.Kernel.Key != "key-"+v.Name || v.Boot.Status != results.StepOK || v.Kernel.Release != "6.1.0-fake" {
			t.Errorf("%s: kernel %+v boot %+v", v.Name, v.Kernel, v.Boot)
		}
		if len(v.Targets) != 2 || len(v.Targets[0].Tests) != 2 {
			t.Errorf("%s: targets %+v", v.Name, v.Targets)
		}
	}
	// One boot per variant; the run's image was used and removed.
	if len(w.starts) != 2 {
		t.Errorf("boots %v, want one per variant", w.starts)
	}
	if _, err := os.Stat(w.image); !os.IsNotExist(err) {
		t.Errorf("guest image %s left behind: %v", w.image, err)
	}
	if run.Accel != "kvm" || run.Plan.Clock != "host" || run.AccelReason != "fake probe" {
		t.Errorf("accel %q, clock %q (%q)", run.Accel, run.Plan.Clock, run.AccelReason)
	}
	for _, f := range []string{"results.json", "summary.md", "junit.xml", "email.txt", "report.html"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	back, err := results.Load(out)
	if err != nil || back.Status != results.StatusPass {
		t.Errorf("results.json: %v, %v", back, err)
	}
}

// A crash fails the run, names the target it happened in, and the VM is
// rebooted before the next target; a failing test fails the run too.
func TestRunCrashReboots(t *testing.T) {
	w := &fakeWorld{targets: map[string]behaviour{"patched/ext4": crash, "baseline/xfs": failOne}}
	run, _, err := fakeRun(t, w, context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != results.StatusFail || !run.Complete {
		t.Errorf("status %s complete %v", run.Status, run.Complete)
	}
	patched := run.Variant("patched")
	if len(patched.Crashes) != 1 || patched.Crashes[0].During != "ext4" || patched.Crashes[0].Kind != "oops" {
		t.Errorf("crashes %+v", patched.Crashes)
	}
	if got := len(w.starts); got != 3 {
		t.Errorf("%d boots (%v), want 3: baseline, patched, patched again after the crash", got, w.starts)
	}
	if xfs := patched.Target("xfs"); xfs == nil || len(xfs.Tests) != 2 {
		t.Errorf("patched/xfs after the reboot: %+v", xfs)
	}
	failed := run.Failed()
	if len(failed) != 1 || failed[0] != (results.TestID{Variant: "baseline", Target: "xfs", Test: "eof"}) {
		t.Errorf("failed %v", failed)
	}
}

// A failed build stops the run as an error of its stage and variant;
// the later variant's boot stays pending.
func TestRunBuildFailure(t *testing.T) {
	w := &fakeWorld{targets: map[string]behaviour{}, buildErr: map[string]error{"patched": errStop}}
	run, _, err := fakeRun(t, w, context.Background())
	var se *StageError
	if err == nil || !strings.Contains(err.Error(), "stage build [patched]") || !errors.As(err, &se) {
		t.Fatalf("err %v", err)
	}
	if run.Status != results.StatusError || run.Complete || run.Error == nil || run.Error.Stage != "build" || run.Error.Variant != "patched" {
		t.Errorf("status %s complete %v error %+v", run.Status, run.Complete, run.Error)
	}
	p := run.Variant("patched")
	if p.Kernel.Status != results.StepFailed || p.Boot.Status != results.StepPending || len(w.starts) != 0 {
		t.Errorf("patched kernel %s boot %s, boots %v", p.Kernel.Status, p.Boot.Status, w.starts)
	}
}

// A target that cannot be set up is an error of the run, not a pass.
func TestRunTargetSetupFails(t *testing.T) {
	w := &fakeWorld{targets: map[string]behaviour{"baseline/xfs": setupFails}}
	run, _, err := fakeRun(t, w, context.Background())
	if err != nil {
		t.Fatal(err)
	}
	errs := run.TargetErrors()
	if run.Status != results.StatusError || len(errs) != 1 || errs[0].ID != (results.TargetID{Variant: "baseline", Target: "xfs"}) {
		t.Errorf("status %s, target errors %v", run.Status, errs)
	}
	if run.Error == nil || !strings.Contains(run.Error.Message, "target setup failed: baseline/xfs: mkfs") {
		t.Errorf("run error %+v", run.Error)
	}
}

// A silent KVM boot that fell back to TCG is what the run records.
func TestRunRecordsFallback(t *testing.T) {
	w := &fakeWorld{targets: map[string]behaviour{}, silentKVM: true}
	run, _, err := fakeRun(t, w, context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if run.Accel != "tcg" || run.Plan.Clock != "instructions" || !strings.Contains(run.AccelReason, "retried under TCG") {
		t.Errorf("accel %q, clock %q (%q)", run.Accel, run.Plan.Clock, run.AccelReason)
	}
}

// The clock a run asks for by default (auto) counts instructions under
// TCG only for a benchmark on one vCPU: a correctness-only plan, or a
// guest of 2 vCPUs, keeps the host's.
func TestRunClockByPlan(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*plan.Plan)
		want string
	}{
		{"bench on one vCPU", func(p *plan.Plan) { p.CPUs = 1 }, "instructions"},
		{"correctness only", func(p *plan.Plan) { p.CPUs, p.Suites = 1, []string{"correctness"} }, "host"},
		{"two vCPUs", func(p *plan.Plan) { p.CPUs = 2 }, "host"},
		{"host asked for", func(p *plan.Plan) { p.CPUs, p.Clock = 1, "host" }, "host"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &fakeWorld{targets: map[string]behaviour{}, silentKVM: true}
			run, _, err := fakeRun(t, w, context.Background(), tc.edit)
			if err != nil {
				t.Fatal(err)
			}
			if run.Accel != "tcg" || run.Plan.Clock != tc.want {
				t.Errorf("accel %q, clock %q; want tcg with clock %s", run.Accel, run.Plan.Clock, tc.want)
			}
		})
	}
}

// An interrupt during a boot leaves a finished document: interrupted,
// incomplete, naming the stage, with the image removed.
func TestRunInterrupted(t *testing.T) {
	w := &fakeWorld{targets: map[string]behaviour{}, blockBoot: true}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		waitFor(func() bool { w.mu.Lock(); defer w.mu.Unlock(); return len(w.starts) > 0 })
		cancel()
	}()
	run, out, err := fakeRun(t, w, ctx)
	if err == nil {
		t.Fatal("interrupted run returned no error")
	}
	if run.Status != results.StatusInterrupted || run.Complete || run.Error == nil || run.Error.Stage != "boot" {
		t.Errorf("status %s complete %v error %+v", run.Status, run.Complete, run.Error)
	}
	back, _ := results.Load(out)
	if back == nil || back.Status != results.StatusInterrupted {
		t.Errorf("results.json on disk: %+v", back)
	}
	if _, err := os.Stat(w.image); !os.IsNotExist(err) {
		t.Errorf("guest image left behind: %v", err)
	}
}

// The benchmark's boots are interleaved (baseline, patched, patched,
// baseline, ...); correctness runs on each variant's first boot only;
// later boots reuse the disks of their variant and add one sample each.
func TestRunInterleavesBoots(t *testing.T) {
	w := &fakeWorld{targets: map[string]behaviour{}}
	run, _, err := fakeRun(t, w, context.Background(), func(p *plan.Plan) {
		p.Targets = []string{"ext4", "raw"}
		p.Boots = 3
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"baseline", "patched", "patched", "baseline", "baseline", "patched"}; !slices.Equal(run.BootOrder, want) {
		t.Errorf("boot order %v, want %v", run.BootOrder, want)
	}
	if run.Plan.Boots != 3 {
		t.Errorf("plan boots recorded as %d", run.Plan.Boots)
	}
	var reuse, full int
	for _, c := range w.commands {
		switch {
		case strings.Contains(c, "--reuse") && strings.Contains(c, "--mode bench"):
			reuse++
		case strings.Contains(c, "--mode all") && !strings.Contains(c, "--reuse"):
			full++
		default:
			t.Errorf("unexpected guest command %s", c)
		}
	}
	if full != 4 || reuse != 8 {
		t.Errorf("%d full and %d reusing readtests, want 4 (2 variants x 2 targets) and 8", full, reuse)
	}
	// Boots of one variant share its disks; the variants do not.
	if w.disks[0] != w.disks[3] || w.disks[1] != w.disks[2] || w.disks[0] == w.disks[1] {
		t.Errorf("disks per boot:\n%s", strings.Join(w.disks, "\n"))
	}
	if _, err := os.Stat(strings.Fields(w.disks[0])[0]); !os.IsNotExist(err) {
		t.Errorf("disk images left after the run: %v", err)
	}
	// One sample per boot, in boot order: baseline booted 1st, 4th, 5th.
	m := run.Variant("baseline").Target("ext4").Engine("io_uring").Metrics[results.MetricWallMS]
	if !slices.Equal(m.Samples, []float64{1000, 4000, 5000}) {
		t.Errorf("baseline samples %v", m.Samples)
	}
	if tests := run.Variant("patched").Target("raw").Tests; len(tests) != 2 {
		t.Errorf("correctness ran %d tests on patched/raw, want them once: %+v", len(tests), tests)
	}
	if n := len(run.Variant("patched").Boots); n != 3 {
		t.Errorf("patched booted %d times", n)
	}
}

// TestSeriesAlreadyInTree: a tree that already has every hunk of the
// series makes no A/B: the patched kernel would be the tree. The run
// stops at apply with apply.InTreeError and builds nothing.
func TestSeriesAlreadyInTree(t *testing.T) {
	w := &fakeWorld{targets: map[string]behaviour{}}
	run, _, err := fakeRun(t, w, context.Background(), func(p *plan.Plan) {
		if err := os.WriteFile(filepath.Join(p.Tree, "fs/read.c"), []byte("int a;\nint b;\nint c;\nint c2;\nint d;\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	})
	var in *apply.InTreeError
	if !errors.As(err, &in) || in.Patches != 1 {
		t.Fatalf("err = %v, want the series found already in the tree", err)
	}
	if got := stageNames(run); !slices.Contains(got, "apply[patched]:failed") || slices.Contains(got, "build[patched]:ok") {
		t.Errorf("stages %v", got)
	}
	if s := run.Series; s == nil || s.Patches[0].Status != "already-applied" {
		t.Errorf("series %+v", run.Series)
	}
}

// A series that does not apply is the series' finding, as 'ktest apply'
// reports it: the run fails (status fail, the kernel's fault), it is not
// an error of the host, and nothing is built.
func TestSeriesConflict(t *testing.T) {
	w := &fakeWorld{targets: map[string]behaviour{}}
	run, _, err := fakeRun(t, w, context.Background(), func(p *plan.Plan) {
		if err := os.WriteFile(filepath.Join(p.Tree, "fs/read.c"), []byte("int x;\nint y;\nint z;\nint w;\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	})
	var conflict *apply.Conflict
	if !errors.As(err, &conflict) || FaultOf(err) != results.FaultKernel {
		t.Fatalf("err = %v (fault %q), want a conflict, the kernel's", err, FaultOf(err))
	}
	if run.Status != results.StatusFail || run.Error == nil || run.Error.Fault != results.FaultKernel || run.Error.Stage != "apply" {
		t.Errorf("status %s, error %+v", run.Status, run.Error)
	}
	if got := stageNames(run); slices.Contains(got, "build[patched]:ok") {
		t.Errorf("stages %v", got)
	}
}
