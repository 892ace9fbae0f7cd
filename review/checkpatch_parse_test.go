package review

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// goldens are the checkpatch outputs in testdata/checkpatch, by path
// below it (see testdata/README.md for where they come from).
func goldens(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("testdata/checkpatch/*/*.out")
	if err != nil || len(files) == 0 {
		t.Fatalf("no checkpatch outputs in testdata/checkpatch: %v", err)
	}
	return files
}

func parseGolden(t *testing.T, path string) *CheckpatchResult {
	t.Helper()
	out, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := ParseCheckpatch(out)
	if err != nil {
		t.Fatalf("ParseCheckpatch(%s): %v", path, err)
	}
	return r
}

// brief is an item as "SEVERITY:TYPE file:line #patchline" for
// comparing, locations joined with ";".
func brief(it CheckpatchItem) string {
	s := string(it.Severity) + ":" + it.Type
	for i, l := range it.Locations {
		sep := " "
		if i > 0 {
			sep = ";"
		}
		s += fmt.Sprintf("%s%s:%d #%d", sep, l.File, l.Line, l.PatchLine)
	}
	return s
}

func TestParseCheckpatchGolden(t *testing.T) {
	for _, tc := range []struct {
		file                            string
		errors, warnings, checks, lines int
		items                           []string
	}{
		{"async-buffered-reads/0000-cover-letter.out", 1, 1, 0, 0,
			[]string{"WARNING:TYPO_SPELLING :0 #48", "ERROR:NOT_UNIFIED_DIFF"}},
		{"async-buffered-reads/0001-block-read-ahead-submission-should-imply-no-wait-as.out", 0, 0, 0, 9, nil},
		{"async-buffered-reads/0003-mm-abstract-out-wake_page_match-from-wake_page_funct.out", 0, 2, 0, 90,
			[]string{"WARNING:SUSPECT_CODE_INDENT include/linux/pagemap.h:475 #39",
				"WARNING:TABSTOP include/linux/pagemap.h:476 #40"}},
		{"async-buffered-reads/0007-ext4-flag-as-supporting-buffered-async-reads.out", 0, 1, 0, 8,
			[]string{"WARNING:COMMIT_MESSAGE"}},
		{"async-buffered-reads/0012-io_uring-support-true-async-buffered-reads-if-file-p.out", 0, 2, 0, 123,
			[]string{"WARNING:UNSPECIFIED_INT fs/io_uring.c:2609 #72", "WARNING:TYPO_SPELLING fs/io_uring.c:2633 #96"}},
		{"faults-6.1/0002-ktest-fault-debugfs-trigger-for-oops-WARN-BUG-and-hung-task.out", 0, 3, 0, 66,
			[]string{"WARNING:FILE_PATH_CHANGES :0 #32", "WARNING:VOLATILE kernel/ktest_fault.c:34 #70",
				"WARNING:AVOID_BUG kernel/ktest_fault.c:40 #76"}},
		// CHECKs on (a net/ file): the total line has a checks count.
		{"extra/obsolete-camelcase.out", 1, 2, 1, 4,
			[]string{"WARNING:OBSOLETE", "WARNING:COMMIT_MESSAGE",
				"CHECK:CAMELCASE drivers/net/wireless/intersil/hostap/hostap_main.c:36 #7", "ERROR:MISSING_SIGN_OFF"}},
		// The excerpt of the second item starts with "WARNING:".
		{"extra/quoted-splat.out", 1, 3, 0, 4,
			[]string{"WARNING:EMAIL_SUBJECT :0 #4", "WARNING:TYPO_SPELLING :0 #10",
				"ERROR:TRAILING_WHITESPACE mm/filemap.c:2729 #24", "WARNING:LONG_LINE_COMMENT mm/filemap.c:2729 #24"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			r := parseGolden(t, filepath.Join("testdata/checkpatch", tc.file))
			if r.Errors != tc.errors || r.Warnings != tc.warnings || r.Checks != tc.checks || r.Lines != tc.lines {
				t.Errorf("counts = %d errors, %d warnings, %d checks, %d lines; want %d, %d, %d, %d",
					r.Errors, r.Warnings, r.Checks, r.Lines, tc.errors, tc.warnings, tc.checks, tc.lines)
			}
			var got []string
			for _, it := range r.Items {
				got = append(got, brief(it))
			}
			if !slices.Equal(got, tc.items) {
				t.Errorf("items:\n got %q\nwant %q", got, tc.items)
			}
		})
	}
}

