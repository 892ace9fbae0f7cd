package pipeline

import (
	"errors"

	"github.com/ktest-dev/ktest/kbuild"
	"github.com/ktest-dev/ktest/results"
	"github.com/ktest-dev/ktest/vm"
)

// FaultOf says whose doing err is, the one rule every caller (the
// run's status, per-patch verdicts, exit codes, JUnit) follows:
//
//   - the kernel's: what the guest did (a crash, a boot that failed in
//     the guest, a frozen guest: vm.KernelFault) or a build the
//     compiler stopped with an error in the code;
//   - the host's: what vm reports as an *InfraError (QEMU killed or
//     failing, a port, disk images, the SSH transport);
//   - "" otherwise: bad input, or a failure ktest cannot tell apart
//     (make failing without a compiler error), which counts as an
//     error, never against the kernel.
func FaultOf(err error) results.Fault {
	var be *kbuild.BuildError
	switch {
	case err == nil:
		return ""
	case vm.HostFault(err):
		return results.FaultHost
	case vm.KernelFault(err), errors.As(err, &be) && be.FirstError != "":
		return results.FaultKernel
	}
	return ""
}
