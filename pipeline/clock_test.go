package pipeline

import (
	"testing"

	"github.com/ktest-dev/ktest/plan"
	"github.com/ktest-dev/ktest/vm"
)

// TestPlanClocksAreVMClocks: plan, an input layer below vm, names the
// guest clocks as strings, as it does the accelerators. Every name parses
// in vm, and a plan refuses exactly the accelerator, clock and vCPU
// combinations vm cannot boot.
func TestPlanClocksAreVMClocks(t *testing.T) {
	if len(plan.KnownClocks) != len(vm.Clocks) {
		t.Errorf("plan knows clocks %v, vm %v", plan.KnownClocks, vm.Clocks)
	}
	for _, a := range plan.KnownAccels {
		for _, c := range plan.KnownClocks {
			for _, cpus := range []int{1, 2} {
				clock, err := vm.ParseClock(c)
				if err != nil {
					t.Fatalf("plan clock %q: %v", c, err)
				}
				p := plan.Default()
				p.Accel, p.Clock, p.CPUs = a, c, cpus
				planErr := p.Validate()
				_, vmErr := clock.OnCPUs(cpus)
				if a != string(vm.AccelAuto) && vmErr == nil {
					_, vmErr = clock.On(vm.Accel(a))
				}
				if (planErr != nil) != (vmErr != nil) {
					t.Errorf("accel %s, clock %s, %d vCPUs: plan says %v, vm says %v", a, c, cpus, planErr, vmErr)
				}
			}
		}
	}
}
