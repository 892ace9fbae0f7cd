// Package initramfs builds the guest image: an uncompressed newc cpio with
// u-root's init and a busybox of core commands (gosh as /bin/sh), the
// ktest agent as uinit, ktest-readtest, fio (StaticFio when installed,
// else the host's) and the host's mkfs tools with their shared libraries.
//
// The image is cached by content in three layers, because keys change
// every run and the u-root busybox takes minutes to compile:
//
//	<cache>/initramfs/uroot-<key>.cpio  busybox + init; key: Go version, go.mod, go.sum, command list
//	<cache>/initramfs/<key>.cpio        the base image; key: the layer above, the built guest
//	                                    binaries' bytes, the host files' bytes
//	per run (caller's temp file)        base + a tiny second cpio with /etc/ktest keys
//
// The kernel unpacks concatenated cpio archives in order, so the per-run
// keys are appended rather than baked into the cached base.
package initramfs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ktest-dev/ktest/internal/cachedir"
	"github.com/ktest-dev/ktest/vm"

	"github.com/u-root/gobusybox/src/pkg/golang"
	"github.com/u-root/mkuimage/cpio"
	"github.com/u-root/mkuimage/ldd"
	"github.com/u-root/mkuimage/uimage"
	"github.com/u-root/uio/llog"

	"github.com/ktest-dev/ktest/guest/proto"
	"github.com/ktest-dev/ktest/remote"
)

// Options configure Build.
type Options struct {
	// CacheDir is the ktest cache root; images go to CacheDir/initramfs.
	// Empty means the ktest cache (internal/cachedir).
	CacheDir string
	// ModuleDir is the root of the ktest source module, whose guest
	// programs and pinned u-root are compiled. Empty means the source
	// this binary was built from (source.go): the module cache's copy
	// for a 'go install ...@version', else the checkout found upwards
	// from the working directory, then from the executable.
	ModuleDir string
	// ExtraBinaries are more host executables to include at the same
	// path, with their shared libraries.
	ExtraBinaries []string
	// OutDir receives the per-run image; empty means os.TempDir().
	OutDir string
	// Log receives progress lines; nil discards.
	Log io.Writer
}

// Base describes the cached base image (everything but the keys).
type Base struct {
	Path   string
	Key    string
	Cached bool // true when no layer had to be rebuilt
	// BenchTool names the fio the image carries (vm.Image.BenchTool).
	BenchTool string
}

// modulePath is the import path of the ktest module.
const modulePath = "github.com/ktest-dev/ktest"

// layoutVersion changes whenever the image layout changes in a way the
// content keys do not capture (command list, symlinks, build flags).
const layoutVersion = "ktest-initramfs-v1"

// urootCommands are built into one busybox under /bbin.
var urootCommands = []string{
	"init", "gosh",
	"cat", "chmod", "cp", "df", "dmesg", "echo", "false", "find", "free",
	"grep", "head", "hexdump", "ip", "kill", "ln", "losetup", "ls", "mkdir",
	"mknod", "mount", "mv", "poweroff", "ps", "pwd", "readlink", "rm",
	"shutdown", "sleep", "sync", "tail", "true", "umount", "uname", "wc",
}

// urootBuildTags drop gosh's fancy line editor, whose modules are not in
// our go.sum.
var urootBuildTags = []string{"goshsmall"}

// hostTools are the host programs the read tests need in the guest,
// besides fio (findFio).
var hostTools = []struct{ name, pkg string }{
	{"mkfs.ext4", "e2fsprogs"},
	{"mkfs.xfs", "xfsprogs"},
	{"mkfs.btrfs", "btrfs-progs"},
}

// hostDataFiles are included when present: runtime configuration of the
// host tools.
var hostDataFiles = []string{"/etc/mke2fs.conf"}

// guestPrograms are our own static programs: package dir -> image path.
// Optional ones are included whenever the package exists.
var guestPrograms = []struct {
	pkg, dest string
	optional  bool
}{
	{"guest/cmd/ktest-agent", proto.AgentPath, false},
	{"guest/cmd/ktest-readtest", proto.ReadtestPath, true},
}

