package apply

import (
	"slices"
	"strings"

	"github.com/bluekeyes/go-gitdiff/gitdiff"
)

// hunk is one text fragment prepared for locating: its pre-image (old)
// and post-image (new) lines, both keeping their "\n" (a line without one
// is the last line of a file that lacks a final newline, so it only matches
// such a line).
type hunk struct {
	index       int // 1-based within its file
	header      int // old start line as written in the (possibly reversed) header
	lines       []gitdiff.Line
	old, new    []string
	lead, trail int // leading and trailing context lines
	// start is the 0-based index of the first pre-image line or, for a
	// hunk without pre-image (-U0 insertion, new file), the index the
	// lines are inserted before: "@@ -5,0 +6,2 @@" inserts after line 5.
	start int
}

func newHunk(index int, f *gitdiff.TextFragment, reverse bool) *hunk {
	h := &hunk{index: index, header: int(f.OldPosition)}
	if reverse {
		h.header = int(f.NewPosition)
	}
	h.lines = make([]gitdiff.Line, len(f.Lines))
	for i, l := range f.Lines {
		if reverse {
			switch l.Op {
			case gitdiff.OpAdd:
				l.Op = gitdiff.OpDelete
			case gitdiff.OpDelete:
				l.Op = gitdiff.OpAdd
			}
		}
		h.lines[i] = l
		if l.Old() {
			h.old = append(h.old, l.Line)
		}
		if l.New() {
			h.new = append(h.new, l.Line)
		}
	}
	// Count context ourselves rather than trusting the fragment's fields,
	// which a hand-built or reversed fragment may not maintain.
	for _, l := range h.lines {
		if l.Op != gitdiff.OpContext {
			break
		}
		h.lead++
	}
	if h.lead < len(h.lines) {
		for i := len(h.lines) - 1; i >= 0 && h.lines[i].Op == gitdiff.OpContext; i-- {
			h.trail++
		}
	}
	h.start = h.header
	if len(h.old) > 0 {
		h.start--
	}
	h.start = max(h.start, 0)
	return h
}

// context is the larger of the hunk's two context runs, the most fuzz can
// ever discard.
func (h *hunk) context() int { return max(h.lead, h.trail) }

// locate finds pat in buf, nearest to expected first and alternating
// directions (expected, +1, -1, +2, ...), as GNU patch does. fuzz outer
// context lines may be ignored: pf leading and sf trailing lines of pat,
// computed as GNU patch does so that a hunk with shorter context on one
// side loses that side last. k is where the kept part pat[pf:len-sf]
// matched; the hunk's nominal start is k-pf.
//
// At fuzz 0 a hunk whose leading context is shorter than its trailing
// context and that starts at line 1 must match at the start of the file,
// and one whose trailing context is shorter must match at the end: diff
// only emits short context at a file boundary. Fuzz drops that anchoring.
//
// Matches must start at or after frozen (the end of the previous hunk) and
// lie within maxOff lines of expected; a negative maxOff is no limit. An
// empty pattern (a pure insertion without context) matches at expected.
// Fuzz may not reduce a pattern to nothing, nor to lines without a letter
// or digit: either would match almost anywhere.
func locate(buf, pat []string, lead, trail int, atStart bool, expected, frozen, fuzz, maxOff int) (k, pf, sf int, ok bool) {
	ctx := max(lead, trail)
	pf, sf = max(0, fuzz+lead-ctx), max(0, fuzz+trail-ctx)
	anchorStart := fuzz == 0 && lead < trail && atStart
	anchorEnd := fuzz == 0 && trail < lead
	kept := pat[pf : len(pat)-sf]
	if len(kept) == 0 {
		if fuzz > 0 || len(pat) > 0 {
			return 0, 0, 0, false
		}
		return min(max(expected, frozen), len(buf)), 0, 0, true
	}
	if fuzz > 0 && !slices.ContainsFunc(kept, significant) {
		// "}", "" and "/**" alone match all over a C file.
		return 0, 0, 0, false
	}

	lo, hi := frozen, len(buf)-len(kept)
	if anchorStart {
		hi = min(hi, 0)
	}
	if anchorEnd {
		lo = max(lo, len(buf)-len(kept))
	}
	if lo > hi {
		return 0, 0, 0, false
	}
	want := expected + pf
	for off := 0; maxOff < 0 || off <= maxOff; off++ {
		up, down := want+off, want-off
		if up > hi && down < lo {
			break
		}
		if up >= lo && up <= hi && matchAt(buf, up, kept) {
			return up, pf, sf, true
		}
		if off > 0 && down >= lo && down <= hi && matchAt(buf, down, kept) {
			return down, pf, sf, true
		}
	}
	return 0, 0, 0, false
}

func matchAt(buf []string, k int, pat []string) bool {
	for i, l := range pat {
		if buf[k+i] != l {
			return false
		}
	}
	return true
}

