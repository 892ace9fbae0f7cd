package pipeline

import (
	"errors"

	"github.com/ktest-dev/ktest/apply"
	"github.com/ktest-dev/ktest/era"
	"github.com/ktest-dev/ktest/kbuild"
	"github.com/ktest-dev/ktest/results"
	"github.com/ktest-dev/ktest/vm"
)

// FaultOf says whose doing err is, the one rule every caller (the
// run's status, per-patch verdicts, exit codes, JUnit) follows:
//
//   - the kernel's: what the guest did (a crash, a boot that failed in
//     the guest, a frozen guest: vm.KernelFault), a build the compiler
//     stopped with an error in the code, or a patch under test that
//     does not apply (an *apply.Conflict: a finding, as 'ktest apply'
//     and git apply report it; the era's baseline patch not applying is
//     ktest's refusal, era.IsRefusal, not the kernel's);
//   - the host's: what vm reports as an *InfraError (QEMU killed or
//     failing, a port, disk images, the SSH transport);
//   - "" otherwise: bad input, or a failure ktest cannot tell apart
//     (make failing without a compiler error), which counts as an
//     error, never against the kernel.
func FaultOf(err error) results.Fault {
	var be *kbuild.BuildError
	var conflict *apply.Conflict
	switch {
	case err == nil:
		return ""
	case vm.HostFault(err):
		return results.FaultHost
	case vm.KernelFault(err), errors.As(err, &be) && be.FirstError != "",
		errors.As(err, &conflict) && !era.IsRefusal(err):
		return results.FaultKernel
	}
	return ""
}
