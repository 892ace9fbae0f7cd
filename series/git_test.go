package series

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// repo is a scratch git repository holding a five-commit series on top
// of a small kernel-like base, made with the real git.
type repo struct {
	t        *testing.T
	dir      string
	base     string   // base commit
	commits  []string // series commits, oldest first
	subjects []string
}

func (r *repo) git(args ...string) string {
	r.t.Helper()
	return runIn(r.t, r.dir, "git", args...)
}

func runIn(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+dir, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=Jens Axboe", "GIT_AUTHOR_EMAIL=axboe@kernel.dk",
		"GIT_COMMITTER_NAME=Jens Axboe", "GIT_COMMITTER_EMAIL=axboe@kernel.dk",
		"GIT_AUTHOR_DATE=2020-05-23T18:57:00Z", "GIT_COMMITTER_DATE=2020-05-23T18:57:00Z", "LC_ALL=C")
	out, err := cmd.CombinedOutput()
	if err != nil {
		var ee *exec.ExitError
		// diff exits 1 when files differ: that is its output, not a failure.
		if !(name == "diff" && errors.As(err, &ee) && ee.ExitCode() == 1) {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
	}
	return string(out)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func cLines(prefix string, n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "\t%s_%d();\n", prefix, i)
		if i%7 == 0 {
			b.WriteString("\n")
		}
	}
	return b.String()
}

func newRepo(t *testing.T) *repo {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	r := &repo{t: t, dir: t.TempDir()}
	r.git("init", "-q", "-b", "master")
	writeFile(t, filepath.Join(r.dir, "mm/filemap.c"), "// SPDX-License-Identifier: GPL-2.0\nint filemap(void)\n{\n"+cLines("read", 40)+"}\n")
	writeFile(t, filepath.Join(r.dir, "include/linux/fs.h"), "#define FMODE_NOWAIT 0x8000000\n"+cLines("fs", 20))
	writeFile(t, filepath.Join(r.dir, "fs/io_uring.c"), "static int io_read(void)\n{\n"+cLines("io", 30)+"}\n")
	writeFile(t, filepath.Join(r.dir, "fs/old_name.c"), cLines("old", 10))
	r.git("add", "-A")
	r.git("commit", "-q", "-m", "base")
	r.base = strings.TrimSpace(r.git("rev-parse", "HEAD"))

	steps := []struct {
		subject, body string
		edit          func()
		author        string
	}{
		{"mm: allow read-ahead with IOCB_NOWAIT set",
			"The read-ahead shouldn't block.\n\nFrom the start this was meant to be\nopportunistic.\n\nAcked-by: Johannes Weiner <hannes@cmpxchg.org>\nSigned-off-by: Jens Axboe <axboe@kernel.dk>",
			func() { r.edit("mm/filemap.c", "\tread_12();\n", "\tif (nowait)\n\t\treturn -EAGAIN;\n\tread_12();\n") }, ""},
		{"fs: add FMODE_BUF_RASYNC",
			"If set, the file supports async buffered reads.\n\nSigned-off-by: Jens Axboe <axboe@kernel.dk>",
			func() {
				r.edit("include/linux/fs.h", "#define FMODE_NOWAIT 0x8000000\n", "#define FMODE_NOWAIT 0x8000000\n#define FMODE_BUF_RASYNC 0x40000000\n")
				writeFile(t, filepath.Join(r.dir, "fs/new.c"), "int new_file(void);\n")
			}, ""},
		{"io_uring: support true async buffered reads",
			"Retry instead of punting to io-wq.\n\nSigned-off-by: Jens Axboe <axboe@kernel.dk>",
			func() {
				r.edit("fs/io_uring.c", "\tio_3();\n", "\tio_3();\n\tif (retry)\n\t\tgoto again;\n")
				r.edit("fs/io_uring.c", "\tio_25();\n", "")
				r.git("mv", "fs/old_name.c", "fs/new_name.c")
			}, ""},
		{"iommu: tidy up",
			"Non-ASCII author and body: Jörg wrote it.\n\nSigned-off-by: Jörg Rödel <joro@8bytes.org>",
			func() { r.edit("mm/filemap.c", "\tread_30();\n", "\tread_30(); /* Jörg */\n") }, "Jörg Rödel <joro@8bytes.org>"},
		{"mm: remove the last read",
			"Signed-off-by: Jens Axboe <axboe@kernel.dk>",
			func() {
				r.edit("mm/filemap.c", "\tread_40();\n", "")
				if err := os.Remove(filepath.Join(r.dir, "fs/new.c")); err != nil {
					t.Fatal(err)
				}
			}, ""},
	}
	for _, st := range steps {
		st.edit()
		r.git("add", "-A")
		args := []string{"commit", "-q", "-m", st.subject + "\n\n" + st.body}
		if st.author != "" {
			args = append(args, "--author", st.author)
		}
		r.git(args...)
		r.commits = append(r.commits, strings.TrimSpace(r.git("rev-parse", "HEAD")))
		r.subjects = append(r.subjects, st.subject)
	}
	return r
}

