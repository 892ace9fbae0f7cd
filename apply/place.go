package apply

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/bluekeyes/go-gitdiff/gitdiff"
)

// The placement rule. A hunk is applied only where the file leaves no
// doubt, because a hunk applied in the wrong place builds, boots and
// gets tested as if it were the patch:
//
//  1. At the expected line (the header's, moved by the offset of the
//     file's previous hunk), with all its context: applied, unless in
//     a C file the @@ heading names a function that stands elsewhere
//     (its copy took the old line numbers), and unless the hunk fits as
//     well elsewhere and the file is not byte for byte the one the diff
//     was made against (its blob id): then only the line number tells
//     the places apart, and drift moves line numbers.
//  2. Elsewhere, it must be the one place in the file where the hunk
//     fits with any fuzz up to the limit (an exact fit is rivalled by
//     another exact fit and by a fuzzy one nearer the expected line, a
//     fuzzy fit by any other fit), and the lines that fit must include
//     a context line with a letter or digit in it: the lines a hunk
//     changes say what, not where, and blank lines and braces fit
//     anywhere. It must also sit in the function the hunk's heading
//     names ("@@ ... @@ static int foo(": the same line, or one that
//     defines the same name), and must not add a definition the file
//     already has (a patch applied before, in a later form).
//  3. If the hunk's post-image is there instead, it is already applied:
//     at the expected line, or elsewhere as evidence rule 2 would take
//     (a hunk that adds a line with a letter or digit in it: any exact
//     fit; otherwise the one fit, with a context line that says where,
//     in the named function). A pre-image that also fits somewhere
//     makes that a doubt, not a finding.
//
// Anything else is a conflict that says why and names the places that
// fit. The default fuzz, 2, follows: with the usual three lines of
// context, fuzz 3 keeps no context at all, which rule 2 never accepts.

// placement is the outcome for one hunk: applied at m, already applied
// at m, or a conflict for reason with the places that fit.
type placement struct {
	status     Status
	at         match
	reason     string
	candidates []Candidate
}

// place decides where h goes in s.buf; nominal is where its header
// puts it, adjusted for the earlier hunks of the file.
func place(s search, h *hunk, nominal, maxFuzz int) placement {
	pre, post := h.image(false), h.image(true)
	if ms := s.find(h, pre, 0); len(ms) > 0 && ms[0].start == s.expected && s.trustExpected(h, ms) {
		return placement{status: exactOrOffset(s.expected, nominal), at: ms[0]}
	}
	if len(pre.lines) == 0 {
		// A hunk without pre-image (-U0 insertion, new file) has nothing
		// to find elsewhere; it is applied or not at the expected line.
		if len(post.lines) > 0 && len(s.find(h, post, 0)) > 0 && s.find(h, post, 0)[0].start == s.expected {
			return placement{status: StatusAlreadyApplied, at: s.find(h, post, 0)[0]}
		}
		return placement{status: exactOrOffset(s.expected, nominal), at: match{start: min(max(s.expected, s.frozen), len(s.buf))}}
	}

	pres := significantMatches(s.findAll(h, pre, maxFuzz), pre)
	posts := postMatches(s, h, post, maxFuzz)

	switch {
	case len(pres) == 0 && len(posts) == 0:
		reason := "hunk does not match"
		if line, at := redefines(s.buf, h, 0, 0); line != "" {
			reason += fmt.Sprintf(", and the file already has %q, which it adds (line %d): applied before, in another form?", strings.TrimSpace(line), at+1)
		}
		return placement{status: StatusConflict, reason: reason}
	case len(pres) == 0 && len(posts) == 1:
		return placement{status: StatusAlreadyApplied, at: posts[0]}
	case len(pres) == 0:
		return placement{status: StatusConflict, reason: "what the hunk produces is in the file more than once, and what it expects nowhere",
			candidates: candidates(posts, true)}
	case len(posts) > 0:
		if p := posts[0]; p.start == s.expected && p.fuzz == 0 && !hasExact(pres) {
			return placement{status: StatusAlreadyApplied, at: p}
		}
		return placement{status: StatusConflict, reason: "the file has both what the hunk expects and what it produces: applied before, in part or in another form?",
			candidates: append(candidates(pres, false), candidates(posts, true)...)}
	}
	m, rivals := best(pres, s.expected)
	if len(rivals) > 0 {
		return placement{status: StatusConflict, reason: fmt.Sprintf("ambiguous: the hunk fits in %d places", len(rivals)+1),
			candidates: candidates(append([]match{m}, rivals...), false)}
	}
	if why := doubt(s.buf, h, pre, m); why != "" {
		return placement{status: StatusConflict, reason: why, candidates: candidates(pres, false)}
	}
	st := exactOrOffset(m.start, nominal)
	if m.fuzz > 0 {
		st = StatusFuzz
	}
	return placement{status: st, at: m}
}

