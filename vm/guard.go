// Running something in the guest while watching the console and QEMU:
// a crash, an exit or a deadline ends the operation with its cause.

package vm

import (
	"context"
	"fmt"
	"time"

	"github.com/ktest-dev/ktest/console"
)

// transportGrace is how long guard waits, after the agent connection
// failed, for QEMU to exit: a panicking kernel takes the connection down
// just before QEMU ends, and the crash report is what matters.
const transportGrace = 3 * time.Second

// guard runs op against the agent while watching the console and QEMU,
// implementing the crash, exit and ctx rules of Instance.Run.
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
	opCtx, cancel := context.WithCancel(ctx)
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
	crashed := make(chan *console.Crash, 1)
	go func() { crashed <- m.watcher.Wait(before, opCtx.Done()) }()

	var r result
	select {
	case r = <-done:
	case c := <-crashed:
		if c != nil {
			cancel()
			<-done
			return -1, c
		}
		r = <-done // ctx done: op returns promptly
	case <-m.proc.done:
		cancel()
		<-done
		<-m.consoleDone
		if c := m.watcher.Wait(before, closedChan); c != nil {
			return -1, c
		}
		return -1, m.exitedError(what)
	}

	if ctx.Err() != nil {
		// The guest did not finish in time. Kill the VM rather than trust
		// a wedged guest, but report a crash it printed.
		m.kill()
		if c := m.watcher.Wait(before, closedChan); c != nil {
			return -1, c
		}
		return -1, fmt.Errorf("vm: %q: %w (VM killed)", what, ctx.Err())
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
	err := m.exitedError(what)
	if cs := m.watcher.Crashes(); len(cs) > 0 {
		err = fmt.Errorf("%w: %w", err, cs[len(cs)-1])
	}
	if cause != nil {
		err = fmt.Errorf("%w: %w", err, cause)
	}
	return err
}

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (m *machine) exitedError(what string) error {
	return fmt.Errorf("vm: QEMU exited (%s) during %q%s", m.proc.status(), what, stderrSuffix(m.stderr.String()))
}
