package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ktest-dev/ktest/internal/cachedir"
	"github.com/ktest-dev/ktest/vmstate"

	"github.com/ktest-dev/ktest/console"
	"github.com/ktest-dev/ktest/initramfs"
	"github.com/ktest-dev/ktest/kbuild"
	"github.com/ktest-dev/ktest/remote"
	"github.com/ktest-dev/ktest/vm"
)

func bootCommand() *command {
	return &command{
		name: "boot",
		summary: `Boot a kernel in QEMU with the ktest guest image.
With --exec, run CMD in the guest, stream its output and exit with its
status. Without it, keep the VM up until Ctrl-C; connect with 'ktest ssh'.
A kernel crash report (oops, BUG, WARNING, panic, lockdep, KASAN, hung
task, ...) on the console prints the report and exits 1, also during boot;
a VM that does not come up exits 3. When the boot fails, the kernel
crashes or CMD fails, the serial console log is kept in the cache's
boot-logs/ directory and its path printed.`,
		usage: "[--kernel bzImage] [--initramfs cpio] [--exec CMD] [flags]",
		examples: []string{
			"ktest boot                        # the default 6.1 kernel; Ctrl-C stops it",
			"ktest boot --kernel arch/x86/boot/bzImage --exec 'uname -r; cat /proc/cmdline'",
			"ktest boot --append panic_on_warn=1 --exec 'dmesg | tail'",
		},
		run: runBoot,
	}
}

type bootFlags struct {
	kernel      string
	initramfs   string
	exec        string
	accel       string
	clock       string
	mem, cpus   int
	timeout     time.Duration
	bootTimeout time.Duration
	verbose     bool
	benchBoot   int
	appendArgs  string
}

func runBoot(ctx context.Context, e env, args []string) (err error) {
	c := commands["boot"]
	fs := newFlagSet(c, e.Stdout)
	var f bootFlags
	fs.StringVar(&f.kernel, "kernel", "", "the bzImage `FILE` to boot (default: the default 6.1 kernel, built into the cache if missing)")
	fs.StringVar(&f.initramfs, "initramfs", "", "base ktest guest image (a `CPIO` file, without keys) to boot instead of building one; the run's keys are appended")
	fs.StringVar(&f.exec, "exec", "", "run `CMD` in the guest and exit with its status")
	fs.StringVar(&f.accel, "accel", "auto", "accelerator `MODE`: auto (KVM if a probe boot works, else TCG), kvm or tcg")
	fs.StringVar(&f.clock, "clock", "host", "guest `CLOCK`: host, instructions (TCG only: counts executed instructions, as 'ktest run' measures) or auto")
	fs.IntVar(&f.mem, "mem", vm.DefaultMemoryMB, "guest memory in `MB`")
	fs.IntVar(&f.cpus, "cpus", vm.DefaultCPUs, "guest CPUs")
	fs.DurationVar(&f.timeout, "timeout", 0, "limit for --exec CMD; the VM is killed when it expires (0: none)")
	fs.DurationVar(&f.bootTimeout, "boot-timeout", vm.DefaultBootTimeout, "limit from QEMU start to the agent answering SSH")
	fs.BoolVar(&f.verbose, "verbose", false, "print the QEMU command line and stream the serial console to stderr")
	fs.StringVar(&f.appendArgs, "append", "", "extra kernel command-line `WORDS`, e.g. \"panic_on_warn=1 loglevel=7\"")
	fs.IntVar(&f.benchBoot, "bench-boot", 0, "boot `N` times and report QEMU start to SSH ready (median, min, max)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("unexpected arguments %q (quote the command for --exec)", fs.Args())
	}
	if strings.ContainsAny(f.appendArgs, "\"'") {
		return usageErrorf("--append %q: kernel arguments cannot be quoted here; give plain words", f.appendArgs)
	}
	if f.benchBoot < 0 {
		return usageErrorf("--bench-boot %d: want a positive count", f.benchBoot)
	}
	want, err := vm.ParseAccel(f.accel)
	if err != nil {
		return usageErrorf("--accel: %v", err)
	}
	clock, err := vm.ParseClock(f.clock)
	if err == nil {
		clock, err = clock.OnCPUs(f.cpus)
	}
	if err != nil {
		return usageErrorf("--clock: %v", err)
	}
	if want != vm.AccelAuto {
		if _, err := clock.On(want); err != nil {
			return usageErrorf("--clock: %v", err)
		}
	}
	if f.kernel == "" {
		if f.kernel, err = defaultKernel(ctx, e); err != nil {
			return badInput(err)
		}
	}
	// QEMU's own word for a file that is no kernel is "linux kernel too
	// old to load a ram disk"; say what is wrong before starting it.
	if err := vm.CheckKernelImage(f.kernel); err != nil {
		return badInput(fmt.Errorf("--kernel: %w", err))
	}

	pool := &vm.Pool{Want: want, Clock: clock, Prober: vm.Prober{CacheFile: vm.ProbeCacheFile(cachedir.Dir())}, Log: e.Stderr}
	v, err := pool.Resolve(ctx, f.kernel)
	if err != nil {
		return infraFailure(fmt.Errorf("accelerator: %w", err))
	}
	say(e.Stderr, "ktest boot: accelerator %s, clock %s (%s)\n", v.Accel, v.Clock, v.Reason)

	image, err := guestImage(ctx, e, f.initramfs)
	if err != nil {
		return err
	}
	defer func() { warnIf(e.Stderr, "removing the guest image", image.Remove()) }()
	opts := vm.Options{
		Kernel:      f.kernel,
		Image:       image,
		CPUs:        f.cpus,
		MemoryMB:    f.mem,
		Devices:     []vm.Device{vm.RNG{}, vm.Net{}},
		BootTimeout: f.bootTimeout,
		KernelArgs:  strings.Fields(f.appendArgs),
	}
	if f.verbose {
		opts.Trace = e.Stderr
		opts.Console = e.Stderr
	}
	if f.benchBoot > 0 {
		return benchBoot(ctx, e, pool, opts, f.benchBoot)
	}

	logDir, err := bootLogDir()
	if err != nil {
		return err
	}
	opts.ConsoleLog = filepath.Join(logDir, "console.log")
	defer func() {
		if !keepConsoleLog(ctx, err) {
			warnIf(e.Stderr, "removing the console log", os.RemoveAll(logDir))
			return
		}
		say(e.Stderr, "ktest boot: console log kept: %s\n", opts.ConsoleLog)
	}()

	start := time.Now()
	inst, err := pool.Start(ctx, opts)
	if err != nil {
		return bootFailure(e, err)
	}
	defer func() { warnIf(e.Stderr, "stopping the VM", inst.Close()) }()
	say(e.Stderr, "ktest boot: guest agent up on %s after %v (console: %s)\n",
		inst.Addr(), time.Since(start).Round(time.Millisecond), inst.ConsoleLog())

	if f.exec != "" {
		return bootExec(ctx, e, inst, f)
	}
	return bootInteractive(ctx, e, inst, image.Keys, f.kernel)
}

