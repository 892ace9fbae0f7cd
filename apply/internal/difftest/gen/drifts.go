package main

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/ktest-dev/ktest/internal/termfmt"
)

// boundaryAbove is the line after the blank line above the function
// (and its comment) whose signature is at line sig of d.
func boundaryAbove(d *doc, sig int) int {
	k := sig - 1
	for k >= 0 && d.lines[k] != "\n" {
		k--
	}
	return k + 1
}

// chunk is a whole function of another file (with a blank line after
// it) of between minLen and maxLen lines, and its name and file.
func (g *gen) chunk(not *source, minLen, maxLen int) ([]string, string, error) {
	for range 50 {
		dir := dirs[g.rng.IntN(len(dirs))]
		src := g.byDir[dir][g.rng.IntN(len(g.byDir[dir]))]
		if src == not {
			continue
		}
		f := src.funcs[g.rng.IntN(len(src.funcs))]
		if f.len() < minLen || f.len() > maxLen {
			continue
		}
		return slices.Concat(src.lines[f.sig:f.close+1], []string{"\n"}), fmt.Sprintf("%s() from %s", f.name, src.path), nil
	}
	return nil, "", skipf("no function of %d-%d lines drawn", minLen, maxLen)
}

// shift moves the hunk's site: lines added or removed above it, a few
// (inside its function or a short function) or many (a long function).
func (g *gen) shift(ex *excerpt, d *doc, large bool) (string, error) {
	top := d.pos(ex.preStart)
	open := d.pos(ex.f.open)
	sig := d.pos(ex.f.sig)
	before := top
	var why string
	choice := 4
	if !large {
		choice = g.rng.IntN(4)
	}
	switch choice {
	case 0: // statements added in the function, above the hunk
		var at []int
		for p := open + 2; p < top; p++ {
			if statement(d.lines, p-1) {
				at = append(at, p)
			}
		}
		if len(at) == 0 {
			return "", skipf("no statement above the hunk")
		}
		p := at[g.rng.IntN(len(at))]
		add := newLines(g.rng, indent(d.lines[p-1]), variables(d.lines[p-1]), ex.f.name)
		d.insert(p, add, newTag)
		why = fmt.Sprintf("upstream added %s to %s() above the hunk", termfmt.Plural(len(add), "line"), ex.f.name)
	case 1: // a statement removed above the hunk
		var at []int
		for p := open + 1; p < top-1; p++ {
			if statement(d.lines, p) {
				at = append(at, p)
			}
		}
		if len(at) == 0 {
			return "", skipf("no statement above the hunk")
		}
		d.delete(at[g.rng.IntN(len(at))], 1)
		why = fmt.Sprintf("upstream removed a line of %s() above the hunk", ex.f.name)
	case 2: // a function above removed
		var above []fn
		for _, h := range ex.funcs {
			if h.close < ex.f.sig && h.sig > 0 {
				above = append(above, h)
			}
		}
		if len(above) == 0 {
			return "", skipf("no function above %s in the window", ex.f.name)
		}
		h := above[g.rng.IntN(len(above))]
		from, to := boundaryAbove(d, d.pos(h.sig)), d.pos(h.close)+1
		if to < len(d.lines) && d.lines[to] == "\n" {
			to++
		}
		d.delete(from, to-from)
		why = fmt.Sprintf("upstream removed %s() (%d lines) above it", h.name, to-from)
	default: // a function added above
		minLen, maxLen := 4, 15
		if large {
			minLen, maxLen = 30, 220
		}
		add, from, err := g.chunk(ex.src, minLen, maxLen)
		if err != nil {
			return "", err
		}
		d.insert(boundaryAbove(d, sig), add, newTag)
		why = fmt.Sprintf("upstream added a function (%s, %d lines) above %s()", from, len(add), ex.f.name)
	}
	return fmt.Sprintf("%s: the hunk moved by %+d lines", why, d.pos(ex.preStart)-before), nil
}

// rewrite redoes the hunk's region as upstream might have: its
// significant context lines reworded (the ones next to the change
// always), the removed lines dropped or reworded, sometimes a new line.
func (g *gen) rewrite(ex *excerpt, d *doc) (string, error) {
	changed := 0
	for i := range ex.pre {
		inChange := i >= ex.lead && i < len(ex.pre)-ex.trail
		inner := i == ex.lead-1 || i == len(ex.pre)-ex.trail
		if inChange || !code(ex.pre[i]) || (!inner && g.rng.IntN(4) == 0) {
			continue
		}
		if g.mutateLine(ex, d, ex.preStart+i) == nil {
			changed++
		}
	}
	if changed < 2 {
		return "", skipf("only %d context lines could be reworded", changed)
	}
	p := d.pos(ex.at)
	removed := "dropped the lines the patch removes"
	if g.rng.IntN(2) == 0 {
		d.delete(p, len(ex.old))
	} else {
		removed = "reworded the lines the patch removes"
		for k := range ex.old {
			if m, ok := mutate(g.rng, d.lines[p+k]); ok {
				d.lines[p+k] = m
			} else {
				return "", skipf("removed line cannot be reworded")
			}
		}
	}
	if g.rng.IntN(3) == 0 {
		d.insert(p, newLines(g.rng, indent(ex.old[0]), variables(ex.old[0]), ex.f.name+"_locked"), newTag)
		removed += " and added new code"
	}
	return fmt.Sprintf("upstream rewrote the region: reworded %d of its context lines, %s", changed, removed), nil
}

