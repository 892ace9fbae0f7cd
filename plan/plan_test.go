package plan

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDefaultPlan(t *testing.T) {
	p := Default()
	if len(p.Variants) != 2 || p.Variants[0].Name != "baseline" || p.Variants[1].Name != "patched" {
		t.Fatalf("variants = %+v", p.Variants)
	}
	// The baseline patch is the tree's era's, chosen when the tree is
	// known (package era), not written into the plan.
	if !p.Variants[0].EraBaseline || len(p.Variants[0].Patches) != 0 {
		t.Errorf("baseline variant = %+v, want the era's baseline and no patch of its own", p.Variants[0])
	}
	if p.Variants[1].EraBaseline || len(p.Variants[1].Patches) != 0 {
		t.Errorf("patched variant = %+v; the tree already contains the series", p.Variants[1])
	}
	if !p.UsesEra() {
		t.Error("the default plan does not use the era's baseline")
	}
	if strings.Join(p.Targets, ",") != "ext4,xfs,btrfs,raw" {
		t.Errorf("targets = %v", p.Targets)
	}
	if p.Control != "psync" {
		t.Errorf("control = %q, want psync (preadv never looks at FMODE_BUF_RASYNC)", p.Control)
	}
	if p.Timeouts.Boot.Duration != 120*time.Second {
		t.Errorf("boot timeout = %v", p.Timeouts.Boot)
	}
	if p.Boots != 3 || p.MaxBoots != 12 {
		t.Errorf("boots %d, max_boots %d; want 3 and 12", p.Boots, p.MaxBoots)
	}
	if !slices.Equal(p.AdaptiveMetrics, []string{"wall_ms"}) {
		t.Errorf("adaptive_metrics %v, want the headline, wall_ms", p.AdaptiveMetrics)
	}
	unset, err := Parse("my.toml", []byte(strings.Replace(string(DefaultText()), "adaptive_metrics = [\"wall_ms\"]\n", "", 1)))
	if err != nil || !slices.Equal(unset.AdaptiveMetrics, DefaultAdaptiveMetrics) {
		t.Errorf("adaptive_metrics unset: %v, %v; want %v", unset.AdaptiveMetrics, err, DefaultAdaptiveMetrics)
	}
	twice, err := Parse("my.toml", []byte(strings.Replace(string(DefaultText()), `adaptive_metrics = ["wall_ms"]`, `adaptive_metrics = ["sys_cpu_pct", "wall_ms", "sys_cpu_pct"]`, 1)))
	if err != nil || !slices.Equal(twice.AdaptiveMetrics, []string{"sys_cpu_pct", "wall_ms"}) {
		t.Errorf("adaptive_metrics with a repeat: %v, %v; want it once", twice.AdaptiveMetrics, err)
	}
	// A plan built in code, never validated, earns boots as the default.
	for _, tc := range []struct {
		p      Plan
		metric string
		want   bool
	}{
		{Plan{}, "wall_ms", true},
		{Plan{}, "sys_cpu_pct", false},
		{Plan{AdaptiveMetrics: []string{"sys_cpu_pct"}}, "sys_cpu_pct", true},
		{Plan{AdaptiveMetrics: []string{"sys_cpu_pct"}}, "wall_ms", false},
	} {
		if got := tc.p.EarnsBoots(tc.metric); got != tc.want {
			t.Errorf("adaptive metrics %v: EarnsBoots(%s) = %v, want %v", tc.p.AdaptiveMetrics, tc.metric, got, tc.want)
		}
	}
}

