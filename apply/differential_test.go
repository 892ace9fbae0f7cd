package apply

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/bluekeyes/go-gitdiff/gitdiff"
	"github.com/ktest-dev/ktest/apply/internal/difftest"
)

// The differential suite (issue 18): cases generated from the Debian
// 6.1 tree by apply/internal/difftest/gen, each a small edit meeting a
// base that drifted in a known way, run through ktest's engine, GNU
// patch and git apply, and scored right, refused or wrong (see package
// difftest for the rule). Regenerate with
//
//	go run ./apply/internal/difftest/gen -tarball /usr/src/linux-source-6.1.tar.xz
//
// and print the table (and write it where README.md quotes it; the path
// is relative to apply/, where go test runs) with
//
//	go test ./apply -count=1 -run 'TestDifferential$' -v -args -table testdata/differential.md

var tableFile = flag.String("table", "", "write the differential table (Markdown) to this file")

const corpusDir = "testdata/differential"

const (
	toolKtest = "ktest"
	toolPatch = "GNU patch"
	toolGit   = "git apply"
)

// differentialRun is the outcome of the whole corpus, computed once
// for the tests that read it.
type differentialRun struct {
	cases   []*difftest.Case
	table   *difftest.Table
	wrong   map[string][]string // tool -> names of the cases it got wrong
	ran     map[string]int      // tool -> cases it ran on
	missing []string            // tools not installed
}

var (
	diffOnce sync.Once
	diffRun  *differentialRun
	diffErr  error
)

func runDifferential(t *testing.T) *differentialRun {
	t.Helper()
	diffOnce.Do(func() { diffRun, diffErr = differential(t.TempDir()) })
	if diffErr != nil {
		t.Fatal(diffErr)
	}
	return diffRun
}

func differential(tmp string) (*differentialRun, error) {
	cases, err := difftest.Load(corpusDir)
	if err != nil {
		return nil, err
	}
	r := &differentialRun{cases: cases, wrong: map[string][]string{}, ran: map[string]int{}}
	tools := []string{toolKtest}
	for _, tool := range []struct{ name, bin string }{{toolPatch, "patch"}, {toolGit, "git"}} {
		if _, err := exec.LookPath(tool.bin); err != nil {
			r.missing = append(r.missing, tool.name)
			continue
		}
		tools = append(tools, tool.name)
	}
	r.table = difftest.NewTable(tools...)

	// Every case and tool is independent: run them on all CPUs (most of
	// the time is GNU patch and git starting up), then count in order.
	outcomes := make([][]difftest.Outcome, len(cases))
	errs := make([]error, len(cases))
	work := make(chan int)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range work {
				outcomes[i], errs[i] = runTools(filepath.Join(tmp, fmt.Sprint(i)), cases[i], tools)
			}
		})
	}
	for i := range cases {
		work <- i
	}
	close(work)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}

	for i, c := range cases {
		intended, err := c.Intended()
		if err != nil && (c.Want == difftest.WantApply || c.Want == difftest.WantApplyOrRefuse) {
			return nil, err
		}
		r.table.AddCase(c.Kind)
		for j, tool := range tools {
			v := difftest.Score(c, intended, outcomes[i][j])
			r.table.Add(c.Kind, tool, v)
			r.ran[tool]++
			if v == difftest.Wrong {
				r.wrong[tool] = append(r.wrong[tool], c.Name)
			}
		}
	}
	return r, nil
}

// runTools runs each tool on c, each in its own directory under dir.
func runTools(dir string, c *difftest.Case, tools []string) ([]difftest.Outcome, error) {
	out := make([]difftest.Outcome, len(tools))
	for j, tool := range tools {
		var err error
		sub := filepath.Join(dir, strings.ReplaceAll(tool, " ", "-"))
		switch tool {
		case toolKtest:
			out[j], err = runKtest(c)
		case toolPatch:
			out[j], err = runExternal(sub, c, "patch", "-p1", "-N", "--no-backup-if-mismatch", "--reject-file=-", "-i")
		case toolGit:
			out[j], err = runExternal(sub, c, "git", "apply")
		}
		if err != nil {
			return nil, fmt.Errorf("%s on %s: %w", tool, c.Name, err)
		}
	}
	return out, nil
}

