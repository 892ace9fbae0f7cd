package pipeline

import (
	"errors"
	"strings"
	"testing"

	"github.com/ktest-dev/ktest/plan"
	"github.com/ktest-dev/ktest/results"
	"github.com/ktest-dev/ktest/vm"
)

// ppBrokenSeries is ppSeries with a patch 3 that does not repair patch
// 2: the whole series does not build.
func ppBrokenSeries(t *testing.T) string {
	return ppSeriesWith(t, `diff --git a/fs/read.c b/fs/read.c
--- a/fs/read.c
+++ b/fs/read.c
@@ -1,4 +1,4 @@
-int a;
+int a0;
 int b;
 int c;
 int c2;
`)
}

// The whole series not building is evidence, not the end: the steps
// run, and patch 2 is named with its own compiler error.
func TestPerPatchWholeSeriesDoesNotBuild(t *testing.T) {
	for _, mode := range []string{plan.PerPatchEvery, plan.PerPatchBisect} {
		w := &fakeWorld{targets: map[string]behaviour{}}
		run, err := runPerPatchOn(t, w, mode, ppBrokenSeries(t))
		if err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		pp := run.PerPatch
		want := "good bad bad"
		if got := grades(pp); got != want || pp.FirstBad != 2 {
			t.Errorf("%s: grades %q, first bad %d; want %q naming 2", mode, got, pp.FirstBad, want)
		}
		if ev := pp.Steps[1].Evidence; !strings.Contains(ev, "unknown type name 'BROKEN'") {
			t.Errorf("%s: step 2 evidence %q", mode, ev)
		}
		if pv := run.Variant("patched"); pv.Kernel.Status != results.StepFailed {
			t.Errorf("%s: the whole series' kernel %+v, want failed", mode, pv.Kernel)
		}
		if run.Status != results.StatusFail || !strings.Contains(pp.Note, "the whole series does not build: fs/read.c:5:1: error:") {
			t.Errorf("%s: status %s, note %q", mode, run.Status, pp.Note)
		}
	}
}

// A host failure while testing a step is tried once more; a second one
// stops the run naming the host, and no patch is named bad.
func TestPerPatchHostFailure(t *testing.T) {
	t.Run("once", func(t *testing.T) {
		w := &fakeWorld{targets: map[string]behaviour{}, hostFails: map[string]int{"patch-01-of-03": 1}}
		run, err := runPerPatchOn(t, w, plan.PerPatchEvery, ppSeries(t))
		if err != nil {
			t.Fatal(err)
		}
		if got := grades(run.PerPatch); got != "good bad good" || run.PerPatch.FirstBad != 2 {
			t.Errorf("grades %q, first bad %d", got, run.PerPatch.FirstBad)
		}
	})
	t.Run("twice", func(t *testing.T) {
		w := &fakeWorld{targets: map[string]behaviour{}, hostFails: map[string]int{"patch-01-of-03": 2}}
		run, err := runPerPatchOn(t, w, plan.PerPatchEvery, ppSeries(t))
		if err == nil || FaultOf(err) != results.FaultHost || !strings.Contains(err.Error(), "the host failed twice") {
			t.Fatalf("Run = %v, want the host's failure, named", err)
		}
		pp := run.PerPatch
		if pp.FirstBad != 0 || pp.Steps[0].Grade == results.StepBad || run.FirstBadPatch() != "" {
			t.Errorf("a patch was judged on the host's failure: first bad %d, step 1 %+v", pp.FirstBad, pp.Steps[0])
		}
		if run.Status != results.StatusError || run.Error == nil || run.Error.Fault != results.FaultHost {
			t.Errorf("status %s, error %+v", run.Status, run.Error)
		}
		var ie *vm.InfraError
		if !errors.As(err, &ie) {
			t.Errorf("the error does not carry the host failure: %v", err)
		}
	})
	t.Run("bisect", func(t *testing.T) {
		// Bisect tests the whole series first.
		w := &fakeWorld{targets: map[string]behaviour{}, hostFails: map[string]int{"patch-03-of-03": 2}}
		run, err := runPerPatchOn(t, w, plan.PerPatchBisect, ppSeries(t))
		if err == nil || FaultOf(err) != results.FaultHost {
			t.Fatalf("Run = %v, want the host's failure", err)
		}
		if run.PerPatch.FirstBad != 0 || strings.Contains(run.PerPatch.Note, "good") {
			t.Errorf("bisect judged the series on the host's failure: first bad %d, note %q", run.PerPatch.FirstBad, run.PerPatch.Note)
		}
	})
}

// make failing without a compiler error may be the host's doing: the
// step is built once more, and only a second failure is held against
// the patch, saying so.
func TestPerPatchBuildWithoutCompilerError(t *testing.T) {
	w := &fakeWorld{targets: map[string]behaviour{}, buildFlaky: map[string]int{"patch-01-of-03": 1}}
	run, err := runPerPatchOn(t, w, plan.PerPatchEvery, ppSeries(t))
	if err != nil {
		t.Fatal(err)
	}
	if got := grades(run.PerPatch); got != "good bad good" {
		t.Errorf("one failed build of step 1: grades %q, want it good on the second try", got)
	}
	w = &fakeWorld{targets: map[string]behaviour{}, buildFlaky: map[string]int{"patch-01-of-03": 2}}
	run, err = runPerPatchOn(t, w, plan.PerPatchEvery, ppSeries(t))
	if err != nil {
		t.Fatal(err)
	}
	if st := run.PerPatch.Steps[0]; st.Grade != results.StepBad || !strings.HasPrefix(st.Evidence, "the build failed twice without a compiler error") {
		t.Errorf("two failed builds of step 1: %+v", st)
	}
}
