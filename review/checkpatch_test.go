package review

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ktest-dev/ktest/internal/cachedir"
)

var update = flag.Bool("update", false, "rewrite testdata/checkpatch/*/*.out from the real 6.1 checkpatch")

func TestCheckpatchNotAvailable(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "noscript", "scripts"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, tree string }{
		{"missing tree", filepath.Join(dir, "nope")},
		{"empty tree", dir},
		{"no checkpatch.pl", filepath.Join(dir, "noscript")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Checkpatch(context.Background(), tc.tree, []byte("x"), "p")
			var na *CheckpatchNotAvailableError
			if !errors.As(err, &na) || !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("Checkpatch(%s) = %v, want CheckpatchNotAvailableError for a missing file", tc.tree, err)
			}
		})
	}
}

// fakeTree is a tree whose scripts/checkpatch.pl is script, with a
// MAINTAINERS file and a .git directory.
func fakeTree(t *testing.T, script string) string {
	t.Helper()
	if _, err := exec.LookPath("perl"); err != nil {
		t.Skip("no perl")
	}
	tree := t.TempDir()
	for _, d := range []string{"scripts", ".git"} {
		if err := os.Mkdir(filepath.Join(tree, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(tree, "MAINTAINERS"), []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tree, "scripts", "checkpatch.pl"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return tree
}

// The run's sandbox: what the script sees, and that nothing it writes
// to its working directory lands in the tree.
func TestCheckpatchSandbox(t *testing.T) {
	tree := fakeTree(t, `
use Cwd;
my $in = do { local $/; <STDIN> };
open(my $f, '>', '.checkpatch-camelcase.git.x') or die;
print "cwd=", getcwd(), "\n";
print "home=$ENV{HOME}\n";
print "gitdir=", ($ENV{GIT_DIR} // ""), "\n";
print "args=@ARGV\n";
print "maintainers=", (-f "MAINTAINERS" ? 1 : 0), " git=", (-e ".git" ? 1 : 0), "\n";
print "stdin=$in\n";
print "\ntotal: 0 errors, 0 warnings, 0 lines checked\n";
`)
	t.Setenv("GIT_DIR", filepath.Join(tree, ".git"))
	r, err := Checkpatch(context.Background(), tree, []byte("the patch"), "p")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, l := range strings.Split(r.Output, "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			seen[k] = v
		}
	}
	for _, tc := range []struct{ key, want string }{
		{"home", seen["cwd"]},
		{"gitdir", ""},
		{"args", "--root=" + tree + " --show-types --color=never -"},
		{"maintainers", "1 git=0"},
		{"stdin", "the patch"},
	} {
		if seen[tc.key] != tc.want {
			t.Errorf("%s = %q, want %q", tc.key, seen[tc.key], tc.want)
		}
	}
	if cwd := seen["cwd"]; cwd == "" || strings.HasPrefix(cwd, tree) {
		t.Errorf("checkpatch ran in %q, want a directory outside the tree", cwd)
	}
	if _, err := os.Stat(seen["cwd"]); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("working directory %s left behind: %v", seen["cwd"], err)
	}
	if m, _ := filepath.Glob(filepath.Join(tree, ".checkpatch-*")); len(m) > 0 {
		t.Errorf("checkpatch wrote into the tree: %v", m)
	}
}

func TestCheckpatchExit(t *testing.T) {
	for _, tc := range []struct {
		name     string
		script   string
		wantErr  error // nil: want a result
		wantExit int
		summary  string
	}{
		{name: "problems found", script: `print "ERROR:X: y\n\nWARNING:Z: w\n\ntotal: 1 errors, 1 warnings, 3 lines checked\n"; exit 1;`,
			wantExit: 1, summary: "1 error, 1 warning"},
		{name: "clean", script: `print "total: 0 errors, 0 warnings, 3 lines checked\n"; exit 0;`, summary: "clean"},
		{name: "no summary", script: `print "Must be run from the top-level dir. of a kernel tree\n"; exit 2;`,
			wantErr: ErrNoCheckpatchSummary},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Checkpatch(context.Background(), fakeTree(t, tc.script), nil, "p")
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.ExitCode != tc.wantExit || r.Summary() != tc.summary || r.Name != "p" {
				t.Errorf("got exit %d, %q, name %q; want exit %d, %q", r.ExitCode, r.Summary(), r.Name, tc.wantExit, tc.summary)
			}
		})
	}
}

