package pipeline

import (
	"context"
	"strings"
	"testing"

	"github.com/ktest-dev/ktest/plan"
	"github.com/ktest-dev/ktest/report"
	"github.com/ktest-dev/ktest/results"
	"github.com/ktest-dev/ktest/vm"
)

// A crash or a frozen guest in the middle of a target: the tests that
// finished keep their outcome, the one running carries the kernel's
// stack, the rest is not run, and the next target runs on a new VM.
func TestTargetCutShort(t *testing.T) {
	tests := []struct {
		name     behaviour
		kind     string
		status   results.TestStatus
		message  string
		evidence string
	}{
		{lockupMid, "soft lockup", results.TestHung, "soft lockup during ext4/preadv: watchdog: BUG: soft lockup", "ktest_lockup_spin+"},
		{freezeMid, crashFreeze, results.TestHung, "the guest froze during ext4/preadv: preadv did not finish within its 20s timeout plus 20s", "ktest_lockup_spin_irqs_off"},
	}
	for _, tc := range tests {
		w := &fakeWorld{targets: map[string]behaviour{"patched/ext4": tc.name}}
		run, _, err := fakeRun(t, w, context.Background(), func(p *plan.Plan) { p.Tests = []string{"eof", "preadv", "force-async"} })
		if err != nil {
			t.Fatalf("%v: %v", tc.kind, err)
		}
		pv := run.Variant("patched")
		ext4, xfs := pv.Target("ext4"), pv.Target("xfs")
		if ext4.Error != "" || len(ext4.Tests) != 3 {
			t.Fatalf("%s: ext4 %+v", tc.kind, ext4)
		}
		eof, preadv, rest := ext4.Tests[0], ext4.Tests[1], ext4.Tests[2]
		if eof.Name != "eof" || eof.Status != results.TestPass || eof.DurationMS != 12 {
			t.Errorf("%s: eof %+v, want the pass its progress line reported", tc.kind, eof)
		}
		if preadv.Status != tc.status || !strings.HasPrefix(preadv.Message, tc.message) || !strings.Contains(preadv.Evidence, tc.evidence) {
			t.Errorf("%s: preadv %+v", tc.kind, preadv)
		}
		if rest.Name != "force-async" || rest.Status != results.TestNotRun || !strings.Contains(rest.Message, "during ext4/preadv") {
			t.Errorf("%s: the rest of the target %+v, want not run", tc.kind, rest)
		}
		if len(pv.Crashes) != 1 || pv.Crashes[0].Kind != tc.kind || pv.Crashes[0].During != "ext4/preadv" {
			t.Errorf("%s: crashes %+v", tc.kind, pv.Crashes)
		}
		if xfs == nil || len(xfs.Tests) != 2 || xfs.Tests[0].Status != results.TestPass {
			t.Errorf("%s: xfs did not run after the cut target: %+v", tc.kind, xfs)
		}
		if run.Status != results.StatusFail || len(w.starts) != 3 {
			t.Errorf("%s: status %s, %d boots (want fail, and a reboot for xfs)", tc.kind, run.Status, len(w.starts))
		}
	}
}

// QEMU killed from outside during a test is the host's failure: the run
// stops with an error, and no test is failed for it.
func TestHostFailureDuringTarget(t *testing.T) {
	w := &fakeWorld{targets: map[string]behaviour{"patched/ext4": hostMid}}
	run, _, err := fakeRun(t, w, context.Background())
	if !vm.HostFault(err) || FaultOf(err) != results.FaultHost {
		t.Fatalf("Run = %v, want the host's failure", err)
	}
	if run.Status != results.StatusError || run.Error == nil || run.Error.Fault != results.FaultHost {
		t.Errorf("status %s, error %+v", run.Status, run.Error)
	}
	if failed := run.Failed(); len(failed) != 0 {
		t.Errorf("tests failed for the host's fault: %v", failed)
	}
}

// A kernel that does not boot stops the A/B run as a failure of the
// kernel, not as an error of ktest, in results.json and JUnit.
func TestBootFailureIsTheKernels(t *testing.T) {
	w := &fakeWorld{targets: map[string]behaviour{}}
	w.bootErr = map[string]error{"patched": &vm.BootError{Title: "guest agent did not answer SSH on 127.0.0.1:1 within 2m0s"}}
	run, _, err := fakeRun(t, w, context.Background())
	if err == nil || FaultOf(err) != results.FaultKernel {
		t.Fatalf("Run = %v, want the kernel's failure", err)
	}
	if run.Status != results.StatusFail || run.Error == nil || run.Error.Fault != results.FaultKernel || run.Error.Stage != "boot" {
		t.Errorf("status %s, error %+v", run.Status, run.Error)
	}
	j := report.JUnit(run)
	var failure, errored bool
	for _, s := range j.Suites {
		for _, c := range s.Cases {
			if s.Name == "patched/stages" && c.Name == "boot" {
				failure, errored = c.Failure != nil, c.Error != nil
			}
		}
	}
	if !failure || errored {
		t.Errorf("JUnit boot case: failure %v, error %v; want a <failure>", failure, errored)
	}
}
