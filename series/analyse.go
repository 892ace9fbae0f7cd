package series

import (
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/bluekeyes/go-gitdiff/gitdiff"

	"github.com/ktest-dev/ktest/internal/termfmt"
)

// content is what a message body holds once split into its parts.
type content struct {
	message    []line // commit message without trailers (patches and covers)
	trailers   []Trailer
	commentary []line // replies: own text before the diff, without quotes and attributions
	note       string // replies: the sentence introducing the diff
	diff       string
	files      []*gitdiff.File
	hasDiff    bool
	base, tree string
	notes      []string // facts about repairs, e.g. restored blank lines
}

var (
	trailerLine = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*):\s+(\S.*?)\s*$`)
	trailerKeys = map[string]bool{"fixes": true, "link": true, "cc": true, "closes": true, "bug": true, "change-id": true, "message-id": true}
	attribution = regexp.MustCompile(`(?i)(wrote|writes|said):\s*$`)
	baseCommit  = regexp.MustCompile(`^base-commit: ([0-9a-f]{7,64})\s*$`)
	pullFrom    = regexp.MustCompile(`^\s*((?:git|https?|ssh)://\S+)\s+([\w./+-]+)\s*$`)
	fixupIntro  = regexp.MustCompile(`(?i)\b(incremental|below|following|fix-?up|delta|on top|something like)\b`)
	gitdiffErr  = regexp.MustCompile(`^gitdiff: line (\d+): (.*)$`)
	interdiff   = regexp.MustCompile(`^Interdiff( against .*)?:\s*$`)
)

func isTrailer(s string) (Trailer, bool) {
	m := trailerLine.FindStringSubmatch(s)
	if m == nil {
		return Trailer{}, false
	}
	k := strings.ToLower(m[1])
	if !strings.HasSuffix(k, "-by") && !trailerKeys[k] {
		return Trailer{}, false
	}
	return Trailer{Key: m[1], Value: m[2]}, true
}

// analyse splits a message body into message, trailers, commentary and
// diff, and parses the diff. Damage in the diff is a *DamageError.
func analyse(m *message, reply bool) (*content, error) {
	c := &content{}
	w := &walker{m: m, lines: m.body}
	var diffLines []line
	firstDiff := -1
	for i := 0; i < len(m.body); {
		if isQuoted(m.body[i].text) || !diffStartAt(m.body, i) {
			i++
			continue
		}
		if firstDiff < 0 {
			firstDiff = i
			w.start = i
		}
		end, err := w.walk(i)
		if err != nil {
			return c, err
		}
		if end == i { // not a diff after all
			i++
			continue
		}
		if i > 0 && interdiff.MatchString(m.body[i-1].text) {
			// format-patch --interdiff: a diff between versions, not
			// part of this patch.
			i = end
			continue
		}
		diffLines = append(diffLines, m.body[i:end]...)
		for ; w.chopped > 0; w.chopped-- {
			diffLines = append(diffLines, line{"", m.body[end-1].num})
		}
		i = end
	}

	// The message ends at the diff, at format-patch's "---" or at the
	// signature, whichever comes first.
	msgEnd := len(m.body)
	if firstDiff >= 0 {
		msgEnd = firstDiff
	}
	for i, l := range m.body[:msgEnd] {
		if l.text == "---" || l.text == "-- " {
			msgEnd = i
			break
		}
	}
	for _, l := range m.body {
		if mm := baseCommit.FindStringSubmatch(l.text); mm != nil {
			c.base = mm[1]
		}
	}
	if reply {
		c.commentary, c.trailers, c.note = replyText(m.body[:msgEnd])
	} else {
		c.message, c.trailers = trailerBlock(m.body[:msgEnd])
		for _, l := range c.message {
			if mm := pullFrom.FindStringSubmatch(l.text); mm != nil && c.tree == "" {
				c.tree = mm[1] + " " + mm[2]
			}
		}
	}

	if len(diffLines) == 0 {
		return c, nil
	}
	c.hasDiff = true
	c.notes = w.notes
	c.diff = joinLines(diffLines)
	files, _, err := gitdiff.Parse(strings.NewReader(c.diff))
	if err != nil {
		return c, gitdiffDamage(m, diffLines, err)
	}
	if len(files) == len(w.files) {
		for i, f := range files {
			normalisePaths(f, w.files[i])
		}
	}
	c.files = files
	return c, nil
}

// gitdiffDamage turns a go-gitdiff error, which our own checks should
// have pre-empted, into a DamageError on the right input line.
func gitdiffDamage(m *message, diffLines []line, err error) error {
	de := &DamageError{File: m.source, Patch: m.subject, Kind: Malformed, Reason: err.Error()}
	if mm := gitdiffErr.FindStringSubmatch(err.Error()); mm != nil {
		n, _ := strconv.Atoi(mm[1])
		if n >= 1 && n <= len(diffLines) {
			de.Line = diffLines[n-1].num
		}
		de.Reason = "diff does not parse: " + mm[2]
	}
	return de
}

// trailerBlock splits the trailer block (the last run of consecutive
// trailer lines) from a commit message. Blank lines around the message
// are dropped.
func trailerBlock(lines []line) ([]line, []Trailer) {
	end := len(lines)
	for end > 0 && strings.TrimSpace(lines[end-1].text) == "" {
		end--
	}
	start := end
	for start > 0 {
		if _, ok := isTrailer(lines[start-1].text); !ok {
			break
		}
		start--
	}
	var trailers []Trailer
	for _, l := range lines[start:end] {
		t, _ := isTrailer(l.text)
		trailers = append(trailers, t)
	}
	msg := lines[:start]
	for len(msg) > 0 && strings.TrimSpace(msg[len(msg)-1].text) == "" {
		msg = msg[:len(msg)-1]
	}
	for len(msg) > 0 && strings.TrimSpace(msg[0].text) == "" {
		msg = msg[1:]
	}
	return msg, trailers
}

