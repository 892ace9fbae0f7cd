// Package kbuild builds kernels: it finds source trees (the user's or
// the embedded default, Debian's linux-source-6.1, or another Debian
// linux-source-X as "debian:X"), configures them from
// kconfig fragments, and builds bzImage out of tree with a cache keyed
// by content, building variants incrementally in one stable O= dir.
package kbuild

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/ktest-dev/ktest/internal/atomicfile"

	"github.com/ktest-dev/ktest/kconfig"
)

// DefaultTarball is the embedded default tree: Debian's linux-source-6.1.
const DefaultTarball = "/usr/src/linux-source-" + DefaultDebian + ".tar.xz"

// Tree is a kernel source tree ktest reads but never writes.
type Tree struct {
	Dir     string
	Key     string // content key: changes whenever the sources do
	Kind    string // "tarball", "git" or "plain"
	Version kconfig.Version
	Origin  string // the tarball, or Dir
}

// NotATreeError is a directory that is not a kernel source tree.
type NotATreeError struct {
	Dir    string
	Reason string
}

func (e *NotATreeError) Error() string {
	return fmt.Sprintf("%s is not a kernel source tree: %s", e.Dir, e.Reason)
}

var makeVarRE = regexp.MustCompile(`^(VERSION|PATCHLEVEL|SUBLEVEL)\s*=\s*(\d*)\s*$`)

// readVersion reads VERSION/PATCHLEVEL/SUBLEVEL from the top Makefile.
func readVersion(dir string) (kconfig.Version, error) {
	f, err := os.Open(filepath.Join(dir, "Makefile"))
	if err != nil {
		return kconfig.Version{}, &NotATreeError{dir, "no top-level Makefile"}
	}
	defer func() { _ = f.Close() }() // read-only: a close error loses nothing
	vals := map[string]string{}
	sc := bufio.NewScanner(f)
	for i := 0; i < 20 && sc.Scan(); i++ {
		if m := makeVarRE.FindStringSubmatch(sc.Text()); m != nil {
			vals[m[1]] = m[2]
		}
	}
	if vals["VERSION"] == "" || vals["PATCHLEVEL"] == "" {
		return kconfig.Version{}, &NotATreeError{dir, "the top-level Makefile sets no VERSION/PATCHLEVEL"}
	}
	if vals["SUBLEVEL"] == "" {
		vals["SUBLEVEL"] = "0"
	}
	return kconfig.ParseVersion(vals["VERSION"] + "." + vals["PATCHLEVEL"] + "." + vals["SUBLEVEL"])
}

// CheckTree checks that dir is a kernel tree (a *NotATreeError if not)
// and reads its version, without the content key OpenTree computes.
func CheckTree(dir string) (*Tree, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, &NotATreeError{dir, "it does not exist"}
	}
	if !st.IsDir() {
		return nil, &NotATreeError{dir, "it is not a directory"}
	}
	for _, need := range []string{"Kconfig", "arch/x86/Kconfig", "scripts/kconfig"} {
		if _, err := os.Stat(filepath.Join(abs, need)); err != nil {
			return nil, &NotATreeError{dir, "missing " + need}
		}
	}
	v, err := readVersion(abs)
	if err != nil {
		return nil, err
	}
	return &Tree{Dir: abs, Version: v, Origin: abs}, nil
}

// OpenTree checks that dir is a kernel tree and computes its content key.
// For a git tree the key is HEAD plus the state of the working tree; for
// a plain tree it is the content of every file (see contentKey), with
// its index kept in c.
func OpenTree(ctx context.Context, c *Cache, dir string) (*Tree, error) {
	t, err := CheckTree(dir)
	if err != nil {
		return nil, err
	}
	abs := t.Dir
	// One err for both branches: a key that failed must never reach the
	// cache as the empty key, which all such trees would share.
	if _, serr := os.Stat(filepath.Join(abs, ".git")); serr == nil {
		t.Kind = "git"
		t.Key, err = gitKey(ctx, abs)
	} else {
		t.Kind = "plain"
		t.Key, err = contentKey(ctx, c, abs)
	}
	var nt *NotATreeError
	if errors.As(err, &nt) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("computing the content key of %s: %w", abs, err)
	}
	return t, nil
}

