package initramfs

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ktest-dev/ktest/guest/proto"
	"github.com/ktest-dev/ktest/vm"
)

// TestBootAgent boots KTEST_KERNEL (a bzImage) with the real image
// through ktest's launch path and checks the guest side: the agent's
// ready line, commands and their status, the host tools with their
// libraries, file transfer, and a clean power-off. A hand check; package
// vm's tests boot the cached default kernel on every run.
//
//	KTEST_KERNEL=~/.cache/ktest/kernels/<key>/bzImage go test -run TestBootAgent -v ./initramfs
//
// KTEST_ACCEL=kvm or tcg chooses the accelerator (default: auto).
func TestBootAgent(t *testing.T) {
	kernel := os.Getenv("KTEST_KERNEL")
	if kernel == "" {
		t.Skip("set KTEST_KERNEL to a bzImage to boot")
	}
	want, err := vm.ParseAccel(os.Getenv("KTEST_ACCEL"))
	if os.Getenv("KTEST_ACCEL") == "" {
		want, err = vm.AccelAuto, nil
	}
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	image, err := Build(ctx, Options{OutDir: t.TempDir(), Log: testLog{t}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = image.Remove() }() // test cleanup: best effort
	pool := &vm.Pool{Want: want}
	start := time.Now()
	inst, err := pool.Start(ctx, vm.Options{Kernel: kernel, Image: image, Devices: []vm.Device{vm.RNG{}}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = inst.Close() }() // test cleanup: best effort
	t.Logf("%s: agent answered SSH after %v", pool.AccelChoice().Accel, time.Since(start).Round(time.Millisecond))

	var out, errOut bytes.Buffer
	code, err := inst.Run(ctx, "uname -a; cat /proc/filesystems", &out, &errOut)
	if err != nil || code != 0 {
		t.Fatalf("Run = %d, %v; stderr %q", code, err, errOut.String())
	}
	for _, fs := range []string{"Linux", "ext4", "xfs", "btrfs"} {
		if !strings.Contains(out.String(), fs) {
			t.Errorf("uname/filesystems output lacks %q:\n%s", fs, out.String())
		}
	}
	if code, err := inst.Run(ctx, "exit 3", nil, nil); err != nil || code != 3 {
		t.Errorf("exit 3 = %d, %v", code, err)
	}
	// Host tools run with their libraries.
	out.Reset()
	errOut.Reset()
	code, err = inst.Run(ctx, "fio --version; mkfs.ext4 -V; mkfs.xfs -V; mkfs.btrfs --version", &out, &errOut)
	if err != nil || code != 0 {
		t.Errorf("host tools = %d, %v\n%s%s", code, err, out.String(), errOut.String())
	}

	blob := make([]byte, 1<<20)
	rand.Read(blob)
	if err := inst.Put(ctx, bytes.NewReader(blob), "/tmp/blob", 0o600); err != nil {
		t.Fatal(err)
	}
	var back bytes.Buffer
	if err := inst.Get(ctx, "/tmp/blob", &back); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back.Bytes(), blob) {
		t.Error("Get returned other bytes than Put stored")
	}
	console, _ := os.ReadFile(inst.ConsoleLog())
	if !strings.Contains(string(console), proto.AgentReadyLine) {
		t.Errorf("console lacks %q", proto.AgentReadyLine)
	}

	offStart := time.Now()
	if err := inst.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-inst.Exited():
		t.Logf("power-off to QEMU exit: %v", time.Since(offStart).Round(time.Millisecond))
	default:
		t.Error("QEMU still running after Close")
	}
}
