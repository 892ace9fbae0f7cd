package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ktest-dev/ktest/apply"
	"github.com/ktest-dev/ktest/internal/cachedir"
)

// applyCmd runs `ktest apply args...` in process and returns the exit
// code and output.
func applyCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	ctx := context.Background()
	err := runApply(ctx, env{Stdout: &out, Stderr: &errb}, args)
	if err != nil && !errors.Is(err, errHelp) {
		errb.WriteString("ktest apply: " + err.Error() + "\n")
	}
	return exitCode(ctx, err), out.String(), errb.String()
}

func applyGit(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=A U Thor", "GIT_AUTHOR_EMAIL=a@example.org", "GIT_COMMITTER_NAME=A U Thor", "GIT_COMMITTER_EMAIL=a@example.org")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func applyWrite(t *testing.T, dir string, files map[string]string) {
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

// kernelSkeleton is the least a directory needs to pass for a kernel
// source tree (kbuild.OpenTree).
var kernelSkeleton = map[string]string{
	"Makefile":                 "VERSION = 6\nPATCHLEVEL = 1\nSUBLEVEL = 0\n",
	"Kconfig":                  "mainmenu \"Linux\"\n",
	"arch/x86/Kconfig":         "config X86\n\tdef_bool y\n",
	"scripts/kconfig/Makefile": "# kconfig\n",
}

// applyFixture makes a base tree (plain directory, no .git) and a
// two-patch `git format-patch --stdout` mbox against it, and returns the
// tree, the mbox and the files as they are after the series.
func applyFixture(t *testing.T) (tree, mbox string, after map[string]string) {
	var lines []string
	for i := range 60 {
		lines = append(lines, "\tstep("+strings.Repeat("x", i%5)+string(rune('a'+i%26))+");\n")
	}
	base := map[string]string{
		"mm/filemap.c":       "int filemap(void)\n{\n" + strings.Join(lines, "") + "}\n",
		"include/linux/fs.h": "#define FMODE_A 1\n#define FMODE_B 2\n#define FMODE_C 4\n",
		"fs/old.c":           "old file\n",
	}
	maps.Copy(base, kernelSkeleton)
	repo := t.TempDir()
	applyGit(t, repo, "init", "-q")
	applyWrite(t, repo, base)
	applyGit(t, repo, "add", "-A")
	applyGit(t, repo, "commit", "-q", "-m", "base")

	after = map[string]string{
		"mm/filemap.c":       strings.Replace(base["mm/filemap.c"], lines[30], "\tstep_async();\n", 1),
		"include/linux/fs.h": base["include/linux/fs.h"] + "#define FMODE_BUF_RASYNC 8\n",
		"fs/old.c":           base["fs/old.c"],
	}
	applyWrite(t, repo, map[string]string{"mm/filemap.c": after["mm/filemap.c"]})
	applyGit(t, repo, "commit", "-q", "-am", "mm: support async buffered reads")
	applyWrite(t, repo, map[string]string{"include/linux/fs.h": after["include/linux/fs.h"]})
	applyGit(t, repo, "rm", "-q", "fs/old.c")
	applyWrite(t, repo, map[string]string{"fs/new.c": "new file\n"})
	applyGit(t, repo, "add", "-A")
	applyGit(t, repo, "commit", "-q", "-m", "fs: add FMODE_BUF_RASYNC")
	delete(after, "fs/old.c")
	after["fs/new.c"] = "new file\n"
	maps.Copy(after, kernelSkeleton)

	mbox = filepath.Join(t.TempDir(), "series.mbox")
	if err := os.WriteFile(mbox, []byte(applyGit(t, repo, "format-patch", "--stdout", "HEAD~2")), 0o644); err != nil {
		t.Fatal(err)
	}
	tree = t.TempDir()
	applyWrite(t, tree, base)
	return tree, mbox, after
}

func applyTreeFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	// The callback skips what it cannot read; a missing file shows in the comparison.
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			b, _ := os.ReadFile(p)
			rel, _ := filepath.Rel(dir, p)
			out[rel] = string(b)
		}
		return nil
	})
	return out
}