func (r *repo) edit(name, old, new string) {
	r.t.Helper()
	p := filepath.Join(r.dir, name)
	data, err := os.ReadFile(p)
	if err != nil {
		r.t.Fatal(err)
	}
	if !strings.Contains(string(data), old) {
		r.t.Fatalf("%s lacks %q", name, old)
	}
	writeFile(r.t, p, strings.Replace(string(data), old, new, 1))
}

// numstat returns git's own per-file counts for commit c, as
// "path +a -d" strings, renames as their new path.
func (r *repo) numstat(c string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(r.git("show", "--format=", "--numstat", "-M", c)), "\n") {
		f := strings.Split(l, "\t")
		name := f[2]
		if m := regexp.MustCompile(`^(.*)\{(.*) => (.*)\}(.*)$`).FindStringSubmatch(name); m != nil {
			name = m[1] + m[3] + m[4]
		}
		out = append(out, fmt.Sprintf("%s +%s -%s", name, f[0], f[1]))
	}
	return out
}

func stats(p *Patch) []string {
	var out []string
	for _, st := range p.Diffstat() {
		out = append(out, fmt.Sprintf("%s +%d -%d", st.Path, st.Added, st.Deleted))
	}
	return out
}

// checkSeries compares a loaded series with the repository's commits.
func (r *repo) checkSeries(t *testing.T, s *Series, numbered bool) {
	t.Helper()
	if len(s.Patches) != len(r.commits) {
		t.Fatalf("%d patches, want %d (warnings %q)", len(s.Patches), len(r.commits), s.Warnings)
	}
	for i, p := range s.Patches {
		if p.Subject != r.subjects[i] || p.Number != i+1 || p.Total != len(r.commits) {
			t.Errorf("patch %d: %s %q", i+1, p.ID(), p.Subject)
		}
		if got, want := strings.Join(stats(p), ", "), strings.Join(r.numstat(r.commits[i]), ", "); got != want {
			t.Errorf("patch %d diffstat\n got %s\nwant %s", i+1, got, want)
		}
		wantAuthor := "Jens Axboe <axboe@kernel.dk>"
		if i == 3 {
			wantAuthor = "Jörg Rödel <joro@8bytes.org>"
		}
		if p.Author != wantAuthor || p.Date.IsZero() {
			t.Errorf("patch %d: author %q date %v", i+1, p.Author, p.Date)
		}
	}
	first := s.Patches[0]
	if !strings.Contains(first.Body, "\nFrom the start this was meant to be\n") {
		t.Errorf("patch 1 body lost its \"From \" line: %q", first.Body)
	}
	if len(first.Trailers) < 2 || first.Trailers[0].Key != "Acked-by" || first.Trailers[1].Key != "Signed-off-by" {
		t.Errorf("patch 1 trailers %+v", first.Trailers)
	}
	if len(s.Warnings) != 0 {
		t.Errorf("warnings %q", s.Warnings)
	}
}

