package apply

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPathSafety feeds diffs naming hostile paths to a real directory
// tree with symlinks, and checks each is refused as a *PathError naming
// patch, file and reason, while symlinks that stay inside are followed.
func TestPathSafety(t *testing.T) {
	dir := treeOf(t, map[string]string{"sub/f.c": "one\ntwo\nthree\n", "plain.c": "one\ntwo\nthree\n"})
	for link, target := range map[string]string{
		"abs":        "/etc",
		"up":         "../..",
		"sub/climb":  "../../outside",
		"inner":      "sub",
		"sub/back":   "../plain.c",
		"loop":       "loop",
		"rootlink":   ".",
		"sub/deeper": "../up",
	} {
		must(t, os.Symlink(target, filepath.Join(dir, link)))
	}
	tree := os.DirFS(dir)

	// modify renders a one-hunk git diff that edits name.
	modify := func(name string) string {
		return fmt.Sprintf("diff --git a/%[1]s b/%[1]s\n--- a/%[1]s\n+++ b/%[1]s\n@@ -1,3 +1,3 @@\n one\n-two\n+TWO\n three\n", name)
	}
	tests := []struct {
		name     string
		diff     string
		reason   string // "" means accepted
		changeAt string // accepted: the tree path that changes
	}{
		{"dotdot", modify("../etc/passwd"), "'..' component", ""},
		{"dotdot inside", modify("sub/../../x"), "'..' component", ""},
		{"absolute", "--- /etc/passwd\n+++ /etc/passwd\n@@ -1,3 +1,3 @@\n one\n-two\n+TWO\n three\n", "absolute path", ""},
		{"git dir", modify(".git/hooks/pre-commit"), "inside .git", ""},
		{"git dir any case", modify("sub/.GIT/config"), "inside .git", ""},
		{"absolute symlink", modify("abs/passwd"), "abs is a symlink to /etc, outside the tree", ""},
		{"climbing symlink", modify("up/x"), "up is a symlink to ../.., outside the tree", ""},
		{"nested climbing symlink", modify("sub/climb"), "outside the tree", ""},
		{"symlink to symlink out", modify("sub/deeper/x"), "outside the tree", ""},
		{"symlink loop", modify("loop/x"), "too many levels", ""},
		{"symlink to root", modify("rootlink"), "tree root", ""},
		{"rename target outside", "diff --git a/plain.c b/../plain.c\nsimilarity index 100%\nrename from plain.c\nrename to ../plain.c\n", "'..' component", ""},
		{"symlinked dir inside", modify("inner/f.c"), "", "sub/f.c"},
		{"symlinked file inside", modify("sub/back"), "", "plain.c"},
		{"plain", modify("plain.c"), "", "plain.c"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			files := parse(t, []byte(tc.diff))
			res, err := ApplySeries(tree, []Patch{{Name: "07/09 evil", Files: files}}, DefaultOptions())
			if tc.reason == "" {
				if err != nil {
					t.Fatalf("safe path refused: %v", err)
				}
				if c := res.Changes[tc.changeAt]; c == nil || string(c.Content) != "one\nTWO\nthree\n" {
					t.Fatalf("changes = %v, want %s edited", res.SortedChanges(), tc.changeAt)
				}
				return
			}
			var pe *PathError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want *PathError", err)
			}
			if pe.Patch != "07/09 evil" || pe.File == "" || !strings.Contains(pe.Reason, tc.reason) {
				t.Errorf("PathError = %+v, want reason containing %q", pe, tc.reason)
			}
			if !strings.Contains(err.Error(), "07/09 evil") || !strings.Contains(err.Error(), "unsafe path") {
				t.Errorf("error text %q lacks patch name or cause", err)
			}
			if len(res.Changes) != 0 {
				t.Errorf("unsafe diff produced changes: %v", res.SortedChanges())
			}
		})
	}
	// Nothing outside the tree was read or written by any of this.
	if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "outside")); !os.IsNotExist(err) {
		t.Errorf("something appeared outside the tree: %v", err)
	}
}
