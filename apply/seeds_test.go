package apply

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/ktest-dev/ktest/internal/cachedir"

	"github.com/bluekeyes/go-gitdiff/gitdiff"
)

// seeds holds the real inputs the project started from (see its README).
const seeds = "../testdata/seeds"

// seedFiles parses a seed's diff. Both seeds used here lost their final
// newline in the archive, and 003 also lost its last hunk's final
// context line (a blank one, stripped as trailing whitespace). Package
// series repairs such damage; here it is undone by hand so the tests
// exercise the locator, not the parser.
func seedFiles(t *testing.T, name, repair string) []*gitdiff.File {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(seeds, name))
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, repair...)
	files, _, err := gitdiff.Parse(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("parse %s: %v", name, err)
	}
	return files
}

// kernelFile finds rel in the default tree extracted in ktest's cache
// ($KTEST_CACHE and the rest, see internal/cachedir), or extracts it
// alone from the Debian linux-source tarball into a temp dir. The cache
// may hold other trees too (debian:6.12): only a 6.1 one will do.
func kernelFile(t *testing.T, rel string) []byte {
	t.Helper()
	for _, pat := range []string{"trees/*/", "trees/*/*/"} {
		roots, _ := filepath.Glob(filepath.Join(cachedir.Dir(), pat+"Makefile"))
		for _, mk := range roots {
			head, err := os.ReadFile(mk)
			if err != nil || !strings.Contains(string(head), "\nVERSION = 6\nPATCHLEVEL = 1\n") {
				continue
			}
			b, err := os.ReadFile(filepath.Join(filepath.Dir(mk), rel))
			must(t, err)
			return b
		}
	}
	const tarball = "/usr/src/linux-source-6.1.tar.xz"
	if _, err := os.Stat(tarball); err != nil || testing.Short() {
		t.Skip("no extracted kernel tree and no tarball (or -short)")
	}
	dir := t.TempDir()
	member := "linux-source-6.1/" + rel
	if out, err := exec.Command("tar", "-xJf", tarball, "-C", dir, member).CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, member))
	must(t, err)
	return b
}

// TestSeed003ConflictsWithModernTree: the 2013 direct-io patch against
// Linux 6.1. Hunks 2 and 7 are found already applied (the patch was
// merged for 3.12 and those parts survive), hunk 6 lands with fuzz 1 at
// line 589 exactly where GNU patch 2.7.6 puts it, the rest conflict.
func TestSeed003ConflictsWithModernTree(t *testing.T) {
	files := seedFiles(t, "003_2a8bd277c844abdd.txt", "\n \n")
	src := kernelFile(t, "fs/direct-io.c")
	res, err := ApplySeries(fstest.MapFS{"fs/direct-io.c": {Data: src}}, []Patch{{Name: "003 direct-io", Files: files}}, DefaultOptions())
	if err == nil {
		t.Fatal("2013 direct-io patch applied to a 6.1 tree")
	}
	want := []string{"conflict", "already-applied", "conflict", "conflict", "conflict", "fuzz", "already-applied", "conflict"}
	var got []string
	for _, h := range res.Patches[0].Files[0].Hunks {
		got = append(got, h.Status.String())
	}
	if !slices.Equal(got, want) {
		t.Fatalf("statuses = %v, want %v", got, want)
	}
	if h := res.Patches[0].Files[0].Hunks[5]; h.AppliedAt != 589 || h.Fuzz != 1 {
		t.Errorf("hunk 6 at %d fuzz %d, want 589 fuzz 1 (GNU patch)", h.AppliedAt, h.Fuzz)
	}
	cs := conflicts(err)
	if len(cs) != 5 {
		t.Fatalf("%d conflicts, want 5: %v", len(cs), err)
	}
	last := cs[4]
	if last.Hunk != 8 || last.NearestLine != 1318 || !slices.Contains(last.Found, "\t\tretval = dio_complete(dio, retval, DIO_COMPLETE_INVALIDATE);") {
		t.Errorf("hunk 8 conflict: nearest %d, found %q", last.NearestLine, last.Found)
	}
	t.Logf("%v\n%s", err, last.Excerpt())
}

// TestSeed000OnReconstructedTree: the merged revision of the async
// buffered read patch against a file rebuilt from its own pre-image
// (filler between hunks), then shifted; reversed, it restores the file.
func TestSeed000OnReconstructedTree(t *testing.T) {
	files := seedFiles(t, "000_a76b33e6b61c524c.txt", "\n")
	if len(files) != 1 || files[0].NewName != "mm/filemap.c" {
		t.Fatalf("seed 000: unexpected files %v", files)
	}
	var pre []string
	for _, frag := range files[0].TextFragments {
		for int64(len(pre)) < frag.OldPosition-1 {
			pre = append(pre, "/* filler line "+strings.Repeat("x", len(pre)%7)+" */\n")
		}
		for _, l := range frag.Lines {
			if l.Old() {
				pre = append(pre, l.Line)
			}
		}
	}
	pre = append(pre, "/* end */\n")

	for _, shift := range []int{0, 11} {
		tree := slices.Concat(genLines(shift), pre)
		res, err := ApplySeries(fstest.MapFS{"mm/filemap.c": {Data: []byte(text(tree))}}, []Patch{{Name: "000", Files: files}}, DefaultOptions())
		if err != nil {
			t.Fatalf("shift %d: %v", shift, err)
		}
		for _, h := range res.Patches[0].Files[0].Hunks {
			if h.Offset != shift || h.Fuzz != 0 {
				t.Errorf("shift %d: hunk %d offset %d fuzz %d", shift, h.Index, h.Offset, h.Fuzz)
			}
		}
		out := string(res.Changes["mm/filemap.c"].Content)
		for _, s := range []string{"error = wait_on_page_locked_async(page,\n", "static int wait_on_page_locked_async(struct page *page,\n"} {
			if !strings.Contains(out, s) {
				t.Errorf("shift %d: result lacks %q", shift, s)
			}
		}
		back, err := ApplySeries(fstest.MapFS{"mm/filemap.c": {Data: []byte(out)}}, []Patch{{Name: "000", Files: files}}, Options{Reverse: true})
		if err != nil {
			t.Fatalf("reverse: %v", err)
		}
		if string(back.Changes["mm/filemap.c"].Content) != text(tree) {
			t.Errorf("shift %d: reverse did not restore the tree", shift)
		}
	}
}