func TestGitFormatPatch(t *testing.T) {
	r := newRepo(t)
	rng := r.base + "..HEAD"
	tests := []struct {
		name    string
		make    func(t *testing.T) string // returns the path to Load
		format  string
		version int
		cover   bool
	}{
		{"mbox", func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "series.mbox")
			writeFile(t, p, r.git("format-patch", "--stdout", rng))
			return p
		}, "mbox", 1, false},
		{"directory v2 with cover", func(t *testing.T) string {
			d := t.TempDir()
			r.git("format-patch", "-q", "-v2", "--cover-letter", "--base="+r.base, "-o", d, rng)
			return d
		}, "directory", 2, true},
		{"attachments", func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "attach.mbox")
			out := r.git("format-patch", "--attach", "--stdout", rng)
			if !strings.Contains(out, "Content-Type: multipart/mixed") {
				t.Fatal("git format-patch --attach made no multipart mail")
			}
			writeFile(t, p, out)
			return p
		}, "mbox", 1, false},
		{"b4 am mboxrd", func(t *testing.T) string {
			out := r.git("format-patch", "--stdout", rng)
			out = regexp.MustCompile(`(?m)^From [0-9a-f]{40} Mon Sep 17 00:00:00 2001$`).ReplaceAllString(out, "From git@z Thu Jan  1 00:00:00 1970")
			out = regexp.MustCompile(`(?m)^(>*From [^g])`).ReplaceAllString(out, ">$1")
			if !strings.Contains(out, "\n>From the start") {
				t.Fatal("escaping did not happen")
			}
			p := filepath.Join(t.TempDir(), "b4.mbx")
			writeFile(t, p, out)
			return p
		}, "mbox", 1, false},
		{"git log -p", func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "log.txt")
			writeFile(t, p, r.git("log", "-p", "-M", "--reverse", rng))
			return p
		}, "git-show", 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Load(tt.make(t))
			if err != nil {
				t.Fatal(err)
			}
			if s.Format != tt.format || s.Version != tt.version || (s.Cover != nil) != tt.cover {
				t.Errorf("format %q version %d cover %v", s.Format, s.Version, s.Cover != nil)
			}
			r.checkSeries(t, s, true)
			// format-patch's placeholder subject is no title: the
			// first patch names the series, and a note says why.
			if tt.cover && (s.Cover.Subject != "*** SUBJECT HERE ***" || s.Title != s.Patches[0].Subject || s.Cover.Number != 0 || s.Base != r.base ||
				!slices.ContainsFunc(s.Notes, func(n string) bool { return strings.Contains(n, "placeholder") })) {
				t.Errorf("cover %q title %q base %q notes %q", s.Cover.Subject, s.Title, s.Base, s.Notes)
			}
		})
	}
}

