package ci

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ktest-dev/ktest/kbuild"
	"github.com/ktest-dev/ktest/plan"
)

// fakeTree writes the files kbuild needs to take dir for a kernel tree.
func fakeTree(t *testing.T, dir string) {
	t.Helper()
	files := map[string]string{
		"Makefile":                 "VERSION = 6\nPATCHLEVEL = 1\nSUBLEVEL = 0\n",
		"Kconfig":                  "mainmenu \"fake\"\n",
		"arch/x86/Kconfig":         "config X86\n\tdef_bool y\n",
		"scripts/kconfig/Makefile": "# fake\n",
		"fs/read_write.c":          "int x;\n",
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestPlanKeys: the kernels key changes with every input of the kernels
// (tree, patch bytes, fragments, fixups) and with nothing else; the tree
// key only with the tree.
func TestPlanKeys(t *testing.T) {
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("the key names the compiler: no gcc")
	}
	dir := t.TempDir()
	tree := filepath.Join(dir, "linux")
	fakeTree(t, tree)
	patch := filepath.Join(dir, "fix.patch")
	if err := os.WriteFile(patch, []byte("diff --git a/fs/read_write.c b/fs/read_write.c\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cache, err := kbuild.OpenCache(filepath.Join(dir, "cache"))
	if err != nil {
		t.Fatal(err)
	}
	keys := func(edit func(p *plan.Plan), fixups bool) *Keys {
		t.Helper()
		p := plan.Default()
		p.Tree = tree
		p.Variants[0].Patches = []string{patch}
		if edit != nil {
			edit(p)
		}
		k, err := PlanKeys(context.Background(), cache, p, fixups)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	base := keys(nil, false)
	if len(base.Tree) < 16 || len(base.Kernels) != 32 {
		t.Fatalf("keys %+v", base)
	}
	if again := keys(nil, false); again.Tree != base.Tree || again.Kernels != base.Kernels {
		t.Errorf("the same inputs give another key: %+v vs %+v", again, base)
	}
	if k := keys(func(p *plan.Plan) { p.Targets = []string{"raw"}; p.FileSize = "4M"; p.Boots = 1 }, false); k.Kernels != base.Kernels {
		t.Error("the targets, size or boots changed the kernels key: they build nothing")
	}
	tests := []struct {
		name       string
		edit       func(p *plan.Plan)
		fixups     bool
		before     func() error
		treeChange bool
	}{
		{name: "a patch's bytes", before: func() error {
			return os.WriteFile(patch, []byte("diff --git a/fs/read_write.c b/fs/read_write.c\n\n"), 0o644)
		}},
		{name: "a variant's name", edit: func(p *plan.Plan) { p.Variants[0].Name = "base" }},
		{name: "another embedded series", edit: func(p *plan.Plan) { p.Variants[1].Patches = []string{"embedded:async-buffered-reads"} }},
		{name: "fragments", edit: func(p *plan.Plan) { p.Fragments = []string{"base"} }},
		{name: "fixups", fixups: true},
		{name: "the tree", before: func() error { return os.WriteFile(filepath.Join(tree, "fs/read_write.c"), []byte("int y;\n"), 0o644) }, treeChange: true},
	}
	prev := base
	for _, tc := range tests {
		if tc.before != nil {
			if err := tc.before(); err != nil {
				t.Fatal(err)
			}
		}
		k := keys(tc.edit, tc.fixups)
		if k.Kernels == prev.Kernels {
			t.Errorf("%s: the kernels key did not change", tc.name)
		}
		if (k.Tree != prev.Tree) != tc.treeChange {
			t.Errorf("%s: tree key %s -> %s", tc.name, prev.Tree, k.Tree)
		}
		prev = keys(nil, false)
	}
	env := base.Env()
	if env != "KTEST_TREE_KEY="+base.Tree+"\nKTEST_KERNELS_KEY="+base.Kernels+"\n" {
		t.Errorf("Env() = %q", env)
	}
	if !strings.Contains(strings.Join(base.Inputs, "\n"), "patches "+patch) {
		t.Errorf("inputs do not name the patch:\n%s", strings.Join(base.Inputs, "\n"))
	}
}

func TestPlanKeysErrors(t *testing.T) {
	cache, err := kbuild.OpenCache(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tree := t.TempDir()
	fakeTree(t, tree)
	tests := []struct {
		name, want string
		edit       func(p *plan.Plan)
	}{
		{"not a tree", "is not a kernel source tree", func(p *plan.Plan) { p.Tree = t.TempDir() }},
		{"missing patch", "no-such.patch", func(p *plan.Plan) { p.Tree = tree; p.Variants[0].Patches = []string{"no-such.patch"} }},
		{"unknown embedded series", "embedded:nope: ktest ships no such series", func(p *plan.Plan) { p.Tree = tree; p.Variants[0].Patches = []string{"embedded:nope"} }},
	}
	for _, tc := range tests {
		p := plan.Default()
		tc.edit(p)
		_, err := PlanKeys(context.Background(), cache, p, false)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
}
