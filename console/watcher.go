package console

import (
	"bytes"
	"sync"
	"time"
)

// DefaultIdle is how long a report may stay silent before the watcher
// considers it complete. The kernel prints a report in one burst, so a
// pause means it is over (lockdep and hung-task reports have no end
// marker).
const DefaultIdle = 1500 * time.Millisecond

// Watcher recognises crash reports in console output fed to it through
// Write, as the output is produced. It is safe for concurrent use.
//
// A report is published (counted by State, returned by Crashes) once it
// is complete: at its end marker, at MaxExcerptLines, after Idle without
// console output, at the start of another report, or at Close.
type Watcher struct {
	// Idle is the silence after which an open report is complete.
	// Zero means DefaultIdle. Set it before the first Write.
	Idle time.Duration

	mu      sync.Mutex
	p       parser
	partial []byte // bytes after the last newline
	crashes []*Crash
	changed chan struct{} // closed and replaced on every state change
	timer   *time.Timer
	closed  bool
}

// NewWatcher returns a watcher with no output seen yet.
func NewWatcher() *Watcher {
	w := &Watcher{changed: make(chan struct{})}
	w.p.emit = w.publish
	w.p.lastTime = -1
	return w
}

// publish is the parser's emit; w.mu is held.
func (w *Watcher) publish(c *Crash) {
	w.crashes = append(w.crashes, c)
}

// notify wakes State waiters; w.mu is held.
func (w *Watcher) notify() {
	close(w.changed)
	w.changed = make(chan struct{})
}

// Write feeds console output. It never fails.
func (w *Watcher) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return len(b), nil
	}
	before, wasOpen := len(w.crashes), w.p.cur != nil
	data := b
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		var line string
		if len(w.partial) > 0 {
			line = string(append(w.partial, data[:i]...))
			w.partial = w.partial[:0]
		} else {
			line = string(data[:i])
		}
		w.p.line(line)
		data = data[i+1:]
	}
	w.partial = append(w.partial, data...)
	if w.p.cur != nil {
		w.armIdle()
	}
	if len(w.crashes) != before || (w.p.cur != nil) != wasOpen {
		w.notify()
	}
	return len(b), nil
}

// armIdle (re)starts the idle timer for the open report; w.mu is held.
func (w *Watcher) armIdle() {
	idle := w.Idle
	if idle == 0 {
		idle = DefaultIdle
	}
	if w.timer != nil {
		w.timer.Stop()
	}
	w.timer = time.AfterFunc(idle, w.idleExpired)
}

func (w *Watcher) idleExpired() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.p.cur == nil || w.closed {
		return
	}
	w.p.finish()
	w.notify()
}

// Close completes any open report (the console ended: QEMU exited). Later
// writes are ignored. Close is idempotent and never fails.
func (w *Watcher) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	if len(w.partial) > 0 {
		w.p.line(string(w.partial))
		w.partial = nil
	}
	w.p.finish()
	w.closed = true
	if w.timer != nil {
		w.timer.Stop()
	}
	w.notify()
	return nil
}

// State returns the number of complete reports so far, whether a report
// has started but is not complete yet, and a channel closed at the next
// change of either.
func (w *Watcher) State() (complete int, inReport bool, changed <-chan struct{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.crashes), w.p.cur != nil, w.changed
}

// Crashes returns the complete reports so far, oldest first. The first is
// the primary crash.
func (w *Watcher) Crashes() []*Crash {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]*Crash(nil), w.crashes...)
}

// Wait returns the first report completed after the first n reports
// (Crash number n, counting from 0). If a report is open when done is
// closed, Wait still returns it once it is complete (bounded by Idle), so
// that a command that failed because the kernel was crashing reports the
// crash. It returns nil if done is closed and no such report exists.
func (w *Watcher) Wait(n int, done <-chan struct{}) *Crash {
	doneSeen := false
	for {
		complete, inReport, changed := w.State()
		if complete > n {
			return w.Crashes()[n]
		}
		if doneSeen && !inReport {
			return nil
		}
		if doneSeen {
			<-changed
			continue
		}
		select {
		case <-changed:
		case <-done:
			doneSeen = true
		}
	}
}
