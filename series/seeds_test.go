package series

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// seedDir holds the real inputs the project started from (see its README).
const seedDir = "../testdata/seeds"

func seedPath(t *testing.T, prefix string) string {
	t.Helper()
	matches, _ := filepath.Glob(filepath.Join(seedDir, prefix+"_*.txt"))
	if len(matches) != 1 {
		t.Fatalf("seed %s: found %v in %s, want one", prefix, matches, seedDir)
	}
	return matches[0]
}

func readSeed(t *testing.T, prefix string) (string, []byte) {
	t.Helper()
	p := seedPath(t, prefix)
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return p, data
}

// TestSeedsDamaged checks that each damaged seed is refused with the
// right kind, line and patch name.
func TestSeedsDamaged(t *testing.T) {
	tests := []struct {
		seed      string
		kind      DamageKind
		line      int
		patch     string
		reasonHas string
	}{
		{"001", WhitespaceStripped, 21, "mm: Add AOP_UPDATED_PAGE return value",
			`leading whitespace stripped: context line "ops PageLocked(page) i_rwsem" does not start with ' ', '+' or '-' (the diff was copied from a web archive)`},
		{"004", NewlinesFlattened, 1, "Filesystem aio read", "newlines flattened"},
	}
	for _, tt := range tests {
		t.Run(tt.seed, func(t *testing.T) {
			path := seedPath(t, tt.seed)
			_, err := Load(path)
			var de *DamageError
			if !errors.As(err, &de) {
				t.Fatalf("Load(%s) = %v, want a *DamageError", path, err)
			}
			if de.Kind != tt.kind || de.Line != tt.line || de.Patch != tt.patch || de.File != path {
				t.Errorf("got %s:%d patch %q kind %s, want %s:%d patch %q kind %s", de.File, de.Line, de.Patch, de.Kind, path, tt.line, tt.patch, tt.kind)
			}
			if !strings.Contains(de.Reason, tt.reasonHas) {
				t.Errorf("reason %q lacks %q", de.Reason, tt.reasonHas)
			}
			wantPrefix := path + ":" + strconv.Itoa(tt.line) + ": patch \"" + tt.patch + "\": "
			if !strings.HasPrefix(err.Error(), wantPrefix) {
				t.Errorf("error %q does not start with %q", err, wantPrefix)
			}
		})
	}
}

func TestSeedsParsed(t *testing.T) {
	tests := []struct {
		seed     string
		subject  string
		author   string
		files    []string
		added    int
		deleted  int
		trailers []string // keys in order
		notes    int
	}{
		{"000", "mm: support async buffered reads in generic_file_buffered_read()", "Jens Axboe <axboe@kernel.dk>",
			[]string{"mm/filemap.c"}, 27, 11, []string{"Acked-by", "Signed-off-by"}, 0},
		{"003", "direct-io: Implement generic deferred AIO completions", "Christoph Hellwig <hch@lst.de>",
			[]string{"fs/direct-io.c"}, 69, 16, []string{"Signed-off-by", "Signed-off-by", "Signed-off-by"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.seed, func(t *testing.T) {
			s, err := Load(seedPath(t, tt.seed))
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Patches) != 1 || s.Cover != nil {
				t.Fatalf("got %d patches, cover %v; want 1 patch, no cover", len(s.Patches), s.Cover != nil)
			}
			p := s.Patches[0]
			if p.Subject != tt.subject || s.Title != tt.subject || p.Author != tt.author {
				t.Errorf("subject %q title %q author %q", p.Subject, s.Title, p.Author)
			}
			if p.Number != 1 || p.Total != 1 || s.Version != 1 || p.Line != 1 {
				t.Errorf("number %d/%d version %d line %d, want 1/1 v1 line 1", p.Number, p.Total, s.Version, p.Line)
			}
			var files []string
			for _, st := range p.Diffstat() {
				files = append(files, st.Path)
			}
			if strings.Join(files, ",") != strings.Join(tt.files, ",") {
				t.Errorf("files %v, want %v", files, tt.files)
			}
			if a, d := p.Changes(); a != tt.added || d != tt.deleted {
				t.Errorf("+%d/-%d, want +%d/-%d", a, d, tt.added, tt.deleted)
			}
			var keys []string
			for _, tr := range p.Trailers {
				keys = append(keys, tr.Key)
			}
			if strings.Join(keys, ",") != strings.Join(tt.trailers, ",") {
				t.Errorf("trailers %v, want %v", keys, tt.trailers)
			}
			if strings.Contains(p.Body, "Signed-off-by") || p.Body == "" {
				t.Errorf("body should hold the message without trailers: %q", p.Body)
			}
			if len(s.Notes) != tt.notes || len(s.Warnings) != 0 {
				t.Errorf("notes %q warnings %q", s.Notes, s.Warnings)
			}
		})
	}
}

