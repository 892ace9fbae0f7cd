package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// gitTree makes a git repository holding files, committed.
func gitTree(t *testing.T, files map[string]string) string {
	t.Helper()
	repo := t.TempDir()
	applyGit(t, repo, "init", "-q")
	applyWrite(t, repo, files)
	applyGit(t, repo, "add", "-A")
	applyGit(t, repo, "commit", "-q", "-m", "base")
	return repo
}

var headLine = regexp.MustCompile(`HEAD [0-9a-f]{12}`)

// Inside a kernel checkout, apply works on it, as git am does, and the
// report's first line names it and what of it was read.
func TestApplyUsesTheCheckoutYouAreIn(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	plain, mbox, after := applyFixture(t)
	repo := gitTree(t, applyTreeFiles(t, plain))
	t.Chdir(filepath.Join(repo, "mm"))

	code, out, errs := applyCmd(t, mbox)
	first, _, _ := strings.Cut(unwrap(out), " series:")
	if code != ExitOK || !strings.HasPrefix(first, "tree: "+repo+" (the kernel checkout you are in); read: the working tree = HEAD ") ||
		!strings.HasSuffix(first, "(clean)") || !headLine.MatchString(first) {
		t.Fatalf("exit %d, first line %q\n%s%s", code, first, out, errs)
	}
	// --in-place needs no --tree there: it is the user's own tree.
	if code, out, errs := applyCmd(t, "--in-place", mbox); code != ExitOK {
		t.Fatalf("--in-place: exit %d\n%s%s", code, out, errs)
	}
	got := applyTreeFiles(t, repo)
	for p := range got {
		if strings.HasPrefix(p, ".git/") {
			delete(got, p)
		}
	}
	if !sameFiles(got, after) {
		t.Errorf("in place in the checkout: %v", got)
	}

	// Outside any kernel tree, --in-place still wants --tree.
	t.Chdir(t.TempDir())
	if code, _, errs := applyCmd(t, "--in-place", mbox); code != ExitUsage || !strings.Contains(errs, "--in-place needs a tree of yours") {
		t.Errorf("--in-place outside a checkout: exit %d: %s", code, errs)
	}
}

// The dry run and --out read the same base, the working tree: the
// series applies to what is not committed (HEAD would conflict), and
// the worktree --out makes holds it, untracked files included.
func TestApplyDryRunAndOutReadTheWorkingTree(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	plain, mbox, after := applyFixture(t)
	base := applyTreeFiles(t, plain)
	committed := map[string]string{}
	for k, v := range base {
		committed[k] = v
	}
	// HEAD holds a line the series' context does not match; the working
	// tree has it back as the series expects.
	committed["include/linux/fs.h"] = "#define FMODE_A 1\n#define FMODE_B 20\n#define FMODE_C 4\n"
	repo := gitTree(t, committed)
	applyWrite(t, repo, map[string]string{"include/linux/fs.h": base["include/linux/fs.h"], "fs/untracked.c": "not committed yet\n"})

	code, out, errs := applyCmd(t, "--tree", repo, "--fuzz", "0", mbox)
	if code != ExitOK || !strings.Contains(unwrap(out), "read: the working tree: HEAD ") ||
		!strings.Contains(unwrap(out), " + 1 uncommitted change + 1 untracked file") {
		t.Fatalf("dry run: exit %d\n%s%s", code, out, errs)
	}
	dst := filepath.Join(t.TempDir(), "wt")
	code, out, errs = applyCmd(t, "--tree", repo, "--fuzz", "0", "--out", dst, mbox)
	if code != ExitOK || !strings.Contains(unwrap(out), "a git worktree of "+repo+" holding the working tree: HEAD") {
		t.Fatalf("--out: exit %d\n%s%s", code, out, errs)
	}
	got := applyTreeFiles(t, dst)
	delete(got, ".git")
	after["fs/untracked.c"] = "not committed yet\n"
	if !sameFiles(got, after) {
		t.Errorf("--out worktree = %v\nwant %v", got, after)
	}
	if st := applyGit(t, repo, "status", "--porcelain"); st != " M include/linux/fs.h\n?? fs/untracked.c\n" {
		t.Errorf("the source's state changed:\n%s", st)
	}

	// What cannot be carried is refused, and nothing is left behind.
	nested := filepath.Join(repo, "sub")
	if err := os.MkdirAll(nested, 0o755); err != nil {
		t.Fatal(err)
	}
	applyGit(t, nested, "init", "-q")
	applyWrite(t, nested, map[string]string{"x.c": "x\n"})
	dst2 := filepath.Join(t.TempDir(), "wt2")
	code, _, errs = applyCmd(t, "--tree", repo, "--fuzz", "0", "--out", dst2, mbox)
	if code != ExitUsage || !strings.Contains(errs, "cannot make a git worktree of "+repo) || !strings.Contains(errs, "untracked sub/ is a git repository") {
		t.Errorf("nested repository: exit %d: %s", code, errs)
	}
	if _, err := os.Stat(dst2); err == nil {
		t.Errorf("a refused --out left %s", dst2)
	}
	if wl := applyGit(t, repo, "worktree", "list"); strings.Count(wl, "\n") != 2 || strings.Contains(wl, dst2) {
		t.Errorf("worktrees after the refusal:\n%s", wl)
	}
}

