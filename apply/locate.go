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
	heading     string
	lines       []gitdiff.Line
	old, new    []string
	lead, trail int // leading and trailing context lines
	// start is the 0-based index of the first pre-image line or, for a
	// hunk without pre-image (-U0 insertion, new file), the index the
	// lines are inserted before: "@@ -5,0 +6,2 @@" inserts after line 5.
	start int
}

func newHunk(index int, f *gitdiff.TextFragment, reverse bool) *hunk {
	h := &hunk{index: index, header: int(f.OldPosition), heading: strings.TrimSpace(f.Comment)}
	if reverse {
		// The heading names the function in the forward pre-image; in
		// reverse the post-image is searched, where it may differ.
		h.header, h.heading = int(f.NewPosition), ""
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

// image is one side of a hunk as a search pattern: the pre-image (what
// the hunk expects) or the post-image (what it leaves).
type image struct {
	lines []string
	// ctx[i] tells whether lines[i] is a context line, as opposed to a
	// line the hunk removes (pre-image) or adds (post-image).
	ctx []bool
}

func (h *hunk) image(post bool) image {
	var im image
	for _, l := range h.lines {
		if l.Op == gitdiff.OpContext || (post && l.Op == gitdiff.OpAdd) || (!post && l.Op == gitdiff.OpDelete) {
			im.lines = append(im.lines, l.Line)
			im.ctx = append(im.ctx, l.Op == gitdiff.OpContext)
		}
	}
	return im
}

// trim returns how many lines fuzz drops at each end, computed as GNU
// patch does so that a hunk with shorter context on one side loses that
// side last. Fuzz never reaches the changed lines: it is at most the
// longer context, and the shorter side loses less.
func (h *hunk) trim(fuzz int) (pf, sf int) {
	ctx := h.context()
	return max(0, fuzz+h.lead-ctx), max(0, fuzz+h.trail-ctx)
}

// match is one place a hunk's image fits: start is the buffer index of
// the image's first line as written (kept lines begin at start+pf), fuzz
// how many outer context lines at each end it ignores.
type match struct {
	start, pf, sf, fuzz int
}

// kept is where the lines that matched begin.
func (m match) kept() int { return m.start + m.pf }

// search is where a hunk may go in a buffer: after frozen (the end of the
// previous hunk), within maxOff lines of expected (negative: no limit).
// sums holds a hash of every line of buf: every hunk is checked against
// every place in its file, and comparing hashes first keeps that cheap.
type search struct {
	buf           []string
	sums          []uint64
	expected      int
	frozen        int
	maxOff        int
	atStartOfFile bool // the hunk's header puts it at line 1
	c             bool // a C file: diff's heading rules are known
	diffed        bool // the file is the one the diff was made against
}

// find returns every place im fits at exactly the given fuzz, nearest
// to the expected line first (ties: below before above, as GNU patch
// searches). At fuzz 0 a hunk whose leading context is shorter than its
// trailing context and that starts at line 1 must match at the start of
// the file, and one whose trailing context is shorter must match at the
// end: diff only emits short context at a file boundary. Fuzz drops that
// anchoring. An image with no lines fits only at the expected place.
func (s search) find(h *hunk, im image, fuzz int) []match {
	pf, sf := h.trim(fuzz)
	if len(im.lines) == 0 {
		if fuzz > 0 {
			return nil
		}
		return []match{{start: min(max(s.expected, s.frozen), len(s.buf))}}
	}
	kept := im.lines[pf : len(im.lines)-sf]
	if len(kept) == 0 {
		return nil
	}
	lo, hi := s.frozen, len(s.buf)-len(kept)
	if fuzz == 0 && h.lead < h.trail && s.atStartOfFile {
		hi = min(hi, 0)
	}
	if fuzz == 0 && h.trail < h.lead {
		lo = max(lo, len(s.buf)-len(kept))
	}
	want := s.expected + pf
	if s.maxOff >= 0 {
		lo, hi = max(lo, want-s.maxOff), min(hi, want+s.maxOff)
	}
	want0 := lineSum(kept[0])
	var out []match
	for k := lo; k <= hi; k++ {
		if s.sums[k] == want0 && matchAt(s.buf, k, kept) {
			out = append(out, match{start: k - pf, pf: pf, sf: sf, fuzz: fuzz})
		}
	}
	slices.SortStableFunc(out, func(a, b match) int {
		da, db := abs(a.kept()-want), abs(b.kept()-want)
		if da != db {
			return da - db
		}
		return b.kept() - a.kept()
	})
	return out
}

// findAll returns every place im fits with fuzz up to maxFuzz, each place
// once, at the least fuzz it needs.
func (s search) findAll(h *hunk, im image, maxFuzz int) []match {
	var out []match
	seen := map[int]bool{}
	for f := 0; f <= min(maxFuzz, h.context()); f++ {
		for _, m := range s.find(h, im, f) {
			if !seen[m.start] {
				seen[m.start] = true
				out = append(out, m)
			}
		}
	}
	return out
}

// lineSum is a line's FNV-1a hash.
func lineSum(l string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(l); i++ {
		h ^= uint64(l[i])
		h *= 1099511628211
	}
	return h
}

func lineSums(lines []string) []uint64 {
	out := make([]uint64, len(lines))
	for i, l := range lines {
		out[i] = lineSum(l)
	}
	return out
}

func matchAt(buf []string, k int, pat []string) bool {
	for i, l := range pat {
		if buf[k+i] != l {
			return false
		}
	}
	return true
}

// keptContext reports whether the lines of im that m kept include a
// context line that says where it is (a letter or digit in it). The
// lines a hunk changes say what, not where: the same call, assignment
// or return is written all over a file.
func (im image) keptContext(m match) bool {
	for i := m.pf; i < len(im.lines)-m.sf; i++ {
		if im.ctx[i] && significant(im.lines[i]) {
			return true
		}
	}
	return false
}

// keptSignificant reports whether any kept line of im has a letter or
// digit: a match of nothing but "}", "" and "/**" says nothing at all.
func (im image) keptSignificant(m match) bool {
	return slices.ContainsFunc(im.lines[m.pf:len(im.lines)-m.sf], significant)
}