// nearest finds the region of buf most like pat, for a conflict report.
// Every line of pat votes for the region starts its occurrences in buf
// imply (lines with letters or digits weigh more than blank or brace
// lines, and only regions one of them voted for count; lines too common
// to say anything do not vote); nearby starts pool their votes so a
// region with a few inserted or deleted lines still wins.
// Ties go to the start nearest expected. The region is then trimmed or
// widened by aligning pat against it, so Found shows what stands where
// the hunk should go. matched is the number of pat lines in the region.
func nearest(buf, pat []string, expected int) (start, end, matched int, found bool) {
	if len(pat) == 0 || len(buf) == 0 {
		return 0, 0, 0, false
	}
	want := make(map[string][]int, len(pat))
	for _, l := range pat {
		want[l] = nil
	}
	for j, l := range buf {
		if occ, ok := want[l]; ok && len(occ) <= maxVotesPerLine {
			want[l] = append(occ, j)
		}
	}
	// votes[p] counts line matches implying start p; only starts that a
	// significant line voted for are candidates.
	votes, candidates := map[int]int{}, map[int]bool{}
	for i, l := range pat {
		occ := want[l]
		if len(occ) > maxVotesPerLine {
			continue
		}
		w := 1
		if significant(l) {
			w = 3
		}
		for _, j := range occ {
			votes[j-i] += w
			if w > 1 {
				candidates[j-i] = true
			}
		}
	}
	best, bestPos := 0, 0
	for p := range candidates {
		score := 0
		for q := p - voteRadius; q <= p+voteRadius; q++ {
			score += votes[q]
		}
		if score > best || score == best && abs(p-expected) < abs(bestPos-expected) {
			best, bestPos = score, p
		}
	}
	if best == 0 {
		return 0, 0, 0, false
	}

	// Align pat with a window around the winner and keep the span from
	// its first to its last matching line, extended by the pat lines
	// before and after that have no match.
	start, end = max(bestPos, 0), min(bestPos+len(pat), len(buf))
	if len(pat) <= maxAlignLines {
		lo, hi := max(bestPos-voteRadius, 0), min(bestPos+len(pat)+2*voteRadius, len(buf))
		pairs := align(pat, buf[lo:hi])
		if len(pairs) > 0 {
			first, last := pairs[0], pairs[len(pairs)-1]
			start = max(lo+first[1]-first[0], 0)
			end = min(lo+last[1]+1+(len(pat)-1-last[0]), len(buf))
		}
	}
	matched = len(align(pat, buf[start:end]))
	return start, end, matched, true
}

const (
	maxVotesPerLine = 64   // a line found more often than this says nothing about place
	voteRadius      = 4    // starts this close pool their votes
	maxAlignLines   = 1000 // beyond this, report the region unaligned
)

// align returns the index pairs (i in a, j in b) of a longest common
// subsequence of a and b, in order.
func align(a, b []string) [][2]int {
	if len(a) == 0 || len(b) == 0 || len(a)*len(b) > maxAlignLines*maxAlignLines {
		return nil
	}
	// lcs[i][j] is the LCS length of a[i:] and b[j:].
	w := len(b) + 1
	lcs := make([]int32, (len(a)+1)*w)
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			switch {
			case a[i] == b[j]:
				lcs[i*w+j] = lcs[(i+1)*w+j+1] + 1
			case lcs[(i+1)*w+j] >= lcs[i*w+j+1]:
				lcs[i*w+j] = lcs[(i+1)*w+j]
			default:
				lcs[i*w+j] = lcs[i*w+j+1]
			}
		}
	}
	var pairs [][2]int
	for i, j := 0, 0; i < len(a) && j < len(b); {
		switch {
		case a[i] == b[j]:
			pairs = append(pairs, [2]int{i, j})
			i++
			j++
		case lcs[(i+1)*w+j] >= lcs[i*w+j+1]:
			i++
		default:
			j++
		}
	}
	return pairs
}

// significant reports whether a line says something about where it is:
// it has a letter or digit, unlike "}", "" or "/**".
func significant(l string) bool { return strings.ContainsFunc(l, isWordRune) }

func isWordRune(r rune) bool {
	return r == '_' || ('0' <= r && r <= '9') || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || r > 127
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// fileLines splits content into lines that keep their "\n"; the last line
// lacks it when the file does not end in a newline.
func fileLines(b []byte) []string {
	s := string(b)
	n := strings.Count(s, "\n")
	lines := make([]string, 0, n+1)
	for len(s) > 0 {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			lines = append(lines, s)
			break
		}
		lines = append(lines, s[:i+1])
		s = s[i+1:]
	}
	return lines
}

func joinLines(lines []string) []byte {
	n := 0
	for _, l := range lines {
		n += len(l)
	}
	b := make([]byte, 0, n)
	for _, l := range lines {
		b = append(b, l...)
	}
	return b
}

