package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ktest-dev/ktest/apply"
	"github.com/ktest-dev/ktest/internal/termfmt"
	"github.com/ktest-dev/ktest/kbuild"
	"github.com/ktest-dev/ktest/kconfig"
	"github.com/ktest-dev/ktest/plan"
	"github.com/ktest-dev/ktest/results"
	"github.com/ktest-dev/ktest/series"
	"github.com/ktest-dev/ktest/vm"
)

// A per-patch run answers "which patch?": the series is applied one
// patch more at a time, and every tree is built in the same build slot
// (only what the patch touches recompiles, and every step stays in the
// cache), booted and tested with a small suite. Checkpatch runs on every
// patch whatever the mode. The baseline is tested first with the same
// suite: a base that already fails makes every grade meaningless.

// perPatchRun holds one per-patch run's state.
type perPatchRun struct {
	r     *runner
	p     *plan.Plan // the step plan: per-patch targets, suite and size
	pp    *results.PerPatch
	aps   []apply.Patch // every patch of the series' variant, in order
	base  int           // patches applied before the series' first
	pats  []*series.Patch
	frags []*kconfig.Fragment
	warns *warningState
}

// perPatch runs the plan's per-patch mode instead of the A/B benchmark.
func (r *runner) perPatch(ctx context.Context) error {
	cfg := r.cfg.Plan.PerPatch
	pr := &perPatchRun{r: r, p: r.cfg.Plan.StepPlan()}
	// plan.validate made sure the last variant applies the series last.
	last := r.cfg.Plan.Variants[len(r.cfg.Plan.Variants)-1]
	s, err := r.loadSource(r.cfg.Plan.Series.Source)
	if err != nil {
		return &StageError{Stage: "per-patch", Err: err}
	}
	pr.pats = s.ToApply(false)
	if pr.aps, err = r.sourcePatches(last.Patches, false); err != nil {
		return &StageError{Stage: "per-patch", Err: err}
	}
	pr.base = len(pr.aps) - len(pr.pats)
	if pr.frags, err = kconfig.Resolve(r.cfg.Plan.Fragments); err != nil {
		return &StageError{Stage: "per-patch", Err: err}
	}
	pr.pp = &results.PerPatch{Mode: cfg.Mode, Suite: pr.p.Suite(), Targets: pr.p.Targets}
	for i, sp := range pr.pats {
		pr.pp.Steps = append(pr.pp.Steps, results.PatchStep{Patch: i + 1, Label: fmt.Sprintf("%02d/%02d", i+1, len(pr.pats)),
			Subject: sp.Subject, Apply: results.StepPending, Build: results.StepPending, Boot: results.StepPending,
			Tests: results.StepPending, Grade: results.StepUntested})
	}
	r.run.PerPatch = pr.pp
	// The checkpatch stage reviewed the series' patches already.
	if rs := r.run.Series; rs != nil && len(rs.Patches) == len(pr.pp.Steps) {
		for i := range pr.pp.Steps {
			pr.pp.Steps[i].Checkpatch = rs.Patches[i].Checkpatch
		}
	}
	r.disks = &diskSet{targets: pr.p.Targets, fileSize: pr.p.FileSizeBytes()}
	defer r.disks.remove()
	pr.warns = newWarningState(r.kernels[r.cfg.Plan.Variants[0].Name].BuildLog, "")
	// The baseline first, with the steps' suite.
	base := r.run.Variants[0]
	if good, err := pr.testKernel(ctx, r.cfg.Plan.Variants[0].Name, base); err != nil {
		return err
	} else if !good {
		return &StageError{Stage: "per-patch", Variant: base.Name, Err: errors.New("the baseline fails the per-patch suite on its own: no patch can be judged against it")}
	}
	if r.wholeSeries != "" {
		pr.note("%s; the steps find the patch that did it", r.wholeSeries)
	}
	switch cfg.Mode {
	case plan.PerPatchBisect:
		return pr.bisect(ctx)
	default:
		for k := 1; k <= len(pr.pats); k++ {
			good, err := pr.step(ctx, k)
			if err != nil {
				return err
			}
			if !good && cfg.Mode == plan.PerPatchFirstBad {
				pr.note("stopped at the first bad patch: %d of %d steps tested", k, len(pr.pats))
				break
			}
		}
		return nil
	}
}

// note adds a sentence to the per-patch record's note.
func (pr *perPatchRun) note(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	if pr.pp.Note != "" {
		s = pr.pp.Note + "; " + s
	}
	pr.pp.Note = s
}

