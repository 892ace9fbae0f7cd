package vm

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ktest-dev/ktest/remote"
)

// fakeQEMU writes a shell script standing in for QEMU: it appends its
// arguments to a log, then behaves as script says (the script sees the
// arguments as "$*").
func fakeQEMU(t *testing.T, script string) (bin, log string) {
	t.Helper()
	dir := t.TempDir()
	bin, log = filepath.Join(dir, "qemu"), filepath.Join(dir, "args.log")
	body := "#!/bin/sh\necho \"$*\" >> " + log + "\n" + script + "\n"
	if err := os.WriteFile(bin, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin, log
}

// fakeKVM is a readable stand-in for /dev/kvm.
func fakeKVM(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "kvm")
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// The kinds of host a probe meets, played by a fake QEMU.
const (
	qemuPrints = `echo "Linux version 6.1.0 (fake)"; exec sleep 30`
	qemuSilent = `exec sleep 30`
	qemuAborts = `echo "qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69" >&2; exit 134`
)

func TestProbeKVM(t *testing.T) {
	kvm := fakeKVM(t)
	tests := []struct {
		name, script string
		kvmDevice    string
		ok           bool
		reason       string
	}{
		{"Linux prints", qemuPrints, kvm, true, "Linux printed its first console line"},
		{"Linux silent", qemuSilent, kvm, false, "Linux printed nothing on the console within 500ms under KVM"},
		{"QEMU aborts", qemuAborts, kvm, false, "error: failed to set MSR 0x10a"},
		{"no /dev/kvm", qemuPrints, "/nonexistent/kvm", false, "no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bin, log := fakeQEMU(t, tc.script)
			p := Prober{QEMU: bin, Kernel: "bzImage", Timeout: 500 * time.Millisecond, kvmDevice: tc.kvmDevice}
			start := time.Now()
			ok, reason, err := p.ProbeKVM(context.Background())
			if err != nil || ok != tc.ok || !strings.Contains(reason, tc.reason) {
				t.Errorf("ProbeKVM = %v, %q, %v; want %v with %q", ok, reason, err, tc.ok, tc.reason)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("probe took %v: the fake QEMU was not killed", d)
			}
			if tc.kvmDevice == kvm {
				args, _ := os.ReadFile(log)
				for _, want := range []string{"-accel kvm", "-cpu host", "-kernel bzImage", "-serial stdio"} {
					if !strings.Contains(string(args), want) {
						t.Errorf("probe command %q lacks %q", args, want)
					}
				}
				if strings.Contains(string(args), "-initrd") {
					t.Errorf("probe boots with an initramfs: %q", args)
				}
			}
		})
	}
}

func TestResolve(t *testing.T) {
	kvm := fakeKVM(t)
	ctx := context.Background()
	good, _ := fakeQEMU(t, qemuPrints)
	bad, _ := fakeQEMU(t, qemuSilent)
	probe := func(bin string) Prober {
		return Prober{QEMU: bin, Kernel: "bzImage", Timeout: 300 * time.Millisecond, kvmDevice: kvm,
			CacheFile: filepath.Join(t.TempDir(), "probe.json")}
	}
	tests := []struct {
		name      string
		p         Prober
		want      Accel
		wantAccel Accel
		errKVM    bool
		reason    string
	}{
		{"auto, KVM runs Linux", probe(good), AccelAuto, AccelKVM, false, "first console line"},
		{"auto, KVM silent", probe(bad), AccelAuto, AccelTCG, false, "KVM unusable, using TCG: KVM probe: Linux printed nothing"},
		{"kvm, KVM silent", probe(bad), AccelKVM, "", true, "printed nothing"},
		{"tcg", probe(bad), AccelTCG, AccelTCG, false, "TCG requested"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := tc.p.Resolve(ctx, tc.want)
			var ae *AccelError
			if tc.errKVM != errors.As(err, &ae) || v.Accel != tc.wantAccel || !strings.Contains(v.Reason, tc.reason) {
				t.Fatalf("Resolve(%s) = %+v, %v", tc.want, v, err)
			}
			if tc.want == AccelTCG {
				return
			}
			// The choice is cached for the same QEMU, host kernel and CPU.
			v2, err2 := tc.p.Resolve(ctx, tc.want)
			if !v2.Cached || v2.Accel != v.Accel || (err2 == nil) != (err == nil) {
				t.Errorf("second Resolve = %+v, %v; want the cached choice", v2, err2)
			}
		})
	}
	if _, err := probe(good).Resolve(ctx, "bogus"); err == nil {
		t.Error("Resolve(bogus) succeeded")
	}

	// A probe result older than the TTL is probed again, and Record
	// overrides the cache (a real boot found KVM silent).
	p := probe(good)
	p.CacheTTL = time.Hour
	if v, _ := p.Resolve(ctx, AccelAuto); v.Accel != AccelKVM || v.Cached {
		t.Fatalf("first probe %+v", v)
	}
	p.Record(false, "real boot silent")
	if v, _ := p.Resolve(ctx, AccelAuto); v.Accel != AccelTCG || !v.Cached || !strings.Contains(v.Reason, "real boot silent") {
		t.Errorf("after Record: %+v", v)
	}
	p.CacheTTL = time.Nanosecond
	if v, _ := p.Resolve(ctx, AccelAuto); v.Accel != AccelKVM || v.Cached {
		t.Errorf("after the TTL: %+v, want a fresh probe", v)
	}
}

