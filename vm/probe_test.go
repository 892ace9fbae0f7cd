package vm

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestProbeBootSector(t *testing.T) {
	s := probeBootSector
	if len(s) != 512 {
		t.Fatalf("boot sector is %d bytes, want 512", len(s))
	}
	if s[510] != 0x55 || s[511] != 0xaa {
		t.Errorf("boot signature %#x %#x, want 0x55 0xaa", s[510], s[511])
	}
	// mov al, imm8; out imm8, al: the value and port the probe expects.
	if s[0] != 0xb0 || s[1] != probeExitValue || s[2] != 0xe6 || s[3] != debugExitPort {
		t.Errorf("boot sector starts % x, want mov al,%#x; out %#x,al", s[:4], probeExitValue, debugExitPort)
	}
	if ProbeExitStatus != 85 {
		t.Errorf("ProbeExitStatus = %d, want (0x2a<<1)|1 = 85", ProbeExitStatus)
	}
}

// TestProbeBootSectorRunsUnderTCG proves the boot sector itself is right:
// under TCG (which always works) QEMU must exit with ProbeExitStatus.
func TestProbeBootSectorRunsUnderTCG(t *testing.T) {
	if _, err := exec.LookPath(DefaultQEMU); err != nil {
		t.Skip("no QEMU")
	}
	img := filepath.Join(t.TempDir(), "boot.img")
	if err := os.WriteFile(img, probeBootSector, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, DefaultQEMU, "-nodefaults", "-no-user-config", "-display", "none",
		"-no-reboot", "-machine", "pc", "-accel", "tcg", "-m", "16",
		"-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-drive", "file="+img+",format=raw,if=floppy")
	out, err := cmd.CombinedOutput()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != ProbeExitStatus {
		t.Fatalf("QEMU: %v (want exit status %d)\n%s", err, ProbeExitStatus, out)
	}
}

// TestProbeAccelHere runs the real probe on this host and checks that the
// verdict is consistent with its reason. On the development host KVM is
// broken (QEMU aborts with "failed to set MSR 0x10a" or hangs), so the
// verdict there is TCG with that reason.
func TestProbeAccelHere(t *testing.T) {
	if _, err := exec.LookPath(DefaultQEMU); err != nil {
		t.Skip("no QEMU")
	}
	ctx := context.Background()
	p := Prober{CacheFile: filepath.Join(t.TempDir(), "probe.json")}
	start := time.Now()
	accel, reason, err := p.Resolve(ctx, AccelAuto)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("auto -> %s in %v: %s", accel, time.Since(start).Round(time.Millisecond), reason)
	if reason == "" {
		t.Error("no reason given")
	}
	switch accel {
	case AccelTCG:
		if !strings.HasPrefix(reason, "KVM unusable") {
			t.Errorf("TCG verdict with reason %q", reason)
		}
		if _, _, err := p.Resolve(ctx, AccelKVM); err == nil {
			t.Error("forced kvm succeeded although auto chose TCG")
		} else {
			t.Logf("forced kvm: %v", err)
		}
	case AccelKVM:
		if !strings.Contains(reason, "ran guest code") {
			t.Errorf("KVM verdict with reason %q", reason)
		}
	default:
		t.Fatalf("auto resolved to %q", accel)
	}

	// The verdict is cached for the same QEMU and host kernel.
	accel2, reason2, err := p.Resolve(ctx, AccelAuto)
	if err != nil || accel2 != accel || !strings.Contains(reason2, "cached") {
		t.Errorf("second Resolve = %s, %q, %v; want cached %s", accel2, reason2, err, accel)
	}

	if a, r, err := p.Resolve(ctx, AccelTCG); a != AccelTCG || err != nil || r == "" {
		t.Errorf("Resolve(tcg) = %s, %q, %v", a, r, err)
	}
	if _, _, err := p.Resolve(ctx, "bogus"); err == nil {
		t.Error("Resolve(bogus) succeeded")
	}
}

func TestStderrSuffix(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"qemu-system-x86_64: warning: host doesn't support requested feature\nqemu-system-x86_64: error: failed to set MSR 0x10a to 0x69\nqemu: kvm.c:3183: Assertion failed.\n",
			": qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69"},
		{"warning: a\nlast words\nqemu-system-x86_64: terminating on signal 15 from pid 1\n", ": last words"},
	} {
		if got := stderrSuffix(tc.in); got != tc.want {
			t.Errorf("stderrSuffix(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
