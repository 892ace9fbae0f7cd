package kbuild

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestSwitchSources checks the rule incremental variants depend on: only
// files whose content changes are rewritten, and every rewritten file,
// including one restored to the tree's content, gets a fresh mtime.
func TestSwitchSources(t *testing.T) {
	tree := t.TempDir()
	files := map[string]string{"fs/ext4/file.c": "ext4 v1\n", "fs/xfs/xfs_file.c": "xfs v1\n", "mm/filemap.c": "filemap\n"}
	old := time.Date(2020, 5, 23, 0, 0, 0, 0, time.UTC)
	for p, s := range files {
		full := filepath.Join(tree, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(s), 0o444); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(full, old, old); err != nil {
			t.Fatal(err)
		}
	}
	s := &slot{dir: t.TempDir()}
	s.src = filepath.Join(s.dir, "src")
	if err := copyDir(tree, s.src); err != nil {
		t.Fatal(err)
	}
	mtime := func(p string) time.Time {
		st, err := os.Stat(filepath.Join(s.src, p))
		if err != nil {
			return time.Time{}
		}
		return st.ModTime()
	}
	content := func(p string) string {
		b, err := os.ReadFile(filepath.Join(s.src, p))
		if err != nil {
			return "<absent>"
		}
		return string(b)
	}

	steps := []struct {
		name      string
		overlay   map[string][]byte
		want      map[string]string
		rewritten []string // files that must get a new mtime in this step
		untouched []string
	}{
		{
			name:      "variant A patches ext4 and adds a file",
			overlay:   map[string][]byte{"fs/ext4/file.c": []byte("ext4 v2\n"), "fs/new.c": []byte("new\n")},
			want:      map[string]string{"fs/ext4/file.c": "ext4 v2\n", "fs/new.c": "new\n", "fs/xfs/xfs_file.c": "xfs v1\n"},
			rewritten: []string{"fs/ext4/file.c", "fs/new.c"},
			untouched: []string{"fs/xfs/xfs_file.c", "mm/filemap.c"},
		},
		{
			name:      "same variant again touches nothing",
			overlay:   map[string][]byte{"fs/ext4/file.c": []byte("ext4 v2\n"), "fs/new.c": []byte("new\n")},
			want:      map[string]string{"fs/ext4/file.c": "ext4 v2\n"},
			untouched: []string{"fs/ext4/file.c", "fs/new.c", "fs/xfs/xfs_file.c"},
		},
		{
			name:      "variant B restores ext4 with a new mtime, removes the added file, deletes filemap",
			overlay:   map[string][]byte{"fs/xfs/xfs_file.c": []byte("xfs v2\n"), "mm/filemap.c": nil},
			want:      map[string]string{"fs/ext4/file.c": "ext4 v1\n", "fs/new.c": "<absent>", "fs/xfs/xfs_file.c": "xfs v2\n", "mm/filemap.c": "<absent>"},
			rewritten: []string{"fs/ext4/file.c", "fs/xfs/xfs_file.c"},
		},
		{
			name:      "back to the tree itself",
			overlay:   nil,
			want:      map[string]string{"fs/ext4/file.c": "ext4 v1\n", "fs/xfs/xfs_file.c": "xfs v1\n", "mm/filemap.c": "filemap\n", "fs/new.c": "<absent>"},
			rewritten: []string{"fs/xfs/xfs_file.c", "mm/filemap.c"},
			untouched: []string{"fs/ext4/file.c"},
		},
	}
	for _, st := range steps {
		before := map[string]time.Time{}
		for p := range files {
			before[p] = mtime(p)
		}
		before["fs/new.c"] = mtime("fs/new.c")
		time.Sleep(10 * time.Millisecond)
		if err := switchSources(tree, s, st.overlay); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		for p, want := range st.want {
			if got := content(p); got != want {
				t.Errorf("%s: %s = %q, want %q", st.name, p, got, want)
			}
		}
		for _, p := range st.rewritten {
			if !mtime(p).After(before[p]) || !mtime(p).After(old) {
				t.Errorf("%s: %s was not given a fresh mtime", st.name, p)
			}
		}
		for _, p := range st.untouched {
			if !mtime(p).Equal(before[p]) {
				t.Errorf("%s: %s was touched", st.name, p)
			}
		}
	}
	// The tree itself is never modified.
	for p, want := range files {
		if b, _ := os.ReadFile(filepath.Join(tree, p)); string(b) != want {
			t.Errorf("tree file %s changed to %q", p, b)
		}
	}
}

func TestSwitchSourcesRejectsEscapingPaths(t *testing.T) {
	s := &slot{dir: t.TempDir()}
	s.src = filepath.Join(s.dir, "src")
	if err := os.MkdirAll(s.src, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"../x", "/etc/passwd", "a/../../x"} {
		if err := switchSources(t.TempDir(), s, map[string][]byte{p: []byte("x")}); err == nil {
			t.Errorf("overlay path %q accepted", p)
		}
	}
}

func copyDir(src, dst string) error {
	return filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		// Hardlink, as the real slot does: the test proves the tree's
		// inode is never written through.
		return os.Link(p, target)
	})
}
