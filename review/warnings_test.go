package review

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const slot = "/srv/maint/.cache/ktest/slots/5d1c0ffee0d1c0de"

func readLog(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata/gcc", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// show is a warning as its String and, if known, its function.
func show(ws []Warning) []string {
	var out []string
	for _, w := range ws {
		s := w.String()
		if w.Function != "" {
			s += " in " + w.Function
		}
		out = append(out, s)
	}
	return out
}

// afterWarnings are the warnings of testdata/gcc/after/, however built.
var afterWarnings = []string{
	"fs/demo/file.c:7:13: unused variable 'old_unused' [-Wunused-variable] in demo_count",
	"fs/demo/file.c:9:23: comparison of integer expressions of different signedness: 'int' and 'unsigned int' [-Wsign-compare] in demo_count",
	"fs/demo/file.c:16:13: unused variable 'old_unused' [-Wunused-variable] in helper",
	"fs/demo/file.c:23:15: comparison of unsigned expression in '< 0' is always false [-Wtype-limits] in demo_read",
	"fs/demo/other.c:4:13: 'orphan' defined but not used [-Wunused-function]",
	// Reported at the macro's definition from other.c's demo_mask: the
	// function is of another file, so it is not this warning's.
	"include/linux/demo.h:5:19: conversion from 'unsigned int' to 'unsigned char' changes value from '511' to '255' [-Woverflow]",
	"include/linux/demo.h:9:13: unused variable 'spare' [-Wunused-variable] in demo_inline",
	"include/linux/demo.h:16:13: variable 'last' set but not used [-Wunused-but-set-variable] in demo_twice",
}

func TestParseWarnings(t *testing.T) {
	noColumn := []string{}
	for _, w := range afterWarnings {
		// "file:line:col: msg" -> "file:line: msg"
		pos, rest, _ := strings.Cut(w, ": ")
		noColumn = append(noColumn, pos[:strings.LastIndex(pos, ":")]+": "+rest)
	}
	for _, tc := range []struct {
		name, log, srcRoot string
		want               []string
	}{
		{"slot before", "slot-before.log", slot + "/src", []string{
			"fs/demo/file.c:6:13: unused variable 'old_unused' [-Wunused-variable] in helper",
			"fs/demo/file.c:13:15: comparison of unsigned expression in '< 0' is always false [-Wtype-limits] in demo_read",
			"fs/demo/other.c:4:13: 'orphan' defined but not used [-Wunused-function]",
			"include/linux/demo.h:9:13: unused variable 'spare' [-Wunused-variable] in demo_inline",
		}},
		{"slot after", "slot-after.log", slot + "/src", afterWarnings},
		// The caller names the user's tree; make's "Entering directory"
		// names the slot the sources were built in.
		{"slot after, root is the original tree", "slot-after.log", "/srv/maint/linux", afterWarnings},
		{"in tree", "intree-after.log", "/srv/maint/src/linux", afterWarnings},
		{"O= subdirectory of the tree", "subdir-after.log", "/srv/maint/src/linux", afterWarnings},
		{"colours, hyperlinks, UTF-8 quotes", "intree-color.log", "/srv/maint/src/linux", afterWarnings},
		{"no column", "intree-nocolumn.log", "/srv/maint/src/linux", noColumn},
		{"kbuild noise", "kbuild-noise.log", slot + "/src", []string{
			"fs/ext4/file.c:131:13: unused variable 'ret2' [-Wunused-variable] in ext4_file_read_iter",
			"fs/ext4/inode.c:42:6: symbol 'ext4_helper' was not declared. Should it be static?",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := show(ParseWarnings(readLog(t, tc.log), tc.srcRoot))
			if !slices.Equal(got, tc.want) {
				t.Errorf("ParseWarnings(%s):\n got %s\nwant %s", tc.log, strings.Join(got, "\n    "), strings.Join(tc.want, "\n    "))
			}
		})
	}
}

func TestParseWarningsPaths(t *testing.T) {
	// A root reached through a symlink: make prints the real path.
	real := t.TempDir()
	link := filepath.Join(t.TempDir(), "linux")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	const w = ":1:2: warning: x [-Wx]"
	for _, tc := range []struct {
		name, log, srcRoot, want string
	}{
		{"absolute under the root", "/src/a/b.c" + w, "/src", "a/b.c"},
		{"relative, no make directory", "a/b.c" + w, "/src", "a/b.c"},
		{"dot slash", "./include/linux/x.h" + w, "/src", "include/linux/x.h"},
		{"relative to the entered O= dir", "make[1]: Entering directory '/src/build'\n../a/b.c" + w, "/src", "a/b.c"},
		{"generated header in the O= dir", "make[1]: Entering directory '/s/obj'\n./include/generated/autoconf.h" + w,
			"/s/src", "include/generated/autoconf.h"},
		{"back in the source dir after leaving", "make: Entering directory '/t/src'\nmake[1]: Entering directory '/t/src/build'\n" +
			"make[1]: Leaving directory '/t/src/build'\n../src/a/b.c" + w, "/t/src", "a/b.c"},
		{"outside every root", "/usr/lib/gcc/x86_64-linux-gnu/12/include/stddef.h" + w, "/src",
			"/usr/lib/gcc/x86_64-linux-gnu/12/include/stddef.h"},
		{"root prefix of another name", "/src2/a.c" + w, "/src", "/src2/a.c"},
		{"root through a symlink", real + "/fs/a.c" + w, link, "fs/a.c"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ws := ParseWarnings([]byte(tc.log), tc.srcRoot)
			if len(ws) != 1 || ws[0].File != tc.want || ws[0].Flag != "-Wx" || ws[0].Message != "x" {
				t.Errorf("got %+v, want one warning in %s", ws, tc.want)
			}
		})
	}
}