// best picks the fit to apply, fewest fuzz first, then nearest to the
// expected line, and returns the fits that rival it. An exact fit is
// rivalled by another exact fit, and by a fuzzy one nearer the expected
// line: then the text says one place and the header another. A fuzzy
// fit is rivalled by any other fit at all.
func best(ms []match, expected int) (match, []match) {
	dist := func(m match) int { return abs(m.start - expected) }
	slices.SortStableFunc(ms, func(a, b match) int {
		if a.fuzz != b.fuzz {
			return a.fuzz - b.fuzz
		}
		return dist(a) - dist(b)
	})
	b := ms[0]
	var rivals []match
	for _, m := range ms[1:] {
		if b.fuzz > 0 || m.fuzz == 0 || dist(m) < dist(b) {
			rivals = append(rivals, m)
		}
	}
	return b, rivals
}

// trustExpected reports whether a fit at the expected line, with all
// its context (exact[0]; the rest are the other exact fits), is the
// place: unless the heading names a function that is elsewhere in a C
// file (the place's own function was copied above it, say), and unless
// the hunk fits as well elsewhere and only the line number, which drift
// moves, tells the two apart. Then the file must be the very one the
// diff was made against.
func (s search) trustExpected(h *hunk, exact []match) bool {
	if s.c && headingDisagrees(s.buf, s.expected, h.heading) {
		return false
	}
	return len(exact) == 1 || s.diffed
}

func exactOrOffset(at, nominal int) Status {
	if at == nominal {
		return StatusExact
	}
	return StatusOffset
}

// significantMatches drops fits made only of blank lines and braces:
// they say nothing, neither as a place nor as a rival place.
func significantMatches(ms []match, im image) []match {
	var out []match
	for _, m := range ms {
		if im.keptSignificant(m) {
			out = append(out, m)
		}
	}
	return out
}

// postMatches are the places the hunk's post-image fits, as evidence
// that it is already applied. A hunk that adds a line with a letter or
// digit in it leaves that line behind: a fit is evidence at any place,
// a fuzzy fit only with a context line that says where, in the function
// the heading names. A hunk that adds nothing of the kind (a deletion,
// say) leaves only context, which is evidence at the expected line, or
// elsewhere only as the one place it fits with a context line that says
// where, in the named function.
func postMatches(s search, h *hunk, post image, maxFuzz int) []match {
	if h.context() == 0 {
		return postAtExpected(s, h, post) // nothing but the header says where
	}
	adds := false
	for i, l := range post.lines {
		if !post.ctx[i] && significant(l) {
			adds = true
			break
		}
	}
	var out []match
	for _, m := range s.findAll(h, post, maxFuzz) {
		switch {
		case adds && m.fuzz == 0:
			out = append(out, m)
		case post.keptContext(m) && headingAgrees(s.buf, m.start, h.heading):
			out = append(out, m)
		}
	}
	if !adds && len(out) != 1 {
		return postAtExpected(s, h, post)
	}
	return out
}

