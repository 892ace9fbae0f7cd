package pipeline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

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
// pipeline asks package verdict, for every metric the run compares,
// whether another boot could decide it (verdict.Judgement.Undecided),
// and runs one more interleaved round for the targets that have such a
// metric, and only for them. --aa and nightly runs are ordinary runs of
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
		targets := r.undecidedTargets(p)
		if len(targets) == 0 {
			break
		}
		r.logf("adaptive boots: round %d of at most %d for %s, undecided: %s", round+1, r.maxRounds(p),
			strings.Join(targets, ", "), strings.Join(r.undecidedMetrics(p, targets), ", "))
		if err := r.testRound(ctx, p, round, targets); err != nil {
			return err
		}
	}
	return nil
}

// testRound boots every variant once, in round's order, for the
// targets named (nil: all).
func (r *runner) testRound(ctx context.Context, p *plan.Plan, round int, targets []string) error {
	for _, i := range bootOrder(len(p.Variants), round) {
		if err := r.testTargets(ctx, p, p.Variants[i], r.run.Variants[i], round, targets); err != nil {
			return err
		}
	}
	return nil
}

// undecidedTargets lists, in plan order, the targets with a metric that
// package verdict says another boot could decide, among those every
// variant can still benchmark.
func (r *runner) undecidedTargets(p *plan.Plan) []string {
	var out []string
	for _, c := range r.undecided(p) {
		if !slices.Contains(out, c.Target) {
			out = append(out, c.Target)
		}
	}
	slices.SortFunc(out, func(a, b string) int { return slices.Index(p.Targets, a) - slices.Index(p.Targets, b) })
	return out
}

// undecidedMetrics names the undecided metrics of targets, for the log.
func (r *runner) undecidedMetrics(p *plan.Plan, targets []string) []string {
	var out []string
	for _, c := range r.undecided(p) {
		if slices.Contains(targets, c.Target) {
			out = append(out, c.Target+"/"+c.Engine+"/"+c.Metric)
		}
	}
	return out
}

func (r *runner) undecided(p *plan.Plan) []results.BenchComparison {
	var out []results.BenchComparison
	for _, c := range r.run.BenchComparisons() {
		if !r.benchableEverywhere(c.Target) {
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

// testTargets boots the variant once and runs every target of p (or of
// only, when it is not nil): correctness and the benchmark in round 0,
// the benchmark alone after that. A target that hangs or crashes the
// kernel gets the VM rebooted before the next target, so one broken
// target does not poison the others; a target that could not be set up,
// or hung, in round 0 has no benchmark rounds.
func (r *runner) testTargets(ctx context.Context, p *plan.Plan, v plan.Variant, rv *results.Variant, round int, only []string) error {
	var inst vm.Instance
	defer func() {
		if inst != nil {
			r.warnIf("stopping the VM", inst.Close())
		}
	}()
	for _, target := range p.Targets {
		if !r.wanted(v.Name, target) || only != nil && !slices.Contains(only, target) {
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
			reboot, err = r.runTarget(ctx, p, inst, rv, rt, round)
			if round > 0 {
				return summarizeBench(rt, round, r.roundsText(p, round)), err
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