func TestNewWarnings(t *testing.T) {
	parse := func(name, root string) []Warning { return ParseWarnings(readLog(t, name), root) }
	before := parse("slot-before.log", slot+"/src")
	after := parse("slot-after.log", slot+"/src")
	patch := []string{"fs/demo/file.c", "include/linux/demo.h"}
	added := []string{
		// Same message as helper's, which only moved: this one is in
		// the function the patch added.
		"fs/demo/file.c:7:13: unused variable 'old_unused' [-Wunused-variable] in demo_count",
		"fs/demo/file.c:9:23: comparison of integer expressions of different signedness: 'int' and 'unsigned int' [-Wsign-compare] in demo_count",
		"include/linux/demo.h:5:19: conversion from 'unsigned int' to 'unsigned char' changes value from '511' to '255' [-Woverflow]",
		"include/linux/demo.h:16:13: variable 'last' set but not used [-Wunused-but-set-variable] in demo_twice",
	}
	x := func(file string, line int, fn string) Warning {
		return Warning{File: file, Line: line, Message: "unused variable 'x'", Flag: "-Wunused-variable", Function: fn}
	}
	for _, tc := range []struct {
		name          string
		before, after []Warning
		touched       []string
		want          []string
	}{
		{"the patch's files", before, after, patch, added},
		{"one touched file", before, after, []string{"./fs/demo/file.c"}, added[:2]},
		{"nothing touched", before, after, nil, nil},
		{"no change", after, after, patch, nil},
		// Built in the slot before, in a tree after: paths match.
		{"other layout", before, parse("intree-after.log", "/srv/maint/src/linux"), patch, added},
		{"a file only after", nil, after, []string{"fs/demo/other.c"}, []string{
			"fs/demo/other.c:4:13: 'orphan' defined but not used [-Wunused-function]"}},
		{"moved, not new", []Warning{x("a.c", 10, "f")}, []Warning{x("a.c", 30, "f")}, []string{"a.c"}, nil},
		{"same line is the old one", []Warning{x("a.c", 20, "")}, []Warning{x("a.c", 5, ""), x("a.c", 20, "")},
			[]string{"a.c"}, []string{"a.c:5: unused variable 'x' [-Wunused-variable]"}},
		{"same function is the old one", []Warning{x("a.c", 20, "g")}, []Warning{x("a.c", 25, "f"), x("a.c", 40, "g")},
			[]string{"a.c"}, []string{"a.c:25: unused variable 'x' [-Wunused-variable] in f"}},
		{"other flag is new", []Warning{x("a.c", 20, "f")},
			[]Warning{{File: "a.c", Line: 20, Message: "unused variable 'x'", Flag: "-Wunused-but-set-variable", Function: "f"}},
			[]string{"a.c"}, []string{"a.c:20: unused variable 'x' [-Wunused-but-set-variable] in f"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := show(NewWarnings(tc.before, tc.after, tc.touched))
			if !slices.Equal(got, tc.want) {
				t.Errorf("NewWarnings:\n got %s\nwant %s", strings.Join(got, "\n    "), strings.Join(tc.want, "\n    "))
			}
		})
	}
}
