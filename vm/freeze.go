// The frozen-guest rule: an operation whose deadline passed, while the
// console shows no crash, asks the agent to answer; a guest that does
// not is frozen, and before it is killed an NMI through QEMU's monitor
// makes its kernel print what every CPU was doing.

package vm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Tuning of the frozen-guest rule.
const (
	// answerWait is how long the agent may take to answer a keepalive
	// before the guest counts as frozen; TCG on a loaded host answers
	// within a second or two.
	answerWait = 10 * time.Second
	// nmiWait bounds the wait for the kernel's report after the NMI: a
	// panic with every CPU's backtrace, then QEMU exits (panic=-1).
	nmiWait = 20 * time.Second
	// stackLimit bounds the console text kept as a stack when the
	// kernel printed no report.
	stackLimit = 16 << 10
)

// timedOut reports whether ctx ended by a deadline (its own, or a cause
// that wraps context.DeadlineExceeded, as a caller's watchdog gives)
// rather than by a cancel such as a signal.
func timedOut(ctx context.Context) bool {
	return errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(context.Cause(ctx), context.DeadlineExceeded)
}

// expired ends an operation whose ctx ended first. A crash report on
// the console is the answer. Otherwise, after a deadline, a guest whose
// agent does not answer is frozen: its stack is taken through an NMI and
// the operation fails with a *GuestError. Either way the VM is killed
// (a command that outlives its deadline means a wedged guest) and
// letGo returns the operation.
func (m *machine) expired(ctx context.Context, what string, before int, letGo func()) (int, error) {
	cause := ctxError(ctx)
	if c := m.watcher.Wait(before, closedChan); c != nil {
		m.kill()
		letGo()
		return -1, c
	}
	if timedOut(ctx) && !m.dead() && !m.answers() {
		stack := m.nmiStack()
		m.kill()
		letGo()
		return -1, &GuestError{What: what, Froze: true, Stack: stack, Err: cause,
			Title: fmt.Sprintf("the guest froze during %q: %v, and its agent did not answer for %v", what, context.Cause(ctx), answerWait)}
	}
	m.kill()
	letGo()
	// The kill may complete a report the kernel was printing.
	if c := m.watcher.Wait(before, closedChan); c != nil {
		return -1, c
	}
	return -1, fmt.Errorf("vm: %q: %w (VM killed)", what, cause)
}

// ctxError is ctx's error with its cause, when the cause says more
// (a signal, a watchdog naming the test that overran).
func ctxError(ctx context.Context) error {
	err, cause := ctx.Err(), context.Cause(ctx)
	if cause == nil || cause == err {
		return err
	}
	return fmt.Errorf("%w: %w", err, cause)
}

// answers reports whether the agent answers a keepalive within
// answerWait.
func (m *machine) answers() bool {
	if m.client == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), answerWait)
	defer cancel()
	return m.client.Ping(ctx) == nil
}

// nmiStack injects an NMI and returns what the kernel said: the report
// it printed (with unknown_nmi_panic, a panic with the backtrace of
// every CPU, however it spins), else the console after the NMI, else
// why there is nothing.
func (m *machine) nmiStack() string {
	n, _, _ := m.watcher.State()
	offset := fileSize(m.logPath)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	err := qmpExecute(ctx, m.opts.Monitor, "inject-nmi")
	cancel()
	if err != nil {
		return "no stack: the NMI could not be injected: " + err.Error()
	}
	// Wait for the report until nmiWait or the console's end (the
	// panic ends QEMU), whichever comes first.
	stop := make(chan struct{})
	var once sync.Once
	end := func() { once.Do(func() { close(stop) }) }
	timer := time.AfterFunc(nmiWait, end)
	defer timer.Stop()
	go func() {
		select {
		case <-m.consoleDone:
			end()
		case <-stop:
		}
	}()
	if c := m.watcher.Wait(n, stop); c != nil {
		return c.Excerpt
	}
	if s := strings.TrimSpace(readFrom(m.logPath, offset, stackLimit)); s != "" {
		return s
	}
	return fmt.Sprintf("no stack: the kernel printed nothing within %v of the NMI", nmiWait)
}

func fileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}

// readFrom returns the file's bytes from offset on, at most the last
// limit of them.
func readFrom(path string, offset, limit int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer func() { _ = f.Close() }() // teardown: nothing is written through it any more
	if size := fileSize(path); size-offset > limit {
		offset = size - limit
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return ""
	}
	b, _ := io.ReadAll(io.LimitReader(f, limit))
	return string(b)
}
