package apply

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

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

// kernelFile reads rel from the Debian 6.1 files kept in testdata.
func kernelFile(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata/linux-6.1", rel))
	must(t, err)
	return b
}

// TestSeed003ConflictsWithModernTree: the 2013 direct-io patch against
// Linux 6.1. Hunks 2 and 7 are found already applied (the patch was
// merged for 3.12 and those parts survive); the rest conflict. Hunk 6
// is the one GNU patch 2.7.6 applies with fuzz 1 at line 589: it adds
// dio_set_defer_completion(), which 6.1 already has at line 579, so
// GNU patch's result defines the function twice. ktest names that.
func TestSeed003ConflictsWithModernTree(t *testing.T) {
	files := seedFiles(t, "003_2a8bd277c844abdd.txt", "\n \n")
	src := kernelFile(t, "fs/direct-io.c")
	res, err := ApplySeries(fstest.MapFS{"fs/direct-io.c": {Data: src}}, []Patch{{Name: "003 direct-io", Files: files}}, DefaultOptions())
	if err == nil {
		t.Fatal("2013 direct-io patch applied to a 6.1 tree")
	}
	want := []string{"conflict", "already-applied", "conflict", "conflict", "conflict", "conflict", "already-applied", "conflict"}
	var got []string
	for _, h := range res.Patches[0].Files[0].Hunks {
		got = append(got, h.Status.String())
	}
	if !slices.Equal(got, want) {
		t.Fatalf("statuses = %v, want %v", got, want)
	}
	cs := conflicts(err)
	if len(cs) != 6 {
		t.Fatalf("%d conflicts, want 6: %v", len(cs), err)
	}
	if c := cs[4]; c.Hunk != 6 || !strings.Contains(c.Reason, "static int dio_set_defer_completion(struct dio *dio)") ||
		!strings.Contains(c.Reason, "line 579") || len(c.Candidates) != 1 || c.Candidates[0] != (Candidate{Line: 589, Fuzz: 1}) {
		t.Errorf("hunk 6 conflict = %q, candidates %+v; want the existing definition at 579 named and the fit at 589 (fuzz 1)", c.Reason, c.Candidates)
	}
	last := cs[5]
	if last.Hunk != 8 || last.NearestLine != 1318 || !slices.Contains(last.Found, "\t\tretval = dio_complete(dio, retval, DIO_COMPLETE_INVALIDATE);") {
		t.Errorf("hunk 8 conflict: nearest %d, found %q", last.NearestLine, last.Found)
	}
	t.Logf("%v\n%s", err, last.Excerpt())
}

// TestSeriesPatchAppliedTwice: patch 03 of the async buffered reads
// series against 6.1's pagemap.h, which has had struct wait_page_queue
// since 5.9 (in a later form). GNU patch refuses it as "Reversed (or
// previously applied)"; ktest before the placement rule applied it
// with fuzz at +55 and defined the struct twice.
func TestSeriesPatchAppliedTwice(t *testing.T) {
	b, err := os.ReadFile("../patches/async-buffered-reads/0003-mm-abstract-out-wake_page_match-from-wake_page_funct.patch")
	must(t, err)
	files := parse(t, b)
	tree := fstest.MapFS{"include/linux/pagemap.h": {Data: kernelFile(t, "include/linux/pagemap.h")}}
	_, err = ApplySeries(tree, []Patch{{Name: "03/12", Files: files[:1]}}, DefaultOptions())
	cs := conflicts(err)
	if len(cs) != 1 {
		t.Fatalf("err = %v, want one conflict", err)
	}
	if !strings.Contains(cs[0].Reason, `already has "struct wait_page_`) {
		t.Errorf("conflict %q does not say the struct it adds is already there", cs[0].Reason)
	}
}

// TestSeed000OnReconstructedTree: the merged revision of the async
// buffered read patch against a file rebuilt from its own pre-image
// (filler between hunks, each hunk's heading line above it, as in the
// real file), then shifted; reversed, it restores the file.
func TestSeed000OnReconstructedTree(t *testing.T) {
	files := seedFiles(t, "000_a76b33e6b61c524c.txt", "\n")
	if len(files) != 1 || files[0].NewName != "mm/filemap.c" {
		t.Fatalf("seed 000: unexpected files %v", files)
	}
	var pre []string
	for _, frag := range files[0].TextFragments {
		for int64(len(pre)) < frag.OldPosition-2 {
			pre = append(pre, "/* filler line "+strings.Repeat("x", len(pre)%7)+" */\n")
		}
		pre = append(pre, frag.Comment+"\n")
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
