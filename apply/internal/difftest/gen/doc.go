package main

import "slices"

// doc is a file being drifted, each line tagged with where it came
// from, so a drift can find the lines of the original excerpt wherever
// earlier drifts moved them.
type doc struct {
	lines []string
	tags  []int // index in the excerpt, tagNew, or tagAdded(k)
}

const tagNew = -1 // a line the drift brought in

// tagAdded tags the k-th line the edit itself added.
func tagAdded(k int) int { return -2 - k }

func newDoc(o []string) *doc {
	d := &doc{lines: slices.Clone(o), tags: make([]int, len(o))}
	for i := range d.tags {
		d.tags[i] = i
	}
	return d
}

// pos is where line tag is now, or -1 if a drift removed it.
func (d *doc) pos(tag int) int { return slices.Index(d.tags, tag) }

func (d *doc) insert(at int, lines []string, tag func(k int) int) {
	tags := make([]int, len(lines))
	for k := range tags {
		tags[k] = tag(k)
	}
	d.lines = slices.Insert(d.lines, at, lines...)
	d.tags = slices.Insert(d.tags, at, tags...)
}

func (d *doc) delete(at, n int) {
	d.lines = slices.Delete(d.lines, at, at+n)
	d.tags = slices.Delete(d.tags, at, at+n)
}

func newTag(int) int { return tagNew }

// matches returns every index where pat occurs in lines; lines of pat
// whose index is in wild match anything.
func matches(lines, pat []string, wild ...int) []int {
	var out []int
	for k := 0; k+len(pat) <= len(lines); k++ {
		ok := true
		for i, l := range pat {
			if lines[k+i] != l && !slices.Contains(wild, i) {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, k)
		}
	}
	return out
}