// TestPoolClock: every boot of a pool gets the clock asked for, resolved
// on the accelerator chosen; asking for the instructions clock is asking
// for TCG, so a KVM host is not probed, and with kvm forced it is an error.
func TestPoolClock(t *testing.T) {
	kvm := fakeKVM(t)
	good, log := fakeQEMU(t, qemuPrints)
	ctx := context.Background()
	for _, tc := range []struct {
		want      Accel
		clock     Clock
		wantAccel Accel
		wantClock Clock
		err       string
	}{
		{AccelAuto, ClockAuto, AccelKVM, ClockHost, ""},
		{AccelTCG, ClockAuto, AccelTCG, ClockInstructions, ""},
		{AccelAuto, ClockInstructions, AccelTCG, ClockInstructions, ""},
		{AccelTCG, ClockHost, AccelTCG, ClockHost, ""},
		{AccelAuto, "", AccelKVM, ClockHost, ""},
		{AccelKVM, ClockInstructions, "", "", "needs TCG"},
	} {
		pool := &Pool{Want: tc.want, Clock: tc.clock, Prober: Prober{QEMU: good, Kernel: "bzImage", Timeout: 2 * time.Second,
			kvmDevice: kvm, CacheFile: filepath.Join(t.TempDir(), "probe.json")}}
		_ = os.Remove(log)
		v, err := pool.Resolve(ctx, "bzImage")
		if _, err := os.Stat(log); tc.clock == ClockInstructions && err == nil {
			t.Errorf("%s/%s: KVM was probed for a clock that needs TCG", tc.want, tc.clock)
		}
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s/%s: Resolve = %+v, %v; want an error with %q", tc.want, tc.clock, v, err, tc.err)
			}
			continue
		}
		if err != nil || v.Accel != tc.wantAccel || v.Clock != tc.wantClock {
			t.Errorf("%s/%s: Resolve = %+v, %v; want %s with clock %s", tc.want, tc.clock, v, err, tc.wantAccel, tc.wantClock)
		}
	}
}

