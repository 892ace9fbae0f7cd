package worktree

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bluekeyes/go-gitdiff/gitdiff"
	"github.com/ktest-dev/ktest/apply"
)

// fileState is what the user would notice changing.
type fileState struct {
	content string
	mode    fs.FileMode
	mtime   time.Time
	ino     uint64
}

func snapshot(t *testing.T, dir string) map[string]fileState {
	t.Helper()
	out := map[string]fileState{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		st := fileState{mode: fi.Mode(), mtime: fi.ModTime(), ino: fi.Sys().(*syscall.Stat_t).Ino}
		switch {
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			st.content = string(b)
		case fi.Mode()&fs.ModeSymlink != 0:
			st.content, _ = os.Readlink(p)
		case fi.IsDir():
			st.mtime = time.Time{} // directory mtimes move with temp files; contents are compared
		}
		out[rel] = st
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameSnapshot(t *testing.T, what string, before, after map[string]fileState) {
	t.Helper()
	for p, b := range before {
		a, ok := after[p]
		if !ok {
			t.Errorf("%s: %s disappeared", what, p)
		} else if a != b {
			t.Errorf("%s: %s changed: %+v -> %+v", what, p, b, a)
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			t.Errorf("%s: %s appeared", what, p)
		}
	}
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func run(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

var (
	srcFiles = map[string]string{
		"Makefile":          "all:\n\techo build\n",
		"mm/filemap.c":      "int a;\nint b;\nint c;\nint d;\n",
		"fs/old_name.c":     "void f(void)\n{\n}\n",
		"fs/doomed.c":       "gone\n",
		"scripts/check.sh":  "#!/bin/sh\necho ok\n",
		"include/linux/x.h": "#define X 1\n",
	}
	// series is a real git diff over srcFiles: an edit, a creation in a
	// new directory, a deletion, a rename and a mode change.
	series = `diff --git a/mm/filemap.c b/mm/filemap.c
--- a/mm/filemap.c
+++ b/mm/filemap.c
@@ -1,4 +1,4 @@
 int a;
-int b;
+long b;
 int c;
 int d;
diff --git a/mm/new/added.c b/mm/new/added.c
new file mode 100644
--- /dev/null
+++ b/mm/new/added.c
@@ -0,0 +1 @@
+int added;
diff --git a/fs/doomed.c b/fs/doomed.c
deleted file mode 100644
--- a/fs/doomed.c
+++ /dev/null
@@ -1 +0,0 @@
-gone
diff --git a/fs/old_name.c b/fs/new_name.c
similarity index 100%
rename from fs/old_name.c
rename to fs/new_name.c
diff --git a/scripts/check.sh b/scripts/check.sh
old mode 100644
new mode 100755
`
	wantAfter = map[string]string{
		"Makefile":          "all:\n\techo build\n",
		"mm/filemap.c":      "int a;\nlong b;\nint c;\nint d;\n",
		"mm/new/added.c":    "int added;\n",
		"fs/new_name.c":     "void f(void)\n{\n}\n",
		"scripts/check.sh":  "#!/bin/sh\necho ok\n",
		"include/linux/x.h": "#define X 1\n",
	}
)

// changesFor applies the test series to tree with package apply.
func changesFor(t *testing.T, tree fs.FS) []*apply.Change {
	t.Helper()
	files, _, err := gitdiff.Parse(strings.NewReader(series))
	if err != nil {
		t.Fatal(err)
	}
	res, err := apply.ApplySeries(tree, []apply.Patch{{Name: "1/1", Files: files}}, apply.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	return res.SortedChanges()
}

// checkResult verifies dir holds exactly wantAfter (plus directories).
func checkResult(t *testing.T, dir string) {
	t.Helper()
	got := map[string]string{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && !strings.Contains(p, "/.git") {
			b, _ := os.ReadFile(p)
			rel, _ := filepath.Rel(dir, p)
			got[rel] = string(b)
		}
		return nil
	})
	if len(got) != len(wantAfter) {
		t.Errorf("files = %v, want %d files", keys(got), len(wantAfter))
	}
	for p, want := range wantAfter {
		if got[p] != want {
			t.Errorf("%s = %q, want %q", p, got[p], want)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, "scripts/check.sh")); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("scripts/check.sh mode: %v %v", fi.Mode(), err)
	}
	if _, err := os.Stat(filepath.Join(dir, "fs/old_name.c")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("renamed file still present: %v", err)
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestHardlinkCopyLeavesSourceAlone: a hardlinked copy shares inodes
// with the source until written; writing replaces them, and the source
// stays byte- and mtime-identical, down to its inodes.
func TestHardlinkCopyLeavesSourceAlone(t *testing.T) {
	src := t.TempDir()
	writeFiles(t, src, srcFiles)
	if err := os.Symlink("linux/x.h", filepath.Join(src, "include/x-link.h")); err != nil {
		t.Fatal(err)
	}
	// Old mtimes, so a rewrite in place could not hide within the same second.
	old := time.Now().Add(-48 * time.Hour).Truncate(time.Second)
	for p := range srcFiles {
		os.Chtimes(filepath.Join(src, p), old, old)
	}
	before := snapshot(t, src)

	dst := filepath.Join(t.TempDir(), "out", "copy")
	tree, err := New(context.Background(), src, dst)
	if err != nil {
		t.Fatal(err)
	}
	if tree.Git || tree.Copied != 0 {
		t.Fatalf("tree = %+v, want a hardlinked copy", tree)
	}
	a, _ := os.Stat(filepath.Join(src, "mm/filemap.c"))
	b, _ := os.Stat(filepath.Join(dst, "mm/filemap.c"))
	if !os.SameFile(a, b) {
		t.Fatal("copy is not hardlinked")
	}
	if l, err := os.Readlink(filepath.Join(dst, "include/x-link.h")); err != nil || l != "linux/x.h" {
		t.Errorf("symlink not recreated: %q %v", l, err)
	}
	fsys, err := tree.FS()
	if err != nil {
		t.Fatal(err)
	}
	if err := tree.Write(changesFor(t, fsys)); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dst, "include/x-link.h"))
	checkResult(t, dst)
	c, _ := os.Stat(filepath.Join(dst, "mm/filemap.c"))
	if os.SameFile(a, c) {
		t.Error("written file still shares the source's inode")
	}
	if !c.ModTime().After(old) {
		t.Error("written file kept an old mtime; make would not rebuild it")
	}
	sameSnapshot(t, "source after write", before, snapshot(t, src))

	if err := tree.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dst); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("copy not removed: %v", err)
	}
	sameSnapshot(t, "source after remove", before, snapshot(t, src))
}

// TestCopyAcrossFilesystems: a source on tmpfs cannot be hardlinked into
// the temp dir's filesystem; files are copied with their mtimes.
func TestCopyAcrossFilesystems(t *testing.T) {
	var a, b syscall.Statfs_t
	tmp := t.TempDir()
	if syscall.Statfs("/dev/shm", &a) != nil || syscall.Statfs(tmp, &b) != nil || a.Type == b.Type {
		t.Skip("no second filesystem at /dev/shm")
	}
	src, err := os.MkdirTemp("/dev/shm", "ktest-worktree-test-")
	if err != nil {
		t.Skip(err)
	}
	t.Cleanup(func() { os.RemoveAll(src) })
	writeFiles(t, src, srcFiles)
	before := snapshot(t, src)
	tree, err := New(context.Background(), src, filepath.Join(tmp, "copy"))
	if err != nil {
		t.Fatal(err)
	}
	if tree.Copied != len(srcFiles) {
		t.Errorf("copied %d files, want %d", tree.Copied, len(srcFiles))
	}
	for p := range srcFiles {
		s, _ := os.Stat(filepath.Join(src, p))
		d, err := os.Stat(filepath.Join(tree.Dir, p))
		if err != nil || !d.ModTime().Equal(s.ModTime()) || d.Mode() != s.Mode() {
			t.Errorf("%s: copy %v %v, source %v %v", p, d.ModTime(), d.Mode(), s.ModTime(), s.Mode())
		}
	}
	fsys, _ := tree.FS()
	if err := tree.Write(changesFor(t, fsys)); err != nil {
		t.Fatal(err)
	}
	checkResult(t, tree.Dir)
	sameSnapshot(t, "source", before, snapshot(t, src))
}

// TestGitWorktree: a git repository gets a detached worktree of HEAD,
// registered in the repository until Remove.
func TestGitWorktree(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	src := t.TempDir()
	run(t, src, "git", "init", "-q")
	writeFiles(t, src, srcFiles)
	run(t, src, "git", "add", "-A")
	run(t, src, "git", "commit", "-q", "-m", "base")
	head := strings.TrimSpace(run(t, src, "git", "rev-parse", "HEAD"))
	before := snapshot(t, src)
	delete(before, ".git") // git's own bookkeeping changes; the work tree must not
	for p := range before {
		if strings.HasPrefix(p, ".git/") {
			delete(before, p)
		}
	}

	dst := filepath.Join(t.TempDir(), "wt")
	tree, err := New(context.Background(), src, dst)
	if err != nil {
		t.Fatal(err)
	}
	if !tree.Git || tree.Head != head {
		t.Fatalf("tree = %+v, want a git worktree at %s", tree, head)
	}
	if !strings.Contains(run(t, src, "git", "worktree", "list"), dst) {
		t.Error("worktree not registered")
	}
	fsys, _ := tree.FS()
	if err := tree.Write(changesFor(t, fsys)); err != nil {
		t.Fatal(err)
	}
	checkResult(t, dst)
	if st := run(t, src, "git", "status", "--porcelain"); st != "" {
		t.Errorf("source work tree dirty after writing the worktree:\n%s", st)
	}
	after := snapshot(t, src)
	for p := range after {
		if p == ".git" || strings.HasPrefix(p, ".git/") {
			delete(after, p)
		}
	}
	sameSnapshot(t, "source", before, after)

	if err := tree.Remove(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(run(t, src, "git", "worktree", "list"), dst) {
		t.Error("worktree still registered after Remove")
	}
	if _, err := os.Stat(dst); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("worktree dir left: %v", err)
	}
}

func TestNewRefuses(t *testing.T) {
	src := t.TempDir()
	writeFiles(t, src, srcFiles)
	for name, dst := range map[string]string{
		"existing destination": t.TempDir(),
		"inside the source":    filepath.Join(src, "sub"),
	} {
		if _, err := New(context.Background(), src, dst); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dst := filepath.Join(t.TempDir(), "c")
	if _, err := New(ctx, src, dst); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled New: %v", err)
	}
	if _, err := os.Stat(dst); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("cancelled New left %s", dst)
	}
	entries, _ := os.ReadDir(filepath.Dir(dst))
	if len(entries) != 0 {
		t.Errorf("cancelled New left temp dirs: %v", entries)
	}
}

