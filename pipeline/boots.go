package pipeline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ktest-dev/ktest/guest/proto"
	"github.com/ktest-dev/ktest/plan"
	"github.com/ktest-dev/ktest/results"
	"github.com/ktest-dev/ktest/verdict"
	"github.com/ktest-dev/ktest/vm"
)

// Boots and rounds. Correctness runs once per variant, on its first
// boot. The benchmark runs on plan.Boots boots of every variant,
// interleaved: round r boots the variants in plan order when r is even
// and in reverse when it is odd (A B, B A, A B, ...), so that slow drift
// of the host hits both sides alike and each side's spread holds the
// drift between boots. Each boot runs every target's benchmark once.
// A variant's disks live for the whole run: later boots read the
// filesystem and file the first boot made, so only boots differ between
// the samples, not on-disk layouts.
//
// Adaptive rounds follow, up to plan.MaxBoots: after each round the
// pipeline asks package verdict, for every comparison of a metric in
// plan.AdaptiveMetrics, whether another boot could decide it
// (verdict.Judgement.Undecided), and runs one more interleaved round for
// the targets that have such a metric, and only for them, and on them
// only the engines with such a metric and the plan's control (a
// roundScope): an engine whose metrics are all decided gains nothing
// from a boot, while the control must see every boot the others see to
// guard them against drift. --aa and nightly runs are ordinary runs of
// the pipeline, so they take the same rounds.

// rounds is the number of boots per variant under plan p before any
// adaptive round.
func (r *runner) rounds(p *plan.Plan) int {
	if len(r.cfg.Only) > 0 || !hasSuite(p, "bench") {
		return 1
	}
	return max(1, p.Boots)
}

// maxRounds is the most boots per variant adaptive rounds may reach.
func (r *runner) maxRounds(p *plan.Plan) int {
	if len(r.cfg.Only) > 0 || !hasSuite(p, "bench") {
		return 1
	}
	return max(r.rounds(p), p.MaxBoots)
}

// bootOrder lists variant indexes in round's boot order.
func bootOrder(variants, round int) []int {
	order := make([]int, variants)
	for i := range order {
		order[i] = i
	}
	if round%2 == 1 {
		slices.Reverse(order)
	}
	return order
}

// testAll runs every round, each booting every variant, then the
// adaptive rounds.
func (r *runner) testAll(ctx context.Context) error {
	p := r.cfg.Plan
	round := 0
	for ; round < r.rounds(p); round++ {
		if err := r.testRound(ctx, p, round, nil); err != nil {
			return err
		}
	}
	for ; round < r.maxRounds(p); round++ {
		undecided := r.undecided(p)
		if len(undecided) == 0 {
			break
		}
		scope := newRoundScope(p, undecided)
		r.logf("adaptive boots: round %d of at most %d for %s; undecided: %s", round+1, r.maxRounds(p),
			scope.describe(p), undecidedText(undecided))
		if err := r.testRound(ctx, p, round, scope); err != nil {
			return err
		}
	}
	return nil
}

// testRound boots every variant once, in round's order, for what scope
// names (nil: everything).
func (r *runner) testRound(ctx context.Context, p *plan.Plan, round int, scope roundScope) error {
	for _, i := range bootOrder(len(p.Variants), round) {
		if err := r.testTargets(ctx, p, p.Variants[i], r.run.Variants[i], round, scope); err != nil {
			return err
		}
	}
	return nil
}

// roundScope is what an adaptive round benchmarks: each target with an
// undecided metric, and on it the engines to run, in proto.Engines'
// order. A nil scope is every target and engine (the plan's rounds).
type roundScope map[string][]proto.Engine

// newRoundScope is the scope of undecided comparisons: their targets,
// with their engines and the plan's control.
func newRoundScope(p *plan.Plan, undecided []results.BenchComparison) roundScope {
	named := map[string][]proto.Engine{}
	for _, c := range undecided {
		named[c.Target] = append(named[c.Target], proto.Engine(c.Engine))
	}
	scope := roundScope{}
	for target, engines := range named {
		for _, e := range proto.Engines {
			if slices.Contains(engines, e) || string(e) == p.Control {
				scope[target] = append(scope[target], e)
			}
		}
	}
	return scope
}

// covers reports whether the scope benchmarks target.
func (s roundScope) covers(target string) bool {
	_, ok := s[target]
	return s == nil || ok
}

// engines are the engines to run on target: nil for all.
func (s roundScope) engines(target string) []proto.Engine {
	if s == nil || len(s[target]) == len(proto.Engines) {
		return nil
	}
	return s[target]
}

// describe names the scope's targets in plan order, each with its
// engines when not all of them: "ext4 (psync, io_uring), raw".
func (s roundScope) describe(p *plan.Plan) string {
	var out []string
	for _, target := range p.Targets {
		if _, ok := s[target]; !ok {
			continue
		}
		if engines := s.engines(target); engines != nil {
			target += " (" + engineList(engines) + ")"
		}
		out = append(out, target)
	}
	return strings.Join(out, ", ")
}

