// Booting: QEMU started, its console read and watched, and the agent
// dialed once it says it listens (or a silent console given up).

package vm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/ktest-dev/ktest/console"
	"github.com/ktest-dev/ktest/guest/proto"
	"github.com/ktest-dev/ktest/remote"
)

// boot is one attempt of Start.
func boot(ctx context.Context, o Options, runDir string, keys *remote.Keys) (*machine, error) {
	addr, ok := agentNet(o)
	if !ok {
		return nil, errors.New("vm: no Net device forwards guest port 22 for the agent")
	}
	args, err := o.Cmdline()
	if err != nil {
		return nil, err
	}
	logFile, err := os.OpenFile(o.ConsoleLog, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, &InfraError{Title: "console log: " + err.Error(), Err: err}
	}
	m := &machine{
		opts:        o,
		runDir:      runDir,
		logPath:     o.ConsoleLog,
		addr:        addr,
		stderr:      &tailBuffer{max: stderrLimit},
		watcher:     console.NewWatcher(),
		consoleDone: make(chan struct{}),
		agentReady:  make(chan struct{}),
		firstOutput: make(chan struct{}),
	}
	if o.Trace != nil {
		_, _ = fmt.Fprintln(o.Trace, ShellQuote(args...)) // a progress line: losing one must not fail the run
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stderr = m.stderr
	// Our own pipe rather than StdoutPipe: Wait closes StdoutPipe's read
	// end when QEMU exits, which could drop the last lines of a panic.
	// This one is read to EOF.
	stdout, stdoutW, err := os.Pipe()
	if err != nil {
		_ = logFile.Close() // teardown: nothing is written through it any more
		return nil, &InfraError{Title: "console pipe: " + err.Error(), Err: err}
	}
	cmd.Stdout = stdoutW
	m.proc, err = startProcess(cmd)
	_ = stdoutW.Close() // teardown: nothing is written through it any more
	if err != nil {
		_ = stdout.Close()  // teardown: nothing is written through it any more
		_ = logFile.Close() // teardown: nothing is written through it any more
		return nil, &InfraError{Title: fmt.Sprintf("starting %s: %v", args[0], err), Err: err}
	}
	m.stopCtxKill = context.AfterFunc(ctx, m.stop)
	go m.readConsole(stdout, logFile)

	timeout := o.BootTimeout
	if timeout == 0 {
		timeout = DefaultBootTimeout
	}
	bctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client, err := m.waitSSH(bctx, keys)
	if err == nil {
		m.client = client
		err = m.raiseConsoleLogLevel(bctx)
	}
	if err == nil {
		return m, nil
	}
	if m.client != nil {
		_ = m.client.Close() // teardown: nothing is written through it any more
	}
	// Failed: make sure QEMU is gone and the console fully read before
	// looking at what it said.
	m.kill()
	m.stopCtxKill()
	if pe, ok := portInUse(m.stderr.String()); ok {
		return nil, pe
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("vm: boot interrupted: %w", ctx.Err())
	}
	return nil, m.bootFailure(err, bctx.Err() != nil, timeout)
}

// bootFailure says whose fault a failed boot was: the kernel's
// (*BootError: a crash, a silent console, a reset, an agent that never
// answered while QEMU ran) or the host's (*InfraError: QEMU stopped by
// a signal or an error of its own, an SSH connection refused by our own
// keys or broken while the kernel ran).
func (m *machine) bootFailure(err error, timedOut bool, timeout time.Duration) error {
	out := m.output()
	var crash *console.Crash
	var silent *silentError
	var exited *qemuExitedError
	if !errors.As(err, &crash) {
		// Whatever broke the boot, a crash report on the console says
		// the kernel was failing meanwhile.
		if cs := m.watcher.Crashes(); len(cs) > 0 {
			crash, err = cs[0], cs[0]
		}
	}
	switch {
	case errors.As(err, &silent):
		return &BootError{Title: silent.Error(), Output: out, Silent: true}
	case errors.As(err, &crash):
		// The report itself, not the console's tail: other CPUs' NMI
		// backtraces can push a panic's first line out of the tail.
		return &BootError{Title: crash.Error(), Output: m.withStderr(crash.Excerpt + "\n"), Crash: crash}
	case errors.As(err, &exited) && exited.byHost:
		return &InfraError{Title: exited.Error(), Output: out, Err: err}
	case errors.As(err, &exited):
		return &BootError{Title: exited.Error(), Output: out, Err: err}
	case timedOut:
		return &BootError{Title: fmt.Sprintf("guest agent did not answer SSH on %s within %v", m.addr, timeout), Output: out}
	}
	return &InfraError{Title: "SSH to the guest agent: " + err.Error(), Output: out, Err: err}
}

// waitSSH dials the agent until it answers, QEMU exits, the kernel
// crashes or ctx is done.
//
// A connection made before the agent listens can hang for seconds: QEMU's
// user net accepts it on the host side at once and retransmits the SYN to
// the guest with backoff. So the dial starts the moment the agent prints
// proto.AgentReadyLine on the console; a fallback dial starts after
// blindDialDelay for images that do not announce themselves.
func (m *machine) waitSSH(ctx context.Context, keys *remote.Keys) (*remote.Client, error) {
	dctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type dialResult struct {
		c   *remote.Client
		err error
	}
	dialed := make(chan dialResult, 2)
	pending := 0
	dial := func() {
		pending++
		go func() {
			c, err := remote.Dial(dctx, m.addr, keys.HostSigner.PublicKey(), keys.ClientSigner)
			dialed <- dialResult{c, err}
		}()
	}
	// finish stops the dials still running and closes what they return.
	finish := func() {
		cancel()
		for ; pending > 0; pending-- {
			if r := <-dialed; r.c != nil {
				_ = r.c.Close() // teardown: nothing is written through it any more
			}
		}
	}
	crashed := make(chan *console.Crash, 1)
	go func() { crashed <- m.watcher.Wait(0, dctx.Done()) }()

	ready := m.agentReady
	blind := time.NewTimer(blindDialDelay)
	defer blind.Stop()
	silenceLimit := m.opts.SilenceTimeout
	if silenceLimit == 0 {
		silenceLimit = DefaultSilence(m.opts.Accel)
	}
	silence := time.NewTimer(silenceLimit)
	defer silence.Stop()
	printed := m.firstOutput
	for {
		select {
		case <-printed:
			printed = nil
			silence.Stop()
		case <-silence.C:
			if printed != nil {
				finish()
				return nil, &silentError{accel: m.opts.Accel, after: silenceLimit}
			}
		case <-ready:
			ready = nil
			dial()
		case <-blind.C:
			dial()
		case r := <-dialed:
			pending--
			if r.err != nil {
				finish()
				return nil, r.err
			}
			finish()
			// A crash report may have completed meanwhile (e.g. a
			// WARNING during boot): boot fails with it.
			if n, _, _ := m.watcher.State(); n > 0 {
				_ = r.c.Close() // teardown: nothing is written through it any more
				return nil, m.watcher.Crashes()[0]
			}
			return r.c, nil
		case c := <-crashed:
			finish()
			if c == nil {
				return nil, ctx.Err()
			}
			return nil, c
		case <-m.proc.done:
			finish()
			<-m.consoleDone
			if cs := m.watcher.Crashes(); len(cs) > 0 {
				return nil, cs[0]
			}
			return nil, &qemuExitedError{status: m.proc.status(), byHost: exitedByHost(m.proc.err), stderr: m.stderr.String()}
		case <-ctx.Done():
			finish()
			return nil, ctx.Err()
		}
	}
}

// DefaultSilence is how long a boot may print nothing at all on the
// console before it is given up as silent. A working KVM prints within
// a second, TCG within a few; a KVM that runs firmware but not Linux
// prints nothing ever, so KVM's bound is short.
func DefaultSilence(a Accel) time.Duration {
	if a == AccelKVM {
		return 10 * time.Second
	}
	return 30 * time.Second
}

// silentError is a boot whose console stayed empty.
type silentError struct {
	accel Accel
	after time.Duration
}

func (e *silentError) Error() string {
	return fmt.Sprintf("the kernel printed nothing on the console within %v under %s", e.after, strings.ToUpper(string(e.accel)))
}

// consoleLogLevel is the console log level the guest runs with: KERN_INFO
// and more severe reach the console. Crash reports print parts of
// themselves at KERN_INFO (the hung-task stack, "task:" lines), and
// u-root's init lowers the level to 5, which would cut them off.
const consoleLogLevel = 7

// raiseConsoleLogLevel sets the guest's console log level to
// consoleLogLevel (the kernel's loglevel= argument does not survive init).
func (m *machine) raiseConsoleLogLevel(ctx context.Context) error {
	var stderr bytes.Buffer
	cmd := fmt.Sprintf("echo %d > /proc/sys/kernel/printk", consoleLogLevel)
	code, err := m.client.Run(ctx, cmd, nil, &stderr)
	if err == nil && code != 0 {
		err = fmt.Errorf("exit status %d: %s", code, strings.TrimSpace(stderr.String()))
	}
	if err != nil {
		return fmt.Errorf("setting the console log level: %w", err)
	}
	return nil
}

// blindDialDelay is how long waitSSH waits for the agent's ready line
// before dialing anyway.
const blindDialDelay = 5 * time.Second

// readConsole copies QEMU's stdout (the serial console) to the log file,
// the watcher and Options.Console until QEMU exits.
func (m *machine) readConsole(stdout, logFile *os.File) {
	defer close(m.consoleDone)
	defer func() { _ = m.watcher.Close() }() // teardown: nothing is written through it any more
	defer func() { _ = logFile.Close() }()   // teardown: nothing is written through it any more
	defer func() { _ = stdout.Close() }()    // teardown: nothing is written through it any more
	sinks := []io.Writer{logFile, m.watcher}
	if m.opts.Console != nil {
		sinks = append(sinks, m.opts.Console)
	}
	ready := []byte(proto.AgentReadyLine)
	printed := false
	var carry []byte // end of the previous read, for a ready line split across reads
	seen := false
	buf := make([]byte, 32<<10)
	for {
		n, err := stdout.Read(buf)
		if n > 0 && !printed {
			printed = true
			close(m.firstOutput)
		}
		if n > 0 {
			for _, w := range sinks {
				_, _ = w.Write(buf[:n]) // a failing sink must not stall the console
			}
			if !seen {
				carry = append(carry, buf[:n]...)
				if bytes.Contains(carry, ready) {
					close(m.agentReady)
					seen, carry = true, nil
				} else {
					carry = append(carry[:0], carry[max(0, len(carry)-len(ready)):]...)
				}
			}
		}
		if err != nil {
			return
		}
	}
}
