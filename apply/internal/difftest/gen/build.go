package main

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/bluekeyes/go-gitdiff/gitdiff"
	"github.com/ktest-dev/ktest/apply/internal/difftest"
	"github.com/ktest-dev/ktest/internal/termfmt"
)

type gen struct {
	rng     *rand.Rand
	version string
	byDir   map[string][]*source
	differ  *differ
}

// errSkip: the drawn file or site cannot carry the kind; draw again.
var errSkip = errors.New("skip")

func skipf(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errSkip}, a...)...)
}

type editType int

const (
	eDelete editType = iota
	eChange
	eInsert
	eReplace
	eInsertAfterBlock // between a closing "\t}" and a blank line
)

// editTypes are the edits a kind can be built on.
func editTypes(kind string) []editType {
	switch kind {
	case "rewritten", "reworded":
		return []editType{eDelete, eChange, eReplace}
	case "applied-evolved":
		return []editType{eInsert, eInsert, eChange, eReplace}
	case "trivial-context":
		return []editType{eInsertAfterBlock}
	}
	return []editType{eDelete, eChange, eInsert, eReplace}
}

// excerpt is the tree a patch is made on (a window of a real file) and
// the edit the patch makes, all in the window's coordinates.
type excerpt struct {
	src       *source
	lo        int
	o         []string
	f         fn   // the site's function
	funcs     []fn // the functions wholly inside the window
	at        int  // first removed line, or the line an insertion goes before
	old, new  []string
	what      string
	cpp       bool
	patch     []byte
	heading   string
	pre       []string // the hunk's pre-image and post-image
	post      []string
	preStart  int // the pre-image's first line
	lead      int // leading context lines
	trail     int
	elsewhere int // for "rewritten": another line of o equal to old[0]
}

// edited is the excerpt with the edit made.
func (ex *excerpt) edited() []string {
	return slices.Concat(ex.o[:ex.at], ex.new, ex.o[ex.at+len(ex.old):])
}

func (g *gen) pick(kind string) (*excerpt, error) {
	dir := dirs[g.rng.IntN(len(dirs))]
	src := g.byDir[dir][g.rng.IntN(len(g.byDir[dir]))]
	f := src.sites[g.rng.IntN(len(src.sites))]
	if (kind == "twin-functions" || kind == "duplicate-region") && f.len() > 120 {
		return nil, skipf("function %s of %d lines is too long to copy", f.name, f.len())
	}
	types := editTypes(kind)
	t := types[g.rng.IntN(len(types))]
	var at, n int
	var repl []string
	var what string
	var ok bool
	for range 20 {
		if at, n, repl, what, ok = g.edit(src, f, t); ok {
			break
		}
	}
	if !ok {
		return nil, skipf("no site for edit %d in %s", t, f.name)
	}
	if at-3 <= f.open || at+n+3 >= f.close {
		return nil, skipf("hunk would leave the function body")
	}
	elsewhere := -1
	if kind == "rewritten" {
		for i, l := range src.lines {
			if l == src.lines[at] && (i < at-4 || i > at+n+3) && i > at-200 && i < at+200 {
				elsewhere = i
				break
			}
		}
		if elsewhere < 0 {
			return nil, skipf("removed line occurs nowhere else nearby")
		}
	}

	lo := f.sig - 15 - g.rng.IntN(85)
	hi := f.close + 1 + 15 + g.rng.IntN(85)
	if elsewhere >= 0 {
		lo, hi = min(lo, elsewhere-10), max(hi, elsewhere+10)
	}
	lo, hi = max(lo, 0), min(hi, len(src.lines))
	if hi-lo > 420 {
		return nil, skipf("window of %d lines", hi-lo)
	}
	ex := &excerpt{
		src: src, lo: lo, o: src.lines[lo:hi], at: at - lo,
		old: slices.Clone(src.lines[at : at+n]), new: repl, what: what,
		cpp: kind == "renamed-function" || g.rng.IntN(4) != 0,
	}
	for _, h := range src.funcs {
		if h.sig >= lo && h.close < hi {
			h.sig, h.open, h.close = h.sig-lo, h.open-lo, h.close-lo
			ex.funcs = append(ex.funcs, h)
			if h.sig == f.sig-lo {
				ex.f = h
			}
		}
	}
	if elsewhere >= 0 {
		ex.elsewhere = elsewhere - lo
	}
	var frag *gitdiff.TextFragment
	var err error
	if ex.patch, frag, err = g.differ.diff(src.path, ex.o, ex.edited(), ex.cpp); err != nil {
		return nil, err
	}
	if frag.LeadingContext != 3 || frag.TrailingContext != 3 {
		return nil, skipf("hunk with %d/%d context lines", frag.LeadingContext, frag.TrailingContext)
	}
	ex.heading, ex.preStart = frag.Comment, int(frag.OldPosition)-1
	ex.lead, ex.trail = int(frag.LeadingContext), int(frag.TrailingContext)
	for _, l := range frag.Lines {
		if l.Old() {
			ex.pre = append(ex.pre, l.Line)
		}
		if l.New() {
			ex.post = append(ex.post, l.Line)
		}
	}
	if ex.preStart <= ex.f.open || ex.preStart+len(ex.pre) > ex.f.close {
		return nil, skipf("hunk leaves the function body")
	}
	if !slices.Equal(ex.o[ex.preStart:ex.preStart+len(ex.pre)], ex.pre) {
		return nil, fmt.Errorf("%s: git's pre-image is not at line %d", src.path, ex.preStart+1)
	}
	if len(matches(ex.o, ex.pre)) != 1 {
		return nil, skipf("pre-image not unique in the tree the patch was made on")
	}
	if !slices.ContainsFunc(ex.pre, significant) {
		return nil, skipf("pre-image without a significant line")
	}
	return ex, nil
}

