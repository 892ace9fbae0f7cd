// Running make: configuration, the build itself with its progress line,
// resource usage and the first compiler error.

package kbuild

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ktest-dev/ktest/internal/atomicfile"
	"github.com/ktest-dev/ktest/kconfig"
)

// makeArgs are shared by every make invocation so the configuration
// seen by config and build steps is the same.
func makeArgs(s *slot, objdir string, targets ...string) []string {
	return append([]string{"-C", s.src, "O=" + objdir, "ARCH=x86_64"}, targets...)
}

func makeEnv() []string {
	// Fixed build identity, so a rebuild of the same sources is
	// byte-for-byte comparable and init/version.o is not rebuilt for
	// nothing.
	return append(os.Environ(), "KBUILD_BUILD_TIMESTAMP=ktest", "KBUILD_BUILD_USER=ktest",
		"KBUILD_BUILD_HOST=ktest", "LC_ALL=C")
}

func runMake(ctx context.Context, dir string, args []string, out io.Writer) error {
	cmd := exec.CommandContext(ctx, "make", args...)
	cmd.Dir = dir
	cmd.Env = makeEnv()
	cmd.Stdout, cmd.Stderr = out, out
	// make and its compilers are one process group, so an interrupt
	// stops all of them: SIGTERM first so make deletes half-written
	// targets, then SIGKILL.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	err := cmd.Run()
	if cmd.Process != nil {
		// What is left of make's group, if anything: ESRCH is the
		// usual answer, and there is nothing else to do.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	return err
}

func configure(ctx context.Context, req Request, in *inputs, s *slot) ([]byte, error) {
	log := req.log()
	fail := func(err error) ([]byte, error) { return nil, &ConfigError{req.Variant, err} }
	if err := os.MkdirAll(s.cfg, 0o755); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	cfgPath := filepath.Join(s.cfg, ".config")
	base := in.baseCfg
	if base == nil {
		logf(log, "ktest: config [%s]: tinyconfig\n", req.Variant)
		if err := runMake(ctx, s.src, makeArgs(s, s.cfg, "tinyconfig"), &out); err != nil {
			return fail(fmt.Errorf("make tinyconfig: %w\n%s", err, tail(out.String(), 20)))
		}
		var err error
		if base, err = os.ReadFile(cfgPath); err != nil {
			return nil, err
		}
	}
	merged, reqs := kconfig.Merge(base, in.fragments...)
	if err := atomicfile.WriteFile(cfgPath, merged, 0o644); err != nil {
		return nil, err
	}
	logf(log, "ktest: config [%s]: merged %s, olddefconfig\n", req.Variant, strings.Join(fragmentNames(in.fragments), ", "))
	out.Reset()
	if err := runMake(ctx, s.src, makeArgs(s, s.cfg, "olddefconfig"), &out); err != nil {
		return fail(fmt.Errorf("make olddefconfig: %w\n%s", err, tail(out.String(), 20)))
	}
	final, err := os.ReadFile(cfgPath)
	if err != nil {
		return nil, err
	}
	fc := kconfig.ParseConfig(final)
	var deps *kconfig.Deps
	explain := func(sym, want string) string {
		if deps == nil {
			var err error
			if deps, err = kconfig.ScanDeps(s.src, "x86"); err != nil {
				return "(could not read Kconfig to explain: " + err.Error() + ")"
			}
		}
		return deps.Explain(fc, sym, want)
	}
	if err := kconfig.Verify(fc, reqs, explain); err != nil {
		return fail(err)
	}
	logf(log, "ktest: config [%s]: all %d requested options verified\n", req.Variant, len(reqs))
	return final, nil
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

var objectRE = regexp.MustCompile(`^\s+(CC|AS|CC \[M\]|LD|AR|OBJCOPY|HOSTCC)\s+(\S+)`)

var compilerErrRE = regexp.MustCompile(`^(\S+?):(\d+):(\d+): (fatal )?error: (.*)$`)

// make runs the build in the slot and publishes the result.
func (c *Cache) make(ctx context.Context, req Request, in *inputs, s *slot, cfg []byte, key string) (*Result, error) {
	log := req.log()
	if err := os.MkdirAll(s.obj, 0o755); err != nil {
		return nil, err
	}
	objCfg := filepath.Join(s.obj, ".config")
	// Only replace the build's .config when it differs: a new mtime
	// alone makes make re-run syncconfig.
	if cur, err := os.ReadFile(objCfg); err != nil || !bytes.Equal(cur, cfg) {
		if err := atomicfile.WriteFile(objCfg, cfg, 0o644); err != nil {
			return nil, err
		}
	}
	logPath := filepath.Join(s.dir, "build.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer func() { _ = logFile.Close() }() // closed and checked below; this covers the error paths

	jobs := req.Jobs
	if jobs <= 0 {
		jobs = runtime.NumCPU()
	}
	start := time.Now()
	var ru0 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru0) // cannot fail for RUSAGE_CHILDREN and a valid pointer
	prog := newProgress(req.Variant, log, start)
	pr, pw := io.Pipe()
	var wg sync.WaitGroup
	var logErr error // the build log is evidence (the first error is read from it): a gap in it fails the build
	wg.Add(1)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64*1024), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if _, err := fmt.Fprintln(logFile, line); err != nil && logErr == nil {
				logErr = err
			}
			prog.line(line)
		}
		if err := sc.Err(); err != nil && logErr == nil {
			logErr = fmt.Errorf("reading make's output: %w", err)
		}
		// Drain what the scanner left, so make never blocks on a full
		// pipe; the scanner's error above says what was lost.
		_, _ = io.Copy(io.Discard, pr)
	}()
	logf(log, "ktest: build [%s]: make -j%d bzImage in %s (log: %s)\n", req.Variant, jobs, s.obj, logPath)
	err = runMake(ctx, s.src, makeArgs(s, s.obj, fmt.Sprintf("-j%d", jobs), "bzImage"), pw)
	_ = pw.Close() // an io.PipeWriter's Close never fails
	wg.Wait()
	prog.stop()
	if cerr := logFile.Close(); logErr == nil {
		logErr = cerr
	}
	if logErr != nil {
		logErr = fmt.Errorf("build [%s]: build log %s: %w", req.Variant, logPath, logErr)
	}
	var ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru1) // as above
	cpu := tvSeconds(ru1.Utime) + tvSeconds(ru1.Stime) - tvSeconds(ru0.Utime) - tvSeconds(ru0.Stime)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &BuildError{Variant: req.Variant, Log: logPath, FirstError: firstError(logPath, s.src), Err: errors.Join(err, logErr)}
	}
	if logErr != nil {
		return nil, logErr
	}
	elapsed := time.Since(start)
	logf(log, "ktest: build [%s]: done in %s (%.0f CPU-s), %d objects compiled\n",
		req.Variant, elapsed.Round(time.Second), cpu, prog.objects)

	r := &Result{Key: key, Variant: req.Variant, Tree: req.Tree.Origin, TreeKey: req.Tree.Key,
		Version: req.Tree.Version.String(), Patches: req.Patches, Overlay: in.paths, Compiler: in.compiler,
		ConfigSHA: fmt.Sprintf("%x", sha256.Sum256(cfg)), Quirks: in.quirks, Fragments: fragmentNames(in.fragments),
		Objects: prog.objects, Seconds: elapsed.Seconds(), CPUSecs: cpu, Built: time.Now().UTC()}
	if err := c.publish(r, filepath.Join(s.obj, "arch/x86/boot/bzImage"), cfg, logPath); err != nil {
		return nil, err
	}
	r, err = c.kernel(key)
	if r != nil {
		r.Cached = false // published just now
	}
	return r, err
}