// unwrap joins the lines text output was wrapped into.
func unwrap(s string) string { return strings.Join(strings.Fields(s), " ") }

func sameFiles(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestApplyCLI(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	tree, mbox, after := applyFixture(t)
	before := applyTreeFiles(t, tree)

	t.Run("dry run", func(t *testing.T) {
		code, out, errs := applyCmd(t, "--tree", tree, mbox)
		if code != ExitOK {
			t.Fatalf("exit %d\n%s%s", code, out, errs)
		}
		for _, want := range []string{"1/2 mm: support async", "mm/filemap.c", "exact",
			"fs/new.c (create)", "fs/old.c (delete)", "dry run: nothing written", "would change include/linux/fs.h"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
		if !sameFiles(before, applyTreeFiles(t, tree)) {
			t.Error("dry run changed the tree")
		}
	})

	t.Run("out", func(t *testing.T) {
		dst := filepath.Join(t.TempDir(), "patched")
		code, out, errs := applyCmd(t, mbox, "--tree", tree, "--out", dst) // flags after SERIES too
		if code != ExitOK {
			t.Fatalf("exit %d\n%s%s", code, out, errs)
		}
		if got := applyTreeFiles(t, dst); !sameFiles(got, after) {
			t.Errorf("--out tree = %v, want %v", got, after)
		}
		if !sameFiles(before, applyTreeFiles(t, tree)) {
			t.Error("--out changed the source tree")
		}
		if !strings.Contains(unwrap(out), "wrote 4 files into "+dst+", a copy of "+tree) {
			t.Errorf("output does not say how the copy was made:\n%s", out)
		}
	})

	t.Run("out from a git tree", func(t *testing.T) {
		repo := t.TempDir()
		applyWrite(t, repo, before)
		applyGit(t, repo, "init", "-q")
		applyGit(t, repo, "add", "-A")
		applyGit(t, repo, "commit", "-q", "-m", "base")
		dst := filepath.Join(t.TempDir(), "wt")
		code, out, errs := applyCmd(t, "--tree", repo, "--out", dst, mbox)
		if code != ExitOK || !strings.Contains(unwrap(out), "git worktree of") {
			t.Fatalf("exit %d\n%s%s", code, out, errs)
		}
		got := applyTreeFiles(t, dst)
		delete(got, ".git") // the worktree's link file
		if !sameFiles(got, after) {
			t.Errorf("worktree = %v", got)
		}
		if st := applyGit(t, repo, "status", "--porcelain"); st != "" {
			t.Errorf("repository work tree changed:\n%s", st)
		}
	})

	t.Run("json", func(t *testing.T) {
		code, out, _ := applyCmd(t, "--json", "--tree", tree, mbox)
		if code != ExitOK {
			t.Fatalf("exit %d", code)
		}
		var doc apply.Report
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("json: %v\n%s", err, out)
		}
		if doc.Schema != "ktest.apply/v1" || !doc.OK || doc.Counts["exact"] != 4 || len(doc.Patches) != 2 ||
			doc.Patches[0].ID != "1/2" || doc.Patches[0].Line == 0 || len(doc.Changes) != 4 || doc.Written.Mode != "dry-run" {
			t.Errorf("unexpected document: %+v", doc)
		}
	})

	t.Run("in place then reverse", func(t *testing.T) {
		work := t.TempDir()
		applyWrite(t, work, before)
		if code, out, errs := applyCmd(t, "--tree", work, "--in-place", mbox); code != ExitOK {
			t.Fatalf("exit %d\n%s%s", code, out, errs)
		}
		if got := applyTreeFiles(t, work); !sameFiles(got, after) {
			t.Fatalf("in place: %v", got)
		}
		code, out, _ := applyCmd(t, "--tree", work, mbox)
		if code != ExitOK || !strings.Contains(out, "already-applied") || !strings.Contains(out, "everything was already applied") ||
			!strings.Contains(unwrap(out), "in tree: all 2 patches: every hunk is already in the tree") {
			t.Errorf("re-apply: exit %d\n%s", code, out)
		}
		if code, out, errs := applyCmd(t, "--tree", work, "--in-place", "--reverse", mbox); code != ExitOK {
			t.Fatalf("reverse: exit %d\n%s%s", code, out, errs)
		}
		if got := applyTreeFiles(t, work); !sameFiles(got, before) {
			t.Errorf("reverse did not restore the tree: %v", got)
		}
	})

	t.Run("conflict writes nothing", func(t *testing.T) {
		work := t.TempDir()
		applyWrite(t, work, before)
		applyWrite(t, work, map[string]string{"mm/filemap.c": strings.Replace(before["mm/filemap.c"], "step(a);", "local_change();", 1) +
			"", "include/linux/fs.h": "#define FMODE_A 1\n#define FMODE_B 20\n#define FMODE_C 4\n"})
		mine := applyTreeFiles(t, work)
		dst := filepath.Join(t.TempDir(), "out")
		code, out, errs := applyCmd(t, "--tree", work, "--out", dst, "--fuzz", "0", mbox)
		if code != ExitTestsFailed {
			t.Fatalf("exit %d, want %d (a conflict is a finding, as with git apply)\n%s%s", code, ExitTestsFailed, out, errs)
		}
		for _, want := range []string{"conflict", "- #define FMODE_B 2", "+ #define FMODE_B 20", "nothing written"} {
			if !strings.Contains(out+errs, want) {
				t.Errorf("output lacks %q:\n%s%s", want, out, errs)
			}
		}
		if !sameFiles(mine, applyTreeFiles(t, work)) {
			t.Error("conflicting series changed the tree")
		}
		if _, err := os.Stat(dst); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("--out copy left behind after a conflict: %v", err)
		}
	})

	t.Run("existing --out is bad input", func(t *testing.T) {
		dst := t.TempDir()
		if err := os.WriteFile(filepath.Join(dst, "mine.txt"), []byte("keep\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		code, out, errs := applyCmd(t, "--tree", tree, "--out", dst, mbox)
		if code != ExitUsage || !strings.Contains(errs, "--out: worktree: "+dst+" already exists") {
			t.Errorf("exit %d, want 2 naming %s\n%s%s", code, dst, out, errs)
		}
		if got := applyTreeFiles(t, dst); !sameFiles(got, map[string]string{"mine.txt": "keep\n"}) {
			t.Errorf("existing --out directory changed: %v", got)
		}
	})

	t.Run("not a kernel tree is bad input", func(t *testing.T) {
		plain := t.TempDir()
		applyWrite(t, plain, map[string]string{"notes.txt": "not a kernel\n"})
		code, out, errs := applyCmd(t, "--tree", plain, mbox)
		if code != ExitUsage || !strings.Contains(errs, plain+" is not a kernel source tree: missing Kconfig") || out != "" {
			t.Errorf("exit %d, want 2 and kbuild's not-a-tree message, no report\nstdout:\n%s\nstderr:\n%s", code, out, errs)
		}
	})

	// A missing file is a conflict of the whole file, a changed line one
	// of a hunk: the header claims nothing, and the summary, the JSON and
	// the exit message give the same count.
	t.Run("one count of conflicts", func(t *testing.T) {
		work := t.TempDir()
		applyWrite(t, work, before)
		applyWrite(t, work, map[string]string{"mm/filemap.c": strings.Replace(before["mm/filemap.c"], "step(xf);", "changed();", 1)})
		if err := os.Remove(filepath.Join(work, "include/linux/fs.h")); err != nil {
			t.Fatal(err)
		}
		code, out, errs := applyCmd(t, "--tree", work, "--fuzz", "0", mbox)
		if code != ExitTestsFailed {
			t.Fatalf("exit %d, want 1\n%s%s", code, out, errs)
		}
		for _, want := range []string{"patches:   2 (in order; fuzz up to 0)", "1 conflict\n",
			"conflicts: 2 (1 hunk, 1 whole file)", "include/linux/fs.h: file does not exist"} {
			if !strings.Contains(out, want) {
				t.Errorf("stdout lacks %q:\n%s", want, out)
			}
		}
		if strings.Contains(out, "applied:") {
			t.Errorf("the header claims the series applied:\n%s", out)
		}
		if !strings.Contains(errs, "series does not apply: 2 conflicts (1 hunk, 1 whole file); nothing written") {
			t.Errorf("exit message disagrees with the summary: %s", errs)
		}
		_, js, _ := applyCmd(t, "--tree", work, "--fuzz", "0", "--json", mbox)
		var doc apply.Report
		if err := json.Unmarshal([]byte(js), &doc); err != nil || doc.Conflicts != 2 || doc.FileConflicts != 1 || doc.Counts["conflict"] != 1 {
			t.Errorf("json: conflicts %d, file_conflicts %d, counts %v (%v)", doc.Conflicts, doc.FileConflicts, doc.Counts, err)
		}
	})

	t.Run("unsafe path is bad input", func(t *testing.T) {
		evil := filepath.Join(t.TempDir(), "evil.patch")
		if err := os.WriteFile(evil, []byte("From: x <x@y>\nSubject: [PATCH] evil\n\n---\n"+
			"diff --git a/../outside.c b/../outside.c\nnew file mode 100644\n--- /dev/null\n+++ b/../outside.c\n@@ -0,0 +1 @@\n+pwned\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		code, out, errs := applyCmd(t, "--tree", tree, "--in-place", evil)
		if code != ExitUsage || !strings.Contains(out+errs, "unsafe path") {
			t.Errorf("exit %d\n%s%s", code, out, errs)
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(tree), "outside.c")); err == nil {
			t.Error("wrote outside the tree")
		}
	})

	t.Run("usage", func(t *testing.T) {
		for _, args := range [][]string{
			{"--tree", tree},
			{"--tree", tree, "--out", "x", "--in-place", mbox},
			{"--in-place", mbox},
			{"--tree", tree, "--fuzz", "-1", mbox},
			{"--tree", filepath.Join(tree, "missing"), mbox},
			{"--tree", tree, filepath.Join(tree, "no-such-series")},
		} {
			if code, _, errs := applyCmd(t, args...); code != ExitUsage {
				t.Errorf("%v: exit %d, want 2 (%s)", args, code, errs)
			}
		}
		if code, _, _ := applyCmd(t, "-h"); code != ExitOK {
			t.Errorf("-h: exit %d", code)
		}
	})
}

// TestApplySeeds runs the real seeds: damaged ones are bad input, the
// 2013 direct-io patch conflicts with the 6.1 tree.
func TestApplySeeds(t *testing.T) {
	const seeds = "../../testdata/seeds"
	for _, name := range []string{"001_5aaa197b04898676.txt", "004_aa8cfb1f7e71eca1.txt"} {
		code, _, errs := applyCmd(t, "--tree", t.TempDir(), filepath.Join(seeds, name))
		if code != ExitUsage {
			t.Errorf("%s: exit %d, want 2: %s", name, code, errs)
		}
	}
	// The default tree: the cache may hold other trees (debian:6.12).
	trees, _ := filepath.Glob(filepath.Join(cachedir.Dir(), "trees/*/src/Makefile"))
	trees = slices.DeleteFunc(trees, func(mk string) bool {
		b, err := os.ReadFile(mk)
		return err != nil || !strings.Contains(string(b), "\nVERSION = 6\nPATCHLEVEL = 1\n")
	})
	if len(trees) == 0 {
		t.Skipf("default tree not extracted in %s", cachedir.Dir())
	}
	tree := filepath.Dir(trees[0])
	code, out, errs := applyCmd(t, "--tree", tree, filepath.Join(seeds, "003_2a8bd277c844abdd.txt"))
	if code != ExitTestsFailed || !strings.Contains(out, "fs/direct-io.c") || !strings.Contains(out, "already-applied") {
		t.Errorf("003 on 6.1: exit %d\n%s%s", code, out, errs)
	}
	// 002 (5.7) on 6.1: hunk conflicts and missing files, one count.
	code, out, errs = applyCmd(t, "--tree", tree, filepath.Join(seeds, "002_001cfc21aac17572.txt"))
	m := regexp.MustCompile(`(?m)^conflicts: +(\d+ \(\d+ hunks, \d+ whole files\))$`).FindStringSubmatch(out)
	if code != ExitTestsFailed || m == nil || !strings.Contains(errs, "series does not apply: "+strings.Replace(m[1], " ", " conflicts ", 1)) {
		t.Errorf("002 on 6.1: exit %d, counts %q\n%s%s", code, m, out, errs)
	}
}

// TestApplyThreeWayCLI: in a git tree that has the series' base commit,
// a hunk that no longer applies directly is merged three-way (git am -3),
// the report says so, and the header says where the series' base-commit
// stands; --no-3way gets the conflict (exit 1).
func TestApplyThreeWayCLI(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	var lines []string
	for i := range 40 {
		lines = append(lines, fmt.Sprintf("\tstep_%02d(%c);\n", i, 'a'+i%26))
	}
	file := func(edit map[int]string) string {
		out := slices.Clone(lines)
		for i, l := range edit {
			out[i] = l
		}
		return "int filemap(void)\n{\n" + strings.Join(out, "") + "}\n"
	}
	author := t.TempDir()
	applyGit(t, author, "init", "-q")
	applyWrite(t, author, kernelSkeleton)
	applyWrite(t, author, map[string]string{"mm/filemap.c": file(nil)})
	applyGit(t, author, "add", "-A")
	applyGit(t, author, "commit", "-q", "-m", "base")
	base := strings.TrimSpace(applyGit(t, author, "rev-parse", "HEAD"))
	applyWrite(t, author, map[string]string{"mm/filemap.c": file(map[int]string{18: "\tstep_async(18);\n", 22: "\tstep_async(22);\n"})})
	applyGit(t, author, "commit", "-q", "-am", "mm: async steps")
	mbox := filepath.Join(t.TempDir(), "series.mbox")
	applyWrite(t, filepath.Dir(mbox), map[string]string{"series.mbox": applyGit(t, author, "format-patch", "--stdout", "--base="+base, "HEAD~1")})

	// The maintainer's tree: the base, then upstream changed line 20,
	// between the two lines the patch changes.
	tree := filepath.Join(t.TempDir(), "linux")
	applyGit(t, filepath.Dir(tree), "clone", "-q", author, tree)
	applyGit(t, tree, "checkout", "-q", "-B", "master", base)
	applyWrite(t, tree, map[string]string{"mm/filemap.c": file(map[int]string{20: "\tstep_upstream(20);\n"})})
	applyGit(t, tree, "commit", "-q", "-am", "upstream")

	code, out, errs := applyCmd(t, "--tree", tree, mbox)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	for _, want := range []string{"merged-3way", "1 merged (3-way)", "HEAD is 1 commit ahead of the series' base-commit " + base[:12]} {
		if !strings.Contains(unwrap(out), want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	code, out, errs = applyCmd(t, "--tree", tree, "--no-3way", mbox)
	if code != ExitTestsFailed || !strings.Contains(out, "conflict") {
		t.Errorf("--no-3way: exit %d, want 1\n%s%s", code, out, errs)
	}
}
