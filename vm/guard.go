// Running something in the guest while watching the console and QEMU:
// a crash, an exit or a deadline ends the operation with its cause, and
// no wait on the guest outlives them by more than a few seconds.

package vm

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ktest-dev/ktest/console"
)

// Tuning of guard.
const (
	// transportGrace is how long guard waits, after the agent
	// connection failed, for QEMU to exit: a panicking kernel takes the
	// connection down just before QEMU ends, and the crash report is
	// what matters.
	transportGrace = 3 * time.Second
	// letGoWait is how long an operation may take to return once it was
	// cancelled (its command killed) after a crash report: a guest that
	// does not let go within it is not answering, and the VM is killed.
	// Shorter than remote's abandonAfter, so that guard kills the VM
	// before the client gives the connection up: a VM whose connection
	// is gone but whose QEMU runs would make Close wait for a power-off
	// that cannot come.
	letGoWait = 8 * time.Second
)

// guard runs op against the agent while watching the console and QEMU,
// implementing the crash, exit and ctx rules of Instance.Run. op gets a
// context that only guard cancels: guard decides, when ctx ends, whether
// the guest froze, before op's cancellation tears the connection down.
func (m *machine) guard(ctx context.Context, what string, op func(context.Context) (int, error)) (int, error) {
	m.mu.Lock()
	closed := m.closed
	m.mu.Unlock()
	if closed {
		return -1, ErrClosed
	}
	if m.dead() {
		return -1, m.deathError(what, nil)
	}
	before, _, _ := m.watcher.State()
	opCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	type result struct {
		code int
		err  error
	}
	done := make(chan result, 1)
	go func() {
		code, err := op(opCtx)
		done <- result{code, err}
	}()
	// Returns a crash report, or nil once op was cancelled.
	crashed := make(chan *console.Crash, 1)
	go func() { crashed <- m.watcher.Wait(before, opCtx.Done()) }()
	letGo := func() {
		cancel()
		select {
		case <-done:
		case <-time.After(letGoWait):
			// The guest does not answer: its session cannot end.
			m.kill()
			<-done
		}
	}

	var r result
	select {
	case r = <-done:
	case c := <-crashed:
		// A crash report ends the operation at once, whatever the guest
		// does next (a soft lockup never lets the command go).
		letGo()
		return -1, c
	case <-ctx.Done():
		return m.expired(ctx, what, before, letGo)
	case <-m.proc.done:
		cancel()
		<-done
		<-m.consoleDone
		if c := m.watcher.Wait(before, closedChan); c != nil {
			return -1, c
		}
		return -1, m.exitedError(what, nil)
	}

	if r.err != nil {
		// The connection broke: give a dying VM time to exit, so that
		// its crash report is complete.
		select {
		case <-m.proc.done:
			<-m.consoleDone
		case <-time.After(transportGrace):
		}
	}
	if c := m.watcher.Wait(before, closedChan); c != nil {
		if r.err != nil {
			return -1, c
		}
		return r.code, c
	}
	if r.err != nil && m.dead() {
		return -1, m.deathError(what, r.err)
	}
	if r.err != nil && !errors.Is(r.err, ErrClosed) {
		// QEMU runs and the console shows no crash: the connection to
		// the agent broke on the host's side of it.
		return -1, &InfraError{Title: fmt.Sprintf("the SSH connection to the guest agent broke during %q while the kernel ran: %v", what, r.err), Err: r.err}
	}
	return r.code, r.err
}

// dead reports whether QEMU has exited (or is exiting: its console ended).
func (m *machine) dead() bool {
	select {
	case <-m.proc.done:
		return true
	case <-m.consoleDone:
		return true
	default:
		return false
	}
}

// deathError describes a VM that is gone, naming the last crash report if
// there is one (it died of a panic, maybe between commands) and cause.
func (m *machine) deathError(what string, cause error) error {
	<-m.proc.done
	<-m.consoleDone
	if cs := m.watcher.Crashes(); len(cs) > 0 {
		err := fmt.Errorf("vm: QEMU exited (%s) during %q: %w", m.proc.status(), what, cs[len(cs)-1])
		if cause != nil {
			err = fmt.Errorf("%w: %w", err, cause)
		}
		return err
	}
	return m.exitedError(what, cause)
}

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// exitedError is QEMU gone without a crash report: killed or failed on
// the host (an *InfraError), or the guest reset or powered itself off
// (a *GuestError).
func (m *machine) exitedError(what string, cause error) error {
	if m.killedByUs.Load() {
		return fmt.Errorf("vm: %q: the VM was stopped: %w", what, errors.Join(ErrClosed, cause))
	}
	if exitedByHost(m.proc.err) {
		return &InfraError{Title: fmt.Sprintf("QEMU exited (%s) during %q%s", m.proc.status(), what, stderrSuffix(m.stderr.String())),
			Output: m.output(), Err: cause}
	}
	return &GuestError{What: what, Title: fmt.Sprintf("the guest reset or powered off during %q with no crash report on the console (QEMU %s)", what, m.proc.status()),
		Stack: m.output(), Err: cause}
}
