package report

import (
	"slices"
	"strings"
	"testing"

	"github.com/ktest-dev/ktest/results"
)

// shardOf cuts a whole run into shard k of n, as `ktest run --shard`
// would have written it.
func shardOf(r *results.Run, k, n int, targets []string) *results.Run {
	s := fixtureRun(3)
	*s = *r
	s.ID = "shard-" + strings.Join(targets, "-")
	s.Shard = &results.Shard{K: k, N: n, PlanTargets: r.Plan.Targets}
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

func TestMergeEqualsOneMachine(t *testing.T) {
	whole := fixtureRun(3)
	setTest(whole, "patched", "raw", "eof", "fail", "read past EOF")
	whole.Conclude(false)
	a := shardOf(whole, 1, 2, []string{"ext4", "xfs"})
	b := shardOf(whole, 2, 2, []string{"btrfs", "raw"})
	m, err := results.Merge("merged", []*results.Run{b, a}) // any order
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != results.StatusFail || !slices.Equal(m.Plan.Targets, whole.Plan.Targets) {
		t.Errorf("status %s, targets %v", m.Status, m.Plan.Targets)
	}
	if got, want := results.Strs(m.Failed()), results.Strs(whole.Failed()); !slices.Equal(got, want) {
		t.Errorf("failed %v, want %v", got, want)
	}
	for _, v := range whole.Variants {
		var names []string
		for _, t := range m.Variant(v.Name).Targets {
			names = append(names, t.Name)
		}
		if !slices.Equal(names, whole.Plan.Targets) {
			t.Errorf("%s targets %v", v.Name, names)
		}
	}
	// The same changes are called as on one machine.
	mdWhole, mdMerged := render(t, Renderer{}, whole, "md"), render(t, Renderer{}, m, "md")
	vw, vm := section(t, mdWhole, "## Read benchmark: baseline vs patched"), section(t, mdMerged, "## Read benchmark: baseline vs patched")
	if vw != vm {
		t.Errorf("benchmark sections differ:\n--- one machine\n%s\n--- merged\n%s", vw, vm)
	}
}