// TestThreadReplies appends review replies to a threaded format-patch
// mbox: trailers attach through In-Reply-To, a reply's diff is a fixup,
// and a v2 resend of one patch is applied in place of v1's (the other
// patches backfilled from v1), keeping the trailers v1's got, since it
// did not change the diff.
func TestThreadReplies(t *testing.T) {
	r := newRepo(t)
	mbox := r.git("format-patch", "--stdout", "--thread", "--cover-letter", "--subject-prefix=PATCH", r.base+"..HEAD")
	ids := regexp.MustCompile(`(?m)^Message-Id: <([^>]+)>`).FindAllStringSubmatch(mbox, -1)
	if len(ids) != 6 {
		t.Fatalf("%d Message-Ids", len(ids))
	}
	cover, p2 := ids[0][1], ids[2][1]
	reply := func(inReplyTo, subject, body string) string {
		return fmt.Sprintf("From reviewer@example.org Sun May 24 10:00:00 2020\nFrom: Re Viewer <reviewer@example.org>\nDate: Sun, 24 May 2020 10:00:00 +0000\nSubject: Re: %s\nMessage-Id: <r%d@example.org>\nIn-Reply-To: <%s>\nReferences: <%s>\n\n%s\n", subject, len(body), inReplyTo, inReplyTo, body)
	}
	fixup := "diff --git a/include/linux/fs.h b/include/linux/fs.h\n--- a/include/linux/fs.h\n+++ b/include/linux/fs.h\n@@ -1,2 +1,2 @@\n #define FMODE_NOWAIT 0x8000000\n-#define FMODE_BUF_RASYNC 0x40000000\n+#define FMODE_BUF_RASYNC ((__force fmode_t)0x40000000)\n"
	resend := r.git("format-patch", "--stdout", "-v2", "--start-number=2", "-1", r.commits[1])
	resend = strings.Replace(resend, "[PATCH v2]", "[PATCH v2 2/5]", 1)
	mbox += reply(p2, "[PATCH 2/5] fs: add FMODE_BUF_RASYNC", "> If set, the file supports async buffered reads.\n> Reviewed-by: Quoted <q@example.org>\nLooks right.\n\nReviewed-by: Re Viewer <reviewer@example.org>") +
		reply(cover, "[PATCH 0/5] *** SUBJECT HERE ***", "On Sat, 23 May 2020, Jens Axboe wrote:\n> *** BLURB HERE ***\n\nTested-by: Re Viewer <reviewer@example.org>") +
		reply(p2, "[PATCH 2/5] fs: add FMODE_BUF_RASYNC", "Something like the below on top?\n\n"+fixup+"-- \nRe Viewer") +
		resend
	p := filepath.Join(t.TempDir(), "thread.mbox")
	writeFile(t, p, mbox)
	s, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	r.checkSeries(t, s, true)
	var got []string
	for _, p := range s.Patches {
		for _, tr := range p.Trailers {
			if tr.FromReply {
				got = append(got, fmt.Sprintf("%d %s", p.Number, tr.Key))
			}
		}
	}
	if want := "1 Tested-by,2 Reviewed-by,2 Tested-by,3 Tested-by,4 Tested-by,5 Tested-by"; strings.Join(got, ",") != want {
		t.Errorf("reply trailers %v, want %s", got, want)
	}
	if len(s.Fixups) != 1 || s.Fixups[0].RevisionOf != 2 || s.Fixups[0].Author != "Re Viewer <reviewer@example.org>" ||
		s.Fixups[0].Note != "Something like the below on top?" || len(s.Fixups[0].Files) != 1 {
		t.Errorf("fixups %+v", s.Fixups)
	}
	if len(s.Revisions) != 1 || s.Revisions[0].RevisionOf != 2 || s.Revisions[0].Version != 1 {
		t.Errorf("revisions %+v", s.Revisions)
	}
	if s.Version != 2 || s.Patches[1].Version != 2 || s.Patches[0].Version != 1 || !strings.Contains(s.Patches[1].RawSubject, "v2 2/5") {
		t.Errorf("version %d, patch 2 v%d %q, patch 1 v%d", s.Version, s.Patches[1].Version, s.Patches[1].RawSubject, s.Patches[0].Version)
	}
}

func TestMissingPatch(t *testing.T) {
	r := newRepo(t)
	d := t.TempDir()
	r.git("format-patch", "-q", "-o", d, r.base+"..HEAD")
	third, _ := filepath.Glob(filepath.Join(d, "0003-*.patch"))
	if len(third) != 1 {
		t.Fatal("no 0003 patch")
	}
	if err := os.Remove(third[0]); err != nil {
		t.Fatal(err)
	}
	s, err := Load(d)
	if err != nil {
		t.Fatal(err)
	}
	var nums []string
	for _, p := range s.Patches {
		nums = append(nums, p.ID().String())
	}
	if strings.Join(nums, " ") != "1/5 2/5 4/5 5/5" || strings.Join(s.Warnings, ";") != "patch 3/5 missing" {
		t.Errorf("patches %v warnings %q", nums, s.Warnings)
	}
}

