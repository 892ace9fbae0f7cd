package series

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// flagshipDir is the embedded async-buffered-reads series (v3, 12
// patches and a cover letter), the cases' raw material.
const flagshipDir = "../patches/async-buffered-reads"

// flagshipFile returns the content of the embedded file whose name
// starts with prefix ("0006-").
func flagshipFile(t *testing.T, prefix string) (name, content string) {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(flagshipDir, prefix+"*.patch"))
	if len(m) != 1 {
		t.Fatalf("%s%s*.patch: %v", flagshipDir, prefix, m)
	}
	return filepath.Base(m[0]), mustRead(t, m[0])
}

// flagshipCopy writes the embedded files numbered nums (0 = the cover
// letter) into dir.
func flagshipCopy(t *testing.T, dir string, nums ...int) {
	t.Helper()
	for _, n := range nums {
		name, content := flagshipFile(t, fmt.Sprintf("%04d-", n))
		writeFile(t, filepath.Join(dir, name), content)
	}
}

func span(from, to int) []int {
	var out []int
	for n := from; n <= to; n++ {
		out = append(out, n)
	}
	return out
}

func lines(s *Series) string { return strings.Join(s.RevisionLines(), "\n") }

// v5Resend06 is patch 06 as resent with v5 (the last message of seed
// 002), extracted from the thread dump as a mail of its own.
func v5Resend06(t *testing.T, subjectPrefix string) string {
	t.Helper()
	_, data := readSeed(t, "002")
	dump := string(data)
	start := strings.LastIndex(dump, "* [PATCH 06/12] fs: add FMODE_BUF_RASYNC")
	body := dump[start:]
	body = body[strings.Index(body, "If set, this indicates"):strings.Index(body, "^ permalink raw reply")]
	if !strings.Contains(body, "index ba1fff0e7bca..5ffc6d236b01") {
		t.Fatal("seed 002's last message is not the v5 resend of 06")
	}
	return "From: Jens Axboe <axboe@kernel.dk>\nDate: Tue, 26 May 2020 13:51:00 -0600\n" +
		"Subject: " + subjectPrefix + " fs: add FMODE_BUF_RASYNC\nMessage-Id: <v5-06@kernel.dk>\n\n" + body
}

// Case (a): a format-patch directory with 0001-0004 of the series and
// seed 000 (no N/M, no version) saved as 0005-...patch: 05 is taken
// from it, numbered by its file name, and 06-12 are missing, which
// Complete reports naming them.
func TestRevisionsDirWithNewer05AndHole(t *testing.T) {
	dir := t.TempDir()
	flagshipCopy(t, dir, span(1, 4)...)
	_, seed000 := readSeed(t, "000")
	writeFile(t, filepath.Join(dir, "0005-mm-support-async-buffered-reads-in-generic_file_buff.patch"), string(seed000))
	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Patches) != 5 || s.Patches[4].Number != 5 || s.Patches[4].Total != 12 || !strings.Contains(s.Patches[4].Diff, "wait_on_page_locked_async") {
		t.Fatalf("%d patches; 5th %s %q", len(s.Patches), s.Patches[len(s.Patches)-1].ID(), s.Patches[len(s.Patches)-1].Subject)
	}
	if fmt.Sprint(s.Missing) != "[6 7 8 9 10 11 12]" || s.Version != 3 {
		t.Errorf("missing %v, version %d", s.Missing, s.Version)
	}
	var me *MissingError
	if err := s.Complete(); !errors.As(err, &me) || !strings.Contains(err.Error(), "patches 06–12/12 missing (v3; 5 of 12 present)") {
		t.Errorf("Complete() = %v", err)
	}
	if !slices.Contains(s.Warnings, "patches 06–12/12 missing") {
		t.Errorf("warnings %q", s.Warnings)
	}
	if !strings.Contains(lines(s), "05/12: not in v3; v1 is applied, the newest earlier version that has it") {
		t.Errorf("revision lines do not say where 05 comes from:\n%s", lines(s))
	}
	if !slices.ContainsFunc(s.Notes, func(n string) bool {
		return strings.Contains(n, "0005-") && strings.Contains(n, "patch 5 by its file name")
	}) {
		t.Errorf("notes %q do not say 05 is numbered by its file name", s.Notes)
	}
}

