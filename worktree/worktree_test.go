package worktree

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
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
	// The callback skips what it cannot read; a missing file shows in the comparison.
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
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

// TestCopySharesNothingWritable: every file of a plain copy is its own
// inode, so editing the copy in place, the way an editor or `>>` does,
// never reaches the source: not an untouched file, a patched one, an
// executable or a file in a subdirectory, by append or truncate-write.
// The source here is read-only like ktest's cached default tree, and the
// copy must still be writable.
func TestCopySharesNothingWritable(t *testing.T) {
	src := t.TempDir()
	writeFiles(t, src, srcFiles)
	if err := os.Chmod(filepath.Join(src, "scripts/check.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("linux/x.h", filepath.Join(src, "include/x-link.h")); err != nil {
		t.Fatal(err)
	}
	// Old mtimes, so a rewrite in place could not hide within the same second.
	old := time.Now().Add(-48 * time.Hour).Truncate(time.Second)
	readOnly(t, src, old)
	before := snapshot(t, src)

	dst := filepath.Join(t.TempDir(), "out", "copy")
	tree, err := New(context.Background(), src, dst)
	if err != nil {
		t.Fatal(err)
	}
	if tree.Git || tree.Copy.Files != len(srcFiles) {
		t.Fatalf("tree = %+v, want a plain copy of %d files", tree, len(srcFiles))
	}
	for p := range srcFiles {
		s, _ := os.Stat(filepath.Join(src, p))
		d, err := os.Stat(filepath.Join(dst, p))
		if err != nil {
			t.Fatal(err)
		}
		if os.SameFile(s, d) {
			t.Errorf("%s: the copy shares the source's inode", p)
		}
		if !d.ModTime().Equal(s.ModTime()) || d.Mode() != s.Mode()|0o200 {
			t.Errorf("%s: copy %v %v, source %v %v (want the source's mtime and mode plus u+w)",
				p, d.ModTime(), d.Mode(), s.ModTime(), s.Mode())
		}
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
	if err := os.Remove(filepath.Join(dst, "include/x-link.h")); err != nil {
		t.Fatal(err)
	}
	checkResult(t, dst)
	if c, _ := os.Stat(filepath.Join(dst, "mm/filemap.c")); !c.ModTime().After(old) {
		t.Error("written file kept an old mtime; make would not rebuild it")
	}
	sameSnapshot(t, "source after write", before, snapshot(t, src))

	for _, tc := range []struct {
		name, path string
		flag       int
	}{
		{"untouched file, append", "Makefile", os.O_APPEND},
		{"untouched file, truncate-write", "Makefile", os.O_TRUNC},
		{"patched file, append", "mm/filemap.c", os.O_APPEND},
		{"patched file, truncate-write", "mm/filemap.c", os.O_TRUNC},
		{"executable, append", "scripts/check.sh", os.O_APPEND},
		{"executable, truncate-write", "scripts/check.sh", os.O_TRUNC},
		{"file in a subdirectory, append", "include/linux/x.h", os.O_APPEND},
		{"file in a subdirectory, truncate-write", "include/linux/x.h", os.O_TRUNC},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := os.OpenFile(filepath.Join(dst, tc.path), os.O_WRONLY|tc.flag, 0)
			if err != nil {
				t.Fatalf("the copy is not writable: %v", err)
			}
			if _, err := f.WriteString("edited in the copy\n"); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			b, _ := os.ReadFile(filepath.Join(dst, tc.path))
			if !strings.HasSuffix(string(b), "edited in the copy\n") {
				t.Fatalf("edit did not land in the copy: %q", b)
			}
			sameSnapshot(t, "source after editing the copy", before, snapshot(t, src))
		})
	}

	if err := tree.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dst); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("copy not removed: %v", err)
	}
	sameSnapshot(t, "source after remove", before, snapshot(t, src))
}

