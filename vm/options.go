// Package vm runs a kernel in a QEMU virtual machine and talks to the
// ktest guest agent in it over SSH.
//
// Options describes a machine; its Cmdline is a pure function of it, so
// the exact QEMU command can be tested as data and pasted into a shell
// (CmdlineQuoted). Pool.Start, the one way ktest boots a guest, starts a
// machine with a guest Image (which carries its SSH keys) on the
// accelerator the pool resolved, and returns an Instance once the agent
// answers SSH; every Instance operation fails with *console.Crash if the
// kernel reports a crash meanwhile. vm knows nothing of patches or kernel
// builds.
package vm

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Accel is a QEMU accelerator.
type Accel string

const (
	// AccelAuto is resolved by Prober.Resolve (through Pool.Start) to
	// KVM if KVM really runs Linux here, else TCG. Cmdline refuses it.
	AccelAuto Accel = "auto"
	AccelKVM  Accel = "kvm"
	AccelTCG  Accel = "tcg" // software emulation: slow but works anywhere
)

// ParseAccel parses "auto", "kvm" or "tcg".
func ParseAccel(s string) (Accel, error) {
	switch a := Accel(s); a {
	case AccelAuto, AccelKVM, AccelTCG:
		return a, nil
	}
	return "", fmt.Errorf("unknown accelerator %q: want auto, kvm or tcg", s)
}

// Defaults applied by Cmdline and Pool.Start to zero fields.
const (
	DefaultQEMU        = "qemu-system-x86_64"
	DefaultCPUs        = 2
	DefaultMemoryMB    = 1024
	DefaultBootTimeout = 2 * time.Minute
)

// Qboot is where Debian's QEMU keeps qboot, a minimal firmware that only
// knows how to boot a -kernel: it reaches the kernel sooner than SeaBIOS.
const Qboot = "/usr/share/qemu/qboot.rom"

// BaseKernelArgs come first on every kernel command line. The console is
// the first serial port, which QEMU sends to its stdout. panic=-1 reboots
// at once on panic and QEMU runs with -no-reboot, so a panic ends the VM
// instead of hanging it. Oopses stay non-fatal: the console watcher
// reports them and the guest keeps running. No "quiet": WARNING and
// lockdep reports are printed at KERN_WARNING, which quiet would hide.
//
// unknown_nmi_panic and panic_print=0x40 (every CPU's backtrace on a
// panic) make the NMI that ktest injects into a guest that stopped
// answering a panic that prints what each CPU was doing, even one
// spinning with interrupts off; nothing else sends a guest an NMI.
var BaseKernelArgs = []string{"console=ttyS0", "panic=-1", "unknown_nmi_panic", "panic_print=0x40"}

// Machine is the QEMU machine type. q35, not pc: on pc (i440FX) a 6.1
// guest under TCG's instruction clock spends 1.7 s of guest time routing
// each PCI device's legacy interrupt through an ACPI link (LNKA-D), about
// 2 s of a boot's host time with six devices; q35's links are fixed GSIs
// and take 20 ms. virtio devices use MSI-X on both.
const Machine = "q35"

// maxSocketPath is the longest path a Unix socket can have on Linux.
const maxSocketPath = 107

// Options describes one virtual machine.
type Options struct {
	QEMU   string // QEMU binary; "" means DefaultQEMU
	Kernel string // bzImage, required
	// Image is the guest initramfs with its keys; optional for Cmdline
	// (the KVM probe boots without one), required by Start.
	Image *Image
	Accel Accel // AccelKVM or AccelTCG; resolve AccelAuto with Prober.Resolve first
	// Clock is what the guest's clock counts; "" is ClockHost. Resolve
	// ClockAuto with Clock.On first.
	Clock Clock
	// Firmware is the BIOS image (-bios); Cmdline leaves "" to QEMU
	// (SeaBIOS), Start fills in Qboot when it is empty and Qboot exists.
	Firmware string
	CPUs     int // 0 means DefaultCPUs
	MemoryMB int // 0 means DefaultMemoryMB
	// KernelArgs are appended to BaseKernelArgs and the devices' args.
	// Each is one word: no blanks or quotes.
	KernelArgs []string
	Devices    []Device

	// The fields below are used by Start, not by Cmdline.

	// ConsoleLog is the file Start writes the serial console to; "" means
	// console.log in the run directory.
	ConsoleLog string
	// Console, if set, also receives the serial console as it is written.
	Console io.Writer
	// Trace, if set, receives each QEMU command line Start runs, quoted
	// for a shell.
	Trace io.Writer
	// BootTimeout bounds QEMU start to SSH ready; 0 means
	// DefaultBootTimeout.
	BootTimeout time.Duration
	// SilenceTimeout bounds QEMU start to the console's first byte; 0
	// means DefaultSilence(Accel).
	SilenceTimeout time.Duration
	// Monitor is the path of the QMP (QEMU machine protocol) socket QEMU
	// listens on, through which an NMI asks a frozen guest what it was
	// doing; "" means no monitor. Start puts one in the run directory.
	Monitor string
}

// Device is a piece of virtual hardware: it contributes QEMU arguments
// and, if the guest must be told about it, kernel arguments.
type Device interface {
	QEMUArgs() []string
	KernelArgs() []string
}

// validator is implemented by devices that can tell what makes them
// unusable; Cmdline calls it.
type validator interface{ Validate() error }