// patchLines applies hunks, in order, to orig and reports each one. It
// never fails as a whole: a hunk that cannot be placed is reported as a
// conflict and the rest still apply, so one run shows every problem.
//
// Per hunk: the pre-image at the expected place or the nearest offset;
// then the post-image (already applied: nothing changes); then the
// pre-image with fuzz 1..maxFuzz. "Already applied" comes before fuzz on
// purpose: a fuzzed pre-image (say the two context lines around an
// insertion) can match an already patched file and would apply the change
// twice. The evidence for "already applied" is the added lines in their
// full context; a hunk that adds nothing has only context for a
// post-image, so there the lines it deletes, found with fuzz, win, and
// the post-image only counts at the expected place. Zero-context hunks
// likewise only count as applied at the expected place: their post-image
// may be one common line. Expected positions follow a running offset,
// like patch(1), and a hunk is only searched after the end of the
// previous one.
//
// maxOff 0 means no limit, as in Options.
func patchLines(orig []string, hunks []*hunk, maxFuzz, maxOff int) ([]string, []HunkReport) {
	if maxOff <= 0 {
		maxOff = -1
	}
	buf := slices.Clone(orig)
	var (
		frozen       int // buf before this index belongs to earlier hunks
		expectDelta  int // line count change of hunks now in buf (applied or found applied)
		appliedDelta int // line count change this run made to buf: buf index - orig index
		runOff       int // offset of the last placed hunk
		reports      = make([]HunkReport, 0, len(hunks))
	)
	for _, h := range hunks {
		nominal := h.start + expectDelta
		expected := min(max(nominal+runOff, 0), len(buf))
		rep := HunkReport{Index: h.index, OldStart: h.header}
		atStart := h.start == 0

		k, pf, sf, ok := locate(buf, h.old, h.lead, h.trail, atStart, expected, frozen, 0, maxOff)
		fuzz := 0
		postAt, post := 0, false
		if !ok && len(h.new) > 0 {
			adds := len(h.new) > h.lead+h.trail
			postOff := maxOff
			if h.context() == 0 || !adds {
				postOff = 0
			}
			postAt, _, _, post = locate(buf, h.new, h.lead, h.trail, atStart, expected, frozen, 0, postOff)
			if post && !adds {
				// Weak evidence: let fuzz look for the deleted lines first.
				for f := 1; !ok && f <= min(maxFuzz, h.context()); f++ {
					k, pf, sf, ok = locate(buf, h.old, h.lead, h.trail, atStart, expected, frozen, f, maxOff)
					fuzz = f
				}
			}
		}
		if !ok && post {
			rep.Status = StatusAlreadyApplied
			rep.Offset = postAt - nominal
			rep.AppliedAt = postAt - appliedDelta + 1
			frozen = postAt + len(h.new)
			expectDelta += len(h.new) - len(h.old)
			runOff = postAt - nominal
			reports = append(reports, rep)
			continue
		}
		for f := 1; !ok && f <= min(maxFuzz, h.context()); f++ {
			k, pf, sf, ok = locate(buf, h.old, h.lead, h.trail, atStart, expected, frozen, f, maxOff)
			fuzz = f
		}
		if !ok {
			rep.Status = StatusConflict
			c := &Conflict{Hunk: h.index, OldStart: h.header, Reason: "hunk does not match", Expected: trimNL(h.old)}
			want := min(max(expected-appliedDelta, 0), len(orig))
			if start, end, matched, found := nearest(orig, h.old, want); found {
				c.NearestLine, c.Matched = start+1, matched
				c.Found = trimNL(orig[start:end])
			}
			rep.Conflict = c
			reports = append(reports, rep)
			continue
		}

		// Replace the kept region; context lines keep the file's text.
		var out []string
		i := k
		for _, l := range h.lines[pf : len(h.lines)-sf] {
			switch l.Op {
			case gitdiff.OpContext:
				out = append(out, buf[i])
				i++
			case gitdiff.OpDelete:
				i++
			case gitdiff.OpAdd:
				out = append(out, l.Line)
			}
		}
		start := k - pf
		rep.Offset = start - nominal
		rep.Fuzz = fuzz
		rep.AppliedAt = start - appliedDelta + 1
		if len(h.old) == 0 {
			rep.AppliedAt-- // "after line N", as the header says it
		}
		switch {
		case fuzz > 0:
			rep.Status = StatusFuzz
		case rep.Offset != 0:
			rep.Status = StatusOffset
		default:
			rep.Status = StatusExact
		}
		buf = slices.Replace(buf, k, i, out...)
		frozen = k + len(out)
		appliedDelta += len(out) - (i - k)
		expectDelta += len(h.new) - len(h.old)
		runOff = start - nominal
		reports = append(reports, rep)
	}
	return buf, reports
}

func trimNL(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = strings.TrimSuffix(l, "\n")
	}
	return out
}
