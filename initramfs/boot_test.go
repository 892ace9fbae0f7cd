package initramfs

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ktest-dev/ktest/guest/proto"
	"github.com/ktest-dev/ktest/remote"
)

// TestBootAgent boots KTEST_KERNEL (a bzImage) under QEMU with the real
// image, drives the agent over SSH and powers the guest off. A hand check
// of the guest side; the production QEMU wrapper lives in package vm.
//
//	KTEST_KERNEL=~/.cache/ktest/kernels/<key>/bzImage go test -run TestBootAgent -v ./initramfs
//
// KTEST_CONSOLE=1 logs the serial console; KTEST_ACCEL=kvm uses KVM.
func TestBootAgent(t *testing.T) {
	kernel := os.Getenv("KTEST_KERNEL")
	if kernel == "" {
		t.Skip("set KTEST_KERNEL to a bzImage to boot")
	}
	accel := os.Getenv("KTEST_ACCEL")
	if accel == "" {
		accel = "tcg"
	}
	keys, err := remote.GenerateKeys()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	image, err := Build(ctx, Options{Keys: keys, OutDir: t.TempDir(), Log: testLog{t}})
	if err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	console := &syncBuffer{}
	qemu := exec.Command("qemu-system-x86_64",
		"-accel", accel, "-m", "1G", "-smp", "2", "-nographic", "-no-reboot",
		"-kernel", kernel, "-initrd", image,
		"-append", "console=ttyS0 panic=-1 quiet",
		"-netdev", fmt.Sprintf("user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:%d-:%d", port, proto.AgentPort),
		"-device", "virtio-net-pci,netdev=n0",
		"-device", "virtio-rng-pci",
	)
	qemu.Stdout, qemu.Stderr = console, console
	start := time.Now()
	if err := qemu.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var qemuErr error
	go func() {
		qemuErr = qemu.Wait()
		close(exited)
	}()
	defer func() {
		qemu.Process.Kill() // no-op once it exited
		<-exited
		if t.Failed() || os.Getenv("KTEST_CONSOLE") != "" {
			t.Logf("console:\n%s", console.String())
		}
	}()

	// A guest that dies (panic=-1, -no-reboot) ends the wait for SSH.
	dialCtx, dialCancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-exited:
			dialCancel()
		case <-dialCtx.Done():
		}
	}()
	c, err := remote.Dial(dialCtx, fmt.Sprintf("127.0.0.1:%d", port), keys.HostSigner.PublicKey(), keys.ClientSigner)
	dialCancel()
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	ready := time.Since(start)

	var out, errOut bytes.Buffer
	code, err := c.Run(ctx, "uname -a; cat /proc/filesystems", &out, &errOut)
	if err != nil || code != 0 {
		t.Fatalf("Run = %d, %v; stderr %q", code, err, errOut.String())
	}
	for _, fs := range []string{"Linux", "ext4", "xfs", "btrfs"} {
		if !strings.Contains(out.String(), fs) {
			t.Errorf("uname/filesystems output lacks %q:\n%s", fs, out.String())
		}
	}
	t.Logf("guest: %s", strings.SplitN(out.String(), "\n", 2)[0])
	if code, err := c.Run(ctx, "exit 3", nil, nil); err != nil || code != 3 {
		t.Errorf("exit 3 = %d, %v", code, err)
	}
	// Host tools run with their libraries.
	out.Reset()
	errOut.Reset()
	code, err = c.Run(ctx, "fio --version; mkfs.ext4 -V; mkfs.xfs -V; mkfs.btrfs --version", &out, &errOut)
	if err != nil || code != 0 {
		t.Errorf("host tools = %d, %v\n%s%s", code, err, out.String(), errOut.String())
	}
	t.Logf("tools: %q", strings.Fields(out.String()+errOut.String()))

	blob := make([]byte, 1<<20)
	rand.Read(blob)
	if err := c.Put(ctx, bytes.NewReader(blob), "/tmp/blob", 0o600); err != nil {
		t.Fatal(err)
	}
	var back bytes.Buffer
	if err := c.Get(ctx, "/tmp/blob", &back); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back.Bytes(), blob) {
		t.Error("Get returned other bytes than Put stored")
	}

	offStart := time.Now()
	if err := c.PowerOff(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
		if qemuErr != nil {
			t.Errorf("qemu: %v", qemuErr)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("QEMU still running 60s after PowerOff")
	}
	if !strings.Contains(console.String(), proto.AgentReadyLine) {
		t.Errorf("console lacks %q", proto.AgentReadyLine)
	}
	t.Logf("QEMU start to agent ready line: %v; to SSH session up: %v; power-off to QEMU exit: %v",
		console.readyAt().Sub(start).Round(time.Millisecond), ready.Round(time.Millisecond), time.Since(offStart).Round(time.Millisecond))
	for _, line := range strings.Split(console.String(), "\n") {
		if strings.Contains(line, "ktest-agent") {
			t.Logf("console: %s", strings.TrimSpace(line))
		}
	}
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

type syncBuffer struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	ready time.Time // when the agent's ready line showed up
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.buf.Write(p)
	if b.ready.IsZero() && bytes.Contains(b.buf.Bytes(), []byte(proto.AgentReadyLine)) {
		b.ready = time.Now()
	}
	return n, err
}

func (b *syncBuffer) readyAt() time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ready
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