func (o *Options) qemu() string {
	if o.QEMU == "" {
		return DefaultQEMU
	}
	return o.QEMU
}

func orDefault(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// Validate reports every problem with o that would make Cmdline fail.
func (o *Options) Validate() error {
	var errs []error
	if o.Kernel == "" {
		errs = append(errs, errors.New("no kernel image"))
	}
	switch o.Accel {
	case AccelKVM, AccelTCG:
	case AccelAuto, "":
		errs = append(errs, errors.New("accelerator not resolved: resolve auto with Prober.Resolve"))
	default:
		errs = append(errs, fmt.Errorf("unknown accelerator %q", o.Accel))
	}
	if o.Clock == ClockAuto {
		errs = append(errs, errors.New("clock not resolved: resolve auto with Clock.On"))
	} else if o.Accel == AccelKVM || o.Accel == AccelTCG {
		if _, err := o.Clock.On(o.Accel); err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := o.Clock.OnCPUs(orDefault(o.CPUs, DefaultCPUs)); err != nil {
		errs = append(errs, err)
	}
	if o.CPUs < 0 {
		errs = append(errs, fmt.Errorf("CPUs %d: must be positive", o.CPUs))
	}
	if o.MemoryMB < 0 || (o.MemoryMB > 0 && o.MemoryMB < 64) {
		errs = append(errs, fmt.Errorf("memory %d MB: want at least 64", o.MemoryMB))
	}
	for _, a := range o.KernelArgs {
		if a == "" || strings.ContainsAny(a, " \t\n\"'") {
			errs = append(errs, fmt.Errorf("kernel argument %q: must be one word without quotes", a))
		}
	}
	if len(o.Monitor) > maxSocketPath {
		errs = append(errs, fmt.Errorf("monitor socket %s: longer than a Unix socket path may be (%d bytes)", o.Monitor, maxSocketPath))
	}
	ids := map[string]bool{}
	for i, d := range o.Devices {
		if d == nil {
			errs = append(errs, fmt.Errorf("device %d is nil", i))
			continue
		}
		if v, ok := d.(validator); ok {
			if err := v.Validate(); err != nil {
				errs = append(errs, err)
			}
		}
		if id := deviceID(d); id != "" {
			if ids[id] {
				errs = append(errs, fmt.Errorf("device id %q used twice", id))
			}
			ids[id] = true
		}
	}
	return errors.Join(errs...)
}

// AllKernelArgs returns the kernel command line words: BaseKernelArgs,
// then each device's, then o.KernelArgs (so the caller has the last word).
func (o *Options) AllKernelArgs() []string {
	args := append([]string(nil), BaseKernelArgs...)
	for _, d := range o.Devices {
		if d != nil {
			args = append(args, d.KernelArgs()...)
		}
	}
	return append(args, o.KernelArgs...)
}

// Cmdline returns the QEMU command (argv, binary first) for o. It is a
// pure function of o: it neither reads files nor probes the host. The
// serial console goes to QEMU's stdout; no display, no default devices,
// a QMP monitor only on Options.Monitor's socket, and the guest cannot
// reboot (a panic ends QEMU).
func (o *Options) Cmdline() ([]string, error) {
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("vm options: %w", err)
	}
	args := []string{
		o.qemu(),
		"-nodefaults", "-no-user-config",
		"-display", "none",
		"-no-reboot",
		"-machine", Machine,
		"-accel", string(o.Accel),
	}
	if o.Firmware != "" {
		args = append(args, "-bios", o.Firmware)
	}
	if o.Accel == AccelKVM {
		// The host's own CPU model, as a KVM guest should run; the probe
		// boots with the same model (see Prober).
		args = append(args, "-cpu", "host")
	}
	args = append(args, o.Clock.qemuArgs()...)
	args = append(args,
		"-smp", strconv.Itoa(orDefault(o.CPUs, DefaultCPUs)),
		"-m", strconv.Itoa(orDefault(o.MemoryMB, DefaultMemoryMB)),
		"-serial", "stdio",
		"-kernel", o.Kernel,
	)
	if o.Image != nil && o.Image.Path != "" {
		args = append(args, "-initrd", o.Image.Path)
	}
	args = append(args, "-append", strings.Join(o.AllKernelArgs(), " "))
	if o.Monitor != "" {
		args = append(args,
			"-chardev", "socket,id=ktest-qmp,path="+escapeOpt(o.Monitor)+",server=on,wait=off",
			"-mon", "chardev=ktest-qmp,mode=control")
	}
	for _, d := range o.Devices {
		args = append(args, d.QEMUArgs()...)
	}
	return args, nil
}

// CmdlineQuoted returns Cmdline as one line to paste into a POSIX shell.
func (o *Options) CmdlineQuoted() (string, error) {
	args, err := o.Cmdline()
	if err != nil {
		return "", err
	}
	return ShellQuote(args...), nil
}

// ShellQuote joins words into a POSIX shell command line, single-quoting
// the words that need it.
func ShellQuote(words ...string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = quoteWord(w)
	}
	return strings.Join(q, " ")
}

func quoteWord(w string) string {
	safe := w != ""
	for _, r := range w {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("@%+=:,./_-", r)) {
			safe = false
			break
		}
	}
	if safe {
		return w
	}
	return "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
}
