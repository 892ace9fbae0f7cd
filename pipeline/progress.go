package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/ktest-dev/ktest/guest/proto"
)

// testGrace is what the host adds to a test's own timeout before it
// gives up on the guest: the guest reports a hang itself at the
// timeout, so a test still running after the grace means a guest that
// can no longer report anything. vm then gives the agent 10 s to answer
// before it takes the guest for frozen: a frozen guest costs its test's
// timeout plus 30 s (and the NMI's report, about a second).
const testGrace = 20 * time.Second

// testOverran is the cause that ends a guest command whose test did not
// finish within its timeout plus testGrace. It wraps
// context.DeadlineExceeded: vm treats it as a missed deadline and checks
// whether the guest froze.
type testOverran struct {
	test           string
	timeout, grace time.Duration
}

func (e *testOverran) Error() string {
	return fmt.Sprintf("%s did not finish within its %v timeout plus %v", e.test, e.timeout, e.grace)
}

func (e *testOverran) Unwrap() error { return context.DeadlineExceeded }

// testProgress follows ktest-readtest's progress lines on the guest's
// stderr (passing every byte on to next): which test runs, and how each
// one ended. Each test is bounded on the host's side: one still running
// its timeout plus the grace after it started calls overrun.
type testProgress struct {
	next    io.Writer
	grace   time.Duration
	overrun func(cause error)

	mu       sync.Mutex
	partial  []byte
	running  string
	timer    *time.Timer
	finished []proto.TestResult
	stopped  bool
}

func newTestProgress(next io.Writer, grace time.Duration, overrun func(error)) *testProgress {
	return &testProgress{next: next, grace: grace, overrun: overrun}
}

func (p *testProgress) Write(b []byte) (int, error) {
	_, _ = p.next.Write(b) // the log; it never blocks the guest's output
	p.mu.Lock()
	defer p.mu.Unlock()
	p.partial = append(p.partial, b...)
	for {
		i := bytes.IndexByte(p.partial, '\n')
		if i < 0 {
			break
		}
		p.line(string(p.partial[:i]))
		p.partial = p.partial[i+1:]
	}
	return len(b), nil
}

// line handles one complete line; p.mu is held.
func (p *testProgress) line(s string) {
	pr, ok := proto.ParseProgress(s)
	if !ok || p.stopped {
		return
	}
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
	if !pr.Running {
		p.running = ""
		p.finished = append(p.finished, pr.Result)
		return
	}
	p.running = pr.Test
	cause := &testOverran{test: pr.Test, timeout: pr.Timeout, grace: p.grace}
	p.timer = time.AfterFunc(pr.Timeout+p.grace, func() { p.overrun(cause) })
}

// stop disarms the bound; later lines are ignored.
func (p *testProgress) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopped = true
	if p.timer != nil {
		p.timer.Stop()
	}
}

// state returns the test running (or "") and those that ended, in order.
func (p *testProgress) state() (running string, finished []proto.TestResult) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.running, append([]proto.TestResult(nil), p.finished...)
}
