package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/bluekeyes/go-gitdiff/gitdiff"
	"github.com/ktest-dev/ktest/apply/internal/difftest"
)

// seed003 is the case issue 18 started from: hunk 8 of seed 003 (2013)
// removes kmem_cache_free(dio_cache, dio) after dio_complete(); 6.1's
// fs/direct-io.c has rewritten that region, and the line still occurs
// elsewhere in the file.
func seed003(tree, seeds, version string) (*difftest.Case, error) {
	const path = "fs/direct-io.c"
	b, err := os.ReadFile(filepath.Join(seeds, "003_2a8bd277c844abdd.txt"))
	if err != nil {
		return nil, err
	}
	s := string(b)
	head := strings.Index(s, "diff --git ")
	first := strings.Index(s, "\n@@ ")
	last := strings.LastIndex(s, "\n@@ ")
	if head < 0 || first < 0 || last < first {
		return nil, fmt.Errorf("seed 003: no diff found")
	}
	// The archive lost the final newline and the last (blank) context
	// line, as the apply tests note; restore both.
	patch := s[head:first+1] + s[last+1:] + "\n \n"
	files, _, err := gitdiff.Parse(strings.NewReader(patch))
	if err != nil || len(files) != 1 || len(files[0].TextFragments) != 1 || files[0].NewName != path {
		return nil, fmt.Errorf("seed 003: hunk 8 does not parse as one hunk of %s: %v", path, err)
	}
	base, err := os.ReadFile(filepath.Join(tree, path))
	if err != nil {
		return nil, err
	}
	if !bytes.Contains(base, []byte("\tkmem_cache_free(dio_cache, dio);\n")) {
		return nil, fmt.Errorf("seed 003: %s lacks the line hunk 8 removes", path)
	}
	return &difftest.Case{
		Kind: "seed-003", Want: difftest.WantConflict, Path: path,
		Why:    "hunk 8 of seed 003 removes kmem_cache_free(dio_cache, dio) after dio_complete(); upstream has since rewritten that region, and the line still occurs elsewhere in the file",
		Source: fmt.Sprintf("%s, whole file, %s; patch: testdata/seeds/003_2a8bd277c844abdd.txt hunk 8 (2013)", path, version),
		Diff:   "git format-patch (2013), hunk 8 alone",
		Base:   base,
		Patch:  []byte(patch),
	}, nil
}
