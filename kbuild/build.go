package kbuild

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ktest-dev/ktest/internal/atomicfile"

	"github.com/ktest-dev/ktest/kconfig"
)

// cacheFormat changes whenever the cache layout or what goes into a key
// changes, so old entries are not misread.
const cacheFormat = "ktest-kbuild-1"

// Request describes one kernel to configure or build.
type Request struct {
	Tree *Tree
	// Variant names the build in progress output, e.g. "baseline".
	Variant string
	// Overlay is the variant's sources relative to the tree: path to new
	// content, nil content meaning deleted. Empty for the tree itself.
	Overlay map[string][]byte
	// Patches names what produced the overlay, for the record only; the
	// key uses the overlay's content.
	Patches []string
	// BaseConfig is a user .config to start from; empty means tinyconfig.
	BaseConfig string
	// Fragments are merged in order on top of the base config; quirk
	// fragments for the tree's version are added after them.
	Fragments []*kconfig.Fragment
	// Jobs is make's -j; 0 means the number of CPUs.
	Jobs int
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

// Result is a configured, and possibly built, kernel.
type Result struct {
	Key       string    `json:"key"`
	Dir       string    `json:"dir"`
	BzImage   string    `json:"bzimage,omitempty"`
	Config    string    `json:"config"`
	BuildLog  string    `json:"build_log,omitempty"`
	Cached    bool      `json:"cached"`
	Variant   string    `json:"variant"`
	Tree      string    `json:"tree"`
	TreeKey   string    `json:"tree_key"`
	Version   string    `json:"version"`
	Patches   []string  `json:"patches,omitempty"`
	Overlay   []string  `json:"overlay,omitempty"` // paths the variant changes
	Compiler  string    `json:"compiler"`
	ConfigSHA string    `json:"config_sha256"`
	Quirks    []string  `json:"quirks,omitempty"`
	Fragments []string  `json:"fragments"`
	Objects   int       `json:"objects_compiled"`
	Seconds   float64   `json:"build_seconds"`
	CPUSecs   float64   `json:"build_cpu_seconds"`
	Built     time.Time `json:"built"`
}

// ConfigError is a failed configuration step (merging, olddefconfig or
// verification).
type ConfigError struct {
	Variant string
	Err     error
}

func (e *ConfigError) Error() string { return fmt.Sprintf("config [%s]: %v", e.Variant, e.Err) }
func (e *ConfigError) Unwrap() error { return e.Err }

// BuildError is a failed make. FirstError is the first compiler error
// with its file and line, when the log has one.
type BuildError struct {
	Variant    string
	Log        string
	FirstError string
	Err        error
}

func (e *BuildError) Error() string {
	s := fmt.Sprintf("build [%s] failed: %v", e.Variant, e.Err)
	if e.FirstError != "" {
		s += "\n  first error: " + e.FirstError
	}
	return s + "\n  full log: " + e.Log
}
func (e *BuildError) Unwrap() error { return e.Err }

// Compiler returns the first line of `gcc --version`.
func Compiler(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "gcc", "--version").Output()
	if err != nil {
		return "", fmt.Errorf("gcc --version: %w", err)
	}
	line, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(line), nil
}

