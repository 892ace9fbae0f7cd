package faults

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// markerEnv is set in the environment of every process the suite starts;
// children (QEMU, make, cc1) inherit it, so leftovers can be found in
// /proc whoever their parent is now.
const markerEnv = "KTEST_FAULTS_MARK"

var (
	moduleRoot string // the ktest source module
	ktestBin   string // the ktest binary under test, built by TestMain
	suiteDir   string // the suite's scratch directory
	suiteTmp   string // TMPDIR of the test process and its subprocesses
	suiteMark  string // prefix of every marker value of this suite run
	markSeq    int
	markMu     sync.Mutex
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	if testing.Short() {
		// Every test skips itself; nothing to set up.
		return m.Run()
	}
	var err error
	if moduleRoot, err = findModuleRoot(); err != nil {
		fmt.Fprintln(os.Stderr, "faults:", err)
		return 1
	}
	if suiteDir, err = os.MkdirTemp("", "ktest-faults-"); err != nil {
		fmt.Fprintln(os.Stderr, "faults:", err)
		return 1
	}
	suiteTmp = filepath.Join(suiteDir, "tmp")
	if err := os.Mkdir(suiteTmp, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "faults:", err)
		return 1
	}
	ktestBin = filepath.Join(suiteDir, "bin", "ktest")
	build := exec.Command("go", "build", "-o", ktestBin, "./cmd/ktest")
	build.Dir = moduleRoot
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "faults: go build ./cmd/ktest: %v\n%s", err, out)
		return 1
	}
	var b [4]byte
	rand.Read(b[:])
	suiteMark = fmt.Sprintf("faults-%d-%s", os.Getpid(), hex.EncodeToString(b[:]))
	// In-process VMs (vm.Pool.Start) inherit these: QEMU is marked, and its
	// run directory is made under suiteTmp.
	for k, v := range map[string]string{markerEnv: suiteMark + "-self", "TMPDIR": suiteTmp} {
		if err := os.Setenv(k, v); err != nil {
			fmt.Fprintf(os.Stderr, "faults: %v\n", err)
			os.Exit(2)
		}
	}

	code := m.Run()

	// Whatever a test forgot: nothing of this suite may outlive it.
	if left := waitNoProcs(suiteMark, 10*time.Second); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "faults: processes left behind by the suite:\n%s", describeProcs(left))
		killProcs(left)
		code = 1
	}
	if code == 0 {
		_ = os.RemoveAll(suiteDir) // best effort: the suite has passed, nothing to report
	} else {
		fmt.Fprintf(os.Stderr, "faults: kept %s for inspection\n", suiteDir)
	}
	return code
}

// requireSuite skips in -short mode: every check here boots QEMU or runs
// the real binary against real kernels.
func requireSuite(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("fault suite: builds kernels, boots QEMU")
	}
	if ktestBin == "" {
		t.Fatal("TestMain did not build ktest")
	}
}

func findModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// newMark returns a fresh marker value for one subprocess.
func newMark(name string) string {
	markMu.Lock()
	defer markMu.Unlock()
	markSeq++
	return fmt.Sprintf("%s-%d-%s", suiteMark, markSeq, strings.NewReplacer("/", "_", " ", "_").Replace(name))
}

// syncBuffer is a bytes.Buffer safe for a writer goroutine and readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// ktestProc is one ktest subprocess.
type ktestProc struct {
	t      *testing.T
	args   []string
	mark   string
	cmd    *exec.Cmd
	stdout syncBuffer
	stderr syncBuffer
	start  time.Time
	done   chan struct{}
	end    time.Time
}

// procOpts tune a ktest subprocess.
type procOpts struct {
	env    []string // extra KEY=VALUE
	tmpDir string   // TMPDIR; "" means a fresh directory under suiteTmp
	// stdout, if set, is ktest's stdout instead of the buffer, e.g. the
	// write end of a pipe whose reader goes away.
	stdout *os.File
}

// startKtest starts the ktest under test in the module root (the guest
// image is built from the source tree there).
func startKtest(t *testing.T, o procOpts, args ...string) *ktestProc {
	t.Helper()
	p := &ktestProc{t: t, args: args, mark: newMark(t.Name()), done: make(chan struct{})}
	if o.tmpDir == "" {
		d, err := os.MkdirTemp(suiteTmp, "proc-")
		if err != nil {
			t.Fatal(err)
		}
		o.tmpDir = d
	}
	p.cmd = exec.Command(ktestBin, args...)
	p.cmd.Dir = moduleRoot
	p.cmd.Env = append(os.Environ(), markerEnv+"="+p.mark, "TMPDIR="+o.tmpDir)
	p.cmd.Env = append(p.cmd.Env, o.env...)
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if o.stdout != nil {
		p.cmd.Stdout = o.stdout
	}
	p.start = time.Now()
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = p.cmd.Wait()
		p.end = time.Now()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			t.Logf("killing ktest %s (pid %d), still running at the end of the test", strings.Join(args, " "), p.cmd.Process.Pid)
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		killProcs(markedProcs(p.mark))
	})
	return p
}

// wait waits up to timeout for ktest to exit and returns its exit code;
// it fails the test if ktest is still running then.
func (p *ktestProc) wait(timeout time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.t.Errorf("ktest %s still running after %v; killing it\nstderr tail:\n%s", strings.Join(p.args, " "), timeout, tail(p.stderr.String(), 30))
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	return p.cmd.ProcessState.ExitCode()
}