// Build returns a fresh per-run guest image with new SSH keys: the cached
// base (built first if any input changed) followed by a cpio holding the
// keys under /etc/ktest. The caller removes it when the VM is done.
func Build(ctx context.Context, o Options) (*vm.Image, error) {
	base, err := BuildBase(ctx, o)
	if err != nil {
		return nil, err
	}
	im, err := WithKeys(base.Path, o.OutDir)
	if err != nil {
		return nil, err
	}
	im.BenchTool = base.BenchTool
	return im, nil
}

// WithKeys writes a new image to outDir (empty: os.TempDir()) made of the
// image at base followed by a cpio holding new per-run keys under
// /etc/ktest; the caller removes it.
func WithKeys(base, outDir string) (*vm.Image, error) {
	k, err := remote.GenerateKeys()
	if err != nil {
		return nil, fmt.Errorf("initramfs: %w", err)
	}
	path, err := appendKeys(base, outDir, k)
	if err != nil {
		return nil, err
	}
	return &vm.Image{Path: path, Keys: k}, nil
}

func appendKeys(base, outDir string, k *remote.Keys) (_ string, err error) {
	if outDir == "" {
		outDir = os.TempDir()
	}
	in, err := os.Open(base)
	if err != nil {
		return "", fmt.Errorf("initramfs: %w", err)
	}
	defer func() { _ = in.Close() }() // read-only: a close error loses nothing
	out, err := os.CreateTemp(outDir, "ktest-initramfs-*.cpio")
	if err != nil {
		return "", fmt.Errorf("initramfs: %w", err)
	}
	defer func() {
		if err != nil {
			// Error path: the image is incomplete and goes either way.
			_ = out.Close()
			_ = os.Remove(out.Name())
		}
	}()
	if _, err := io.Copy(out, in); err != nil {
		return "", fmt.Errorf("initramfs: copy base %s: %w", base, err)
	}
	// newc archives are 4-byte aligned throughout; the kernel expects the
	// next archive on such a boundary.
	st, err := out.Stat()
	if err != nil {
		return "", fmt.Errorf("initramfs: %w", err)
	}
	if pad := st.Size() % 4; pad != 0 {
		if _, err := out.Write(make([]byte, 4-pad)); err != nil {
			return "", fmt.Errorf("initramfs: %w", err)
		}
	}
	if err := WriteKeys(out, k); err != nil {
		return "", fmt.Errorf("initramfs: keys: %w", err)
	}
	if err := out.Close(); err != nil {
		return "", fmt.Errorf("initramfs: %w", err)
	}
	return out.Name(), nil
}

// WriteKeys writes k as a standalone newc archive holding
// proto.AgentHostKeyPath and proto.AgentAuthorizedKeyPath, to be appended
// to an image.
func WriteKeys(w io.Writer, k *remote.Keys) error {
	if k == nil || len(k.HostPrivatePEM) == 0 || len(k.AuthorizedKey) == 0 {
		return errors.New("keys lack HostPrivatePEM or AuthorizedKey")
	}
	rw := cpio.Newc.Writer(w)
	dir := strings.TrimPrefix(filepath.Dir(proto.AgentHostKeyPath), "/")
	recs := []cpio.Record{
		cpio.Directory("etc", 0o755),
		cpio.Directory(dir, 0o700),
		cpio.StaticFile(strings.TrimPrefix(proto.AgentHostKeyPath, "/"), string(k.HostPrivatePEM), 0o600),
		cpio.StaticFile(strings.TrimPrefix(proto.AgentAuthorizedKeyPath, "/"), string(k.AuthorizedKey), 0o644),
	}
	for _, r := range recs {
		if err := rw.WriteRecord(r); err != nil {
			return err
		}
	}
	return cpio.WriteTrailer(rw)
}

// BuildBase returns the cached base image, building whatever layer is
// missing.
func BuildBase(ctx context.Context, o Options) (Base, error) {
	b, err := newBuilder(ctx, o)
	if err != nil {
		return Base{}, err
	}
	defer func() { _ = os.RemoveAll(b.tmp) }() // best effort: a leftover temp dir costs only space
	return b.base(ctx)
}

type builder struct {
	o        Options
	cacheDir string // CacheDir/initramfs
	source   Source
	goTool   string
	tmp      string
	log      io.Writer
}