func TestTruncatedMbox(t *testing.T) {
	r := newRepo(t)
	mbox := r.git("format-patch", "--stdout", r.base+"..HEAD")
	tests := []struct {
		name   string
		cut    string // the mbox is cut just before this text
		kind   DamageKind
		patch  string
		reason string
	}{
		{"mid hunk", "\tgoto again;", TruncatedHunk, r.subjects[2], "the input ends after"},
		{"after headers", "\nSigned-off-by: Jens Axboe <axboe@kernel.dk>\n---\n fs/new.c ", TruncatedHunk, r.subjects[4], "has no diff and ends the file"},
		{"mid file header", "+++ b/fs/io_uring.c", TruncatedHunk, r.subjects[2], "not followed by any hunk"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			i := strings.LastIndex(mbox, tt.cut)
			if i < 0 {
				t.Fatalf("mbox lacks %q", tt.cut)
			}
			_, err := Parse("cut.mbox", []byte(mbox[:i]))
			var de *DamageError
			if !errors.As(err, &de) || de.Kind != tt.kind || de.Patch != tt.patch || !strings.Contains(de.Reason, tt.reason) || de.Line == 0 {
				t.Fatalf("Parse = %v, want %s in %q (%s)", err, tt.kind, tt.patch, tt.reason)
			}
		})
	}
}

// TestRoundTripGitAm writes a loaded series with WriteDir and applies the
// files with the real `git am` on the base: the result must be the very
// tree the series was made from, and Load must read the files back.
func TestRoundTripGitAm(t *testing.T) {
	r := newRepo(t)
	p := filepath.Join(t.TempDir(), "series.mbox")
	writeFile(t, p, r.git("format-patch", "--stdout", r.base+"..HEAD"))
	s, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	paths, err := WriteDir(s, out, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != 5 || filepath.Base(paths[0]) != "0001-mm-allow-read-ahead-with-IOCB_NOWAIT-set.patch" {
		t.Errorf("paths %v", paths)
	}
	back, err := Load(out)
	if err != nil {
		t.Fatal(err)
	}
	r.checkSeries(t, back, true)
	for i := range s.Patches {
		if back.Patches[i].Diff != s.Patches[i].Diff || back.Patches[i].Body != s.Patches[i].Body {
			t.Errorf("patch %d changed in the round trip", i+1)
		}
	}

	clone := t.TempDir()
	runIn(t, clone, "git", "clone", "-q", r.dir, ".")
	runIn(t, clone, "git", "checkout", "-q", r.base)
	runIn(t, clone, "git", append([]string{"am", "-q"}, paths...)...)
	want := strings.TrimSpace(r.git("rev-parse", "HEAD^{tree}"))
	got := strings.TrimSpace(runIn(t, clone, "git", "rev-parse", "HEAD^{tree}"))
	if got != want {
		t.Errorf("git am of the written files gives tree %s, want %s", got, want)
	}
	log := runIn(t, clone, "git", "log", "--format=%an|%s", "-5", "--reverse")
	if !strings.Contains(log, "Jörg Rödel|iommu: tidy up") {
		t.Errorf("authors lost in git am:\n%s", log)
	}

	// A second WriteDir over other patch files must refuse, then replace.
	writeFile(t, filepath.Join(out, "0099-stale.patch"), "stale")
	if _, err := WriteDir(s, out, false); err == nil {
		t.Error("WriteDir wrote next to a stale patch file")
	}
	if _, err := WriteDir(s, out, true); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(out, "0099-stale.patch")); !os.IsNotExist(err) {
		t.Error("stale patch file survived a replacing WriteDir")
	}
}

