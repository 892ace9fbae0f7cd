package initramfs

import (
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestDependenciesListEveryCommand keeps dependencies.go, which holds the
// busybox's packages in go.mod for 'go mod tidy', equal to the commands
// the image build compiles: a command missing there would be dropped by
// tidy and break the image build; one too many pins modules for nothing.
func TestDependenciesListEveryCommand(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "dependencies.go", nil, parser.ImportsOnly|parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	if !hasBuildTools(f.Comments) {
		t.Error("dependencies.go lacks //go:build tools: it would be compiled into the package")
	}
	var imported []string
	for _, imp := range f.Imports {
		path, _ := strconv.Unquote(imp.Path.Value)
		name, ok := strings.CutPrefix(path, "github.com/u-root/u-root/cmds/core/")
		if !ok {
			t.Errorf("dependencies.go imports %s, not a u-root core command", path)
			continue
		}
		imported = append(imported, name)
	}
	want := slices.Clone(urootCommands)
	slices.Sort(want)
	slices.Sort(imported)
	if !slices.Equal(imported, want) {
		t.Errorf("dependencies.go imports %v\nthe image builds %v", imported, want)
	}
}

func hasBuildTools(groups []*ast.CommentGroup) bool {
	for _, g := range groups {
		for _, c := range g.List {
			if c.Text == "//go:build tools" {
				return true
			}
		}
	}
	return false
}
