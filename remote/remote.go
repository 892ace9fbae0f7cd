// Package remote is the host side of the ktest guest agent: an SSH client
// that pins the agent's per-run host key, runs commands with streamed
// output and real exit codes, copies files in and out and powers the guest
// off. The agent's protocol words come from guest/proto.
package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/term"

	"github.com/ktest-dev/ktest/guest/proto"
)

var (
	// ErrHostKeyMismatch means the server is not the guest we built: its
	// host key is not the pinned one. Dial does not retry it.
	ErrHostKeyMismatch = errors.New("remote: host key mismatch")
	// ErrAuth means the agent refused our client key. Dial does not retry it.
	ErrAuth = errors.New("remote: authentication refused")
)

// ExitError is a command that ran to completion with a non-zero status,
// as returned by Shell and the file helpers.
type ExitError struct {
	Command string
	Code    int    // exit status; 128+N when killed by signal N
	Stderr  string // captured stderr, when the helper captured it
}

func (e *ExitError) Error() string {
	msg := fmt.Sprintf("remote: %q exited with status %d", e.Command, e.Code)
	if s := strings.TrimSpace(e.Stderr); s != "" {
		msg += ": " + s
	}
	return msg
}

// Client is a connection to one guest agent. Its methods may be used
// concurrently; each runs in its own SSH session.
type Client struct {
	conn *ssh.Client
	addr string
}

// Dial connects to the agent at addr (host:port), pinning hostKey and
// authenticating with clientKey. While the guest is still booting the
// connection fails or stalls, so Dial keeps trying (a new attempt every
// 250ms, up to eight at once) until ctx is done; a wrong host key or a
// refused client key fail at once.
func Dial(ctx context.Context, addr string, hostKey ssh.PublicKey, clientKey ssh.Signer) (*Client, error) {
	if hostKey == nil || clientKey == nil {
		return nil, errors.New("remote: Dial needs a host key and a client key")
	}
	want := hostKey.Marshal()
	cfg := &ssh.ClientConfig{
		User: "root",
		Auth: []ssh.AuthMethod{ssh.PublicKeys(clientKey)},
		HostKeyCallback: func(_ string, _ net.Addr, got ssh.PublicKey) error {
			if !bytes.Equal(got.Marshal(), want) {
				return fmt.Errorf("%w: %s offered %s, want %s", ErrHostKeyMismatch, addr,
					ssh.FingerprintSHA256(got), ssh.FingerprintSHA256(hostKey))
			}
			return nil
		},
		HostKeyAlgorithms: []string{hostKey.Type()},
	}
	// QEMU user net accepts a forwarded connection on the host side at
	// once, even while the guest is not up, and may deliver it to the
	// guest only seconds after the agent starts listening. So attempts
	// overlap: a new one starts every attemptEvery while up to
	// maxAttempts wait for the agent's banner, and the first handshake to
	// succeed wins. The banner wait grows with the time spent dialling,
	// so a guest slow enough to take seconds for its banner (it sends it
	// right after accepting) still gets in.
	const (
		attemptEvery = 250 * time.Millisecond
		maxAttempts  = 8
	)
	began := time.Now()
	bannerWait := func() time.Duration {
		return min(max(time.Since(began)/4, 2*time.Second), 15*time.Second)
	}
	type result struct {
		c   *ssh.Client
		err error
	}
	actx, cancel := context.WithCancel(ctx)
	results := make(chan result)
	inflight := 0
	// Losers still running when we return are closed as they finish.
	defer func() {
		cancel()
		go func(n int) {
			for ; n > 0; n-- {
				if r := <-results; r.c != nil {
					_ = r.c.Close() // teardown: nothing is written through it any more
				}
			}
		}(inflight)
	}()
	tick := time.NewTicker(attemptEvery)
	defer tick.Stop()
	var lastErr error
	launch := func() {
		inflight++
		go func() {
			c, err := dialOnce(actx, addr, cfg, bannerWait())
			results <- result{c, err}
		}()
	}
	launch()
	for {
		select {
		case r := <-results:
			inflight--
			switch {
			case r.err == nil:
				return &Client{conn: r.c, addr: addr}, nil
			case errors.Is(r.err, ErrHostKeyMismatch):
				return nil, r.err
			case strings.Contains(r.err.Error(), "unable to authenticate"):
				return nil, fmt.Errorf("%w: %s: %v", ErrAuth, addr, r.err)
			case !expired(ctx):
				// Errors caused by our own deadline say nothing.
				lastErr = r.err
			}
		case <-tick.C:
			if inflight < maxAttempts {
				launch()
			}
		case <-ctx.Done():
			return nil, fmt.Errorf("remote: dial %s: %w (last error: %v)", addr, ctx.Err(), lastErr)
		}
	}
}

