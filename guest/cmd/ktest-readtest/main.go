// Command ktest-readtest runs ktest's io_uring buffered-read correctness
// tests and fio benchmark against one target inside the guest VM, and prints
// one JSON document (proto.TargetResult, one line) on stdout. Progress goes
// to stderr. Its command line is a proto.ReadtestRequest (the host
// writes it with Args, this reads it with proto.ParseReadtestArgs):
//
//	ktest-readtest --target ext4|xfs|btrfs|raw --dev /dev/vdX|--serial S [--mode correctness|bench|all]
//	    [--size 64M] [--repeats 3] [--seed N] [--timeout-per-test 60s] [--fio /usr/bin/fio]
//	    [--mkfs-for 5.4 | --mkfs-profile xfs/lts_5.4]
//
// For a filesystem it runs mkfs (destroying dev) with the feature
// profile of the running kernel (or --mkfs-for/--mkfs-profile), checks
// the superblock, mounts it at <mnt>/<target> and writes the pattern file
// there; for raw it writes the
// pattern to the device itself. Exit codes are proto.ReadTestExit*: 0 all
// passed, 1 a test failed or hung or the benchmark failed, 2 usage, 3 setup
// failure. After a hang the process exits right after printing its JSON;
// a thread stuck in the kernel may keep it from being reaped, so readers
// should take the first line rather than wait for EOF.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/ktest-dev/ktest/guest/proto"
	"github.com/ktest-dev/ktest/guest/readtest"
	"golang.org/x/sys/unix"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, unix.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// config is the parsed request, with the guest's defaults filled in,
// and the target's entry in proto.Targets.
type config struct {
	proto.ReadtestRequest
	spec proto.TargetSpec
}

// parseFlags reads the request and checks what only the guest knows:
// the kernel version and the mkfs profile.
func parseFlags(args []string, stderr io.Writer) (*config, error) {
	req, err := proto.ParseReadtestArgs(args, stderr)
	if err != nil {
		return nil, err
	}
	c := &config{ReadtestRequest: req.WithDefaults()}
	if c.spec, err = c.Target.Spec(); err != nil {
		return nil, err
	}
	if c.MkfsFor != "" {
		if _, err := readtest.ParseKernelVersion(c.MkfsFor); err != nil {
			return nil, fmt.Errorf("--mkfs-for: %w", err)
		}
	}
	if c.MkfsProfile != "" {
		p, err := readtest.ProfileNamed(c.MkfsProfile)
		if err != nil {
			return nil, fmt.Errorf("--mkfs-profile: %w", err)
		}
		if p.FS != c.spec.FS {
			return nil, fmt.Errorf("--mkfs-profile %s is for %s, not %s", p.Name, p.FS, c.Target)
		}
	}
	for c.Seed == 0 {
		c.Seed = uint64(time.Now().UnixNano()) ^ uint64(os.Getpid())<<32
	}
	return c, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return proto.ReadTestExitOK
	}
	if err != nil {
		stderrf(stderr, "ktest-readtest: %v", err)
		return proto.ReadTestExitUsage
	}
	start := time.Now()
	res := proto.TargetResult{
		Schema: proto.ReadTestSchema, Target: c.Target, FS: c.spec.FS, Device: c.Device,
		Kernel: readtest.KernelRelease(), Seed: c.Seed, Mode: c.Mode,
		Tests: []proto.TestResult{}, Bench: []proto.EngineResult{},
	}
	emit := func(code int) int {
		res.DurationMS = time.Since(start).Milliseconds()
		b, err := json.Marshal(&res)
		if err != nil {
			stderrf(stderr, "ktest-readtest: encoding result: %v", err)
			return proto.ReadTestExitFailed
		}
		// The host reads this document: one that cannot be written
		// is a failed run, not the verdict it held.
		if _, err := stdout.Write(append(b, '\n')); err != nil {
			stderrf(stderr, "ktest-readtest: writing result: %v", err)
			return proto.ReadTestExitFailed
		}
		return code
	}
	logf := func(format string, a ...any) { stderrf(stderr, "readtest: "+format, a...) }

	p := readtest.Pattern{Seed: c.Seed}
	t, err := setUp(ctx, c, &res, p, logf)
	if err != nil {
		res.Error = err.Error()
		logf("setup failed: %v", err)
		return emit(proto.ReadTestExitSetupFailed)
	}
	t.GlobalDrop = !c.KeepCaches
	res.Path, res.FileSize, res.ReadAheadKB = t.Path, t.Size, t.ReadAheadKB

	code := proto.ReadTestExitOK
	hung := false
	if c.Mode.Correctness() {
		res.Tests, hung = readtest.RunCases(ctx, t, readtest.Options{
			Timeout: c.TestTimeout, RandReads: c.Reads, Only: c.Only, Log: stderr,
			DumpBlocked: readtest.DumpBlockedTasks,
		})
		for _, tr := range res.Tests {
			if tr.Status == proto.StatusFail || tr.Status == proto.StatusHung {
				code = proto.ReadTestExitFailed
			}
		}
	}
	if c.Mode.Bench() {
		if hung {
			res.Error = "benchmark not run: a correctness test hung"
			code = proto.ReadTestExitFailed
		} else {
			res.Bench = readtest.RunBench(ctx, t, readtest.BenchOptions{
				Fio: c.Fio, Repeats: c.Repeats, Engines: c.Engines, Timeout: c.RunTimeout, Log: stderr,
			})
			for _, e := range res.Bench {
				if e.Error != "" {
					code = proto.ReadTestExitFailed
				}
			}
		}
	}
	if ctx.Err() != nil && res.Error == "" {
		res.Error = "interrupted: " + ctx.Err().Error()
		code = proto.ReadTestExitFailed
	}
	// Unmounting with a hung reader would block (or fail with EBUSY).
	if !c.spec.Raw() && !hung && !c.KeepMounted {
		if err := readtest.Unmount(c.mountPoint()); err != nil {
			logf("%v", err)
		}
	}
	return emit(code)
}

