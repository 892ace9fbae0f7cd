package report

import (
	"testing"

	"github.com/ktest-dev/ktest/results"
)

// TestJUnitFaults: a stage the kernel failed is a <failure>, one the
// host failed (or that ktest cannot attribute) an <error>.
func TestJUnitFaults(t *testing.T) {
	for _, tc := range []struct {
		fault          results.Fault
		failure, error bool
	}{
		{results.FaultKernel, true, false},
		{results.FaultHost, false, true},
		{"", false, true},
	} {
		c := stageCase("patched", results.Stage{Name: "boot", Status: results.StageFailed, Fault: tc.fault, Detail: "boot failed: x"})
		if (c.Failure != nil) != tc.failure || (c.Error != nil) != tc.error {
			t.Errorf("fault %q: failure %v error %v", tc.fault, c.Failure, c.Error)
		}
	}
	// The error that stopped a run shows even without its stage record.
	r := &results.Run{ID: "r", Status: results.StatusFail, Error: &results.StageFailure{Stage: "boot", Variant: "patched", Message: "boot failed: the guest froze", Fault: results.FaultKernel},
		Variants: []*results.Variant{{Name: "patched"}}}
	j := JUnit(r)
	if j.Failures != 1 || j.Errors != 0 {
		t.Errorf("a run stopped by the kernel: %d failures, %d errors; want the stop as a failure", j.Failures, j.Errors)
	}
}