// A series with a missing patch is refused, naming it, unless asked;
// an unknown --use-version lists the versions there are.
func TestApplyMissingAndVersions(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	tree, mbox, _ := applyFixture(t)
	data, err := os.ReadFile(mbox)
	if err != nil {
		t.Fatal(err)
	}
	second := regexp.MustCompile(`\nFrom [0-9a-f]{40} `).FindAllStringIndex(string(data), -1)
	if len(second) != 1 {
		t.Fatalf("want two messages in the mbox")
	}
	first := filepath.Join(t.TempDir(), "first.mbox")
	if err := os.WriteFile(first, data[:second[0][0]+1], 0o644); err != nil {
		t.Fatal(err)
	}

	code, out, errs := applyCmd(t, "--tree", tree, first)
	if code != ExitUsage || out != "" || !strings.Contains(errs, "patch 2/2 missing (v1; 1 of 2 present)") || !strings.Contains(errs, "--allow-missing") {
		t.Errorf("exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = applyCmd(t, "--tree", tree, "--allow-missing", first)
	if code != ExitOK || !strings.Contains(unwrap(out), "patch 2/2 missing (v1; 1 of 2 present): applied without them, as --allow-missing asks") {
		t.Errorf("--allow-missing: exit %d\n%s%s", code, out, errs)
	}
	code, _, errs = applyCmd(t, "--tree", tree, "--use-version", "9", mbox)
	if code != ExitUsage || !strings.Contains(errs, "no v9 in the input; it holds v1") {
		t.Errorf("--use-version 9: exit %d: %s", code, errs)
	}
}

// The case (a) through the command: 0001-0004 of the flagship
// series and seed 000 saved as 0005-...patch. 06-12 are missing: refused
// naming them; with --allow-missing the five patches are applied (here
// they conflict: the skeleton tree lacks their files), 05 from seed 000.
func TestApplyDirectoryWithHole(t *testing.T) {
	dir := t.TempDir()
	embedded, _ := filepath.Glob("../../patches/async-buffered-reads/000[1-4]-*.patch")
	seed000, _ := filepath.Glob("../../testdata/seeds/000_*.txt")
	if len(embedded) != 4 || len(seed000) != 1 {
		t.Fatalf("inputs: %v %v", embedded, seed000)
	}
	for i, src := range append(embedded, seed000[0]) {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(src)
		if i == 4 {
			name = "0005-mm-support-async-buffered-reads-in-generic_file_buff.patch"
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tree := t.TempDir()
	applyWrite(t, tree, kernelSkeleton)

	code, out, errs := applyCmd(t, "--tree", tree, dir)
	if code != ExitUsage || out != "" || !strings.Contains(errs, "patches 06–12/12 missing (v3; 5 of 12 present)") {
		t.Errorf("exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = applyCmd(t, "--tree", tree, "--allow-missing", dir)
	if code == ExitUsage || !strings.Contains(unwrap(out), "patches: 5 (") || !strings.Contains(unwrap(out), "05/12: not in v3; v1 is applied") ||
		!strings.Contains(out, "05/12 mm: support async") {
		t.Errorf("--allow-missing: exit %d\n%s%s", code, out, errs)
	}
}