func newBuilder(ctx context.Context, o Options) (*builder, error) {
	b := &builder{o: o, log: o.Log}
	if b.log == nil {
		b.log = io.Discard
	}
	root := o.CacheDir
	if root == "" {
		root = cachedir.Dir()
	}
	b.cacheDir = filepath.Join(root, "initramfs")
	if err := os.MkdirAll(b.cacheDir, 0o755); err != nil {
		return nil, fmt.Errorf("initramfs: %w", err)
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		return nil, goMissing(err)
	}
	b.goTool = goTool
	src := Source{Dir: o.ModuleDir, From: "Options.ModuleDir"}
	if src.Dir == "" {
		if src, err = newSourceFinder(goTool).find(ctx); err != nil {
			return nil, err
		}
	}
	b.source = src
	if b.tmp, err = os.MkdirTemp(b.cacheDir, ".build-*"); err != nil {
		return nil, fmt.Errorf("initramfs: %w", err)
	}
	return b, nil
}

func (b *builder) logf(format string, args ...any) {
	_, _ = fmt.Fprintf(b.log, "initramfs: "+format+"\n", args...) // progress: best effort, it must not stop a build
}

func (b *builder) base(ctx context.Context) (Base, error) {
	uroot, urootCached, err := b.urootLayer(ctx)
	if err != nil {
		return Base{}, err
	}
	progs, err := b.buildGuestPrograms(ctx)
	if err != nil {
		return Base{}, err
	}
	fio, err := findFio(ctx)
	if err != nil {
		return Base{}, err
	}
	extra := b.o.ExtraBinaries
	if fio.static {
		// One file, no libraries: placed where the guest's PATH finds it.
		progs = append(progs, guestProgram{fio.hostPath, guestFioPath})
	} else {
		extra = append([]string{fio.hostPath}, extra...)
	}
	host, err := hostFiles(extra)
	if err != nil {
		return Base{}, err
	}
	key, err := baseKey(uroot, progs, host)
	if err != nil {
		return Base{}, err
	}
	path := filepath.Join(b.cacheDir, key+".cpio")
	if _, err := os.Stat(path); err == nil {
		touch(path)
		return Base{Path: path, Key: key, Cached: urootCached, BenchTool: fio.String()}, nil
	}

	b.logf("assembling base image %s (guest source: %s, %s)", key, b.source.Dir, b.source.From)
	files := make([]string, 0, len(progs)+len(host))
	for _, p := range progs {
		files = append(files, p.src+":"+strings.TrimPrefix(p.dest, "/"))
	}
	files = append(files, host...)
	tmpOut := filepath.Join(b.tmp, "base.cpio")
	err = uimage.Create(b.ulog(),
		uimage.WithTempDir(b.tmp),
		uimage.WithBaseFile(uroot),
		uimage.WithExistingInit(true),
		uimage.WithSkipLDD(), // hostFiles already holds the library closure
		uimage.WithFiles(files...),
		uimage.WithCPIOOutput(tmpOut),
	)
	if err != nil {
		return Base{}, fmt.Errorf("initramfs: assemble base image: %w", err)
	}
	if err := os.Rename(tmpOut, path); err != nil {
		return Base{}, fmt.Errorf("initramfs: %w", err)
	}
	b.prune("", 3)
	return Base{Path: path, Key: key, BenchTool: fio.String()}, nil
}

// baseKey is the base image's content key: the u-root layer (named by
// its own key), the compiled guest programs' bytes and the host files'.
// It hashes what the guest source produced, not where it was found.
func baseKey(uroot string, progs []guestProgram, host []string) (string, error) {
	h := sha256.New()
	hashf(h, "%s\nuroot %s\n", layoutVersion, filepath.Base(uroot))
	for _, p := range progs {
		if err := hashFile(h, p.src, p.dest); err != nil {
			return "", err
		}
	}
	for _, f := range host {
		if err := hashFile(h, f, f); err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:32], nil
}

func (b *builder) ulog() *llog.Logger {
	return llog.New(slog.LevelWarn, llog.WritePrintf(b.log))
}