// driftApplied drifts a base that already has the change: lines
// added above, an outer context line changed, or both.
func (g *gen) driftApplied(ex *excerpt, d *doc) (string, error) {
	var whys []string
	choice := g.rng.IntN(3)
	var wild []int
	if choice != 1 {
		why, err := g.shift(ex, d, g.rng.IntN(2) == 0)
		if err != nil {
			return "", err
		}
		whys = append(whys, why)
	}
	if choice != 0 {
		i := []int{0, len(ex.pre) - 1}[g.rng.IntN(2)]
		if err := g.mutateLine(ex, d, ex.preStart+i); err != nil {
			return "", err
		}
		// The same line in the post-image: the context is shared.
		wild = []int{0}
		if i != 0 {
			wild = []int{len(ex.post) - 1}
		}
		whys = append(whys, fmt.Sprintf("upstream then changed the %s context line", map[bool]string{true: "first", false: "last"}[i == 0]))
	}
	if len(matches(d.lines, ex.post, wild...)) != 1 {
		return "", skipf("drifted post-image not unique")
	}
	return "the base already has the change; " + strings.Join(whys, "; "), nil
}

// evolve modifies the lines the patch added, as later upstream work
// does (a struct grows a field, a call gains an argument).
func (g *gen) evolve(ex *excerpt, d *doc) (string, error) {
	var sig []int
	for k, l := range ex.new {
		if code(l) {
			sig = append(sig, k)
		}
	}
	if len(sig) == 0 {
		return "", skipf("the patch adds no code")
	}
	k := sig[g.rng.IntN(len(sig))]
	p := d.pos(tagAdded(k))
	if g.rng.IntN(2) == 0 {
		m, ok := mutate(g.rng, d.lines[p])
		if !ok {
			return "", skipf("added line cannot be changed")
		}
		d.lines[p] = m
		return fmt.Sprintf("the base already has the change, and upstream has since reworded one of the added lines (%q)", strings.TrimSpace(m)), nil
	}
	add := newLines(g.rng, indent(d.lines[p]), variables(d.lines[p]), ex.f.name+"_v2")
	d.insert(p+1, add, newTag)
	return fmt.Sprintf("the base already has the change, and upstream has since added %s among the added ones", termfmt.Plural(len(add), "line")), nil
}

var suffixes = []string{"_nowait", "_locked", "_atomic", "_rcu", "_compat", "_slow"}

// renamed is f's name with a suffix no line of src has.
func (g *gen) renamed(ex *excerpt) (string, error) {
	name := ex.f.name + suffixes[g.rng.IntN(len(suffixes))]
	if g.rng.IntN(4) == 0 && !strings.HasPrefix(ex.f.name, "_") {
		name = "__" + ex.f.name
	}
	for _, l := range ex.src.lines {
		if strings.Contains(l, name) {
			return "", skipf("%s already exists", name)
		}
	}
	return name, nil
}

