package vm_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ktest-dev/ktest/console"
	"github.com/ktest-dev/ktest/initramfs"
	"github.com/ktest-dev/ktest/internal/cachedir"
	"github.com/ktest-dev/ktest/kbuild"
	"github.com/ktest-dev/ktest/remote"
	"github.com/ktest-dev/ktest/vm"
)

// These tests boot a real kernel: $KTEST_KERNEL, or the default kernel
// from the ktest cache, built first on a cold machine (kbuild serialises
// concurrent builds, so other packages' tests wait rather than rebuild).
// The guest image is built (and cached) by initramfs.Build.

func testKernel(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("boots a VM")
	}
	if k := os.Getenv("KTEST_KERNEL"); k != "" {
		return k
	}
	cache, err := kbuild.OpenCache("")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Minute)
	defer cancel()
	k, err := kbuild.DefaultKernel(ctx, cache, io.Discard)
	if err != nil {
		t.Fatalf("default kernel: %v", err)
	}
	return k.BzImage
}

// testPool is ktest's launch path with the accelerator resolved the way
// ktest does, by booting a kernel under KVM (a probe result cached in the
// ktest cache).
func testPool(t *testing.T) *vm.Pool {
	t.Helper()
	return &vm.Pool{Want: vm.AccelAuto, Prober: vm.Prober{CacheFile: vm.ProbeCacheFile(cachedir.Dir())}, Log: testWriter{t}}
}

// testWriter logs to the test.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// bootOptions returns options for the test kernel with a fresh guest
// image and keys, and the pool that boots them.
func bootOptions(t *testing.T) (vm.Options, *vm.Pool) {
	t.Helper()
	kernel := testKernel(t)
	image, err := initramfs.Build(context.Background(), initramfs.Options{OutDir: t.TempDir()})
	if err != nil {
		t.Fatalf("guest image: %v", err)
	}
	return vm.Options{
		Kernel:      kernel,
		Image:       image,
		Devices:     []vm.Device{vm.RNG{}},
		BootTimeout: 2 * time.Minute,
	}, testPool(t)
}

// qemuChildren lists the QEMU processes whose parent is this test.
func qemuChildren(t *testing.T) []string {
	t.Helper()
	self := strconv.Itoa(os.Getpid())
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var found []string
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		comm := s[strings.IndexByte(s, '(')+1 : i]
		fields := strings.Fields(s[i+1:])
		if len(fields) > 1 && fields[1] == self && strings.Contains(comm, "qemu") {
			found = append(found, p)
		}
	}
	return found
}

