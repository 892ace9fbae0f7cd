// Package gitrepo reads what ktest needs from a kernel tree that is a git
// repository, through git itself: the blobs a patch's "index" lines name,
// a three-way merge (git merge-file, the machinery of `git am -3`), and
// where a series' base-commit stands relative to HEAD.
package gitrepo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ktest-dev/ktest/internal/termfmt"
)

// Repo is a git repository's work tree.
type Repo struct {
	Dir string
}

// Open returns the repository whose top level is dir, or ok=false when
// dir is not the top of a git work tree (a subdirectory of one is not:
// its blobs would be the wider repository's) or git is missing.
func Open(ctx context.Context, dir string) (*Repo, bool) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, false
	}
	out, err := run(ctx, abs, "rev-parse", "--show-toplevel")
	if err != nil {
		return nil, false
	}
	top, err := filepath.EvalSymlinks(strings.TrimSpace(string(out)))
	if err != nil {
		return nil, false
	}
	if real, err := filepath.EvalSymlinks(abs); err != nil || real != top {
		return nil, false
	}
	return &Repo{Dir: abs}, true
}

// Blob returns the content of the blob whose id starts with prefix, as
// a diff's "index abc1234..def5678" line names it. ok is false when the
// repository has no such blob, or more than one (a short prefix).
func (r *Repo) Blob(ctx context.Context, prefix string) ([]byte, bool, error) {
	if !isHex(prefix) || len(prefix) < 4 {
		return nil, false, nil
	}
	out, err := run(ctx, r.Dir, "rev-parse", "--verify", "--quiet", prefix+"^{blob}")
	if err != nil {
		if isExit(err) {
			return nil, false, nil // unknown or ambiguous
		}
		return nil, false, err
	}
	b, err := run(ctx, r.Dir, "cat-file", "blob", strings.TrimSpace(string(out)))
	if err != nil {
		return nil, false, err
	}
	return b, true, nil
}

// Merge3 merges the change from base to theirs into ours with git
// merge-file; clean is false when they conflict.
func (r *Repo) Merge3(ctx context.Context, ours, base, theirs []byte) (merged []byte, clean bool, err error) {
	dir, err := os.MkdirTemp("", "ktest-merge3-")
	if err != nil {
		return nil, false, err
	}
	defer func() { _ = os.RemoveAll(dir) }() // best effort: a temp dir of three small files
	names := []string{"ours", "base", "theirs"}
	for i, b := range [][]byte{ours, base, theirs} {
		if err := os.WriteFile(filepath.Join(dir, names[i]), b, 0o600); err != nil {
			return nil, false, err
		}
	}
	out, err := run(ctx, dir, "merge-file", "-p", "--quiet", "ours", "base", "theirs")
	var ee *exec.ExitError
	switch {
	case err == nil:
		return out, true, nil
	case errors.As(err, &ee) && ee.ExitCode() > 0 && ee.ExitCode() < 128:
		return out, false, nil // the exit code counts the conflicts
	}
	return nil, false, fmt.Errorf("git merge-file: %w", err)
}

// Ancestors is r as apply.Options.Ancestors wants it: the blobs a diff
// was made against and a three-way merge, bound to ctx.
func (r *Repo) Ancestors(ctx context.Context) Ancestors { return Ancestors{r, ctx} }

// Ancestors binds a Repo to a context for the pure apply engine, which
// takes no context of its own.
type Ancestors struct {
	repo *Repo
	ctx  context.Context
}

// Blob is Repo.Blob.
func (a Ancestors) Blob(prefix string) ([]byte, bool, error) { return a.repo.Blob(a.ctx, prefix) }

// Merge3 is Repo.Merge3.
func (a Ancestors) Merge3(ours, base, theirs []byte) ([]byte, bool, error) {
	return a.repo.Merge3(a.ctx, ours, base, theirs)
}

// Base is where a series' base-commit stands relative to HEAD.
type Base struct {
	Commit string // as the series gives it
	Known  bool   // the repository has the commit
	// Ahead is how many commits HEAD has that the base lacks, Behind how
	// many the base has that HEAD lacks (0 when HEAD descends from it).
	Ahead, Behind int
}

func (b Base) String() string {
	short := b.Commit
	if len(short) > 12 {
		short = short[:12]
	}
	switch {
	case !b.Known:
		return fmt.Sprintf("base-commit %s is not in this repository (fetch it to compare)", short)
	case b.Ahead == 0 && b.Behind == 0:
		return fmt.Sprintf("HEAD is the series' base-commit %s", short)
	case b.Behind == 0:
		return fmt.Sprintf("HEAD is %s ahead of the series' base-commit %s", termfmt.Plural(b.Ahead, "commit"), short)
	}
	return fmt.Sprintf("HEAD has diverged from the series' base-commit %s: %s ahead, %d behind",
		short, termfmt.Plural(b.Ahead, "commit"), b.Behind)
}

// CompareBase places commit (a series' base-commit) relative to HEAD.
func (r *Repo) CompareBase(ctx context.Context, commit string) (Base, error) {
	b := Base{Commit: commit}
	if !isHex(commit) {
		return b, nil
	}
	out, err := run(ctx, r.Dir, "rev-parse", "--verify", "--quiet", commit+"^{commit}")
	if err != nil {
		if isExit(err) {
			return b, nil
		}
		return b, err
	}
	full := strings.TrimSpace(string(out))
	out, err = run(ctx, r.Dir, "rev-list", "--left-right", "--count", full+"...HEAD")
	if err != nil {
		return b, fmt.Errorf("git rev-list: %w", err)
	}
	f := strings.Fields(string(out))
	if len(f) != 2 {
		return b, fmt.Errorf("git rev-list --count: unexpected %q", out)
	}
	b.Known = true
	if b.Behind, err = strconv.Atoi(f[0]); err != nil {
		return b, err
	}
	if b.Ahead, err = strconv.Atoi(f[1]); err != nil {
		return b, err
	}
	return b, nil
}

func run(ctx context.Context, dir string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	// The user's and the system's config must not change what ktest
	// reads (a merge.conflictStyle, a core.autocrlf).
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "LC_ALL=C")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil && !isExit(err) {
		return out, err
	}
	if err != nil && stderr.Len() > 0 {
		return out, fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return out, err
}

func isExit(err error) bool {
	var ee *exec.ExitError
	return errors.As(err, &ee)
}

func isHex(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