// postAtExpected is the post-image at the expected line, with all its
// context, or nothing.
func postAtExpected(s search, h *hunk, post image) []match {
	if len(post.lines) == 0 {
		return nil // a deletion without context leaves nothing to find
	}
	for _, m := range s.find(h, post, 0) {
		if m.start == s.expected {
			return []match{m}
		}
	}
	return nil
}

func hasExact(ms []match) bool {
	for _, m := range ms {
		if m.fuzz == 0 {
			return true
		}
	}
	return false
}

// doubt returns why the one place a hunk fits away from its expected
// line is still not to be trusted, or "".
func doubt(buf []string, h *hunk, pre image, m match) string {
	if h.context() == 0 {
		return "a hunk without context lines is applied only at the line its header names"
	}
	if !pre.keptContext(m) {
		if m.fuzz > 0 {
			return fmt.Sprintf("with fuzz %d only the changed lines and context without a letter or digit fit", m.fuzz)
		}
		return "away from the line its header names, only the changed lines and context without a letter or digit fit"
	}
	if !headingAgrees(buf, m.start, h.heading) {
		how := "away from the line its header names"
		if m.fuzz > 0 {
			how = fmt.Sprintf("with fuzz %d", m.fuzz)
		}
		return fmt.Sprintf("%s it fits only outside %q, the function its header names", how, h.heading)
	}
	if line, at := redefines(buf, h, m.start, m.start+len(h.old)); line != "" {
		return fmt.Sprintf("it adds %q, which the file already has at line %d: applied before, in another form?", strings.TrimSpace(line), at+1)
	}
	return ""
}

// redefines finds a definition the hunk adds that the file already has
// outside buf[lo:hi], the lines the hunk replaces: a struct, a
// function, a #define. Adding one twice never is what a patch means.
func redefines(buf []string, h *hunk, lo, hi int) (string, int) {
	removed := map[string]bool{}
	for _, l := range h.lines {
		if l.Op == gitdiff.OpDelete {
			removed[l.Line] = true
		}
	}
	for _, l := range h.lines {
		if l.Op != gitdiff.OpAdd || removed[l.Line] || !definition(l.Line) {
			continue
		}
		for i, b := range buf {
			if (i < lo || i >= hi) && b == l.Line {
				return l.Line, i
			}
		}
	}
	return "", 0
}

// definition reports whether a line starts a definition at the left
// margin: "struct wait_page_queue {", "static int foo(struct page *p)",
// "#define FOO 1". Labels and lone type lines ("static int") are not.
func definition(l string) bool {
	if strings.HasPrefix(l, "#define ") {
		return true
	}
	return cppHeadingLine(l) && strings.ContainsAny(l, "({=")
}

// Candidate is a place a hunk fits: the 1-based line in the file as it
// was before the patch, the fuzz it needs, and whether it is the hunk's
// post-image (what it produces) rather than its pre-image.
type Candidate struct {
	Line int  `json:"line"`
	Fuzz int  `json:"fuzz"`
	Post bool `json:"post,omitempty"`
}

func candidates(ms []match, post bool) []Candidate {
	out := make([]Candidate, 0, len(ms))
	for _, m := range ms {
		out = append(out, Candidate{Line: m.start, Fuzz: m.fuzz, Post: post})
	}
	return out
}

// patchLines applies hunks, in order, to orig and reports each one. It
// never fails as a whole: a hunk that cannot be placed is reported as a
// conflict and the rest still apply, so one run shows every problem.
// Expected positions follow a running offset, like patch(1), and a hunk
// is only searched after the end of the previous one.
//
// fileFacts are what the placement rule knows of a file beyond its
// lines: limits from Options, whether diff's C heading rules apply to
// it, and whether it is byte for byte the file the diff was made
// against (its git blob id is the one the diff's index line names).
type fileFacts struct {
	maxFuzz, maxOff int // maxOff 0 means no limit, as in Options
	c               bool
	diffed          bool
}