func overlayHash(o map[string][]byte) (string, []string) {
	paths := make([]string, 0, len(o))
	for p := range o {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	h := sha256.New()
	for _, p := range paths {
		if o[p] == nil {
			fmt.Fprintf(h, "D %s\n", p)
			continue
		}
		sum := sha256.Sum256(o[p])
		fmt.Fprintf(h, "M %s %x\n", p, sum)
	}
	return hex.EncodeToString(h.Sum(nil)), paths
}

// inputs gathers everything a configuration depends on.
type inputs struct {
	fragments []*kconfig.Fragment
	quirks    []string
	baseCfg   []byte
	compiler  string
	overlay   string
	paths     []string
}

func (r *Request) inputs(ctx context.Context) (*inputs, error) {
	in := &inputs{fragments: append([]*kconfig.Fragment(nil), r.Fragments...)}
	qs, err := kconfig.Quirks(r.Tree.Version)
	if err != nil {
		return nil, err
	}
	for _, q := range qs {
		in.fragments = append(in.fragments, q.Fragment)
		in.quirks = append(in.quirks, q.Name)
	}
	if r.BaseConfig != "" {
		if in.baseCfg, err = os.ReadFile(r.BaseConfig); err != nil {
			return nil, fmt.Errorf("base config: %w", err)
		}
	}
	if in.compiler, err = Compiler(ctx); err != nil {
		return nil, err
	}
	in.overlay, in.paths = overlayHash(r.Overlay)
	return in, nil
}

// configKey covers what determines the final .config, except the
// variant's Kconfig changes, which the request key covers.
func (in *inputs) configKey(t *Tree) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\ntree %s\ncompiler %s\nbase %x\n", cacheFormat, t.Key, in.compiler, sha256.Sum256(in.baseCfg))
	for _, f := range in.fragments {
		fmt.Fprintf(h, "fragment %s\n", f.File)
		for _, a := range f.Assignments {
			fmt.Fprintf(h, "%s\n", a)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (in *inputs) requestKey(t *Tree) string {
	return hashString(in.configKey(t) + "\noverlay " + in.overlay)
}

// slot is one persistent source copy and O= dir for a (tree, config).
// Its paths never change, which is what lets a variant rebuild only the
// files it touches: objtool and the .cmd files record absolute paths.
type slot struct {
	dir string
	src string // the tree, hardlinked, with the current variant's files switched in
	cfg string // O= dir used only to generate configs
	obj string // O= dir of the build
}

// Identical trees share kernels (request and build keys hold only the
// tree's content key) but not slots: a slot's sources are hardlinks to
// its tree's files, so an in-place edit of one tree would change the
// sources another, still identical-keyed tree builds from.
func (c *Cache) slot(t *Tree, in *inputs) *slot {
	d := filepath.Join(c.Dir, "slots", hashString(in.configKey(t) + "\ndir " + t.Dir)[:16])
	return &slot{dir: d, src: filepath.Join(d, "src"), cfg: filepath.Join(d, "cfg"), obj: filepath.Join(d, "obj")}
}

// Lookup returns the cached build for req without taking any lock or
// running make: the fast path of a cache hit.
func Lookup(ctx context.Context, c *Cache, req Request) (*Result, error) {
	in, err := req.inputs(ctx)
	if err != nil {
		return nil, err
	}
	return c.lookup(req.Tree, in)
}

func (c *Cache) lookup(t *Tree, in *inputs) (*Result, error) {
	data, err := os.ReadFile(filepath.Join(c.Dir, "requests", in.requestKey(t)[:32]+".json"))
	if err != nil {
		return nil, nil
	}
	var idx struct{ Key string }
	if json.Unmarshal(data, &idx) != nil || idx.Key == "" {
		return nil, nil
	}
	return c.kernel(idx.Key)
}

// kernel loads a published build by key, or nil if there is none, and
// records the use for garbage collection.
func (c *Cache) kernel(key string) (*Result, error) {
	dir := filepath.Join(c.Dir, "kernels", key)
	r, err := c.readKernel(dir)
	if r != nil {
		touch(dir)
	}
	return r, err
}

// readKernel loads the published build in dir, or nil if it is not
// complete.
func (c *Cache) readKernel(dir string) (*Result, error) {
	data, err := os.ReadFile(filepath.Join(dir, "meta.json"))
	if err != nil {
		return nil, nil
	}
	var r Result
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("corrupt cache entry %s: %w", dir, err)
	}
	r.Dir = dir
	r.BzImage = filepath.Join(dir, "bzImage")
	r.Config = filepath.Join(dir, "config")
	r.BuildLog = filepath.Join(dir, "build.log")
	if _, err := os.Stat(r.BzImage); err != nil {
		return nil, nil
	}
	r.Cached = true
	return &r, nil
}

// Configure produces and verifies the variant's final .config without
// building. It returns the result's Config path (inside the slot).
func Configure(ctx context.Context, c *Cache, req Request) (*Result, error) {
	in, err := req.inputs(ctx)
	if err != nil {
		return nil, err
	}
	s := c.slot(req.Tree, in)
	unlock, err := c.lock(ctx, "slot-"+filepath.Base(s.dir), req.log())
	if err != nil {
		return nil, err
	}
	defer unlock()
	touch(s.dir)
	cfg, err := c.prepare(ctx, req, in, s)
	if err != nil {
		return nil, err
	}
	return &Result{Variant: req.Variant, Config: filepath.Join(s.cfg, ".config"), Tree: req.Tree.Origin,
		TreeKey: req.Tree.Key, Version: req.Tree.Version.String(), Compiler: in.compiler,
		ConfigSHA: fmt.Sprintf("%x", sha256.Sum256(cfg)), Quirks: in.quirks, Fragments: fragmentNames(in.fragments)}, nil
}

func fragmentNames(fs []*kconfig.Fragment) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.File)
	}
	return out
}

