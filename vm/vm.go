package vm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ktest-dev/ktest/console"
	"github.com/ktest-dev/ktest/guest/proto"
	"github.com/ktest-dev/ktest/remote"
)

// Instance is a booted VM whose guest agent answers SSH.
//
// Every method that runs something in the guest watches the console
// meanwhile: if the kernel reports a crash (oops, BUG, WARNING, panic,
// lockdep, ...) while it runs, the method fails with that *console.Crash.
type Instance interface {
	// Run runs cmd with the guest's shell, streaming its output to stdout
	// and stderr (nil discards; one writer may serve both), and returns
	// its exit status. If the kernel reports a crash while cmd runs, err
	// is the *console.Crash: Run returns once the report is complete,
	// killing cmd, with exitCode -1; if cmd finished while the report was
	// still being printed, exitCode is its status. If ctx is done first,
	// the VM is killed (a command that outlives its deadline means a
	// wedged guest) and err wraps ctx.Err().
	Run(ctx context.Context, cmd string, stdout, stderr io.Writer) (exitCode int, err error)
	// Put copies local to remotePath in the guest with permission bits
	// mode, atomically; the directory must exist. Crashes and ctx as Run.
	Put(ctx context.Context, local io.Reader, remotePath string, mode fs.FileMode) error
	// Get copies the guest's regular file remotePath to w. Crashes and
	// ctx as Run.
	Get(ctx context.Context, remotePath string, w io.Writer) error
	// Addr is the host address (127.0.0.1:port) forwarded to the agent's
	// SSH port.
	Addr() string
	// ConsoleLog is the path of the serial console log. Unless
	// Options.ConsoleLog named it, it is in the run directory and Close
	// removes it.
	ConsoleLog() string
	// Exited is closed once QEMU has exited and its console has been
	// read to the end (the guest powered off, panicked or was killed).
	Exited() <-chan struct{}
	// Crashes returns every crash report seen on the console so far,
	// including those between commands; the first is the primary one.
	Crashes() []*console.Crash
	// Close powers the guest off cleanly if it still answers (so disk
	// images are consistent), kills QEMU if it has not exited within a
	// few seconds, and removes the run directory with the disk images
	// Start created. It is idempotent and safe to call concurrently with
	// the other methods, which then fail.
	Close() error
}