// git runs git in dir and returns its output; a failure carries git's
// own message.
func git(ctx context.Context, dir string, args ...string) ([]byte, error) {
	out, err := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...).Output()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return out, fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(ee.Stderr)))
	}
	if err != nil {
		return out, fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
	}
	return out, nil
}

func gitKey(ctx context.Context, dir string) (string, error) {
	// A repository with no commit has no base to key changes against.
	// Hashing the whole tree as untracked instead would reread every file
	// on every run; committing once is the maintainer's normal state.
	head, err := git(ctx, dir, "rev-parse", "--verify", "--quiet", "HEAD^{commit}")
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 1 && len(head) == 0 {
		return "", &NotATreeError{dir, "it is a git repository with no commit yet (HEAD names no commit): commit the sources first"}
	}
	if err != nil {
		return "", err
	}
	// The diff against HEAD covers modified tracked files, and the
	// untracked, non-ignored files are hashed by content: Kbuild builds
	// a new file as soon as a Makefile names it, and editing it must not
	// return the old kernel. Ignored files are build output.
	h := sha256.New()
	h.Write(head)
	// Plumbing-stable output: a user's external diff or textconv driver
	// would put something other than the content into the key.
	diff := exec.CommandContext(ctx, "git", "-C", dir, "diff", "HEAD", "--binary", "--no-ext-diff", "--no-textconv", "--no-color")
	diff.Stdout = h
	if err := diff.Run(); err != nil {
		return "", fmt.Errorf("git diff HEAD: %w", err)
	}
	untracked, err := git(ctx, dir, "ls-files", "-z", "--others", "--exclude-standard")
	if err != nil {
		return "", err
	}
	hashf(h, "untracked\n")
	for _, rel := range strings.Split(string(untracked), "\x00") {
		if rel == "" {
			continue
		}
		// A nested repository is listed as "dir/".
		rel = strings.TrimSuffix(rel, "/")
		p := filepath.Join(dir, rel)
		var st syscall.Stat_t
		if err := syscall.Lstat(p, &st); err != nil {
			return "", fmt.Errorf("untracked file: %w", &fs.PathError{Op: "lstat", Path: p, Err: err})
		}
		e := entry{Type: typeOf(st.Mode)}
		switch e.Type {
		case typeFile, typeExec:
			e.Digest, err = fileDigest(p)
		case typeLink:
			e.Digest, err = os.Readlink(p)
		}
		if err != nil {
			return "", fmt.Errorf("untracked file: %w", err)
		}
		e.write(h, rel)
	}
	return "git-" + hex.EncodeToString(h.Sum(nil))[:24], nil
}

// tarballStamp remembers a tarball's hash so a cache hit does not rehash
// 130 MB; it is trusted only while the size and mtime are unchanged.
type tarballStamp struct {
	Path    string    `json:"path"`
	Size    int64     `json:"size"`
	ModTime time.Time `json:"mtime"`
	SHA256  string    `json:"sha256"`
}

func tarballHash(cache *Cache, tarball string) (string, error) {
	st, err := os.Stat(tarball)
	if err != nil {
		return "", err
	}
	stampPath := filepath.Join(cache.Dir, "trees", "stamp-"+hashString(tarball)[:16]+".json")
	var stamp tarballStamp
	if data, err := os.ReadFile(stampPath); err == nil && json.Unmarshal(data, &stamp) == nil &&
		stamp.Path == tarball && stamp.Size == st.Size() && stamp.ModTime.Equal(st.ModTime()) {
		return stamp.SHA256, nil
	}
	f, err := os.Open(tarball)
	if err != nil {
		return "", err
	}
	defer func() { _ = f.Close() }() // read-only: a close error loses nothing
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	sum := hex.EncodeToString(h.Sum(nil))
	stamp = tarballStamp{Path: tarball, Size: st.Size(), ModTime: st.ModTime(), SHA256: sum}
	data, _ := json.Marshal(stamp)
	if err := atomicfile.WriteFile(stampPath, data, 0o644); err != nil {
		return "", err
	}
	return sum, nil
}

