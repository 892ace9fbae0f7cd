package kbuild

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

var longAgo = time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)

// plainMiniTree is a miniTree with an executable script and a symlink,
// at dir.
func plainMiniTree(t *testing.T, dir string) string {
	t.Helper()
	miniTree(t, dir)
	writeFile(t, filepath.Join(dir, "scripts/ld-version.sh"), "#!/bin/sh\necho 2.40\n")
	if err := os.Chmod(filepath.Join(dir, "scripts/ld-version.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../open.c", filepath.Join(dir, "fs/link.c")); err != nil {
		t.Fatal(err)
	}
	return dir
}

// makeWritable undoes a chmod a-w at the end of a test, so the temp dir
// can be removed by a user who is not root.
func makeWritable(t *testing.T, dir string) {
	t.Cleanup(func() { _ = exec.Command("chmod", "-R", "u+w", dir).Run() }) // so TempDir can remove it; best effort
}

func chmodTree(t *testing.T, dir, mode string) {
	t.Helper()
	makeWritable(t, dir)
	if out, err := exec.Command("chmod", "-R", mode, dir).CombinedOutput(); err != nil {
		t.Fatalf("chmod: %v: %s", err, out)
	}
}

func TestContentKeyFollowsContent(t *testing.T) {
	for _, tc := range []struct {
		name    string
		edit    func(t *testing.T, dir string)
		changes bool
	}{
		{"nothing", func(t *testing.T, dir string) {}, false},
		{"mtime", func(t *testing.T, dir string) {
			if err := os.Chtimes(filepath.Join(dir, "fs/open.c"), longAgo, longAgo); err != nil {
				t.Fatal(err)
			}
		}, false},
		// Write bits differ between the read-only default tree and a
		// user's copy of it; they build the same kernel.
		{"made read-only", func(t *testing.T, dir string) { chmodTree(t, dir, "a-w") }, false},
		// Same size and the old mtime: only the content says it changed.
		{"content, same size and mtime", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "fs/open.c")
			st, _ := os.Stat(p)
			writeFile(t, p, "int open_probf;\n")
			if err := os.Chtimes(p, st.ModTime(), st.ModTime()); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"new file", func(t *testing.T, dir string) { writeFile(t, filepath.Join(dir, "fs/new.c"), "") }, true},
		{"removed file", func(t *testing.T, dir string) { must(t, os.Remove(filepath.Join(dir, "fs/open.c"))) }, true},
		{"renamed file", func(t *testing.T, dir string) {
			if err := os.Rename(filepath.Join(dir, "fs/open.c"), filepath.Join(dir, "fs/opem.c")); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"made executable", func(t *testing.T, dir string) { must(t, os.Chmod(filepath.Join(dir, "fs/open.c"), 0o755)) }, true},
		{"script no longer executable", func(t *testing.T, dir string) {
			if err := os.Chmod(filepath.Join(dir, "scripts/ld-version.sh"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"symlink target", func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, "fs/link.c")); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("../opem.c", filepath.Join(dir, "fs/link.c")); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"new empty directory", func(t *testing.T, dir string) { must(t, os.Mkdir(filepath.Join(dir, "fs/new"), 0o755)) }, true},
		{"file replaced by a directory", func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, "fs/open.c")); err != nil {
				t.Fatal(err)
			}
			if err := os.Mkdir(filepath.Join(dir, "fs/open.c"), 0o755); err != nil {
				t.Fatal(err)
			}
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := testCache(t)
			dir := plainMiniTree(t, t.TempDir())
			key := func() string {
				tr, err := OpenTree(context.Background(), c, dir)
				if err != nil {
					t.Fatal(err)
				}
				if tr.Kind != "plain" || tr.Key == "" {
					t.Fatalf("OpenTree = kind %q key %q, want a keyed plain tree", tr.Kind, tr.Key)
				}
				return tr.Key
			}
			before := key()
			tc.edit(t, dir)
			after := key()
			if changed := before != after; changed != tc.changes {
				t.Errorf("key changed = %v, want %v (before %s, after %s)", changed, tc.changes, before, after)
			}
		})
	}
}

// The same sources share one key wherever they lie: the default tree
// (a tarball extracted into the cache, read-only), and copies of it
// given as --tree, with other mtimes and permissions.
func TestIdenticalTreesShareKey(t *testing.T) {
	ctx := context.Background()
	c := testCache(t)
	makeWritable(t, c.Dir) // TarballTree leaves the extracted tree read-only
	base := t.TempDir()
	orig := plainMiniTree(t, filepath.Join(base, "linux-source-6.1"))
	tarball := filepath.Join(t.TempDir(), "linux-source-6.1.tar")
	if out, err := exec.Command("tar", "-C", base, "-cf", tarball, "linux-source-6.1").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v: %s", err, out)
	}
	elsewhere := filepath.Join(t.TempDir(), "copy")
	if out, err := exec.Command("cp", "-a", orig, elsewhere).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v: %s", err, out)
	}
	// Other mtimes than the original's (a symlink's own cannot be set:
	// Chtimes follows it).
	must(t, filepath.Walk(elsewhere, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.Mode()&os.ModeSymlink != 0 {
			return err
		}
		return os.Chtimes(p, longAgo, longAgo)
	}))
	chmodTree(t, elsewhere, "go-rwx")

	tarTree, err := TarballTree(ctx, c, tarball, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	// Hashed once at extraction, for good: the next key reads no file.
	if s, err := scanContent(ctx, c, tarTree.Dir, time.Now()); err != nil || s.hashed != 0 || s.key != tarTree.Key {
		t.Errorf("key of the extracted tree after TarballTree: %+v, %v; want %s with no file read", s, err, tarTree.Key)
	}
	trees := []*Tree{tarTree}
	for _, dir := range []string{orig, elsewhere} {
		tr, err := OpenTree(ctx, c, dir)
		if err != nil {
			t.Fatal(err)
		}
		trees = append(trees, tr)
	}
	for i, want := range []string{"tarball", "plain", "plain"} {
		if trees[i].Kind != want || trees[i].Key != trees[0].Key {
			t.Errorf("%s: kind %q key %q; want kind %q and the tarball tree's key %q", trees[i].Dir, trees[i].Kind, trees[i].Key, want, trees[0].Key)
		}
	}
}

