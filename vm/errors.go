// Whose fault: a failure is the kernel's (what the guest did) or the
// host's (what QEMU, the host's ports, files or network did). Runs
// blame a kernel, and per-patch runs a patch, only for the first kind;
// the second is retried or stops the run, never judged.

package vm

import (
	"errors"
	"fmt"
	"os/exec"
	"syscall"

	"github.com/ktest-dev/ktest/console"
)

// BootError is a VM whose kernel did not come up: it crashed, printed
// nothing, reset itself, or the guest agent never answered SSH while
// QEMU ran. It is the kernel's doing (or its image's), never the host's:
// those failures are *InfraError.
type BootError struct {
	Title string // one line: what went wrong
	// Output is the crash report if the kernel crashed, else the
	// console's last lines; then QEMU's stderr if it said anything.
	Output string
	// Silent is set when the kernel printed nothing at all on the
	// console within Options.SilenceTimeout: under KVM, the sign of a host whose
	// KVM runs firmware but not Linux.
	Silent bool
	// Crash is the kernel's crash report if the kernel crashed while
	// booting; errors.As finds it through BootError.
	Crash *console.Crash
	// Err is the cause when it is neither a crash nor a timeout;
	// errors.Is/As see it.
	Err error
}

func (e *BootError) Error() string { return "boot failed: " + e.Title }

// Unwrap makes errors.As see a crash during boot and the cause.
func (e *BootError) Unwrap() []error {
	var errs []error
	if e.Crash != nil {
		errs = append(errs, e.Crash)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// InfraError is a failure of the host, not of the kernel under test: a
// forwarded port that was taken, QEMU that could not start, exited with
// an error or was killed by a signal, disk images or a console log that
// could not be made, an SSH connection that broke while QEMU ran and
// the console showed no crash. Nothing about the kernel follows from it.
type InfraError struct {
	Title  string // one line: what went wrong on the host
	Output string // the console's last lines and QEMU's stderr, if any
	Err    error
}

func (e *InfraError) Error() string { return "host failure: " + e.Title }
func (e *InfraError) Unwrap() error { return e.Err }

// GuestError is what the guest did while an operation ran, other than
// print a crash report: it froze (stopped answering; Stack is what its
// kernel printed when an NMI asked it), or it reset or powered itself
// off without a report.
type GuestError struct {
	What  string // the operation, e.g. the command line
	Froze bool
	// Title is one line: "the guest froze during ..." or "the guest
	// reset ...".
	Title string
	// Stack is the kernel's account of what every CPU was doing: the
	// NMI's panic report, or the console's tail when it printed none.
	Stack string
	// Err is the cause: for a freeze, the deadline the operation missed.
	Err error
}

func (e *GuestError) Error() string { return e.Title }
func (e *GuestError) Unwrap() error { return e.Err }

// KernelFault reports whether err is the kernel's doing: a crash report,
// a boot that failed in the guest, a guest that froze or reset.
func KernelFault(err error) bool {
	var be *BootError
	var ge *GuestError
	var c *console.Crash
	return !HostFault(err) && (errors.As(err, &be) || errors.As(err, &ge) || errors.As(err, &c))
}

// HostFault reports whether err is the host's doing (an *InfraError).
func HostFault(err error) bool {
	var ie *InfraError
	return errors.As(err, &ie)
}

// exitedByHost reports whether a QEMU that ended with err (Wait's
// result) was stopped by the host: killed by a signal, or exited with
// an error of its own. A guest that resets or powers off (panic=-1
// with -no-reboot) makes QEMU exit with status 0.
func exitedByHost(err error) bool {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return err != nil
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return true
	}
	return ee.ExitCode() != 0
}

// qemuExitedError is QEMU gone before the agent answered.
type qemuExitedError struct {
	status string
	byHost bool
	stderr string
}

func (e *qemuExitedError) Error() string {
	if e.byHost {
		return fmt.Sprintf("QEMU exited before the agent answered (%s)%s", e.status, stderrSuffix(e.stderr))
	}
	return fmt.Sprintf("the guest reset or powered off before the agent answered, with no crash report on the console (QEMU %s)", e.status)
}
