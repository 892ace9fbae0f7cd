package worktree

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// contents is what a tree holds outside .git: content and mode by path.
func contents(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for p, st := range snapshot(t, dir) {
		if p == ".git" || strings.HasPrefix(p, ".git/") || st.mode.IsDir() {
			continue
		}
		out[p] = st.mode.String() + " " + st.content
	}
	return out
}

// A git worktree made by New holds what ktest read: HEAD plus the
// uncommitted changes (staged or not: edits, deletions, mode changes,
// binary content) and the untracked files, but not the ignored ones.
func TestGitWorktreeCarriesTheWorkingTree(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	ctx := context.Background()
	src := t.TempDir()
	run(t, src, "git", "init", "-q")
	writeFiles(t, src, srcFiles)
	writeFiles(t, src, map[string]string{".gitignore": "*.o\n"})
	run(t, src, "git", "add", "-A")
	run(t, src, "git", "commit", "-q", "-m", "base")
	clean, err := ReadBase(ctx, src)
	if err != nil || !clean.Git || clean.Changed != 0 || clean.Untracked != 0 || !strings.HasSuffix(clean.String(), "(clean)") {
		t.Fatalf("ReadBase of a clean checkout = %+v, %v", clean, err)
	}

	writeFiles(t, src, map[string]string{
		"mm/filemap.c":       "int a;\nint b2;\nint c;\nint d;\n",
		"include/linux/x.h":  "#define X 2\n",
		"fs/new/untracked.c": "int u;\n",
		"firmware.bin":       "\x00\x01\x02\xff",
		"built-in.o":         "ignored build output\n",
	})
	if err := os.Remove(filepath.Join(src, "fs/doomed.c")); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(src, "scripts/check.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("x.h", filepath.Join(src, "include/linux/y.h")); err != nil {
		t.Fatal(err)
	}
	run(t, src, "git", "add", "include/linux/x.h") // one change staged
	base, err := ReadBase(ctx, src)
	if err != nil || base.Changed != 4 || base.Untracked != 3 {
		t.Fatalf("ReadBase = %+v, %v; want 4 changed, 3 untracked", base, err)
	}
	if got := base.String(); !strings.HasSuffix(got, " + 4 uncommitted changes + 3 untracked files") {
		t.Errorf("String() = %q", got)
	}
	want := contents(t, src)
	delete(want, "built-in.o")

	dst := filepath.Join(t.TempDir(), "wt")
	tree, err := New(ctx, src, dst)
	if err != nil {
		t.Fatal(err)
	}
	if !tree.Git || tree.Carried.Changed != 4 || tree.Carried.Untracked != 3 || tree.Carried.Head != base.Head {
		t.Errorf("Carried = %+v", tree.Carried)
	}
	got := contents(t, dst)
	for p, w := range want {
		if got[p] != w {
			t.Errorf("%s: worktree has %q, the tree %q", p, got[p], w)
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			t.Errorf("%s: in the worktree, not in the tree's working tree", p)
		}
	}
	if err := tree.Remove(); err != nil {
		t.Fatal(err)
	}

	// An untracked nested repository cannot be carried: refused, and
	// nothing is left behind.
	run(t, src, "git", "init", "-q", "vendor/lib")
	writeFiles(t, src, map[string]string{"vendor/lib/lib.c": "int l;\n"})
	dst2 := filepath.Join(t.TempDir(), "wt2")
	_, err = New(ctx, src, dst2)
	if !errors.Is(err, ErrCannotCarry) || !strings.Contains(err.Error(), "untracked vendor/lib/ is a git repository of its own") {
		t.Errorf("New with a nested repository = %v", err)
	}
	if _, err := os.Stat(dst2); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a refused New left %s", dst2)
	}
	if wl := run(t, src, "git", "worktree", "list"); strings.Count(wl, "\n") != 1 {
		t.Errorf("worktrees left registered:\n%s", wl)
	}

	// A plain directory reads as its files.
	if b, err := ReadBase(ctx, t.TempDir()); err != nil || b.Git || b.String() != "its files (not a git checkout)" {
		t.Errorf("ReadBase of a plain directory = %+v, %v", b, err)
	}
}