// rewriteUntilCtimeMoves rewrites p with data, keeping its mtime, until
// its ctime differs from before: timestamps move in ticks, and the test
// needs the stamp to have moved (the racy window covers the other case).
func rewriteUntilCtimeMoves(t *testing.T, p, data string) {
	t.Helper()
	ctime := func() int64 {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return st.Sys().(*syscall.Stat_t).Ctim.Nano()
	}
	old := ctime()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		writeFile(t, p, data)
		if err := os.Chtimes(p, longAgo, longAgo); err != nil {
			t.Fatal(err)
		}
		if ctime() != old {
			return
		}
	}
	t.Fatalf("the ctime of %s never moved", p)
}

// The index makes a key of an unchanged tree cost a walk: only files
// whose stamp changed are read again.
func TestContentIndex(t *testing.T) {
	ctx := context.Background()
	c := testCache(t)
	dir := plainMiniTree(t, t.TempDir())
	if err := os.Chtimes(filepath.Join(dir, "fs/open.c"), longAgo, longAgo); err != nil {
		t.Fatal(err)
	}
	// A scan that pretends to run later than now: every file is then old
	// enough to be remembered (see racyWindow).
	later := time.Now().Add(time.Hour)
	const all = -1
	steps := []struct {
		name       string
		edit       func()
		start      time.Time
		wantHashed int
		sameKey    bool // as the step before
	}{
		{"cold", func() {}, later, all, false},
		{"warm", func() {}, later, 0, true},
		{"one file grew", func() { writeFile(t, filepath.Join(dir, "fs/new.c"), "int x;\n") }, later, 1, false},
		{"one file rewritten in place, same size and mtime", func() {
			rewriteUntilCtimeMoves(t, filepath.Join(dir, "fs/open.c"), "int open_probf;\n")
		}, later, 1, false},
		{"warm again", func() {}, later, 0, true},
		{"corrupt index", func() { writeFile(t, c.treeIndexPath(dir), "garbage") }, later, all, true},
		{"moved tree", func() {
			moved := dir + "-moved"
			if err := os.Rename(dir, moved); err != nil {
				t.Fatal(err)
			}
			dir = moved
		}, later, all, true},
		// Files changed within racyWindow of a scan may change again
		// unseen within one timestamp tick: they are not remembered.
		{"index lost, files recent", func() { must(t, os.Remove(c.treeIndexPath(dir))) }, time.Now(), all, true},
		{"recent files are read again", func() {}, time.Now(), all, true},
	}
	prev := ""
	for _, s := range steps {
		s.edit()
		got, err := scanContent(ctx, c, dir, s.start)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		want := s.wantHashed
		if want == all {
			want = got.files
		}
		if got.hashed != want {
			t.Errorf("%s: hashed %d of %d files, want %d", s.name, got.hashed, got.files, want)
		}
		if prev != "" && (got.key == prev) != s.sameKey {
			t.Errorf("%s: key %s after %s, want same = %v", s.name, got.key, prev, s.sameKey)
		}
		prev = got.key
	}
}

func TestGCPrunesIndexesOfGoneTrees(t *testing.T) {
	ctx := context.Background()
	for _, dryRun := range []bool{false, true} {
		c := testCache(t)
		kept := plainMiniTree(t, t.TempDir())
		gone := plainMiniTree(t, t.TempDir())
		for _, dir := range []string{kept, gone} {
			if _, err := contentKey(ctx, c, dir); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.RemoveAll(gone); err != nil {
			t.Fatal(err)
		}
		rep, err := c.GC(GCOptions{DryRun: dryRun}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		_, keptErr := os.Stat(c.treeIndexPath(kept))
		_, goneErr := os.Stat(c.treeIndexPath(gone))
		if rep.TreeIndexes != 1 || keptErr != nil || (goneErr == nil) == !dryRun {
			t.Errorf("dry run %v: reported %d tree indexes; kept tree's index: %v; gone tree's index: %v",
				dryRun, rep.TreeIndexes, keptErr, goneErr)
		}
	}
}

// Request and build keys of identical trees are equal, so one's kernel
// is a cache hit for the other; their slots differ, because a slot's
// sources are hardlinks into its own tree.
func TestIdenticalTreesShareKernelsNotSlots(t *testing.T) {
	c := testCache(t)
	in := &inputs{compiler: "gcc (Debian 12.2.0-14) 12.2.0"}
	a := &Tree{Dir: "/src/a", Key: "content-0123", Kind: "plain"}
	b := &Tree{Dir: "/tmp/b", Key: "content-0123", Kind: "tarball"}
	cfg := []byte("CONFIG_X86=y\n")
	if in.requestKey(a) != in.requestKey(b) || buildKey(a, in, cfg) != buildKey(b, in, cfg) {
		t.Errorf("identical trees: request keys %s, %s; build keys %s, %s; want each pair equal",
			in.requestKey(a), in.requestKey(b), buildKey(a, in, cfg), buildKey(b, in, cfg))
	}
	if c.slot(a, in).dir == c.slot(b, in).dir {
		t.Errorf("identical trees at %s and %s share the slot %s", a.Dir, b.Dir, c.slot(a, in).dir)
	}
}

// must fails the test on a setup step's error.
func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
