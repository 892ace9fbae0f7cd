package series

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/ktest-dev/ktest/internal/termfmt"
)

var hunkHeader = regexp.MustCompile(`^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@`)

// gitExtHeaders are the lines git puts between "diff --git" and "---".
var gitExtHeaders = []string{
	"index ", "old mode ", "new mode ", "deleted file mode ", "new file mode ",
	"similarity index ", "dissimilarity index ", "rename from ", "rename to ",
	"copy from ", "copy to ", "Binary files ", "GIT binary patch",
}

func isGitExtHeader(s string) bool {
	for _, p := range gitExtHeaders {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

func isQuoted(s string) bool { return strings.HasPrefix(s, ">") }

// fileHeaderAt reports a "--- old" / "+++ new" pair at lines[i] followed
// by a hunk (or by the end of the input, which walk reports as truncation).
func fileHeaderAt(lines []line, i int) bool {
	if i+1 >= len(lines) || !strings.HasPrefix(lines[i].text, "--- ") || !strings.HasPrefix(lines[i+1].text, "+++ ") {
		return false
	}
	return i+2 >= len(lines) || strings.HasPrefix(lines[i+2].text, "@@ -")
}

// diffStartAt reports whether a diff starts at lines[i].
func diffStartAt(lines []line, i int) bool {
	t := lines[i].text
	switch {
	case strings.HasPrefix(t, "diff --git "):
		return true
	case strings.HasPrefix(t, "diff ") || strings.HasPrefix(t, "Index: "):
		return fileHeaderWithin(lines, i+1, 3)
	case fileHeaderAt(lines, i):
		return true
	case hunkHeader.MatchString(t):
		return true // an orphan hunk: walk reports it
	}
	return false
}

func fileHeaderWithin(lines []line, from, n int) bool {
	for j := from; j < len(lines) && j < from+n; j++ {
		if fileHeaderAt(lines, j) {
			return true
		}
	}
	return false
}

// rawFile is what walk saw of one file's header, before go-gitdiff.
type rawFile struct {
	git      bool
	old, new string // names on the ---/+++ lines, timestamps removed; "" if absent
	line     int
	hunks    int
	binary   bool
	content  bool // git's index line says the content changes: hunks must follow
}

var indexLine = regexp.MustCompile(`^index ([0-9a-f]+)\.\.([0-9a-f]+)`)

// changesContent reports whether a git "index a..b" line names two
// different blobs other than "none" and the empty blob.
func changesContent(s string) bool {
	m := indexLine.FindStringSubmatch(s)
	if m == nil || m[1] == m[2] {
		return false
	}
	nothing := func(h string) bool {
		return strings.Trim(h, "0") == "" || strings.HasPrefix("e69de29bb2d1d6434b8b29ae775ad8c2e48c5391", h)
	}
	return !(nothing(m[1]) && nothing(m[2]))
}

// walker checks diff text line by line against the hunk headers and finds
// where the diff ends. It reports damage with the reason a human needs.
type walker struct {
	m     *message
	lines []line
	start int // first diff line of the message, for whole-diff evidence
	files []rawFile
	// chopped counts blank context lines restored at the end of the
	// text; the caller appends them to the diff.
	chopped int
	notes   []string
}

// maxChopped is how many missing trailing context lines count as blank
// lines lost to trimming at the end of a file. GNU patch assumes up to
// three; kernel code rarely has two blank lines in a row, and a larger
// allowance would hide a truncated file.
const maxChopped = 1

func (w *walker) damage(i int, kind DamageKind, format string, args ...any) *DamageError {
	if i >= len(w.lines) {
		i = len(w.lines) - 1
	}
	n := 0
	if i >= 0 {
		n = w.lines[i].num
	}
	return &DamageError{File: w.m.source, Line: n, Patch: w.m.subject, Kind: kind, Reason: fmt.Sprintf(format, args...)}
}

func (w *walker) cur() *rawFile {
	if len(w.files) == 0 {
		return nil
	}
	return &w.files[len(w.files)-1]
}

// walk checks the diff starting at lines[start] and returns the index of
// the first line after it.
func (w *walker) walk(start int) (int, error) {
	i := start
	for i < len(w.lines) {
		t := w.lines[i].text
		switch {
		case strings.HasPrefix(t, "diff --git "):
			w.files = append(w.files, rawFile{git: true, line: w.lines[i].num})
			i++
			for i < len(w.lines) && isGitExtHeader(w.lines[i].text) {
				switch s := w.lines[i].text; {
				case strings.HasPrefix(s, "Binary files "):
					return i, w.damage(i, Binary, "binary change without data: %q (regenerate the patch with git format-patch --binary)", s)
				case s == "GIT binary patch":
					w.cur().binary = true
					i = skipBinary(w.lines, i+1)
					continue
				case strings.HasPrefix(s, "index "):
					w.cur().content = changesContent(s)
				}
				i++
			}
			if fileHeaderAt(w.lines, i) {
				f := w.cur()
				f.old, f.new = headerName(w.lines[i].text[4:]), headerName(w.lines[i+1].text[4:])
				i += 2
			}
		case strings.HasPrefix(t, "Binary files ") && strings.HasSuffix(t, " differ"):
			return i, w.damage(i, Binary, "binary change without data: %q (regenerate with git diff --binary)", t)
		case strings.HasPrefix(t, "diff ") || strings.HasPrefix(t, "Index: ") || strings.HasPrefix(t, "Only in "):
			if !fileHeaderWithin(w.lines, i+1, 3) && !strings.HasPrefix(t, "Only in ") {
				return i, w.finish(i)
			}
			i++
		case strings.HasPrefix(t, "====") && i > 0 && strings.HasPrefix(w.lines[i-1].text, "Index: "):
			i++
		case fileHeaderAt(w.lines, i):
			w.files = append(w.files, rawFile{line: w.lines[i].num,
				old: headerName(t[4:]), new: headerName(w.lines[i+1].text[4:])})
			i += 2
		case strings.HasPrefix(t, "@@ -"):
			if w.cur() == nil {
				return i, w.damage(i, Malformed, "hunk %q has no file header (the \"---\"/\"+++\" lines before it are missing)", t)
			}
			next, err := w.hunk(i)
			if err != nil {
				return i, err
			}
			i = next
		default:
			return i, w.finish(i)
		}
	}
	return i, w.finish(i)
}

// finish checks that every plain file header got its hunks.
func (w *walker) finish(i int) error {
	for _, f := range w.files {
		if f.hunks == 0 && !f.git && !f.binary {
			return w.damage(i-1, TruncatedHunk, "file header for %s is not followed by any hunk (the input was cut off)", f.new)
		}
		if f.hunks == 0 && f.git && (f.old != "" && f.new != "" || f.content) && !f.binary {
			name := f.new
			if name == "" {
				name = fmt.Sprintf("the file at line %d", f.line)
			}
			return w.damage(i-1, TruncatedHunk, "file header for %s is not followed by any hunk (the input was cut off)", name)
		}
	}
	return nil
}

// skipBinary steps over the base85 blocks of a git binary patch: one or
// two "literal N"/"delta N" blocks, each ended by an empty line.
func skipBinary(lines []line, i int) int {
	for i < len(lines) && (strings.HasPrefix(lines[i].text, "literal ") || strings.HasPrefix(lines[i].text, "delta ")) {
		i++
		for i < len(lines) && lines[i].text != "" {
			i++
		}
		if i < len(lines) {
			i++
		}
	}
	return i
}

var tsSuffix = regexp.MustCompile(`\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?( [+-]\d{4})?$|\s+\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}$`)

// headerName returns the path on a ---/+++ line, without the timestamp
// diff -u appends and without C quoting.
func headerName(s string) string {
	if i := strings.IndexByte(s, '\t'); i >= 0 {
		s = s[:i]
	}
	s = tsSuffix.ReplaceAllString(s, "")
	s = strings.TrimRight(s, " ")
	if strings.HasPrefix(s, `"`) {
		if u, err := strconv.Unquote(s); err == nil {
			s = u
		}
	}
	return s
}

func noNewlineMarker(s string) bool { return len(s) >= 12 && strings.HasPrefix(s, `\ `) }

// isHunkLine reports whether s could belong to a hunk.
func isHunkLine(s string) bool {
	return s == "" || strings.ContainsRune(" +-@\\", rune(s[0]))
}

// hunk walks one hunk whose header is at lines[i] and returns the index
// after it.
func (w *walker) hunk(i int) (int, error) {
	hdr := w.lines[i].text
	m := hunkHeader.FindStringSubmatch(hdr)
	if m == nil {
		return i, w.damage(i, Malformed, "malformed hunk header %q", hdr)
	}
	hdrShort := hdr[:len(m[0])]
	count := func(s string) int {
		if s == "" {
			return 1
		}
		n, _ := strconv.Atoi(s)
		return n
	}
	oldN, newN := count(m[2]), count(m[4])
	old, nw := oldN, newN
	hdrLine := i
	i++
	for old > 0 || nw > 0 {
		if i >= len(w.lines) && old == nw && old <= maxChopped && w.m.lastInFile &&
			strings.HasPrefix(w.lines[i-1].text, " ") {
			// Trailing blank context lines lost to whitespace trimming
			// at the end of the text: restore them, as GNU patch does.
			w.chopped += old
			w.notes = append(w.notes, fmt.Sprintf("%s:%d: the last hunk of %q lacks %d trailing context line(s) at the end of the text; restored as blank lines (trailing whitespace was trimmed), as GNU patch does",
				w.m.source, w.lines[hdrLine].num, w.m.subject, old))
			old, nw = 0, 0
			break
		}
		if i >= len(w.lines) {
			return i, w.damage(i, TruncatedHunk, "truncated hunk: %q (line %d) declares %d old and %d new lines but the input ends after %d and %d (the mail or mbox was cut off)",
				hdrShort, w.lines[hdrLine].num, oldN, newN, oldN-old, newN-nw)
		}
		t := w.lines[i].text
		if t == "-- " && (i+1 == len(w.lines) || !isHunkLine(w.lines[i+1].text)) {
			return i, w.damage(i, TruncatedHunk, "truncated hunk: %q (line %d) declares %d old and %d new lines but the mail signature starts after %d and %d (lines were cut from the diff)",
				hdrShort, w.lines[hdrLine].num, oldN, newN, oldN-old, newN-nw)
		}
		op := byte(' ')
		if t != "" {
			op = t[0]
		}
		switch op {
		case ' ':
			if old == 0 || nw == 0 {
				if t == "" {
					return i, w.damage(i, TruncatedHunk, "truncated hunk: %q (line %d) declares %d old and %d new lines but only %d and %d precede the blank line (lines were cut from the diff)",
						hdrShort, w.lines[hdrLine].num, oldN, newN, oldN-old, newN-nw)
				}
				return i, w.damage(i, HunkMismatch, "hunk %q (line %d) miscounts lines: context line %q comes after all %s lines the header declares (the patch was edited by hand)",
					hdrShort, w.lines[hdrLine].num, termfmt.Clip(t, quoteWidth), map[bool]string{true: "old", false: "new"}[old == 0])
			}
			old--
			nw--
		case '-':
			if old == 0 {
				return i, w.damage(i, HunkMismatch, "hunk %q (line %d) miscounts lines: deleted line %q is beyond the %d old lines the header declares (the patch was edited by hand)",
					hdrShort, w.lines[hdrLine].num, termfmt.Clip(t, quoteWidth), oldN)
			}
			old--
		case '+':
			if nw == 0 {
				return i, w.damage(i, HunkMismatch, "hunk %q (line %d) miscounts lines: added line %q is beyond the %d new lines the header declares (the patch was edited by hand)",
					hdrShort, w.lines[hdrLine].num, termfmt.Clip(t, quoteWidth), newN)
			}
			nw--
		case '\\':
			if !noNewlineMarker(t) {
				return i, w.badLine(i, hdrShort, hdrLine, oldN-old, oldN, newN-nw, newN, old > 0)
			}
		default:
			return i, w.badLine(i, hdrShort, hdrLine, oldN-old, oldN, newN-nw, newN, old > 0)
		}
		if qpArtefact(t) {
			return i, w.damage(i, QuotedPrintable, "quoted-printable artefact in %q: the body is quoted-printable encoded but its headers do not say so (save the raw message, or decode it)", termfmt.Clip(t, quoteWidth))
		}
		i++
	}
	if i < len(w.lines) && noNewlineMarker(w.lines[i].text) {
		i++
	}
	if i < len(w.lines) {
		t := w.lines[i].text
		extraAdd := strings.HasPrefix(t, "+") && !strings.HasPrefix(t, "+++ ")
		extraDel := strings.HasPrefix(t, "-") && t != "-- " && !strings.HasPrefix(t, "---")
		if extraAdd || extraDel {
			return i, w.damage(i, HunkMismatch, "hunk %q (line %d) has more lines than its header declares: %q follows its last line (the patch was edited by hand)",
				hdrShort, w.lines[hdrLine].num, termfmt.Clip(t, quoteWidth))
		}
	}
	w.cur().hunks++
	return i, nil
}

// badLine explains a hunk line without a valid prefix: the most likely
// cause decides the kind.
func (w *walker) badLine(i int, hdr string, hdrLine, oldSeen, oldN, newSeen, newN int, wantContext bool) error {
	t := w.lines[i].text
	prev := ""
	if i > 0 {
		prev = w.lines[i-1].text
	}
	switch {
	case strings.HasPrefix(t, "@@ -") || strings.HasPrefix(t, "diff ") || strings.HasPrefix(t, "Index: ") || fileHeaderAt(w.lines, i):
		return w.damage(i, TruncatedHunk, "truncated hunk: %q (line %d) declares %d old and %d new lines but the next header starts after %d and %d (lines were lost, or the header was edited)",
			hdr, w.lines[hdrLine].num, oldN, newN, oldSeen, newSeen)
	case strings.HasSuffix(prev, "=") && len(prev) >= 60:
		return w.damage(i, QuotedPrintable, "quoted-printable soft line break: the line before %q ends in '=' and was split (the body is quoted-printable but its headers do not say so)", termfmt.Clip(t, quoteWidth))
	case w.m.flowed && strings.HasSuffix(prev, " "):
		return w.damage(i, QuotedPrintable, "format=flowed soft line break: %q continues the line before it, which the mailer wrapped (send patches with git send-email, not format=flowed)", termfmt.Clip(t, quoteWidth))
	case wantContext && !w.hasSpaceContext():
		return w.damage(i, WhitespaceStripped, "leading whitespace stripped: context line %q does not start with ' ', '+' or '-' (the diff was copied from a web archive)", termfmt.Clip(t, quoteWidth))
	case len(prev) >= 60:
		return w.damage(i, LineWrapped, "line wrapped: %q does not start with ' ', '+' or '-' and continues the %d-character line before it (the mail client wrapped long lines; send with git send-email)", termfmt.Clip(t, quoteWidth), len(prev))
	}
	return w.damage(i, BadLine, "line %q does not start with ' ', '+' or '-' (hunk %q at line %d is corrupt)", termfmt.Clip(t, quoteWidth), hdr, w.lines[hdrLine].num)
}

// hasSpaceContext reports whether any line of the message's diff keeps a
// leading space: a diff with context lines and not one of them starting
// with ' ' had its leading whitespace stripped.
func (w *walker) hasSpaceContext() bool {
	for _, l := range w.lines[w.start:] {
		if strings.HasPrefix(l.text, " ") {
			return true
		}
	}
	return false
}

// quoteWidth is how much of a damaged line an error message quotes:
// 72 columns and the cut marker.
const quoteWidth = 73
