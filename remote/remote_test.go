package remote

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/sys/unix"

	"github.com/ktest-dev/ktest/guest/agent"
)

// testAgent is the real agent SSH server running in-process.
type testAgent struct {
	addr      string
	keys      *Keys
	dir       string        // working directory of commands
	poweredOn chan struct{} // closed when the agent's PowerOff hook runs
}

func startAgent(t *testing.T) *testAgent {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := GenerateKeys()
	if err != nil {
		t.Fatal(err)
	}
	return startAgentWithKeys(t, ln, keys)
}

func startAgentWithKeys(t *testing.T, ln net.Listener, keys *Keys) *testAgent {
	t.Helper()
	a := &testAgent{addr: ln.Addr().String(), keys: keys, dir: t.TempDir(), poweredOn: make(chan struct{})}
	// The agent reads its keys from the image files; do the same.
	hostKeyFile := filepath.Join(a.dir, "host_key")
	authFile := filepath.Join(a.dir, "authorized_key")
	if err := os.WriteFile(hostKeyFile, keys.HostPrivatePEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(authFile, keys.AuthorizedKey, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := agent.LoadConfig(hostKeyFile, authFile)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Shell = "/bin/sh"
	cfg.Dir = a.dir
	cfg.Env = []string{"PATH=/usr/bin:/bin:/usr/sbin:/sbin", "KTEST_BASE=1"}
	var once sync.Once
	cfg.PowerOff = func() error {
		once.Do(func() { close(a.poweredOn) })
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- agent.Serve(ctx, ln, cfg) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("agent.Serve: %v", err)
		}
	})
	return a
}

func (a *testAgent) dial(t *testing.T) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, a.addr, a.keys.HostSigner.PublicKey(), a.keys.ClientSigner)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestRunExitCodesAndOutput(t *testing.T) {
	a := startAgent(t)
	c := a.dial(t)
	tests := []struct {
		name       string
		cmd        string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{"success", "true", 0, "", ""},
		{"exit 3", "exit 3", 3, "", ""},
		{"killed by signal", "kill -KILL $$", 128 + 9, "", ""},
		{"stderr is separate", "echo out; echo err >&2; echo out2", 0, "out\nout2\n", "err\n"},
		{"not found", "/nonexistent/x", 127, "", "not found"},
		{"base env and cwd", `echo $KTEST_BASE; pwd`, 0, "1\n" + a.dir + "\n", ""},
		{"stdin is empty", "cat; echo done", 0, "done\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code, err := c.Run(context.Background(), tt.cmd, &stdout, &stderr)
			if err != nil {
				t.Fatalf("Run(%q): %v", tt.cmd, err)
			}
			if code != tt.wantCode || stdout.String() != tt.wantStdout || !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("Run(%q) = %d, stdout %q, stderr %q; want %d, %q, stderr containing %q",
					tt.cmd, code, stdout.String(), stderr.String(), tt.wantCode, tt.wantStdout, tt.wantStderr)
			}
			if tt.wantStderr == "" && stderr.Len() != 0 {
				t.Errorf("unexpected stderr %q", stderr.String())
			}
		})
	}
}

// notifyWriter collects output and reports each write.
type notifyWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	wrote chan struct{}
}