func TestMaxBoots(t *testing.T) {
	base := string(DefaultText())
	for _, tc := range []struct {
		name        string
		text        string
		boots, max_ int
	}{
		{"unset: the default budget", strings.Replace(base, "max_boots = 12\n", "", 1), 3, DefaultMaxBoots},
		{"unset with more boots than the default budget", strings.Replace(strings.Replace(base, "max_boots = 12\n", "", 1), "boots = 3", "boots = 14", 1), 14, 14},
		{"off", strings.Replace(base, "max_boots = 12", "max_boots = 3", 1), 3, 3},
	} {
		p, err := Parse("my.toml", []byte(tc.text))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if p.Boots != tc.boots || p.MaxBoots != tc.max_ {
			t.Errorf("%s: boots %d, max_boots %d; want %d and %d", tc.name, p.Boots, p.MaxBoots, tc.boots, tc.max_)
		}
	}
	p := Default()
	p.SetBoots(14)
	if p.Boots != 14 || p.MaxBoots != 14 || p.Validate() != nil {
		t.Errorf("--boots 14: boots %d, max_boots %d, %v", p.Boots, p.MaxBoots, p.Validate())
	}
	p.Quick()
	if p.Boots != 1 || p.MaxBoots != 1 {
		t.Errorf("quick: boots %d, max_boots %d; want no adaptive boots", p.Boots, p.MaxBoots)
	}
	// Quick reads at most QuickFileSize, and never more than the plan.
	for _, tc := range []struct{ size, want string }{{"64M", QuickFileSize}, {"12M", "12M"}, {"4k", "4k"}} {
		p := Default()
		p.FileSize = tc.size
		p.Quick()
		if p.FileSize != tc.want {
			t.Errorf("quick on a %s plan: file_size %s, want %s", tc.size, p.FileSize, tc.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	base := string(DefaultText())
	clockLine := 1 + strings.Count(base[:strings.Index(base, "\nclock = ")+1], "\n")
	for _, tc := range []struct {
		name, text string
		line       int
		reason     string
	}{
		{"unknown key", strings.Replace(base, "repeats = 1", "repeats = 1\nrepeatz = 4", 1), 0, `unknown key "repeatz"`},
		{"unknown nested key", strings.Replace(base, "boot = \"120s\"", "boot = \"120s\"\nbot = \"1s\"", 1), 0, `unknown key "timeouts.bot"`},
		{"syntax", "name = \"x\"\nrepeats = = 3\n", 2, ""},
		{"bad target", strings.Replace(base, `"raw"]`, `"zfs"]`, 1), 0, `unknown value "zfs"`},
		{"bad size", strings.Replace(base, `"24M"`, `"lots"`, 1), 0, "bad size"},
		{"bad duration", strings.Replace(base, `"120s"`, `"soon"`, 1), 0, ""},
		{"zero repeats", strings.Replace(base, "repeats = 1", "repeats = 0", 1), 0, "repeats must be at least 1"},
		{"max_boots below boots", strings.Replace(base, "max_boots = 12", "max_boots = 2", 1), 0, "max_boots must be from boots (3) to 20, got 2"},
		{"max_boots beyond the rule's calibration", strings.Replace(base, "max_boots = 12", "max_boots = 40", 1), 0, "max_boots must be from boots (3) to 20, got 40"},
		{"unknown adaptive metric", strings.Replace(base, `adaptive_metrics = ["wall_ms"]`, `adaptive_metrics = ["wall_ms", "real"]`, 1), 0, `adaptive_metrics: unknown value "real" (known: wall_ms, iops,`},
		{"unknown control engine", strings.Replace(base, `control = "psync"`, `control = "aio"`, 1), 0, `control: unknown value "aio"`},
		{"kernel arg with a space", strings.Replace(base, "kernel_args = []", `kernel_args = ["panic_on_warn=1 quiet"]`, 1), 0, `kernel_args: "panic_on_warn=1 quiet" must be one word`},
		{"unknown clock", strings.Replace(base, `clock = "auto"`, `clock = "tsc"`, 1), clockLine, `clock: unknown value "tsc"`},
		{"instructions on KVM", strings.Replace(strings.Replace(base, `clock = "auto"`, `clock = "instructions"`, 1), `accel = "auto"`, `accel = "kvm"`, 1), clockLine, "clock instructions counts TCG's instructions, and accel is kvm"},
		{"duplicate variant", base + "\n[[variant]]\nname = \"patched\"\n", 0, `variant "patched" defined twice`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("my.toml", []byte(tc.text))
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want *plan.Error", err)
			}
			if pe.File != "my.toml" || !strings.Contains(pe.Error(), tc.reason) {
				t.Fatalf("err = %v, want my.toml and %q", err, tc.reason)
			}
			if tc.line != 0 && pe.Line != tc.line {
				t.Fatalf("line = %d, want %d (%v)", pe.Line, tc.line, err)
			}
			if strings.Contains(tc.name, "unknown key") && pe.Line == 0 {
				t.Fatalf("unknown key reported without a line: %v", err)
			}
		})
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"64M": 64 << 20, "1G": 1 << 30, "512k": 512 << 10, "4096": 4096} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "M", "-1M", "1.5G", "x"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) accepted", in)
		}
	}
}

