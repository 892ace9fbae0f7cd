package series

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"errors"
	"mime/quotedprintable"
	"regexp"
	"strings"
	"testing"
)

// damage derives a damaged input from seed text.
type damage struct {
	name   string
	seed   string
	mangle func(t *testing.T, s string) string
	kind   DamageKind
	line   int    // 0: do not check
	reason string // substring of the reason
}

// replaceOnce replaces old by new exactly once, failing the test if old
// is not in s (the seed changed).
func replaceOnce(t *testing.T, s, old, new string) string {
	t.Helper()
	if !strings.Contains(s, old) {
		t.Fatalf("seed lacks %q", old)
	}
	return strings.Replace(s, old, new, 1)
}

func TestDamageFromSeeds(t *testing.T) {
	tests := []damage{
		{name: "crlf", seed: "000", kind: CRLF, line: 1, reason: "CRLF line endings",
			mangle: func(t *testing.T, s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }},
		{name: "flattened", seed: "000", kind: NewlinesFlattened, line: 1, reason: "newlines flattened",
			mangle: func(t *testing.T, s string) string { return strings.ReplaceAll(s, "\n", " ") }},
		{name: "whitespace stripped", seed: "003", kind: WhitespaceStripped, line: 28, reason: `context line "spinlock_t bio_lock;`,
			mangle: func(t *testing.T, s string) string {
				return regexp.MustCompile(`(?m)^[ \t]+`).ReplaceAllString(s, "")
			}},
		{name: "qp equals", seed: "000", kind: QuotedPrintable, line: 50, reason: "quoted-printable artefact",
			mangle: func(t *testing.T, s string) string {
				return replaceOnce(t, s, "+\t\t\t\terror = wait_on_page_locked_async(page,", "+\t\t\t\terror =3D wait_on_page_locked_async(page,")
			}},
		{name: "qp soft break", seed: "003", kind: QuotedPrintable, reason: "soft line break",
			mangle: func(t *testing.T, s string) string {
				return replaceOnce(t, s, "+\tbool defer_completion;\t\t/* defer AIO completion to workqueue? */",
					"+\tbool defer_completion;\t\t/* defer AIO completion to workqueue? abcdefgh=\n*/")
			}},
		{name: "line wrapped", seed: "002", kind: LineWrapped, reason: "line wrapped",
			mangle: func(t *testing.T, s string) string {
				return replaceOnce(t, s, "+static inline int wake_page_match(struct wait_page_queue *wait_page,\n+\t\t\t\t  struct wait_page_key *key)",
					"+static inline int wake_page_match(struct wait_page_queue *wait_page, struct\nwait_page_key *key)")
			}},
		{name: "truncated thread", seed: "002", kind: TruncatedHunk, line: 143, reason: "thread dump ends inside this message",
			mangle: func(t *testing.T, s string) string { return s[:strings.Index(s, "+struct wait_page_queue {")] }},
		{name: "hunk cut before signature", seed: "002", kind: TruncatedHunk, line: 139, reason: "the mail signature starts after 7 and 5",
			mangle: func(t *testing.T, s string) string {
				return replaceOnce(t, s, " \t\t\t\t\tindex, last_index - index);\n-- \n2.26.2\n^ permalink raw reply related\t[flat|nested] 29+ messages in thread\n* [PATCH 03/12]",
					"-- \n2.26.2\n^ permalink raw reply related\t[flat|nested] 29+ messages in thread\n* [PATCH 03/12]")
			}},
		{name: "header miscounts", seed: "000", kind: HunkMismatch, line: 29, reason: "miscounts lines",
			mangle: func(t *testing.T, s string) string {
				return replaceOnce(t, s, "@@ -1210,6 +1210,14 @@", "@@ -1210,6 +1210,13 @@")
			}},
		{name: "header overcounts", seed: "000", kind: TruncatedHunk, line: 30, reason: "the next header starts after 6 and 14",
			mangle: func(t *testing.T, s string) string {
				return replaceOnce(t, s, "@@ -1210,6 +1210,14 @@", "@@ -1210,7 +1210,15 @@")
			}},
		{name: "orphan hunk", seed: "000", kind: Malformed, line: 11, reason: "has no file header",
			mangle: func(t *testing.T, s string) string {
				s = replaceOnce(t, s, "diff --git a/mm/filemap.c b/mm/filemap.c\nindex e8aaf43..a5b1fa8 100644\n--- a/mm/filemap.c\n+++ b/mm/filemap.c\n", "")
				return s
			}},
		{name: "binary without data", seed: "000", kind: Binary, line: 13, reason: "binary change without data",
			mangle: func(t *testing.T, s string) string {
				return replaceOnce(t, s, "index e8aaf43..a5b1fa8 100644\n", "index e8aaf43..a5b1fa8 100644\nBinary files a/mm/filemap.c and b/mm/filemap.c differ\n")
			}},
		{name: "not a patch", seed: "003", kind: NotAPatch, reason: "no diff found",
			mangle: func(t *testing.T, s string) string { return s[:strings.Index(s, "diff --git")] }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, data := readSeed(t, tt.seed)
			in := tt.mangle(t, string(data))
			_, err := Parse("in.txt", []byte(in))
			var de *DamageError
			if !errors.As(err, &de) {
				t.Fatalf("Parse = %v, want a DamageError", err)
			}
			if de.Kind != tt.kind || (tt.line != 0 && de.Line != tt.line) || de.File != "in.txt" {
				t.Errorf("got %s line %d (%v), want %s line %d", de.Kind, de.Line, err, tt.kind, tt.line)
			}
			if !strings.Contains(de.Reason, tt.reason) {
				t.Errorf("reason %q lacks %q", de.Reason, tt.reason)
			}
		})
	}
}