func (r *Request) log() io.Writer {
	if r.Log == nil {
		return io.Discard
	}
	return r.Log
}

// prepare makes the slot, switches the variant's sources in, and
// generates and verifies the .config in the slot's cfg dir.
func (c *Cache) prepare(ctx context.Context, req Request, in *inputs, s *slot) ([]byte, error) {
	if _, err := os.Stat(filepath.Join(req.Tree.Dir, ".config")); err == nil {
		return nil, &ConfigError{req.Variant, fmt.Errorf("%s has been configured in place (.config exists); out-of-tree builds need a clean tree: run 'make mrproper' there, or give another tree", req.Tree.Dir)}
	}
	if err := makeSlot(ctx, req.Tree, s, req.log()); err != nil {
		return nil, err
	}
	if err := switchSources(req.Tree.Dir, s, req.Overlay); err != nil {
		return nil, fmt.Errorf("switching the slot to variant %s: %w", req.Variant, err)
	}
	return configure(ctx, req, in, s)
}

func makeSlot(ctx context.Context, t *Tree, s *slot, log io.Writer) error {
	if _, err := os.Stat(filepath.Join(s.dir, "complete")); err == nil {
		return nil
	}
	start := time.Now()
	fmt.Fprintf(log, "ktest: preparing build slot %s (hardlinked copy of %s)\n", s.dir, t.Dir)
	os.RemoveAll(s.dir)
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return err
	}
	tmp := s.src + ".tmp"
	// Hardlinks: cheap, and safe because ktest replaces files (rename)
	// and never writes into them. Across filesystems, a real copy.
	if out, err := exec.CommandContext(ctx, "cp", "-al", t.Dir, tmp).CombinedOutput(); err != nil {
		os.RemoveAll(tmp)
		if out2, err2 := exec.CommandContext(ctx, "cp", "-a", t.Dir, tmp).CombinedOutput(); err2 != nil {
			return fmt.Errorf("copying %s: %v: %s; %v: %s", t.Dir, err, out, err2, out2)
		}
	}
	// The directories are new (only the files are shared): make them
	// writable so variants can replace files even when the tree is read-only.
	if out, err := exec.CommandContext(ctx, "find", tmp, "-type", "d", "-exec", "chmod", "u+w", "{}", "+").CombinedOutput(); err != nil {
		return fmt.Errorf("chmod slot dirs: %v: %s", err, out)
	}
	if err := os.Rename(tmp, s.src); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(s.dir, "complete"), []byte(t.Dir+"\n"), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(log, "ktest: slot ready in %s\n", time.Since(start).Round(100*time.Millisecond))
	return nil
}