func TestCheckpatchFailsToRun(t *testing.T) {
	for _, tc := range []struct {
		name    string
		script  string
		timeout time.Duration
		wantErr error
	}{
		{"killed", `kill 9, $$;`, time.Minute, nil},
		// The sleeping child must die with the script, or Run would wait.
		{"timeout", `system("sleep 60"); sleep 60;`, 300 * time.Millisecond, context.DeadlineExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), tc.timeout)
			defer cancel()
			start := time.Now()
			_, err := Checkpatch(ctx, fakeTree(t, tc.script), nil, "p")
			if err == nil || (tc.wantErr != nil && !errors.Is(err, tc.wantErr)) {
				t.Fatalf("err = %v, want an error (%v)", err, tc.wantErr)
			}
			if d := time.Since(start); d > 4*time.Second {
				t.Errorf("took %s", d)
			}
		})
	}
}

// tree61 is a Linux 6.1 tree in the cache (the extracted default tree),
// or "" when there is none.
func tree61() string {
	dirs, _ := filepath.Glob(filepath.Join(cachedir.Dir(), "trees", "*", "src"))
	for _, d := range dirs {
		f, err := os.Open(filepath.Join(d, "Makefile"))
		if err != nil {
			continue
		}
		var head []string
		sc := bufio.NewScanner(f)
		for i := 0; i < 4 && sc.Scan(); i++ {
			head = append(head, strings.ReplaceAll(sc.Text(), " ", ""))
		}
		_ = f.Close() // read-only: a close error loses nothing
		if slices.Contains(head, "VERSION=6") && slices.Contains(head, "PATCHLEVEL=1") {
			if _, err := os.Stat(filepath.Join(d, "scripts", "checkpatch.pl")); err == nil {
				return d
			}
		}
	}
	return ""
}

// inputFor is the patch a golden output came from: the series in the
// repository's patches/ directory, or a patch or diff next to it.
func inputFor(golden string) string {
	series, name := filepath.Base(filepath.Dir(golden)), strings.TrimSuffix(filepath.Base(golden), ".out")
	for _, p := range []string{
		filepath.Join("..", "patches", series, name+".patch"),
		filepath.Join(filepath.Dir(golden), name+".patch"),
		filepath.Join(filepath.Dir(golden), name+".diff"),
	} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// The real checkpatch of a 6.1 tree on every patch with a golden
// output: the result is what the golden says. With -update, rewrites
// the goldens instead. -short runs one patch (about a second).
func TestCheckpatchReal(t *testing.T) {
	tree := tree61()
	if tree == "" {
		t.Skipf("no Linux 6.1 tree with scripts/checkpatch.pl in %s/trees/*/src (ktest kernel build extracts one)", cachedir.Dir())
	}
	files := goldens(t)
	if testing.Short() && !*update {
		files = []string{"testdata/checkpatch/async-buffered-reads/0003-mm-abstract-out-wake_page_match-from-wake_page_funct.out"}
	}
	for _, golden := range files {
		t.Run(strings.TrimPrefix(golden, "testdata/checkpatch/"), func(t *testing.T) {
			in := inputFor(golden)
			if in == "" {
				t.Fatalf("no patch for %s", golden)
			}
			patch, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Checkpatch(context.Background(), tree, patch, filepath.Base(in))
			if err != nil {
				t.Fatal(err)
			}
			if *update {
				if err := os.WriteFile(golden, []byte(got.Output), 0o644); err != nil {
					t.Fatal(err)
				}
				t.Logf("%s: %s (exit %d)", in, got.Summary(), got.ExitCode)
				return
			}
			want := parseGolden(t, golden)
			if got.Summary() != want.Summary() || got.Lines != want.Lines {
				t.Errorf("%s: %s, %d lines; golden: %s, %d lines", in, got.Summary(), got.Lines, want.Summary(), want.Lines)
			}
			var g, w []string
			for _, it := range got.Items {
				g = append(g, brief(it))
			}
			for _, it := range want.Items {
				w = append(w, brief(it))
			}
			if !slices.Equal(g, w) {
				t.Errorf("%s items:\n got %q\nwant %q", in, g, w)
			}
			if wantExit := min(len(want.Items), 1); got.ExitCode != wantExit {
				t.Errorf("exit status %d, want %d", got.ExitCode, wantExit)
			}
		})
	}
}
