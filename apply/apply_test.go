package apply

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/bluekeyes/go-gitdiff/gitdiff"
)

// TestLocate drives one real `git diff` (four hunks: a replacement, a
// deletion, an insertion, and a change whose trailing context is cut
// short by the end of the file) against trees shifted, mutated and
// pre-patched in the ways a stale or diverged tree is.
func TestLocate(t *testing.T) {
	base := genLines(200)
	edits := []edit{
		replaceLine(t, base[19], "\tint x020 = replaced();\n", "\tint y020 = added();\n"),
		deleteLines(t, base[59], 2),
		insertAfter(t, base[119], "\tnew_call_after(120);\n"),
		replaceLine(t, base[197], "\t/* step 198, reworded */\n"),
	}
	files, diff := gitDiff(t, map[string]string{"f.c": text(base)}, map[string]string{"f.c": text(applyEdits(base, edits...))}, nil)
	t.Logf("diff under test:\n%s", diff)

	filler := func(n int, tag string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = "// filler " + tag + " " + string(rune('a'+i)) + "\n"
		}
		return out
	}
	mutate := func(lines []string, idx ...int) []string {
		lines = slices.Clone(lines)
		for _, i := range idx {
			lines[i] = strings.TrimSuffix(lines[i], "\n") + " /* local */\n"
		}
		return lines
	}

	tests := []struct {
		name     string
		tree     []string
		opts     Options
		want     []Status
		offsets  []int
		fuzz     []int
		conflict bool
		result   []string // expected content when not the edits replayed on tree
		at       []int    // AppliedAt when not OldStart+Offset
	}{
		{name: "exact", tree: base, opts: DefaultOptions(),
			want: []Status{StatusExact, StatusExact, StatusExact, StatusExact}, offsets: []int{0, 0, 0, 0}},
		{name: "lines added above", tree: slices.Concat(filler(5, "top"), base), opts: DefaultOptions(),
			want: []Status{StatusOffset, StatusOffset, StatusOffset, StatusOffset}, offsets: []int{5, 5, 5, 5}},
		{name: "lines added and removed between hunks",
			tree: slices.Concat(base[:40], filler(7, "mid"), base[40:99], base[103:]), opts: DefaultOptions(),
			want: []Status{StatusExact, StatusOffset, StatusOffset, StatusOffset}, offsets: []int{0, 7, 3, 3}},
		{name: "leading context changed", tree: mutate(base, 16), opts: DefaultOptions(),
			want: []Status{StatusFuzz, StatusExact, StatusExact, StatusExact}, fuzz: []int{1, 0, 0, 0}},
		{name: "trailing context changed", tree: mutate(base, 22), opts: DefaultOptions(),
			want: []Status{StatusFuzz, StatusExact, StatusExact, StatusExact}, fuzz: []int{1, 0, 0, 0}},
		{name: "two context lines changed and shifted", tree: slices.Concat(filler(2, "top"), mutate(base, 16, 17)), opts: DefaultOptions(),
			want: []Status{StatusFuzz, StatusOffset, StatusOffset, StatusOffset}, offsets: []int{2, 2, 2, 2}, fuzz: []int{2, 0, 0, 0}},
		{name: "strict refuses fuzz", tree: mutate(base, 16), opts: Options{},
			want: []Status{StatusConflict, StatusExact, StatusExact, StatusExact}, conflict: true},
		{name: "lines appended at end of file", tree: slices.Concat(base, filler(3, "end")), opts: DefaultOptions(),
			want: []Status{StatusExact, StatusExact, StatusExact, StatusFuzz}, fuzz: []int{0, 0, 0, 1}},
		{name: "already applied", tree: applyEdits(base, edits...), opts: DefaultOptions(),
			want: []Status{StatusAlreadyApplied, StatusAlreadyApplied, StatusAlreadyApplied, StatusAlreadyApplied}, offsets: []int{0, 0, 0, 0},
			result: applyEdits(base, edits...)},
		{name: "one hunk already applied", tree: applyEdits(base, edits[1]), opts: DefaultOptions(),
			want: []Status{StatusExact, StatusAlreadyApplied, StatusExact, StatusExact}, offsets: []int{0, 0, 0, 0},
			// Lines of the tree as it is: 60-61 are already gone.
			result: applyEdits(base, edits...), at: []int{17, 57, 116, 193}},
		{name: "core line changed", tree: mutate(base, 19), opts: DefaultOptions(),
			want: []Status{StatusConflict, StatusExact, StatusExact, StatusExact}, conflict: true},
		{name: "offset beyond MaxOffset", tree: slices.Concat(filler(5, "top"), base), opts: Options{MaxFuzz: 3, MaxOffset: 4},
			want: []Status{StatusConflict, StatusConflict, StatusConflict, StatusConflict}, conflict: true},
		{name: "within MaxOffset", tree: slices.Concat(filler(4, "top"), base), opts: Options{MaxFuzz: 3, MaxOffset: 4},
			want: []Status{StatusOffset, StatusOffset, StatusOffset, StatusOffset}, offsets: []int{4, 4, 4, 4}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tree := fstest.MapFS{"f.c": {Data: []byte(text(tc.tree)), Mode: 0o644}}
			res, err := ApplySeries(tree, []Patch{{Name: "1/1 test", Files: files}}, tc.opts)
			hunks := res.Patches[0].Files[0].Hunks
			var got []Status
			for _, h := range hunks {
				got = append(got, h.Status)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("statuses = %v, want %v (err %v)", got, tc.want, err)
			}
			for i, h := range hunks {
				if tc.offsets != nil && h.Offset != tc.offsets[i] {
					t.Errorf("hunk %d offset = %d, want %d", i+1, h.Offset, tc.offsets[i])
				}
				if tc.fuzz != nil && h.Fuzz != tc.fuzz[i] {
					t.Errorf("hunk %d fuzz = %d, want %d", i+1, h.Fuzz, tc.fuzz[i])
				}
				if tc.at != nil && h.AppliedAt != tc.at[i] {
					t.Errorf("hunk %d applied at %d, want %d", i+1, h.AppliedAt, tc.at[i])
				}
				if tc.at == nil && h.Status != StatusConflict && h.Status != StatusAlreadyApplied && h.AppliedAt != h.OldStart+h.Offset {
					t.Errorf("hunk %d applied at %d, want old start %d + offset %d", i+1, h.AppliedAt, h.OldStart, h.Offset)
				}
			}
			if tc.conflict {
				cs := conflicts(err)
				if len(cs) == 0 {
					t.Fatalf("err = %v, want conflicts", err)
				}
				for _, c := range cs {
					if c.Patch != "1/1 test" || c.File != "f.c" || c.Hunk == 0 || len(c.Expected) == 0 {
						t.Errorf("conflict lacks detail: %+v", c)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("ApplySeries: %v", err)
			}
			want := text(tc.result)
			if tc.result == nil {
				want = text(applyEdits(tc.tree, edits...))
			}
			ch := res.Changes["f.c"]
			if want == text(tc.tree) {
				if ch != nil {
					t.Fatalf("already applied file reported as changed")
				}
				return
			}
			if ch == nil || string(ch.Content) != want {
				t.Fatalf("content differs from the edits replayed on the tree")
			}
		})
	}
}