// expired reports whether ctx is done or past its deadline (a dial may see
// the deadline pass before ctx itself is cancelled).
func expired(ctx context.Context) bool {
	dl, ok := ctx.Deadline()
	return ctx.Err() != nil || ok && !time.Now().Before(dl)
}

// handshakeTimeout bounds one SSH handshake once the server has answered.
const handshakeTimeout = 30 * time.Second

// dialOnce makes one connection attempt, abandoned when the server says
// nothing for bannerWait.
func dialOnce(ctx context.Context, addr string, cfg *ssh.ClientConfig, bannerWait time.Duration) (*ssh.Client, error) {
	var d net.Dialer
	dctx, cancel := context.WithTimeout(ctx, bannerWait)
	raw, err := d.DialContext(dctx, "tcp", addr)
	cancel()
	if err != nil {
		return nil, err
	}
	conn := &bannerConn{Conn: raw}
	_ = conn.SetDeadline(time.Now().Add(bannerWait)) // a deadline that cannot be set only leaves the context to cut the wait
	conn.onFirst = func() { _ = conn.SetDeadline(time.Now().Add(handshakeTimeout)) }
	// Closing the socket is the only way to interrupt a handshake.
	stop := context.AfterFunc(ctx, func() { _ = raw.Close() })
	c, chans, reqs, err := ssh.NewClientConn(conn, addr, cfg)
	stop()
	if err != nil {
		_ = raw.Close() // teardown: nothing is written through it any more
		return nil, err
	}
	_ = conn.SetDeadline(time.Time{}) // a deadline that cannot be set only leaves the context to cut the wait
	return ssh.NewClient(c, chans, reqs), nil
}

// bannerConn calls onFirst when the first bytes arrive.
type bannerConn struct {
	net.Conn
	heard   atomic.Bool
	onFirst func()
}

func (c *bannerConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 && !c.heard.Swap(true) {
		c.onFirst()
	}
	return n, err
}