// twin copies the site's function, renamed, next to it: for
// "twin-functions" the site itself then drifts (an outer context
// line), so the exact pre-image is only in the copy; for
// "duplicate-region" the copy goes right above, where the patch
// expects the hunk, and the true site moves down.
func (g *gen) twin(kind string, ex *excerpt, d *doc) (drifted, error) {
	name, err := g.renamed(ex)
	if err != nil {
		return drifted{}, err
	}
	sig, end := d.pos(ex.f.sig), d.pos(ex.f.close)
	copyOf := slices.Clone(d.lines[sig : end+1])
	renamedSig := false
	for i, l := range copyOf[:ex.f.open-ex.f.sig] {
		if m := strings.Replace(l, ex.f.name+"(", name+"(", 1); m != l {
			copyOf[i], renamedSig = m, true
			break
		}
	}
	if !renamedSig {
		return drifted{}, skipf("name not in the signature")
	}
	below := kind == "twin-functions" && g.rng.IntN(2) == 0
	copyAt := boundaryAbove(d, sig)
	if below {
		d.insert(end+1, slices.Concat([]string{"\n"}, copyOf), newTag)
	} else {
		d.insert(copyAt, slices.Concat(copyOf, []string{"\n"}), newTag)
	}
	if kind == "duplicate-region" {
		// Half the time more lines go above the copy, so neither copy is
		// where the hunk says, but the wrong one is nearer.
		extra := ""
		if g.rng.IntN(2) == 0 {
			add, from, err := g.chunk(ex.src, 4, 15)
			if err != nil {
				return drifted{}, err
			}
			d.insert(copyAt, add, newTag)
			extra = fmt.Sprintf(" (after a new function above both, %s)", from)
		}
		site := d.pos(ex.preStart)
		cands := matches(d.lines, ex.pre)
		if len(cands) != 2 || cands[1] != site {
			return drifted{}, skipf("copy does not give exactly two matches")
		}
		if abs(cands[0]-ex.preStart) >= abs(site-ex.preStart) {
			return drifted{}, skipf("the copy is not nearer the expected line")
		}
		return drifted{fmt.Sprintf("upstream added %s(), a copy of %s(), right above it%s: the pre-image occurs twice, the copy at line %d (the hunk names line %d), the true site at line %d; only the @@ heading tells them apart",
			name, ex.f.name, extra, cands[0]+1, ex.preStart+1, site+1)}, nil
	}
	site := d.pos(ex.preStart)
	i := []int{0, len(ex.pre) - 1}[g.rng.IntN(2)]
	if err := g.mutateLine(ex, d, ex.preStart+i); err != nil {
		return drifted{}, err
	}
	exact := matches(d.lines, ex.pre)
	fuzzy := matches(d.lines, ex.pre, i)
	if len(exact) != 1 || len(fuzzy) != 2 || !slices.Contains(fuzzy, site) {
		return drifted{}, skipf("twin does not give one exact and one fuzz-1 match")
	}
	where := "above"
	if below {
		where = "below"
	}
	return drifted{fmt.Sprintf("upstream added %s(), a copy of %s(), %s it, then changed a context line of the hunk in %s() only: the true site matches with fuzz 1 at line %d, the exact pre-image sits in the copy at line %d",
		name, ex.f.name, where, ex.f.name, site+1, exact[0]+1)}, nil
}

// rename renames the site's function (its definition and every use in
// the file, the hunk itself untouched) and shifts the site.
func (g *gen) rename(ex *excerpt, d *doc) (drifted, error) {
	if !strings.Contains(ex.heading, ex.f.name+"(") {
		return drifted{}, skipf("the @@ heading %q does not name %s", ex.heading, ex.f.name)
	}
	for _, l := range ex.pre {
		if strings.Contains(l, ex.f.name) {
			return drifted{}, skipf("the hunk names the function")
		}
	}
	name, err := g.renamed(ex)
	if err != nil {
		return drifted{}, err
	}
	re := regexp.MustCompile(`\b` + regexp.QuoteMeta(ex.f.name) + `\b`)
	uses := 0
	for i, l := range d.lines {
		if m := re.ReplaceAllString(l, name); m != l {
			d.lines[i] = m
			uses++
		}
	}
	why, err := g.shift(ex, d, g.rng.IntN(2) == 0)
	if err != nil {
		return drifted{}, err
	}
	if len(matches(d.lines, ex.pre)) != 1 {
		return drifted{}, skipf("pre-image not unique")
	}
	return drifted{fmt.Sprintf("upstream renamed %s() to %s() (%d lines changed), so the @@ heading names no function of the file; %s", ex.f.name, name, uses, why)}, nil
}

// trivial rewrites the significant context of an insertion and drops
// the blank line it went before: what still matches is "}" and blank
// lines, which occur all over the file.
func (g *gen) trivial(ex *excerpt, d *doc) (drifted, error) {
	if len(ex.old) != 0 || ex.pre[ex.lead] != "\n" || strings.TrimSpace(ex.pre[ex.lead-1]) != "}" {
		return drifted{}, skipf("not an insertion after a block")
	}
	changed := 0
	for i := range ex.pre {
		if significant(ex.pre[i]) && !code(ex.pre[i]) {
			return drifted{}, skipf("a comment or directive in the context")
		}
		if code(ex.pre[i]) {
			if err := g.mutateLine(ex, d, ex.preStart+i); err != nil {
				return drifted{}, err
			}
			changed++
		}
	}
	if changed < 2 {
		return drifted{}, skipf("only %d significant context lines", changed)
	}
	d.delete(d.pos(ex.at), 1)
	kernel := ex.pre[ex.lead-1 : ex.lead+1]
	if len(matches(d.lines, ex.pre)) != 0 || len(matches(d.lines, kernel)) == 0 {
		return drifted{}, skipf("no decoy for the trivial context")
	}
	return drifted{fmt.Sprintf("upstream rewrote the region: its %d significant context lines reworded and the blank line the insertion went before removed; only %q and a blank line, which occur elsewhere, still match", changed, strings.TrimSpace(ex.pre[ex.lead-1]))}, nil
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
