package kbuild

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// miniTree writes the smallest directory OpenTree accepts as a kernel
// tree, plus an fs/ directory with a Makefile and one source file.
func miniTree(t *testing.T, dir string) {
	t.Helper()
	files := map[string]string{
		"Makefile":                 "VERSION = 6\nPATCHLEVEL = 1\nSUBLEVEL = 0\n",
		"Kconfig":                  "mainmenu \"mini\"\n",
		"arch/x86/Kconfig":         "config X86\n\tdef_bool y\n",
		"scripts/kconfig/Makefile": "# conf\n",
		"fs/Makefile":              "obj-y += open.o\n",
		"fs/open.c":                "int open_probe;\n",
	}
	for name, data := range files {
		writeFile(t, filepath.Join(dir, name), data)
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func runGit(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=ktest", "-c", "user.email=ktest@ktest.invalid",
		"-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false"}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

// gitMiniTree is a committed miniTree in which a maintainer has added
// an untracked fs/ktest_probe.c and referenced it from fs/Makefile.
func gitMiniTree(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	miniTree(t, dir)
	writeFile(t, filepath.Join(dir, ".gitignore"), "*.o\n")
	runGit(t, dir, "init", "-q")
	runGit(t, dir, "add", ".")
	runGit(t, dir, "commit", "-q", "-m", "mini")
	writeFile(t, filepath.Join(dir, "fs/Makefile"), "obj-y += open.o ktest_probe.o\n")
	writeFile(t, filepath.Join(dir, "fs/ktest_probe.c"), "int probe = 1;\n")
	return dir
}

func testCache(t *testing.T) *Cache {
	t.Helper()
	c, err := OpenCache(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func treeKey(t *testing.T, dir string) string {
	t.Helper()
	tr, err := OpenTree(context.Background(), testCache(t), dir)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Key == "" {
		t.Fatalf("OpenTree(%s) gave an empty key", dir)
	}
	return tr.Key
}

func TestGitKeyFollowsWorkingTree(t *testing.T) {
	for _, tc := range []struct {
		name    string
		edit    func(t *testing.T, dir string)
		changes bool
	}{
		{"nothing", func(t *testing.T, dir string) {}, false},
		// Same size: a key built from names or sizes would not see it.
		{"untracked content", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "fs/ktest_probe.c"), "int probe = 2;\n")
		}, true},
		{"untracked new file", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "fs/ktest_other.c"), "int other;\n")
		}, true},
		{"untracked made executable", func(t *testing.T, dir string) {
			if err := os.Chmod(filepath.Join(dir, "fs/ktest_probe.c"), 0o755); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"tracked content", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "fs/open.c"), "int open_probf;\n")
		}, true},
		// Ignored files are build output, not sources.
		{"ignored file", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "fs/open.o"), "object")
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := gitMiniTree(t)
			before := treeKey(t, dir)
			tc.edit(t, dir)
			after := treeKey(t, dir)
			if changed := before != after; changed != tc.changes {
				t.Errorf("key changed = %v, want %v (before %s, after %s)", changed, tc.changes, before, after)
			}
		})
	}
}

// A repository with no commit has no HEAD to key its changes against;
// before, the failure was dropped and every such tree got the empty key,
// so all of them shared one kernel.
func TestGitTreeWithoutCommitIsRejected(t *testing.T) {
	dir := t.TempDir()
	miniTree(t, dir)
	runGit(t, dir, "init", "-q")
	tr, err := OpenTree(context.Background(), testCache(t), dir)
	var nt *NotATreeError
	if !errors.As(err, &nt) || !strings.Contains(nt.Reason, "no commit") {
		t.Fatalf("OpenTree(git tree without a commit) = %+v, %v; want a NotATreeError saying it has no commit", tr, err)
	}
}
