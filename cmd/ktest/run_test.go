package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ktest-dev/ktest/era"
	"github.com/ktest-dev/ktest/pipeline"
	"github.com/ktest-dev/ktest/plan"
	"github.com/ktest-dev/ktest/series"
)

func TestReproduceCommandDropsWhereToWrite(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "ktest run"},
		{[]string{"--quick", "--out", "/tmp/x"}, "ktest run --quick"},
		{[]string{"--out=/tmp/x", "--tree", "/src/linux", "--history", "h"}, "ktest run --tree /src/linux"},
		{[]string{"--series", "my series.mbox", "--cache", "/c"}, "ktest run --series 'my series.mbox'"},
	} {
		if got := reproduceCommand(tc.args); got != tc.want {
			t.Errorf("reproduceCommand(%q) = %q, want %q", tc.args, got, tc.want)
		}
	}
}

// TestRunRejectsBadInputBeforeWork checks that input errors exit 2 and
// name the culprit without creating a run directory.
func TestRunRejectsBadInputBeforeWork(t *testing.T) {
	dir := t.TempDir()
	// Checking --tree opens the cache: a private one, not the user's.
	t.Setenv("KTEST_CACHE", filepath.Join(dir, "cache"))
	badPlan := filepath.Join(dir, "plan.toml")
	os.WriteFile(badPlan, []byte("name = \"x\"\nrepeatz = 3\n"), 0o644)
	notTree := filepath.Join(dir, "not-a-tree")
	os.Mkdir(notTree, 0o755)
	empty := filepath.Join(dir, "empty.mbox")
	os.WriteFile(empty, nil, 0o644)
	out := filepath.Join(dir, "out")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown plan key", []string{"--plan", badPlan}, `plan.toml:2: unknown key "repeatz"`},
		{"not a kernel tree", []string{"--tree", notTree}, "not a kernel source tree: missing Kconfig"},
		{"nonexistent tree", []string{"--tree", filepath.Join(dir, "nope")}, "does not exist"},
		{"empty series", []string{"--series", empty}, "empty.mbox"},
		{"unknown target", []string{"--targets", "zfs"}, `unknown target "zfs"`},
		{"stray argument", []string{"extra"}, "unexpected arguments"},
		{"a tree older than the series", []string{"--tree", filepath.Join("..", "..", "era", "testdata", "trees", "linux-5.8")},
			"ktest run: this tree predates the series; test it with --series"},
		{"a debian: version that is none", []string{"--tree", "debian:six"}, "--tree debian:six: want a kernel version such as debian:6.12"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			code := realMain(append([]string{"run", "--out", out}, tc.args...), &stderr)
			if code != ExitUsage || !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("exit %d, stderr %q; want exit 2 mentioning %q", code, stderr.String(), tc.want)
			}
			if _, err := os.Stat(out); err == nil {
				t.Fatal("a run directory was created for bad input")
			}
		})
	}
}

// TestPipelineErrorExitCodes: only the user's input is exit 2; a file
// missing in any other stage (QEMU, the default tarball, a kernel) is an
// infrastructure failure.
func TestPipelineErrorExitCodes(t *testing.T) {
	missing := &fs.PathError{Op: "open", Path: "/usr/bin/qemu-system-x86_64", Err: fs.ErrNotExist}
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"unreadable series", &pipeline.StageError{Stage: "series", Err: &series.SourceError{Source: "s.mbox", Err: missing}}, ExitUsage},
		{"damaged series", &pipeline.StageError{Stage: "apply", Variant: "patched", Err: &series.DamageError{File: "s.mbox", Reason: "x"}}, ExitUsage},
		{"plan error", &plan.Error{File: "p.toml", Reason: "x"}, ExitUsage},
		{"missing file at boot", &pipeline.StageError{Stage: "boot", Variant: "baseline", Err: missing}, ExitInfra},
		{"missing file at build", &pipeline.StageError{Stage: "build", Variant: "baseline", Err: fmt.Errorf("tarball: %w", missing)}, ExitInfra},
		{"tree predates the series", &pipeline.StageError{Stage: "era", Err: &era.PredatesError{}}, ExitUsage},
		{"no baseline applies", &pipeline.StageError{Stage: "era", Err: &era.BaselineError{Conflict: errors.New("conflict")}}, ExitUsage},
		{"baseline leaves the flag", &pipeline.StageError{Stage: "baseline", Variant: "baseline", Err: &era.BaselineError{Left: []era.Hit{{Path: "a.c"}}}}, ExitUsage},
	}
	for _, tc := range tests {
		if got := exitCode(context.Background(), pipelineError(context.Background(), tc.err)); got != tc.want {
			t.Errorf("%s: exit %d, want %d", tc.name, got, tc.want)
		}
	}
}
