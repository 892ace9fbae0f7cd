package apply

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// cFunc is a C function as lines: a header at the left margin, a body
// that mentions tag so functions differ, and a closing brace.
func cFunc(name, tag string, body ...string) []string {
	out := []string{fmt.Sprintf("static int %s(struct kiocb *iocb, struct iov_iter *to)\n", name), "{\n",
		"\tstruct file *file = iocb->ki_filp;\n", fmt.Sprintf("\tint ret = prepare_%s(file);\n", tag), "\n"}
	for _, b := range body {
		out = append(out, b+"\n")
	}
	return append(out, "\treturn ret;\n", "}\n", "\n")
}

func filler(n int, tag string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("/* %s %d */\n", tag, i)
	}
	return out
}

// placementCase is a tree the diff meets, and what must come of it.
type placementCase struct {
	name   string
	tree   []string
	status Status
	want   []string // content when applied or already applied
	reason string   // conflict reason prefix
	cands  int
}

// runPlacement applies a one-hunk diff of f.c to each case's tree.
func runPlacement(t *testing.T, diff string, tests []placementCase) {
	t.Helper()
	files := parse(t, []byte(diff))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := ApplySeries(fstest.MapFS{"f.c": {Data: []byte(text(tc.tree))}}, []Patch{{Name: "p", Files: files}}, DefaultOptions())
			h := res.Patches[0].Files[0].Hunks[0]
			if h.Status != tc.status {
				t.Fatalf("status %v, want %v (err %v)", h.Status, tc.status, err)
			}
			if tc.status == StatusConflict {
				if h.Conflict == nil || !strings.HasPrefix(h.Conflict.Reason, tc.reason) || len(h.Conflict.Candidates) != tc.cands {
					t.Fatalf("conflict %+v, want reason %q and %d candidates", h.Conflict, tc.reason, tc.cands)
				}
				t.Log(h.Conflict)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := text(tc.tree)
			if c := res.Changes["f.c"]; c != nil {
				got = string(c.Content)
			}
			if got != text(tc.want) {
				t.Fatalf("wrong content:\n%s", got)
			}
		})
	}
}

// readFuncs are two read paths that both call do_read, the second of
// which a patch changes; twin makes their bodies identical, as kernel
// code often is.
func readFuncs(twin bool) (a, b []string) {
	body := []string{"\tif (iocb->ki_flags & IOCB_NOWAIT)", "\t\treturn -EAGAIN;", "\tret = do_read(file, to);",
		"\tif (ret < 0)", "\t\tgoto out;", "\taccount(file, ret);"}
	if twin {
		return cFunc("read_a", "a", body...), cFunc("read_b", "b", body...)
	}
	other := []string{"\tif (iocb->ki_flags & IOCB_DIRECT)", "\t\treturn direct_read(iocb, to);", "\tret = do_read(file, to);",
		"\tif (ret > 0)", "\t\tfile_accessed(file);", "\taccount(file, ret);"}
	return cFunc("read_a", "a", other...), cFunc("read_b", "b", body...)
}

// readBSite is the index of read_b's do_read line in tree.
func readBSite(tree []string) int {
	i := slices.IndexFunc(tree, func(l string) bool { return strings.HasPrefix(l, "static") && strings.Contains(l, " read_b") })
	return i + slices.Index(tree[i:], "\tret = do_read(file, to);\n")
}

func replaced(tree []string, i int, s string) []string {
	tree = slices.Clone(tree)
	tree[i] = s
	return tree
}

// readBPatched is tree with the patch's edit made in read_b.
func readBPatched(tree []string) []string {
	return replaced(tree, readBSite(tree), "\tret = do_read_async(file, to);\n")
}

// readDiff is the git diff of the edit on a file of a and b.
func readDiff(t *testing.T, a, b []string) ([]string, string) {
	base := slices.Concat(filler(30, "top"), a, filler(40, "mid"), b, filler(30, "end"))
	_, diff := gitDiff(t, map[string]string{"f.c": text(base)}, map[string]string{"f.c": text(readBPatched(base))}, nil)
	if !strings.Contains(diff, "@@ static int read_b(") {
		t.Fatalf("diff lacks the function heading:\n%s", diff)
	}
	return base, diff
}

