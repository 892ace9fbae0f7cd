package apply

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bluekeyes/go-gitdiff/gitdiff"
)

// genLines returns n distinct, C-looking lines, each ending in "\n";
// line i (1-based) mentions i so failures are easy to read.
func genLines(n int) []string {
	out := make([]string, n)
	for i := range out {
		switch i % 4 {
		case 0:
			out[i] = fmt.Sprintf("\tint v%03d = compute(%d);\n", i+1, i+1)
		case 1:
			out[i] = fmt.Sprintf("\tif (v%03d > limit)\n", i+1)
		case 2:
			out[i] = fmt.Sprintf("\t\treturn -E%03d;\n", i+1)
		default:
			out[i] = fmt.Sprintf("\t/* step %d */\n", i+1)
		}
	}
	return out
}

func text(lines []string) string { return strings.Join(lines, "") }

// edit changes lines by content, so the same edit can be replayed on a
// shifted or mutated copy to get the expected result.
type edit func(lines []string) []string

func indexOf(t testing.TB, lines []string, s string) int {
	t.Helper()
	i := slices.Index(lines, s)
	if i < 0 {
		t.Fatalf("edit anchor %q not in file", s)
	}
	return i
}

func replaceLine(t testing.TB, old string, repl ...string) edit {
	return func(lines []string) []string {
		i := indexOf(t, lines, old)
		return slices.Concat(lines[:i], repl, lines[i+1:])
	}
}

func deleteLines(t testing.TB, first string, n int) edit {
	return func(lines []string) []string {
		i := indexOf(t, lines, first)
		return slices.Concat(lines[:i], lines[i+n:])
	}
}

func insertAfter(t testing.TB, anchor string, add ...string) edit {
	return func(lines []string) []string {
		i := indexOf(t, lines, anchor)
		return slices.Concat(lines[:i+1], add, lines[i+1:])
	}
}

func applyEdits(lines []string, edits ...edit) []string {
	lines = slices.Clone(lines)
	for _, e := range edits {
		lines = e(lines)
	}
	return lines
}

// gnuDiff runs diff(1) on two versions of name and parses the result; the
// labels are the bare name so the parsed paths are tree-relative.
func gnuDiff(t testing.TB, name, before, after string, args ...string) ([]*gitdiff.File, string) {
	t.Helper()
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	must(t, os.WriteFile(a, []byte(before), 0o644))
	must(t, os.WriteFile(b, []byte(after), 0o644))
	args = append(append([]string{}, args...), "--label", name, "--label", name, a, b)
	out, err := exec.Command("diff", args...).Output()
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 1) {
		t.Fatalf("diff %v: %v", args, err)
	}
	return parse(t, out), string(out)
}

// gitDiff commits before in a fresh repository, stages after (files
// absent from after are deleted; a mode of 0755 is set for names in
// exec) and returns `git diff --cached <args>` parsed.
func gitDiff(t testing.TB, before, after map[string]string, exec_ []string, args ...string) ([]*gitdiff.File, string) {
	t.Helper()
	dir := t.TempDir()
	git(t, dir, "init", "-q")
	writeTree(t, dir, before)
	git(t, dir, "add", "-A")
	git(t, dir, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "before")
	for name := range before {
		if _, ok := after[name]; !ok {
			must(t, os.Remove(filepath.Join(dir, name)))
		}
	}
	writeTree(t, dir, after)
	for _, name := range exec_ {
		must(t, os.Chmod(filepath.Join(dir, name), 0o755))
	}
	git(t, dir, "add", "-A")
	out := git(t, dir, append([]string{"diff", "--cached"}, args...)...)
	return parse(t, []byte(out)), out
}

func git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("git %v: %v\n%s", args, err, ee.Stderr)
		}
		t.Fatalf("git %v: %v", args, err)
	}
	return string(out)
}

func writeTree(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		must(t, os.WriteFile(p, []byte(content), 0o644))
	}
}

// treeOf writes files into a fresh directory and returns it.
func treeOf(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	writeTree(t, dir, files)
	return dir
}

func parse(t testing.TB, diff []byte) []*gitdiff.File {
	t.Helper()
	files, _, err := gitdiff.Parse(bytes.NewReader(diff))
	if err != nil {
		t.Fatalf("parse diff: %v\n%s", err, diff)
	}
	return files
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// statuses flattens a result's hunk statuses, "file#n=status".
func statuses(r *Result) []string {
	var out []string
	for _, p := range r.Patches {
		for _, f := range p.Files {
			for _, h := range f.Hunks {
				out = append(out, fmt.Sprintf("%s#%d=%s", f.Path, h.Index, h.Status))
			}
		}
	}
	return out
}

// conflicts extracts every *Conflict from an ApplySeries error.
func conflicts(err error) []*Conflict {
	var out []*Conflict
	var walk func(error)
	walk = func(err error) {
		if c, ok := err.(*Conflict); ok {
			out = append(out, c)
			return
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
		}
	}
	walk(err)
	return out
}