func TestForSeries(t *testing.T) {
	p := Default()
	p.ForSeries("/tmp/s.mbox")
	if len(p.Variants) != 2 || len(p.Variants[0].Patches) != 0 || p.Variants[1].Patches[0] != "/tmp/s.mbox" || !p.Series.Applied {
		t.Fatalf("ForSeries: %+v", p)
	}
	if p.Control != "" {
		t.Errorf("control %q kept for another series: only the plan's own series vouches for it", p.Control)
	}
	own := Default()
	own.ForSeries(own.Series.Source)
	if own.Control != "psync" {
		t.Errorf("control dropped for the plan's own series")
	}
}

func TestRetarget(t *testing.T) {
	tests := []struct {
		tree, series string
		wantName     string
		wantVariants []string
		wantControl  string
	}{
		{"", "", "async-buffered-reads-6.1", []string{"baseline", "patched"}, "psync"},
		{"/src/linux", "", "async-buffered-reads-6.1 on /src/linux", []string{"baseline", "patched"}, "psync"},
		{"/src/linux", "s.mbox", "series s.mbox on /src/linux", []string{"baseline", "patched"}, ""},
		{"", "s.mbox", "series s.mbox on the default tree", []string{"baseline", "patched"}, ""},
		{"", "embedded:async-buffered-reads", "series embedded:async-buffered-reads on the default tree", []string{"baseline", "patched"}, "psync"},
	}
	for _, tc := range tests {
		p := Default()
		p.Retarget(tc.tree, tc.series)
		var names []string
		for _, v := range p.Variants {
			names = append(names, v.Name)
		}
		if p.Name != tc.wantName || p.Tree != tc.tree || !slices.Equal(names, tc.wantVariants) || p.Control != tc.wantControl {
			t.Errorf("Retarget(%q, %q): name %q tree %q variants %v control %q", tc.tree, tc.series, p.Name, p.Tree, names, p.Control)
		}
		if tc.series != "" && (p.Series.Source != tc.series || !p.Series.Applied || p.Variants[1].Patches[0] != tc.series) {
			t.Errorf("Retarget(%q, %q): series %+v, patched %v", tc.tree, tc.series, p.Series, p.Variants[1].Patches)
		}
	}
}

func TestMkfsForKernel(t *testing.T) {
	for _, tc := range []struct {
		val string
		ok  bool
	}{{"5.4", true}, {"4.19.3", true}, {"", true}, {"5", false}, {"lts_5.4", false}} {
		text := strings.Replace(string(DefaultText()), "kernel_args = []", "kernel_args = []\nmkfs_for_kernel = \""+tc.val+"\"", 1)
		p, err := Parse("x.toml", []byte(text))
		if (err == nil) != tc.ok {
			t.Errorf("mkfs_for_kernel %q: %v", tc.val, err)
		}
		if err == nil && p.MkfsForKernel != tc.val {
			t.Errorf("mkfs_for_kernel %q parsed as %q", tc.val, p.MkfsForKernel)
		}
	}
}