// TestPlacementRule drives the rule in place.go case by case: each tree
// is the diffed file changed the way trees drift, and the hunk must land
// where the edit was meant or be refused with the reason given.
func TestPlacementRule(t *testing.T) {
	readA, readB := readFuncs(false)
	base, diff := readDiff(t, readA, readB)
	site := readBSite(base)
	moved := slices.Concat(filler(7, "new"), base)
	outer := replaced(base, site+3, "\taccount_bytes(file, ret);\n")
	renamed := slices.Concat(filler(3, "new"), base)
	renamed[slices.Index(renamed, readB[0])] = "static int read_b_iter(struct kiocb *iocb, struct iov_iter *to)\n"
	resigned := slices.Concat(filler(3, "new"), base)
	resigned[slices.Index(resigned, readB[0])] = "static ssize_t read_b(struct kiocb *iocb, struct iov_iter *iter)\n"
	runPlacement(t, diff, []placementCase{
		{name: "at the header's line", tree: base, status: StatusExact, want: readBPatched(base)},
		{name: "moved down", tree: moved, status: StatusOffset, want: readBPatched(moved)},
		{name: "outer context changed", tree: outer, status: StatusFuzz, want: readBPatched(outer)},
		{name: "function's parameters changed, and moved", tree: resigned, status: StatusOffset, want: readBPatched(resigned)},
		{name: "function renamed, and moved", tree: renamed, status: StatusConflict, reason: "away from the line its header names it fits only outside", cands: 1},
		// The twin fits with fuzz 2 (the three lines around the change)
		// and is farther from the header's line: no rival to an exact fit.
		{name: "moved, a weaker fit elsewhere", tree: slices.Concat(filler(2, "new"), base[:site-60], []string{"\t\treturn -EAGAIN;\n", "\tret = do_read(file, to);\n", "\tif (ret < 0)\n"}, base[site-60:]),
			status: StatusOffset, want: readBPatched(slices.Concat(filler(2, "new"), base[:site-60], []string{"\t\treturn -EAGAIN;\n", "\tret = do_read(file, to);\n", "\tif (ret < 0)\n"}, base[site-60:]))},
		{name: "changed outer context, a weaker fit elsewhere", tree: slices.Concat(outer[:site-60], []string{"\t\treturn -EAGAIN;\n", "\tret = do_read(file, to);\n", "\tif (ret < 0)\n"}, outer[site-60:]),
			status: StatusConflict, reason: "ambiguous", cands: 2},
		{name: "already applied and moved", tree: readBPatched(moved), status: StatusAlreadyApplied, want: readBPatched(moved)},
		{name: "inner context changed", tree: replaced(base, site-1, "\t\treturn -EWOULDBLOCK;\n"), status: StatusConflict, reason: "hunk does not match"},
	})
}

// TestPlacementTwins: two functions whose bodies are the same, the
// second of which the patch changes. The hunk's own lines cannot tell
// them apart; only the header's line and heading can.
func TestPlacementTwins(t *testing.T) {
	readA, readB := readFuncs(true)
	base, diff := readDiff(t, readA, readB)
	site := readBSite(base)
	rewritten := slices.Concat(filler(30, "top"), readA, filler(40, "mid"), cFunc("read_b", "b", "\tret = read_b_iter(iocb, to);"), filler(30, "end"))
	runPlacement(t, diff, []placementCase{
		{name: "at the header's line", tree: base, status: StatusExact, want: readBPatched(base)},
		// read_b's leading context changed, so it fits with fuzz 2 at the
		// header's line, while read_a fits exactly, 60 lines up: GNU
		// patch, git apply and ktest before this rule all edited read_a.
		{name: "the meant function drifted, its twin fits exactly",
			tree: replaced(base, site-2, "\tif (iocb->ki_flags & (IOCB_NOWAIT | IOCB_NOIO))\n"), status: StatusConflict, reason: "ambiguous", cands: 2},
		{name: "both moved", tree: slices.Concat(filler(3, "new"), base), status: StatusConflict, reason: "ambiguous", cands: 2},
		// read_b was rewritten: read_a is the one place the hunk fits.
		{name: "the meant function rewritten", tree: rewritten, status: StatusConflict,
			reason: "away from the line its header names it fits only outside", cands: 1},
		{name: "applied in one, the other still as it was", tree: readBPatched(slices.Concat(filler(3, "new"), base)),
			status: StatusConflict, reason: "the file has both", cands: 2},
	})

}

// TestPlacementCopyAbove: upstream copied read_b above itself as
// read_b_locked, so the copy's body now stands exactly at the header's
// line, and changed read_b since. The heading names read_b, which is
// further down: the line number is no evidence, and the copy is not
// the place.
func TestPlacementCopyAbove(t *testing.T) {
	readA, readB := readFuncs(false)
	base, diff := readDiff(t, readA, readB)
	b := slices.Index(base, readB[0])
	locked := slices.Clone(readB)
	locked[0] = "static int read_b_locked(struct kiocb *iocb, struct iov_iter *to)\n"
	copied := slices.Concat(base[:b], locked, base[b:])
	if readBSite(copied) != readBSite(base) { // the copy's, found first
		t.Fatal("the copy is not at the header's line")
	}
	// and read_b itself has since changed a line of the hunk's context.
	real := b + len(locked) + slices.Index(readB, "\tret = do_read(file, to);\n")
	copied[real+3] = "\taccount_bytes(file, ret);\n"
	files := parse(t, []byte(diff))
	_, err := ApplySeries(fstest.MapFS{"f.c": {Data: []byte(text(copied))}}, []Patch{{Name: "p", Files: files}}, DefaultOptions())
	cs := conflicts(err)
	if len(cs) != 1 || !strings.Contains(cs[0].Reason, `fits only outside "static int read_b(`) {
		t.Fatalf("err = %v, want the copy refused for its heading", err)
	}
}