// TestSeed002 checks the flagship lore thread: 12 patches, the cover,
// two review fixups, v3 by the author's correction, and two later resends
// of patch 6, as v4 and v5. As b4 would, ktest applies the newest, v5,
// which the thread holds only 06/12 of: the others are v3's (a partial
// resend), and the report says that a change v5 made to them is not in
// the input, and that --use-version 3 applies v3 as posted.
func TestSeed002(t *testing.T) {
	s, err := Load(seedPath(t, "002"))
	if err != nil {
		t.Fatal(err)
	}
	subjects := []string{
		"block: read-ahead submission should imply no-wait as well",
		"mm: allow read-ahead with IOCB_NOWAIT set",
		"mm: abstract out wake_page_match() from wake_page_function()",
		"mm: add support for async page locking",
		"mm: support async buffered reads in generic_file_buffered_read()",
		"fs: add FMODE_BUF_RASYNC",
		"ext4: flag as supporting buffered async reads",
		"block: flag block devices as supporting IOCB_WAITQ",
		"xfs: flag files as supporting buffered async reads",
		"btrfs: flag files as supporting buffered async reads",
		"mm: add kiocb_wait_page_queue_init() helper",
		"io_uring: support true async buffered reads, if file provides it",
	}
	if s.Format != "lore-thread" || s.Title != "Add support for async buffered reads" || s.Version != 5 || fmt.Sprint(s.Versions) != "[3 4 5]" {
		t.Errorf("format %q title %q version %d of %v", s.Format, s.Title, s.Version, s.Versions)
	}
	if s.Cover == nil || s.Cover.Line != 1 || s.Cover.Diff != "" {
		t.Fatalf("cover %+v", s.Cover)
	}
	if s.Tree != "git://git.kernel.dk/linux-block async-buffered.3" {
		t.Errorf("tree %q", s.Tree)
	}
	if len(s.Patches) != len(subjects) {
		t.Fatalf("%d patches, want %d", len(s.Patches), len(subjects))
	}
	for i, p := range s.Patches {
		wantVersion, wantDate, wantLine := 3, time.Date(2020, 5, 23, 18, 57, 0, 0, time.UTC), 0
		if i == 5 {
			wantVersion, wantDate, wantLine = 5, time.Date(2020, 5, 26, 19, 51, 0, 0, time.UTC), 2545
		}
		if p.Subject != subjects[i] || p.Number != i+1 || p.Total != 12 || p.Version != wantVersion || wantLine != 0 && p.Line != wantLine {
			t.Errorf("patch %d: %d/%d v%d %q line %d", i+1, p.Number, p.Total, p.Version, p.Subject, p.Line)
		}
		if p.Author != "Jens Axboe <axboe@kernel.dk>" || !p.Date.Equal(wantDate) || len(p.Files) == 0 {
			t.Errorf("patch %d: author %q date %v files %d", i+1, p.Author, p.Date, len(p.Files))
		}
		if len(p.Trailers) != 1 || p.Trailers[0].Value != "Jens Axboe <axboe@kernel.dk>" {
			t.Errorf("patch %d trailers %+v", i+1, p.Trailers)
		}
	}
	if got := s.Patches[11].Files[0].NewName; got != "fs/io_uring.c" {
		t.Errorf("patch 12 file %q", got)
	}
	if len(s.Warnings) != 0 {
		t.Errorf("warnings: %q", s.Warnings)
	}
	if !strings.Contains(strings.Join(s.Notes, "\n"), `"And this one is v3, obviously, not v2..."`) {
		t.Errorf("notes do not explain the version: %q", s.Notes)
	}

	// Fixups: the ki_waitq union (reply to 05) and __io_read (reply to 12).
	if len(s.Fixups) != 2 {
		t.Fatalf("%d fixups, want 2", len(s.Fixups))
	}
	fix := []struct {
		of       int
		files    string
		contains string
	}{
		{5, "include/linux/fs.h,include/linux/pagemap.h,mm/filemap.c", "struct wait_page_queue	*ki_waitq;"},
		{12, "fs/io_uring.c", "+static int __io_read(struct io_kiocb *req, struct iov_iter *iter)"},
	}
	for i, f := range fix {
		p := s.Fixups[i]
		var names []string
		for _, st := range p.Diffstat() {
			names = append(names, st.Path)
		}
		if p.RevisionOf != f.of || strings.Join(names, ",") != f.files || !strings.Contains(p.Diff, f.contains) {
			t.Errorf("fixup %d: of %d files %v, diff has %q: %v", i+1, p.RevisionOf, names, f.contains, strings.Contains(p.Diff, f.contains))
		}
		if strings.Contains(p.Diff, "> ") || p.Note == "" || strings.Contains(p.Body, "> ") {
			t.Errorf("fixup %d: quoted text leaked or note missing: note %q", i+1, p.Note)
		}
	}
	if !strings.Contains(s.Fixups[0].Note, "incremental") {
		t.Errorf("fixup 1 note %q", s.Fixups[0].Note)
	}
	if got := s.ToApply(true); len(got) != 14 || got[12] != s.Fixups[0] {
		t.Errorf("ToApply(true) has %d entries", len(got))
	}
	if got := s.ToApply(false); len(got) != 12 {
		t.Errorf("ToApply(false) has %d entries", len(got))
	}

	// Not applied: v3's and v4's 06/12, superseded by v5's.
	if len(s.Revisions) != 2 {
		t.Fatalf("%d revisions, want 2", len(s.Revisions))
	}
	for i, v := range []int{3, 4} {
		r := s.Revisions[i]
		if r.RevisionOf != 6 || r.Version != v || r.Subject != "fs: add FMODE_BUF_RASYNC" || r.Kind != KindRevision {
			t.Errorf("revision %d: of %d v%d %q", i, r.RevisionOf, r.Version, r.Subject)
		}
	}
	if s.Revisions[1].Diff == s.Patches[5].Diff {
		t.Errorf("the v5 resend has a different base index line than the v4 one")
	}
	want := []string{
		"v5 is applied: the newest of v3, v4 and v5 in the input (--use-version N applies another)",
		"v5 is partial here: the input holds 1 of its 12 patches, and 11 are taken from earlier versions as posted (a partial resend); " +
			"a change v5 made to those is not in the input (--use-version 3 applies v3, whole, as posted)",
		"01–05, 07–12/12: not in v5; v3 (2020-05-23) is applied, the newest earlier version that has it",
		"06/12: v5 (2020-05-26) supersedes v3 (2020-05-23) and v4 (2020-05-24)",
	}
	if got := s.RevisionLines(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("revision lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !slices.Contains(s.Notes, "the cover letter is v3's: v5's is not in the input") {
		t.Errorf("notes %q do not say whose cover letter it is", s.Notes)
	}

	// --use-version 3: v3 as posted, the resends listed as later ones.
	v3, err := Options{Version: 3}.Load(seedPath(t, "002"))
	if err != nil {
		t.Fatal(err)
	}
	if v3.Version != 3 || len(v3.Patches) != 12 || v3.Patches[5].Line != 475 || len(v3.Revisions) != 2 || !v3.VersionAsked {
		t.Errorf("v3: version %d, %d patches, 06 at line %d, %d not applied", v3.Version, len(v3.Patches), v3.Patches[5].Line, len(v3.Revisions))
	}
	want = []string{
		"v3 is applied, as asked (--use-version 3); the input also has v4 and v5",
		"06/12: v4 (2020-05-24) and v5 (2020-05-26) not applied: v3 was asked for",
	}
	if got := v3.RevisionLines(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("v3 revision lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The subject said v2: the version asked for is the corrected one.
	_, err = Options{Version: 2}.Load(seedPath(t, "002"))
	var ve *VersionError
	if !errors.As(err, &ve) || !strings.Contains(err.Error(), "no v2 in the input; it holds v3 (posted as v2), v4, v5") {
		t.Errorf("--use-version 2: %v", err)
	}
}

// TestReplyTrailers checks that trailers given in replies attach to the
// patch replied to (or, for the cover, to every patch), and that quoted
// trailers do not count.
func TestReplyTrailers(t *testing.T) {
	_, data := readSeed(t, "002")
	text := string(data)
	// Trond's "Ack." reply becomes a formal one, and a reviewer acks the
	// cover letter.
	text = strings.Replace(text, "Ack. That seems cleaner to me.\n", "Ack. That seems cleaner to me.\nAcked-by: Trond Myklebust <trond.myklebust@hammerspace.com>\n", 1)
	text = strings.Replace(text, "Thanks! Glad you like it.\n", "Thanks! Glad you like it.\n> Reviewed-by: Quoted Person <q@example.org>\n", 1)
	text = strings.Replace(text, "Chris\nOn 23/05/2020 20:20, Jens Axboe wrote:", "Chris\nTested-by: Chris Panayis <chris@example.org>\nOn 23/05/2020 20:20, Jens Axboe wrote:", 1)
	s, err := Parse("002-with-acks", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	has := func(p *Patch, key, name string) bool {
		for _, tr := range p.Trailers {
			if tr.Key == key && strings.HasPrefix(tr.Value, name) && tr.FromReply {
				return true
			}
		}
		return false
	}
	for _, p := range s.Patches {
		if !has(p, "Tested-by", "Chris Panayis") {
			t.Errorf("patch %d lacks the cover letter's Tested-by: %+v", p.Number, p.Trailers)
		}
		if got := has(p, "Acked-by", "Trond Myklebust"); got != (p.Number == 5) {
			t.Errorf("patch %d has Trond's Acked-by: %v", p.Number, got)
		}
		if has(p, "Reviewed-by", "Quoted Person") {
			t.Errorf("patch %d took a quoted trailer", p.Number)
		}
	}
}
