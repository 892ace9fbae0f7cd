package faults

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ktest-dev/ktest/results"
)

// lockupPlan runs the correctness tests on ext4 and raw with 6.1 +
// patches/lockup-6.1 booted with ktest_lockup=mode: the first io_uring
// read of a regular file (ext4's first test) spins; the raw target
// reads a block device, which does not.
func lockupPlan(t *testing.T, mode string, testTimeout time.Duration, kernelArgs ...string) string {
	t.Helper()
	args := `"ktest_lockup=` + mode + `"`
	for _, a := range kernelArgs {
		args += `, "` + a + `"`
	}
	text := `name = "lockup ` + mode + `"
fragments = ["base", "debug"]
targets = ["ext4", "raw"]
suites = ["correctness"]
file_size = "16M"
repeats = 1
cpus = 1
kernel_args = [` + args + `]

[timeouts]
test = "` + testTimeout.String() + `"
target = "10m"

[[variant]]
name = "lockup"
description = "Linux 6.1 + ktest lockup-6.1, ktest_lockup=` + mode + `"
patches = ["embedded:lockup-6.1"]
`
	path := filepath.Join(t.TempDir(), "lockup.toml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestLockups: a guest whose only CPU spins in the read path costs one
// test timeout plus a grace, not the target's timeout nor forever, and
// leaves the spinning function's stack. A soft lockup is the kernel's
// own report, which ends the test at once; a spin with interrupts off
// leaves the console silent, so ktest finds the guest frozen (its agent
// does not answer once the test overran) and an NMI through QEMU's
// monitor makes the kernel print its stack. Either way the test is
// named, the rest of ext4 is not run, the run goes on to raw, whose
// reads (of a block device) do not spin, and no QEMU is left.
func TestLockups(t *testing.T) {
	requireSuite(t)
	lockupKernelImage(t) // built once, outside the timing
	const testTimeout = 20 * time.Second
	// What ktest allows on top of the test's timeout: a grace of 30 s
	// (20 s before it asks the agent, 10 s for the agent to answer),
	// then the NMI's report and the kill, which take a second or two;
	// the limit leaves 10 s for a loaded host.
	const limit = testTimeout + 30*time.Second + 10*time.Second
	tests := []struct {
		mode    string
		args    []string
		kind    string // the crash record's kind
		message string // the locked test's message starts so
		spinner string // in the evidence
	}{
		// With the default watchdog_thresh (10 s) the soft-lockup
		// report (after 20-24 s) and RCU's stall report (after 21 s)
		// race; a 5 s threshold makes the soft lockup first.
		{"soft", []string{"watchdog_thresh=5"}, "soft lockup", "soft lockup during ext4/rand4k-qd32-cold: ", "ktest_lockup_spin"},
		{"hard", nil, "freeze", "the guest froze during ext4/rand4k-qd32-cold: ", "ktest_lockup_spin_irqs_off"},
	}
	for _, tc := range tests {
		t.Run(tc.mode, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "run")
			tmp := t.TempDir()
			p := startKtest(t, procOpts{tmpDir: tmp}, "run", "--plan", lockupPlan(t, tc.mode, testTimeout, tc.args...), "--out", out)
			if !p.waitFor("readtest: rand4k-qd32-cold: running", 10*time.Minute) {
				p.wait(time.Minute)
				t.Fatalf("ext4's first test never started:\n%s", tail(p.stderr.String(), 30))
			}
			locked := time.Now()
			if !p.waitFor("stage test [lockup/ext4] ok in", limit+time.Minute) {
				t.Errorf("ext4 still running %v after its first test started", time.Since(locked).Round(time.Second))
			}
			cost := time.Since(locked)
			code := p.wait(10 * time.Minute)
			stderr := p.stderr.String()
			t.Logf("ktest_lockup=%s: exit %d; the locked test cost %v (test timeout %v, limit %v)", tc.mode, code, cost.Round(100*time.Millisecond), testTimeout, limit)
			if cost > limit {
				t.Errorf("the locked-up test cost %v, more than its timeout plus the grace (%v)", cost.Round(time.Second), limit)
			}
			if code != 1 {
				t.Fatalf("exit %d, want 1 (the kernel failed):\n%s", code, tail(stderr, 40))
			}
			run, err := results.Load(out)
			if err != nil {
				t.Fatal(err)
			}
			v := run.Variants[0]
			ext4, raw := v.Target("ext4"), v.Target("raw")
			if ext4 == nil || raw == nil || len(ext4.Tests) == 0 {
				t.Fatalf("targets %+v", v.Targets)
			}
			first := ext4.Tests[0]
			t.Logf("%s: %s: %s\n%s", first.Name, first.Status, first.Message, first.Evidence)
			if first.Name != "rand4k-qd32-cold" || first.Status != results.TestHung || !strings.HasPrefix(first.Message, tc.message) {
				t.Errorf("ext4's first test %s %s %q, want hung: %q...", first.Name, first.Status, first.Message, tc.message)
			}
			if !strings.Contains(first.Evidence, tc.spinner) {
				t.Errorf("the evidence lacks the spinning function %s", tc.spinner)
			}
			for _, tst := range ext4.Tests[1:] {
				if tst.Status != results.TestNotRun {
					t.Errorf("ext4/%s: %s, want not run after the lockup", tst.Name, tst.Status)
				}
			}
			if len(raw.Tests) == 0 || raw.Error != "" {
				t.Errorf("raw did not run after ext4 locked up: %+v", raw)
			}
			for _, tst := range raw.Tests {
				if tst.Status != results.TestPass && tst.Status != results.TestSkip {
					t.Errorf("raw/%s: %s %s", tst.Name, tst.Status, tst.Message)
				}
			}
			if len(v.Crashes) != 1 || v.Crashes[0].Kind != tc.kind || v.Crashes[0].During != "ext4/rand4k-qd32-cold" {
				t.Errorf("crashes %+v, want one %s during ext4/rand4k-qd32-cold", v.Crashes, tc.kind)
			}
			summary, _ := os.ReadFile(filepath.Join(out, "summary.md"))
			if !strings.Contains(string(summary), tc.message) {
				t.Errorf("summary.md does not say %q", tc.message)
			}
			assertNoLeftovers(t, p.mark, 5*time.Second, tmp, out)
		})
	}
}