// TestWeakEvidence: the hunk removes a line that also stands elsewhere,
// with context of braces and blank lines: where the header's region has
// been rewritten, that line elsewhere is not the place (seed 003's hunk
// 8 against a 5.8 direct-io.c, where every tool but git apply edited an
// early-exit path and leaked).
func TestWeakEvidence(t *testing.T) {
	before := slices.Concat(filler(20, "a"),
		[]string{"\tif (x) {\n", "\t\tcleanup(dio);\n", "\t}\n", "\n", "\tkmem_cache_free(dio_cache, dio);\n", "\n", "\t}\n", "}\n", "\n"},
		filler(20, "b"))
	after := slices.Delete(slices.Clone(before), 24, 25)
	files, _ := gnuDiff(t, "f.c", text(before), text(after), "-u")
	// Upstream rewrote the region; the same call survives elsewhere
	// between a blank line and a brace.
	tree := slices.Concat(filler(5, "a"), []string{"\tif (eof) {\n", "\n", "\tkmem_cache_free(dio_cache, dio);\n", "\n", "\t}\n"},
		filler(20, "a")[5:], []string{"\tfinish(dio);\n", "}\n", "\n"}, filler(20, "b"))
	_, err := ApplySeries(fstest.MapFS{"f.c": {Data: []byte(text(tree))}}, []Patch{{Name: "p", Files: files}}, DefaultOptions())
	cs := conflicts(err)
	if len(cs) != 1 {
		t.Fatalf("err = %v, want a conflict", err)
	}
	t.Log(cs[0])
}

// TestAlreadyAppliedWhole: a patch whose every hunk is already in the
// tree applies nothing, and a drifted copy of it is recognised too.
func TestAlreadyAppliedDrifted(t *testing.T) {
	base := genLines(120)
	edits := []edit{replaceLine(t, base[30], "\tint v031 = compute_twice(31);\n"), insertAfter(t, base[80], "\tnew_call(81);\n")}
	files, _ := gitDiff(t, map[string]string{"f.c": text(base)}, map[string]string{"f.c": text(applyEdits(base, edits...))}, nil)
	tree := slices.Concat(genLines(4), applyEdits(base, edits...))
	tree[4+33] = "\t/* step 34, reworded upstream */\n" // context of hunk 1
	res, err := ApplySeries(fstest.MapFS{"f.c": {Data: []byte(text(tree))}}, []Patch{{Name: "p", Files: files}}, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if got := statuses(res); !slices.Equal(got, []string{"f.c#1=already-applied", "f.c#2=already-applied"}) {
		t.Fatalf("statuses %v", got)
	}
	if len(res.Changes) != 0 {
		t.Fatal("an already applied patch changed the file")
	}
}

// TestInTree: which patches of a series are in the tree already, found
// hunk by hunk, whole or in part.
func TestInTree(t *testing.T) {
	v0 := genLines(60)
	v1 := applyEdits(v0, insertAfter(t, v0[9], "\tstatic int added_by_1;\n"))
	v2 := applyEdits(v1, replaceLine(t, v0[40], "\tint v041 = compute_by_2(41);\n"))
	p1, _ := gnuDiff(t, "f.c", text(v0), text(v1), "-u")
	p2, _ := gnuDiff(t, "f.c", text(v1), text(v2), "-u")
	series := []Patch{{ID: "1/2", Name: "1/2", Files: p1}, {ID: "2/2", Name: "2/2", Files: p2}}
	for _, tc := range []struct {
		name string
		tree []string
		ids  []string
		all  bool
	}{
		{"none", v0, nil, false},
		{"the first", v1, []string{"1/2"}, false},
		{"all", v2, []string{"1/2", "2/2"}, true},
	} {
		res, err := ApplySeries(fstest.MapFS{"f.c": {Data: []byte(text(tc.tree))}}, series, DefaultOptions())
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if ids, all := res.InTree(); !slices.Equal(ids, tc.ids) || all != tc.all {
			t.Errorf("%s: in tree %v (all %v), want %v (%v)", tc.name, ids, all, tc.ids, tc.all)
		}
	}
}