// urootLayer returns the cached u-root busybox archive, building it if
// its inputs changed. It holds the default u-root tree (/dev/console...),
// /bbin/bb with its command links, /init, /bin/sh -> gosh and
// /bin/uinit -> the agent.
func (b *builder) urootLayer(ctx context.Context) (path string, cached bool, err error) {
	goVersion, err := b.goOutput(ctx, "env", "GOVERSION")
	if err != nil {
		return "", false, err
	}
	h := sha256.New()
	// go.sum pins u-root, gobusybox and mkuimage alike.
	hashf(h, "%s\n%s\ntags %v\ncmds %v\nuinit %s\n", layoutVersion, goVersion,
		urootBuildTags, urootCommands, proto.AgentPath)
	for _, f := range []string{"go.mod", "go.sum"} {
		if err := hashFile(h, filepath.Join(b.source.Dir, f), f); err != nil {
			return "", false, err
		}
	}
	key := hex.EncodeToString(h.Sum(nil))[:32]
	path = filepath.Join(b.cacheDir, "uroot-"+key+".cpio")
	if _, err := os.Stat(path); err == nil {
		touch(path)
		return path, true, nil
	}

	b.logf("building the u-root busybox (%d commands; about half a minute on 2 cores)", len(urootCommands))
	start := time.Now()
	pkgs := make([]string, len(urootCommands))
	for i, c := range urootCommands {
		pkgs[i] = "github.com/u-root/u-root/cmds/core/" + c
	}
	env := golang.Default(
		golang.DisableCGO(),
		golang.WithGOOS("linux"),
		golang.WithGOARCH("amd64"),
		golang.WithBuildTag(urootBuildTags...),
		golang.WithWorkingDir(b.source.Dir),
	)
	tmpOut := filepath.Join(b.tmp, "uroot.cpio")
	err = uimage.Create(b.ulog(),
		uimage.WithReplaceEnv(env),
		uimage.WithTempDir(b.tmp),
		uimage.WithBaseArchive(uimage.DefaultRamfs()),
		uimage.WithBusyboxCommands(pkgs...),
		uimage.WithInit("init"),
		uimage.WithUinit(proto.AgentPath),
		uimage.WithShell("gosh"),
		uimage.WithCPIOOutput(tmpOut),
	)
	if err != nil {
		return "", false, fmt.Errorf("initramfs: build u-root busybox: %w", err)
	}
	if err := os.Rename(tmpOut, path); err != nil {
		return "", false, fmt.Errorf("initramfs: %w", err)
	}
	b.logf("u-root busybox built in %v", time.Since(start).Round(time.Second))
	b.prune("uroot-", 2)
	return path, false, nil
}

type guestProgram struct{ src, dest string }

// buildGuestPrograms compiles our static guest programs. The Go build
// cache makes this a relink when nothing changed; the binaries' bytes then
// key the base image (builds are reproducible: -trimpath, no VCS stamp).
func (b *builder) buildGuestPrograms(ctx context.Context) ([]guestProgram, error) {
	var progs []guestProgram
	args := []string{"build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-o", b.tmp + "/"}
	for _, p := range guestPrograms {
		if _, err := os.Stat(filepath.Join(b.source.Dir, p.pkg)); err != nil {
			if p.optional && errors.Is(err, os.ErrNotExist) {
				b.logf("%s does not exist yet; image built without it", p.pkg)
				continue
			}
			return nil, fmt.Errorf("initramfs: guest program %s: %w", p.pkg, err)
		}
		args = append(args, "./"+p.pkg)
		progs = append(progs, guestProgram{filepath.Join(b.tmp, filepath.Base(p.pkg)), p.dest})
	}
	cmd := exec.CommandContext(ctx, b.goTool, args...)
	cmd.Dir = b.source.Dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initramfs: go %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return progs, nil
}

func (b *builder) goOutput(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, b.goTool, args...)
	cmd.Dir = b.source.Dir
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("initramfs: go %s: %w", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out)), nil
}

// prune keeps the newest keep images whose name starts with prefix ("" is
// the base images) and removes the rest: every agent change makes a new
// base of ~100 MB.
func (b *builder) prune(prefix string, keep int) {
	ents, err := os.ReadDir(b.cacheDir)
	if err != nil {
		return
	}
	type entry struct {
		name string
		mod  time.Time
	}
	var cands []entry
	for _, e := range ents {
		n := e.Name()
		if !strings.HasSuffix(n, ".cpio") || strings.HasPrefix(n, ".") {
			continue
		}
		if isUroot := strings.HasPrefix(n, "uroot-"); isUroot != (prefix == "uroot-") {
			continue
		}
		if info, err := e.Info(); err == nil {
			cands = append(cands, entry{n, info.ModTime()})
		}
	}
	sort.Slice(cands, func(i, j int) bool { return cands[i].mod.After(cands[j].mod) })
	for i := keep; i < len(cands); i++ {
		_ = os.Remove(filepath.Join(b.cacheDir, cands[i].name)) // pruning is best effort: the next prune tries again
	}
}

