// Package plan is the declarative description of a ktest run: the tree,
// the variants and their patches, the config fragments, targets, suites,
// repeats and timeouts. The default plan is embedded in the binary.
package plan

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/ktest-dev/ktest/guest/proto"
	"github.com/ktest-dev/ktest/internal/metric"
)

//go:embed default.toml
var defaultPlan []byte

// Plan is a parsed, validated plan file.
type Plan struct {
	Name      string   `toml:"name"`
	Tree      string   `toml:"tree"`
	Fragments []string `toml:"fragments"`
	Targets   []string `toml:"targets"`
	Suites    []string `toml:"suites"`
	// Tests restricts the correctness suite to these tests; empty runs all.
	Tests    []string `toml:"tests"`
	FileSize string   `toml:"file_size"`
	// Boots is how many times each variant is booted for the benchmark,
	// the variants' boots interleaved (A B B A ...): one sample per boot,
	// so verdicts see the drift between boots. 0 means 3.
	Boots int `toml:"boots"`
	// MaxBoots is the budget of adaptive boots: while a target has a
	// comparison of an adaptive metric (EarnsBoots) that package verdict
	// finds undecided, every variant is booted once more for that
	// target's benchmark, up to MaxBoots boots a variant. 0 means
	// max(Boots, DefaultMaxBoots); MaxBoots = Boots turns adaptive boots
	// off.
	MaxBoots int `toml:"max_boots"`
	// AdaptiveMetrics are the metrics (package metric's names,
	// "wall_ms") whose undecided comparisons earn adaptive boots; the
	// others are judged on the boots those leave. Empty means DefaultAdaptiveMetrics
	// (EarnsBoots); validation fills it in and drops repeats.
	AdaptiveMetrics []string `toml:"adaptive_metrics"`
	// Repeats is how many fio runs each engine makes per boot; a boot's
	// sample is their median.
	Repeats int `toml:"repeats"`
	// Control is a benchmark engine whose code path no variant changes
	// (psync for the async-buffered-reads series). Its movement between
	// the variants is between-boot drift, which the A/B verdicts of the
	// other engines must exceed. Empty: no control.
	Control string `toml:"control"`
	// KernelArgs are extra kernel command-line words for every boot,
	// e.g. "panic_on_warn=1".
	KernelArgs []string `toml:"kernel_args"`
	// MkfsForKernel makes the filesystems as for this kernel version
	// ("5.4"): the newest feature profile that kernel mounts. Empty: for
	// the kernel under test, as the guest reads it from uname.
	MkfsForKernel string `toml:"mkfs_for_kernel"`
	Accel         string `toml:"accel"`
	// Clock is what the guest's clock counts: "auto" (instructions under
	// TCG, the host's clock under KVM), "host" or "instructions" (TCG
	// only). See vm.Clock.
	Clock    string `toml:"clock"`
	MemoryMB int    `toml:"memory_mb"`
	CPUs     int    `toml:"cpus"`
	Series   Series `toml:"series"`
	// PerPatch, when set, tests the series one patch more at a time
	// instead of running the A/B benchmark.
	PerPatch *PerPatch `toml:"per_patch"`
	// Checkpatch runs the tree's scripts/checkpatch.pl on every patch of
	// the series (default true); CheckpatchFatal makes its errors fail
	// the run.
	Checkpatch      *bool     `toml:"checkpatch"`
	CheckpatchFatal bool      `toml:"checkpatch_fatal"`
	Timeouts        Timeouts  `toml:"timeouts"`
	Variants        []Variant `toml:"variant"`

	// Source is where the plan came from, for messages.
	Source string `toml:"-"`
	// Sharding is set when the plan is one shard of a larger plan
	// (Overrides.Shard).
	Sharding *Sharding `toml:"-"`
}

// Series names the series the run is about.
type Series struct {
	// Source is a path, or "embedded:DIR" for a series in patches/.
	Source string `toml:"source"`
	// Applied says whether a variant applies it; false when the tree
	// already contains it (the default 6.1 plan).
	Applied bool `toml:"applied"`
}

// Timeouts bound each stage.
type Timeouts struct {
	Build  Duration `toml:"build"`
	Boot   Duration `toml:"boot"`
	Test   Duration `toml:"test"`
	Target Duration `toml:"target"`
}

// Variant is one kernel: the tree plus patches.
type Variant struct {
	Name        string `toml:"name"`
	Description string `toml:"description"`
	// Patches are series sources applied in order: paths, or
	// "embedded:DIR" for a directory of patches/.
	Patches []string `toml:"patches"`
	// EraBaseline applies, before Patches, the baseline of the tree's
	// era (package era): the patch that removes the async-buffered-reads
	// flag from every file that sets it, chosen from the tree's
	// include/linux/fs.h and verified to leave no file advertising it.
	EraBaseline bool `toml:"era_baseline"`
}