// BootError is a VM that did not come up: QEMU failed, the kernel
// crashed, or the agent did not answer SSH within the boot timeout.
type BootError struct {
	Title  string // one line: what went wrong
	Output string // the console's last lines, then QEMU's stderr if it said anything
	// Silent is set when the kernel printed nothing at all on the
	// console within Options.SilenceTimeout: under KVM, the sign of a host whose
	// KVM runs firmware but not Linux.
	Silent bool
	// Crash is the kernel's crash report if the kernel crashed while
	// booting; errors.As finds it through BootError.
	Crash *console.Crash
	// Err is the cause when it is neither a crash nor a timeout, e.g.
	// the SSH handshake's error; errors.Is/As see it.
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

// ErrClosed is returned by Instance methods after Close.
var ErrClosed = errors.New("vm: instance closed")

// Tuning of Start and Close.
const (
	maxPortAttempts   = 5
	powerOffTimeout   = 5 * time.Second  // agent poweroff request
	exitAfterPowerOff = 10 * time.Second // QEMU exit after poweroff; TCG unmounts slowly
	consoleTailLines  = 60
	stderrLimit       = 16 << 10
)

// machine is the Instance implementation.
type machine struct {
	opts    Options // with resolved disk paths and host port
	runDir  string
	logPath string
	addr    string
	proc    *process
	stderr  *tailBuffer
	watcher *console.Watcher
	// consoleDone is closed once QEMU's stdout has been read to the end
	// and the watcher closed.
	consoleDone chan struct{}
	// agentReady is closed when the agent announces on the console that
	// it listens.
	agentReady chan struct{}
	// firstOutput is closed when the console prints its first byte.
	firstOutput chan struct{}
	client      *remote.Client
	stopCtxKill func() bool

	mu        sync.Mutex
	closed    bool
	closeOnce sync.Once
	closeErr  error
}

// start boots a VM described by o and waits until the guest agent in
// o.Image answers SSH with the image's keys. It returns a *BootError if QEMU
// fails, the kernel crashes (the BootError then carries the
// *console.Crash) or SSH is not up within o.BootTimeout.
//
// Start makes a run directory for the console log and the disk images of
// Disks with an empty Path, adds a Net device if o has none, picks a free
// 127.0.0.1 port for a Net with HostPort 0 (retrying with another port if
// QEMU finds it taken) and uses qboot as firmware if o names none. The
// VM lives until Close or until ctx is done, whichever comes first: QEMU
// never outlives ctx or ktest.
func start(ctx context.Context, o Options) (Instance, error) {
	if o.Image == nil || o.Image.Keys == nil || o.Image.Keys.HostSigner == nil || o.Image.Keys.ClientSigner == nil {
		return nil, errors.New("vm: Start needs a guest image with its keys")
	}
	keys := o.Image.Keys
	if o.Accel == AccelAuto {
		return nil, errors.New("vm: accelerator auto not resolved: call ProbeAccel first")
	}
	runDir, err := os.MkdirTemp("", "ktest-vm-")
	if err != nil {
		return nil, fmt.Errorf("vm: %w", err)
	}
	o, picked, err := prepareDevices(o, runDir)
	if err == nil {
		_, err = o.Cmdline() // validate before anything runs
	}
	if err != nil {
		os.RemoveAll(runDir)
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		m, err := boot(ctx, o, runDir, keys)
		var pe *portInUseError
		if errors.As(err, &pe) {
			// Another process took a port we picked between our check
			// and QEMU's bind: pick again. A port the caller chose is
			// the caller's problem.
			if i := netWithPort(o, pe.port); i >= 0 && picked[i] && attempt < maxPortAttempts {
				o = withFreshPort(o, i)
				continue
			}
			err = &BootError{Title: fmt.Sprintf("host port %d is in use", pe.port), Output: pe.stderr}
		}
		if err != nil {
			os.RemoveAll(runDir)
			return nil, err
		}
		return m, nil
	}
}

// netWithPort returns the index of the Net forwarding host port, or -1.
func netWithPort(o Options, port int) int {
	for i, d := range o.Devices {
		if n, ok := d.(Net); ok && n.HostPort == port {
			return i
		}
	}
	return -1
}

// prepareDevices copies o's devices, creating disk images for Disks
// without a Path in runDir, adding a Net if there is none, and picking
// host ports for Nets without one (picked holds their indexes).
func prepareDevices(o Options, runDir string) (_ Options, picked map[int]bool, _ error) {
	devs := make([]Device, 0, len(o.Devices)+1)
	hasNet := false
	for _, d := range o.Devices {
		switch dv := d.(type) {
		case *Disk:
			if dv != nil {
				d = *dv
			}
		case *Net:
			if dv != nil {
				d = *dv
			}
		}
		switch dv := d.(type) {
		case Disk:
			if dv.Path == "" && dv.Size > 0 && qemuIDRE.MatchString(dv.ID) {
				dv.Path = filepath.Join(runDir, dv.ID+".img")
				if err := CreateSparseImage(dv.Path, dv.Size); err != nil {
					return o, nil, fmt.Errorf("vm: %w", err)
				}
			}
			d = dv
		case Net:
			hasNet = true
		}
		devs = append(devs, d)
	}
	if !hasNet {
		devs = append(devs, Net{})
	}
	o.Devices = devs
	picked = map[int]bool{}
	for i, d := range o.Devices {
		if n, ok := d.(Net); ok && n.HostPort == 0 {
			o = withFreshPort(o, i)
			picked[i] = true
		}
	}
	if o.ConsoleLog == "" {
		o.ConsoleLog = filepath.Join(runDir, "console.log")
	}
	if o.Firmware == "" {
		if _, err := os.Stat(Qboot); err == nil {
			o.Firmware = Qboot
		}
	}
	return o, picked, nil
}

// withFreshPort gives the Net at index i a free host port.
func withFreshPort(o Options, i int) Options {
	devs := append([]Device(nil), o.Devices...)
	n := devs[i].(Net)
	n.HostPort = freePort()
	devs[i] = n
	o.Devices = devs
	return o
}

// freePort picks host ports; a variable so tests can hand out a taken one.
var freePort = pickFreePort

// pickFreePort returns a 127.0.0.1 TCP port that was free a moment ago (0
// if none could be found, which Cmdline rejects). Another process may
// take it before QEMU binds it; Start then retries with another one.
func pickFreePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// agentNet returns the address forwarded to the agent's SSH port: the
// first Net forwarding guest port 22.
func agentNet(o Options) (string, bool) {
	for _, d := range o.Devices {
		if n, ok := d.(Net); ok && n.guestPort() == 22 {
			return net.JoinHostPort("127.0.0.1", strconv.Itoa(n.HostPort)), true
		}
	}
	return "", false
}

// portInUseError is a boot that failed because QEMU could not bind a
// forwarded host port.
type portInUseError struct {
	port   int
	stderr string
}

func (e *portInUseError) Error() string { return fmt.Sprintf("host port %d in use", e.port) }

var hostfwdFailedRE = regexp.MustCompile(`Could not set up host forwarding rule 'tcp:[^:]*:(\d+)-`)

// portInUse recognises QEMU's complaint about a forwarded port it could
// not bind.
func portInUse(stderr string) (*portInUseError, bool) {
	m := hostfwdFailedRE.FindStringSubmatch(stderr)
	if m == nil {
		return nil, false
	}
	port, _ := strconv.Atoi(m[1])
	return &portInUseError{port: port, stderr: stderr}, true
}

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
		return nil, fmt.Errorf("vm: console log: %w", err)
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
		fmt.Fprintln(o.Trace, ShellQuote(args...))
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stderr = m.stderr
	// Our own pipe rather than StdoutPipe: Wait closes StdoutPipe's read
	// end when QEMU exits, which could drop the last lines of a panic.
	// This one is read to EOF.
	stdout, stdoutW, err := os.Pipe()
	if err != nil {
		logFile.Close()
		return nil, fmt.Errorf("vm: %w", err)
	}
	cmd.Stdout = stdoutW
	m.proc, err = startProcess(cmd)
	stdoutW.Close()
	if err != nil {
		stdout.Close()
		logFile.Close()
		return nil, fmt.Errorf("vm: start %s: %w", args[0], err)
	}
	m.stopCtxKill = context.AfterFunc(ctx, m.proc.kill)
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
		m.client.Close()
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
	be := &BootError{Output: m.output()}
	var crash *console.Crash
	var silent *silentError
	switch {
	case errors.As(err, &silent):
		be.Silent = true
		be.Title = silent.Error()
	case errors.As(err, &crash):
		be.Crash, be.Title = crash, crash.Error()
	case bctx.Err() != nil:
		be.Title = fmt.Sprintf("guest agent did not answer SSH on %s within %v", addr, timeout)
	default:
		be.Title, be.Err = err.Error(), err
	}
	return nil, be
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
				r.c.Close()
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
				r.c.Close()
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
			return nil, fmt.Errorf("QEMU exited before the agent answered (%s)%s", m.proc.status(), stderrSuffix(m.stderr.String()))
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
	defer m.watcher.Close()
	defer logFile.Close()
	defer stdout.Close()
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
				w.Write(buf[:n]) // a failing sink must not stall the console
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

// kill stops QEMU now and waits until the console has been read to EOF.
func (m *machine) kill() {
	m.proc.kill()
	<-m.proc.done
	<-m.consoleDone
}

// output is the console's tail, then QEMU's stderr if any.
func (m *machine) output() string {
	out := tailLines(m.logPath, consoleTailLines)
	if s := strings.TrimSpace(m.stderr.String()); s != "" {
		out += "\n--- QEMU stderr ---\n" + s + "\n"
	}
	return out
}

func (m *machine) Addr() string       { return m.addr }
func (m *machine) ConsoleLog() string { return m.logPath }

func (m *machine) Crashes() []*console.Crash { return m.watcher.Crashes() }
func (m *machine) Exited() <-chan struct{}   { return m.consoleDone }

func (m *machine) Run(ctx context.Context, cmd string, stdout, stderr io.Writer) (int, error) {
	stdout, stderr = serializeSameWriter(stdout, stderr)
	return m.guard(ctx, cmd, func(ctx context.Context) (int, error) {
		return m.client.Run(ctx, cmd, stdout, stderr)
	})
}

func (m *machine) Put(ctx context.Context, local io.Reader, remotePath string, mode fs.FileMode) error {
	_, err := m.guard(ctx, "put "+remotePath, func(ctx context.Context) (int, error) {
		return 0, m.client.Put(ctx, local, remotePath, mode)
	})
	return err
}

func (m *machine) Get(ctx context.Context, remotePath string, w io.Writer) error {
	_, err := m.guard(ctx, "get "+remotePath, func(ctx context.Context) (int, error) {
		return 0, m.client.Get(ctx, remotePath, w)
	})
	return err
}

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

func (m *machine) Close() error {
	m.closeOnce.Do(func() {
		m.mu.Lock()
		m.closed = true
		m.mu.Unlock()
		if !m.proc.exited() && m.client != nil {
			ctx, cancel := context.WithTimeout(context.Background(), powerOffTimeout)
			// The power-off request often dies with the guest; only
			// QEMU exiting tells that it worked.
			m.client.PowerOff(ctx)
			cancel()
			select {
			case <-m.proc.done:
			case <-time.After(exitAfterPowerOff):
			}
		}
		if m.client != nil {
			m.client.Close()
		}
		m.kill()
		m.stopCtxKill()
		m.closeErr = os.RemoveAll(m.runDir)
	})
	return m.closeErr
}

// serializeSameWriter makes one writer given as both stdout and stderr
// safe: the SSH session copies the two streams concurrently, and e.g. a
// shared bytes.Buffer would lose data to its concurrent ReadFrom calls.
func serializeSameWriter(stdout, stderr io.Writer) (io.Writer, io.Writer) {
	if stdout == nil || stderr == nil || !reflect.TypeOf(stdout).Comparable() || stdout != stderr {
		return stdout, stderr
	}
	w := &lockedWriter{w: stdout}
	return w, w
}

// lockedWriter serializes writes. It deliberately has no ReadFrom.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// tailLines returns the last n lines of the file at path ("" if it
// cannot be read), reading at most its last 64 KiB.
func tailLines(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	const window = 64 << 10
	if st, err := f.Stat(); err == nil && st.Size() > window {
		f.Seek(st.Size()-window, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	b = bytes.TrimRight(b, "\n")
	if len(b) == 0 {
		return ""
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n") + "\n"
}
