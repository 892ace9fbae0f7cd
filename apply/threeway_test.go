package apply_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/bluekeyes/go-gitdiff/gitdiff"

	"github.com/ktest-dev/ktest/apply"
	"github.com/ktest-dev/ktest/gitrepo"
)

// repo is a git repository in a temp dir, for three-way tests.
type repo struct {
	t   *testing.T
	dir string
}

func newRepo(t *testing.T) *repo {
	t.Helper()
	r := &repo{t, t.TempDir()}
	r.git("init", "-q")
	return r
}

func (r *repo) git(args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@t"}, args...)...)
	cmd.Dir = r.dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func (r *repo) write(name, content string) {
	r.t.Helper()
	if err := os.WriteFile(filepath.Join(r.dir, name), []byte(content), 0o644); err != nil {
		r.t.Fatal(err)
	}
}

// commitDiff commits content as name and returns the diff from the
// previous commit, with its index line, as format-patch writes it.
func (r *repo) commitDiff(name, content, msg string) []*gitdiff.File {
	r.t.Helper()
	r.write(name, content)
	r.git("add", name)
	r.git("commit", "-q", "-m", msg)
	files, _, err := gitdiff.Parse(strings.NewReader(r.git("format-patch", "-1", "--stdout")))
	if err != nil {
		r.t.Fatal(err)
	}
	return files
}

func numbered(n int, edit map[int]string) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		if s, ok := edit[i]; ok {
			b.WriteString(s + "\n")
			continue
		}
		b.WriteString("\tstep_" + strings.Repeat("x", i%5) + "(" + string(rune('a'+i%26)) + ", " + strconv.Itoa(i) + ");\n")
	}
	return b.String()
}

// TestThreeWay: the series was written against commits the tree has, but
// the tree changed a line inside a hunk's context since. Applied directly
// the hunk conflicts; merged from the blob its index line names (as git
// am -3 does) it applies, and patch 2, written on top of patch 1, is
// merged from a blob derived by replaying patch 1 on its own blob.
func TestThreeWay(t *testing.T) {
	// The author's repository: base, then the two patches.
	author := newRepo(t)
	author.write("f.c", numbered(40, nil))
	author.git("add", "f.c")
	author.git("commit", "-q", "-m", "base")
	one := map[int]string{20: "\tpatched_one(20);", 24: "\tpatched_one(24);"}
	two := map[int]string{19: "\tpatched_two(19);", 20: one[20], 24: one[24], 25: "\tpatched_two(25);"}
	p1 := author.commitDiff("f.c", numbered(40, one), "one")
	p2 := author.commitDiff("f.c", numbered(40, two), "two")
	// The maintainer's: the same base, then upstream changed line 22,
	// inside both hunks and next to no line they change: no fuzz reaches
	// it, a merge takes it. Patch 2's blob is not here; it is derived.
	r := newRepo(t)
	r.write("f.c", numbered(40, nil))
	r.git("add", "f.c")
	r.git("commit", "-q", "-m", "base")
	r.write("f.c", numbered(40, map[int]string{22: "\tstep_upstream(22);"}))
	r.git("commit", "-qam", "upstream")

	series := []apply.Patch{{Name: "1/2", Files: p1}, {Name: "2/2", Files: p2}}
	fsys := os.DirFS(r.dir)
	if _, err := apply.ApplySeries(fsys, series, apply.DefaultOptions()); err == nil {
		t.Fatal("applied directly; the test needs a conflict")
	}
	g, ok := gitrepo.Open(context.Background(), r.dir)
	if !ok {
		t.Fatal("not a repository")
	}
	opts := apply.DefaultOptions()
	opts.Ancestors = g.Ancestors(context.Background())
	res, err := apply.ApplySeries(fsys, series, opts)
	if err != nil {
		t.Fatalf("three-way: %v", err)
	}
	for _, p := range res.Patches {
		if h := p.Files[0].Hunks[0]; h.Status != apply.StatusMerged {
			t.Errorf("%s: hunk %v, want merged-3way", p.Name, h.Status)
		}
	}
	want := numbered(40, map[int]string{19: two[19], 20: one[20], 22: "\tstep_upstream(22);", 24: one[24], 25: two[25]})
	if got := string(res.Changes["f.c"].Content); got != want {
		t.Fatalf("merged content:\n%s\nwant:\n%s", got, want)
	}

	// The same change made upstream at line 20 conflicts in the merge
	// too: the conflict stands and says so.
	r.write("f.c", numbered(40, map[int]string{22: "\tstep_upstream(22);", 20: "\tother_fix(20);"}))
	r.git("commit", "-qam", "upstream 2")
	_, err = apply.ApplySeries(os.DirFS(r.dir), series[:1], opts)
	var c *apply.Conflict
	if !errorsAs(err, &c) || !strings.Contains(c.Reason, "three-way merge with blob") {
		t.Fatalf("err = %v, want a conflict naming the failed merge", err)
	}
}

// TestThreeWayBlobMissing: a tree without the blob says why no merge
// was tried.
func TestThreeWayBlobMissing(t *testing.T) {
	author := newRepo(t)
	author.write("f.c", numbered(30, nil))
	author.git("add", "f.c")
	author.git("commit", "-q", "-m", "base")
	p := author.commitDiff("f.c", numbered(30, map[int]string{15: "\tpatched(15);"}), "p")

	tree := newRepo(t)
	tree.write("f.c", numbered(30, map[int]string{14: "\tlocal(14);", 16: "\tlocal(16);"}))
	tree.git("add", "f.c")
	tree.git("commit", "-q", "-m", "unrelated history")
	g, _ := gitrepo.Open(context.Background(), tree.dir)
	opts := apply.DefaultOptions()
	opts.Ancestors = g.Ancestors(context.Background())
	_, err := apply.ApplySeries(os.DirFS(tree.dir), []apply.Patch{{Name: "p", Files: p}}, opts)
	var c *apply.Conflict
	if !errorsAs(err, &c) || !strings.Contains(c.Reason, "lacks blob") {
		t.Fatalf("err = %v, want the missing blob named", err)
	}
}

func errorsAs(err error, c **apply.Conflict) bool {
	var walk func(error) bool
	walk = func(e error) bool {
		if x, ok := e.(*apply.Conflict); ok {
			*c = x
			return true
		}
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				if walk(e) {
					return true
				}
			}
		}
		return false
	}
	return err != nil && walk(err)
}
