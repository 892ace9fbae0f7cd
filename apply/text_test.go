package apply

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/bluekeyes/go-gitdiff/gitdiff"
)

// textReport applies diff to a one-file tree and renders the text report
// at 80 columns.
func textReport(t *testing.T, tree, diff string, c TextContext) string {
	t.Helper()
	t.Setenv("COLUMNS", "80")
	files, _, err := gitdiff.Parse(strings.NewReader(diff))
	if err != nil {
		t.Fatal(err)
	}
	res, applyErr := ApplySeries(fstest.MapFS{"f.c": {Data: []byte(tree), Mode: 0o644}}, []Patch{{ID: "1/1", Name: "1/1 fix f", Files: files}}, DefaultOptions())
	written := ReportWritten{Mode: "dry-run"}
	if applyErr != nil {
		written.Mode = "none"
	}
	doc := NewReport(res, applyErr, ReportSeries{Source: "s.mbox", Title: "fix f", Version: 2}, "/src/linux",
		ReportOptions{MaxFuzz: 2}, []Origin{{Source: "s.mbox", Line: 1}}, written)
	doc.Read = "HEAD abc"
	var b strings.Builder
	if err := doc.WriteText(&b, res, c); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

const textDiff = "diff --git a/f.c b/f.c\n--- a/f.c\n+++ b/f.c\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n"

func TestWriteTextApplied(t *testing.T) {
	got := textReport(t, "a\nb\nc\n", textDiff, TextContext{TreeHow: "--tree", Revisions: []string{"v1 also in the input"}, Missing: "patch 2/2 missing"})
	want := `tree:      /src/linux (--tree); read: HEAD abc
series:    fix f (v2, s.mbox)
patches:   1 (in order; fuzz up to 2)
           - v1 also in the input
         ! patch 2/2 missing: applied without them, as --allow-missing asks

PATCH      FILE  HUNK  STATUS  LINE  OFFSET  FUZZ
1/1 fix f  f.c      1  exact      1      +0     0

hunks:     1 exact

dry run: nothing written (use --out DIR for a private copy, or --in-place)
  would change f.c (modified, mode 0644)
`
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestWriteTextConflict(t *testing.T) {
	got := textReport(t, "x\ny\nz\n", textDiff, TextContext{TreeHow: "the kernel checkout you are in"})
	for _, want := range []string{
		"1/1 fix f  f.c      1  conflict",
		"conflicts: 1\n",
		"conflicts (nearest region of the file against what the hunk expected):",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	if strings.Contains(got, "would change") {
		t.Errorf("a failed apply says what it would change:\n%s", got)
	}
}