// switchSources makes s.src equal to tree + overlay, touching only the
// files that differ. A file that changes gets a fresh mtime (new inode,
// written now), including a file restored to the tree's content: make
// would not rebuild a file restored with its old mtime.
func switchSources(tree string, s *slot, overlay map[string][]byte) error {
	statePath := filepath.Join(s.dir, "overlay.json")
	var prev []string
	if data, err := os.ReadFile(statePath); err == nil {
		if err := json.Unmarshal(data, &prev); err != nil {
			return fmt.Errorf("corrupt %s: %w", statePath, err)
		}
	}
	union := map[string]bool{}
	for _, p := range prev {
		union[p] = true
	}
	for p := range overlay {
		if err := checkRelPath(p); err != nil {
			return err
		}
		union[p] = true
	}
	paths := make([]string, 0, len(union))
	for p := range union {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	// Record the union first: if we die midway, the next switch still
	// knows every file that may differ from the tree.
	if err := writeJSONAtomic(statePath, paths); err != nil {
		return err
	}
	for _, p := range paths {
		want, inOverlay := overlay[p]
		mode := os.FileMode(0o644)
		if st, err := os.Stat(filepath.Join(tree, p)); err == nil {
			mode = st.Mode().Perm() | 0o200
		}
		if !inOverlay {
			var err error
			want, err = os.ReadFile(filepath.Join(tree, p))
			if errors.Is(err, os.ErrNotExist) {
				want = nil
			} else if err != nil {
				return err
			}
		}
		dst := filepath.Join(s.src, p)
		cur, err := os.ReadFile(dst)
		exists := err == nil
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		switch {
		case want == nil && !exists:
		case want == nil:
			if err := os.Remove(dst); err != nil {
				return err
			}
		case exists && bytes.Equal(cur, want):
		default:
			if err := atomicfile.WriteFile(dst, want, mode); err != nil {
				return err
			}
		}
	}
	keys := make([]string, 0, len(overlay))
	for p := range overlay {
		keys = append(keys, p)
	}
	sort.Strings(keys)
	return writeJSONAtomic(statePath, keys)
}

func checkRelPath(p string) error {
	if filepath.IsAbs(p) || p != filepath.Clean(p) || p == ".." || strings.HasPrefix(p, "../") {
		return fmt.Errorf("unsafe path in overlay: %q", p)
	}
	return nil
}

func writeJSONAtomic(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, append(data, '\n'), 0o644)
}

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
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
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
		fmt.Fprintf(log, "ktest: config [%s]: tinyconfig\n", req.Variant)
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
	fmt.Fprintf(log, "ktest: config [%s]: merged %s, olddefconfig\n", req.Variant, strings.Join(fragmentNames(in.fragments), ", "))
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
	fmt.Fprintf(log, "ktest: config [%s]: all %d requested options verified\n", req.Variant, len(reqs))
	return final, nil
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Build returns the kernel for req, from the cache when possible.
// Otherwise it configures and builds it in the request's slot, holding
// the slot's lock so two ktests never build in one O= dir at once (the
// second waits, then finds the first's result in the cache).
func Build(ctx context.Context, c *Cache, req Request) (*Result, error) {
	log := req.log()
	in, err := req.inputs(ctx)
	if err != nil {
		return nil, err
	}
	if r, err := c.lookup(req.Tree, in); r != nil || err != nil {
		if r != nil {
			fmt.Fprintf(log, "ktest: build [%s]: cache hit %s\n", req.Variant, r.Dir)
		}
		return r, err
	}
	s := c.slot(req.Tree, in)
	unlock, err := c.lock(ctx, "slot-"+filepath.Base(s.dir), log)
	if err != nil {
		return nil, err
	}
	defer unlock()
	touch(s.dir)
	// Another ktest may have built it while we waited for the lock.
	if r, err := c.lookup(req.Tree, in); r != nil || err != nil {
		if r != nil {
			fmt.Fprintf(log, "ktest: build [%s]: cache hit %s\n", req.Variant, r.Dir)
		}
		return r, err
	}
	cfg, err := c.prepare(ctx, req, in, s)
	if err != nil {
		return nil, err
	}
	key := buildKey(req.Tree, in, cfg)
	if r, err := c.kernel(key); r != nil || err != nil {
		if r != nil {
			fmt.Fprintf(log, "ktest: build [%s]: cache hit %s\n", req.Variant, r.Dir)
			err = c.index(req.Tree, in, key)
		}
		return r, err
	}
	r, err := c.make(ctx, req, in, s, cfg, key)
	if err != nil {
		return nil, err
	}
	return r, c.index(req.Tree, in, key)
}