// Duration is a time.Duration written as "90s" in TOML.
type Duration struct{ time.Duration }

func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	if v <= 0 {
		return fmt.Errorf("duration must be positive, got %s", b)
	}
	d.Duration = v
	return nil
}

// Known values. Targets and engines are the guest's: proto.Targets and
// proto.Engines, read when a plan is validated.
var (
	KnownSuites = []string{"correctness", "bench"}
	KnownAccels = []string{"auto", "kvm", "tcg"}
	KnownClocks = []string{"auto", "host", "instructions"}
)

// KnownTargets are the target names a plan may use: proto.Targets'.
func KnownTargets() []string { return proto.TargetNames() }

// Error is a plan that cannot be used; it names the file, the line when
// known, and the reason.
type Error struct {
	File   string
	Line   int
	Reason string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Reason)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Reason)
}

// Default returns the embedded default plan.
func Default() *Plan {
	p, err := Parse("embedded:default.toml", defaultPlan)
	if err != nil {
		panic("ktest: the embedded default plan is invalid: " + err.Error())
	}
	return p
}

// DefaultText is the embedded default plan's TOML, to start a new one from.
func DefaultText() []byte { return defaultPlan }

// Load reads and validates a plan file.
func Load(path string) (*Plan, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{File: path, Reason: err.Error()}
	}
	return Parse(path, data)
}

var (
	tomlLineRE      = regexp.MustCompile(`line (\d+)`)
	kernelVersionRE = regexp.MustCompile(`^\d+\.\d+(\.\d+)?$`)
)

// Parse decodes and validates plan text; file names it in errors.
// Unknown keys are errors: a misspelt key silently ignored would run a
// different experiment from the one the user wrote.
func Parse(file string, data []byte) (*Plan, error) {
	var p Plan
	md, err := toml.Decode(string(data), &p)
	if err != nil {
		e := &Error{File: file, Reason: err.Error()}
		var pe toml.ParseError
		if errors.As(err, &pe) {
			e.Line, e.Reason = pe.Position.Line, pe.Message
		} else if m := tomlLineRE.FindStringSubmatch(err.Error()); m != nil {
			e.Line, _ = strconv.Atoi(m[1])
		}
		return nil, e
	}
	if und := md.Undecoded(); len(und) > 0 {
		key := und[0].String()
		return nil, &Error{File: file, Line: lineOf(data, und[0][len(und[0])-1]),
			Reason: fmt.Sprintf("unknown key %q (known keys: name, tree, fragments, targets, suites, tests, file_size, boots, max_boots, adaptive_metrics, repeats, control, checkpatch, checkpatch_fatal, [per_patch], kernel_args, mkfs_for_kernel, accel, clock, memory_mb, cpus, [series], [timeouts], [[variant]])", key)}
	}
	p.Source = file
	if err := p.validate(data); err != nil {
		return nil, err
	}
	return &p, nil
}

// lineOf finds the first line that assigns key, for error messages.
func lineOf(data []byte, key string) int {
	re := regexp.MustCompile(`^\s*"?` + regexp.QuoteMeta(key) + `"?\s*=`)
	for i, l := range strings.Split(string(data), "\n") {
		if re.MatchString(l) {
			return i + 1
		}
	}
	return 0
}

// Validate checks a plan changed after parsing (e.g. by command-line
// overrides) with the rules Parse applies.
func (p *Plan) Validate() error { return p.validate(nil) }