// mountPoint is where the target's filesystem is mounted: <mnt>/<target>,
// so that two targets of one filesystem do not meet.
func (c *config) mountPoint() string { return filepath.Join(c.Mnt, string(c.Target)) }

// setUp finds the device and prepares the target: the pattern on the raw
// device, or mkfs, mount and the pattern file. It fills in res.Device
// and res.Mkfs as it learns them.
func setUp(ctx context.Context, c *config, res *proto.TargetResult, p readtest.Pattern, logf func(string, ...any)) (*readtest.Target, error) {
	if c.Serial != "" {
		dev, err := readtest.DeviceBySerial("/sys/block", c.Serial)
		if err != nil {
			return nil, &readtest.SetupError{Step: "device", Err: err}
		}
		c.Device = dev
		res.Device = dev
	}
	if c.spec.Raw() {
		if c.Reuse {
			return readtest.OpenRawTarget(c.Device, c.Size, p)
		}
		logf("writing pattern to %s (%d bytes + %d-byte tail)", c.Device, c.Size, readtest.RawTail)
		return readtest.NewRawTarget(c.Device, c.Size, p)
	}
	mnt := c.mountPoint()
	if c.Reuse {
		logf("mounting the existing %s on %s at %s", c.spec.FS, c.Device, mnt)
		if err := readtest.Mount(c.spec.FS, c.Device, mnt); err != nil {
			return nil, err
		}
		return readtest.OpenFileTarget(c.spec.FS, filepath.Join(mnt, "readtest.dat"), readtest.FileSizeFor(c.Size), p)
	}
	prof, err := chooseProfile(c)
	if err != nil {
		return nil, &readtest.SetupError{Step: "mkfs", Err: err}
	}
	// A previous run's mount, if any: mkfs refuses a mounted device, and
	// says so itself if this did not help.
	_ = unix.Unmount(mnt, 0)
	logf("mkfs.%s %s (profile %s)", prof.FS, c.Device, prof.Name)
	mk, err := readtest.Mkfs(ctx, prof, c.Device)
	if mk != nil {
		res.Mkfs = &proto.Mkfs{Profile: mk.Profile, Command: mk.Command, Features: mk.Features}
	}
	if err != nil {
		return nil, err
	}
	logf("mounting %s at %s", c.Device, mnt)
	if err := readtest.Mount(c.spec.FS, c.Device, mnt); err != nil {
		return nil, err
	}
	path := filepath.Join(mnt, "readtest.dat")
	size := readtest.FileSizeFor(c.Size)
	logf("writing %d-byte pattern file %s", size, path)
	t, err := readtest.NewFileTarget(c.spec.FS, path, size, p)
	if err == nil {
		t.ReadAheadKB = readtest.ReadAheadKB(c.Device) // st_dev of btrfs files is anonymous
	}
	return t, err
}

// chooseProfile picks the mkfs profile: the one named, or the one for
// --mkfs-for, or the one for the running kernel.
func chooseProfile(c *config) (readtest.Profile, error) {
	if c.MkfsProfile != "" {
		return readtest.ProfileNamed(c.MkfsProfile)
	}
	release := c.MkfsFor
	if release == "" {
		release = readtest.KernelRelease()
	}
	k, err := readtest.ParseKernelVersion(release)
	if err != nil {
		return readtest.Profile{}, err
	}
	return readtest.ProfileFor(c.Target, k)
}

// stderrf writes one line of progress or diagnosis to stderr, which the
// host keeps as the test's log. It is best effort: the result document
// on stdout is the verdict, and a log that cannot be written has no
// one else to tell.
func stderrf(stderr io.Writer, format string, a ...any) {
	_, _ = fmt.Fprintf(stderr, format+"\n", a...)
}