// TestPlainDiffs checks path normalisation of diffs made without git
// headers: -p1 trees, -p0 .orig files and git --no-prefix.
func TestPlainDiffs(t *testing.T) {
	if _, err := exec.LookPath("diff"); err != nil {
		t.Skip("diff not installed")
	}
	r := newRepo(t)
	work := t.TempDir()
	runIn(t, work, "git", "-C", r.dir, "worktree", "add", "-q", filepath.Join(work, "orig"), r.base)
	runIn(t, work, "git", "-C", r.dir, "worktree", "add", "-q", filepath.Join(work, "new"), r.commits[1])
	if err := os.RemoveAll(filepath.Join(work, "orig/.git")); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(work, "new/.git")); err != nil {
		t.Fatal(err)
	}
	single := filepath.Join(work, "single")
	writeFile(t, filepath.Join(single, "mm/filemap.c.orig"), mustRead(t, filepath.Join(work, "orig/mm/filemap.c")))
	writeFile(t, filepath.Join(single, "mm/filemap.c"), mustRead(t, filepath.Join(work, "new/mm/filemap.c")))

	tests := []struct {
		name  string
		diff  string
		files string
	}{
		{"diff -ruN orig new (-p1)", runIn(t, work, "diff", "-ruN", "orig", "new"),
			"fs/new.c +1 -0, include/linux/fs.h +1 -0, mm/filemap.c +2 -0"},
		{"diff -u x.orig x (-p0)", runIn(t, single, "diff", "-u", "mm/filemap.c.orig", "mm/filemap.c"),
			"mm/filemap.c +2 -0"},
		{"git diff --no-prefix", r.git("diff", "--no-prefix", r.base, r.commits[1]),
			"fs/new.c +1 -0, include/linux/fs.h +1 -0, mm/filemap.c +2 -0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse("x.diff", []byte(tt.diff))
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Patches) != 1 || s.Format != "diff" || s.Title != "x" {
				t.Fatalf("%d patches, format %q, title %q", len(s.Patches), s.Format, s.Title)
			}
			got := stats(s.Patches[0])
			if strings.Join(got, ", ") != tt.files {
				t.Errorf("files %v, want %s", got, tt.files)
			}
			for _, f := range s.Patches[0].Files {
				if f.IsNew != (f.NewName == "fs/new.c") {
					t.Errorf("%s: IsNew %v", f.NewName, f.IsNew)
				}
			}
		})
	}
}