func tvSeconds(tv syscall.Timeval) float64 { return float64(tv.Sec) + float64(tv.Usec)/1e6 }

// firstError finds the first compiler error in a build log.
// firstError is the build log's first compiler error, its path made
// relative to the slot's sources (the tree's own paths).
func firstError(logPath, srcDir string) string {
	f, err := os.Open(logPath)
	if err != nil {
		return ""
	}
	defer func() { _ = f.Close() }() // read-only: a close error loses nothing
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		if compilerErrRE.MatchString(sc.Text()) {
			return strings.TrimPrefix(sc.Text(), srcDir+"/")
		}
	}
	return ""
}

// progress turns make's output into a status line every few seconds:
// the phase, the elapsed time and the objects compiled.
type progress struct {
	mu      sync.Mutex
	variant string
	log     io.Writer
	start   time.Time
	objects int
	phase   string
	done    chan struct{}
}

func newProgress(variant string, log io.Writer, start time.Time) *progress {
	p := &progress{variant: variant, log: log, start: start, phase: "compile", done: make(chan struct{})}
	go func() {
		t := time.NewTicker(15 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-p.done:
				return
			case <-t.C:
				p.mu.Lock()
				logf(p.log, "ktest: build [%s]: %s, %s elapsed, %d objects compiled\n",
					p.variant, p.phase, time.Since(p.start).Round(time.Second), p.objects)
				p.mu.Unlock()
			}
		}
	}()
	return p
}

func (p *progress) line(l string) {
	m := objectRE.FindStringSubmatch(l)
	if m == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case m[1] == "CC" || m[1] == "AS":
		p.objects++
	case m[1] == "LD" && m[2] == "vmlinux":
		p.phase = "link"
	case m[1] == "OBJCOPY" && strings.Contains(m[2], "boot"):
		p.phase = "bzImage"
	}
}

func (p *progress) stop() { close(p.done) }