// replyText returns a reply's own text (no quotes, no "X wrote:"), the
// trailers it gives anywhere in that text, and the paragraph that
// introduces a diff it carries.
func replyText(lines []line) (own []line, trailers []Trailer, note string) {
	var blocks [][]line
	var cur []line
	flush := func() {
		if len(cur) > 0 {
			blocks = append(blocks, cur)
			cur = nil
		}
	}
	for i, l := range lines {
		t := strings.TrimSpace(l.text)
		switch {
		case isQuoted(l.text) || t == "":
			flush()
			continue
		case attribution.MatchString(t) && (i+1 == len(lines) || isQuoted(lines[i+1].text) || strings.TrimSpace(lines[i+1].text) == ""):
			flush()
			continue
		case t == "..." || t == "[...]" || t == "[snip]":
			flush()
			continue
		}
		if tr, ok := isTrailer(l.text); ok {
			tr.FromReply = true
			trailers = append(trailers, tr)
			continue
		}
		own = append(own, l)
		cur = append(cur, l)
	}
	flush()
	if len(blocks) == 0 {
		return own, trailers, ""
	}
	pick := blocks[len(blocks)-1]
	for _, b := range blocks {
		if fixupIntro.MatchString(blockText(b)) {
			pick = b
		}
	}
	return own, trailers, termfmt.ClipWords(blockText(pick), 200)
}

func blockText(b []line) string {
	parts := make([]string, len(b))
	for i, l := range b {
		parts[i] = strings.TrimSpace(l.text)
	}
	return strings.Join(parts, " ")
}

// kernelTop are the top-level names of a kernel tree: a diff path that
// starts with one was made with -p0.
var kernelTop = map[string]bool{
	"arch": true, "block": true, "certs": true, "crypto": true, "Documentation": true,
	"drivers": true, "fs": true, "include": true, "init": true, "io_uring": true, "ipc": true,
	"kernel": true, "lib": true, "mm": true, "net": true, "rust": true, "samples": true,
	"scripts": true, "security": true, "sound": true, "tools": true, "usr": true, "virt": true,
	"LICENSES": true, "Kbuild": true, "Kconfig": true, "Makefile": true, "MAINTAINERS": true,
	"COPYING": true, "CREDITS": true, "README": true,
}

var gitPrefix = regexp.MustCompile(`^[a-z0-9]/`)

// normalisePaths makes f's names -p1-relative: go-gitdiff strips a/ and
// b/ from git diffs but keeps the raw names of a plain `diff -u`.
func normalisePaths(f *gitdiff.File, rf rawFile) {
	const devNull = "/dev/null"
	if rf.git {
		// git diff --no-prefix: go-gitdiff dropped a real directory.
		noPrefix := (rf.old != "" && rf.old != devNull && !gitPrefix.MatchString(rf.old)) ||
			(rf.new != "" && rf.new != devNull && !gitPrefix.MatchString(rf.new))
		if noPrefix {
			if rf.old != devNull && rf.old != "" {
				f.OldName = path.Clean(rf.old)
			}
			if rf.new != devNull && rf.new != "" {
				f.NewName = path.Clean(rf.new)
			}
		}
		return
	}
	p := stripLevel(rf.old, rf.new)
	oldN, newN := stripPath(rf.old, p), stripPath(rf.new, p)
	switch {
	case f.IsNew:
		f.OldName, f.NewName = "", newN
	case f.IsDelete:
		f.OldName, f.NewName = oldN, ""
	default:
		// `diff -u x.orig x`: the file to patch is the new name.
		name := newN
		if rf.new == devNull || name == "" {
			name = oldN
		}
		f.OldName, f.NewName = name, name
	}
}

// stripLevel guesses patch's -p for a plain diff from its two names.
func stripLevel(old, new string) int {
	const devNull = "/dev/null"
	var names []string
	for _, n := range []string{old, new} {
		if n != "" && n != devNull {
			names = append(names, strings.TrimPrefix(n, "./"))
		}
	}
	if len(names) == 0 {
		return 0
	}
	for _, n := range names {
		if !strings.Contains(n, "/") {
			return 0
		}
	}
	first := func(n string) string { c, _, _ := strings.Cut(n, "/"); return c }
	second := func(n string) string {
		_, rest, _ := strings.Cut(n, "/")
		c, _, _ := strings.Cut(rest, "/")
		return c
	}
	n := names[len(names)-1]
	switch {
	case len(names) == 2 && first(names[0]) != first(names[1]):
		return 1 // orig/x new/x
	case kernelTop[first(n)]:
		return 0
	case kernelTop[second(n)]:
		return 1
	case gitPrefix.MatchString(n):
		return 1
	}
	return 0
}

func stripPath(n string, p int) string {
	if n == "" || n == "/dev/null" {
		return ""
	}
	n = strings.TrimPrefix(n, "./")
	for ; p > 0; p-- {
		_, rest, ok := strings.Cut(n, "/")
		if !ok {
			break
		}
		n = rest
	}
	return path.Clean(n)
}