// Case (b): the whole series with 06 replaced by the v5 resend of 06
// from seed 002: 12 patches, 06 from v5, the rest backfilled from v3.
// Labelled as b4 writes it ([PATCH v5 06/12]) or as sent ([PATCH
// 06/12], no version), it is applied either way.
func TestRevisionsDirWithV5Resend(t *testing.T) {
	for _, tc := range []struct {
		prefix  string
		version int
		line    string
	}{
		{"[PATCH v5 06/12]", 5, "01–05, 07–12/12: not in v5; v3 (2020-05-23) is applied, the newest earlier version that has it"},
		{"[PATCH 06/12]", 3, "06/12: not in v3; v1 (2020-05-26) is applied, the newest earlier version that has it"},
	} {
		t.Run(tc.prefix, func(t *testing.T) {
			dir := t.TempDir()
			flagshipCopy(t, dir, append([]int{0}, slices.DeleteFunc(span(1, 12), func(n int) bool { return n == 6 })...)...)
			writeFile(t, filepath.Join(dir, "0006-fs-add-FMODE_BUF_RASYNC.patch"), v5Resend06(t, tc.prefix))
			s, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Patches) != 12 || len(s.Missing) != 0 || s.Complete() != nil || s.Version != tc.version {
				t.Fatalf("%d patches, missing %v, v%d", len(s.Patches), s.Missing, s.Version)
			}
			if p := s.Patches[5]; p.Number != 6 || !strings.Contains(p.Diff, "index ba1fff0e7bca..5ffc6d236b01") {
				t.Errorf("06 is not the v5 resend: %s %q", p.ID(), p.Source)
			}
			if !strings.Contains(lines(s), tc.line) {
				t.Errorf("revision lines lack %q:\n%s", tc.line, lines(s))
			}
		})
	}
}

// Case (c): `cat v3.mbox v4.mbox`, v4 relabelled and one line changed:
// v4 is applied, every v3 patch superseded and named, and v4's cover
// letter used.
func TestRevisionsV3ThenV4Mbox(t *testing.T) {
	var v3, v4 strings.Builder
	for n := 0; n <= 12; n++ {
		_, c := flagshipFile(t, fmt.Sprintf("%04d-", n))
		v3.WriteString(c)
		c = strings.Replace(c, "[PATCH v3 ", "[PATCH v4 ", 1)
		c = strings.Replace(c, "Date: Sat, 23 May 2020 18:57:00 +0000", "Date: Sun, 24 May 2020 19:21:00 +0000", 1)
		if n == 6 {
			c = strings.Replace(c, "+/* File supports async buffered reads */", "+/* File supports async buffered reads (IOCB_WAITQ) */", 1)
		}
		v4.WriteString(c)
	}
	if !strings.Contains(v4.String(), "(IOCB_WAITQ) */") {
		t.Fatal("v4's 06 was not changed")
	}
	p := filepath.Join(t.TempDir(), "v3v4.mbox")
	writeFile(t, p, v3.String()+v4.String())
	s, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if s.Version != 4 || len(s.Patches) != 12 || len(s.Revisions) != 12 || s.Cover == nil || s.Cover.Version != 4 {
		t.Fatalf("v%d, %d patches, %d not applied, cover %+v", s.Version, len(s.Patches), len(s.Revisions), s.Cover)
	}
	for _, p := range s.Patches {
		if p.Version != 4 {
			t.Errorf("%s is v%d", p.ID(), p.Version)
		}
	}
	if !strings.Contains(s.Patches[5].Diff, "(IOCB_WAITQ)") {
		t.Error("06 is not v4's")
	}
	want := "v4 is applied: the newest of v3 and v4 in the input (--use-version N applies another)\n" +
		"01–12/12: v4 (2020-05-24) supersedes v3 (2020-05-23)"
	if lines(s) != want {
		t.Errorf("revision lines:\n%s\nwant:\n%s", lines(s), want)
	}
	old, err := Options{Version: 3}.Load(p)
	if err != nil || old.Version != 3 || old.Patches[5].Version != 3 || strings.Contains(old.Patches[5].Diff, "(IOCB_WAITQ)") {
		t.Errorf("--use-version 3: %v", err)
	}
	var ve *VersionError
	if _, err := (Options{Version: 7}).Load(p); !errors.As(err, &ve) || !strings.Contains(err.Error(), "no v7 in the input; it holds v3, v4") {
		t.Errorf("--use-version 7: %v", err)
	}
}

// Case (e): a seed-000 style .txt in a directory of .patch files is read,
// with a note; every other file is named with the reason it is skipped.
func TestRevisionsDirReadsOrNamesEveryFile(t *testing.T) {
	dir := t.TempDir()
	flagshipCopy(t, dir, span(1, 4)...)
	_, seed000 := readSeed(t, "000")
	writeFile(t, filepath.Join(dir, "0005-async-reads.txt"), string(seed000))
	writeFile(t, filepath.Join(dir, "README"), "how to apply\n")
	writeFile(t, filepath.Join(dir, "series"), "0001.patch\n")
	writeFile(t, filepath.Join(dir, "notes.txt"), "nothing to see\n")
	writeFile(t, filepath.Join(dir, ".0001.patch.swp"), "diff --git a/x b/x\n")
	writeFile(t, filepath.Join(dir, "old/0001-x.patch"), "diff --git a/x b/x\n")
	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Patches) != 5 || !strings.Contains(s.Patches[4].Source, "0005-async-reads.txt") || s.Patches[4].Number != 5 {
		t.Fatalf("%d patches, the 5th from %s", len(s.Patches), s.Patches[len(s.Patches)-1].Source)
	}
	notes := strings.Join(s.Notes, "\n")
	for _, want := range []string{
		"0005-async-reads.txt: read as a patch: it holds a diff, though its name does not end in .patch",
		"/README: skipped: documentation, not a patch",
		"/series: skipped: a quilt series file",
		"/notes.txt: skipped: no diff in it",
		"/.0001.patch.swp: skipped: a hidden file",
		"/old: skipped: a subdirectory",
	} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}
	empty := t.TempDir()
	writeFile(t, filepath.Join(empty, "README"), "x\n")
	var de *DamageError
	if _, err := Load(empty); !errors.As(err, &de) || !strings.Contains(err.Error(), "skipped: README") {
		t.Errorf("a directory of no patch: %v", err)
	}
}

