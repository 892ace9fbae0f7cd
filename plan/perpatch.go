package plan

import (
	"errors"
	"fmt"

	"github.com/ktest-dev/ktest/guest/proto"
)

// PerPatch tunes a per-patch run (`ktest run --per-patch`, or a
// [per_patch] table): the series applied one patch more at a time, each
// tree built, booted and tested with a small suite.
type PerPatch struct {
	// Mode is PerPatchEvery (every prefix), PerPatchFirstBad (stop at
	// the first failure) or PerPatchBisect (binary search).
	Mode string `toml:"mode"`
	// Suite is "correctness" (the default) or "none" (build only).
	Suite string `toml:"suite"`
	// Targets defaults to the plan's; FileSize to the quick size.
	Targets  []string `toml:"targets"`
	FileSize string   `toml:"file_size"`
	// Tests restricts the correctness tests, like the plan's tests key.
	Tests []string `toml:"tests"`
}

// Per-patch modes.
const (
	PerPatchEvery    = "every"
	PerPatchFirstBad = "first-bad"
	PerPatchBisect   = "bisect"
)

// NewPerPatch is the default per-patch configuration for mode.
func NewPerPatch(mode string) *PerPatch {
	return &PerPatch{Mode: mode, Suite: "correctness"}
}

type keyError struct {
	key string
	err error
}

func (pp *PerPatch) validate(p *Plan) *keyError {
	if pp.Mode == "" {
		pp.Mode = PerPatchEvery
	}
	if pp.Suite == "" {
		pp.Suite = "correctness"
	}
	if pp.FileSize == "" {
		pp.FileSize = "16M"
	}
	switch {
	case pp.Mode != PerPatchEvery && pp.Mode != PerPatchFirstBad && pp.Mode != PerPatchBisect:
		return &keyError{"mode", fmt.Errorf("mode %q: want every, first-bad or bisect", pp.Mode)}
	case pp.Suite != "correctness" && pp.Suite != "none":
		return &keyError{"suite", fmt.Errorf("suite %q: want correctness or none", pp.Suite)}
	}
	if err := oneOf(pp.Targets, KnownTargets()); err != nil {
		return &keyError{"targets", err}
	}
	if err := oneOf(pp.Tests, proto.CorrectnessTests); err != nil {
		return &keyError{"tests", err}
	}
	if _, err := ParseSize(pp.FileSize); err != nil {
		return &keyError{"file_size", err}
	}
	last := p.Variants[len(p.Variants)-1]
	if !p.Series.Applied || len(last.Patches) == 0 || last.Patches[len(last.Patches)-1] != p.Series.Source {
		return &keyError{"variant", errors.New("a per-patch run needs a series the plan applies, as its last variant's last patches (give one with --series S)")}
	}
	return nil
}

// StepPlan is the plan each per-patch step is tested with: the
// per-patch targets, size and suite, one boot, no benchmark.
func (p *Plan) StepPlan() *Plan {
	pp := p.PerPatch
	q := *p
	q.Suites = []string{"correctness"}
	if pp.Suite == "none" {
		q.Suites = nil
	}
	if len(pp.Targets) > 0 {
		q.Targets = pp.Targets
	}
	q.FileSize, q.Tests, q.Boots, q.Repeats = pp.FileSize, pp.Tests, 1, 1
	return &q
}

// Suite is "correctness", or "none" when the plan runs no suite.
func (p *Plan) Suite() string {
	if len(p.Suites) == 0 {
		return "none"
	}
	return p.Suites[0]
}

// FileSizeBytes is FileSize in bytes (validated, so never an error).
func (p *Plan) FileSizeBytes() int64 {
	n, _ := ParseSize(p.FileSize)
	return n
}