// DefaultTree returns the embedded default tree: Debian's
// linux-source-6.1 (DebianTree), its tarball extracted into the cache
// the first time (into a directory named by the tarball's hash) and made
// read-only; its key is its content key, as for a plain tree.
func DefaultTree(ctx context.Context, cache *Cache, log io.Writer) (*Tree, error) {
	return DebianTree(ctx, cache, DefaultDebian, log)
}

// TarballTree extracts a kernel source tarball into the cache once.
func TarballTree(ctx context.Context, cache *Cache, tarball string, log io.Writer) (*Tree, error) {
	sum, err := tarballHash(cache, tarball)
	if err != nil {
		return nil, fmt.Errorf("hashing %s: %w", tarball, err)
	}
	dir := filepath.Join(cache.Dir, "trees", sum[:24])
	src := filepath.Join(dir, "src")
	if _, err := os.Stat(filepath.Join(dir, "complete")); err != nil {
		unlock, err := cache.lock(ctx, "tree-"+sum[:24], log)
		if err != nil {
			return nil, err
		}
		defer unlock()
		if _, err := os.Stat(filepath.Join(dir, "complete")); err != nil {
			if err := extract(ctx, tarball, dir, log); err != nil {
				return nil, err
			}
			// Files changed within racyWindow of a scan are hashed but
			// not remembered; waiting that long after an extraction of
			// minutes lets the first key fill the index for good.
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(racyWindow):
			}
		}
	}
	v, err := readVersion(src)
	if err != nil {
		return nil, err
	}
	// Keyed by content, not by the tarball's hash, so the same sources
	// extracted elsewhere and given as --tree share its kernels. The
	// first call after extraction hashes every file; later ones only
	// stat them against the index.
	key, err := contentKey(ctx, cache, src)
	if err != nil {
		return nil, fmt.Errorf("computing the content key of %s: %w", src, err)
	}
	return &Tree{Dir: src, Key: key, Kind: "tarball", Version: v, Origin: tarball}, nil
}

func extract(ctx context.Context, tarball, dir string, log io.Writer) error {
	start := time.Now()
	logf(log, "ktest: extracting %s into %s (once)\n", tarball, dir)
	tmp := dir + ".tmp"
	// A previous, interrupted extraction would mix into this one.
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("removing an interrupted extraction: %w", err)
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "tar", "-xf", tarball, "-C", tmp)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("extracting %s: %w: %s", tarball, err, strings.TrimSpace(string(out)))
	}
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return err
	}
	if len(entries) != 1 || !entries[0].IsDir() {
		return fmt.Errorf("%s: expected one top-level directory", tarball)
	}
	if err := os.Rename(filepath.Join(tmp, entries[0].Name()), filepath.Join(tmp, "src")); err != nil {
		return err
	}
	// Read-only, so nothing (ours or a user's) modifies the shared tree.
	if err := exec.CommandContext(ctx, "chmod", "-R", "a-w", filepath.Join(tmp, "src")).Run(); err != nil {
		return fmt.Errorf("making the tree read-only: %w", err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "complete"), []byte(time.Now().Format(time.RFC3339)+"\n"), 0o444); err != nil {
		return err
	}
	if err := os.RemoveAll(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return err
	}
	logf(log, "ktest: extracted in %s\n", time.Since(start).Round(time.Second))
	return nil
}

func hashString(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}