func buildKey(t *Tree, in *inputs, cfg []byte) string {
	return hashString(fmt.Sprintf("%s\ntree %s\noverlay %s\ncompiler %s\nconfig %x\n",
		cacheFormat, t.Key, in.overlay, in.compiler, sha256.Sum256(cfg)))[:24]
}

func (c *Cache) index(t *Tree, in *inputs, key string) error {
	return writeJSONAtomic(filepath.Join(c.Dir, "requests", in.requestKey(t)[:32]+".json"), map[string]string{"Key": key})
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
	defer logFile.Close()

	jobs := req.Jobs
	if jobs <= 0 {
		jobs = runtime.NumCPU()
	}
	start := time.Now()
	var ru0 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru0)
	prog := newProgress(req.Variant, log, start)
	pr, pw := io.Pipe()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64*1024), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logFile, line)
			prog.line(line)
		}
		io.Copy(io.Discard, pr)
	}()
	fmt.Fprintf(log, "ktest: build [%s]: make -j%d bzImage in %s (log: %s)\n", req.Variant, jobs, s.obj, logPath)
	err = runMake(ctx, s.src, makeArgs(s, s.obj, fmt.Sprintf("-j%d", jobs), "bzImage"), pw)
	pw.Close()
	wg.Wait()
	prog.stop()
	var ru1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru1)
	cpu := tvSeconds(ru1.Utime) + tvSeconds(ru1.Stime) - tvSeconds(ru0.Utime) - tvSeconds(ru0.Stime)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &BuildError{Variant: req.Variant, Log: logPath, FirstError: firstError(logPath), Err: err}
	}
	elapsed := time.Since(start)
	fmt.Fprintf(log, "ktest: build [%s]: done in %s (%.0f CPU-s), %d objects compiled\n",
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

// publish copies the build into kernels/<key> through a temp dir and a
// rename: an entry exists only once it is complete.
func (c *Cache) publish(r *Result, bzImage string, cfg []byte, logPath string) error {
	final := filepath.Join(c.Dir, "kernels", r.Key)
	tmp, err := os.MkdirTemp(filepath.Join(c.Dir, "kernels"), ".tmp-"+r.Key+"-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := copyFile(bzImage, filepath.Join(tmp, "bzImage")); err != nil {
		return fmt.Errorf("publishing bzImage: %w", err)
	}
	if err := copyFile(logPath, filepath.Join(tmp, "build.log")); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, "config"), cfg, 0o644); err != nil {
		return err
	}
	data, _ := json.MarshalIndent(r, "", "  ")
	if err := os.WriteFile(filepath.Join(tmp, "meta.json"), append(data, '\n'), 0o644); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	os.RemoveAll(final) // an incomplete leftover without meta.json
	return os.Rename(tmp, final)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// firstError finds the first compiler error in a build log.
func firstError(logPath string) string {
	f, err := os.Open(logPath)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		if compilerErrRE.MatchString(sc.Text()) {
			return sc.Text()
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
				fmt.Fprintf(p.log, "ktest: build [%s]: %s, %s elapsed, %d objects compiled\n",
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

// DefaultKernel returns the default kernel: the default tree with the
// default fragments, built if the cache does not have it yet. It is what
// `ktest boot` boots when no kernel is named, and what end-to-end tests use.
func DefaultKernel(ctx context.Context, c *Cache, log io.Writer) (*Result, error) {
	tree, err := DefaultTree(ctx, c, log)
	if err != nil {
		return nil, err
	}
	frags, err := kconfig.Resolve(kconfig.DefaultFragments)
	if err != nil {
		return nil, err
	}
	return Build(ctx, c, Request{Tree: tree, Variant: "default", Fragments: frags, Log: log})
}
