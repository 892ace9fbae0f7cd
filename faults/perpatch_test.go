package faults

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ktest-dev/ktest/results"
)

// perPatchPlan is a plan for `--per-patch` on one of the test-only 6.1
// series: ext4 only, quick size, a short test timeout so that the hang
// costs 20 s.
func perPatchPlan(t *testing.T, series string) string {
	t.Helper()
	text := `name = "per-patch ` + series + `"
fragments = ["base", "debug"]
targets = ["ext4"]
suites = ["correctness"]
file_size = "16M"
repeats = 1
cpus = 1
checkpatch = true

[series]
source = "embedded:` + series + `"
applied = true

[per_patch]
mode = "every"

[timeouts]
test = "20s"
target = "5m"

[[variant]]
name = "baseline"
description = "Linux 6.1"

[[variant]]
name = "patched"
description = "Linux 6.1 with the series"
patches = ["embedded:` + series + `"]
`
	path := filepath.Join(t.TempDir(), "plan.toml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestPerPatch: `ktest run --per-patch` names the first bad patch of a
// series, with its evidence, and gives every other patch its own status:
// in two test-only series patch 2 breaks what patch 3 repairs, so the
// whole series passes and only a per-patch run finds patch 2; in the
// third, patch 3 does not repair it, so the whole series does not build
// either, and the steps must still run and name patch 2.
func TestPerPatch(t *testing.T) {
	requireSuite(t)
	stockKernelImage(t)
	tests := []struct {
		series   string
		grades   string
		evidence []string // in the first bad step's evidence
		step2    func(st results.PatchStep) bool
		note     string // in the per-patch note
	}{
		{"perpatch-build-6.1", "good bad good",
			[]string{"fs/ext4/file.c", "error", "ext4_buffered_reads"},
			func(st results.PatchStep) bool { return st.Build == results.StepFailed }, ""},
		{"perpatch-unfixed-6.1", "good bad bad",
			[]string{"fs/ext4/file.c", "error", "ext4_buffered_reads"},
			func(st results.PatchStep) bool { return st.Build == results.StepFailed },
			"the whole series does not build: fs/ext4/file.c:"},
		{"perpatch-hang-6.1", "good bad good",
			// The first read that waits for a locked page is lost, in
			// whichever test reads cold pages first.
			[]string{": hung: test ", "io_uring_enter"},
			func(st results.PatchStep) bool {
				return st.Build == results.StepOK && st.Boot == results.StepOK && st.Tests == results.StepFailed
			}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.series, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "run")
			start := time.Now()
			code, _, stderr := runKtest(t, 40*time.Minute, procOpts{}, "run", "--plan", perPatchPlan(t, tc.series), "--out", out)
			t.Logf("%s: exit %d in %v", tc.series, code, time.Since(start).Round(time.Second))
			if code != 1 || !strings.Contains(stderr, "first bad patch 02/03") {
				t.Fatalf("exit %d, want 1 naming patch 02/03:\n%s", code, tail(stderr, 30))
			}
			run, err := results.Load(out)
			if err != nil {
				t.Fatal(err)
			}
			pp := run.PerPatch
			if pp == nil || pp.FirstBad != 2 {
				t.Fatalf("per-patch record %+v", pp)
			}
			var got []string
			for _, st := range pp.Steps {
				got = append(got, string(st.Grade))
				if st.Checkpatch == nil || st.Checkpatch.Error != "" {
					t.Errorf("%s: checkpatch %+v", st.Label, st.Checkpatch)
				}
			}
			if strings.Join(got, " ") != tc.grades {
				t.Errorf("grades %v, want %s", got, tc.grades)
			}
			if !tc.step2(pp.Steps[1]) {
				t.Errorf("step 2: %+v", pp.Steps[1])
			}
			for _, w := range tc.evidence {
				if !strings.Contains(pp.Steps[1].Evidence, w) {
					t.Errorf("step 2 evidence lacks %q:\n%s", w, pp.Steps[1].Evidence)
				}
			}
			if !strings.Contains(pp.Note, tc.note) {
				t.Errorf("per-patch note %q lacks %q", pp.Note, tc.note)
			}
			summary, _ := os.ReadFile(filepath.Join(out, "summary.md"))
			for _, w := range []string{"## Per patch", "**First bad patch: 02/03", "| 01/03 |", "| 03/03 |"} {
				if !strings.Contains(string(summary), w) {
					t.Errorf("summary.md lacks %q", w)
				}
			}
		})
	}
}

