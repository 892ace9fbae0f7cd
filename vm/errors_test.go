package vm

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"testing"

	"github.com/ktest-dev/ktest/console"
)

// TestFaultKinds: what the guest did is the kernel's fault, what the
// host did is not, whatever wraps them.
func TestFaultKinds(t *testing.T) {
	crash := &console.Crash{Kind: console.KindSoftLockup, Title: "watchdog: BUG: soft lockup - CPU#0 stuck for 22s!"}
	tests := []struct {
		name         string
		err          error
		kernel, host bool
	}{
		{"crash during boot", &BootError{Title: "x", Crash: crash}, true, false},
		{"silent console", &BootError{Title: "x", Silent: true}, true, false},
		{"crash while running", fmt.Errorf("target ext4: %w", crash), true, false},
		{"frozen guest", &GuestError{Froze: true, Err: context.DeadlineExceeded}, true, false},
		{"port in use", &InfraError{Title: "host port 1 is in use"}, false, true},
		{"QEMU killed", fmt.Errorf("stage boot: %w", &InfraError{Title: "QEMU exited (signal: killed)"}), false, true},
		{"a timeout alone", context.DeadlineExceeded, false, false},
		{"anything else", errors.New("disk full"), false, false},
	}
	for _, tc := range tests {
		if got := KernelFault(tc.err); got != tc.kernel {
			t.Errorf("%s: KernelFault = %v", tc.name, got)
		}
		if got := HostFault(tc.err); got != tc.host {
			t.Errorf("%s: HostFault = %v", tc.name, got)
		}
	}
}

// TestExitedByHost: QEMU killed by a signal or failing on its own is the
// host; a guest that reset or powered off makes QEMU exit 0.
func TestExitedByHost(t *testing.T) {
	run := func(script string) error { return exec.Command("/bin/sh", "-c", script).Run() }
	for _, tc := range []struct {
		script string
		want   bool
	}{
		{"exit 0", false},
		{"exit 1", true},
		{"kill -9 $$", true},
		{"kill -TERM $$", true},
	} {
		if got := exitedByHost(run(tc.script)); got != tc.want {
			t.Errorf("%q: exitedByHost = %v, want %v", tc.script, got, tc.want)
		}
	}
}
