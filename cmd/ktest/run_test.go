package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ktest-dev/ktest/apply"
	"github.com/ktest-dev/ktest/ci"
	"github.com/ktest-dev/ktest/console"
	"github.com/ktest-dev/ktest/era"
	"github.com/ktest-dev/ktest/kbuild"
	"github.com/ktest-dev/ktest/pipeline"
	"github.com/ktest-dev/ktest/plan"
	"github.com/ktest-dev/ktest/results"
	"github.com/ktest-dev/ktest/series"
	"github.com/ktest-dev/ktest/vm"
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
	if err := os.WriteFile(badPlan, []byte("name = \"x\"\nrepeatz = 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	notTree := filepath.Join(dir, "not-a-tree")
	if err := os.Mkdir(notTree, 0o755); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.mbox")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// Patches 1/3 and 3/3 of a series: 2/3 is missing.
	holey := filepath.Join(dir, "holey.mbox")
	var mbox strings.Builder
	for _, n := range []int{1, 3} {
		fmt.Fprintf(&mbox, "From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001\nFrom: A <a@example.org>\n"+
			"Subject: [PATCH %d/3] note %d\n\n---\ndiff --git a/README b/README\n--- a/README\n+++ b/README\n@@ -1 +1,2 @@\n x\n+note %d\n", n, n, n)
	}
	if err := os.WriteFile(holey, []byte(mbox.String()), 0o644); err != nil {
		t.Fatal(err)
	}
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
		{"missing patch", []string{"--series", holey}, "holey.mbox: patch 2/3 missing (v1; 2 of 3 present)"},
		{"unknown version", []string{"--series", holey, "--use-version", "2"}, "no v2 in the input; it holds v1"},
		{"unknown target", []string{"--targets", "zfs"}, `unknown target "zfs"`},
		{"stray argument", []string{"extra"}, "unexpected arguments"},
		{"a tree older than the series", []string{"--tree", filepath.Join("..", "..", "era", "testdata", "trees", "linux-5.8")},
			"ktest run: this tree predates the series; test it with --series"},
		{"a debian: version that is none", []string{"--tree", "debian:six"}, "--tree debian:six: want a kernel version such as debian:6.12"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			code := realMain(append([]string{"run", "--out", out}, tc.args...), env{Stdout: io.Discard, Stderr: &stderr})
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
		{"missing patches", &pipeline.StageError{Stage: "series", Err: &series.MissingError{Source: "s.mbox", Version: 1, Total: 3, Missing: []int{2}, Present: 2}}, ExitUsage},
		{"ambiguous revisions", &pipeline.StageError{Stage: "series", Err: &series.AmbiguousError{Patch: "06/12", Version: 3}}, ExitUsage},
		{"missing file at boot", &pipeline.StageError{Stage: "boot", Variant: "baseline", Err: missing}, ExitInfra},
		{"missing file at build", &pipeline.StageError{Stage: "build", Variant: "baseline", Err: fmt.Errorf("tarball: %w", missing)}, ExitInfra},
		// Whose fault: the kernel's is a failed test, the host's exit 3.
		{"kernel panic at boot", &pipeline.StageError{Stage: "boot", Variant: "patched", Err: &vm.BootError{Title: "panic", Crash: &console.Crash{Kind: console.KindPanic, Title: "Kernel panic"}}}, ExitTestsFailed},
		{"agent never answered", &pipeline.StageError{Stage: "boot", Variant: "patched", Err: &vm.BootError{Title: "guest agent did not answer SSH"}}, ExitTestsFailed},
		{"QEMU killed", &pipeline.StageError{Stage: "boot", Variant: "patched", Err: &vm.InfraError{Title: "QEMU exited (signal: killed)"}}, ExitInfra},
		{"compiler error", &pipeline.StageError{Stage: "build", Variant: "patched", Err: &kbuild.BuildError{Variant: "patched", FirstError: "fs/ext4/file.c:152:9: error: 'x' undeclared", Err: errors.New("exit status 2")}}, ExitTestsFailed},
		{"make died without a compiler error", &pipeline.StageError{Stage: "build", Variant: "patched", Err: &kbuild.BuildError{Variant: "patched", Err: errors.New("signal: killed")}}, ExitInfra},
		{"tree predates the series", &pipeline.StageError{Stage: "era", Err: &era.PredatesError{}}, ExitUsage},
		{"no baseline applies", &pipeline.StageError{Stage: "era", Err: &era.BaselineError{Conflict: errors.New("conflict")}}, ExitUsage},
		{"the baseline conflicts", &pipeline.StageError{Stage: "era", Err: &era.BaselineError{Conflict: &apply.Conflict{Patch: "baseline-6.1", File: "fs/ext4/file.c", Hunk: 1, Reason: "hunk does not match"}}}, ExitUsage},
		// A series that does not apply is a finding, as with 'ktest apply'.
		{"the series conflicts", &pipeline.StageError{Stage: "apply", Variant: "patched", Err: &apply.Conflict{Patch: "0007", File: "fs/ext4/file.c", Hunk: 1, Reason: "hunk does not match"}}, ExitTestsFailed},
		{"baseline leaves the flag", &pipeline.StageError{Stage: "baseline", Variant: "baseline", Err: &era.BaselineError{Left: []era.Hit{{Path: "a.c"}}}}, ExitUsage},
		{"not a kernel tree", fmt.Errorf("tree: %w", &kbuild.NotATreeError{Dir: "/x", Reason: "missing Kconfig"}), ExitUsage},
		{"unreadable patch source", &ci.SourceError{Source: "s.mbox", Err: missing}, ExitUsage},
		{"override", &plan.OverrideError{Flag: "--size", Err: errors.New("bad size")}, ExitUsage},
		// Nightly: a regression is a finding; no verdict is never 0.
		{"regression", &pipeline.RegressionError{Against: "n1", Problems: []string{"x"}}, ExitTestsFailed},
		{"regression and a target that failed", errors.Join(&pipeline.RegressionError{Against: "n1"}, infraFailure(errors.New("target"))), ExitTestsFailed},
		{"runs that cannot be compared", &results.NoVerdict{WrongInput: true}, ExitUsage},
		{"B stopped", &results.NoVerdict{}, ExitInfra},
		{"a host failure", fmt.Errorf("write: %w", missing), ExitInfra},
		// What the command marked wins over what it wraps.
		{"marked", infraFailure(fmt.Errorf("apply: %w", &series.DamageError{File: "s.mbox", Reason: "x"})), ExitInfra},
	}
	for _, tc := range tests {
		if got := exitCode(context.Background(), tc.err); got != tc.want {
			t.Errorf("%s: exit %d, want %d", tc.name, got, tc.want)
		}
	}
}

// Inside a kernel checkout, `run --series` tests the series on it (a
// stopped run shows the choice before any work); without --series the
// plan keeps its own tree and says so.
func TestRunTakesTheCheckoutYouAreIn(t *testing.T) {
	checkout := t.TempDir()
	applyWrite(t, checkout, kernelSkeleton)
	sub := filepath.Join(checkout, "fs")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(sub)
	t.Setenv("KTEST_CACHE", filepath.Join(t.TempDir(), "cache"))
	patch := filepath.Join(t.TempDir(), "one.patch")
	if err := os.WriteFile(patch, []byte("diff --git a/README b/README\n--- a/README\n+++ b/README\n@@ -1 +1,2 @@\n x\n+y\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out")
	// An unknown target stops run after the tree is chosen, before any
	// work.
	run := func(args ...string) (int, string) {
		var msg bytes.Buffer
		code := realMain(append([]string{"run", "--out", out, "--targets", "zfs"}, args...), env{Stdout: io.Discard, Stderr: &msg})
		return code, msg.String()
	}
	code, errs := run("--series", patch)
	if code != ExitUsage || !strings.Contains(errs, "ktest: tree: "+checkout+", the kernel checkout you are in") {
		t.Errorf("--series in a checkout: exit %d\n%s", code, errs)
	}
	code, errs = run()
	if code != ExitUsage || !strings.Contains(errs, "the plan runs on its own tree, not on "+checkout) {
		t.Errorf("no --series in a checkout: exit %d\n%s", code, errs)
	}
	if _, errs = run("--tree", t.TempDir(), "--series", patch); strings.Contains(errs, "checkout you are in") {
		t.Errorf("--tree was second-guessed:\n%s", errs)
	}
}