// facts returns the fileFacts of path, with content, for op.
func (a *applier) facts(path string, content []byte, op *fileOp) fileFacts {
	ext := filepath.Ext(path)
	f := fileFacts{maxFuzz: a.opts.MaxFuzz, maxOff: a.opts.MaxOffset, c: ext == ".c" || ext == ".h"}
	if id := op.oldOID; id != "" && strings.Trim(id, "0") != "" {
		f.diffed = strings.HasPrefix(blobID(content), id)
	}
	return f
}

func patchLines(orig []string, hunks []*hunk, ff fileFacts) ([]string, []HunkReport) {
	maxOff := ff.maxOff
	if maxOff <= 0 {
		maxOff = -1
	}
	buf := slices.Clone(orig)
	sums := lineSums(buf)
	var (
		frozen       int // buf before this index belongs to earlier hunks
		expectDelta  int // line count change of hunks now in buf (applied or found applied)
		appliedDelta int // line count change this run made to buf: buf index - orig index
		runOff       int // offset of the last placed hunk
		reports      = make([]HunkReport, 0, len(hunks))
	)
	for _, h := range hunks {
		nominal := h.start + expectDelta
		s := search{buf: buf, sums: sums, frozen: frozen, maxOff: maxOff, atStartOfFile: h.start == 0,
			expected: min(max(nominal+runOff, 0), len(buf)), c: ff.c, diffed: ff.diffed}
		p := place(s, h, nominal, ff.maxFuzz)
		rep := HunkReport{Index: h.index, OldStart: h.header, Status: p.status}
		switch p.status {
		case StatusConflict:
			rep.Conflict = conflictReport(orig, h, s.expected-appliedDelta, appliedDelta, p)
			reports = append(reports, rep)
			continue
		case StatusAlreadyApplied:
			rep.Offset = p.at.start - nominal
			rep.AppliedAt = p.at.start - appliedDelta + 1
			frozen = p.at.start + len(h.new)
		default:
			k, i, out := p.at.kept(), p.at.kept(), []string(nil)
			for _, l := range h.lines[p.at.pf : len(h.lines)-p.at.sf] {
				switch l.Op {
				case gitdiff.OpContext: // the file's text, not the patch's
					out = append(out, buf[i])
					i++
				case gitdiff.OpDelete:
					i++
				case gitdiff.OpAdd:
					out = append(out, l.Line)
				}
			}
			rep.Offset, rep.Fuzz = p.at.start-nominal, p.at.fuzz
			rep.AppliedAt = p.at.start - appliedDelta + 1
			if len(h.old) == 0 {
				rep.AppliedAt-- // "after line N", as the header says it
			}
			buf = slices.Replace(buf, k, i, out...)
			sums = slices.Replace(sums, k, i, lineSums(out)...)
			frozen = k + len(out)
			appliedDelta += len(out) - (i - k)
		}
		expectDelta += len(h.new) - len(h.old)
		runOff = p.at.start - nominal
		reports = append(reports, rep)
	}
	return buf, reports
}

// conflictReport describes a hunk that was not applied: why, the places
// that fit (as lines of orig), and the region of orig most like what the
// hunk expected, near want.
func conflictReport(orig []string, h *hunk, want, delta int, p placement) *Conflict {
	c := &Conflict{Hunk: h.index, OldStart: h.header, Reason: p.reason, Expected: trimNL(h.old)}
	for _, cand := range p.candidates {
		cand.Line += 1 - delta
		c.Candidates = append(c.Candidates, cand)
	}
	if start, end, matched, found := nearest(orig, h.old, min(max(want, 0), len(orig))); found {
		c.NearestLine, c.Matched = start+1, matched
		c.Found = trimNL(orig[start:end])
	}
	return c
}