// bisect finds the first bad prefix by binary search, assuming every
// prefix after the first bad one is bad too (a later patch that fixes an
// earlier one hides it: "every" mode sees that).
func (pr *perPatchRun) bisect(ctx context.Context) error {
	n := len(pr.pats)
	good, err := pr.step(ctx, n)
	if err != nil {
		return err
	}
	if good {
		pr.note("bisect: the whole series is good, 1 of %d steps tested", n)
		return nil
	}
	lo, hi, tested := 0, n, 1 // prefix lo is good, prefix hi is bad
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		good, err := pr.step(ctx, mid)
		if err != nil {
			return err
		}
		tested++
		if good {
			lo = mid
		} else {
			hi = mid
		}
	}
	pr.note("bisected: %d of %d steps tested (a binary search assumes that no later patch fixes an earlier one)", tested, n)
	pr.pp.FirstBad = hi
	return nil
}

// step tests the tree with patches 1..k and records it; good is false
// when apply, build, boot or tests failed. err is for the run's end
// (interrupt, infrastructure).
func (pr *perPatchRun) step(ctx context.Context, k int) (good bool, err error) {
	st := &pr.pp.Steps[k-1]
	label := "step " + st.Label
	err = pr.r.stage(ctx, "patch", st.Label, func(ctx context.Context) (string, error) {
		good, err = pr.runStep(ctx, k, st)
		return fmt.Sprintf("%s: %s", label, stepSummary(st)), err
	})
	// A step that could not be judged (the host failed, the run was
	// interrupted) names no patch.
	if err == nil && !good && pr.pp.FirstBad == 0 && pr.pp.Mode != plan.PerPatchBisect {
		pr.pp.FirstBad = k
	}
	return good, err
}

func (pr *perPatchRun) runStep(ctx context.Context, k int, st *results.PatchStep) (bool, error) {
	r := pr.r
	bad := func(evidence string) (bool, error) {
		st.Grade, st.Evidence = results.StepBad, evidence
		return false, nil
	}
	ov, res, err := overlayOf(ctx, r.tree.Dir, pr.aps[:pr.base+k])
	if err != nil {
		st.Apply = results.StepFailed
		if res != nil && len(res.Patches) > 0 {
			return bad(res.Patches[len(res.Patches)-1].Outcome().Detail)
		}
		return bad(err.Error())
	}
	st.Apply = results.StepOK
	name := "patch-" + strings.ReplaceAll(st.Label, "/", "-of-")
	touched := touchedFiles(pr.pats[k-1])
	if n, total, err := kbuild.Dependents(ctx, r.cfg.Cache, pr.request(name, ov), touched); err == nil && total > 0 && n*2 > total {
		r.logf("step %s changes a file %d of %d objects depend on (%s): expect a long rebuild", st.Label, n, total, strings.Join(touched, ", "))
	}
	kres, err := r.parts.Build(ctx, r.cfg.Cache, pr.request(name, ov))
	var be *kbuild.BuildError
	if errors.As(err, &be) && be.FirstError == "" && ctx.Err() == nil {
		// make failed without a compiler error: the host (a killed
		// compiler, a full disk) as likely as the patch. Once more;
		// failing alike again, it is the tree's.
		r.logf("step %s: the build failed without a compiler error; trying once more: %v", st.Label, termfmt.FirstLine(err.Error()))
		kres, err = r.parts.Build(ctx, r.cfg.Cache, pr.request(name, ov))
	}
	switch {
	case errors.As(err, &be):
		st.Build = results.StepFailed
		// The compiler's first error leads: it is what the exit
		// message and the table quote.
		if be.FirstError != "" {
			return bad(be.FirstError + "\n" + be.Error())
		}
		return bad("the build failed twice without a compiler error: " + be.Error())
	case err != nil:
		return false, err
	}
	st.Build, st.Cached, st.BuildSeconds, st.Objects = results.StepOK, kres.Cached, kres.Seconds, kres.Objects
	st.NewWarnings = pr.warns.step(kres.BuildLog, "", touched)
	r.kernels[name] = kres
	if pr.p.Suite() == "none" {
		st.Grade = results.StepGood
		return true, nil
	}
	rv := &results.Variant{Name: name, Description: "the tree with patches 1-" + fmt.Sprint(k),
		Kernel: results.Kernel{Key: kres.Key, Cached: kres.Cached, BuildSeconds: kres.Seconds, Objects: kres.Objects, Status: results.StepOK}}
	st.Variant = rv
	good, err := pr.testKernel(ctx, name, rv)
	if err != nil {
		return false, err
	}
	st.Boot, st.Tests = rv.Boot.Status, results.StepOK
	if rv.Boot.Status != results.StepOK {
		st.Tests = results.StepPending
		return bad(bootEvidence(rv))
	}
	if !good {
		st.Tests = results.StepFailed
		st.Failed = variantFailures(rv)
		return bad(testEvidence(rv))
	}
	st.Grade = results.StepGood
	return true, nil
}

