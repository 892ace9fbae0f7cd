package proto

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ReadtestName is ktest-readtest's name, the first word of its command
// line (the agent finds it on PATH, at ReadtestPath).
const ReadtestName = "ktest-readtest"

// ReadtestRequest is one run of ktest-readtest on one target: the host
// writes it as a command line with Args, and the guest reads it back with
// ParseReadtestArgs. A zero field means the guest's default (WithDefaults).
type ReadtestRequest struct {
	Target Target
	// Device is the scratch block device (destroyed); Serial finds it
	// by its virtio serial instead. Exactly one is set.
	Device, Serial string
	Mode           Mode
	// Size is the test file's size in bytes (raw: the bytes of the
	// device to use); the file gets 1234 extra bytes so EOF is mid-page.
	Size    int64
	Repeats int // benchmark runs per engine
	// Engines are the benchmark engines to run, in the order given; all
	// when empty. Adaptive boots run only the undecided ones.
	Engines     []Engine
	TestTimeout time.Duration // bound of each correctness test
	// Reuse reads the filesystem and file (or raw pattern) an earlier run
	// with the same Size and Seed left on the device: no mkfs, no
	// writing. For the benchmark boots after the first (ModeBench).
	Reuse bool
	// MkfsFor makes the filesystem for this kernel version ("5.4")
	// instead of the running one; MkfsProfile names the profile
	// ("xfs/lts_5.4"). At most one is set.
	MkfsFor, MkfsProfile string
	Only                 []string // correctness tests to run; all when empty
	Seed                 uint64   // pattern seed; random when 0
	RunTimeout           time.Duration
	Fio                  string // fio binary
	Mnt                  string // directory under which the target is mounted
	// KeepCaches drops only the target's own pages before cold phases,
	// not the whole page cache (which needs root).
	KeepCaches  bool
	KeepMounted bool // leave the filesystem mounted afterwards
	Reads       int  // reads per random correctness test
}

// The guest's defaults for zero fields of a ReadtestRequest.
const (
	DefaultReadtestSize = 64 << 20
	DefaultRepeats      = 3
	DefaultTestTimeout  = 60 * time.Second
	DefaultRunTimeout   = 10 * time.Minute
	DefaultReads        = 4096
	// MinReadtestSize is the smallest Size: the random tests need room.
	MinReadtestSize = 64 << 10
)

// WithDefaults returns r with every zero field that has a default set
// to it. Seed stays 0: the guest picks a random one.
func (r ReadtestRequest) WithDefaults() ReadtestRequest {
	set := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	if r.Mode == "" {
		r.Mode = ModeAll
	}
	if r.Size == 0 {
		r.Size = DefaultReadtestSize
	}
	set(&r.Repeats, DefaultRepeats)
	set(&r.Reads, DefaultReads)
	if r.TestTimeout == 0 {
		r.TestTimeout = DefaultTestTimeout
	}
	if r.RunTimeout == 0 {
		r.RunTimeout = DefaultRunTimeout
	}
	if r.Fio == "" {
		r.Fio = "fio"
	}
	if r.Mnt == "" {
		r.Mnt = "/mnt"
	}
	return r
}