// TestWedgedKernelCostsOneTimeout: every correctness test on every
// target of a kernel whose io_uring page-wait callback never requeues
// the read. The first hang on each target ends that target (its other
// tests are not run), so the run takes about one test timeout per
// target, not one per test, and the report shows where the reader
// sleeps.
func TestWedgedKernelCostsOneTimeout(t *testing.T) {
	requireSuite(t)
	faultKernelImage(t) // built outside the timing
	text := `name = "wedged"
fragments = ["base", "debug"]
targets = ["ext4", "xfs", "btrfs", "raw"]
suites = ["correctness"]
file_size = "16M"
repeats = 1
cpus = 1

[timeouts]
test = "20s"
target = "5m"

[[variant]]
name = "broken"
description = "Linux 6.1 + ktest fault patches: async page waits never wake"
patches = ["embedded:faults-6.1"]
`
	planFile := filepath.Join(t.TempDir(), "wedged.toml")
	if err := os.WriteFile(planFile, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "run")
	start := time.Now()
	code, _, stderr := runKtest(t, 20*time.Minute, procOpts{}, "run", "--plan", planFile, "--out", out)
	took := time.Since(start)
	t.Logf("exit %d in %v", code, took.Round(time.Second))
	if code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", code, tail(stderr, 30))
	}
	// 4 targets x 20 s, plus boots (a reboot after every hang) and
	// setup; one timeout per test would be 4 x 10 x 20 s.
	if limit := 4*20*time.Second + 6*time.Minute; took > limit {
		t.Errorf("the run took %v, more than one test timeout per target allows (%v)", took, limit)
	}
	run, err := results.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	hung, notRun := 0, 0
	var evidence string
	for _, tg := range run.Variants[0].Targets {
		for _, tc := range tg.Tests {
			switch tc.Status {
			case results.TestHung:
				hung++
				evidence += tc.Evidence
			case results.TestNotRun:
				notRun++
			}
		}
	}
	if hung == 0 || notRun == 0 {
		t.Errorf("%d hung and %d not-run tests; want the first hang per target and the rest not run", hung, notRun)
	}
	if !strings.Contains(evidence, "task:ktest-readtest") || !strings.Contains(evidence, "io_") {
		t.Errorf("no stack of the blocked reader in the evidence:\n%s", evidence)
	}
	summary, _ := os.ReadFile(filepath.Join(out, "summary.md"))
	if !strings.Contains(string(summary), "Blocked tasks when broken/") || !strings.Contains(string(summary), "not run (the kernel hung)") {
		t.Errorf("summary.md lacks the blocked tasks or the not-run count:\n%s", summary)
	}
}

// TestPerPatchHostKillsQEMU: QEMU killed from outside (by pid) while a
// step's kernel boots is the host's failure, not the patch's: the step
// is tried once more, and when QEMU is killed again the run stops with
// exit 3 naming the host, and no patch is named bad.
func TestPerPatchHostKillsQEMU(t *testing.T) {
	requireSuite(t)
	stockKernelImage(t)
	out := filepath.Join(t.TempDir(), "run")
	tmp := t.TempDir()
	p := startKtest(t, procOpts{tmpDir: tmp}, "run", "--plan", perPatchPlan(t, "perpatch-build-6.1"), "--out", out)
	// Step 1's disks are named after it, which is how its QEMU is told
	// from the baseline's.
	const step = "patch-01-of-03"
	killed := map[int]bool{}
	deadline := time.Now().Add(40 * time.Minute)
	for running := true; running && time.Now().Before(deadline); {
		select {
		case <-p.done:
			running = false
		case <-time.After(50 * time.Millisecond):
		}
		for _, q := range qemuProcs(p.mark) {
			if strings.Contains(q.cmdline, step) && !killed[q.pid] {
				killProcs([]proc{q})
				killed[q.pid] = true
				t.Logf("killed QEMU pid %d of %s", q.pid, step)
			}
		}
	}
	code := p.wait(time.Minute)
	stderr := p.stderr.String()
	t.Logf("exit %d after %d kills; stderr tail:\n%s", code, len(killed), tail(stderr, 12))
	if len(killed) != 2 {
		t.Errorf("QEMU of %s killed %d times, want 2 (the boot and its one retry)", step, len(killed))
	}
	if code != 3 || !strings.Contains(stderr, "the host failed twice") || !strings.Contains(stderr, "host failure: QEMU exited") {
		t.Errorf("exit %d, want 3 naming the host's failure", code)
	}
	if strings.Contains(stderr, "first bad patch") {
		t.Errorf("a patch was named bad for the host's failure")
	}
	run, err := results.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != results.StatusError || run.Error == nil || run.Error.Fault != results.FaultHost {
		t.Errorf("status %s, error %+v; want an error of the host", run.Status, run.Error)
	}
	if pp := run.PerPatch; pp == nil || pp.FirstBad != 0 || pp.Steps[0].Grade == results.StepBad {
		t.Errorf("per-patch record %+v judged a patch", pp)
	}
	assertNoLeftovers(t, p.mark, 5*time.Second, tmp, out)
}
