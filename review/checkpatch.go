// Running the tree's checkpatch.pl on one patch.

package review

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// CheckpatchNotAvailableError says checkpatch cannot run on this tree:
// the tree has no scripts/checkpatch.pl, or there is no perl.
type CheckpatchNotAvailableError struct {
	Tree string
	Err  error
}

func (e *CheckpatchNotAvailableError) Error() string {
	return fmt.Sprintf("checkpatch not available for %s: %v", e.Tree, e.Err)
}

func (e *CheckpatchNotAvailableError) Unwrap() error { return e.Err }

// checkpatchArgs are the flags every run uses:
//   - --root=TREE: the tree-dependent checks (asm/ includes, DT
//     compatibles, files MAINTAINERS marks obsolete) look at the tree
//     under review; without it checkpatch would look for a tree in its
//     working directory, which is not the tree (see Checkpatch).
//   - --show-types: each item carries its type (LONG_LINE, ...), which is
//     what a reader looks up and what --ignore takes.
//   - --color=never: the output is parsed, never shown on a terminal.
//   - the summary stays on (no --no-summary, no --terse): its "total:"
//     line gives the counts, and the "#N: FILE: path:line:" lines the
//     locations.
//
// Not --strict: CHECK items are then what checkpatch itself turns on
// (for net/, drivers/net/ and staging files), as a maintainer running it
// with no flags sees them. Not --no-signoff: a missing Signed-off-by is
// a review finding.
func checkpatchArgs(tree string) []string {
	return []string{"--root=" + tree, "--show-types", "--color=never", "-"}
}

// Checkpatch runs treeDir's scripts/checkpatch.pl on one patch (a git
// format-patch mail or a plain diff), fed on stdin; name names the
// patch in errors and in the result. checkpatch finding problems is not
// an error (see CheckpatchResult.ExitCode); failing to run it, or output
// without its summary line, is.
//
// checkpatch runs in a private temp directory, never in the tree: with
// CHECK items on it writes a CamelCase cache into its working directory.
// That directory holds symlinks to the tree's top-level entries, so the
// get_maintainer.pl it runs (which wants a kernel tree in ".") still
// finds MAINTAINERS, but none of the tree's dot files: no .git, so no
// git lookups and the same result whether the tree is a git checkout or
// not, and no .checkpatch.conf. HOME is the temp directory too, so a
// user's ~/.checkpatch.conf (which could add --terse or --quiet and
// change what we parse) does not apply.
func Checkpatch(ctx context.Context, treeDir string, patch []byte, name string) (*CheckpatchResult, error) {
	tree, err := filepath.Abs(treeDir)
	if err != nil {
		return nil, fmt.Errorf("checkpatch on %s: %w", name, err)
	}
	script := filepath.Join(tree, "scripts", "checkpatch.pl")
	if _, err := os.Stat(script); err != nil {
		return nil, &CheckpatchNotAvailableError{Tree: tree, Err: err}
	}
	perl, err := exec.LookPath("perl")
	if err != nil {
		return nil, &CheckpatchNotAvailableError{Tree: tree, Err: err}
	}
	work, err := os.MkdirTemp("", "ktest-checkpatch-")
	if err != nil {
		return nil, fmt.Errorf("checkpatch on %s: %w", name, err)
	}
	defer func() { _ = os.RemoveAll(work) }() // best effort: a leftover temp dir costs only space
	if err := linkTopLevel(tree, work); err != nil {
		return nil, fmt.Errorf("checkpatch on %s: %w", name, err)
	}

	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, perl, append([]string{script}, checkpatchArgs(tree)...)...)
	cmd.Dir = work
	cmd.Env = checkpatchEnv(os.Environ(), work)
	cmd.Stdin = bytes.NewReader(patch)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// checkpatch runs get_maintainer.pl and find: stop them with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	err = cmd.Run()
	exit := 0
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return nil, fmt.Errorf("checkpatch on %s: %w", name, ctx.Err())
	case errors.As(err, &ee) && ee.Exited():
		exit = ee.ExitCode()
	case err != nil:
		return nil, fmt.Errorf("running checkpatch on %s: %w%s", name, err, stderrTail(stderr.Bytes()))
	}
	res, err := ParseCheckpatch(stdout.Bytes())
	if err != nil {
		return nil, fmt.Errorf("checkpatch on %s (exit status %d): %w%s", name, exit, err, stderrTail(stderr.Bytes()))
	}
	res.Name = name
	res.ExitCode = exit
	return res, nil
}

// linkTopLevel fills dir with symlinks to tree's top-level entries,
// leaving out dot files (.git, .checkpatch.conf).
func linkTopLevel(tree, dir string) error {
	ents, err := os.ReadDir(tree)
	if err != nil {
		return fmt.Errorf("reading the tree: %w", err)
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if err := os.Symlink(filepath.Join(tree, e.Name()), filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// checkpatchEnv is env with HOME set to home and without GIT_DIR, which
// checkpatch would otherwise use as the tree's git repository.
func checkpatchEnv(env []string, home string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if strings.HasPrefix(kv, "HOME=") || strings.HasPrefix(kv, "GIT_DIR=") {
			continue
		}
		out = append(out, kv)
	}
	return append(out, "HOME="+home)
}

func stderrTail(b []byte) string {
	s := strings.TrimSpace(string(b))
	if s == "" {
		return ""
	}
	if len(s) > 2000 {
		s = "..." + s[len(s)-2000:]
	}
	return "; stderr: " + s
}
