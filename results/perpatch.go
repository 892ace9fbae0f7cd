package results

import (
	"github.com/ktest-dev/ktest/internal/termfmt"

	"fmt"
)

// PerPatch is a per-patch run (`ktest run --per-patch`): the series
// applied one patch more at a time, each tree built (incrementally, in
// the same build slot), booted and tested, so that the first patch that
// breaks something is named.
type PerPatch struct {
	// Mode is "every" (every prefix tested), "first-bad" (stopped at the
	// first failure) or "bisect" (binary search over the prefixes).
	Mode    string   `json:"mode"`
	Suite   string   `json:"suite"` // "correctness", or "none" for build only
	Targets []string `json:"targets"`
	// Steps are the patches in series order; step k is the tree with
	// patches 1..k.
	Steps []PatchStep `json:"steps"`
	// FirstBad is the number of the first bad patch, 0 when none is.
	FirstBad int    `json:"first_bad,omitempty"`
	Note     string `json:"note,omitempty"` // e.g. "bisected: 3 of 12 steps tested"
}

// StepGrade is what a per-patch step concluded of its patch, as git
// bisect marks a commit. (Reports and the JSON key say "verdict"; the
// code keeps that word for package verdict's noise rule.)
type StepGrade string

const (
	StepGood     StepGrade = "good"
	StepBad      StepGrade = "bad"
	StepUntested StepGrade = "untested" // skipped by first-bad or bisect
)

// PatchStep is one patch's review and the test of the tree up to it.
type PatchStep struct {
	Patch   int    `json:"patch"` // 1-based position in the series
	Label   string `json:"label"` // "02/03"
	Subject string `json:"subject"`
	// Checkpatch is the tree's scripts/checkpatch.pl on this patch alone.
	Checkpatch *Checkpatch `json:"checkpatch,omitempty"`

	Apply StepStatus `json:"apply"`
	Build StepStatus `json:"build"`
	Boot  StepStatus `json:"boot"`
	Tests StepStatus `json:"tests"`
	// BuildSeconds and Objects say what the step rebuilt; Cached is a
	// cache hit (a second --per-patch run is all hits).
	BuildSeconds float64 `json:"build_seconds,omitempty"`
	Objects      int     `json:"objects_compiled,omitempty"`
	Cached       bool    `json:"cached,omitempty"`
	// NewWarnings are compiler warnings this patch added in the files
	// it touches.
	NewWarnings []string `json:"new_warnings,omitempty"`
	// Failed are the tests that failed or hung on this step's kernel.
	Failed   []TestID  `json:"failed,omitempty"`
	Grade    StepGrade `json:"verdict"`
	Evidence string    `json:"evidence,omitempty"` // the conflict, compiler error, crash or failing test
	// Variant holds the step kernel's boot, targets, tests and crashes.
	Variant *Variant `json:"variant,omitempty"`
}

// Checkpatch is what checkpatch.pl reports of one patch.
type Checkpatch struct {
	Errors   int      `json:"errors"`
	Warnings int      `json:"warnings"`
	Checks   int      `json:"checks"`
	Summary  string   `json:"summary"`         // "clean", "2 errors, 1 warning"
	Items    []string `json:"items,omitempty"` // "ERROR:TYPE: message (file:line)"
	// Error says why checkpatch could not run (e.g. the tree has none).
	Error string `json:"error,omitempty"`
}

// String is the summary, or why checkpatch did not run.
func (c *Checkpatch) String() string {
	switch {
	case c == nil:
		return "not run"
	case c.Error != "":
		return "not run: " + c.Error
	}
	return c.Summary
}

// FirstBadPatch says which patch a per-patch run found bad first, and
// why, or "" when it found none.
func (r *Run) FirstBadPatch() string {
	st := r.PerPatch.FirstBadStep()
	if st == nil {
		return ""
	}
	return fmt.Sprintf("first bad patch %s %s: %s", st.Label, st.Subject, termfmt.FirstLine(st.Evidence))
}

// CheckpatchErrors lists the patches checkpatch found errors in, for a
// plan that makes those fatal.
func (s *Series) CheckpatchErrors() []string {
	var out []string
	for _, p := range s.Patches {
		if p.Checkpatch != nil && p.Checkpatch.Errors > 0 {
			out = append(out, fmt.Sprintf("%s: checkpatch: %s", PatchLabel(p), p.Checkpatch))
		}
	}
	return out
}

// FirstBadStep returns the first bad step, or nil.
func (p *PerPatch) FirstBadStep() *PatchStep {
	if p == nil || p.FirstBad == 0 {
		return nil
	}
	for i := range p.Steps {
		if p.Steps[i].Patch == p.FirstBad {
			return &p.Steps[i]
		}
	}
	return nil
}