// runKtest applies the case with ktest's engine and default options,
// the patch parsed by go-gitdiff as everywhere else.
func runKtest(c *difftest.Case) (difftest.Outcome, error) {
	files, _, err := gitdiff.Parse(bytes.NewReader(c.Patch))
	if err != nil {
		return difftest.Outcome{}, fmt.Errorf("parse patch: %w", err)
	}
	tree := fstest.MapFS{c.Path: {Data: c.Base, Mode: 0o644}}
	res, err := ApplySeries(tree, []Patch{{ID: c.Name, Name: c.Name, Files: files}}, DefaultOptions())
	if err != nil {
		return difftest.Outcome{Message: err.Error()}, nil
	}
	o := difftest.Outcome{Applied: true, Content: c.Base}
	if ch := res.Changes[c.Path]; ch != nil {
		if ch.Deleted {
			return difftest.Outcome{}, fmt.Errorf("ktest deleted %s", c.Path)
		}
		o.Content = ch.Content
	}
	return o, nil
}

// runExternal writes the base into dir (a fresh directory, no git
// repository above it counts) and runs the tool with the patch file as
// its last argument; exit status 0 is success.
func runExternal(dir string, c *difftest.Case, name string, args ...string) (difftest.Outcome, error) {
	file := filepath.Join(dir, "tree", filepath.FromSlash(c.Path))
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return difftest.Outcome{}, err
	}
	if err := os.WriteFile(file, c.Base, 0o644); err != nil {
		return difftest.Outcome{}, err
	}
	patch := filepath.Join(dir, "patch")
	if err := os.WriteFile(patch, c.Patch, 0o644); err != nil {
		return difftest.Outcome{}, err
	}
	cmd := exec.Command(name, append(args, patch)...)
	cmd.Dir = filepath.Join(dir, "tree")
	cmd.Env = append(os.Environ(), "GIT_CEILING_DIRECTORIES="+dir, "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1", "LC_ALL=C")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return difftest.Outcome{}, err
	}
	o := difftest.Outcome{Applied: err == nil, Message: string(out)}
	if o.Content, err = os.ReadFile(file); err != nil {
		return difftest.Outcome{}, err
	}
	return o, nil
}

// TestDifferential runs the corpus through every tool and reports the
// table; the tools' results are facts, not assertions (for ktest's, see
// TestDifferentialKtestNeverWrong).
func TestDifferential(t *testing.T) {
	r := runDifferential(t)
	for _, k := range difftest.Kinds {
		min := 20
		if k.Name == "seed-003" {
			min = 1
		}
		if n := r.table.Cases(k.Name); n < min {
			t.Errorf("kind %s: %d cases, want at least %d", k.Name, n, min)
		}
	}
	for _, tool := range r.missing {
		t.Errorf("%s is not installed (scripts/setup.sh installs it): its column is left out", tool)
	}
	for _, tool := range r.table.Tools {
		if r.ran[tool] != len(r.cases) {
			t.Errorf("%s ran on %d of %d cases", tool, r.ran[tool], len(r.cases))
		}
		if w := r.wrong[tool]; len(w) > 0 {
			t.Logf("%s wrong on %d: %s", tool, len(w), strings.Join(w, " "))
		}
	}
	md := r.table.Markdown()
	t.Logf("%d cases from %s\n%s", len(r.cases), corpusDir, md)
	if *tableFile != "" {
		if err := os.WriteFile(*tableFile, []byte(md), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestDifferentialKtestNeverWrong is issue 18's bar: ktest is never
// wrong, and right at least as often as GNU patch.
func TestDifferentialKtestNeverWrong(t *testing.T) {
	r := runDifferential(t)
	if w := r.wrong[toolKtest]; len(w) > 0 {
		t.Errorf("ktest is wrong on %d cases: %s", len(w), strings.Join(w, " "))
	}
	ours, gnu := r.table.Count("", toolKtest, difftest.Right), r.table.Count("", toolPatch, difftest.Right)
	if ours < gnu {
		t.Errorf("ktest is right on %d cases, GNU patch on %d", ours, gnu)
	}
}