// Two different diffs of one patch and version: the later send wins; if
// nothing orders them, ktest refuses, naming both files.
func TestRevisionsSameVersionResends(t *testing.T) {
	_, c := flagshipFile(t, "0006-")
	changed := strings.Replace(c, "+/* File supports async buffered reads */", "+/* async buffered reads */", 1)
	resent := strings.Replace(changed, "Date: Sat, 23 May 2020 18:57:00 +0000", "Date: Mon, 25 May 2020 08:00:00 +0000", 1)

	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.patch"), c)
	writeFile(t, filepath.Join(dir, "b.patch"), resent)
	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Patches) != 1 || !strings.Contains(s.Patches[0].Diff, "+/* async buffered reads */") ||
		!strings.Contains(lines(s), "06/12: the v3 sent 2020-05-25 supersedes the one sent 2020-05-23 (a resend of the same version)") {
		t.Errorf("%d patches; lines:\n%s", len(s.Patches), lines(s))
	}

	dir = t.TempDir()
	writeFile(t, filepath.Join(dir, "a.patch"), c)
	writeFile(t, filepath.Join(dir, "b.patch"), changed)
	_, err = Load(dir)
	var ae *AmbiguousError
	if !errors.As(err, &ae) || !strings.Contains(err.Error(), dir+"/a.patch:1 and "+dir+"/b.patch:1: two different diffs of patch 06/12, both v3") ||
		!strings.Contains(err.Error(), "keep one of them") || !IsBadInput(err) {
		t.Errorf("Load = %v, want an ambiguity naming both files", err)
	}

	// The same diff sent twice is no ambiguity.
	dir = t.TempDir()
	writeFile(t, filepath.Join(dir, "a.patch"), c)
	writeFile(t, filepath.Join(dir, "b.patch"), c)
	if s, err := Load(dir); err != nil || len(s.Patches) != 1 {
		t.Errorf("the same patch twice: %v", err)
	}
}

// A newer version that counts the patches differently does not fill
// holes from an older one: its numbers may name other patches.
func TestRevisionsOtherTotalIsNoBackfill(t *testing.T) {
	dir := t.TempDir()
	flagshipCopy(t, dir, span(1, 12)...)
	_, c := flagshipFile(t, "0005-")
	writeFile(t, filepath.Join(dir, "v4-0005.patch"), strings.Replace(c, "[PATCH v3 05/12]", "[PATCH v4 05/13]", 1))
	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if s.Version != 4 || len(s.Patches) != 1 || fmt.Sprint(s.Missing) != "[1 2 3 4 6 7 8 9 10 11 12 13]" {
		t.Errorf("v%d, %d patches, missing %v", s.Version, len(s.Patches), s.Missing)
	}
	if want := "01–04, 06–12/13: v3 (2020-05-23) is not taken: v3 counts 12 patches and v4 13, so its numbers may name other patches"; !strings.Contains(lines(s), want) {
		t.Errorf("lines lack %q:\n%s", want, lines(s))
	}
	if s, err := (Options{Version: 3}).Load(dir); err != nil || len(s.Patches) != 12 || s.Complete() != nil {
		t.Errorf("--use-version 3: %v", err)
	}
}

func TestWriteDirRefusesToOverwrite(t *testing.T) {
	s, err := Load(flagshipDir)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := WriteDir(s, dir, false); err != nil {
		t.Fatal(err)
	}
	before := snapshotFiles(t, dir)
	// The same names again, and a stray patch: refused, nothing written.
	writeFile(t, filepath.Join(dir, "9999-stray.patch"), "x")
	before["9999-stray.patch"] = "x"
	_, err = WriteDir(s, dir, false)
	var ee *ExistsError
	if !errors.As(err, &ee) || len(ee.Same) != 13 || fmt.Sprint(ee.Other) != "[9999-stray.patch]" || !strings.Contains(err.Error(), "nothing written") {
		t.Fatalf("WriteDir over itself = %v", err)
	}
	if after := snapshotFiles(t, dir); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("a refused WriteDir changed the directory")
	}
	paths, err := WriteDir(s, dir, true)
	if err != nil || len(paths) != 13 {
		t.Fatalf("--force: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "9999-stray.patch")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("--force kept the stray patch file")
	}
	if back, err := Load(dir); err != nil || len(back.Patches) != 12 || back.Cover == nil || len(back.Notes) != 0 {
		t.Errorf("read back: %v, notes %q", err, back.Notes)
	}
}

func snapshotFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		out[e.Name()] = mustRead(t, filepath.Join(dir, e.Name()))
	}
	return out
}
