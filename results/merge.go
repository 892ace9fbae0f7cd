package results

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Merge joins the shard runs of one plan (`ktest run --shard K/N` on
// several machines) into the run one machine would have written: the
// variants' targets, boots and crashes gathered in the plan's target
// order, the stages of every shard, and the status concluded again from
// the whole. Runs of different plans, trees, series or kernels are
// refused, naming the difference; a shard that is missing, or did not
// finish, makes the merged run incomplete and says which.
func Merge(id string, runs []*Run) (*Run, error) {
	if len(runs) == 0 {
		return nil, errors.New("merge: no runs")
	}
	first := runs[0]
	if first.Shard == nil {
		return nil, fmt.Errorf("merge: run %s is not a shard (run with --shard K/N)", first.ID)
	}
	n := first.Shard.N
	byK := map[int]*Run{}
	for _, r := range runs {
		if err := alike(first, r); err != nil {
			return nil, fmt.Errorf("merge: %s and %s: %w", first.ID, r.ID, err)
		}
		if byK[r.Shard.K] != nil {
			return nil, fmt.Errorf("merge: shard %s twice (runs %s and %s)", r.Shard, byK[r.Shard.K].ID, r.ID)
		}
		byK[r.Shard.K] = r
	}
	m := &Run{Schema: Schema, ID: id, Command: first.Command, Host: first.Host, Accel: first.Accel, AccelReason: first.AccelReason,
		Tree: first.Tree, Series: first.Series, Plan: first.Plan, Started: first.Started}
	m.Plan.Targets = first.Shard.PlanTargets
	var missing, unfinished []string
	for k := 1; k <= n; k++ {
		r := byK[k]
		if r == nil {
			missing = append(missing, fmt.Sprintf("%d/%d", k, n))
			continue
		}
		if !r.Complete {
			unfinished = append(unfinished, fmt.Sprintf("%d/%d (%s)", k, n, r.Incomplete()))
		}
		m.Started = minTime(m.Started, r.Started)
		if r.Finished.After(m.Finished) {
			m.Finished = r.Finished
		}
		if r.Accel != m.Accel {
			m.AccelReason = "shards ran on different accelerators: " + m.Accel + ", " + r.Accel
		}
		for _, st := range r.Stages {
			st.Detail = strings.TrimSpace("shard " + r.Shard.String() + ": " + st.Detail)
			m.Stages = append(m.Stages, st)
		}
		m.BootOrder = append(m.BootOrder, r.BootOrder...)
		for _, v := range r.Variants {
			mv := m.Variant(v.Name)
			if mv == nil {
				c := *v
				c.Targets, c.Boots, c.Crashes = nil, nil, nil
				m.Variants = append(m.Variants, &c)
				mv = &c
			}
			mv.Targets = append(mv.Targets, v.Targets...)
			mv.Boots = append(mv.Boots, v.Boots...)
			mv.Crashes = append(mv.Crashes, v.Crashes...)
			if v.Boot.Status != StepOK {
				mv.Boot = v.Boot
			}
		}
	}
	for _, v := range m.Variants {
		slices.SortStableFunc(v.Targets, func(a, b *Target) int {
			return slices.Index(m.Plan.Targets, a.Name) - slices.Index(m.Plan.Targets, b.Name)
		})
	}
	switch {
	case len(missing) > 0:
		m.Status = StatusError
		m.Error = &StageFailure{Stage: "merge", Message: "missing shard(s) " + strings.Join(missing, ", ")}
	case len(unfinished) > 0:
		m.Status = StatusError
		m.Error = &StageFailure{Stage: "merge", Message: "shard(s) that did not finish: " + strings.Join(unfinished, "; ")}
	default:
		m.Conclude(false)
	}
	return m, nil
}

// alike says how two shard runs differ in what must be equal to merge
// them: the plan, tree, series and every variant's kernel.
func alike(a, b *Run) error {
	var why []string
	if b.Shard == nil {
		return fmt.Errorf("run %s is not a shard", b.ID)
	}
	diff := func(what, x, y string) {
		if x != y {
			why = append(why, fmt.Sprintf("%s %q vs %q", what, x, y))
		}
	}
	diff("plan", a.Plan.Name, b.Plan.Name)
	diff("shard count", fmt.Sprint(a.Shard.N), fmt.Sprint(b.Shard.N))
	diff("plan targets", strings.Join(a.Shard.PlanTargets, ","), strings.Join(b.Shard.PlanTargets, ","))
	pa, pb := a.Plan, b.Plan
	pa.Targets, pb.Targets = nil, nil // shards differ there by design
	if pa.Clock == "" || pb.Clock == "" {
		// A shard that stopped before choosing its accelerator recorded
		// no clock; the merge reports it unfinished, not unlike.
		pa.Clock, pb.Clock = "", ""
	}
	if pa.BenchTool == "" || pb.BenchTool == "" {
		// Likewise one that stopped before building its guest image.
		pa.BenchTool, pb.BenchTool = "", ""
	}
	why = append(why, pa.Differences(pb)...)
	diff("tree", a.Tree.Key, b.Tree.Key)
	diff("series", seriesName(a), seriesName(b))
	if len(a.Variants) != len(b.Variants) {
		why = append(why, fmt.Sprintf("%d vs %d variants", len(a.Variants), len(b.Variants)))
	}
	for _, va := range a.Variants {
		vb := b.Variant(va.Name)
		if vb == nil {
			why = append(why, "variant "+va.Name+" missing")
			continue
		}
		diff("kernel of "+va.Name, va.Kernel.Key, vb.Kernel.Key)
	}
	if len(why) > 0 {
		return fmt.Errorf("not shards of one run: %s", strings.Join(why, "; "))
	}
	return nil
}

func seriesName(r *Run) string {
	if r.Series == nil {
		return ""
	}
	return r.Series.Source + " " + r.Series.Title
}

func minTime(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}