// engineList names engines: "psync, io_uring".
func engineList(engines []proto.Engine) string {
	names := make([]string, len(engines))
	for i, e := range engines {
		names[i] = string(e)
	}
	return strings.Join(names, ", ")
}

// undecidedText names undecided comparisons, for the log.
func undecidedText(undecided []results.BenchComparison) string {
	out := make([]string, len(undecided))
	for i, c := range undecided {
		out[i] = c.Target + "/" + c.Engine + "/" + c.Metric
	}
	return strings.Join(out, ", ")
}

func (r *runner) undecided(p *plan.Plan) []results.BenchComparison {
	var out []results.BenchComparison
	for _, c := range r.run.BenchComparisons() {
		if !r.benchableEverywhere(c.Target) || !p.EarnsBoots(c.Metric) {
			continue
		}
		if verdict.Judge(c.A.Samples, c.B.Samples).Undecided(r.maxRounds(p)) {
			out = append(out, c)
		}
	}
	return out
}

// benchableEverywhere reports whether every variant can benchmark target
// on a later boot.
func (r *runner) benchableEverywhere(target string) bool {
	for _, v := range r.run.Variants {
		if !benchable(v.Target(target)) {
			return false
		}
	}
	return true
}

// testBoot boots the variant once and runs every target of p.
func (r *runner) testBoot(ctx context.Context, p *plan.Plan, v plan.Variant, rv *results.Variant, round int) error {
	return r.testTargets(ctx, p, v, rv, round, nil)
}

// testTargets boots the variant once and runs every target of p (or
// what scope names, when it is not nil): correctness and the benchmark
// in round 0, the benchmark alone after that. A target that hangs or
// crashes the kernel gets the VM rebooted before the next target, so one broken
// target does not poison the others; a target that could not be set up,
// or hung, in round 0 has no benchmark rounds.
func (r *runner) testTargets(ctx context.Context, p *plan.Plan, v plan.Variant, rv *results.Variant, round int, scope roundScope) error {
	var inst vm.Instance
	defer func() {
		if inst != nil {
			r.warnIf("stopping the VM", inst.Close())
		}
	}()
	for _, target := range p.Targets {
		if !r.wanted(v.Name, target) || !scope.covers(target) {
			continue
		}
		rt := rv.Target(target)
		if round > 0 && !benchable(rt) {
			continue
		}
		if inst == nil {
			var err error
			if inst, err = r.boot(ctx, p, v, rv, round); err != nil {
				return err
			}
		}
		stage := "test"
		if round == 0 {
			rt = &results.Target{Name: target}
			rv.Targets = append(rv.Targets, rt)
		} else {
			stage = "bench"
		}
		var reboot bool
		err := r.stage(ctx, stage, v.Name+"/"+target, func(ctx context.Context) (string, error) {
			var err error
			reboot, err = r.runTarget(ctx, p, inst, rv, rt, round, scope.engines(target))
			if round > 0 {
				return summarizeBench(rt, round, r.roundsText(p, round), scope.engines(target)), err
			}
			return summarizeTarget(rt), err
		})
		if err != nil {
			return err
		}
		if reboot {
			r.warnIf("stopping the VM", inst.Close())
			inst = nil
		}
	}
	return nil
}

// roundsText is how many rounds round is one of: "3", or "at most 6"
// for an adaptive round.
func (r *runner) roundsText(p *plan.Plan, round int) string {
	if round < r.rounds(p) {
		return fmt.Sprint(r.rounds(p))
	}
	return fmt.Sprintf("at most %d", r.maxRounds(p))
}

// benchable reports whether later rounds can benchmark a target: its
// first boot set it up and nothing in it hung.
func benchable(rt *results.Target) bool {
	if rt == nil || rt.Error != "" || len(rt.Bench) == 0 {
		return false
	}
	for _, t := range rt.Tests {
		if t.Status == results.TestHung {
			return false
		}
	}
	return true
}

// diskSet holds each variant's target disks for the whole run, in a
// temp directory removed at the end (sparse images: they cost what the
// filesystems and the test file write).
type diskSet struct {
	targets  []string
	fileSize int64
	dir      string
	disks    map[string][]vm.Device
}

// of returns the variant's disks, creating their images on first use.
func (d *diskSet) of(variant string) ([]vm.Device, error) {
	if devs, ok := d.disks[variant]; ok {
		return devs, nil
	}
	if d.dir == "" {
		dir, err := os.MkdirTemp("", "ktest-disks-")
		if err != nil {
			return nil, fmt.Errorf("disk images: %w", err)
		}
		d.dir, d.disks = dir, map[string][]vm.Device{}
	}
	var devs []vm.Device
	for _, disk := range targetDisks(d.targets, d.fileSize) {
		disk.Path = filepath.Join(d.dir, variant+"-"+disk.ID+".img")
		if err := vm.CreateSparseImage(disk.Path, disk.Size); err != nil {
			return nil, err
		}
		devs = append(devs, disk)
	}
	d.disks[variant] = devs
	return devs, nil
}

// remove deletes every image.
func (d *diskSet) remove() {
	if d.dir != "" {
		_ = os.RemoveAll(d.dir) // best effort: sparse images in TMPDIR; a leftover costs only space
	}
}
