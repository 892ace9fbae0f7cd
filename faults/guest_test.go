package faults

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ktest-dev/ktest/console"
	"github.com/ktest-dev/ktest/results"
	"github.com/ktest-dev/ktest/vm"
)

const faultFile = "/sys/kernel/debug/ktest_fault"

// TestGuestFaults boots the fault kernel (6.1 + patches/faults-6.1) and
// makes it fail in each way the issue lists. Every failure must come back
// as a typed error with its kind and console excerpt, within its timeout,
// and leave no QEMU and no run directory behind.
func TestGuestFaults(t *testing.T) {
	requireSuite(t)
	kernel := faultKernelImage(t)

	t.Run("panic during boot", func(t *testing.T) {
		// rdinit= names no file in the image, so the kernel does not run
		// the image's init: it looks for a root filesystem, finds none
		// and panics ("VFS: Unable to mount root fs"). the VM had made
		// a run directory and a disk image under TMPDIR (suiteTmp): the
		// failed Start must remove both.
		const bootTimeout = 2 * time.Minute
		start := time.Now()
		b, err := startVM(t, ctxFor(t, 3*time.Minute), bootSpec{kernel: kernel,
			kernelArgs: []string{"rdinit=/nonexistent"}, bootTimeout: bootTimeout, disk: true})
		elapsed := time.Since(start)
		var be *vm.BootError
		if !errors.As(err, &be) {
			t.Fatalf("Start = %v, want a *vm.BootError", err)
		}
		var crash *console.Crash
		if !errors.As(err, &crash) || be.Crash != crash {
			t.Fatalf("BootError %q carries no *console.Crash (errors.As through it: %v)\n%s", be.Title, crash, be.Output)
		}
		t.Logf("after %v: %v\n%s", elapsed.Round(time.Millisecond), err, crash.Excerpt)
		if crash.Kind != console.KindPanic || !strings.HasPrefix(crash.Title, "Kernel panic - not syncing") {
			t.Errorf("crash kind %v title %q, want a panic \"Kernel panic - not syncing ...\"", crash.Kind, crash.Title)
		}
		if !strings.Contains(crash.Excerpt, "Call Trace") {
			t.Errorf("excerpt lacks the panic's stack:\n%s", crash.Excerpt)
		}
		if !strings.Contains(be.Output, "Kernel panic") {
			t.Errorf("BootError.Output (the console tail) does not show the panic:\n%s", be.Output)
		}
		if elapsed > bootTimeout {
			t.Errorf("took %v, past the boot timeout %v", elapsed, bootTimeout)
		}
		assertNoQEMUOf(t, b.image)
		assertNoLeftovers(t, suiteMark+"-self", 5*time.Second, suiteTmp)
	})

	t.Run("guest never answers SSH", func(t *testing.T) {
		t.Run("boot timeout", func(t *testing.T) {
			// A boot takes several seconds under TCG: 2 s cannot suffice.
			const bootTimeout = 2 * time.Second
			start := time.Now()
			b, err := startVM(t, ctxFor(t, time.Minute), bootSpec{kernel: kernel, bootTimeout: bootTimeout, disk: true})
			elapsed := time.Since(start)
			_ = assertBootTimeout(t, err, bootTimeout, elapsed) // the assertions are in it; the error itself is not needed here
			assertNoQEMUOf(t, b.image)
			assertNoLeftovers(t, suiteMark+"-self", 5*time.Second, suiteTmp)
		})
		t.Run("agent does not start", func(t *testing.T) {
			// u-root's init passes uroot.uinitargs to the uinit (our
			// agent): "bogus" is no agent command, so the agent prints
			// its usage and exits, and init hands the console to a shell.
			// The kernel is fine and boots in seconds; SSH never comes.
			const bootTimeout = 30 * time.Second
			start := time.Now()
			b, err := startVM(t, ctxFor(t, 2*time.Minute), bootSpec{kernel: kernel,
				kernelArgs: []string{"uroot.uinitargs=bogus"}, bootTimeout: bootTimeout, disk: true})
			elapsed := time.Since(start)
			be := assertBootTimeout(t, err, bootTimeout, elapsed)
			if be != nil && !strings.Contains(be.Output, "usage: ktest-agent") {
				t.Errorf("console tail does not show the agent refusing to start:\n%s", be.Output)
			}
			if elapsed < bootTimeout {
				t.Errorf("gave up after %v, before the boot timeout %v", elapsed, bootTimeout)
			}
			assertNoQEMUOf(t, b.image)
			assertNoLeftovers(t, suiteMark+"-self", 5*time.Second, suiteTmp)
		})
	})

	// One VM serves the hung task, the oops and the endless command, in
	// that order: the hung task comes first because the kernel stops
	// looking for hung tasks once it has oopsed (TAINT_DIE); it is
	// reported once (hung_task_warnings=1) so that its repeats do not
	// stand for later crashes; an oops does not stop the kernel; and the
	// endless command's timeout kills the VM.
	t.Run("running guest", func(t *testing.T) {
		b := mustStartVM(t, ctxFor(t, 3*time.Minute), bootSpec{kernel: kernel, disk: true})

		t.Run("hung task", func(t *testing.T) {
			setup := "echo 5 > /proc/sys/kernel/hung_task_timeout_secs && echo 1 > /proc/sys/kernel/hung_task_warnings"
			if code, err := b.Run(ctxFor(t, time.Minute), setup, nil, nil); code != 0 || err != nil {
				t.Fatalf("%s: exit %d, %v", setup, code, err)
			}
			// Detection takes the 5 s timeout plus up to one 5 s check
			// interval, then the report's idle time.
			const timeout = 90 * time.Second
			crash, elapsed := runExpectCrash(t, b, "echo hang > "+faultFile, timeout)
			if crash == nil {
				return
			}
			if crash.Kind != console.KindHungTask {
				t.Errorf("kind %v (%q), want hung task", crash.Kind, crash.Title)
			}
			if !strings.Contains(crash.Title, "blocked for more than 5 seconds") {
				t.Errorf("title %q, want the 5 s hung-task timeout", crash.Title)
			}
			if !strings.Contains(crash.Excerpt, "ktest_fault_write") {
				t.Errorf("excerpt lacks the hung task's stack (ktest_fault_write):\n%s", crash.Excerpt)
			}
			if elapsed > 30*time.Second {
				t.Errorf("hung task reported after %v; want within ~20 s of a 5 s timeout", elapsed)
			}
		})

		t.Run("oops", func(t *testing.T) {
			const timeout = 2 * time.Minute
			crash, elapsed := runExpectCrash(t, b, "echo oops > "+faultFile, timeout)
			if crash == nil {
				return
			}
			if crash.Kind != console.KindOops {
				t.Errorf("kind %v (%q), want oops", crash.Kind, crash.Title)
			}
			if !strings.Contains(crash.Title, "NULL pointer dereference") {
				t.Errorf("title %q does not say NULL pointer dereference", crash.Title)
			}
			for _, want := range []string{"Oops:", "ktest_fault_write"} {
				if !strings.Contains(crash.Excerpt, want) {
					t.Errorf("excerpt lacks %q:\n%s", want, crash.Excerpt)
				}
			}
			if elapsed > timeout {
				t.Errorf("took %v, past %v", elapsed, timeout)
			}
			// The oops killed only the writing process: the guest goes on.
			if code, err := b.Run(ctxFor(t, time.Minute), "true", nil, nil); code != 0 || err != nil {
				t.Errorf("guest unusable after the oops: exit %d, %v", code, err)
			}
		})

		t.Run("command never returns", func(t *testing.T) {
			const timeout = 5 * time.Second
			qemus := qemuProcsFor(b.image)
			if len(qemus) != 1 {
				t.Fatalf("want 1 QEMU for this VM before the command, found:\n%s", describeProcs(qemus))
			}
			start := time.Now()
			code, err := b.Run(ctxFor(t, timeout), "sleep 100000", nil, nil)
			elapsed := time.Since(start)
			t.Logf("after %v: exit %d, %v", elapsed.Round(time.Millisecond), code, err)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Run = %d, %v; want an error wrapping context.DeadlineExceeded", code, err)
			}
			var crash *console.Crash
			if errors.As(err, &crash) {
				t.Errorf("a timeout reported as a crash: %v", crash)
			}
			if elapsed > timeout+15*time.Second {
				t.Errorf("Run returned after %v, long past its %v deadline", elapsed, timeout)
			}
			select {
			case <-b.Exited():
			case <-time.After(10 * time.Second):
				t.Errorf("QEMU still running 10 s after the deadline killed the VM")
			}
			assertNoQEMUOf(t, b.image)
			closeAndCheck(t, b)
		})
	})

	t.Run("WARN with panic_on_warn", func(t *testing.T) {
		b := mustStartVM(t, ctxFor(t, 3*time.Minute), bootSpec{kernel: kernel, kernelArgs: []string{"panic_on_warn=1"}, disk: true})
		const timeout = 2 * time.Minute
		crash, elapsed := runExpectCrash(t, b, "echo warn > "+faultFile, timeout)
		if crash == nil {
			return
		}
		// The console shows the WARNING (with its stack), then, since
		// panic_on_warn is set, "Kernel panic - not syncing:
		// panic_on_warn set ...": the primary report is the warning.
		if crash.Kind != console.KindWarning && crash.Kind != console.KindPanic {
			t.Errorf("kind %v (%q), want warning or panic", crash.Kind, crash.Title)
		}
		for _, want := range []string{"kernel/ktest_fault.c", "ktest_fault_write", "Kernel panic - not syncing: kernel: panic_on_warn set"} {
			if !strings.Contains(crash.Excerpt, want) {
				t.Errorf("excerpt lacks %q", want)
			}
		}
		// WARN(1, "ktest_fault: warning requested") prints its message
		// between "cut here" and the WARNING line: it is the report's
		// most telling line and must be in the excerpt.
		const msg = "ktest_fault: warning requested"
		if !strings.Contains(consoleText(b), msg) {
			t.Errorf("the console does not show %q", msg)
		} else if !strings.Contains(crash.Excerpt, msg) {
			t.Errorf("the console shows the WARN message %q just before the WARNING line, but the crash excerpt drops it", msg)
		}
		select {
		case <-b.Exited():
		case <-time.After(30 * time.Second):
			t.Errorf("QEMU still running 30 s after the panic (panic=-1, -no-reboot should end it)")
		}
		if elapsed > timeout {
			t.Errorf("took %v, past %v", elapsed, timeout)
		}
		closeAndCheck(t, b)
	})

	t.Run("cli boot exec oops", func(t *testing.T) {
		// No plan can make the kernel crash on purpose (plans have no
		// kernel arguments or guest commands), so the CLI's crash path
		// is checked with ktest boot --exec.
		tmp := t.TempDir()
		start := time.Now()
		p := startKtest(t, procOpts{tmpDir: tmp}, "boot", "--kernel", kernel, "--exec", "echo oops > "+faultFile)
		code := p.wait(3 * time.Minute)
		stderr := p.stderr.String()
		t.Logf("exit %d after %v; stderr:\n%s", code, time.Since(start).Round(time.Second), tail(stderr, 40))
		if code != 1 {
			t.Errorf("exit %d, want 1 (a kernel crash is a failed test)", code)
		}
		for _, want := range []string{"ktest: kernel oops: BUG: kernel NULL pointer dereference", "--- report ---", "ktest_fault_write", "--- end of report ---"} {
			if !strings.Contains(stderr, want) {
				t.Errorf("stderr lacks %q", want)
			}
		}
		assertNoLeftovers(t, p.mark, 5*time.Second, tmp)
	})

	t.Run("cli fault-never-wake plan", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "run")
		tmp := t.TempDir()
		start := time.Now()
		p := startKtest(t, procOpts{tmpDir: tmp}, "run", "--plan", "plans/fault-never-wake.toml", "--out", out)
		code := p.wait(10 * time.Minute)
		elapsed := time.Since(start)
		all := p.stdout.String() + p.stderr.String()
		t.Logf("exit %d after %v; stderr tail:\n%s", code, elapsed.Round(time.Second), tail(p.stderr.String(), 25))
		if code != 1 {
			t.Errorf("exit %d, want 1 (a test failed)", code)
		}
		const name = "broken/ext4/concurrent-waiters"
		if !strings.Contains(all, name) {
			t.Errorf("output does not name %s", name)
		}
		run, err := results.Load(out)
		if err != nil {
			t.Fatalf("results: %v", err)
		}
		if run.Status != results.StatusFail {
			t.Errorf("run status %q, want %q", run.Status, results.StatusFail)
		}
		failed := run.Failed()
		if len(failed) != 1 || failed[0].String() != name {
			t.Errorf("failed tests %v, want exactly [%s]", failed, name)
		}
		if v := run.Variant("broken"); v != nil {
			if tg := v.Target("ext4"); tg != nil {
				for _, tc := range tg.Tests {
					if tc.Name == "concurrent-waiters" {
						t.Logf("concurrent-waiters: %s: %s", tc.Status, tc.Message)
						if tc.Status != "hung" {
							t.Errorf("concurrent-waiters status %q, want hung (it must fail by timeout)", tc.Status)
						}
					}
				}
			}
		}
		assertNoLeftovers(t, p.mark, 5*time.Second, tmp, out)
		assertNoSecrets(t, out)
	})
}