// waitFor waits until ktest's stderr contains s; false if ktest exited or
// timeout passed first.
func (p *ktestProc) waitFor(s string, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if strings.Contains(p.stderr.String(), s) {
			return true
		}
		select {
		case <-p.done:
			return strings.Contains(p.stderr.String(), s)
		case <-time.After(100 * time.Millisecond):
		}
	}
	return false
}

func (p *ktestProc) signal(sig syscall.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("signal %v: %v", sig, err)
	}
}

// runKtest runs ktest to completion and returns its exit code, stdout and
// stderr.
func runKtest(t *testing.T, timeout time.Duration, o procOpts, args ...string) (int, string, string) {
	t.Helper()
	p := startKtest(t, o, args...)
	code := p.wait(timeout)
	return code, p.stdout.String(), p.stderr.String()
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// proc is a process seen in /proc.
type proc struct {
	pid     int
	comm    string
	cmdline string
	mark    string
}

// allProcs reads every process's comm, cmdline and marker.
func allProcs() []proc {
	entries, _ := os.ReadDir("/proc")
	var out []proc
	self := os.Getpid()
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		dir := filepath.Join("/proc", e.Name())
		stat, err := os.ReadFile(filepath.Join(dir, "stat"))
		if err != nil {
			continue
		}
		// A zombie has been killed; only its parent's reaping is pending.
		if i := bytes.LastIndexByte(stat, ')'); i > 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
			continue
		}
		p := proc{pid: pid}
		if b, err := os.ReadFile(filepath.Join(dir, "comm")); err == nil {
			p.comm = strings.TrimSpace(string(b))
		}
		if b, err := os.ReadFile(filepath.Join(dir, "cmdline")); err == nil {
			p.cmdline = strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
		}
		if b, err := os.ReadFile(filepath.Join(dir, "environ")); err == nil {
			for _, kv := range bytes.Split(b, []byte{0}) {
				if v, ok := bytes.CutPrefix(kv, []byte(markerEnv+"=")); ok {
					p.mark = string(v)
				}
			}
		}
		out = append(out, p)
	}
	return out
}

// markedProcs returns the live processes whose marker starts with prefix,
// and the QEMUs whose command line mentions the suite's directory (which
// also catches a QEMU that lost its environment marker somehow).
func markedProcs(prefix string) []proc {
	var out []proc
	for _, p := range allProcs() {
		qemuOfSuite := strings.HasPrefix(p.comm, "qemu-system") && suiteDir != "" && strings.Contains(p.cmdline, suiteDir) && prefix == suiteMark
		if (p.mark != "" && strings.HasPrefix(p.mark, prefix)) || qemuOfSuite {
			out = append(out, p)
		}
	}
	return out
}

// qemuProcs returns the live QEMU processes carrying a marker with prefix.
func qemuProcs(prefix string) []proc {
	var out []proc
	for _, p := range markedProcs(prefix) {
		if strings.HasPrefix(p.comm, "qemu-system") {
			out = append(out, p)
		}
	}
	return out
}

// waitNoProcs waits up to timeout for every process marked with prefix to
// be gone and returns those still alive then.
func waitNoProcs(prefix string, timeout time.Duration) []proc {
	deadline := time.Now().Add(timeout)
	for {
		left := markedProcs(prefix)
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func describeProcs(ps []proc) string {
	var b strings.Builder
	for _, p := range ps {
		cmd := p.cmdline
		if len(cmd) > 300 {
			cmd = cmd[:300] + "..."
		}
		fmt.Fprintf(&b, "  pid %d %s: %s\n", p.pid, p.comm, cmd)
	}
	return b.String()
}

// killProcs kills leftovers by pid, so a failing check does not leave
// them running for the rest of the suite.
func killProcs(ps []proc) {
	for _, p := range ps {
		_ = syscall.Kill(p.pid, syscall.SIGKILL)
	}
}

// assertNoLeftovers checks that nothing marked with prefix still runs
// (within a grace period for the exit to propagate) and that none of dirs
// holds a VM run directory, disk image or per-run guest image.
func assertNoLeftovers(t *testing.T, prefix string, grace time.Duration, dirs ...string) {
	t.Helper()
	if left := waitNoProcs(prefix, grace); len(left) > 0 {
		t.Errorf("processes left running %v after the fact:\n%s", grace, describeProcs(left))
		killProcs(left)
	}
	for _, d := range dirs {
		// The callback reports what it finds and never stops the walk.
		_ = filepath.WalkDir(d, func(path string, e fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			name := e.Name()
			switch {
			case e.IsDir() && strings.HasPrefix(name, "ktest-vm-"):
				t.Errorf("VM run directory left behind: %s", path)
				return fs.SkipDir
			case strings.HasSuffix(name, ".img"):
				t.Errorf("disk image left behind: %s", path)
			case strings.HasPrefix(name, "ktest-initramfs-") && strings.HasSuffix(name, ".cpio"):
				t.Errorf("per-run guest image (it holds the guest's private host key) left behind: %s", path)
			}
			return nil
		})
	}
}

// ctxFor is a context bounded by d, cancelled at the end of the test.
func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// testLog sends progress lines to the test log.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
