package pipeline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ktest-dev/ktest/kbuild"
	"github.com/ktest-dev/ktest/plan"
	"github.com/ktest-dev/ktest/results"
)

// ppSeries writes a three-patch series on the mini tree's fs/read.c:
// patch 2 adds a line the fake builder cannot compile, patch 3 removes
// it again.
func ppSeries(t *testing.T) string {
	t.Helper()
	return ppSeriesWith(t, `diff --git a/fs/read.c b/fs/read.c
--- a/fs/read.c
+++ b/fs/read.c
@@ -2,5 +2,4 @@
 int b;
 int c;
 int c2;
-BROKEN x;
 int d;
`)
}

// ppSeriesWith is ppSeries with patch 3's diff given.
func ppSeriesWith(t *testing.T, third string) string {
	t.Helper()
	mail := func(n int, subject, diff string) string {
		return fmt.Sprintf("From 1111111111111111111111111111111111111111 Mon Sep 17 00:00:00 2001\nFrom: A Developer <dev@example.org>\n"+
			"Date: Mon, 1 Jun 2020 00:00:00 +0000\nSubject: [PATCH %d/3] %s\n\n---\n%s-- \n2.39.5\n\n", n, subject, diff)
	}
	s := mail(1, "fs: add c2", `diff --git a/fs/read.c b/fs/read.c
--- a/fs/read.c
+++ b/fs/read.c
@@ -1,4 +1,5 @@
 int a;
 int b;
 int c;
+int c2;
 int d;
`) + mail(2, "fs: break the build", `diff --git a/fs/read.c b/fs/read.c
--- a/fs/read.c
+++ b/fs/read.c
@@ -2,4 +2,5 @@
 int b;
 int c;
 int c2;
+BROKEN x;
 int d;
`) + mail(3, "fs: fix the build", third)
	path := filepath.Join(t.TempDir(), "series.mbox")
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func runPerPatch(t *testing.T, w *fakeWorld, mode string) *results.Run {
	t.Helper()
	run, err := runPerPatchOn(t, w, mode, ppSeries(t))
	if err != nil {
		t.Fatal(err)
	}
	return run
}

// runPerPatchOn runs a per-patch plan of series on the mini tree.
func runPerPatchOn(t *testing.T, w *fakeWorld, mode, series string) (*results.Run, error) {
	t.Helper()
	tree := miniTree(t)
	p := plan.Default()
	p.Retarget(tree, series)
	p.Targets = []string{"ext4"}
	p.PerPatch = plan.NewPerPatch(mode)
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	cache, err := kbuild.OpenCache(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return Run(context.Background(), Config{Plan: p, Cache: cache, OutDir: filepath.Join(t.TempDir(), "run"), Parts: w.parts()})
}

func grades(pp *results.PerPatch) string {
	var out []string
	for _, st := range pp.Steps {
		out = append(out, string(st.Grade))
	}
	return strings.Join(out, " ")
}

func TestPerPatchEvery(t *testing.T) {
	// Patch 3 also hangs a test on its kernel: every step gets its own
	// status, and only the first bad one is named.
	w := &fakeWorld{targets: map[string]behaviour{"patch-03-of-03/ext4": failOne}}
	run := runPerPatch(t, w, plan.PerPatchEvery)
	pp := run.PerPatch
	if got := grades(pp); got != "good bad bad" || pp.FirstBad != 2 {
		t.Fatalf("grades %q, first bad %d", got, pp.FirstBad)
	}
	st := pp.Steps[1]
	if st.Apply != results.StepOK || st.Build != results.StepFailed || !strings.Contains(st.Evidence, "unknown type name 'BROKEN'") {
		t.Errorf("step 2: %+v", st)
	}
	if st3 := pp.Steps[2]; st3.Build != results.StepOK || st3.Tests != results.StepFailed || len(st3.Failed) != 1 || !strings.Contains(st3.Evidence, "ext4/eof: fail") {
		t.Errorf("step 3: %+v", st3)
	}
	if run.Status != results.StatusFail || !strings.HasPrefix(run.FirstBadPatch(), "first bad patch 02/03 fs: break the build: ") {
		t.Errorf("status %s, %q", run.Status, run.FirstBadPatch())
	}
	// The baseline was tested first with the same suite; each step got a
	// kernel of its own name, built in turn.
	if got := strings.Join(w.builds, " "); !strings.Contains(got, "patch-01-of-03 patch-02-of-03 patch-03-of-03") {
		t.Errorf("builds %s", got)
	}
	if len(w.starts) != 3 || !strings.HasSuffix(w.starts[0], "/baseline/bzImage") {
		t.Errorf("boots %v: baseline, step 1, step 3", w.starts)
	}
}

func TestPerPatchFirstBadStops(t *testing.T) {
	w := &fakeWorld{targets: map[string]behaviour{}}
	pp := runPerPatch(t, w, plan.PerPatchFirstBad).PerPatch
	if got := grades(pp); got != "good bad untested" || pp.FirstBad != 2 || !strings.Contains(pp.Note, "2 of 3 steps tested") {
		t.Errorf("grades %q, first bad %d, note %q", got, pp.FirstBad, pp.Note)
	}
}

// Bisect assumes a bad prefix stays bad; patch 3 fixing patch 2 is what
// it cannot see, and it says so.
func TestPerPatchBisect(t *testing.T) {
	w := &fakeWorld{targets: map[string]behaviour{"patch-03-of-03/ext4": failOne}}
	pp := runPerPatch(t, w, plan.PerPatchBisect).PerPatch
	// Whole series bad (step 3 fails a test), step 1 good, step 2 bad.
	if got := grades(pp); got != "good bad bad" || pp.FirstBad != 2 || !strings.Contains(pp.Note, "bisected: 3 of 3 steps") {
		t.Errorf("grades %q, first bad %d, note %q", got, pp.FirstBad, pp.Note)
	}
	w = &fakeWorld{targets: map[string]behaviour{}}
	pp = runPerPatch(t, w, plan.PerPatchBisect).PerPatch
	if got := grades(pp); got != "untested untested good" || pp.FirstBad != 0 || !strings.Contains(pp.Note, "whole series is good") {
		t.Errorf("grades %q, first bad %d, note %q", got, pp.FirstBad, pp.Note)
	}
}

// Checkpatch reviews every patch of the series, per-patch run or not;
// its findings are review, not failures, unless the plan says so.
func TestCheckpatchStage(t *testing.T) {
	w := &fakeWorld{targets: map[string]behaviour{}}
	run := runPerPatch(t, w, plan.PerPatchFirstBad)
	var got []string
	for _, p := range run.Series.Patches {
		got = append(got, p.Checkpatch.String())
	}
	if strings.Join(got, "|") != "clean|1 warning|clean" {
		t.Errorf("checkpatch per patch: %v", got)
	}
	if st := run.PerPatch.Steps[1]; st.Checkpatch == nil || st.Checkpatch.Warnings != 1 {
		t.Errorf("step 2's checkpatch: %+v", st.Checkpatch)
	}
}