// readOnly makes every file and directory below dir read-only with mtime
// old, as kbuild leaves its extracted trees.
func readOnly(t *testing.T, dir string, old time.Time) {
	t.Helper()
	var dirs []string
	// The callback skips what it cannot read; a missing file shows in the comparison.
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
		case d.IsDir():
			dirs = append(dirs, p)
		case d.Type().IsRegular():
			fi, _ := d.Info()
			if err := os.Chmod(p, fi.Mode().Perm()&^0o222); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(p, old, old); err != nil {
				t.Fatal(err)
			}
		}
		return nil
	})
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := os.Chmod(dirs[i], 0o555); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, d := range dirs {
			if err := os.Chmod(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// TestCloneFallback: on a filesystem without reflinks the first failed
// FICLONE switches to plain copies for the rest of the tree, and a clone
// that works is counted.
func TestCloneFallback(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantCalls  int // FICLONE attempts for len(srcFiles) files
		wantCloned int
	}{
		{"unsupported: tried once", syscall.EOPNOTSUPP, 1, 0},
		{"another filesystem: tried once", syscall.EXDEV, 1, 0},
		{"supported", nil, len(srcFiles), len(srcFiles)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := t.TempDir()
			writeFiles(t, src, srcFiles)
			var calls atomic.Int32
			orig := clone
			clone = func(dst, src *os.File) error {
				calls.Add(1)
				if tc.err != nil {
					return tc.err
				}
				_, err := io.Copy(dst, src) // stands in for shared blocks
				return err
			}
			t.Cleanup(func() { clone = orig })
			tree, err := New(context.Background(), src, filepath.Join(t.TempDir(), "copy"))
			if err != nil {
				t.Fatal(err)
			}
			if int(calls.Load()) != tc.wantCalls || tree.Copy.Cloned != tc.wantCloned || tree.Copy.Files != len(srcFiles) {
				t.Errorf("%d FICLONE calls, stats %+v; want %d calls, %d cloned of %d",
					calls.Load(), tree.Copy, tc.wantCalls, tc.wantCloned, len(srcFiles))
			}
			checkContents(t, tree.Dir, srcFiles)
		})
	}
}

func checkContents(t *testing.T, dir string, want map[string]string) {
	t.Helper()
	for p, w := range want {
		if b, err := os.ReadFile(filepath.Join(dir, p)); err != nil || string(b) != w {
			t.Errorf("%s = %q (%v), want %q", p, b, err, w)
		}
	}
}

// TestCopyAcrossFilesystems: a source on tmpfs is copied into the temp
// dir's filesystem with its mtimes.
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
	t.Cleanup(func() { _ = os.RemoveAll(src) }) // test cleanup: best effort
	writeFiles(t, src, srcFiles)
	before := snapshot(t, src)
	tree, err := New(context.Background(), src, filepath.Join(tmp, "copy"))
	if err != nil {
		t.Fatal(err)
	}
	if tree.Copy.Files != len(srcFiles) || tree.Copy.Cloned != 0 {
		t.Errorf("copy %+v, want %d files, none cloned", tree.Copy, len(srcFiles))
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
	for _, tc := range []struct {
		name, dst string
		want      error
	}{
		{"existing destination", t.TempDir(), ErrExists},
		{"inside the source", filepath.Join(src, "sub"), ErrInsideSource},
	} {
		if _, err := New(context.Background(), src, tc.dst); !errors.Is(err, tc.want) {
			t.Errorf("%s: New = %v, want %v", tc.name, err, tc.want)
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
				t.Cleanup(func() { _ = exec.Command("chattr", "-i", p).Run() }) // so TempDir can remove it; best effort
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
	// The callback skips what it cannot read; a missing file shows in the comparison.
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".ktest-") {
			t.Errorf("left behind %s", p)
		}
		return nil
	})
	if b, _ := os.ReadFile(linked); !bytes.Equal(b, []byte(srcFiles["mm/filemap.c"])) {
		t.Errorf("a hardlink to the old file was written through: %q", b)
	}
}