func TestTestsValidated(t *testing.T) {
	text := strings.Replace(string(DefaultText()), "kernel_args = []", "kernel_args = []\ntests = [\"eof\", \"nope\"]", 1)
	_, err := Parse("p.toml", []byte(text))
	var pe *Error
	if !errors.As(err, &pe) || pe.Line == 0 || !strings.Contains(pe.Reason, `unknown value "nope"`) || !strings.Contains(pe.Reason, "concurrent-waiters") {
		t.Errorf("unknown test: %v", err)
	}
}

func TestValidateAfterOverrides(t *testing.T) {
	for name, edit := range map[string]func(p *Plan){
		"no targets":   func(p *Plan) { p.Targets = nil },
		"bad target":   func(p *Plan) { p.Targets = []string{"ext5"} },
		"bad size":     func(p *Plan) { p.FileSize = "lots" },
		"unknown test": func(p *Plan) { p.Tests = []string{"eof", "fast"} },
	} {
		p := Default()
		edit(p)
		if err := p.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := Default().Validate(); err != nil {
		t.Errorf("default plan: %v", err)
	}
}

func TestShard(t *testing.T) {
	targets := []string{"ext4", "xfs", "btrfs", "raw"}
	tests := []struct {
		k, n int
		want []string
	}{
		{1, 2, []string{"ext4", "xfs"}},
		{2, 2, []string{"btrfs", "raw"}},
		{1, 3, []string{"ext4", "xfs"}},
		{2, 3, []string{"btrfs"}},
		{3, 3, []string{"raw"}},
		{4, 4, []string{"raw"}},
		{1, 1, targets},
	}
	for _, tc := range tests {
		p := Default()
		if err := p.Shard(tc.k, tc.n); err != nil || !slices.Equal(p.Targets, tc.want) {
			t.Errorf("shard %d/%d: %v, %v; want %v", tc.k, tc.n, p.Targets, err, tc.want)
		}
	}
	for _, bad := range [][2]int{{0, 2}, {3, 2}, {1, 5}, {1, 0}} {
		if err := Default().Shard(bad[0], bad[1]); err == nil {
			t.Errorf("shard %d/%d accepted", bad[0], bad[1])
		}
	}
}

// Every plan the repository ships parses and validates.
func TestRepoPlans(t *testing.T) {
	files, err := filepath.Glob("../plans/*.toml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no plans: %v", err)
	}
	for _, f := range files {
		if _, err := Load(f); err != nil {
			t.Errorf("%v", err)
		}
	}
}

func TestWithEraBaseline(t *testing.T) {
	p := Default()
	p.Variants[0].Patches = []string{"extra.patch"}
	got := p.WithEraBaseline("embedded:baseline-6.12")
	if want := []string{"embedded:baseline-6.12", "extra.patch"}; !slices.Equal(got.Variants[0].Patches, want) {
		t.Errorf("baseline patches %v, want %v", got.Variants[0].Patches, want)
	}
	if len(got.Variants[1].Patches) != 0 {
		t.Errorf("patched variant got %v", got.Variants[1].Patches)
	}
	// The plan a nightly re-run starts from again is unchanged.
	if !slices.Equal(p.Variants[0].Patches, []string{"extra.patch"}) {
		t.Errorf("the plan changed: %v", p.Variants[0].Patches)
	}
	p.ForSeries("s.mbox")
	if p.UsesEra() {
		t.Error("--series keeps the era's baseline: its baseline is the tree itself")
	}
}

// QuickFileSize and the byte bound Quick compares with are one size.
func TestQuickFileSize(t *testing.T) {
	if n, err := ParseSize(QuickFileSize); err != nil || n != quickFileBytes {
		t.Errorf("ParseSize(%q) = %d, %v; want %d", QuickFileSize, n, err, quickFileBytes)
	}
}