// Close closes the connection; sessions still running are torn down and
// the agent kills their commands.
func (c *Client) Close() error {
	err := c.conn.Close()
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// Run runs cmd with the guest's shell, streaming its stdout and stderr to
// the writers as they arrive (nil discards). A command that ran returns
// its exit status and a nil error (128+N when killed by signal N); err is
// set only when the command could not be run or its status was lost
// (transport failure, ctx done). When ctx is done the command's process
// group is sent SIGKILL and the session is closed.
func (c *Client) Run(ctx context.Context, cmd string, stdout, stderr io.Writer) (exitCode int, err error) {
	return c.run(ctx, cmd, nil, stdout, stderr)
}

func (c *Client) run(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	sess, err := c.openSession(ctx)
	if err != nil {
		return -1, err
	}
	defer func() { _ = sess.Close() }() // teardown: nothing is written through it any more
	sess.Stdin, sess.Stdout, sess.Stderr = stdin, stdout, stderr
	return c.wait(ctx, sess, cmd, func() error { return sess.Start(cmd) })
}

// openSession opens a session channel, giving up when ctx is done (a hung
// guest never answers the open request).
func (c *Client) openSession(ctx context.Context) (*ssh.Session, error) {
	type result struct {
		s   *ssh.Session
		err error
	}
	ch := make(chan result, 1)
	go func() {
		s, err := c.conn.NewSession()
		ch <- result{s, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			return nil, fmt.Errorf("remote: %s: new session: %w", c.addr, r.err)
		}
		return r.s, nil
	case <-ctx.Done():
		go func() {
			if r := <-ch; r.s != nil {
				_ = r.s.Close() // teardown: nothing is written through it any more
			}
		}()
		return nil, fmt.Errorf("remote: %s: new session: %w", c.addr, ctx.Err())
	}
}

// abandonAfter is how long wait gives a session to end once ctx is
// done and its command was sent SIGKILL. A guest that answers ends it at
// once; one that does not (its CPU stuck in the kernel) never will, and
// closing the session alone does not unblock ssh.Session.Wait: the
// whole connection is closed then.
var abandonAfter = 10 * time.Second

// wait starts the session with start and waits for its exit status.
// When ctx is done first, the remote process group is sent SIGKILL and
// the session closed; if the guest does not end the session within
// abandonAfter, the connection is closed, which ends every session of
// this client: wait never outlives ctx by more than abandonAfter.
func (c *Client) wait(ctx context.Context, sess *ssh.Session, what string, start func() error) (int, error) {
	if err := start(); err != nil {
		if ctx.Err() != nil {
			return -1, fmt.Errorf("remote: %q: %w", what, ctx.Err())
		}
		return -1, fmt.Errorf("remote: %s: start %q: %w", c.addr, what, err)
	}
	waited := make(chan error, 1)
	go func() { waited <- sess.Wait() }()
	select {
	case err := <-waited:
		return exitCode(c.addr, what, err)
	case <-ctx.Done():
	}
	// Signal and Close write to the connection, which blocks when a
	// frozen guest reads nothing: they run aside, and closing the
	// connection unblocks them too.
	go func() {
		_ = sess.Signal(ssh.SIGKILL) // the guest may be gone; Close below ends the session anyway
		_ = sess.Close()             // teardown: nothing is written through it any more
	}()
	abandon := time.NewTimer(abandonAfter)
	defer abandon.Stop()
	// The command's own result no longer matters: the context ended it.
	var ended error
	select {
	case ended = <-waited:
	case <-abandon.C:
		_ = c.conn.Close() // teardown: nothing is written through it any more
		ended = <-waited
	}
	_ = ended
	return -1, fmt.Errorf("remote: %q: %w", what, ctx.Err())
}

// Ping asks the agent to answer on the connection (an SSH keepalive
// request, which the agent's server answers however busy its commands
// are). An error means the agent did not answer before ctx ended, or
// the connection is gone: a guest whose CPUs are stuck in the kernel
// answers nothing.
func (c *Client) Ping(ctx context.Context) error {
	answered := make(chan error, 1)
	go func() {
		// Returns when the reply comes or the connection closes.
		_, _, err := c.conn.SendRequest("keepalive@openssh.com", true, nil)
		answered <- err
	}()
	select {
	case err := <-answered:
		if err != nil {
			return fmt.Errorf("remote: %s: keepalive: %w", c.addr, err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("remote: %s: keepalive: no answer: %w", c.addr, ctx.Err())
	}
}

func exitCode(addr, what string, err error) (int, error) {
	var ee *ssh.ExitError
	var missing *ssh.ExitMissingError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &ee):
		return ee.ExitStatus(), nil
	case errors.As(err, &missing):
		return -1, fmt.Errorf("remote: %s: %q: connection ended without an exit status", addr, what)
	default:
		return -1, fmt.Errorf("remote: %s: %q: %w", addr, what, err)
	}
}

// Put copies local to remotePath on the guest with permission bits mode.
// The file is replaced atomically; its directory must exist.
func (c *Client) Put(ctx context.Context, local io.Reader, remotePath string, mode fs.FileMode) error {
	return c.helper(ctx, proto.PutCommand(remotePath, mode), local, io.Discard)
}

// Get copies the regular file remotePath from the guest to w.
func (c *Client) Get(ctx context.Context, remotePath string, w io.Writer) error {
	return c.helper(ctx, proto.GetCommand(remotePath), nil, w)
}

// helper runs an agent-internal command, turning a non-zero status into
// an *ExitError carrying the agent's message.
func (c *Client) helper(ctx context.Context, cmd string, stdin io.Reader, stdout io.Writer) error {
	var stderr bytes.Buffer
	code, err := c.run(ctx, cmd, stdin, stdout, &limitedWriter{w: &stderr, n: 64 << 10})
	if err != nil {
		return err
	}
	if code != 0 {
		return &ExitError{Command: cmd, Code: code, Stderr: stderr.String()}
	}
	return nil
}

// PowerOff asks the agent to sync, unmount and power the guest off, then
// closes the connection so the agent need not wait for us. The machine
// stops shortly after PowerOff returns; the caller waits for the VM
// process to exit.
func (c *Client) PowerOff(ctx context.Context) error {
	err := c.helper(ctx, proto.PowerOffCommand(), nil, io.Discard)
	_ = c.Close() // teardown: nothing is written through it any more
	return err
}

// Stdio is how Exec attaches a command's standard streams.
type Stdio struct {
	// Stdin is sent to the command until its EOF, which then closes the
	// command's stdin (without a pty), so `cat` ends. nil is empty.
	Stdin          io.Reader
	Stdout, Stderr io.Writer // nil discards
	// Pty gives the command a pseudo-terminal, which merges its stderr
	// into Stdout. When Stdin is a terminal it is put in raw mode and the
	// pty follows its window size; otherwise the pty is 80x24 and Stdin's
	// bytes are typed into it, as with `ssh -tt`. (As with OpenSSH, a
	// pty has no EOF to pass on: the command must end by itself.)
	Pty bool
}

// IsTerminal reports whether r is a terminal, as os.Stdin at a prompt is.
func IsTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Exec runs cmd with the guest's shell (the interactive shell when cmd is
// empty) with its standard streams attached as `ssh HOST CMD` attaches
// them: stdin forwarded, stdout and stderr streamed as they arrive. It
// returns the exit status as Run does (128+N when killed by signal N).
// Note that a goroutine may stay blocked reading Stdin after Exec
// returns, as the command may end before Stdin does.
func (c *Client) Exec(ctx context.Context, cmd string, stdio Stdio) (int, error) {
	sess, err := c.openSession(ctx)
	if err != nil {
		return -1, err
	}
	defer func() { _ = sess.Close() }() // teardown: nothing is written through it any more
	sess.Stdin, sess.Stdout, sess.Stderr = stdio.Stdin, stdio.Stdout, stdio.Stderr
	if stdio.Pty {
		restore, err := c.requestPty(sess, stdio.Stdin)
		if err != nil {
			return -1, err
		}
		defer restore()
	}
	what, start := cmd, func() error { return sess.Start(cmd) }
	if cmd == "" {
		what, start = "shell", sess.Shell
	}
	return c.wait(ctx, sess, what, start)
}

// requestPty asks for a pty for sess, sized like stdin when that is a
// terminal, which it puts in raw mode until restore.
func (c *Client) requestPty(sess *ssh.Session, stdin io.Reader) (restore func(), err error) {
	termName := os.Getenv("TERM")
	if termName == "" {
		termName = "xterm"
	}
	modes := ssh.TerminalModes{ssh.ECHO: 1, ssh.TTY_OP_ISPEED: 38400, ssh.TTY_OP_OSPEED: 38400}
	if !IsTerminal(stdin) {
		if err := sess.RequestPty(termName, 24, 80, modes); err != nil {
			return nil, fmt.Errorf("remote: %s: pty: %w", c.addr, err)
		}
		return func() {}, nil
	}
	fd := int(stdin.(*os.File).Fd())
	w, h, err := term.GetSize(fd)
	if err != nil {
		w, h = 80, 24
	}
	if err := sess.RequestPty(termName, h, w, modes); err != nil {
		return nil, fmt.Errorf("remote: %s: pty: %w", c.addr, err)
	}
	old, err := term.MakeRaw(fd)
	if err != nil {
		return nil, fmt.Errorf("remote: raw terminal: %w", err)
	}
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	go func() {
		for range winch {
			if w, h, err := term.GetSize(fd); err == nil {
				_ = sess.WindowChange(h, w) // cosmetic: a missed resize only misdraws
			}
		}
	}()
	return func() {
		signal.Stop(winch)
		close(winch)
		_ = term.Restore(fd, old) // nothing better to do at exit than try
	}, nil
}

// Shell runs the guest's interactive shell, with a pty when stdin is a
// terminal (see Exec); otherwise the shell reads commands from stdin. A
// non-zero exit is an *ExitError.
func (c *Client) Shell(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) error {
	code, err := c.Exec(ctx, "", Stdio{Stdin: stdin, Stdout: stdout, Stderr: stderr, Pty: IsTerminal(stdin)})
	if err != nil {
		return err
	}
	if code != 0 {
		return &ExitError{Command: "shell", Code: code}
	}
	return nil
}

// limitedWriter keeps the first n bytes and drops the rest, so a chatty
// failure cannot eat memory.
type limitedWriter struct {
	w io.Writer
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if l.n > 0 {
		k := min(len(p), l.n)
		_, _ = l.w.Write(p[:k]) // an evidence excerpt: a failing sink must not fail the command
		l.n -= k
	}
	return len(p), nil
}
