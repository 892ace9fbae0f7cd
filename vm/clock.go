package vm

import "fmt"

// Clock is what the guest's clock counts, and so what every time the
// guest measures (a benchmark's wall time, its CPU time, a hung-task
// timeout) is made of.
type Clock string

const (
	// ClockAuto is resolved by Pool.Start: ClockInstructions under TCG,
	// ClockHost under KVM. Cmdline refuses it.
	ClockAuto Clock = "auto"
	// ClockHost: the guest's clock follows the host's. Under TCG every
	// instruction then costs what the host's load makes it cost, and one
	// boot of a shared 2-core host runs 2–4 times slower than the next.
	ClockHost Clock = "host"
	// ClockInstructions (TCG only): while the guest runs, its clock
	// advances InstructionNS per instruction it executes (QEMU's icount),
	// so the time of CPU work is what the guest's code did, not what the
	// host's load made of it; while every CPU idles (waiting for a disk
	// or a packet) it advances at real speed, so a wait costs the real
	// wait.
	ClockInstructions Clock = "instructions"
)

// Clocks are the values a plan or a flag may name.
var Clocks = []Clock{ClockAuto, ClockHost, ClockInstructions}

// icountShift sets InstructionNS = 2^icountShift ns. 3 (8 ns, 125
// million instructions a second) is about what TCG executes on the
// 2-core hosts ktest runs on, so guest time stays near real time and a
// guest timeout (hung-task's 30 s) keeps its meaning; the guest's figures
// are the same on a faster host. Boot to SSH measured under TCG: 4.6 s
// on the host clock, 8.6 s at shift 0, 6.7 s at 3, 5.8 s at 6 (a larger
// shift makes the kernel's timed waits shorter in instructions).
const icountShift = 3

// InstructionNS is the guest time one instruction takes under
// ClockInstructions.
const InstructionNS = 1 << icountShift

// ParseClock parses "auto", "host" or "instructions".
func ParseClock(s string) (Clock, error) {
	for _, c := range Clocks {
		if string(c) == s {
			return c, nil
		}
	}
	return "", fmt.Errorf("unknown clock %q: want auto, host or instructions", s)
}

// On returns the clock a guest under accelerator a gets when c is asked
// for: auto resolves by a, and instructions needs TCG (KVM runs the
// guest's instructions on the CPU, where nobody counts them).
func (c Clock) On(a Accel) (Clock, error) {
	switch c {
	case ClockAuto:
		if a == AccelTCG {
			return ClockInstructions, nil
		}
		return ClockHost, nil
	case ClockHost, "":
		return ClockHost, nil
	case ClockInstructions:
		if a != AccelTCG {
			return "", fmt.Errorf("clock instructions needs TCG, and the accelerator is %s", a)
		}
		return c, nil
	}
	return "", fmt.Errorf("unknown clock %q", c)
}

// OnCPUs returns the clock a guest of n vCPUs gets when c is asked for:
// QEMU's icount runs the vCPUs in turn on one thread, and a 6.1 guest of
// 2 vCPUs under it stalls at SMP bring-up ("x86: Booting SMP
// configuration:", then nothing). So with more than one vCPU auto means
// the host's clock and instructions is an error.
func (c Clock) OnCPUs(n int) (Clock, error) {
	if n <= 1 {
		return c, nil
	}
	switch c {
	case ClockAuto:
		return ClockHost, nil
	case ClockInstructions:
		return "", fmt.Errorf("clock instructions needs one vCPU, and the guest has %d (QEMU's icount stalls a multi-CPU guest at SMP bring-up)", n)
	}
	return c, nil
}

// qemuArgs are the QEMU arguments that give a guest clock c. sleep=on:
// idle time passes at real speed. With sleep=off QEMU would jump the
// clock to the guest's next timer instead, and a wait for a disk would
// cost whatever that timer's distance was.
func (c Clock) qemuArgs() []string {
	if c != ClockInstructions {
		return nil
	}
	return []string{"-icount", fmt.Sprintf("shift=%d,sleep=on", icountShift)}
}
