package vm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ktest-dev/ktest/console"
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
	// killing cmd (and the VM, if the guest does not let cmd go within
	// seconds: a soft lockup never does), with exitCode -1; if cmd
	// finished while the report was still being printed, exitCode is its
	// status. If ctx is done first, the VM is killed (a command that
	// outlives its deadline means a wedged guest) and err wraps ctx.Err()
	// and its cause; when ctx ended by a deadline (or a cause wrapping
	// context.DeadlineExceeded) and the agent does not answer either,
	// the guest froze: an NMI makes its kernel print every CPU's stack
	// first, and err is a *GuestError carrying it. QEMU killed or failing
	// on the host, or the connection breaking while the console shows no
	// crash, is an *InfraError. Run never outlives ctx by more than the
	// freeze check (about 30 s).
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
	// killedByUs is set once ktest killed QEMU itself (a deadline, a
	// frozen guest, Close, the run's end): its exit then says nothing
	// about the host.
	killedByUs atomic.Bool

	mu        sync.Mutex
	closed    bool
	closeOnce sync.Once
	closeErr  error
}

// start boots a VM described by o and waits until the guest agent in
// o.Image answers SSH with the image's keys. It returns a *BootError if
// the kernel crashes (the BootError then carries the *console.Crash),
// prints nothing, resets, or SSH is not up within o.BootTimeout, and an
// *InfraError if the host failed: QEMU would not start or was killed, a
// port was taken, an image could not be made.
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
		return nil, errors.New("vm: accelerator auto not resolved: resolve it with Prober.Resolve first")
	}
	runDir, err := os.MkdirTemp("", "ktest-vm-")
	if err != nil {
		return nil, &InfraError{Title: "VM run directory: " + err.Error(), Err: err}
	}
	o, picked, err := prepareDevices(o, runDir)
	if err != nil {
		_ = os.RemoveAll(runDir) // best-effort cleanup: the error that brought us here is the one to report
		return nil, &InfraError{Title: err.Error(), Err: err}
	}
	if _, err = o.Cmdline(); err != nil { // validate before anything runs
		_ = os.RemoveAll(runDir) // best-effort cleanup: the error that brought us here is the one to report
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
			err = &InfraError{Title: fmt.Sprintf("host port %d is in use", pe.port), Output: pe.stderr, Err: pe}
		}
		if err != nil {
			_ = os.RemoveAll(runDir) // best-effort cleanup: the error that brought us here is the one to report
			return nil, err
		}
		return m, nil
	}
}

// kill stops QEMU now and waits until the console has been read to EOF.
func (m *machine) kill() {
	m.stop()
	<-m.proc.done
	<-m.consoleDone
}

// stop sends QEMU SIGKILL and returns.
func (m *machine) stop() {
	if !m.proc.exited() {
		m.killedByUs.Store(true)
	}
	m.proc.kill()
}

// output is the console's tail, then QEMU's stderr if any.
func (m *machine) output() string {
	return m.withStderr(tailLines(m.logPath, consoleTailLines))
}

// withStderr appends what QEMU said on stderr, if anything, to out.
func (m *machine) withStderr(out string) string {
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

func (m *machine) Close() error {
	m.closeOnce.Do(func() {
		m.mu.Lock()
		m.closed = true
		m.mu.Unlock()
		if !m.proc.exited() && m.client != nil {
			ctx, cancel := context.WithTimeout(context.Background(), powerOffTimeout)
			// The power-off request often dies with the guest; only
			// QEMU exiting tells that it worked.
			_ = m.client.PowerOff(ctx)
			cancel()
			select {
			case <-m.proc.done:
			case <-time.After(exitAfterPowerOff):
			}
		}
		if m.client != nil {
			_ = m.client.Close() // teardown: nothing is written through it any more
		}
		m.kill()
		m.stopCtxKill()
		m.closeErr = os.RemoveAll(m.runDir)
	})
	return m.closeErr
}