// assertBootTimeout checks a Start error for a guest whose agent never
// answered: a BootError without a crash, within the boot timeout (plus
// the time to kill QEMU).
func assertBootTimeout(t *testing.T, err error, bootTimeout, elapsed time.Duration) *vm.BootError {
	t.Helper()
	var be *vm.BootError
	if !errors.As(err, &be) {
		t.Errorf("Start = %v, want a *vm.BootError", err)
		return nil
	}
	t.Logf("after %v: %v", elapsed.Round(time.Millisecond), err)
	if be.Crash != nil {
		t.Errorf("unexpected crash: %v", be.Crash)
	}
	if !strings.Contains(be.Title, "did not answer SSH") {
		t.Errorf("title %q does not say SSH never answered", be.Title)
	}
	if elapsed > bootTimeout+10*time.Second {
		t.Errorf("Start returned after %v, past the boot timeout %v", elapsed, bootTimeout)
	}
	return be
}

// runExpectCrash runs cmd and expects it to fail with a *console.Crash
// within timeout.
func runExpectCrash(t *testing.T, b *booted, cmd string, timeout time.Duration) (*console.Crash, time.Duration) {
	t.Helper()
	start := time.Now()
	code, err := b.Run(ctxFor(t, timeout), cmd, nil, nil)
	elapsed := time.Since(start)
	var crash *console.Crash
	if !errors.As(err, &crash) {
		t.Errorf("Run(%q) = %d, %v after %v; want a *console.Crash\nconsole tail:\n%s", cmd, code, err, elapsed, tail(consoleText(b), 40))
		return nil, elapsed
	}
	t.Logf("Run(%q) after %v: exit %d, %s: %s\n%s", cmd, elapsed.Round(time.Millisecond), code, crash.Kind, crash.Title, crash.Excerpt)
	if crash.Excerpt == "" {
		t.Errorf("crash %q has no console excerpt", crash.Title)
	}
	return crash, elapsed
}

// qemuProcsFor returns the QEMU processes whose command line names path.
func qemuProcsFor(path string) []proc {
	var out []proc
	for _, p := range allProcs() {
		if strings.HasPrefix(p.comm, "qemu-system") && strings.Contains(p.cmdline, path) {
			out = append(out, p)
		}
	}
	return out
}