// Every golden: the items found add up to checkpatch's own counts.
func TestParseCheckpatchCountsMatchItems(t *testing.T) {
	for _, f := range goldens(t) {
		r := parseGolden(t, f)
		n := map[Severity]int{}
		for _, it := range r.Items {
			n[it.Severity]++
			if it.Type == "" || it.Message == "" {
				t.Errorf("%s: item without type or message: %+v", f, it)
			}
		}
		if n[SevError] != r.Errors || n[SevWarning] != r.Warnings || n[SevCheck] != r.Checks {
			t.Errorf("%s: items by severity %v, total line says %d errors, %d warnings, %d checks",
				f, n, r.Errors, r.Warnings, r.Checks)
		}
	}
}

func TestParseCheckpatchItemText(t *testing.T) {
	for _, tc := range []struct {
		file    string
		item    int
		message string
		excerpt []string
	}{
		{"async-buffered-reads/0004-mm-add-support-for-async-page-locking.out", 0,
			"'succesful' may be misspelled - perhaps 'successful'?",
			[]string{"+\t\t * If we were succesful now, we know we're still on the", " \t\t              ^^^^^^^^^"}},
		{"async-buffered-reads/0003-mm-abstract-out-wake_page_match-from-wake_page_funct.out", 0,
			"suspect code indent for conditional statements (8, 15)",
			[]string{"+\tif (wait_page->page != key->page)", "+\t       return 0;"}},
		{"async-buffered-reads/0000-cover-letter.out", 1, "Does not appear to be a unified-diff format patch", nil},
		{"extra/quoted-splat.out", 1, "'succesful' may be misspelled - perhaps 'successful'?",
			[]string{"WARNING: CPU: 0 PID: 1 at filemap_read+0x1c/0x40: read was not succesful",
				"                                                               ^^^^^^^^^"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			r := parseGolden(t, filepath.Join("testdata/checkpatch", tc.file))
			it := r.Items[tc.item]
			if it.Message != tc.message || !slices.Equal(it.Excerpt, tc.excerpt) {
				t.Errorf("item %d = %q %q, want %q %q", tc.item, it.Message, it.Excerpt, tc.message, tc.excerpt)
			}
		})
	}
}

func TestParseCheckpatchInputs(t *testing.T) {
	for _, tc := range []struct {
		name    string
		out     string
		wantErr error
		want    []string // brief items
		message string   // of the first item
	}{
		{name: "empty", out: "", wantErr: ErrNoCheckpatchSummary},
		{name: "not a tree", out: "Must be run from the top-level dir. of a kernel tree\n", wantErr: ErrNoCheckpatchSummary},
		{name: "cut short", out: "WARNING:LONG_LINE: line length of 120 exceeds 100 columns\n#9: FILE: a.c:3:\n+x\n\n",
			wantErr: ErrNoCheckpatchSummary},
		{name: "without --show-types",
			out:  "ERROR: trailing whitespace\n#9: FILE: a.c:3:\n+x \n\ntotal: 1 errors, 0 warnings, 5 lines checked\n",
			want: []string{"ERROR: a.c:3 #9"}, message: "trailing whitespace"},
		{name: "message on two lines",
			out: "WARNING:FILE_PATH_CHANGES: added, moved or deleted file(s)\nsecond line\n#32: \nnew file mode 100644\n\n" +
				"total: 0 errors, 1 warnings, 10 lines checked\n",
			want: []string{"WARNING:FILE_PATH_CHANGES :0 #32"}, message: "added, moved or deleted file(s)\nsecond line"},
		{name: "summary-file prefix", out: "a.patch total: 0 errors, 0 warnings, 3 lines checked\n"},
		{name: "CRLF", out: "CHECK:BRACES: braces {} should be used\r\n#5: FILE: b.c:1:\r\n+x\r\n\r\n" +
			"total: 0 errors, 0 warnings, 1 checks, 5 lines checked\r\n",
			want: []string{"CHECK:BRACES b.c:1 #5"}, message: "braces {} should be used"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ParseCheckpatch([]byte(tc.out))
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			var got []string
			for _, it := range r.Items {
				got = append(got, brief(it))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("items = %q, want %q", got, tc.want)
			}
			if len(r.Items) > 0 && r.Items[0].Message != tc.message {
				t.Errorf("message = %q, want %q", r.Items[0].Message, tc.message)
			}
		})
	}
}

func TestCheckpatchSummary(t *testing.T) {
	for _, tc := range []struct {
		errors, warnings, checks int
		want                     string
	}{
		{0, 0, 0, "clean"},
		{2, 5, 1, "2 errors, 5 warnings, 1 check"},
		{0, 1, 0, "1 warning"},
		{1, 0, 3, "1 error, 3 checks"},
	} {
		r := &CheckpatchResult{Errors: tc.errors, Warnings: tc.warnings, Checks: tc.checks}
		if got := r.Summary(); got != tc.want {
			t.Errorf("Summary(%d, %d, %d) = %q, want %q", tc.errors, tc.warnings, tc.checks, got, tc.want)
		}
		if got := fmt.Sprint(r); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
	}
}
