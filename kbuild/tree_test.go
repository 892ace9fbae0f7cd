package kbuild

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestOpenTreeRejectsNonKernelDirs(t *testing.T) {
	dir := t.TempDir()
	notDir := filepath.Join(dir, "file")
	if err := os.WriteFile(notDir, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	partial := filepath.Join(dir, "partial")
	if err := os.MkdirAll(filepath.Join(partial, "arch/x86"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(partial, "Kconfig"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	c := testCache(t)
	for _, tc := range []struct{ name, dir, reason string }{
		{"missing", filepath.Join(dir, "nope"), "it does not exist"},
		{"file", notDir, "it is not a directory"},
		{"empty", dir, "missing Kconfig"},
		{"partial", partial, "missing arch/x86/Kconfig"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := OpenTree(context.Background(), c, tc.dir)
			var nt *NotATreeError
			if !errors.As(err, &nt) || nt.Reason != tc.reason {
				t.Fatalf("OpenTree(%s) = %v, want NotATreeError %q", tc.dir, err, tc.reason)
			}
		})
	}
}