// keepConsoleLog says whether a boot that ended with err leaves its
// console log for a post-mortem: after any failure, not after a success
// or the Ctrl-C that ends an interactive boot.
func keepConsoleLog(ctx context.Context, err error) bool {
	return err != nil && !(errors.Is(err, errQuiet) && ctx.Err() != nil)
}

// bootLogDir makes this boot's directory for its console log, under the
// cache where it outlives the boot (the VM's run directory does not).
func bootLogDir() (string, error) {
	dir := filepath.Join(cachedir.Dir(), cachedir.BootLogs, fmt.Sprintf("%s-%d", time.Now().Format("20060102-150405"), os.Getpid()))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("console log directory: %w", err)
	}
	return dir, nil
}

// guestImage returns a per-run image with new keys (the caller removes
// it): the base image, built or given, followed by a cpio with the keys.
func guestImage(ctx context.Context, e env, base string) (*vm.Image, error) {
	if base == "" {
		image, err := initramfs.Build(ctx, initramfs.Options{Log: e.Stderr})
		if err != nil {
			return nil, infraFailure(fmt.Errorf("guest image: %w", err))
		}
		return image, nil
	}
	if _, err := os.Stat(base); err != nil {
		return nil, badInput(fmt.Errorf("--initramfs: %w", err))
	}
	image, err := initramfs.WithKeys(base, "")
	if err != nil {
		return nil, infraFailure(fmt.Errorf("guest image: %w", err))
	}
	return image, nil
}

// defaultKernel returns the default kernel (Debian's 6.1 with the
// default fragments), building it first if the cache does not have it.
func defaultKernel(ctx context.Context, e env) (string, error) {
	cache, err := kbuild.OpenCache("")
	if err != nil {
		return "", err
	}
	k, err := kbuild.DefaultKernel(ctx, cache, e.Stderr)
	if err != nil {
		return "", err
	}
	return k.BzImage, nil
}

