package plan

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Overrides are what `ktest run`'s command line changes in a plan. Apply
// makes every change and checks the result once, before anything runs
// (as vmtest's validate_config): a run that starts has a plan it can
// carry out. Zero fields change nothing.
type Overrides struct {
	// Tree and Series retarget the plan (see Retarget).
	Tree, Series string
	Quick        bool
	Accel        string
	Clock        string
	Targets      []string
	Repeats      int
	Boots        int
	AA           bool
	// PerPatch, FirstBad and Bisect ask for the per-patch mode: every
	// patch, stop at the first bad one, or binary search.
	PerPatch, FirstBad, Bisect bool
	Size                       string
	// Shard is "K/N": shard K of N of the plan's targets.
	Shard string
}

// OverrideError is an override the plan cannot take: the user's input
// (exit 2). Flag, when set, names the flag the message is about.
type OverrideError struct {
	Flag string
	Err  error
}

func (e *OverrideError) Error() string {
	if e.Flag == "" {
		return e.Err.Error()
	}
	return e.Flag + ": " + e.Err.Error()
}

func (e *OverrideError) Unwrap() error { return e.Err }

// Sharding records which shard of its plan a plan is: K of N, and the
// targets of the whole plan, for merging the shards' runs.
type Sharding struct {
	K, N        int
	PlanTargets []string
}

// Apply changes p as o asks and validates the result. Its errors are
// *OverrideError.
func (o Overrides) Apply(p *Plan) error {
	p.Retarget(o.Tree, o.Series)
	if o.Quick {
		p.Quick()
	}
	if o.Accel != "" {
		if !slices.Contains(KnownAccels, o.Accel) {
			return &OverrideError{"--accel", fmt.Errorf("unknown accelerator %q: want auto, kvm or tcg", o.Accel)}
		}
		p.Accel = o.Accel
	}
	if o.Clock != "" {
		if !slices.Contains(KnownClocks, o.Clock) {
			return &OverrideError{"--clock", fmt.Errorf("unknown clock %q: want auto, host or instructions", o.Clock)}
		}
		p.Clock = o.Clock
	}
	if len(o.Targets) > 0 {
		p.Targets = o.Targets
	}
	if o.Repeats > 0 {
		p.Repeats = o.Repeats
	}
	if o.Boots > 0 {
		p.SetBoots(o.Boots)
	}
	if o.AA {
		p.AA()
	}
	if err := o.applyPerPatch(p); err != nil {
		return err
	}
	if o.Size != "" {
		if _, err := ParseSize(o.Size); err != nil {
			return &OverrideError{"--size", err}
		}
		p.FileSize = o.Size
	}
	for _, t := range p.Targets {
		if !slices.Contains(KnownTargets(), t) {
			return &OverrideError{Err: fmt.Errorf("unknown target %q (known: %s)", t, strings.Join(KnownTargets(), ", "))}
		}
	}
	if o.Shard != "" {
		if err := applyShard(p, o.Shard); err != nil {
			return &OverrideError{"--shard", err}
		}
	}
	if err := p.Validate(); err != nil {
		return &OverrideError{Err: fmt.Errorf("the plan with the command line's overrides: %w", err)}
	}
	return nil
}

// applyPerPatch sets the per-patch mode: --per-patch tests every patch,
// --first-bad and --bisect stop early, and tune a per-patch run that
// the command line or the plan asks for.
func (o Overrides) applyPerPatch(p *Plan) error {
	if o.FirstBad && o.Bisect {
		return &OverrideError{Err: errors.New("--first-bad and --bisect are two ways to stop early: choose one")}
	}
	if (o.FirstBad || o.Bisect) && !o.PerPatch && p.PerPatch == nil {
		return &OverrideError{Err: errors.New("--first-bad and --bisect tune --per-patch")}
	}
	if !o.PerPatch && !o.FirstBad && !o.Bisect {
		return nil
	}
	mode := PerPatchEvery
	switch {
	case o.FirstBad:
		mode = PerPatchFirstBad
	case o.Bisect:
		mode = PerPatchBisect
	}
	if p.PerPatch == nil {
		p.PerPatch = NewPerPatch(mode)
	} else {
		p.PerPatch.Mode = mode
	}
	return nil
}

// applyShard restricts p to shard "K/N" and records it in p.Sharding.
func applyShard(p *Plan, spec string) error {
	k, n, err := ParseShard(spec)
	if err != nil {
		return err
	}
	all := p.Targets
	if err := p.Shard(k, n); err != nil {
		return err
	}
	p.Sharding = &Sharding{K: k, N: n, PlanTargets: all}
	return nil
}

// ParseShard reads "K/N".
func ParseShard(s string) (k, n int, err error) {
	ks, ns, ok := strings.Cut(s, "/")
	if ok {
		k, err = strconv.Atoi(ks)
		if err == nil {
			n, err = strconv.Atoi(ns)
		}
	}
	if !ok || err != nil {
		return 0, 0, fmt.Errorf("%q: want K/N, e.g. 1/2", s)
	}
	return k, n, nil
}