func checkNoQEMU(t *testing.T) {
	t.Helper()
	// Reaping is synchronous in Close, but give /proc a moment.
	deadline := time.Now().Add(2 * time.Second)
	for {
		q := qemuChildren(t)
		if len(q) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("QEMU still running after Close: %v", q)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestBootRun(t *testing.T) {
	opts, pool := bootOptions(t)
	opts.Devices = append(opts.Devices, vm.Disk{ID: "scratch", Serial: "ktest-scratch", Size: 64 << 20})
	opts.KernelArgs = []string{"ktest.marker=42"} // a plan's kernel_args
	ctx := context.Background()
	start := time.Now()
	inst, err := pool.Start(ctx, opts)
	if err != nil {
		var be *vm.BootError
		if errors.As(err, &be) {
			t.Fatalf("%v\n%s", err, be.Output)
		}
		t.Fatal(err)
	}
	t.Logf("boot to SSH: %v", time.Since(start).Round(time.Millisecond))
	runDir := filepath.Dir(inst.ConsoleLog())
	defer func() { _ = inst.Close() }() // teardown: nothing is written through it any more

	t.Run("filesystems", func(t *testing.T) {
		var out bytes.Buffer
		code, err := inst.Run(ctx, "uname -a; cat /proc/filesystems", &out, &out)
		if err != nil || code != 0 {
			t.Fatalf("Run = %d, %v\n%s", code, err, out.String())
		}
		for _, fs := range []string{"Linux", "ext4", "xfs", "btrfs"} {
			if !strings.Contains(out.String(), fs) {
				t.Errorf("output lacks %q:\n%s", fs, out.String())
			}
		}
	})
	t.Run("kernel args reach the guest", func(t *testing.T) {
		var out bytes.Buffer
		code, err := inst.Run(ctx, "cat /proc/cmdline", &out, &out)
		if err != nil || code != 0 {
			t.Fatalf("Run = %d, %v\n%s", code, err, out.String())
		}
		if got := strings.Fields(out.String()); len(got) == 0 || got[len(got)-1] != "ktest.marker=42" {
			t.Errorf("/proc/cmdline = %q, want it to end with ktest.marker=42", out.String())
		}
	})
	t.Run("exit status", func(t *testing.T) {
		code, err := inst.Run(ctx, "exit 3", nil, nil)
		if err != nil || code != 3 {
			t.Errorf("Run(exit 3) = %d, %v; want 3, nil", code, err)
		}
	})
	t.Run("disk serial", func(t *testing.T) {
		var out bytes.Buffer
		code, err := inst.Run(ctx, "cat /sys/block/vda/serial; echo; cat /sys/block/vda/size", &out, &out)
		if err != nil || code != 0 {
			t.Fatalf("Run = %d, %v\n%s", code, err, out.String())
		}
		if want := "ktest-scratch\n131072\n"; out.String() != want {
			t.Errorf("disk: got %q, want %q", out.String(), want)
		}
	})
	t.Run("put get", func(t *testing.T) {
		data := bytes.Repeat([]byte("ktest\n"), 1000)
		if err := inst.Put(ctx, bytes.NewReader(data), "/tmp/x", 0o644); err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		if err := inst.Get(ctx, "/tmp/x", &got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), data) {
			t.Errorf("Get returned %d bytes, want %d", got.Len(), len(data))
		}
	})
	t.Run("command timeout kills the VM", func(t *testing.T) {
		// Last: the instance is unusable afterwards.
		tctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		start := time.Now()
		_, err := inst.Run(tctx, "sleep 60", nil, nil)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Run(sleep 60) with 2s timeout = %v, want deadline exceeded", err)
		}
		if d := time.Since(start); d > 15*time.Second {
			t.Errorf("timeout took %v", d)
		}
		select {
		case <-inst.Exited():
		case <-time.After(5 * time.Second):
			t.Fatal("VM still running after a command timeout")
		}
	})
	if err := inst.Close(); err != nil {
		t.Error(err)
	}
	if err := inst.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := os.Stat(runDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("run dir %s not removed: %v", runDir, err)
	}
	if _, err := inst.Run(ctx, "true", nil, nil); !errors.Is(err, vm.ErrClosed) {
		t.Errorf("Run after Close = %v, want ErrClosed", err)
	}
	checkNoQEMU(t)
}

// TestCrash: a panic while a command runs fails the command with the
// kernel's report, and leaves no QEMU behind.
func TestCrash(t *testing.T) {
	opts, pool := bootOptions(t)
	ctx := context.Background()
	inst, err := pool.Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = inst.Close() }() // teardown: nothing is written through it any more

	// A WARNING-free boot has no reports.
	if cs := inst.Crashes(); len(cs) != 0 {
		t.Fatalf("crashes during boot: %v", cs)
	}
	rctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	start := time.Now()
	_, err = inst.Run(rctx, "echo c > /proc/sysrq-trigger", nil, nil)
	var crash *console.Crash
	if !errors.As(err, &crash) {
		t.Fatalf("Run(sysrq c) = %v, want a *console.Crash", err)
	}
	t.Logf("crash after %v: %s\n%s", time.Since(start).Round(time.Millisecond), crash, crash.Excerpt)
	if crash.Kind != console.KindPanic || !strings.Contains(crash.Title, "sysrq triggered crash") {
		t.Errorf("crash = %v %q, want a panic titled sysrq triggered crash", crash.Kind, crash.Title)
	}
	select {
	case <-inst.Exited():
	case <-time.After(10 * time.Second):
		t.Error("VM still running after a panic")
	}
	// Later commands fail, naming the crash that killed the VM.
	if _, err := inst.Run(ctx, "true", nil, nil); !errors.As(err, &crash) {
		t.Errorf("Run on the dead VM = %v, want the crash", err)
	}
	if err := inst.Close(); err != nil {
		t.Error(err)
	}
	checkNoQEMU(t)
}