// TestConflictExcerpt: the nearest candidate is the region the hunk was
// meant for, and the excerpt shows expected against found.
func TestConflictExcerpt(t *testing.T) {
	base := genLines(80)
	after := applyEdits(base, replaceLine(t, base[40], "\tnew_line();\n"))
	files, _ := gnuDiff(t, "f.c", text(base), text(after), "-u")
	tree := slices.Clone(base)
	tree[40] = "\tsomeone_else_changed_this();\n"
	tree = slices.Concat([]string{"/* 1 */\n", "/* 2 */\n"}, tree)
	res, err := ApplySeries(fstest.MapFS{"f.c": {Data: []byte(text(tree))}}, []Patch{{Name: "p", Files: files}}, DefaultOptions())
	var c *Conflict
	if !errors.As(err, &c) {
		t.Fatalf("err = %v, want *Conflict", err)
	}
	if c.OldStart != 38 || c.NearestLine != 40 || c.Matched != 6 || len(c.Expected) != 7 {
		t.Errorf("conflict = %+v, want old start 38, nearest 40, 6 of 7 matching", c)
	}
	if c.Expected[3] != "\tint v041 = compute(41);" || c.Found[3] != "\tsomeone_else_changed_this();" {
		t.Errorf("expected/found line 4 = %q / %q", c.Expected[3], c.Found[3])
	}
	ex := c.Excerpt()
	for _, want := range []string{"- \tint v041 = compute(41);", "+ \tsomeone_else_changed_this();", "  \tif (v038 > limit)", "nearest candidate at line 40"} {
		if !strings.Contains(ex, want) {
			t.Errorf("excerpt lacks %q:\n%s", want, ex)
		}
	}
	if !strings.Contains(err.Error(), "hunk #1 (line 38)") {
		t.Errorf("error text %q", err)
	}
	if len(res.Changes) != 0 {
		t.Errorf("conflicting series reports changes: %v", res.SortedChanges())
	}
}

