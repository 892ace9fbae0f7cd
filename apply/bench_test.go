package apply

import (
	"fmt"
	"slices"
	"testing"
	"testing/fstest"
)

// BenchmarkApplyOffsets applies a 50-hunk git diff to a 200,000-line file
// in which every hunk has moved: 3 extra lines before each one, so the
// offsets grow from 3 to 150 and each hunk is found by search.
func BenchmarkApplyOffsets(b *testing.B) {
	const n, hunks = 200_000, 50
	base := genLines(n)
	var edits []edit
	for i := range hunks {
		at := (i + 1) * (n / (hunks + 1))
		edits = append(edits, replaceLine(b, base[at], fmt.Sprintf("\tpatched_%d();\n", i)))
	}
	files, _ := gitDiff(b, map[string]string{"big.c": text(base)}, map[string]string{"big.c": text(applyEdits(base, edits...))}, nil)
	var tree []string
	prev := 0
	for i := range hunks {
		at := (i+1)*(n/(hunks+1)) - 10
		tree = slices.Concat(tree, base[prev:at], []string{"/* a */\n", "/* b */\n", fmt.Sprintf("/* %d */\n", i)})
		prev = at
	}
	tree = append(tree, base[prev:]...)
	fsys := fstest.MapFS{"big.c": {Data: []byte(text(tree))}}
	series := []Patch{{Name: "bench", Files: files}}
	b.SetBytes(int64(len(fsys["big.c"].Data)))
	b.ResetTimer()
	for b.Loop() {
		res, err := ApplySeries(fsys, series, DefaultOptions())
		if err != nil {
			b.Fatal(err)
		}
		if h := res.Patches[0].Files[0].Hunks[hunks-1]; h.Status != StatusOffset || h.Offset != 3*hunks {
			b.Fatalf("last hunk %v offset %d", h.Status, h.Offset)
		}
	}
}

// BenchmarkConflictReport measures the nearest-region search and
// alignment for a hunk that matches nowhere in a 200,000-line file.
func BenchmarkConflictReport(b *testing.B) {
	const n = 200_000
	base := genLines(n)
	after := applyEdits(base, replaceLine(b, base[n/2], "\tpatched();\n"))
	files, _ := gnuDiff(b, "big.c", text(base), text(after), "-u")
	tree := slices.Clone(base)
	tree[n/2] = "\tlocally_changed();\n"
	fsys := fstest.MapFS{"big.c": {Data: []byte(text(tree))}}
	series := []Patch{{Name: "bench", Files: files}}
	b.ResetTimer()
	for b.Loop() {
		_, err := ApplySeries(fsys, series, DefaultOptions())
		if c := conflicts(err); len(c) != 1 || c[0].NearestLine != n/2-2 {
			b.Fatalf("err = %v", err)
		}
	}
}