// touch marks a cache entry as recently used, for prune.
func touch(path string) {
	now := time.Now()
	_ = os.Chtimes(path, now, now) // best effort: at worst an entry in use is pruned, and rebuilt
}

// hostFiles resolves the host tools and extra binaries to absolute paths
// and returns them with every symlink on the way, their shared libraries
// and the dynamic loader, sorted and unique. Paths stay as on the host, so
// /usr/sbin/mkfs.ext4 -> mke2fs keeps working.
func hostFiles(extra []string) ([]string, error) {
	var bins []string
	for _, t := range hostTools {
		p, err := lookHostTool(t.name)
		if err != nil {
			return nil, fmt.Errorf("initramfs: host tool %s not found (install %s): %w", t.name, t.pkg, err)
		}
		bins = append(bins, p)
	}
	for _, e := range extra {
		if !filepath.IsAbs(e) {
			p, err := lookHostTool(e)
			if err != nil {
				return nil, fmt.Errorf("initramfs: extra binary %s: %w", e, err)
			}
			e = p
		}
		if _, err := os.Stat(e); err != nil {
			return nil, fmt.Errorf("initramfs: extra binary: %w", err)
		}
		bins = append(bins, e)
	}
	seen := map[string]bool{}
	var files []string
	add := func(p string) error {
		chain, err := symlinkChain(p)
		if err != nil {
			return err
		}
		for _, c := range chain {
			if !seen[c] {
				seen[c] = true
				files = append(files, c)
			}
		}
		return nil
	}
	for _, bin := range bins {
		if err := add(bin); err != nil {
			return nil, fmt.Errorf("initramfs: %w", err)
		}
	}
	libs, err := ldd.FList(bins...)
	if err != nil {
		return nil, fmt.Errorf("initramfs: shared libraries of %v: %w", bins, err)
	}
	for _, l := range libs {
		if err := add(l); err != nil {
			return nil, fmt.Errorf("initramfs: %w", err)
		}
	}
	for _, f := range hostDataFiles {
		if _, err := os.Stat(f); err == nil {
			if err := add(f); err != nil {
				return nil, fmt.Errorf("initramfs: %w", err)
			}
		}
	}
	slices.Sort(files)
	return files, nil
}

// lookHostTool finds name in PATH or the sbin directories, which a
// non-root PATH may lack.
func lookHostTool(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return filepath.Abs(p)
	}
	for _, d := range []string{"/usr/sbin", "/sbin", "/usr/bin", "/bin"} {
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", exec.ErrNotFound
}

// symlinkChain returns p and, while it is a symlink, what it points to.
func symlinkChain(p string) ([]string, error) {
	var chain []string
	for range 40 {
		chain = append(chain, p)
		st, err := os.Lstat(p)
		if err != nil {
			return nil, err
		}
		if st.Mode()&os.ModeSymlink == 0 {
			return chain, nil
		}
		target, err := os.Readlink(p)
		if err != nil {
			return nil, err
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(p), target)
		}
		p = target
	}
	return nil, fmt.Errorf("%s: too many levels of symbolic links", chain[0])
}

// hashFile adds name and the content (or symlink target) of src to h.
func hashFile(h hash.Hash, src, name string) error {
	st, err := os.Lstat(src)
	if err != nil {
		return fmt.Errorf("initramfs: %w", err)
	}
	hashf(h, "%s %s %o ", name, st.Mode().Type(), st.Mode().Perm())
	if st.Mode()&os.ModeSymlink != 0 {
		t, err := os.Readlink(src)
		if err != nil {
			return fmt.Errorf("initramfs: %w", err)
		}
		hashf(h, "-> %s\n", t)
		return nil
	}
	f, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("initramfs: %w", err)
	}
	defer func() { _ = f.Close() }() // read-only: a close error loses nothing
	fh := sha256.New()
	if _, err := io.Copy(fh, f); err != nil {
		return fmt.Errorf("initramfs: hash %s: %w", src, err)
	}
	hashf(h, "%x\n", fh.Sum(nil))
	return nil
}

// hashf writes to a content key's hash; a hash.Hash never returns an
// error.
func hashf(h hash.Hash, format string, a ...any) { _, _ = fmt.Fprintf(h, format, a...) }