// edit draws an edit of type t in f's body (in src's coordinates).
func (g *gen) edit(src *source, f fn, t editType) (at, n int, repl []string, what string, ok bool) {
	lines := src.lines
	i := f.open + 4 + g.rng.IntN(max(1, f.close-f.open-8))
	ind := indent(lines[i])
	switch t {
	case eDelete:
		if !statement(lines, i) || !strings.Contains(lines[i], "(") {
			return
		}
		n = 1
		if statement(lines, i+1) && g.rng.IntN(3) == 0 {
			n = 2
		}
		return i, n, nil, fmt.Sprintf("deletes %s", termfmt.Plural(n, "line")), true
	case eChange:
		if !code(lines[i]) || strings.TrimSpace(lines[i]) == "{" {
			return
		}
		m, ok := mutate(g.rng, lines[i])
		if !ok {
			return 0, 0, nil, "", false
		}
		return i, 1, []string{m}, "changes a line", true
	case eInsert:
		if !statement(lines, i) {
			return
		}
		repl = newLines(g.rng, ind, variables(lines[i]), f.name)
		return i + 1, 0, repl, fmt.Sprintf("inserts %s", termfmt.Plural(len(repl), "line")), true
	case eInsertAfterBlock:
		for j := i; j < f.close-4; j++ {
			if strings.TrimLeft(lines[j], "\t") == "}\n" && strings.HasPrefix(lines[j], "\t") && lines[j+1] == "\n" {
				repl = newLines(g.rng, indent(lines[j]), variables(lines[j-1]), f.name)
				return j + 1, 0, repl, fmt.Sprintf("inserts %s after a block", termfmt.Plural(len(repl), "line")), true
			}
		}
		return
	case eReplace:
		n = 2 + g.rng.IntN(2)
		var changed bool
		for k := i; k < i+n; k++ {
			if !code(lines[k]) || strings.TrimSpace(lines[k]) == "{" || strings.TrimSpace(lines[k]) == "}" {
				return 0, 0, nil, "", false
			}
			m, ok := mutate(g.rng, lines[k])
			if ok && (g.rng.IntN(3) != 0 || (!changed && k == i+n-1)) {
				repl, changed = append(repl, m), true
			} else {
				repl = append(repl, lines[k])
			}
		}
		if !changed {
			return 0, 0, nil, "", false
		}
		if g.rng.IntN(2) == 0 {
			repl = append(repl, newLines(g.rng, ind, variables(lines[i]), f.name)...)
		}
		return i, n, repl, fmt.Sprintf("replaces %d lines with %d", n, len(repl)), true
	}
	return
}

// build makes one case of kind k, or fails with errSkip if the draw
// cannot carry it.
func (g *gen) build(k difftest.Kind) (*difftest.Case, error) {
	ex, err := g.pick(k.Name)
	if err != nil {
		return nil, err
	}
	d := newDoc(ex.o)
	r, err := g.drift(k.Name, ex, d)
	if err != nil {
		return nil, err
	}
	c := &difftest.Case{
		Kind: k.Name, Want: k.Want, Path: ex.src.path,
		Why:    fmt.Sprintf("the patch %s in %s(); %s", ex.what, ex.f.name, r.why),
		Source: fmt.Sprintf("%s lines %d-%d, %s", ex.src.path, ex.lo+1, ex.lo+len(ex.o), g.version),
		Diff:   "git diff -U3, default function headings",
		Base:   []byte(strings.Join(d.lines, "")),
		Patch:  ex.patch,
	}
	if ex.cpp {
		c.Diff = "git diff -U3, headings by diff=cpp (the kernel's .gitattributes)"
	}
	if k.Want == difftest.WantApply || k.Want == difftest.WantApplyOrRefuse {
		p := d.pos(ex.at)
		if p < 0 || !slices.Equal(d.lines[p:p+len(ex.old)], ex.old) {
			return nil, fmt.Errorf("%s: the edit's own lines are not at its site in the drifted base", ex.src.path)
		}
		c.WantDiff = difftest.FormatExact(ex.src.path, d.lines, p, len(ex.old), ex.new)
	}
	if _, err := c.Marshal(); err != nil {
		return nil, skipf("%v", err) // a line that reads as a txtar marker
	}
	return c, nil
}

