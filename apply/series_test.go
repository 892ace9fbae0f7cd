package apply

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/bluekeyes/go-gitdiff/gitdiff"
)

// The flagship series (patches/async-buffered-reads) was written against
// a 5.8-era tree this machine does not have. reconstruct rebuilds the
// part of that tree the series sees: every line a hunk reads as context
// or removes, at the line the hunk says, each hunk's heading line above
// it, and filler elsewhere. Later patches are made on top of earlier
// ones, so each line is a shared cell: a cell first seen by patch 5
// that no earlier patch touched was in the base tree all along.

type cell struct {
	text  string
	known bool
}

func flagshipSeries(t testing.TB) []Patch {
	t.Helper()
	names, err := filepath.Glob("../patches/async-buffered-reads/00[0-9][0-9]-*.patch")
	if err != nil || len(names) != 13 {
		t.Fatalf("series: %v %v", names, err)
	}
	sort.Strings(names)
	var out []Patch
	for _, n := range names[1:] { // 0000 is the cover letter
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		files, _, err := gitdiff.Parse(strings.NewReader(string(b)))
		if err != nil {
			t.Fatal(err)
		}
		id := filepath.Base(n)[:4]
		out = append(out, Patch{ID: id, Name: id, Files: files})
	}
	return out
}

// reconstruct returns the base tree's files and the tree after the
// series, shifted: shift filler lines at the top of every file.
func reconstruct(t testing.TB, series []Patch, shift int) (base, after fstest.MapFS) {
	t.Helper()
	base0, cur := map[string][]*cell{}, map[string][]*cell{}
	for _, p := range series {
		for _, f := range p.Files {
			lines := cur[f.OldName]
			delta := 0
			for _, frag := range f.TextFragments {
				start := int(frag.OldPosition) - 1 + delta
				for len(lines) < start+int(frag.OldLines) {
					c := &cell{}
					lines = append(lines, c)
					base0[f.OldName] = append(base0[f.OldName], c)
				}
				if frag.Comment != "" {
					for i := start - 1; i >= 0; i-- {
						if !lines[i].known {
							lines[i].text, lines[i].known = frag.Comment+"\n", true
							break
						}
						if cppHeadingLine(lines[i].text) {
							break
						}
					}
				}
				var out []*cell
				i := start
				for _, l := range frag.Lines {
					switch l.Op {
					case gitdiff.OpAdd:
						out = append(out, &cell{l.Line, true})
						continue
					}
					c := lines[i]
					if c.known && c.text != l.Line {
						t.Fatalf("%s %s: line %d is %q, the hunk says %q", p.ID, f.OldName, i+1, c.text, l.Line)
					}
					c.text, c.known = l.Line, true
					if l.Op == gitdiff.OpContext {
						out = append(out, c)
					}
					i++
				}
				lines = slices.Concat(lines[:start], out, lines[i:])
				delta += int(frag.NewLines - frag.OldLines)
			}
			cur[f.NewName] = lines
		}
	}
	// render writes cells, with filler numbered by the cell's place in
	// the base tree, so a line keeps its text before and after.
	render := func(cells []*cell, at map[*cell]int) []byte {
		var b strings.Builder
		for i := range shift {
			fmt.Fprintf(&b, "/* shifted %d */\n", i)
		}
		for _, c := range cells {
			if c.known {
				b.WriteString(c.text)
			} else {
				fmt.Fprintf(&b, "/* filler %d */\n", at[c])
			}
		}
		return []byte(b.String())
	}
	base, after = fstest.MapFS{}, fstest.MapFS{}
	for name, cells := range cur {
		at := map[*cell]int{}
		for i, c := range base0[name] {
			at[c] = i
		}
		base[name] = &fstest.MapFile{Data: render(base0[name], at)}
		after[name] = &fstest.MapFile{Data: render(cells, at)}
	}
	return base, after
}

// TestFlagshipSeries applies the 12 patches to the tree they were made
// against, rebuilt, as it was and moved down 25 lines: all 22 hunks land
// exactly, then at offset 25, and the result is the series' own.
func TestFlagshipSeries(t *testing.T) {
	series := flagshipSeries(t)
	for _, shift := range []int{0, 25} {
		base, after := reconstruct(t, series, shift)
		res, err := ApplySeries(base, series, DefaultOptions())
		if err != nil {
			t.Fatalf("shift %d: %v", shift, err)
		}
		want := StatusExact
		if shift > 0 {
			want = StatusOffset
		}
		if n := res.Count(); n[want] != 22 || len(n) != 1 {
			t.Errorf("shift %d: hunks %v, want all 22 %v", shift, n, want)
		}
		for name, f := range after {
			if c := res.Changes[name]; c == nil || string(c.Content) != string(f.Data) {
				t.Errorf("shift %d: %s differs from the series' result", shift, name)
			}
		}
	}
}

// BenchmarkFlagshipSeries: the 12 patches, 22 hunks in 9 files, on the
// rebuilt tree moved down 25 lines, so every hunk is found by search
// and checked for rivals across its whole file (`make bench`).
func BenchmarkFlagshipSeries(b *testing.B) {
	series := flagshipSeries(b)
	base, _ := reconstruct(b, series, 25)
	for b.Loop() {
		if _, err := ApplySeries(base, series, DefaultOptions()); err != nil {
			b.Fatal(err)
		}
	}
}