func (pr *perPatchRun) request(variant string, ov map[string][]byte) kbuild.Request {
	r := pr.r
	return kbuild.Request{Tree: r.tree, Variant: variant, Overlay: ov, Fragments: pr.frags, Jobs: r.cfg.Jobs, Log: r.log}
}

// testKernel boots the named kernel once and runs the step suite; good
// is false when the boot or a test failed or the kernel crashed: a boot
// that failed in the guest is the kernel's finding here, not the run's
// end. A failure of the host says nothing about the kernel: the boot
// and tests are tried once more, and a second host failure ends the run
// naming it, so that no patch is judged on it.
func (pr *perPatchRun) testKernel(ctx context.Context, name string, rv *results.Variant) (good bool, err error) {
	fresh := *rv
	for attempt := 1; ; attempt++ {
		err = pr.r.testBoot(ctx, pr.p, plan.Variant{Name: name}, rv, 0)
		switch {
		case err == nil:
			return len(variantFailures(rv)) == 0 && len(rv.Crashes) == 0 && !hasTargetErrors(rv), nil
		case ctx.Err() != nil:
			return false, err
		case vm.HostFault(err) && attempt == 1:
			pr.r.logf("%s: the host failed, not the kernel; trying once more: %v", name, err)
			*rv = fresh
		case vm.HostFault(err):
			return false, &StageError{Stage: "per-patch", Variant: name,
				Err: fmt.Errorf("the host failed twice testing %s, so no patch is judged: %w", name, err)}
		case vm.KernelFault(err):
			return false, nil
		default:
			return false, err
		}
	}
}

func variantFailures(rv *results.Variant) []results.TestID {
	var out []results.TestID
	for _, t := range rv.Targets {
		for _, tc := range t.Tests {
			if tc.Status.Failing() {
				out = append(out, results.TestID{Variant: rv.Name, Target: t.Name, Test: tc.Name})
			}
		}
	}
	return out
}

func hasTargetErrors(rv *results.Variant) bool {
	return slices.ContainsFunc(rv.Targets, func(t *results.Target) bool { return t.Error != "" })
}

// bootEvidence is the crash that stopped a boot, or what did.
func bootEvidence(rv *results.Variant) string {
	if len(rv.Crashes) > 0 {
		c := rv.Crashes[0]
		return fmt.Sprintf("%s during boot: %s\n%s", c.Kind, c.Title, c.Excerpt)
	}
	return "the kernel did not boot"
}

// testEvidence is the first crash, failing test or setup error, with the
// kernel's account of a hang.
func testEvidence(rv *results.Variant) string {
	if len(rv.Crashes) > 0 {
		c := rv.Crashes[0]
		if c.Kind == crashFreeze || c.Kind == crashReset {
			// Its title says what happened, and where.
			return c.Title + "\n" + c.Excerpt
		}
		return fmt.Sprintf("%s during %s: %s\n%s", c.Kind, c.During, c.Title, c.Excerpt)
	}
	for _, t := range rv.Targets {
		if t.Error != "" {
			return fmt.Sprintf("%s: setup failed: %s", t.Name, t.Error)
		}
		for _, tc := range t.Tests {
			if tc.Status.Failing() {
				s := fmt.Sprintf("%s/%s: %s: %s", t.Name, tc.Name, tc.Status, tc.Message)
				if tc.Evidence != "" {
					s += "\n" + tc.Evidence
				}
				return s
			}
		}
	}
	return ""
}

// touchedFiles lists the tree paths a patch changes.
func touchedFiles(p *series.Patch) []string {
	var out []string
	for _, st := range p.Diffstat() {
		out = append(out, st.Path)
	}
	return out
}

// stepSummary is a step's outcome in a few words, for the progress line.
func stepSummary(st *results.PatchStep) string {
	switch {
	case st.Grade == results.StepGood && st.Cached:
		return "good (kernel cached)"
	case st.Grade == results.StepGood:
		return fmt.Sprintf("good (rebuilt %d objects in %.0f s)", st.Objects, st.BuildSeconds)
	case st.Grade == results.StepBad:
		return "BAD: " + termfmt.FirstLine(st.Evidence)
	}
	return string(st.Grade)
}