// Args is r's command line after ReadtestName: only the fields that are
// set, in a fixed order.
func (r ReadtestRequest) Args() []string {
	var a []string
	str := func(flag, v string) {
		if v != "" {
			a = append(a, flag, v)
		}
	}
	num := func(flag string, v int64) {
		if v != 0 {
			a = append(a, flag, strconv.FormatInt(v, 10))
		}
	}
	dur := func(flag string, d time.Duration) {
		if d != 0 {
			a = append(a, flag, d.String())
		}
	}
	boolean := func(flag string, b bool) {
		if b {
			a = append(a, flag)
		}
	}
	str("--target", string(r.Target))
	str("--dev", r.Device)
	str("--serial", r.Serial)
	str("--mode", string(r.Mode))
	if r.Size != 0 {
		a = append(a, "--size", FormatSize(r.Size))
	}
	num("--repeats", int64(r.Repeats))
	str("--engines", strings.Join(names(r.Engines), ","))
	dur("--timeout-per-test", r.TestTimeout)
	boolean("--reuse", r.Reuse)
	str("--mkfs-for", r.MkfsFor)
	str("--mkfs-profile", r.MkfsProfile)
	str("--only", strings.Join(r.Only, ","))
	if r.Seed != 0 {
		a = append(a, "--seed", strconv.FormatUint(r.Seed, 10))
	}
	dur("--timeout-per-run", r.RunTimeout)
	str("--fio", r.Fio)
	str("--mnt", r.Mnt)
	boolean("--drop-caches=false", r.KeepCaches)
	boolean("--keep-mounted", r.KeepMounted)
	num("--reads", int64(r.Reads))
	return a
}

// ParseReadtestArgs reads a command line Args wrote (without
// ReadtestName) and validates it. Help (-h) and flag errors are written
// to usage; -h returns flag.ErrHelp.
func ParseReadtestArgs(args []string, usage io.Writer) (ReadtestRequest, error) {
	var r ReadtestRequest
	fs := flag.NewFlagSet(ReadtestName, flag.ContinueOnError)
	fs.SetOutput(usage)
	fs.Usage = func() {
		_, _ = fmt.Fprintf(usage, "usage: %s --target %s --dev /dev/vdX|--serial S [flags]\n", ReadtestName, strings.Join(TargetNames(), "|"))
		_, _ = fmt.Fprintln(usage, "Runs io_uring buffered-read tests and a fio benchmark; prints one JSON document on stdout.")
		fs.PrintDefaults()
	}
	var size, only, engines, target, mode string
	dropCaches := true
	fs.StringVar(&target, "target", "", "target: "+strings.Join(TargetNames(), ", "))
	fs.StringVar(&target, "fs", "", "the old name of --target, still accepted")
	fs.StringVar(&r.Device, "dev", "", "scratch block device (destroyed)")
	fs.StringVar(&r.Serial, "serial", "", "find the scratch device by its virtio serial instead of --dev")
	fs.StringVar(&mode, "mode", "", "correctness, bench or all (default all)")
	fs.StringVar(&size, "size", "", "test file size (raw: bytes of the device to use); the file gets 1234 extra bytes so EOF is mid-page (default 64M)")
	fs.IntVar(&r.Repeats, "repeats", 0, fmt.Sprintf("benchmark runs per engine (default %d)", DefaultRepeats))
	fs.StringVar(&engines, "engines", "", "comma-separated benchmark engines to run: "+strings.Join(EngineNames(), ", ")+" (default all)")
	fs.DurationVar(&r.TestTimeout, "timeout-per-test", 0, fmt.Sprintf("timeout of each correctness test (default %v)", DefaultTestTimeout))
	fs.BoolVar(&r.Reuse, "reuse", false, "use the filesystem and file (or raw pattern) an earlier run with the same --size and --seed left on the device: no mkfs, no writing (benchmark boots after the first)")
	fs.StringVar(&r.MkfsFor, "mkfs-for", "", "make the filesystem for this kernel `VERSION` (default: the running kernel)")
	fs.StringVar(&r.MkfsProfile, "mkfs-profile", "", "make the filesystem with this profile, e.g. xfs/lts_5.4")
	fs.StringVar(&only, "only", "", "comma-separated correctness tests to run (default all)")
	fs.Uint64Var(&r.Seed, "seed", 0, "pattern seed (default: random)")
	fs.DurationVar(&r.RunTimeout, "timeout-per-run", 0, fmt.Sprintf("timeout of each fio run (default %v)", DefaultRunTimeout))
	fs.StringVar(&r.Fio, "fio", "", "fio binary (default fio)")
	fs.StringVar(&r.Mnt, "mnt", "", "directory under which the target is mounted (default /mnt)")
	fs.BoolVar(&dropCaches, "drop-caches", true, "also sync and write /proc/sys/vm/drop_caches before cold phases (needs root)")
	fs.BoolVar(&r.KeepMounted, "keep-mounted", false, "leave the filesystem mounted afterwards")
	fs.IntVar(&r.Reads, "reads", 0, fmt.Sprintf("reads per random correctness test (default %d)", DefaultReads))
	if err := fs.Parse(args); err != nil {
		return ReadtestRequest{}, err
	}
	if fs.NArg() > 0 {
		return ReadtestRequest{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	r.Target, r.Mode, r.KeepCaches = Target(target), Mode(mode), !dropCaches
	var err error
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "repeats", "reads":
			if v, _ := strconv.Atoi(f.Value.String()); v < 1 && err == nil {
				err = fmt.Errorf("--%s %s: must be positive", f.Name, f.Value)
			}
		case "timeout-per-test", "timeout-per-run":
			if d, _ := time.ParseDuration(f.Value.String()); d <= 0 && err == nil {
				err = fmt.Errorf("--%s %s: must be positive", f.Name, f.Value)
			}
		}
	})
	if err != nil {
		return ReadtestRequest{}, err
	}
	if size != "" {
		if r.Size, err = ParseSize(size); err != nil {
			return ReadtestRequest{}, fmt.Errorf("--size: %w", err)
		}
	}
	if only != "" {
		r.Only = strings.Split(only, ",")
	}
	if engines != "" {
		for _, e := range strings.Split(engines, ",") {
			r.Engines = append(r.Engines, Engine(e))
		}
	}
	return r, r.Validate()
}