func (p *Plan) validate(data []byte) error {
	bad := func(key, format string, args ...any) error {
		return &Error{File: p.Source, Line: lineOf(data, key), Reason: fmt.Sprintf(format, args...)}
	}
	if p.Name == "" {
		return bad("name", "name is required")
	}
	if len(p.Variants) == 0 {
		return bad("variant", "at least one [[variant]] is required")
	}
	seen := map[string]bool{}
	for _, v := range p.Variants {
		if v.Name == "" || strings.ContainsAny(v.Name, "/ \t") {
			return bad("name", "variant name %q must be non-empty without spaces or slashes", v.Name)
		}
		if seen[v.Name] {
			return bad("name", "variant %q defined twice", v.Name)
		}
		seen[v.Name] = true
	}
	if err := oneOf(p.Targets, KnownTargets()); err != nil {
		return bad("targets", "targets: %v", err)
	}
	if len(p.Targets) == 0 {
		return bad("targets", "at least one target is required")
	}
	if err := oneOf(p.Suites, KnownSuites); err != nil {
		return bad("suites", "suites: %v", err)
	}
	if err := oneOf(p.Tests, proto.CorrectnessTests); err != nil {
		return bad("tests", "tests: %v", err)
	}
	if p.Control != "" {
		if err := oneOf([]string{p.Control}, proto.EngineNames()); err != nil {
			return bad("control", "control: %v", err)
		}
	}
	for _, a := range p.KernelArgs {
		if a == "" || strings.ContainsAny(a, " \t\n\"'") {
			return bad("kernel_args", "kernel_args: %q must be one word without spaces or quotes (give each word its own string)", a)
		}
	}
	if p.MkfsForKernel != "" && !kernelVersionRE.MatchString(p.MkfsForKernel) {
		return bad("mkfs_for_kernel", "mkfs_for_kernel %q: want a kernel version such as \"5.4\"", p.MkfsForKernel)
	}
	if p.Accel == "" {
		p.Accel = "auto"
	}
	if err := oneOf([]string{p.Accel}, KnownAccels); err != nil {
		return bad("accel", "accel: %v", err)
	}
	if p.Clock == "" {
		p.Clock = "auto"
	}
	if err := oneOf([]string{p.Clock}, KnownClocks); err != nil {
		return bad("clock", "clock: %v", err)
	}
	if p.Clock == "instructions" && p.Accel == "kvm" {
		return bad("clock", "clock instructions counts TCG's instructions, and accel is kvm: use auto or host")
	}
	if _, err := ParseSize(p.FileSize); err != nil {
		return bad("file_size", "file_size: %v", err)
	}
	if p.Repeats < 1 {
		return bad("repeats", "repeats must be at least 1, got %d", p.Repeats)
	}
	if p.Boots == 0 {
		p.Boots = 3
	}
	if p.Boots < 1 {
		return bad("boots", "boots must be at least 1, got %d", p.Boots)
	}
	if p.MaxBoots == 0 {
		p.MaxBoots = max(p.Boots, DefaultMaxBoots)
	}
	if p.MaxBoots < p.Boots || p.MaxBoots > MaxBootsLimit {
		return bad("max_boots", "max_boots must be from boots (%d) to %d, got %d", p.Boots, MaxBootsLimit, p.MaxBoots)
	}
	if len(p.AdaptiveMetrics) == 0 {
		p.AdaptiveMetrics = slices.Clone(DefaultAdaptiveMetrics)
	}
	p.AdaptiveMetrics = unique(p.AdaptiveMetrics)
	if err := oneOf(p.AdaptiveMetrics, metric.Compared()); err != nil {
		return bad("adaptive_metrics", "adaptive_metrics: %v", err)
	}
	if p.MemoryMB == 0 {
		p.MemoryMB = 1024
	}
	if p.CPUs == 0 {
		p.CPUs = 2
	}
	if p.Clock == "instructions" && p.CPUs > 1 {
		return bad("clock", "clock instructions needs cpus = 1, got %d (QEMU's icount stalls a multi-CPU guest at SMP bring-up)", p.CPUs)
	}
	if pp := p.PerPatch; pp != nil {
		if err := pp.validate(p); err != nil {
			return bad(err.key, "per_patch: %v", err.err)
		}
	}
	defaultDuration(&p.Timeouts.Build, 90*time.Minute)
	defaultDuration(&p.Timeouts.Boot, 120*time.Second)
	defaultDuration(&p.Timeouts.Test, 90*time.Second)
	defaultDuration(&p.Timeouts.Target, 20*time.Minute)
	return nil
}

func defaultDuration(d *Duration, v time.Duration) {
	if d.Duration == 0 {
		d.Duration = v
	}
}

// unique is vals without repeats, in first-seen order.
func unique(vals []string) []string {
	var out []string
	for _, v := range vals {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

func oneOf(vals, known []string) error {
	for _, v := range vals {
		ok := false
		for _, k := range known {
			ok = ok || v == k
		}
		if !ok {
			return fmt.Errorf("unknown value %q (known: %s)", v, strings.Join(known, ", "))
		}
	}
	return nil
}

// ParseSize parses "64M", "1G", "4096" or "512K" into bytes.
func ParseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("size is empty")
	}
	mult := int64(1)
	switch strings.ToUpper(s[len(s)-1:]) {
	case "K":
		mult = 1 << 10
	case "M":
		mult = 1 << 20
	case "G":
		mult = 1 << 30
	}
	if mult > 1 {
		s = s[:len(s)-1]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("bad size %q: want e.g. 64M", s)
	}
	return n * mult, nil
}

// Quick shrinks the plan for CI: a file of at most QuickFileSize (an
// explicit --size, applied after it, still wins), one boot and one
// repeat, no adaptive boots. Its figures are shown but no change is
// called (too few samples).
func (p *Plan) Quick() {
	if n, err := ParseSize(p.FileSize); err != nil || n > quickFileBytes {
		p.FileSize = QuickFileSize
	}
	p.Boots, p.MaxBoots = 1, 1
	p.Repeats = 1
}

// QuickFileSize is the largest file a --quick run reads.
const (
	QuickFileSize  = "16M"
	quickFileBytes = 16 << 20
)