// TestWriteInPlaceAllOrNothing: when one target cannot be written, at
// staging or half way through the renames, the tree is left exactly as
// it was: contents, mtimes, inodes, no temp files, no new directories.
func TestWriteInPlaceAllOrNothing(t *testing.T) {
	tests := []struct {
		name       string
		extra      map[string]string // tree additions that make a target unwritable
		changes    []*apply.Change
		failRename int      // make the n-th commit rename fail (1-based), 0 = none
		immutable  []string // chattr +i these (really unwritable, even for root)
	}{
		{
			name: "immutable target file",
			changes: []*apply.Change{
				{Path: "fs/doomed.c", Deleted: true},
				{Path: "mm/filemap.c", Content: []byte("changed\n"), Mode: 0o644},
				{Path: "new/dir/a.c", Content: []byte("new\n"), Mode: 0o644, Created: true},
				{Path: "scripts/check.sh", Content: []byte("changed\n"), Mode: 0o755},
			},
			immutable: []string{"scripts/check.sh"},
		},
		{
			name: "immutable target directory",
			changes: []*apply.Change{
				{Path: "Makefile", Content: []byte("changed\n"), Mode: 0o644},
				{Path: "mm/filemap.c", Content: []byte("changed\n"), Mode: 0o644},
				{Path: "scripts/new.sh", Content: []byte("new\n"), Mode: 0o755, Created: true},
			},
			immutable: []string{"scripts"},
		},
		{
			name:  "parent of a new file is a regular file",
			extra: map[string]string{"zblock": "i am a file\n"},
			changes: []*apply.Change{
				{Path: "mm/filemap.c", Content: []byte("changed\n"), Mode: 0o644},
				{Path: "fs/doomed.c", Deleted: true},
				{Path: "new/dir/a.c", Content: []byte("new\n"), Mode: 0o644, Created: true},
				{Path: "zblock/x.c", Content: []byte("x\n"), Mode: 0o644, Created: true},
			},
		},
		{
			name:  "target is a directory",
			extra: map[string]string{"zdir/inner": "x\n"},
			changes: []*apply.Change{
				{Path: "mm/filemap.c", Content: []byte("changed\n"), Mode: 0o644},
				{Path: "zdir", Content: []byte("x\n"), Mode: 0o644},
			},
		},
		{
			name: "rename fails half way",
			changes: []*apply.Change{
				{Path: "Makefile", Content: []byte("changed\n"), Mode: 0o755},
				{Path: "fs/doomed.c", Deleted: true},
				{Path: "mm/filemap.c", Content: []byte("changed\n"), Mode: 0o644},
				{Path: "new/dir/a.c", Content: []byte("new\n"), Mode: 0o644, Created: true},
				{Path: "scripts/check.sh", Content: []byte("changed\n"), Mode: 0o755},
			},
			failRename: 3,
		},
		{
			name: "invalid path",
			changes: []*apply.Change{
				{Path: "mm/filemap.c", Content: []byte("changed\n"), Mode: 0o644},
				{Path: "zz/../../escape.c", Content: []byte("x\n"), Mode: 0o644},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			writeFiles(t, root, srcFiles)
			writeFiles(t, root, tc.extra)
			for _, p := range tc.immutable {
				p = filepath.Join(root, p)
				if out, err := exec.Command("chattr", "+i", p).CombinedOutput(); err != nil {
					t.Skipf("chattr +i: %v: %s", err, out)
				}
				t.Cleanup(func() { exec.Command("chattr", "-i", p).Run() })
			}
			before := snapshot(t, root)
			if tc.failRename > 0 {
				n := 0
				orig := commitRename
				commitRename = func(r *os.Root, from, to string) error {
					if n++; n == tc.failRename {
						return &os.LinkError{Op: "rename", Old: from, New: to, Err: syscall.EIO}
					}
					return orig(r, from, to)
				}
				t.Cleanup(func() { commitRename = orig })
			}
			err := WriteInPlace(root, tc.changes)
			if err == nil {
				t.Fatal("WriteInPlace succeeded")
			}
			t.Logf("error: %v", err)
			if strings.Contains(err.Error(), "rollback incomplete") {
				t.Errorf("rollback failed: %v", err)
			}
			sameSnapshot(t, "tree", before, snapshot(t, root))
			if _, err := os.Stat(filepath.Join(filepath.Dir(root), "escape.c")); err == nil {
				t.Error("wrote outside the root")
			}
		})
	}
}

// TestWriteInPlace: the success path leaves no backups or temps, removes
// directories a deletion emptied, and gives new content fresh inodes.
func TestWriteInPlace(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, srcFiles)
	writeFiles(t, root, map[string]string{"lonely/only.c": "x\n"})
	linked := filepath.Join(t.TempDir(), "user-copy.c")
	if err := os.Link(filepath.Join(root, "mm/filemap.c"), linked); err != nil {
		t.Fatal(err)
	}
	changes := append(changesFor(t, os.DirFS(root)), &apply.Change{Path: "lonely/only.c", Deleted: true})
	if err := WriteInPlace(root, changes); err != nil {
		t.Fatal(err)
	}
	checkResult(t, root)
	if _, err := os.Stat(filepath.Join(root, "lonely")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("emptied directory kept: %v", err)
	}
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".ktest-") {
			t.Errorf("left behind %s", p)
		}
		return nil
	})
	if b, _ := os.ReadFile(linked); !bytes.Equal(b, []byte(srcFiles["mm/filemap.c"])) {
		t.Errorf("a hardlink to the old file was written through: %q", b)
	}
}