func TestDamageWholeFile(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		kind DamageKind
	}{
		{"empty", nil, Empty},
		{"whitespace", []byte(" \n\n\t\n"), Empty},
		{"binary", []byte("\x7fELF\x02\x01\x01\x00\x00\x00"), Binary},
		{"prose", []byte("Hello,\n\nplease find the patch attached.\n\nThanks\n"), NotAPatch},
		{"cover only", []byte("From: A <a@example.org>\nSubject: [PATCH 0/3] things\n\nthree patches follow\n"), NotAPatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("x", tt.data)
			var de *DamageError
			if !errors.As(err, &de) || de.Kind != tt.kind {
				t.Fatalf("Parse = %v, want kind %s", err, tt.kind)
			}
		})
	}
}

// TestDeclaredEncodings checks that a body whose headers declare
// quoted-printable or base64 is decoded, not reported as damage, and that
// format=flowed wrapping is reported.
func TestDeclaredEncodings(t *testing.T) {
	_, data := readSeed(t, "000")
	want, err := Parse("plain", data)
	if err != nil {
		t.Fatal(err)
	}
	var qp bytes.Buffer
	w := quotedprintable.NewWriter(&qp)
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// The writer emits CRLF, as on the wire; a mail saved on Unix has LF.
	qpText := strings.ReplaceAll(qp.String(), "\r\n", "\n")
	qp.Reset()
	qp.WriteString(qpText)
	if !bytes.Contains(qp.Bytes(), []byte("=3D")) || !bytes.Contains(qp.Bytes(), []byte("=\n")) {
		t.Fatal("the QP body should carry =3D and soft breaks")
	}
	hdr := "From: Jens Axboe <axboe@kernel.dk>\nDate: Sun, 24 May 2020 16:40:00 -0600\nSubject: [PATCH v5 05/12] mm: support async buffered reads in generic_file_buffered_read()\nMessage-ID: <x@kernel.dk>\nMIME-Version: 1.0\n"
	body := string(data[strings.Index(string(data), "\n")+1:])

	t.Run("quoted-printable", func(t *testing.T) {
		qpBody := qp.String()[strings.Index(qp.String(), "\n")+1:]
		s, err := Parse("qp.eml", []byte(hdr+"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n"+qpBody))
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Patches[0].Diff; got != want.Patches[0].Diff+"\n" && got != want.Patches[0].Diff {
			t.Errorf("decoded diff differs:\n%s", got)
		}
		if s.Version != 5 || s.Patches[0].Number != 5 || s.Patches[0].MessageID != "x@kernel.dk" {
			t.Errorf("v%d %d", s.Version, s.Patches[0].Number)
		}
	})
	t.Run("qp undeclared", func(t *testing.T) {
		qpBody := qp.String()[strings.Index(qp.String(), "\n")+1:]
		_, err := Parse("qp.eml", []byte(hdr+"Content-Type: text/plain\n\n"+qpBody))
		var de *DamageError
		if !errors.As(err, &de) || de.Kind != QuotedPrintable {
			t.Fatalf("Parse = %v, want QuotedPrintable", err)
		}
	})
	t.Run("base64", func(t *testing.T) {
		enc := base64Lines(body)
		s, err := Parse("b64.eml", []byte(hdr+"Content-Type: text/plain\nContent-Transfer-Encoding: base64\n\n"+enc))
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Patches[0].Files) != 1 || len(s.Patches[0].Trailers) != 2 {
			t.Errorf("files %d trailers %+v", len(s.Patches[0].Files), s.Patches[0].Trailers)
		}
	})
	t.Run("format=flowed", func(t *testing.T) {
		flowed := replaceOnce(t, body, "+static int wait_on_page_locked_async(struct page *page,\n+\t\t\t\t     struct wait_page_queue *wait)",
			"+static int wait_on_page_locked_async(struct page *page, \nstruct wait_page_queue *wait)")
		_, err := Parse("flowed.eml", []byte(hdr+"Content-Type: text/plain; charset=utf-8; format=flowed\n\n"+flowed))
		var de *DamageError
		if !errors.As(err, &de) || de.Kind != QuotedPrintable || !strings.Contains(de.Reason, "format=flowed") {
			t.Fatalf("Parse = %v, want format=flowed damage", err)
		}
	})
	t.Run("gzip", func(t *testing.T) {
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		if _, err := zw.Write(data); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		s, err := Parse("000.txt.gz", z.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if s.Patches[0].Diff != want.Patches[0].Diff {
			t.Error("gunzipped diff differs")
		}
	})
}

func base64Lines(s string) string {
	enc := base64.StdEncoding.EncodeToString([]byte(s))
	var b strings.Builder
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\n")
	return b.String()
}
