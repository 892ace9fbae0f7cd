package kbuild

import (
	"os"
	"path/filepath"
	"testing"
)

// FindCheckout finds the kernel tree a directory is in, itself or its
// nearest parent, and nothing outside one.
func TestFindCheckout(t *testing.T) {
	outer := t.TempDir()
	tree := filepath.Join(outer, "linux")
	for name, content := range map[string]string{
		"Makefile":                 "VERSION = 6\nPATCHLEVEL = 12\nSUBLEVEL = 0\n",
		"Kconfig":                  "mainmenu \"Linux\"\n",
		"arch/x86/Kconfig":         "config X86\n",
		"scripts/kconfig/Makefile": "",
		"fs/ext4/file.c":           "",
	} {
		p := filepath.Join(tree, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		dir  string
		want string
	}{
		{tree, tree},
		{filepath.Join(tree, "fs/ext4"), tree},
		{outer, ""},
	} {
		got, ok, err := FindCheckout(tc.dir)
		if err != nil || ok != (tc.want != "") || got != tc.want {
			t.Errorf("FindCheckout(%s) = %q, %v, %v; want %q", tc.dir, got, ok, err, tc.want)
		}
	}
}
