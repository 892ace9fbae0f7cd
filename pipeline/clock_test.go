package pipeline

import (
	"testing"

	"github.com/ktest-dev/ktest/plan"
	"github.com/ktest-dev/ktest/vm"
)

// TestPlanClocksAreVMClocks: plan, an input layer below vm, names the
// guest clocks as strings, as it does the accelerators. Every name parses
// in vm, and a plan refuses exactly the accelerator/clock pairs vm
// cannot boot.
func TestPlanClocksAreVMClocks(t *testing.T) {
	if len(plan.KnownClocks) != len(vm.Clocks) {
		t.Errorf("plan knows clocks %v, vm %v", plan.KnownClocks, vm.Clocks)
	}
	for _, a := range plan.KnownAccels {
		for _, c := range plan.KnownClocks {
			clock, err := vm.ParseClock(c)
			if err != nil {
				t.Fatalf("plan clock %q: %v", c, err)
			}
			p := plan.Default()
			p.Accel, p.Clock = a, c
			planErr := p.Validate()
			var vmErr error
			if a != string(vm.AccelAuto) {
				_, vmErr = clock.On(vm.Accel(a))
			}
			if (planErr != nil) != (vmErr != nil) {
				t.Errorf("accel %s, clock %s: plan says %v, vm says %v", a, c, planErr, vmErr)
			}
		}
	}
}
