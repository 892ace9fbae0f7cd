// Package worktree makes private writable copies of a source tree and
// writes apply.Change sets into them (or, on request, into a tree in
// place) without the source ever noticing.
//
// A copy is a `git worktree add --detach` of HEAD when the source is the
// top of a git repository, carrying the source's uncommitted changes and
// untracked files (so it holds what ktest read: the working tree, see
// Base), else a copy of every file (a reflink where the filesystem
// supports it, a real copy otherwise). Either way the copy shares
// nothing writable with the source: editing a file of the copy in
// place, with any editor or `>>`, cannot reach the user's tree. (Hard
// links would: ktest used them once, and `echo x >> COPY/README` wrote
// into the source.) Writes into a tree never modify a file in place
// either: new content goes to a temp file renamed over the target.
package worktree

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/ktest-dev/ktest/apply"
)

var (
	// ErrExists is a destination that already exists: New never writes
	// into an existing directory.
	ErrExists = errors.New("already exists; choose a new directory or remove it")
	// ErrInsideSource is a destination inside the tree to copy.
	ErrInsideSource = errors.New("is inside the source tree")
	// ErrCannotCarry is a git tree whose uncommitted state cannot be
	// reproduced in a worktree: an untracked nested repository, changes
	// git apply will not take.
	ErrCannotCarry = errors.New("cannot make a git worktree")
)

// Tree is a private copy of a source tree.
type Tree struct {
	Dir    string // the copy, absolute
	Source string // the tree it was copied from, absolute
	// Git is true for a git worktree: it is checked out at the source's
	// HEAD commit (Head), with the source's uncommitted changes and
	// untracked files on top, as Carried counts them.
	Git     bool
	Head    string
	Carried Base
	// Copy says how a plain copy was made (zero for a git worktree).
	Copy CopyStats
}

// New makes a copy of src at dst, which must not exist; its parent is
// created if needed. A plain copy is built under a temporary name next
// to dst and renamed into place, so dst only appears once complete.
func New(ctx context.Context, src, dst string) (*Tree, error) {
	src, err := filepath.Abs(src)
	if err != nil {
		return nil, err
	}
	dst, err = filepath.Abs(dst)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(src); err != nil {
		return nil, fmt.Errorf("worktree: source: %w", err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("worktree: source %s is not a directory", src)
	}
	if _, err := os.Lstat(dst); err == nil {
		return nil, fmt.Errorf("worktree: %s %w", dst, ErrExists)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("worktree: %w", err)
	}
	if within(dst, src) {
		return nil, fmt.Errorf("worktree: %s %w %s", dst, ErrInsideSource, src)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return nil, fmt.Errorf("worktree: %w", err)
	}

	if head, ok := gitHead(ctx, src); ok {
		if out, err := gitCmd(ctx, src, "worktree", "add", "--detach", dst, head); err != nil {
			return nil, fmt.Errorf("worktree: git worktree add %s: %w: %s", dst, err, out)
		}
		t := &Tree{Dir: dst, Source: src, Git: true, Head: head}
		carried, err := carry(ctx, src, dst)
		if err != nil {
			if rerr := t.Remove(); rerr != nil {
				err = errors.Join(err, rerr)
			}
			return nil, fmt.Errorf("worktree: %s: %w of %s with its uncommitted changes and untracked files, which is what ktest read (%w); nothing was written",
				dst, ErrCannotCarry, src, err)
		}
		carried.Head = head
		t.Carried = carried
		return t, nil
	}

	tmp, err := os.MkdirTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".ktest-copy-")
	if err != nil {
		return nil, fmt.Errorf("worktree: %w", err)
	}
	stats, err := copyTree(ctx, src, tmp)
	if err == nil {
		err = os.Rename(tmp, dst)
	}
	if err != nil {
		_ = os.RemoveAll(tmp) // error path: a partial copy, removed as well as can be
		return nil, fmt.Errorf("worktree: copy %s: %w", src, err)
	}
	return &Tree{Dir: dst, Source: src, Copy: stats}, nil
}

// FS reads the copy, confined to it (symlinks cannot lead out).
func (t *Tree) FS() (fs.FS, error) {
	r, err := os.OpenRoot(t.Dir)
	if err != nil {
		return nil, err
	}
	return r.FS(), nil
}

// Write applies changes to the copy, all or nothing (see WriteInPlace).
func (t *Tree) Write(changes []*apply.Change) error {
	return WriteInPlace(t.Dir, changes)
}

// Remove deletes the copy and, for a git worktree, its registration in
// the source repository.
func (t *Tree) Remove() error {
	if t.Git {
		out, err := gitCmd(context.Background(), t.Source, "worktree", "remove", "--force", t.Dir)
		if err == nil {
			return nil
		}
		// Registration or directory half gone: finish by hand.
		if rerr := os.RemoveAll(t.Dir); rerr != nil {
			return fmt.Errorf("worktree: remove %s: %w (git: %v: %s)", t.Dir, rerr, err, out)
		}
		if out, err := gitCmd(context.Background(), t.Source, "worktree", "prune"); err != nil {
			return fmt.Errorf("worktree: git worktree prune: %w: %s", err, out)
		}
		return nil
	}
	if err := os.RemoveAll(t.Dir); err != nil {
		return fmt.Errorf("worktree: remove %s: %w", t.Dir, err)
	}
	return nil
}

// gitHead returns HEAD's commit if dir is the top of a git work tree
// with at least one commit.
func gitHead(ctx context.Context, dir string) (string, bool) {
	if _, err := exec.LookPath("git"); err != nil {
		return "", false
	}
	top, err := gitCmd(ctx, dir, "rev-parse", "--show-toplevel")
	if err != nil {
		return "", false
	}
	a, err1 := filepath.EvalSymlinks(strings.TrimSpace(top))
	b, err2 := filepath.EvalSymlinks(dir)
	if err1 != nil || err2 != nil || a != b {
		return "", false
	}
	head, err := gitCmd(ctx, dir, "rev-parse", "--verify", "-q", "HEAD^{commit}")
	if err != nil {
		return "", false
	}
	return strings.TrimSpace(head), true
}

func gitCmd(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return strings.TrimSpace(out.String()), err
}

// within reports whether p is dir or below it.
func within(p, dir string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}