func mustRead(t *testing.T, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestSplitRoundTrip002 writes the flagship thread's v3 as patch files
// and reads them back: same subjects, diffs, trailers, version and
// cover.
func TestSplitRoundTrip002(t *testing.T) {
	s, err := Options{Version: 3}.Load(seedPath(t, "002"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	paths, err := WriteDir(s, dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != 13 || filepath.Base(paths[0]) != CoverFileName ||
		filepath.Base(paths[12]) != "0012-io_uring-support-true-async-buffered-reads-if-file-p.patch" {
		t.Errorf("paths %v", paths)
	}
	comparePatches(t, s, dir)
}

// TestFlagshipPatches checks the committed patches/async-buffered-reads
// directory against v3 of seed 002.
func TestFlagshipPatches(t *testing.T) {
	dir := "../patches/async-buffered-reads"
	if _, err := os.Stat(dir); err != nil {
		t.Skip("patches/async-buffered-reads not present")
	}
	s, err := Options{Version: 3}.Load(seedPath(t, "002"))
	if err != nil {
		t.Fatal(err)
	}
	comparePatches(t, s, dir)
}

func comparePatches(t *testing.T, s *Series, dir string) {
	t.Helper()
	back, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Patches) != 12 || back.Version != 3 || back.Title != s.Title || back.Cover == nil || back.Cover.Body != s.Cover.Body {
		t.Fatalf("read back %d patches, v%d, title %q", len(back.Patches), back.Version, back.Title)
	}
	for i, p := range s.Patches {
		q := back.Patches[i]
		if q.Subject != p.Subject || q.Diff != p.Diff || q.Body != p.Body || q.Author != p.Author || !q.Date.Equal(p.Date) {
			t.Errorf("patch %d differs after the round trip: %q vs %q", i+1, q.Subject, p.Subject)
		}
		if fmt.Sprint(q.Trailers) != fmt.Sprint(p.Trailers) || q.ID() != p.ID() {
			t.Errorf("patch %d trailers %v vs %v", i+1, q.Trailers, p.Trailers)
		}
		if strconv.Itoa(q.Version) != "3" {
			t.Errorf("patch %d version %d", i+1, q.Version)
		}
	}
	if len(back.Warnings) != 0 || len(back.Fixups) != 0 || len(back.Revisions) != 0 {
		t.Errorf("warnings %q fixups %d revisions %d", back.Warnings, len(back.Fixups), len(back.Revisions))
	}
}

// TestInterdiff checks that format-patch --interdiff's diff between
// versions is not taken as part of the patch.
func TestInterdiff(t *testing.T) {
	r := newRepo(t)
	out := r.git("format-patch", "--stdout", "-v2", "--interdiff="+r.commits[3], "-1", r.commits[4])
	if !strings.Contains(out, "Interdiff against v1:") {
		t.Fatal("git wrote no interdiff")
	}
	s, err := Parse("v2.patch", []byte(out))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Patches) != 1 || s.Version != 2 {
		t.Fatalf("%d patches, v%d", len(s.Patches), s.Version)
	}
	if got, want := strings.Join(stats(s.Patches[0]), ", "), strings.Join(r.numstat(r.commits[4]), ", "); got != want {
		t.Errorf("diffstat %s, want %s", got, want)
	}
}

func TestBinaryPatch(t *testing.T) {
	r := newRepo(t)
	writeFile(t, filepath.Join(r.dir, "firmware/blob.bin"), "\x00\x01\x02binary\x00\xff")
	r.git("add", "-A")
	r.git("commit", "-q", "-m", "firmware: add blob")
	s, err := Parse("bin.patch", []byte(r.git("format-patch", "--stdout", "--binary", "-1")))
	if err != nil {
		t.Fatal(err)
	}
	f := s.Patches[0].Files
	if len(f) != 1 || !f[0].IsBinary || f[0].BinaryFragment == nil || f[0].NewName != "firmware/blob.bin" || !f[0].IsNew {
		t.Fatalf("files %+v", f)
	}
	_, err = Parse("nobin.patch", []byte(r.git("format-patch", "--stdout", "--no-binary", "-1")))
	var de *DamageError
	if !errors.As(err, &de) || de.Kind != Binary || de.Patch != "firmware: add blob" {
		t.Fatalf("Parse of --no-binary = %v, want Binary damage", err)
	}
}

// TestSplitForGitAm: `git am DIR/*.patch` takes what WriteDir writes
// (the cover letter, which has no diff, is not a *.patch), and the
// commits it makes are the series': same tree, messages and authors.
func TestSplitForGitAm(t *testing.T) {
	r := newRepo(t)
	s, err := Parse("series.mbox", []byte(r.git("format-patch", "--stdout", "--cover-letter", r.base+"..HEAD")))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	paths, err := WriteDir(s, dir, false)
	if err != nil || len(paths) != 6 || filepath.Base(paths[0]) != CoverFileName {
		t.Fatalf("WriteDir = %v, %v", paths, err)
	}
	patches, _ := filepath.Glob(filepath.Join(dir, "*.patch"))
	r.git("checkout", "-q", "-b", "am", r.base)
	r.git(append([]string{"am", "-q"}, patches...)...)
	if d := r.git("diff", "master", "HEAD"); d != "" {
		t.Errorf("git am of the split series differs from the series:\n%s", d)
	}
	format := "--format=%an <%ae>%n%B"
	if got, want := r.git("log", format, r.base+"..HEAD"), r.git("log", format, r.base+"..master"); got != want {
		t.Errorf("commits after git am:\n%s\nwant:\n%s", got, want)
	}
	back, err := Load(dir)
	if err != nil || back.Cover == nil || len(back.Patches) != 5 {
		t.Errorf("read back: %v", err)
	}
}
