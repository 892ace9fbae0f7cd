package vm

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ktest-dev/ktest/remote"
)

func TestPortInUse(t *testing.T) {
	stderr := "qemu-system-x86_64: -netdev user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:36847-:22: Could not set up host forwarding rule 'tcp:127.0.0.1:36847-:22'\n"
	pe, ok := portInUse(stderr)
	if !ok || pe.port != 36847 {
		t.Fatalf("portInUse = %v, %v; want port 36847", pe, ok)
	}
	if _, ok := portInUse("qemu-system-x86_64: could not load kernel 'k'\n"); ok {
		t.Error("portInUse matched an unrelated error")
	}
}

// takenPort returns a port held by a listener until the test ends.
func takenPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l.Addr().(*net.TCPAddr).Port
}

// TestStartPortTaken runs real QEMU, which fails at its network setup
// before it looks at the (fake) kernel: a port Start picked is retried
// with a new one, a port the caller chose is reported.
func TestStartPortTaken(t *testing.T) {
	if _, err := exec.LookPath(DefaultQEMU); err != nil {
		t.Skip("no QEMU")
	}
	keys, err := remote.GenerateKeys()
	if err != nil {
		t.Fatal(err)
	}
	fakeKernel := filepath.Join(t.TempDir(), "bzImage")
	if err := os.WriteFile(fakeKernel, []byte("not a kernel"), 0o644); err != nil {
		t.Fatal(err)
	}
	taken := takenPort(t)

	t.Run("caller's port", func(t *testing.T) {
		o := Options{Kernel: fakeKernel, Image: &Image{Keys: keys}, Accel: AccelTCG, Devices: []Device{Net{HostPort: taken}}}
		_, err := start(context.Background(), o)
		var ie *InfraError
		if !errors.As(err, &ie) || !strings.Contains(ie.Title, "in use") || KernelFault(err) {
			t.Fatalf("Start = %v, want the host's InfraError about the port", err)
		}
	})
	t.Run("picked port", func(t *testing.T) {
		var handed []int
		freePort = func() int {
			p := pickFreePort()
			if len(handed) == 0 {
				p = taken // lose the race once
			}
			handed = append(handed, p)
			return p
		}
		defer func() { freePort = pickFreePort }()
		o := Options{Kernel: fakeKernel, Image: &Image{Keys: keys}, Accel: AccelTCG}
		_, err := start(context.Background(), o)
		// The retry gets past the network, and QEMU refuses the fake
		// kernel: an error of QEMU's own (exit status 1), not a kernel
		// that booted and failed.
		var ie *InfraError
		if !errors.As(err, &ie) || strings.Contains(ie.Title, "in use") || !strings.Contains(ie.Title, "exit status 1") {
			t.Fatalf("Start = %v, want QEMU to refuse the fake kernel after a port retry", err)
		}
		if len(handed) != 2 {
			t.Errorf("ports handed out: %v, want 2 (the taken one, then a free one)", handed)
		}
		t.Logf("after retry: %v", err)
	})
}