// bootFailure maps a Start error by whose fault it was: a kernel that
// crashed, printed nothing or never let the agent answer is a test
// failure (exit 1); the host's failure (QEMU, a port, an image) is exit 3.
func bootFailure(e env, err error) error {
	var crash *console.Crash
	if errors.As(err, &crash) {
		printCrash(e.Stderr, crash)
		return testsFailed(err)
	}
	var be *vm.BootError
	var ie *vm.InfraError
	switch {
	case errors.As(err, &be) && be.Output != "":
		say(e.Stderr, "--- last console output ---\n%s", be.Output)
	case errors.As(err, &ie) && ie.Output != "":
		say(e.Stderr, "--- last console output ---\n%s", ie.Output)
	}
	return err
}

func printCrash(w io.Writer, c *console.Crash) {
	say(w, "ktest: kernel %s: %s\n--- report ---\n%s\n--- end of report ---\n", c.Kind, c.Title, c.Excerpt)
}

// bootExec runs --exec and exits with its status.
func bootExec(ctx context.Context, e env, inst vm.Instance, f bootFlags) error {
	if f.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.timeout)
		defer cancel()
	}
	code, err := inst.Run(ctx, f.exec, e.Stdout, e.Stderr)
	var crash *console.Crash
	switch {
	case errors.As(err, &crash):
		printCrash(e.Stderr, crash)
		return testsFailed(err)
	case err != nil && errors.Is(err, context.DeadlineExceeded):
		var ge *vm.GuestError
		if errors.As(err, &ge) && ge.Stack != "" {
			say(e.Stderr, "ktest: %s\n--- stack ---\n%s\n--- end of stack ---\n", ge.Title, ge.Stack)
		}
		return testsFailed(fmt.Errorf("--exec did not finish within %v: %w", f.timeout, err))
	case err != nil:
		return err
	case code != 0:
		return &exitError{code: code & 0xff, err: fmt.Errorf("guest command exited with status %d", code)}
	}
	return nil
}

// bootInteractive keeps the VM up until Ctrl-C or until it goes away.
func bootInteractive(ctx context.Context, e env, inst vm.Instance, keys *remote.Keys, kernel string) error {
	st, err := vmstate.Register(inst.Addr(), keys, inst.ConsoleLog(), kernel)
	if err != nil {
		return fmt.Errorf("vm state: %w", err)
	}
	defer func() { warnIf(e.Stderr, "removing the VM's state for ktest ssh", st.Remove()) }()
	say(e.Stderr, `ktest boot: VM running; Ctrl-C stops it.
  connect:  ktest ssh            (or: ktest ssh --pid %d [CMD...])
  openssh:  %s
  console:  tail -f %s
`, st.PID, st.OpenSSH(), st.ConsoleLog)
	select {
	case <-ctx.Done():
		say(e.Stderr, "ktest boot: stopping the VM\n")
		warnIf(e.Stderr, "stopping the VM", inst.Close())
	case <-inst.Exited():
	}
	if cs := inst.Crashes(); len(cs) > 0 {
		for _, c := range cs {
			printCrash(e.Stderr, c)
		}
		return testsFailed(cs[0])
	}
	if ctx.Err() != nil {
		// Ctrl-C is how this mode ends: nothing went wrong.
		return exitQuietly(ExitInterrupted, "stopped")
	}
	say(e.Stderr, "ktest boot: VM exited\n")
	return nil
}

// benchBoot boots n times and reports QEMU start to SSH ready.
func benchBoot(ctx context.Context, e env, pool *vm.Pool, opts vm.Options, n int) error {
	var times []time.Duration
	for i := 1; i <= n; i++ {
		start := time.Now()
		inst, err := pool.Start(ctx, opts)
		if err != nil {
			return bootFailure(e, err)
		}
		d := time.Since(start)
		times = append(times, d)
		say(e.Stderr, "boot %d/%d: %v\n", i, n, d.Round(time.Millisecond))
		if err := inst.Close(); err != nil {
			return infraFailure(err)
		}
	}
	slices.Sort(times)
	median := times[len(times)/2]
	if len(times)%2 == 0 {
		median = (times[len(times)/2-1] + times[len(times)/2]) / 2
	}
	fmt.Printf("boot to SSH ready (%s, %d boots): median %v, min %v, max %v\n", pool.AccelChoice().Accel, n,
		median.Round(time.Millisecond), times[0].Round(time.Millisecond), times[len(times)-1].Round(time.Millisecond))
	return nil
}