func (w *notifyWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	select {
	case w.wrote <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (w *notifyWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// TestRunStreams checks that output arrives while the command runs: the
// command waits for a file the test creates only after seeing the first
// line, so buffered output would deadlock (and time out).
func TestRunStreams(t *testing.T) {
	a := startAgent(t)
	c := a.dial(t)
	gate := filepath.Join(a.dir, "gate")
	cmd := fmt.Sprintf("echo first; echo first-err >&2; while [ ! -e %s ]; do sleep 0.02; done; echo second", gate)
	stdout := &notifyWriter{wrote: make(chan struct{}, 1)}
	stderr := &notifyWriter{wrote: make(chan struct{}, 1)}
	type result struct {
		code int
		err  error
	}
	done := make(chan result, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	go func() {
		code, err := c.Run(ctx, cmd, stdout, stderr)
		done <- result{code, err}
	}()
	for _, w := range []*notifyWriter{stdout, stderr} {
		select {
		case <-w.wrote:
		case r := <-done:
			t.Fatalf("command ended (%d, %v) before any output was seen", r.code, r.err)
		case <-time.After(10 * time.Second):
			t.Fatal("no output streamed within 10s while the command runs")
		}
	}
	if got := stdout.String(); got != "first\n" {
		t.Fatalf("stdout while running = %q, want %q", got, "first\n")
	}
	if got := stderr.String(); got != "first-err\n" {
		t.Fatalf("stderr while running = %q", got)
	}
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil || r.code != 0 {
		t.Fatalf("Run = %d, %v", r.code, r.err)
	}
	if got := stdout.String(); got != "first\nsecond\n" {
		t.Errorf("stdout = %q", got)
	}
}

func TestRunStdin(t *testing.T) {
	a := startAgent(t)
	c := a.dial(t)
	in := strings.Repeat("line of input\n", 10000)
	var out bytes.Buffer
	code, err := c.run(context.Background(), "wc -l; echo end", strings.NewReader(in), &out, io.Discard)
	if err != nil || code != 0 {
		t.Fatalf("run = %d, %v", code, err)
	}
	if got := strings.Fields(out.String()); len(got) != 2 || got[0] != "10000" || got[1] != "end" {
		t.Errorf("output = %q, want 10000 lines counted", out.String())
	}
}

// TestExecStdio: Exec attaches stdin, stdout, stderr and the exit
// status as `ssh HOST CMD` does, with and without a pty; without a pty,
// stdin's EOF reaches the command so `cat` ends.
func TestExecStdio(t *testing.T) {
	a := startAgent(t)
	c := a.dial(t)
	big := strings.Repeat("0123456789abcdef", 1<<16) // 1 MiB: more than the SSH window
	tests := []struct {
		name       string
		cmd        string
		stdin      string
		pty        bool
		wantCode   int
		wantStdout string // exact without a pty; a substring with one
		wantStderr string
		wantFile   string // content of a.dir/x afterwards, if set
	}{
		{"cat echoes stdin and ends at EOF", "cat", "hello\n", false, 0, "hello\n", "", ""},
		{"stdin into a file", "cat > x", big, false, 0, "", "", big},
		{"stdin, stderr and status", "wc -c; echo oops >&2; exit 3", big, false, 3, fmt.Sprint(len(big)) + "\n", "oops\n", ""},
		{"no stdin", "cat; echo done", "", false, 0, "done\n", "", ""},
		{"no pty by default", "test -t 0 || echo no-tty", "", false, 0, "no-tty\n", "", ""},
		{"pty", "test -t 0 && test -t 1 && echo is-a-tty; exit 4", "", true, 4, "is-a-tty", "", ""},
		{"pty reads stdin", "read x; echo got:$x", "typed\n", true, 0, "got:typed", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := os.Remove(filepath.Join(a.dir, "x")); err != nil && !errors.Is(err, fs.ErrNotExist) {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			var stdout, stderr syncWriter
			code, err := c.Exec(ctx, tt.cmd, Stdio{Stdin: strings.NewReader(tt.stdin), Stdout: &stdout, Stderr: &stderr, Pty: tt.pty})
			if err != nil {
				t.Fatalf("Exec(%q): %v (stdout %q)", tt.cmd, err, stdout.String())
			}
			out := stdout.String()
			if code != tt.wantCode || (!tt.pty && out != tt.wantStdout) || (tt.pty && !strings.Contains(out, tt.wantStdout)) ||
				stderr.String() != tt.wantStderr {
				t.Errorf("Exec(%q) = %d, stdout %.80q, stderr %q; want %d, %.80q, %q",
					tt.cmd, code, out, stderr.String(), tt.wantCode, tt.wantStdout, tt.wantStderr)
			}
			if tt.wantFile != "" {
				if b, err := os.ReadFile(filepath.Join(a.dir, "x")); err != nil || string(b) != tt.wantFile {
					t.Errorf("file written from stdin: %d bytes (%v), want %d", len(b), err, len(tt.wantFile))
				}
			}
		})
	}
}

func TestPutGetRoundTrip(t *testing.T) {
	a := startAgent(t)
	c := a.dial(t)
	ctx := context.Background()
	data := make([]byte, 3<<20+17)
	rand.Read(data)
	for i := range 256 {
		data[i] = byte(i)
	}
	tests := []struct {
		name string
		path string
		mode os.FileMode
	}{
		{"binary", filepath.Join(a.dir, "blob.bin"), 0o640},
		{"odd name", filepath.Join(a.dir, "it's a $file;"), 0o755},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := c.Put(ctx, bytes.NewReader(data), tt.path, tt.mode); err != nil {
				t.Fatal(err)
			}
			st, err := os.Stat(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != tt.mode || st.Size() != int64(len(data)) {
				t.Errorf("remote file: mode %v size %d, want %v %d", st.Mode().Perm(), st.Size(), tt.mode, len(data))
			}
			var got bytes.Buffer
			if err := c.Get(ctx, tt.path, &got); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), data) {
				t.Errorf("Get returned %d bytes, not the %d put", got.Len(), len(data))
			}
		})
	}

	t.Run("get missing", func(t *testing.T) {
		err := c.Get(ctx, filepath.Join(a.dir, "missing"), io.Discard)
		var ee *ExitError
		if !errors.As(err, &ee) || ee.Code != 1 || !strings.Contains(ee.Stderr, "no such file") {
			t.Errorf("Get(missing) = %v, want an ExitError naming the missing file", err)
		}
	})
	t.Run("put into missing dir", func(t *testing.T) {
		err := c.Put(ctx, strings.NewReader("x"), filepath.Join(a.dir, "no", "dir"), 0o644)
		var ee *ExitError
		if !errors.As(err, &ee) || !strings.Contains(ee.Error(), "no such file") {
			t.Errorf("Put into a missing dir = %v", err)
		}
	})
}

func TestWrongClientKeyRefused(t *testing.T) {
	a := startAgent(t)
	other, err := GenerateKeys()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	_, err = Dial(ctx, a.addr, a.keys.HostSigner.PublicKey(), other.ClientSigner)
	if !errors.Is(err, ErrAuth) {
		t.Fatalf("Dial with a wrong client key = %v, want ErrAuth", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("refusal took %v: it must not be retried", time.Since(start))
	}
}

func TestWrongHostKeyRefused(t *testing.T) {
	a := startAgent(t)
	other, err := GenerateKeys()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	_, err = Dial(ctx, a.addr, other.HostSigner.PublicKey(), a.keys.ClientSigner)
	if !errors.Is(err, ErrHostKeyMismatch) {
		t.Fatalf("Dial pinning another host key = %v, want ErrHostKeyMismatch", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("mismatch took %v: it must not be retried", time.Since(start))
	}
}

func TestPasswordAuthRefused(t *testing.T) {
	a := startAgent(t)
	tests := []struct {
		name string
		auth ssh.AuthMethod
	}{
		{"password", ssh.Password("root")},
		{"keyboard-interactive", ssh.KeyboardInteractive(func(string, string, []string, []bool) ([]string, error) {
			return []string{"root"}, nil
		})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ssh.Dial("tcp", a.addr, &ssh.ClientConfig{
				User:            "root",
				Auth:            []ssh.AuthMethod{tt.auth},
				HostKeyCallback: ssh.FixedHostKey(a.keys.HostSigner.PublicKey()),
				Timeout:         5 * time.Second,
			})
			if err == nil {
				_ = c.Close() // teardown: nothing is written through it any more
				t.Fatal("logged in without a key")
			}
			if !strings.Contains(err.Error(), "unable to authenticate") {
				t.Errorf("err = %v, want an authentication failure", err)
			}
		})
	}
}

// TestCancelKillsProcessGroup cancels a Run whose command has a background
// child; both must die.
func TestCancelKillsProcessGroup(t *testing.T) {
	a := startAgent(t)
	c := a.dial(t)
	bgFile, fgFile := filepath.Join(a.dir, "bg.pid"), filepath.Join(a.dir, "fg.pid")
	cmd := fmt.Sprintf("sleep 300 & echo $! > %s; echo $$ > %s; sleep 300", bgFile, fgFile)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.Run(ctx, cmd, io.Discard, io.Discard)
		done <- err
	}()
	pids := []int{waitPID(t, bgFile), waitPID(t, fgFile)}
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run after cancel = %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return within 5s of cancel")
	}
	for _, pid := range pids {
		for !dead(pid) {
			if time.Since(start) > 5*time.Second {
				t.Fatalf("pid %d still alive 5s after cancel", pid)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	// The connection stays usable.
	if code, err := c.Run(context.Background(), "true", nil, nil); err != nil || code != 0 {
		t.Errorf("Run after a cancelled Run = %d, %v", code, err)
	}
}

// TestLeaderExitKillsGroup checks the contract that a command is over when
// its leader exits: background children left in its group are killed.
func TestLeaderExitKillsGroup(t *testing.T) {
	a := startAgent(t)
	c := a.dial(t)
	bgFile := filepath.Join(a.dir, "bg.pid")
	start := time.Now()
	code, err := c.Run(context.Background(), fmt.Sprintf("sleep 300 & echo $! > %s", bgFile), nil, nil)
	if err != nil || code != 0 {
		t.Fatalf("Run = %d, %v", code, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Run took %v: a background child held it open", d)
	}
	pid := waitPID(t, bgFile)
	for !dead(pid) {
		if time.Since(start) > 5*time.Second {
			t.Fatalf("background pid %d still alive after its command ended", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitPID(t *testing.T, file string) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile(file)
		if err == nil && strings.HasSuffix(string(b), "\n") {
			pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			return pid
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s never written", file)
	return 0
}

// dead reports whether pid is gone or a zombie (its parent, maybe PID 1
// of a container, has not reaped it yet).
func dead(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && (s[i+2] == 'Z' || s[i+2] == 'X')
}

func TestSignalRequest(t *testing.T) {
	a := startAgent(t)
	c := a.dial(t)
	sess, err := c.conn.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sess.Close() }() // teardown: nothing is written through it any more
	out := &notifyWriter{wrote: make(chan struct{}, 1)}
	sess.Stdout = out
	if err := sess.Start("trap 'echo got-term; exit 7' TERM; echo ready; while :; do sleep 0.05; done"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-out.wrote:
	case <-time.After(10 * time.Second):
		t.Fatal("command never became ready")
	}
	if err := sess.Signal(ssh.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err = sess.Wait()
	var ee *ssh.ExitError
	if !errors.As(err, &ee) || ee.ExitStatus() != 7 || !strings.Contains(out.String(), "got-term") {
		t.Errorf("after SIGTERM: %v, output %q; want status 7 from the trap", err, out.String())
	}
}

func TestEnvAndPty(t *testing.T) {
	a := startAgent(t)
	c := a.dial(t)
	sess, err := c.conn.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sess.Close() }() // teardown: nothing is written through it any more
	if err := sess.Setenv("KTEST_FOO", "bar baz"); err != nil {
		t.Fatal(err)
	}
	if err := sess.RequestPty("vt100", 33, 101, ssh.TerminalModes{ssh.ECHO: 0}); err != nil {
		t.Fatal(err)
	}
	out, err := sess.Output(`echo "$KTEST_FOO $TERM"; tty; stty size`)
	if err != nil {
		t.Fatalf("%v (output %q)", err, out)
	}
	lines := strings.Split(strings.TrimSpace(strings.ReplaceAll(string(out), "\r\n", "\n")), "\n")
	if len(lines) != 3 || lines[0] != "bar baz vt100" || !strings.HasPrefix(lines[1], "/dev/pts/") || lines[2] != "33 101" {
		t.Errorf("pty session output = %q", lines)
	}
}

func TestShellFromReader(t *testing.T) {
	a := startAgent(t)
	c := a.dial(t)
	var out bytes.Buffer
	err := c.Shell(context.Background(), strings.NewReader("echo hi\nexit 4\n"), &out, io.Discard)
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != 4 || out.String() != "hi\n" {
		t.Errorf("Shell = %v, output %q; want exit 4 after hi", err, out.String())
	}
}

func TestPowerOff(t *testing.T) {
	a := startAgent(t)
	c := a.dial(t)
	if err := c.PowerOff(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-a.poweredOn:
	case <-time.After(time.Second):
		// PowerOff hangs up, so the agent must not wait out its grace.
		t.Fatal("agent did not power off within 1s of the client hanging up")
	}
	if _, err := c.Run(context.Background(), "true", nil, nil); err == nil {
		t.Error("client still usable after PowerOff")
	}
}

// TestDialRetriesUntilAgentUp starts Dial before anything listens, as when
// the guest is still booting.
func TestDialRetriesUntilAgentUp(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // teardown: nothing is written through it any more
	keys, err := GenerateKeys()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	type result struct {
		c   *Client
		err error
	}
	done := make(chan result, 1)
	go func() {
		c, err := Dial(ctx, addr, keys.HostSigner.PublicKey(), keys.ClientSigner)
		done <- result{c, err}
	}()
	time.Sleep(500 * time.Millisecond)
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("port %s taken meanwhile: %v", addr, err)
	}
	startAgentWithKeys(t, ln, keys)
	r := <-done
	if r.err != nil {
		t.Fatalf("Dial = %v", r.err)
	}
	defer func() { _ = r.c.Close() }() // teardown: nothing is written through it any more
	var out bytes.Buffer
	if code, err := r.c.Run(ctx, "echo up", &out, nil); err != nil || code != 0 || out.String() != "up\n" {
		t.Errorf("Run = %d, %v, %q", code, err, out.String())
	}
}

func TestDialGivesUpWithContext(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // teardown: nothing is written through it any more
	keys, _ := GenerateKeys()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_, err = Dial(ctx, addr, keys.HostSigner.PublicKey(), keys.ClientSigner)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("Dial to nothing = %v, want the deadline and the last error", err)
	}
}

// TestShellWithTerminal drives Shell through a local pty, as a user at a
// terminal would: the remote shell gets a pty of the local window size.
func TestShellWithTerminal(t *testing.T) {
	a := startAgent(t)
	c := a.dial(t)
	master, slave := openTestPty(t)
	if err := unix.IoctlSetWinsize(int(slave.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 40, Col: 120}); err != nil {
		t.Fatal(err)
	}
	var out syncWriter
	done := make(chan error, 1)
	go func() { done <- c.Shell(context.Background(), slave, &out, &out) }()
	// Typed input reaches the remote shell through the raw local tty.
	go func() { _, _ = master.Write([]byte("stty size; tty; exit 5\r")) }() // a lost write shows as the exit code below
	go func() { _, _ = io.Copy(io.Discard, master) }()                      // local echo, if any
	select {
	case err := <-done:
		var ee *ExitError
		if !errors.As(err, &ee) || ee.Code != 5 {
			t.Errorf("Shell = %v, want exit 5", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("shell did not exit; output so far %q", out.String())
	}
	if s := out.String(); !strings.Contains(s, "40 120") || !strings.Contains(s, "/dev/pts/") {
		t.Errorf("remote shell output %q lacks the window size and a pty", s)
	}
}

func openTestPty(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close(); _ = s.Close() })
	return m, s
}

type syncWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func TestGenerateKeys(t *testing.T) {
	k, err := GenerateKeys()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		pem  []byte
		want ssh.PublicKey
	}{
		{"host", k.HostPrivatePEM, k.HostSigner.PublicKey()},
		{"client", k.ClientPrivatePEM, k.ClientSigner.PublicKey()},
	}
	for _, tt := range tests {
		s, err := ssh.ParsePrivateKey(tt.pem)
		if err != nil {
			t.Fatalf("%s PEM: %v", tt.name, err)
		}
		if !bytes.Equal(s.PublicKey().Marshal(), tt.want.Marshal()) {
			t.Errorf("%s PEM holds another key", tt.name)
		}
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey(k.AuthorizedKey)
	if err != nil || !bytes.Equal(pub.Marshal(), k.ClientSigner.PublicKey().Marshal()) {
		t.Errorf("AuthorizedKey %q is not the client key (%v)", k.AuthorizedKey, err)
	}
	k2, _ := GenerateKeys()
	if bytes.Equal(k.HostPrivatePEM, k2.HostPrivatePEM) || bytes.Equal(k.AuthorizedKey, k2.AuthorizedKey) {
		t.Error("two GenerateKeys calls returned the same keys")
	}
}