type drifted struct{ why string }

// drift turns d (the excerpt) into the base of a case of kind and
// checks that the base has the property the kind is about.
func (g *gen) drift(kind string, ex *excerpt, d *doc) (drifted, error) {
	count := func(pat []string, wild ...int) int { return len(matches(d.lines, pat, wild...)) }
	switch kind {
	case "clean":
		return drifted{"the base is the tree it was made on"}, nil

	case "shifted":
		why, err := g.shift(ex, d, g.rng.IntN(2) == 0)
		if err != nil {
			return drifted{}, err
		}
		if count(ex.pre) != 1 {
			return drifted{}, skipf("shift made the pre-image ambiguous")
		}
		return drifted{why + "; the hunk is otherwise intact"}, nil

	case "outer-context", "inner-context":
		idx := []int{0, len(ex.pre) - 1}
		if kind == "inner-context" {
			idx = []int{ex.lead - 1, len(ex.pre) - ex.trail}
		}
		i := idx[g.rng.IntN(2)]
		if err := g.mutateLine(ex, d, ex.preStart+i); err != nil {
			return drifted{}, err
		}
		if count(ex.pre) != 0 || count(ex.pre, i) != 1 {
			return drifted{}, skipf("changed context leaves the hunk ambiguous")
		}
		where := map[int]string{0: "first", len(ex.pre) - 1: "last"}[i] + " context line"
		if kind == "inner-context" {
			where = "context line next to the change (" + map[bool]string{true: "above", false: "below"}[i == ex.lead-1] + " it)"
		}
		return drifted{fmt.Sprintf("upstream since changed the %s, now %q; the right result keeps that change", where, strings.TrimSpace(d.lines[d.pos(ex.preStart+i)]))}, nil

	case "rewritten":
		why, err := g.rewrite(ex, d)
		if err != nil {
			return drifted{}, err
		}
		if count(ex.pre) != 0 || count(ex.post) != 0 || count([]string{ex.old[0]}) == 0 {
			return drifted{}, skipf("rewrite left a match or lost the other occurrence")
		}
		return drifted{why + fmt.Sprintf("; %q still occurs elsewhere in the file, so there is no right place", strings.TrimSpace(ex.old[0]))}, nil

	case "reworded":
		return g.reword(ex, d)

	case "applied", "applied-drifted", "applied-evolved":
		p := d.pos(ex.at)
		d.delete(p, len(ex.old))
		d.insert(p, ex.new, tagAdded)
		why := "the base already has the change"
		switch kind {
		case "applied-drifted":
			var err error
			why, err = g.driftApplied(ex, d)
			if err != nil {
				return drifted{}, err
			}
		case "applied-evolved":
			var err error
			if why, err = g.evolve(ex, d); err != nil {
				return drifted{}, err
			}
			if count(ex.post) != 0 {
				return drifted{}, skipf("evolved post-image still matches")
			}
		default:
			if count(ex.post) != 1 {
				return drifted{}, skipf("post-image not unique")
			}
		}
		if count(ex.pre) != 0 {
			return drifted{}, skipf("pre-image still matches after applying")
		}
		return drifted{why}, nil

	case "twin-functions", "duplicate-region":
		return g.twin(kind, ex, d)

	case "renamed-function":
		return g.rename(ex, d)

	case "trivial-context":
		return g.trivial(ex, d)
	}
	return drifted{}, fmt.Errorf("no drift for kind %s", kind)
}

// reword rewords the lines the hunk removes, so that what it removes is
// no longer in the file.
func (g *gen) reword(ex *excerpt, d *doc) (drifted, error) {
	var words []string
	for k := range ex.old {
		p := d.pos(ex.at + k)
		m, ok := mutate(g.rng, d.lines[p])
		if !ok || slices.Contains(ex.new, m) {
			continue
		}
		d.lines[p] = m
		words = append(words, strings.TrimSpace(m))
	}
	if len(words) == 0 || len(matches(d.lines, ex.pre)) != 0 || len(matches(d.lines, ex.post)) != 0 {
		return drifted{}, skipf("removed lines cannot be reworded")
	}
	return drifted{fmt.Sprintf("upstream reworded the lines it removes (now %q), so what it removes is no longer there", strings.Join(words, " / "))}, nil
}

// mutateLine rewords the line of the excerpt at index i (wherever it
// now is in d).
func (g *gen) mutateLine(ex *excerpt, d *doc, i int) error {
	p := d.pos(i)
	if p < 0 || !code(d.lines[p]) {
		return skipf("context line %d is not code", i)
	}
	m, ok := mutate(g.rng, d.lines[p])
	if !ok || slices.Contains(ex.pre, m) || slices.Contains(ex.post, m) {
		return skipf("context line %d cannot be changed", i)
	}
	d.lines[p] = m
	return nil
}