// DefaultMaxBoots is the adaptive-boot budget of a plan that sets none;
// MaxBootsLimit the largest a plan may set (a boot and its benchmark
// take about a minute under TCG).
const (
	DefaultMaxBoots = 12
	MaxBootsLimit   = 20
)

// DefaultAdaptiveMetrics are the metrics that earn adaptive boots in a
// plan that names none: wall time, the series' headline (IOPS is its
// reciprocal). When every metric earned them, a default A/B run took
// 4 to 5 more rounds for moderate sys CPU and p99 latency changes, 9m54s
// instead of 6m30s (README, "What it costs").
var DefaultAdaptiveMetrics = []string{metric.WallMS}

// EarnsBoots reports whether an undecided comparison of metric earns
// adaptive boots under p.
func (p *Plan) EarnsBoots(metric string) bool {
	if len(p.AdaptiveMetrics) == 0 {
		return slices.Contains(DefaultAdaptiveMetrics, metric)
	}
	return slices.Contains(p.AdaptiveMetrics, metric)
}

// SetBoots sets the boots per variant (`ktest run --boots N`), raising
// the adaptive budget to at least n.
func (p *Plan) SetBoots(n int) {
	p.Boots = n
	p.MaxBoots = max(p.MaxBoots, n)
}

// Retarget applies `ktest run --tree T --series S` (either may be
// empty) and renames the plan after what is really run, so that reports
// name the tree and series instead of the plan file.
func (p *Plan) Retarget(tree, series string) {
	if tree != "" {
		p.Tree = tree
	}
	switch {
	case series != "":
		p.ForSeries(series)
		p.Name = "series " + series + " on " + orDefault(tree, "the default tree")
	case tree != "":
		p.Name += " on " + tree
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// AA turns the plan into an A/A run: its last variant (the patched
// kernel) against itself, as two variants "first" and "second" built
// from the same sources, so the same kernel. ktest must call no change
// between them: it is the check of its own statistics.
func (p *Plan) AA() {
	v := p.Variants[len(p.Variants)-1]
	first, second := v, v
	first.Name, second.Name = "first", "second"
	first.Description = v.Description + " (A/A: first copy)"
	second.Description = v.Description + " (A/A: second copy)"
	p.Variants = []Variant{first, second}
	p.Name += " (A/A)"
}

// ForSeries rewrites the variants for `ktest run --series S`: the
// baseline is the tree itself and the patched variant applies S.
//
// A control engine is a claim about one series: it is kept only when S is
// the plan's own series.
func (p *Plan) ForSeries(series string) {
	if series != p.Series.Source {
		p.Control = ""
	}
	p.Series = Series{Source: series, Applied: true}
	p.Variants = []Variant{
		{Name: "baseline", Description: "the tree without the series"},
		{Name: "patched", Description: "the tree with the series applied", Patches: []string{series}},
	}
}

// Shard restricts the plan to shard k of n (1-based): the plan's targets
// split into n contiguous groups, every variant run on the group's
// targets, so that each A/B pair is measured on one host.
func (p *Plan) Shard(k, n int) error {
	switch {
	case n < 1 || k < 1 || k > n:
		return fmt.Errorf("shard %d/%d: want K/N with 1 <= K <= N", k, n)
	case n > len(p.Targets):
		return fmt.Errorf("shard %d/%d: the plan has only %d targets", k, n, len(p.Targets))
	}
	p.Targets = ShardTargets(p.Targets, k, n)
	return nil
}

// ShardTargets is shard k of n of targets: contiguous groups whose sizes
// differ by at most one, the larger first.
func ShardTargets(targets []string, k, n int) []string {
	per, extra := len(targets)/n, len(targets)%n
	start := (k-1)*per + min(k-1, extra)
	size := per
	if k <= extra {
		size++
	}
	return append([]string(nil), targets[start:start+size]...)
}

// UsesEra reports whether a variant asks for its tree's era baseline.
func (p *Plan) UsesEra() bool {
	for _, v := range p.Variants {
		if v.EraBaseline {
			return true
		}
	}
	return false
}

// WithEraBaseline returns a copy of the plan in which every variant that
// asks for its era's baseline applies the series source baseline (such
// as "embedded:baseline-6.12") before its own patches. The plan itself
// is not changed: a nightly re-run starts from it again.
func (p *Plan) WithEraBaseline(baseline string) *Plan {
	c := *p
	c.Variants = make([]Variant, len(p.Variants))
	for i, v := range p.Variants {
		if v.EraBaseline {
			v.Patches = append([]string{baseline}, v.Patches...)
		}
		c.Variants[i] = v
	}
	return &c
}

// RunsCheckpatch reports whether the series' patches get checkpatch.
func (p *Plan) RunsCheckpatch() bool { return p.Checkpatch == nil || *p.Checkpatch }
