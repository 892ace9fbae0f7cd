// Package worktree makes private writable copies of a source tree and
// writes apply.Change sets into them (or, on request, into a tree in
// place) without the source ever noticing.
//
// A copy is a `git worktree add --detach` of HEAD when the source is the
// top of a git repository, else a hardlinked copy (cp -al; plain copies
// across filesystems). Writes never modify a file in place: new content
// goes to a temp file that is renamed over the target, which replaces the
// directory entry and so breaks the hardlink to the user's file.
package worktree

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/ktest-dev/ktest/apply"
)

// Tree is a private copy of a source tree.
type Tree struct {
	Dir    string // the copy, absolute
	Source string // the tree it was copied from, absolute
	// Git is true for a git worktree: it holds the source's HEAD commit
	// (Head), not its uncommitted changes.
	Git  bool
	Head string
	// Copied counts files that had to be copied rather than hardlinked
	// (the copy is on another filesystem).
	Copied int
}

// New makes a copy of src at dst, which must not exist; its parent is
// created if needed. A hardlinked copy is built under a temporary name
// next to dst and renamed into place, so dst only appears once complete.
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
		return nil, fmt.Errorf("worktree: %s already exists", dst)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("worktree: %w", err)
	}
	if within(dst, src) {
		return nil, fmt.Errorf("worktree: %s is inside the source tree %s", dst, src)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return nil, fmt.Errorf("worktree: %w", err)
	}

	if head, ok := gitHead(ctx, src); ok {
		if out, err := gitCmd(ctx, src, "worktree", "add", "--detach", dst, head); err != nil {
			return nil, fmt.Errorf("worktree: git worktree add %s: %w: %s", dst, err, out)
		}
		return &Tree{Dir: dst, Source: src, Git: true, Head: head}, nil
	}

	tmp, err := os.MkdirTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".ktest-copy-")
	if err != nil {
		return nil, fmt.Errorf("worktree: %w", err)
	}
	copied, err := linkTree(ctx, src, tmp)
	if err == nil {
		err = os.Rename(tmp, dst)
	}
	if err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("worktree: copy %s: %w", src, err)
	}
	return &Tree{Dir: dst, Source: src, Copied: copied}, nil
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
// the source repository. Removing a hardlinked copy only drops links;
// the source's files are untouched.
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

// linkTree recreates src's directories under dst and hardlinks its
// files, copying them instead when linking is impossible (another
// filesystem, too many links). Symlinks are recreated as they are;
// sockets, devices and fifos are skipped. It returns how many files were
// copied.
func linkTree(ctx context.Context, src, dst string) (copied int, err error) {
	canLink := true
	err = filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		target := filepath.Join(dst, rel)
		switch t := d.Type(); {
		case t.IsDir():
			fi, err := d.Info()
			if err != nil {
				return err
			}
			return os.Mkdir(target, fi.Mode().Perm()|0o700)
		case t.IsRegular():
			if canLink {
				err := os.Link(path, target)
				if err == nil {
					return nil
				}
				if !errors.Is(err, syscall.EXDEV) && !errors.Is(err, syscall.EMLINK) && !errors.Is(err, syscall.EPERM) {
					return err
				}
				canLink = !errors.Is(err, syscall.EXDEV)
			}
			copied++
			return copyFile(path, target)
		case t&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		}
		return nil
	})
	return copied, err
}

// copyFile copies a regular file with its mode and mtime, so a copy
// looks to make like the original.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fi.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Chtimes(dst, fi.ModTime(), fi.ModTime())
}
