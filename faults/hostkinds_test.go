package faults

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ktest-dev/ktest/results"
)

// Stand-ins for QEMU that play the kinds of host ktest meets, in front
// of the real QEMU on PATH. Each execs into sleep or the real binary, so
// ktest's kill reaches it under the same PID.
var hostKinds = map[string]string{
	// KVM that prints nothing for any Linux kernel, probe included: the
	// host measured in the field ("a boot sector in 1.5 s, but a Linux
	// kernel prints nothing at all").
	"kvm-silent": `case "$*" in *"-accel kvm"*) exec sleep 600;; esac`,
	// KVM whose probe boot prints (so KVM is chosen) but whose real
	// boots, with an initramfs, print nothing: the fallback at boot time
	// must catch what the probe missed.
	"kvm-silent-after-probe": `case "$*" in *"-accel kvm"*"-initrd"*) exec sleep 600;; *"-accel kvm"*) echo "Linux version (stand-in)"; exec sleep 600;; esac`,
}

// hostKind puts a stand-in qemu-system-x86_64 first on PATH and returns
// the environment for a ktest subprocess.
func hostKind(t *testing.T, kind string) []string {
	t.Helper()
	real, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		t.Skip("no QEMU")
	}
	dir := t.TempDir()
	script := "#!/bin/sh\n" + hostKinds[kind] + "\nexec " + real + " \"$@\"\n"
	if err := os.WriteFile(filepath.Join(dir, "qemu-system-x86_64"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return []string{"PATH=" + dir + ":" + os.Getenv("PATH")}
}

// TestHostKinds: on a host whose KVM does not run Linux, `ktest boot
// --exec` and `ktest run` need no flag: they fall back to TCG, pass and
// say why, leaving no QEMU behind; `--accel kvm` exits 3 naming the
// reason. The stand-in QEMU makes this host play that kind.
func TestHostKinds(t *testing.T) {
	requireSuite(t)
	kernel := stockKernelImage(t)
	if _, err := os.Stat("/dev/kvm"); err != nil {
		// The stand-ins play a KVM that opens but does not run Linux; a
		// host without /dev/kvm is the third kind, and it is played as
		// it is.
		testNoKVM(t, kernel)
		return
	}

	t.Run("probe silent/boot --exec", func(t *testing.T) {
		env := hostKind(t, "kvm-silent")
		p := startKtest(t, procOpts{env: env}, "boot", "--kernel", kernel, "--exec", "uname -r")
		code := p.wait(5 * time.Minute)
		stderr := p.stderr.String()
		if code != 0 || !strings.Contains(p.stdout.String(), "6.1") {
			t.Fatalf("exit %d, stdout %q\n%s", code, p.stdout.String(), tail(stderr, 20))
		}
		if !strings.Contains(stderr, "accelerator tcg, clock host (KVM unusable, using TCG: KVM probe: Linux printed nothing on the console within 10s under KVM") {
			t.Errorf("the TCG fallback is not named:\n%s", tail(stderr, 20))
		}
		assertNoLeftovers(t, p.mark, 10*time.Second)
	})

	t.Run("probe silent/boot --accel kvm", func(t *testing.T) {
		env := hostKind(t, "kvm-silent")
		code, _, stderr := runKtest(t, 2*time.Minute, procOpts{env: env}, "boot", "--accel", "kvm", "--kernel", kernel, "--exec", "true")
		if code != 3 || !strings.Contains(stderr, "KVM requested but unusable: KVM probe: Linux printed nothing") {
			t.Errorf("exit %d, want 3 with the reason:\n%s", code, tail(stderr, 10))
		}
	})

	t.Run("boot silent after probe/boot --exec", func(t *testing.T) {
		env := hostKind(t, "kvm-silent-after-probe")
		p := startKtest(t, procOpts{env: env}, "boot", "--kernel", kernel, "--exec", "uname -r")
		code := p.wait(5 * time.Minute)
		stderr := p.stderr.String()
		if code != 0 || !strings.Contains(p.stdout.String(), "6.1") {
			t.Fatalf("exit %d, stdout %q\n%s", code, p.stdout.String(), tail(stderr, 20))
		}
		for _, want := range []string{"accelerator kvm, clock host (KVM probe: Linux printed its first console line",
			"(the kernel printed nothing on the console within 10s under KVM); retried under TCG"} {
			if !strings.Contains(stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, tail(stderr, 20))
			}
		}
		assertNoLeftovers(t, p.mark, 10*time.Second)
	})

	t.Run("boot silent after probe/run --quick", func(t *testing.T) {
		env := hostKind(t, "kvm-silent-after-probe")
		out := filepath.Join(t.TempDir(), "run")
		p := startKtest(t, procOpts{env: env}, "run", "--quick", "--targets", "ext4", "--out", out)
		code := p.wait(30 * time.Minute)
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, tail(p.stderr.String(), 30))
		}
		run, err := results.Load(out)
		if err != nil {
			t.Fatal(err)
		}
		if run.Accel != "tcg" || !strings.Contains(run.AccelReason, "retried under TCG") {
			t.Errorf("results.json: accel %q, reason %q; want the TCG fallback", run.Accel, run.AccelReason)
		}
		summary, _ := os.ReadFile(filepath.Join(out, "summary.md"))
		if !strings.Contains(string(summary), "retried under TCG") {
			t.Errorf("summary.md does not name the fallback:\n%s", summary)
		}
		// One silent KVM boot, then TCG for the rest of the run.
		if n := strings.Count(p.stderr.String(), "retried under TCG"); n != 1 {
			t.Errorf("%d fallbacks, want 1:\n%s", n, tail(p.stderr.String(), 40))
		}
		assertNoLeftovers(t, p.mark, 10*time.Second, out)
	})
}

// testNoKVM: on a host without /dev/kvm, `ktest boot --exec` falls back
// to TCG and names why; `--accel kvm` exits 3 naming it.
func testNoKVM(t *testing.T, kernel string) {
	t.Run("no /dev/kvm/boot --exec", func(t *testing.T) {
		p := startKtest(t, procOpts{}, "boot", "--kernel", kernel, "--exec", "uname -r")
		code := p.wait(5 * time.Minute)
		stderr := p.stderr.String()
		if code != 0 || !strings.Contains(p.stdout.String(), "6.1") {
			t.Fatalf("exit %d, stdout %q\n%s", code, p.stdout.String(), tail(stderr, 20))
		}
		if !strings.Contains(stderr, "accelerator tcg, clock host (KVM unusable, using TCG: open /dev/kvm: no such file or directory") {
			t.Errorf("the TCG fallback is not named:\n%s", tail(stderr, 20))
		}
		assertNoLeftovers(t, p.mark, 10*time.Second)
	})
	t.Run("no /dev/kvm/boot --accel kvm", func(t *testing.T) {
		code, _, stderr := runKtest(t, 2*time.Minute, procOpts{}, "boot", "--accel", "kvm", "--kernel", kernel, "--exec", "true")
		if code != 3 || !strings.Contains(stderr, "KVM requested but unusable: open /dev/kvm: no such file or directory") {
			t.Errorf("exit %d, want 3 with the reason:\n%s", code, tail(stderr, 10))
		}
	})
	t.Log("this host has no /dev/kvm: the silent-KVM kinds are played on hosts that have one")
}
