package pipeline

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ktest-dev/ktest/era"
	"github.com/ktest-dev/ktest/kbuild"
	"github.com/ktest-dev/ktest/plan"
	"github.com/ktest-dev/ktest/report"
	"github.com/ktest-dev/ktest/results"
)

// eraTree copies testdata/eras/NAME (excerpts of Debian's trees: every
// line that sets the flag, with the patch's context) into a temporary
// directory, where edit may change it.
func eraTree(t *testing.T, name string, edit func(dir string)) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("testdata", "eras", name))); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(dir)
	}
	return dir
}

func rewrite(t *testing.T, path, old, new string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil || !bytes.Contains(data, []byte(old)) {
		t.Fatalf("%s: %v, or no %q in it", path, err, old)
	}
	if err := os.WriteFile(path, bytes.Replace(data, []byte(old), []byte(new), 1), 0o644); err != nil {
		t.Fatal(err)
	}
}

// eraRun runs the default plan (quick, two targets) on tree against the
// fakes and returns the overlay each variant was built with.
func eraRun(t *testing.T, w *fakeWorld, tree string) (*results.Run, map[string]map[string][]byte, error) {
	t.Helper()
	p := plan.Default()
	p.Retarget(tree, "")
	p.Targets = []string{"ext4", "raw"}
	p.Quick()
	cache, err := kbuild.OpenCache(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	parts := w.parts()
	built := map[string]map[string][]byte{}
	fakeBuild := parts.Build
	parts.Build = func(ctx context.Context, c *kbuild.Cache, req kbuild.Request) (*kbuild.Result, error) {
		built[req.Variant] = req.Overlay
		return fakeBuild(ctx, c, req)
	}
	run, err := Run(context.Background(), Config{Plan: p, Cache: cache, OutDir: filepath.Join(t.TempDir(), "run"), Parts: parts})
	return run, built, err
}

func TestEraChoosesTheBaselineOfTheTree(t *testing.T) {
	tests := []struct {
		tree     string
		baseline string
		flag     string
		files    []string // the files the baseline changes
	}{
		{"linux-6.1", "embedded:baseline-6.1", "FMODE_BUF_RASYNC", []string{"block/fops.c", "fs/btrfs/file.c", "fs/ext4/file.c", "fs/xfs/xfs_file.c"}},
		{"linux-6.12", "embedded:baseline-6.12", "FOP_BUFFER_RASYNC", []string{"block/fops.c", "fs/btrfs/file.c", "fs/ext4/file.c", "fs/f2fs/file.c", "fs/xfs/xfs_file.c"}},
	}
	for _, tc := range tests {
		t.Run(tc.tree, func(t *testing.T) {
			w := &fakeWorld{targets: map[string]behaviour{}}
			run, built, err := eraRun(t, w, eraTree(t, tc.tree, nil))
			if err != nil {
				t.Fatal(err)
			}
			want := []string{"tree:ok", "era:ok", "series:ok", "checkpatch:ok", "apply[baseline]:ok", "baseline[baseline]:ok", "build[baseline]:ok",
				"apply[patched]:ok", "build[patched]:ok"}
			if got := stageNames(run); !slices.Equal(got[:len(want)], want) {
				t.Errorf("stages %v, want them to start %v", got, want)
			}
			e := run.Tree.Era
			if e == nil || e.Baseline != tc.baseline || e.Flag != tc.flag || !e.Verified || len(e.Stock) != len(tc.files) {
				t.Fatalf("era %+v", e)
			}
			if got := run.Variant("baseline").Patches; !slices.Equal(got, []string{tc.baseline}) {
				t.Errorf("baseline variant records patches %v", got)
			}
			var changed []string
			for p, data := range built["baseline"] {
				changed = append(changed, p)
				if bytes.Contains(data, []byte("| "+tc.flag)) || bytes.Contains(data, []byte("= "+tc.flag)) {
					t.Errorf("%s still sets %s:\n%s", p, tc.flag, data)
				}
			}
			slices.Sort(changed)
			if !slices.Equal(changed, tc.files) {
				t.Errorf("the baseline was built with %v changed, want %v", changed, tc.files)
			}
			if len(built["patched"]) != 0 {
				t.Errorf("the patched variant (the tree as it is) was built with changes: %v", built["patched"])
			}
			if run.Series == nil || !strings.Contains(run.Series.Base, tc.baseline) {
				t.Errorf("series base %q does not name the baseline", run.Series.Base)
			}
			var md bytes.Buffer
			if err := (report.Renderer{}).Render(&md, run, "md"); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(md.String(), "**Era:** "+e.Name) || !strings.Contains(md.String(), tc.baseline) {
				t.Errorf("the summary does not name the era and baseline:\n%s", md.String())
			}
		})
	}
}

// A tree the default A/B cannot run on is refused before anything is
// built, naming why.
func TestEraRefusals(t *testing.T) {
	tests := []struct {
		name  string
		tree  string
		edit  func(t *testing.T, dir string)
		check func(err error) bool
		want  string
	}{
		{"older than the series", "linux-6.1", func(t *testing.T, dir string) {
			rewrite(t, filepath.Join(dir, "Makefile"), "PATCHLEVEL = 1\nSUBLEVEL = 192", "PATCHLEVEL = 8\nSUBLEVEL = 0")
			rewrite(t, filepath.Join(dir, "Makefile"), "VERSION = 6", "VERSION = 5")
			rewrite(t, filepath.Join(dir, "include/linux/fs.h"), "#define FMODE_BUF_RASYNC", "#define FMODE_SOMETHING_ELSE")
		}, func(err error) bool { var pe *era.PredatesError; return errors.As(err, &pe) },
			"this tree predates the series; test it with --series"},
		// Later f_mode-era trees set the flag on lines baseline-6.1 does
		// not know: it does not apply, and the conflict is named.
		{"no baseline applies", "linux-6.1", func(t *testing.T, dir string) {
			rewrite(t, filepath.Join(dir, "fs/ext4/file.c"), "FMODE_NOWAIT | FMODE_BUF_RASYNC;", "FMODE_NOWAIT | FMODE_BUF_RASYNC |\n\t\t\tFMODE_DIO_PARALLEL_WRITE;")
		}, func(err error) bool { var be *era.BaselineError; return errors.As(err, &be) && be.Conflict != nil },
			"no known baseline applies to this f_mode-era tree: embedded:baseline-6.1"},
		{"a file the baseline misses", "linux-6.12", func(t *testing.T, dir string) {
			if err := os.MkdirAll(filepath.Join(dir, "fs/newfs"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "fs/newfs/file.c"), []byte("const struct file_operations newfs_fops = {\n\t.fop_flags\t= FOP_BUFFER_RASYNC,\n};\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, func(err error) bool { var be *era.BaselineError; return errors.As(err, &be) && len(be.Left) == 1 },
			"fs/newfs/file.c:2: .fop_flags\t= FOP_BUFFER_RASYNC,"},
		{"nothing sets the flag", "linux-6.12", func(t *testing.T, dir string) {
			for _, f := range []string{"block/fops.c", "fs/btrfs/file.c", "fs/ext4/file.c", "fs/f2fs/file.c", "fs/xfs/xfs_file.c"} {
				if err := os.Remove(filepath.Join(dir, f)); err != nil {
					t.Fatal(err)
				}
			}
		}, func(err error) bool { var ue *era.UnknownError; return errors.As(err, &ue) },
			"no C file sets it"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := &fakeWorld{targets: map[string]behaviour{}}
			tree := eraTree(t, tc.tree, func(dir string) { tc.edit(t, dir) })
			run, _, err := eraRun(t, w, tree)
			if err == nil || !tc.check(err) || !era.IsRefusal(err) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want a refusal saying %q", err, tc.want)
			}
			if len(w.builds) != 0 {
				t.Errorf("built %v after the refusal", w.builds)
			}
			if run.Status != results.StatusError || run.Error == nil || run.Error.Stage != "era" {
				t.Errorf("status %s, error %+v", run.Status, run.Error)
			}
		})
	}
}

// --series replaces the variants: the baseline is the tree as it is,
// and an old tree is fine.
func TestSeriesRunHasNoEra(t *testing.T) {
	w := &fakeWorld{targets: map[string]behaviour{}}
	run, _, err := fakeRun(t, w, context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if run.Tree.Era != nil || slices.Contains(stageNames(run), "era:ok") {
		t.Errorf("a --series run chose an era: %+v", run.Tree.Era)
	}
}