// TestPoolFallsBack plays a host whose KVM passes the probe but whose
// real boots print nothing: the pool stops the silent KVM boot, retries
// under TCG, remembers TCG for later boots and tells the probe cache;
// once a boot of the pool came up under KVM, it refuses instead.
func TestPoolFallsBack(t *testing.T) {
	kvm := fakeKVM(t)
	// Prints for the probe (no initramfs), silent for real boots under
	// KVM; under TCG it prints but never answers SSH.
	bin, log := fakeQEMU(t, `case "$*" in *"-accel kvm"*"-initrd"*) exec sleep 30;; esac; echo "Linux version (fake)"; exec sleep 30`)
	keys, err := remote.GenerateKeys()
	if err != nil {
		t.Fatal(err)
	}
	var said strings.Builder
	pool := &Pool{Want: AccelAuto, Clock: ClockAuto, Log: &said,
		Prober: Prober{QEMU: bin, Timeout: 2 * time.Second, kvmDevice: kvm, CacheFile: filepath.Join(t.TempDir(), "probe.json")}}
	o := Options{QEMU: bin, Kernel: "bzImage", Image: &Image{Path: "initrd.cpio", Keys: keys}, CPUs: 1, BootTimeout: 1500 * time.Millisecond, SilenceTimeout: 500 * time.Millisecond}
	_, err = pool.Start(context.Background(), o)
	var be *BootError
	if !errors.As(err, &be) || be.Silent {
		t.Fatalf("Start = %v; want the TCG retry's non-silent BootError", err)
	}
	v := pool.AccelChoice()
	if v.Accel != AccelTCG || !strings.Contains(v.Reason, "KVM boot of bzImage failed (the kernel printed nothing on the console within 500ms under KVM); retried under TCG") {
		t.Errorf("choice after fallback: %+v", v)
	}
	if !strings.Contains(said.String(), "retried under TCG") {
		t.Errorf("pool log %q does not name the fallback", said.String())
	}
	args, _ := os.ReadFile(log)
	lines := strings.Split(strings.TrimSpace(string(args)), "\n")
	if len(lines) != 3 || strings.Contains(lines[0], "-initrd") || !strings.Contains(lines[1], "-accel kvm") || !strings.Contains(lines[2], "-accel tcg") {
		t.Errorf("QEMU runs: probe, KVM boot, TCG boot expected; got\n%s", args)
	}
	// The clock follows the accelerator: the host's under KVM, counted
	// instructions for the TCG retry and every boot after it.
	if len(lines) == 3 && (strings.Contains(lines[1], "-icount") || !strings.Contains(lines[2], "-icount shift=3,sleep=on")) {
		t.Errorf("clock arguments: KVM boot %q, TCG retry %q; want -icount on the retry only", lines[1], lines[2])
	}
	if v.Clock != ClockInstructions {
		t.Errorf("clock after the fallback: %q, want instructions", v.Clock)
	}
	// The next boot goes straight to TCG, and so does the next run.
	_, _ = pool.Start(context.Background(), o) // the boot fails by design: the log is what is checked
	args, _ = os.ReadFile(log)
	if n := strings.Count(string(args), "-accel kvm"); n != 2 {
		t.Errorf("%d KVM runs after the fallback, want 2 (probe and the silent boot)", n)
	}
	if v, _ := pool.Prober.Resolve(context.Background(), AccelAuto); v.Accel != AccelTCG || !v.Cached {
		t.Errorf("probe cache after the fallback: %+v", v)
	}

	// After a boot of the pool came up under KVM, a silent one is the
	// host's failure, not retried: TCG's times would be mixed with KVM's.
	if err := os.Truncate(log, 0); err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(t.TempDir(), "probe.json")
	pool = &Pool{Want: AccelAuto, Clock: ClockAuto,
		Prober: Prober{QEMU: bin, Timeout: 2 * time.Second, kvmDevice: kvm, CacheFile: cache}}
	if _, err := pool.Resolve(context.Background(), "bzImage"); err != nil {
		t.Fatal(err)
	}
	pool.booted = true // as after a KVM boot that came up
	_, err = pool.Start(context.Background(), o)
	var ie *InfraError
	if !errors.As(err, &ie) || !strings.Contains(ie.Title, "after earlier boots under KVM had come up") || !strings.Contains(ie.Title, "next run uses TCG") {
		t.Errorf("silent KVM boot after one came up: %v; want an InfraError that says why", err)
	}
	if args, _ := os.ReadFile(log); strings.Contains(string(args), "-accel tcg") {
		t.Errorf("retried under TCG after a KVM boot had come up:\n%s", args)
	}
	if v := pool.AccelChoice(); v.Accel != AccelKVM {
		t.Errorf("the pool's choice changed to %+v", v)
	}
	if v, _ := pool.Prober.Resolve(context.Background(), AccelAuto); v.Accel != AccelTCG || !v.Cached {
		t.Errorf("probe cache after the refusal: %+v, want TCG for the next run", v)
	}

	// With kvm asked for, a silent boot is not retried.
	pool = &Pool{Want: AccelKVM, Prober: Prober{QEMU: bin, Timeout: 2 * time.Second, kvmDevice: kvm}}
	_, err = pool.Start(context.Background(), o)
	if !errors.As(err, &be) || !be.Silent || !strings.Contains(be.Title, "printed nothing") {
		t.Errorf("kvm forced: %v; want the silent BootError", err)
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
