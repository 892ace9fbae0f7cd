package worktree

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/ktest-dev/ktest/internal/termfmt"
)

// Base is what a tree's files are read from. ktest always reads the
// working tree, as `git apply` and `patch` do; for a git checkout that is
// HEAD plus what is not committed, which Base counts.
type Base struct {
	Git       bool
	Head      string // HEAD's commit, for a git checkout
	Changed   int    // tracked files that differ from HEAD, staged or not
	Untracked int    // untracked files that are not ignored
}

// ReadBase describes the base of the tree at dir. A directory that is
// not the top of a git work tree (or a repository without a commit) is
// a plain tree.
func ReadBase(ctx context.Context, dir string) (Base, error) {
	head, ok := gitHead(ctx, dir)
	if !ok {
		return Base{}, nil
	}
	b := Base{Git: true, Head: head}
	changed, err := gitList(ctx, dir, "diff", "HEAD", "--name-only", "-z", "--no-renames", "--no-ext-diff")
	if err != nil {
		return Base{}, err
	}
	untracked, err := gitList(ctx, dir, "ls-files", "-z", "--others", "--exclude-standard")
	if err != nil {
		return Base{}, err
	}
	b.Changed, b.Untracked = len(changed), len(untracked)
	return b, nil
}

func (b Base) String() string {
	if !b.Git {
		return "its files (not a git checkout)"
	}
	var extra []string
	if b.Changed > 0 {
		extra = append(extra, termfmt.Plural(b.Changed, "uncommitted change"))
	}
	if b.Untracked > 0 {
		extra = append(extra, termfmt.Plural(b.Untracked, "untracked file"))
	}
	if len(extra) == 0 {
		return fmt.Sprintf("the working tree = HEAD %.12s (clean)", b.Head)
	}
	return fmt.Sprintf("the working tree: HEAD %.12s + %s", b.Head, strings.Join(extra, " + "))
}

// gitList runs a git command that prints NUL-separated names.
func gitList(ctx context.Context, dir string, args ...string) ([]string, error) {
	out, err := gitOutput(ctx, dir, args...)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, n := range strings.Split(string(out), "\x00") {
		if n != "" {
			names = append(names, n)
		}
	}
	return names, nil
}

// gitOutput runs git in dir and returns its standard output; a failure
// carries git's message.
func gitOutput(ctx context.Context, dir string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// wtDiff is the diff from HEAD to the working tree, in a form no user
// setting changes (prefixes, external diff drivers, colour, renames).
var wtDiff = []string{"diff", "HEAD", "--binary", "--full-index", "--no-renames", "--no-ext-diff", "--no-textconv",
	"--no-color", "--no-relative", "--ignore-submodules=none", "--src-prefix=a/", "--dst-prefix=b/"}

// carry makes the fresh git worktree dst of src's HEAD hold src's working
// tree: the uncommitted changes to tracked files (applied with git
// apply) and copies of the untracked files that are not ignored. It
// refuses what it cannot carry exactly, and checks the result: the
// worktree's diff from HEAD must be src's, byte for byte.
func carry(ctx context.Context, src, dst string) (Base, error) {
	b := Base{Git: true}
	diff, err := gitOutput(ctx, src, wtDiff...)
	if err != nil {
		return b, err
	}
	if len(diff) > 0 {
		changed, err := gitList(ctx, src, "diff", "HEAD", "--name-only", "-z", "--no-renames", "--no-ext-diff")
		if err != nil {
			return b, err
		}
		b.Changed = len(changed)
		cmd := exec.CommandContext(ctx, "git", "-C", dst, "apply", "--binary", "--whitespace=nowarn", "-")
		cmd.Stdin = bytes.NewReader(diff)
		if out, err := cmd.CombinedOutput(); err != nil {
			return b, fmt.Errorf("the uncommitted changes do not apply to HEAD (git apply: %w: %s)", err, strings.TrimSpace(string(out)))
		}
	}
	untracked, err := gitList(ctx, src, "ls-files", "-z", "--others", "--exclude-standard")
	if err != nil {
		return b, err
	}
	var canClone atomic.Bool
	canClone.Store(true)
	for _, rel := range untracked {
		if strings.HasSuffix(rel, "/") {
			return b, fmt.Errorf("untracked %s is a git repository of its own; commit, ignore or move it to carry the tree", rel)
		}
		if err := copyUntracked(filepath.Join(src, rel), filepath.Join(dst, rel), &canClone); err != nil {
			return b, fmt.Errorf("untracked file: %w", err)
		}
	}
	b.Untracked = len(untracked)
	got, err := gitOutput(ctx, dst, wtDiff...)
	if err != nil {
		return b, err
	}
	if sha256.Sum256(got) != sha256.Sum256(diff) {
		return b, errors.New("the worktree's changes from HEAD differ from the tree's after carrying them (git apply changed something)")
	}
	return b, nil
}

// copyUntracked copies one untracked file or symlink, creating its
// parent directories.
func copyUntracked(src, dst string, canClone *atomic.Bool) error {
	fi, err := os.Lstat(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	switch {
	case fi.Mode()&os.ModeSymlink != 0:
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		return os.Symlink(target, dst)
	case fi.Mode().IsRegular():
		_, err := copyFile(src, dst, fi, canClone)
		return err
	}
	return fmt.Errorf("%s is neither a file nor a symlink", src)
}
