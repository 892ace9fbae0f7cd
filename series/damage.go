package series

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
)

// DamageKind says what went wrong with an input.
type DamageKind string

// The kinds of damage. Their values are stable (they appear in JSON).
const (
	WhitespaceStripped DamageKind = "whitespace-stripped" // leading whitespace lost (web archive copy)
	NewlinesFlattened  DamageKind = "newlines-flattened"  // line breaks lost: the diff is on one line
	TruncatedHunk      DamageKind = "truncated"           // a hunk or the mail ends before its header's line counts
	HunkMismatch       DamageKind = "hunk-mismatch"       // a hunk has more lines of a kind than its header says
	LineWrapped        DamageKind = "line-wrapped"        // a mailer wrapped a long diff line
	BadLine            DamageKind = "bad-line"            // a hunk line without a ' ', '+' or '-' prefix
	CRLF               DamageKind = "crlf"                // CRLF line endings
	QuotedPrintable    DamageKind = "quoted-printable"    // QP or format=flowed artefacts in a body that claims to be plain
	NotAPatch          DamageKind = "not-a-patch"         // no diff anywhere
	Empty              DamageKind = "empty"               // empty input
	Binary             DamageKind = "binary"              // binary input, or a binary change without data
	Malformed          DamageKind = "malformed"           // anything else go-gitdiff or the mail parser refuses
)

// DamageError reports input that is damaged or not a patch. It names the
// file, the 1-based line (0 if not known), the patch subject ("" if not
// known) and the reason.
type DamageError struct {
	File   string
	Line   int
	Patch  string
	Kind   DamageKind
	Reason string
}

func (e *DamageError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Patch != "" {
		fmt.Fprintf(&b, "patch %q: ", e.Patch)
	}
	b.WriteString(e.Reason)
	return b.String()
}

// line is one input line with its 1-based number in its file.
type line struct {
	text string
	num  int
}

// splitLines splits data into lines without their "\n", numbered from
// first. A final line without "\n" is kept; a final "\n" adds no line.
func splitLines(data string, first int) []line {
	if data == "" {
		return nil
	}
	data = strings.TrimSuffix(data, "\n")
	parts := strings.Split(data, "\n")
	out := make([]line, len(parts))
	for i, p := range parts {
		out[i] = line{p, first + i}
	}
	return out
}

// checkWhole diagnoses damage visible on the whole file before any
// splitting: emptiness, binary data, CRLF line ends and flattened newlines.
func checkWhole(name string, data []byte) error {
	if len(bytes.TrimSpace(data)) == 0 {
		what := "file is empty"
		if len(data) > 0 {
			what = "file holds only whitespace"
		}
		return &DamageError{File: name, Line: 1, Kind: Empty, Reason: what + ": no patch to read"}
	}
	if i := bytes.IndexByte(data, 0); i >= 0 {
		ln := bytes.Count(data[:i], []byte("\n")) + 1
		return &DamageError{File: name, Line: ln, Kind: Binary,
			Reason: fmt.Sprintf("binary data (NUL byte at offset %d): not a patch, mbox or thread dump", i)}
	}
	if n, crlf, first := countCRLF(data); crlf > 0 && crlf*2 >= n {
		return &DamageError{File: name, Line: first, Kind: CRLF,
			Reason: fmt.Sprintf("CRLF line endings on %d of %d lines: the mail was saved with DOS line ends, so no hunk would match the tree's LF files (convert with dos2unix)", crlf, n)}
	}
	for i, l := range splitLines(string(data), 1) {
		if err := flattened(name, l.text, i+1); err != nil {
			return err
		}
	}
	return nil
}

func countCRLF(data []byte) (lines, crlf, first int) {
	for i, l := range bytes.Split(data, []byte("\n")) {
		if len(l) == 0 && i > 0 {
			continue
		}
		lines++
		if bytes.HasSuffix(l, []byte("\r")) {
			crlf++
			if first == 0 {
				first = i + 1
			}
		}
	}
	return lines, crlf, first
}

var (
	midHunkHeader  = regexp.MustCompile(`.\s@@ -\d+(,\d+)? \+\d+(,\d+)? @@`)
	midFileHeader  = regexp.MustCompile(`(^|\s)--- \S+.*\s\+\+\+ \S+`)
	flatSubjectEnd = regexp.MustCompile(`\s(-{3,}|diff |Signed-off-by:|\S+\s+\|\s+\d+ )`)
)

// flattened reports a line that holds a whole diff: file and hunk headers
// that a diff only ever has at the start of a line.
func flattened(name, text string, num int) error {
	if len(text) < 200 || strings.HasPrefix(text, ">") {
		return nil
	}
	hunk := midHunkHeader.FindStringIndex(text)
	file := midFileHeader.FindStringIndex(text)
	if hunk == nil || file == nil {
		return nil
	}
	subject := ""
	if loc := flatSubjectEnd.FindStringIndex(text); loc != nil && loc[0] > 0 {
		subject = strings.TrimSpace(text[:loc[0]])
		subject = strings.TrimPrefix(stripPrefixes(subject), "Subject: ")
		if len(subject) > 80 {
			subject = ""
		}
	}
	fh := strings.TrimSpace(text[file[0]:min(len(text), file[0]+60)])
	hh := strings.TrimSpace(text[hunk[0]+1 : hunk[1]])
	return &DamageError{File: name, Line: num, Patch: subject, Kind: NewlinesFlattened,
		Reason: fmt.Sprintf("newlines flattened: a line of %d bytes holds a whole diff (file header %q… and hunk header %q in mid-line); the line breaks were lost in transit, so get the original mail (raw message from the archive)", len(text), fh, hh)}
}

// qpArtefact reports whether a diff line carries quoted-printable
// encoding that was never decoded: "=3D" for '=', or an encoded trailing
// space or tab. C code never contains these.
func qpArtefact(s string) bool {
	return strings.Contains(s, "=3D") || strings.HasSuffix(s, "=20") || strings.HasSuffix(s, "=09")
}
