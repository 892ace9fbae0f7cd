package series

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks that no input makes Parse panic, and that every
// failure on readable input is either a DamageError or names its file.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join(seedDir, "0*.txt"))
	if len(seeds) == 0 {
		f.Fatalf("no seeds in %s", seedDir)
	}
	for _, p := range seeds {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("From x Mon Sep 17 00:00:00 2001\nSubject: [PATCH 1/2] a\n\n---\ndiff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("fuzz", data)
		if err != nil {
			var de *DamageError
			if !errors.As(err, &de) || de.File == "" || de.Reason == "" {
				t.Fatalf("error is not a complete DamageError: %v", err)
			}
			return
		}
		if len(s.Patches) == 0 || s.Title == "" && s.Patches[0].Subject == "" {
			t.Fatalf("series without patches or title: %+v", s)
		}
	})
}
