package results

import (
	"slices"
	"strings"
	"testing"
)

// shardOf cuts a whole run into shard k of n, as `ktest run --shard`
// would have written it.
func shardOf(r *Run, k, n int, targets []string) *Run {
	s := fixtureRun(3)
	*s = *r
	s.ID = "shard-" + strings.Join(targets, "-")
	s.Shard = &Shard{K: k, N: n, PlanTargets: r.Plan.Targets}
	s.Plan.Targets = targets
	s.Variants = nil
	for _, v := range r.Variants {
		c := *v
		c.Targets = nil
		for _, t := range v.Targets {
			if slices.Contains(targets, t.Name) {
				c.Targets = append(c.Targets, t)
			}
		}
		s.Variants = append(s.Variants, &c)
	}
	return s
}

func TestMergeRefuses(t *testing.T) {
	whole := fixtureRun(3)
	a := shardOf(whole, 1, 2, []string{"ext4", "xfs"})
	b := shardOf(whole, 2, 2, []string{"btrfs", "raw"})
	b.Tree.Key = "sha256:other"
	if _, err := Merge("m", []*Run{a, b}); err == nil || !strings.Contains(err.Error(), `tree "sha256:9f1c" vs "sha256:other"`) {
		t.Errorf("different trees: %v", err)
	}
	b = shardOf(whole, 2, 2, []string{"btrfs", "raw"})
	b.Variants[1] = &Variant{Name: "patched", Kernel: Kernel{Key: "k-other"}}
	if _, err := Merge("m", []*Run{a, b}); err == nil || !strings.Contains(err.Error(), "kernel of patched") {
		t.Errorf("different kernels: %v", err)
	}
	if _, err := Merge("m", []*Run{a, a}); err == nil || !strings.Contains(err.Error(), "shard 1/2 twice") {
		t.Errorf("a shard twice: %v", err)
	}
	// A missing shard is reported as missing, never as a pass.
	m, err := Merge("m", []*Run{a})
	if err != nil || m.Status != StatusError || m.Error == nil || !strings.Contains(m.Error.Message, "missing shard(s) 2/2") {
		t.Errorf("missing shard: %+v, %v", m, err)
	}
	if _, err := Merge("m", []*Run{whole}); err == nil || !strings.Contains(err.Error(), "not a shard") {
		t.Errorf("not a shard: %v", err)
	}
	// Shards whose guests had different clocks measured in different
	// units; a shard that stopped before choosing one is unfinished, not
	// unlike.
	a.Plan.Clock = "instructions"
	b = shardOf(whole, 2, 2, []string{"btrfs", "raw"})
	b.Plan.Clock = "host"
	if _, err := Merge("m", []*Run{a, b}); err == nil || !strings.Contains(err.Error(), `clock`) {
		t.Errorf("different clocks: %v", err)
	}
	b.Plan.Clock = ""
	if _, err := Merge("m", []*Run{a, b}); err != nil {
		t.Errorf("a shard with no clock recorded: %v, want a merge", err)
	}
	// Likewise for the benchmark tool the guest image carried.
	a.Plan.BenchTool, b.Plan.BenchTool = "fio-3.33, static", "fio-3.33, dynamic"
	if _, err := Merge("m", []*Run{a, b}); err == nil || !strings.Contains(err.Error(), `bench tool`) {
		t.Errorf("different fio builds: %v", err)
	}
	b.Plan.BenchTool = ""
	if _, err := Merge("m", []*Run{a, b}); err != nil {
		t.Errorf("a shard with no bench tool recorded: %v, want a merge", err)
	}
}