// TestBootFailures: a kernel that cannot find init panics during boot,
// and a boot that takes too long times out; both are BootErrors, and
// cancelling ctx kills the VM.
func TestBootFailures(t *testing.T) {
	kernel := testKernel(t)
	keys, err := remote.GenerateKeys()
	if err != nil {
		t.Fatal(err)
	}
	pool := testPool(t)
	empty := filepath.Join(t.TempDir(), "empty.cpio")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	opts := vm.Options{Kernel: kernel, Image: &vm.Image{Path: empty, Keys: keys}, BootTimeout: 90 * time.Second}

	t.Run("panic during boot", func(t *testing.T) {
		_, err := pool.Start(context.Background(), opts)
		var be *vm.BootError
		var crash *console.Crash
		if !errors.As(err, &be) || !errors.As(err, &crash) {
			t.Fatalf("Start = %v, want a BootError carrying a Crash", err)
		}
		if crash.Kind != console.KindPanic {
			t.Errorf("crash kind %v, want panic: %s", crash.Kind, crash.Title)
		}
		if !strings.Contains(be.Output, "Kernel panic") {
			t.Errorf("BootError output lacks the panic:\n%s", be.Output)
		}
		checkNoQEMU(t)
	})
	t.Run("boot timeout", func(t *testing.T) {
		o := opts
		o.BootTimeout = time.Second
		start := time.Now()
		_, err := pool.Start(context.Background(), o)
		var be *vm.BootError
		if !errors.As(err, &be) || !strings.Contains(be.Title, "within 1s") {
			t.Fatalf("Start = %v, want a boot timeout", err)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("1s boot timeout took %v", d)
		}
		checkNoQEMU(t)
	})
	t.Run("ctx cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(500*time.Millisecond, cancel)
		_, err := pool.Start(ctx, opts)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Start = %v, want context.Canceled", err)
		}
		checkNoQEMU(t)
	})
}

// TestHungTask freezes an ext4 filesystem and writes to it: the writer
// sleeps uninterruptibly, the kernel's hung-task detector reports it, and
// the command fails with that report although it never finishes.
func TestHungTask(t *testing.T) {
	opts, pool := bootOptions(t)
	opts.Devices = append(opts.Devices, vm.Disk{ID: "scratch", Serial: "scratch", Size: 64 << 20})
	freeze := filepath.Join(t.TempDir(), "fsfreeze")
	build := exec.Command("go", "build", "-o", freeze, "./testdata/fsfreeze")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build fsfreeze: %v\n%s", err, out)
	}
	ctx := context.Background()
	inst, err := pool.Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = inst.Close() }() // teardown: nothing is written through it any more
	f, err := os.Open(freeze)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }() // teardown: nothing is written through it any more
	if err := inst.Put(ctx, f, "/tmp/fsfreeze", 0o755); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	setup := "mkfs.ext4 -q /dev/vda && mkdir -p /mnt/s && mount -t ext4 /dev/vda /mnt/s && " +
		"echo 2 > /proc/sys/kernel/hung_task_timeout_secs && /tmp/fsfreeze -f /mnt/s"
	if code, err := inst.Run(ctx, setup, nil, &stderr); code != 0 || err != nil {
		t.Fatalf("setup: %d, %v\n%s", code, err, stderr.String())
	}

	rctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	start := time.Now()
	_, err = inst.Run(rctx, "echo x > /mnt/s/file", nil, nil)
	var crash *console.Crash
	if !errors.As(err, &crash) {
		t.Fatalf("write to a frozen fs = %v, want a hung-task report", err)
	}
	t.Logf("report after %v: %s\n%s", time.Since(start).Round(time.Millisecond), crash, crash.Excerpt)
	if crash.Kind != console.KindHungTask || !strings.Contains(crash.Excerpt, "Call Trace:") {
		t.Errorf("crash %v %q, want a hung task with its stack", crash.Kind, crash.Title)
	}

	// The kernel is fine: thaw, and the VM keeps working.
	stderr.Reset()
	if code, err := inst.Run(ctx, "/tmp/fsfreeze -u /mnt/s && umount /mnt/s", nil, &stderr); code != 0 || err != nil {
		t.Errorf("thaw: %d, %v\n%s", code, err, stderr.String())
	}
	if err := inst.Close(); err != nil {
		t.Error(err)
	}
	checkNoQEMU(t)
}