// TestDuplicatedContext: when the hunk's lines occur twice, nothing in
// them says which copy is meant. Moved by an offset, either copy could
// be, and picking the nearer (as GNU patch and git apply do) edits the
// wrong one as often as not: a conflict naming both places. At the
// header's line, the line number is all that tells them apart, and drift
// moves line numbers: only a file that is byte for byte the one the diff
// was made against (its git blob id on the diff's index line) is trusted.
func TestDuplicatedContext(t *testing.T) {
	block := []string{"\tlock(a);\n", "\tx++;\n", "\ty++;\n", "\tunlock(a);\n", "\tz++;\n", "\tw++;\n", "\tdone();\n"}
	base := slices.Concat(genLines(20), block, genLines(40)[20:], block, genLines(60)[40:])
	// The change is in the second copy (header line ~63).
	second := 20 + len(block) + 20
	after := slices.Clone(base)
	after[second+3] = "\tunlock_irq(a);\n"
	plain, _ := gnuDiff(t, "f.c", text(base), text(after), "-u")
	withIndex, _ := gitDiff(t, map[string]string{"f.c": text(base)}, map[string]string{"f.c": text(after)}, nil)

	res, err := ApplySeries(fstest.MapFS{"f.c": {Data: []byte(text(base))}}, []Patch{{Name: "p", Files: withIndex}}, DefaultOptions())
	if err != nil || res.Patches[0].Files[0].Hunks[0].Status != StatusExact || string(res.Changes["f.c"].Content) != text(after) {
		t.Fatalf("the diffed file itself, with its blob id: %v", err)
	}
	for _, shift := range []int{-15, -3, 0, 3, 15} {
		tree := slices.Clone(base)
		if shift > 0 {
			tree = slices.Concat(tree[:30], genLines(shift), tree[30:])
		} else if shift < 0 {
			tree = slices.Concat(tree[:30], tree[30-shift:])
		}
		for _, files := range [][]*gitdiff.File{plain, withIndex} {
			if shift == 0 && len(files) == len(withIndex) && files[0] == withIndex[0] {
				continue
			}
			_, err := ApplySeries(fstest.MapFS{"f.c": {Data: []byte(text(tree))}}, []Patch{{Name: "p", Files: files}}, DefaultOptions())
			cs := conflicts(err)
			if len(cs) != 1 || !strings.HasPrefix(cs[0].Reason, "ambiguous") || len(cs[0].Candidates) != 2 {
				t.Errorf("shift %d: err = %v, want an ambiguity naming both copies", shift, err)
			}
		}
	}
}

