// Command ktest-readtest runs ktest's io_uring buffered-read correctness
// tests and fio benchmark against one target inside the guest VM, and prints
// one JSON document (proto.TargetResult, one line) on stdout. Progress goes
// to stderr.
//
//	ktest-readtest --fs ext4|xfs|btrfs|raw --dev /dev/vdX|--serial S [--mode correctness|bench|all]
//	    [--size 64M] [--repeats 3] [--seed N] [--timeout-per-test 60s] [--fio /usr/bin/fio]
//	    [--mkfs-for 5.4 | --mkfs-profile xfs/lts_5.4]
//
// For a filesystem it runs mkfs (destroying dev) with the feature
// profile of the running kernel (or --mkfs-for/--mkfs-profile), checks
// the superblock, mounts it at <mnt>/<fs> and writes the pattern file
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
	"slices"
	"strings"
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

// config is the parsed command line.
type config struct {
	kind, dev, mode, fio, mnt string
	serial                    string
	mkfsFor, mkfsProfile      string
	size                      int64
	repeats                   int
	seed                      uint64
	timeout, benchTimeout     time.Duration
	globalDrop, keepMounted   bool
	reuse                     bool
	only                      []string
	reads                     int
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("ktest-readtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		stderrf(stderr, "usage: ktest-readtest --fs ext4|xfs|btrfs|raw --dev /dev/vdX|--serial S [flags]")
		stderrf(stderr, "Runs io_uring buffered-read tests and a fio benchmark; prints one JSON document on stdout.")
		fs.PrintDefaults()
	}
	size := fs.String("size", "64M", "test file size (raw: bytes of the device to use); the file gets 1234 extra bytes so EOF is mid-page")
	only := fs.String("only", "", "comma-separated correctness tests to run (default all)")
	fs.StringVar(&c.kind, "fs", "", "target: "+strings.Join(readtest.Kinds, ", "))
	fs.StringVar(&c.dev, "dev", "", "scratch block device (destroyed)")
	fs.StringVar(&c.serial, "serial", "", "find the scratch device by its virtio serial instead of --dev")
	fs.StringVar(&c.mkfsFor, "mkfs-for", "", "make the filesystem for this kernel `VERSION` (default: the running kernel)")
	fs.StringVar(&c.mkfsProfile, "mkfs-profile", "", "make the filesystem with this profile, e.g. xfs/lts_5.4")
	fs.StringVar(&c.mode, "mode", "all", "correctness, bench or all")
	fs.StringVar(&c.fio, "fio", "fio", "fio binary")
	fs.StringVar(&c.mnt, "mnt", "/mnt", "directory under which <fs> is mounted")
	fs.IntVar(&c.repeats, "repeats", 3, "benchmark runs per engine")
	fs.Uint64Var(&c.seed, "seed", 0, "pattern seed (default: random)")
	fs.DurationVar(&c.timeout, "timeout-per-test", 60*time.Second, "timeout of each correctness test")
	fs.DurationVar(&c.benchTimeout, "timeout-per-run", 10*time.Minute, "timeout of each fio run")
	fs.BoolVar(&c.globalDrop, "drop-caches", true, "also sync and write /proc/sys/vm/drop_caches before cold phases (needs root)")
	fs.BoolVar(&c.keepMounted, "keep-mounted", false, "leave the filesystem mounted afterwards")
	fs.BoolVar(&c.reuse, "reuse", false, "use the filesystem and file (or raw pattern) an earlier run with the same --size and --seed left on the device: no mkfs, no writing (benchmark boots after the first)")
	fs.IntVar(&c.reads, "reads", 4096, "reads per random correctness test")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if !slices.Contains(readtest.Kinds, c.kind) {
		return nil, fmt.Errorf("--fs %q: want one of %s", c.kind, strings.Join(readtest.Kinds, ", "))
	}
	if (c.dev == "") == (c.serial == "") {
		return nil, errors.New("give one of --dev and --serial")
	}
	if c.mkfsFor != "" && c.mkfsProfile != "" {
		return nil, errors.New("give at most one of --mkfs-for and --mkfs-profile")
	}
	if c.mkfsFor != "" {
		if _, err := readtest.ParseKernelVersion(c.mkfsFor); err != nil {
			return nil, fmt.Errorf("--mkfs-for: %w", err)
		}
	}
	if c.mkfsProfile != "" {
		p, err := readtest.ProfileNamed(c.mkfsProfile)
		if err != nil {
			return nil, fmt.Errorf("--mkfs-profile: %w", err)
		}
		if p.FS != c.kind {
			return nil, fmt.Errorf("--mkfs-profile %s is for %s, not %s", p.Name, p.FS, c.kind)
		}
	}
	if c.mode != "correctness" && c.mode != "bench" && c.mode != "all" {
		return nil, fmt.Errorf("--mode %q: want correctness, bench or all", c.mode)
	}
	if c.reuse && c.mode != "bench" {
		return nil, errors.New("--reuse is for --mode bench: correctness tests need a fresh target")
	}
	n, err := readtest.ParseSize(*size)
	if err != nil {
		return nil, fmt.Errorf("--size: %w", err)
	}
	if n < 64<<10 {
		return nil, fmt.Errorf("--size %s: at least 64K", *size)
	}
	c.size = n
	if c.repeats < 1 || c.reads < 1 {
		return nil, errors.New("--repeats and --reads must be positive")
	}
	if *only != "" {
		names := make([]string, 0)
		for _, cs := range readtest.Cases() {
			names = append(names, cs.Name)
		}
		for _, o := range strings.Split(*only, ",") {
			if !slices.Contains(names, o) {
				return nil, fmt.Errorf("--only: unknown test %q (tests: %s)", o, strings.Join(names, ", "))
			}
			c.only = append(c.only, o)
		}
	}
	for c.seed == 0 {
		c.seed = uint64(time.Now().UnixNano()) ^ uint64(os.Getpid())<<32
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
		Schema: proto.ReadTestSchema, Target: c.kind, Device: c.dev,
		Kernel: readtest.KernelRelease(), Seed: c.seed, Mode: c.mode,
		Tests: []proto.TestResult{}, Bench: []proto.EngineResult{},
	}
	if c.kind != readtest.KindRaw {
		res.FS = c.kind
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

	p := readtest.Pattern{Seed: c.seed}
	t, err := setUp(ctx, c, &res, p, logf)
	if err != nil {
		res.Error = err.Error()
		logf("setup failed: %v", err)
		return emit(proto.ReadTestExitSetupFailed)
	}
	t.GlobalDrop = c.globalDrop
	res.Path, res.FileSize, res.ReadAheadKB = t.Path, t.Size, t.ReadAheadKB

	code := proto.ReadTestExitOK
	hung := false
	if c.mode != "bench" {
		res.Tests, hung = readtest.RunCases(ctx, t, readtest.Options{
			Timeout: c.timeout, RandReads: c.reads, Only: c.only, Log: stderr,
			DumpBlocked: readtest.DumpBlockedTasks,
		})
		for _, tr := range res.Tests {
			if tr.Status == proto.StatusFail || tr.Status == proto.StatusHung {
				code = proto.ReadTestExitFailed
			}
		}
	}
	if c.mode != "correctness" {
		if hung {
			res.Error = "benchmark not run: a correctness test hung"
			code = proto.ReadTestExitFailed
		} else {
			res.Bench = readtest.RunBench(ctx, t, readtest.BenchOptions{
				Fio: c.fio, Repeats: c.repeats, Timeout: c.benchTimeout, Log: stderr,
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
	if c.kind != readtest.KindRaw && !hung && !c.keepMounted {
		if err := readtest.Unmount(filepath.Join(c.mnt, c.kind)); err != nil {
			logf("%v", err)
		}
	}
	return emit(code)
}

// setUp finds the device and prepares the target: the pattern on the raw
// device, or mkfs, mount and the pattern file. It fills in res.Device
// and res.Mkfs as it learns them.
func setUp(ctx context.Context, c *config, res *proto.TargetResult, p readtest.Pattern, logf func(string, ...any)) (*readtest.Target, error) {
	if c.serial != "" {
		dev, err := readtest.DeviceBySerial("/sys/block", c.serial)
		if err != nil {
			return nil, &readtest.SetupError{Step: "device", Err: err}
		}
		c.dev = dev
		res.Device = dev
	}
	if c.kind == readtest.KindRaw {
		if c.reuse {
			return readtest.OpenRawTarget(c.dev, c.size, p)
		}
		logf("writing pattern to %s (%d bytes + %d-byte tail)", c.dev, c.size, readtest.RawTail)
		return readtest.NewRawTarget(c.dev, c.size, p)
	}
	if c.reuse {
		mnt := filepath.Join(c.mnt, c.kind)
		logf("mounting the existing %s on %s at %s", c.kind, c.dev, mnt)
		if err := readtest.Mount(c.kind, c.dev, mnt); err != nil {
			return nil, err
		}
		return readtest.OpenFileTarget(c.kind, filepath.Join(mnt, "readtest.dat"), readtest.FileSizeFor(c.size), p)
	}
	prof, err := chooseProfile(c)
	if err != nil {
		return nil, &readtest.SetupError{Step: "mkfs", Err: err}
	}
	mnt := filepath.Join(c.mnt, c.kind)
	// A previous run's mount, if any: mkfs refuses a mounted device, and
	// says so itself if this did not help.
	_ = unix.Unmount(mnt, 0)
	logf("mkfs.%s %s (profile %s)", c.kind, c.dev, prof.Name)
	mk, err := readtest.Mkfs(ctx, prof, c.dev)
	if mk != nil {
		res.Mkfs = &proto.Mkfs{Profile: mk.Profile, Command: mk.Command, Features: mk.Features}
	}
	if err != nil {
		return nil, err
	}
	logf("mounting %s at %s", c.dev, mnt)
	if err := readtest.Mount(c.kind, c.dev, mnt); err != nil {
		return nil, err
	}
	path := filepath.Join(mnt, "readtest.dat")
	size := readtest.FileSizeFor(c.size)
	logf("writing %d-byte pattern file %s", size, path)
	t, err := readtest.NewFileTarget(c.kind, path, size, p)
	if err == nil {
		t.ReadAheadKB = readtest.ReadAheadKB(c.dev) // st_dev of btrfs files is anonymous
	}
	return t, err
}

// chooseProfile picks the mkfs profile: the one named, or the one for
// --mkfs-for, or the one for the running kernel.
func chooseProfile(c *config) (readtest.Profile, error) {
	if c.mkfsProfile != "" {
		return readtest.ProfileNamed(c.mkfsProfile)
	}
	release := c.mkfsFor
	if release == "" {
		release = readtest.KernelRelease()
	}
	k, err := readtest.ParseKernelVersion(release)
	if err != nil {
		return readtest.Profile{}, err
	}
	return readtest.ProfileFor(c.kind, k)
}

// stderrf writes one line of progress or diagnosis to stderr, which the
// host keeps as the test's log. It is best effort: the result document
// on stdout is the verdict, and a log that cannot be written has no
// one else to tell.
func stderrf(stderr io.Writer, format string, a ...any) {
	_, _ = fmt.Fprintf(stderr, format+"\n", a...)
}