// Validate checks what can be checked without the guest: the target,
// the mode and the test names are known, and the flags agree.
func (r ReadtestRequest) Validate() error {
	if r.Target == "" {
		return fmt.Errorf("--target: want one of %s", strings.Join(TargetNames(), ", "))
	}
	if _, err := r.Target.Spec(); err != nil {
		return fmt.Errorf("--target: %w", err)
	}
	if (r.Device == "") == (r.Serial == "") {
		return errors.New("give one of --dev and --serial")
	}
	if r.MkfsFor != "" && r.MkfsProfile != "" {
		return errors.New("give at most one of --mkfs-for and --mkfs-profile")
	}
	if r.Mode != "" && !slices.Contains(Modes, r.Mode) {
		return fmt.Errorf("--mode %q: want %s", r.Mode, strings.Join(names(Modes), ", "))
	}
	if r.Reuse && r.Mode != ModeBench {
		return errors.New("--reuse is for --mode bench: correctness tests need a fresh target")
	}
	switch {
	case r.Size < 0 || r.Size > 0 && r.Size < MinReadtestSize:
		return fmt.Errorf("--size %s: at least %s", FormatSize(r.Size), FormatSize(MinReadtestSize))
	case r.Repeats < 0 || r.Reads < 0:
		return errors.New("--repeats and --reads must be positive")
	case r.TestTimeout < 0 || r.RunTimeout < 0:
		return errors.New("--timeout-per-test and --timeout-per-run must be positive")
	}
	for _, o := range r.Only {
		if !slices.Contains(CorrectnessTests, o) {
			return fmt.Errorf("--only: unknown test %q (tests: %s)", o, strings.Join(CorrectnessTests, ", "))
		}
	}
	if len(r.Engines) > 0 && r.Mode == ModeCorrectness {
		return errors.New("--engines is for the benchmark: --mode correctness runs none")
	}
	for i, e := range r.Engines {
		switch {
		case !KnownEngine(e):
			return fmt.Errorf("--engines: unknown engine %q (engines: %s)", e, strings.Join(EngineNames(), ", "))
		case slices.Contains(r.Engines[:i], e):
			return fmt.Errorf("--engines: %s named twice", e)
		}
	}
	return nil
}