// TestZeroContext checks -U0 diffs (go-gitdiff's own applier misplaces
// insertions: "@@ -5,0 +6 @@" goes after line 5), on the tree and on a
// shifted tree, including insertions at the very start and end.
func TestZeroContext(t *testing.T) {
	base := genLines(60)
	edits := []edit{
		func(l []string) []string { return slices.Concat([]string{"/* first */\n"}, l) },
		insertAfter(t, base[4], "\tinserted_after_5();\n", "\tand_another();\n"),
		replaceLine(t, base[20], "\treplaced_21();\n"),
		deleteLines(t, base[30], 3),
		insertAfter(t, base[59], "/* last */\n"),
	}
	after := applyEdits(base, edits...)
	files, diff := gnuDiff(t, "f.c", text(base), text(after), "-U0")
	if !strings.Contains(diff, "@@ -5,0 +7,2 @@") {
		t.Fatalf("diff lacks the zero-context insertion under test:\n%s", diff)
	}
	res, err := ApplySeries(fstest.MapFS{"f.c": {Data: []byte(text(base))}}, []Patch{{Name: "p", Files: files}}, DefaultOptions())
	if err != nil {
		t.Fatalf("ApplySeries: %v (%v)", err, statuses(res))
	}
	if got := string(res.Changes["f.c"].Content); got != text(after) {
		t.Fatalf("zero-context result wrong:\n%s\nwant:\n%s", got, text(after))
	}
	// Without context, nothing but the header says where a hunk goes:
	// moved, it is refused (git apply refuses -U0 diffs altogether).
	shifted := slices.Concat(base[:10], genLines(4), base[10:40], base[42:])
	_, err = ApplySeries(fstest.MapFS{"f.c": {Data: []byte(text(shifted))}}, []Patch{{Name: "p", Files: files}}, DefaultOptions())
	if cs := conflicts(err); len(cs) == 0 || !strings.Contains(cs[0].Reason, "without context") {
		t.Fatalf("shifted -U0 diff: err = %v, want the hunks that moved refused", err)
	}
	// And backwards: -U0 reversed restores the original.
	res, err = ApplySeries(fstest.MapFS{"f.c": {Data: []byte(text(after))}}, []Patch{{Name: "p", Files: files}}, Options{Reverse: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(res.Changes["f.c"].Content); got != text(base) {
		t.Fatalf("reversed -U0 did not restore the original")
	}
}

// TestNoNewlineAtEOF covers "\ No newline at end of file" on either side.
func TestNoNewlineAtEOF(t *testing.T) {
	body := text(genLines(10))
	tests := []struct{ name, before, after string }{
		{"newline added", body + "last", body + "last\n"},
		{"newline removed", body + "last\n", body + "last"},
		{"last line changed, none on either side", body + "last", body + "final"},
		{"line appended after unterminated line", body + "last", body + "last\nmore"},
		{"unterminated line untouched", body + "mid\n" + strings.Repeat("x\n", 5) + "end", "changed\n" + body + "mid\n" + strings.Repeat("x\n", 5) + "end"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			files, diff := gnuDiff(t, "f", tc.before, tc.after, "-u")
			for _, shift := range []string{"", "// shifted\n// twice\n"} {
				tree := fstest.MapFS{"f": {Data: []byte(shift + tc.before)}}
				res, err := ApplySeries(tree, []Patch{{Name: "p", Files: files}}, DefaultOptions())
				if err != nil {
					t.Fatalf("shift %q: %v\n%s", shift, err, diff)
				}
				if got := string(res.Changes["f"].Content); got != shift+tc.after {
					t.Fatalf("shift %q: got %q, want %q", shift, got, shift+tc.after)
				}
			}
			// The newline state is part of a line: a tree whose last line
			// differs only by its newline does not match the pre-image.
			if strings.HasSuffix(tc.before, "last") {
				res, err := ApplySeries(fstest.MapFS{"f": {Data: []byte(tc.before + "\n")}}, []Patch{{Name: "p", Files: files}}, Options{})
				want := StatusConflict
				if tc.before+"\n" == tc.after {
					want = StatusAlreadyApplied // which is exactly what that tree is
				}
				if got := res.Patches[0].Files[0].Status; got != want {
					t.Errorf("newline-terminated tree: status %v (err %v), want %v", got, err, want)
				}
			}
		})
	}
}

// TestSeriesOverlayAndReverse: patch 2 edits what patch 1 added; the
// series applies forwards on the original and backwards on the result.
func TestSeriesOverlayAndReverse(t *testing.T) {
	v0 := genLines(50)
	v1 := applyEdits(v0, insertAfter(t, v0[9], "\tstatic int added_by_1;\n"))
	v2 := applyEdits(v1, replaceLine(t, "\tstatic int added_by_1;\n", "\tstatic long added_by_1; /* 2 */\n"), deleteLines(t, v0[40], 1))
	p1, _ := gnuDiff(t, "f.c", text(v0), text(v1), "-u")
	p2, _ := gnuDiff(t, "f.c", text(v1), text(v2), "-u")
	series := []Patch{{Name: "1/2", Files: p1}, {Name: "2/2", Files: p2}}

	res, err := ApplySeries(fstest.MapFS{"f.c": {Data: []byte(text(v0))}}, series, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if got := string(res.Changes["f.c"].Content); got != text(v2) {
		t.Fatalf("forward series result wrong")
	}
	res, err = ApplySeries(fstest.MapFS{"f.c": {Data: []byte(text(v2))}}, series, Options{Reverse: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(res.Changes["f.c"].Content); got != text(v0) {
		t.Fatalf("reversed series did not restore the original")
	}
	if res.Patches[0].Name != "2/2" {
		t.Errorf("reverse applied %q first, want 2/2", res.Patches[0].Name)
	}
	// Patch 2 alone cannot apply to the original: the line it edits is not there.
	_, err = ApplySeries(fstest.MapFS{"f.c": {Data: []byte(text(v0))}}, series[1:], DefaultOptions())
	if len(conflicts(err)) != 1 {
		t.Errorf("patch 2 without patch 1: err = %v, want one conflict", err)
	}
}

// TestFileOperations uses git's headers for creation, deletion, rename,
// copy and mode changes, forwards and reversed.
func TestFileOperations(t *testing.T) {
	big := text(genLines(40))
	bigEdited := strings.Replace(big, "step 20 */", "step twenty */", 1)
	tests := []struct {
		name          string
		before, after map[string]string
		exec          []string
		args          []string
		wantOps       []Op
		wantChanges   map[string]string // path -> content, "" with deleted=true for deletions
		wantDeleted   []string
		wantMode      map[string]os.FileMode
		wantRenamed   map[string]string
	}{
		{name: "create", before: map[string]string{"keep": "k\n"}, after: map[string]string{"keep": "k\n", "dir/new.c": "hello\nworld\n"},
			wantOps: []Op{OpCreate}, wantChanges: map[string]string{"dir/new.c": "hello\nworld\n"}},
		{name: "create empty", before: map[string]string{"keep": "k\n"}, after: map[string]string{"keep": "k\n", "empty": ""},
			wantOps: []Op{OpCreate}, wantChanges: map[string]string{"empty": ""}},
		{name: "delete", before: map[string]string{"keep": "k\n", "old.c": big}, after: map[string]string{"keep": "k\n"},
			wantOps: []Op{OpDelete}, wantDeleted: []string{"old.c"}},
		{name: "rename with edit", before: map[string]string{"a/x.c": big}, after: map[string]string{"b/y.c": bigEdited}, args: []string{"-M"},
			wantOps: []Op{OpRename}, wantChanges: map[string]string{"b/y.c": bigEdited}, wantDeleted: []string{"a/x.c"}, wantRenamed: map[string]string{"b/y.c": "a/x.c"}},
		{name: "copy with edit", before: map[string]string{"a/x.c": big}, after: map[string]string{"a/x.c": big, "a/z.c": bigEdited}, args: []string{"-C", "--find-copies-harder"},
			wantOps: []Op{OpCopy}, wantChanges: map[string]string{"a/z.c": bigEdited}},
		{name: "mode change", before: map[string]string{"run.sh": "echo hi\n"}, after: map[string]string{"run.sh": "echo hi\n"}, exec: []string{"run.sh"},
			wantOps: []Op{OpModify}, wantChanges: map[string]string{"run.sh": "echo hi\n"}, wantMode: map[string]os.FileMode{"run.sh": 0o755}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			files, diff := gitDiff(t, tc.before, tc.after, tc.exec, tc.args...)
			tree := os.DirFS(treeOf(t, tc.before))
			res, err := ApplySeries(tree, []Patch{{Name: "p", Files: files}}, DefaultOptions())
			if err != nil {
				t.Fatalf("%v\n%s", err, diff)
			}
			var ops []Op
			for _, f := range res.Patches[0].Files {
				ops = append(ops, f.Op)
			}
			if !slices.Equal(ops, tc.wantOps) {
				t.Fatalf("ops = %v, want %v\n%s", ops, tc.wantOps, diff)
			}
			if len(res.Changes) != len(tc.wantChanges)+len(tc.wantDeleted) {
				t.Errorf("changes = %d, want %d", len(res.Changes), len(tc.wantChanges)+len(tc.wantDeleted))
			}
			for p, want := range tc.wantChanges {
				c := res.Changes[p]
				if c == nil || c.Deleted || string(c.Content) != want {
					t.Errorf("%s: change %+v, want content %q", p, c, want)
					continue
				}
				if m, ok := tc.wantMode[p]; ok && c.Mode != m {
					t.Errorf("%s: mode %v, want %v", p, c.Mode, m)
				}
				if c.RenamedFrom != tc.wantRenamed[p] {
					t.Errorf("%s: renamed from %q, want %q", p, c.RenamedFrom, tc.wantRenamed[p])
				}
			}
			for _, p := range tc.wantDeleted {
				if c := res.Changes[p]; c == nil || !c.Deleted {
					t.Errorf("%s: not deleted: %+v", p, c)
				}
			}

			// Reversed on the after tree restores the before tree.
			rres, err := ApplySeries(os.DirFS(treeOf(t, tc.after)), []Patch{{Name: "p", Files: files}}, Options{Reverse: true})
			if err != nil {
				t.Fatalf("reverse: %v", err)
			}
			for p, c := range rres.Changes {
				want, existed := tc.before[p]
				switch {
				case c.Deleted && existed:
					t.Errorf("reverse deleted %s, which existed before", p)
				case !c.Deleted && string(c.Content) != want:
					t.Errorf("reverse left %s = %q, want %q", p, c.Content, want)
				}
			}

			// Applying again on the after tree is a no-op that says so.
			ares, err := ApplySeries(os.DirFS(treeOf(t, tc.after)), []Patch{{Name: "p", Files: files}}, DefaultOptions())
			if tc.name == "copy with edit" || tc.name == "mode change" {
				return // a copy target that exists is a conflict; a mode change re-applies harmlessly
			}
			if err != nil {
				t.Fatalf("re-apply: %v", err)
			}
			if len(ares.Changes) != 0 {
				t.Errorf("re-apply changes %v", ares.SortedChanges())
			}
			for _, f := range ares.Patches[0].Files {
				if f.Status != StatusAlreadyApplied {
					t.Errorf("re-apply: %s status %v, want already-applied", f.Path, f.Status)
				}
			}
		})
	}
}

// TestFileLevelConflicts: modifying a missing file, creating an existing
// one, deleting one with extra content.
func TestFileLevelConflicts(t *testing.T) {
	big := text(genLines(20))
	tests := []struct {
		name          string
		before, after map[string]string
		tree          map[string]string
		reason        string
	}{
		{"modify missing", map[string]string{"f": big}, map[string]string{"f": big + "x\n"}, map[string]string{"g": "x"}, "file does not exist"},
		{"create existing", map[string]string{}, map[string]string{"f": "new\n"}, map[string]string{"f": "other\n"}, "already exists"},
		{"delete with extra content", map[string]string{"f": big}, map[string]string{}, map[string]string{"f": big + "local\n"}, "does not remove"},
		{"modify a directory", map[string]string{"f": big}, map[string]string{"f": big + "x\n"}, map[string]string{"f/inner": "x"}, "not a regular file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			files, _ := gitDiff(t, tc.before, tc.after, nil)
			res, err := ApplySeries(os.DirFS(treeOf(t, tc.tree)), []Patch{{Name: "p", Files: files}}, DefaultOptions())
			cs := conflicts(err)
			if len(cs) != 1 || !strings.Contains(cs[0].Reason, tc.reason) || cs[0].Patch != "p" || cs[0].File != "f" {
				t.Fatalf("err = %v, want one conflict on f about %q", err, tc.reason)
			}
			if res.Patches[0].Files[0].Status != StatusConflict {
				t.Errorf("file status %v", res.Patches[0].Files[0].Status)
			}
		})
	}
}

// TestModeKept: a content-only git diff restates the mode on its index
// line; that must not reset a tree file's different mode.
func TestModeKept(t *testing.T) {
	body := text(genLines(10))
	files, diff := gitDiff(t, map[string]string{"run.sh": body}, map[string]string{"run.sh": body + "exit 0\n"}, nil)
	if !strings.Contains(diff, "index ") || !strings.Contains(diff, " 100644") {
		t.Fatalf("diff lacks a mode on its index line:\n%s", diff)
	}
	res, err := ApplySeries(fstest.MapFS{"run.sh": {Data: []byte(body), Mode: 0o755}}, []Patch{{Name: "p", Files: files}}, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if m := res.Changes["run.sh"].Mode; m != 0o755 {
		t.Errorf("mode = %v, want the tree's 0755", m)
	}
}

func TestBinaryPatchRefused(t *testing.T) {
	before := map[string]string{"blob.bin": "\x00\x01\x02 binary"}
	after := map[string]string{"blob.bin": "\x00\x01\x03 binary!"}
	for _, args := range [][]string{{"--binary"}, nil} {
		files, _ := gitDiff(t, before, after, nil, args...)
		_, err := ApplySeries(os.DirFS(treeOf(t, before)), []Patch{{Name: "p", Files: files}}, DefaultOptions())
		var ue *UnsupportedError
		if !errors.As(err, &ue) || ue.File != "blob.bin" || ue.Reason != "binary patch" {
			t.Errorf("args %v: err = %v, want UnsupportedError for blob.bin", args, err)
		}
	}
}
