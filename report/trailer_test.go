package report

import (
	"strings"
	"testing"

	"github.com/ktest-dev/ktest/results"
)

// replyFormats are the renderings a reviewer sends or pastes: each
// carries the trailer, or says why it does not.
var replyFormats = []string{"md", "email", "mbox", "html"}

// TestTrailerOnlyForAPass: a Tested-by only on a complete, passing run
// whose every comparison could be decided; every other run says in each
// reply format why it has none, and carries no trailer line at all.
func TestTrailerOnlyForAPass(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T) *results.Run
		why  string // "" for the run that earns the trailer
	}{
		{"a complete passing run", func(*testing.T) *results.Run { return fixtureRun(3) }, ""},
		{"a failed test", func(*testing.T) *results.Run {
			r := fixtureRun(3)
			setTest(r, "patched", "xfs", "truncate-race", "fail", "read returned stale data")
			r.Status = results.StatusFail
			return r
		}, "1 test failed or hung: patched/xfs/truncate-race"},
		{"a failed test under a status that says pass", func(*testing.T) *results.Run {
			r := fixtureRun(3)
			setTest(r, "baseline", "raw", "eof", "fail", "short read")
			return r
		}, "1 test failed or hung: baseline/raw/eof"},
		{"a run in progress (recorded)", func(t *testing.T) *results.Run {
			return loadFixture(t, "run-running.results.json")
		}, "the run did not finish: still running, at apply [baseline]"},
		{"an interrupted run", func(*testing.T) *results.Run {
			r := fixtureRun(3)
			r.Complete, r.Status = false, results.StatusInterrupted
			r.Error = &results.StageFailure{Stage: "tests", Variant: "patched", Message: "interrupted by SIGINT"}
			return r
		}, "the run did not finish: interrupted during tests [patched]: interrupted by SIGINT"},
		{"an interrupted run (recorded: Ctrl-C during the baseline's tests)", func(t *testing.T) *results.Run {
			return loadFixture(t, "run-interrupted.results.json")
		}, "the run did not finish: interrupted during test [baseline/ext4]: interrupted by SIGINT"},
		{"a run stopped at apply (recorded)", func(t *testing.T) *results.Run {
			return loadFixture(t, "run-stopped-at-apply.results.json")
		}, "the run did not finish: apply failed [patched]: 1/1 fs: a change written against another tree: fs/read_write.c: hunk #1 (line 10): hunk does not match"},
		{"a quick run, one boot a side (recorded)", func(t *testing.T) *results.Run {
			r := loadFixture(t, "run-quick1.results.json")
			r.Series.ReplyTo = fixtureRun(1).Series.ReplyTo
			return r
		}, "figures only: 1 boot per side, no change can be called (3 needed)"},
		{"a metric not judged", func(*testing.T) *results.Run {
			r := fixtureRun(3)
			setMetric(r, "patched", "ext4", "psync", results.MetricIOPS, 1650)
			return r
		}, "1 of 84 benchmark comparisons could not be judged (3 and 1 boots, 3 needed)"},
		{"a hang that left tests out", func(*testing.T) *results.Run {
			r := fixtureRun(3)
			setTest(r, "patched", "ext4", "concurrent-waiters", "hung", "no completion after 20s")
			setTest(r, "patched", "ext4", "preadv", "not-run", "not run: the kernel hung")
			return r
		}, "1 test failed or hung: patched/ext4/concurrent-waiters; 1 test not run"},
		{"a kernel crash", func(*testing.T) *results.Run {
			r := fixtureRun(3)
			r.Variants[1].Crashes = []results.Crash{{Kind: "warning", Title: "WARNING: CPU: 0 PID: 231 at mm/filemap.c:1385", During: "xfs/eof"}}
			return r
		}, "patched crashed: warning WARNING: CPU: 0 PID: 231 at mm/filemap.c:1385"},
		{"a target that could not be set up", func(*testing.T) *results.Run {
			r := fixtureRun(3)
			r.Variant("baseline").Target("xfs").Error = "mkfs.xfs: unknown feature"
			return r
		}, "target setup failed: baseline/xfs: mkfs.xfs: unknown feature"},
		{"a build-only run", func(*testing.T) *results.Run {
			r := fixtureRun(3)
			r.BuildOnly = true
			return r
		}, "a build-only run: no kernel was booted or tested"},
		{"a shard", func(*testing.T) *results.Run {
			r := fixtureRun(3)
			r.Shard = &results.Shard{K: 1, N: 2, PlanTargets: fixtureTargets}
			r.Plan.Targets = fixtureTargets[:2]
			return r
		}, "shard 1/2 tested only targets ext4, xfs of the plan"},
		{"a per-patch run that found a bad patch", func(*testing.T) *results.Run {
			r := fixtureRun(3)
			r.PerPatch = perPatchFixture(results.StepGood, results.StepBad, results.StepBad)
			return r
		}, "first bad patch 2/3 mm: add support for async page locking: error: 'missing_symbol_xyz' undeclared"},
		{"a per-patch run whose steps were only built", func(*testing.T) *results.Run {
			r := fixtureRun(3)
			r.PerPatch = perPatchFixture(results.StepGood, results.StepGood, results.StepGood)
			r.PerPatch.Suite = "none"
			return r
		}, "the per-patch steps were built, not booted or tested"},
		{"a per-patch run with every patch good", func(*testing.T) *results.Run {
			r := fixtureRun(3)
			r.PerPatch = perPatchFixture(results.StepGood, results.StepGood, results.StepGood)
			return r
		}, ""},
		{"a variant that never booted", func(*testing.T) *results.Run {
			r := fixtureRun(3)
			r.Variants[1].Boot = results.Boot{Status: results.StepPending}
			return r
		}, "patched not booted"},
	}
	rd := Renderer{From: testIdentity}
	const signed = "Tested-by: Jane Doe <jane@example.org>"
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.run(t)
			if got := r.WhyNoTrailer(); got != tc.why && (tc.why == "" || !strings.HasPrefix(got, tc.why)) {
				t.Errorf("WhyNoTrailer() = %q, want %q", got, tc.why)
			}
			for _, f := range replyFormats {
				out := render(t, rd, r, f)
				if f == "html" {
					out = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&#39;", "'").Replace(out)
				}
				flat := strings.Join(strings.Fields(out), " ")
				if tc.why == "" {
					if !strings.Contains(out, "\n"+signed+"\n") && !strings.Contains(out, "<p>"+signed+"</p>") {
						t.Errorf("%s: a passing run lacks %q", f, signed)
					}
					continue
				}
				if strings.Contains(out, "Tested-by:") {
					t.Errorf("%s: a trailer on a run that did not pass:\n%s", f, grepLines(out, "Tested-by"))
				}
				if want := "No Tested-by from this run: " + tc.why; !strings.Contains(flat, want) {
					t.Errorf("%s does not say why there is no trailer, want %q in:\n%s", f, want, grepLines(out, "Tested-by"))
				}
			}
		})
	}
}

// TestTrailerSaysWhyWithoutIdentity: a run that did not pass says so
// whether or not an identity is known, and a custom trailer is withheld
// by its own name.
func TestTrailerSaysWhyWithoutIdentity(t *testing.T) {
	r := fixtureRun(3)
	r.Complete, r.Status = false, results.StatusError
	r.Error = &results.StageFailure{Stage: "apply", Variant: "patched", Message: "patch 2/3 does not apply"}
	for _, tc := range []struct {
		rd   Renderer
		want string
	}{
		{Renderer{}, "No Tested-by from this run: the run did not finish: apply failed [patched]: patch 2/3 does not apply."},
		{Renderer{Signature: "Reviewed-by: Jane Doe <jane@example.org>"}, "No Reviewed-by from this run: the run did not finish:"},
	} {
		md := render(t, tc.rd, r, "md")
		if !strings.Contains(md, tc.want) || strings.Contains(md, NoIdentitySignature) || strings.Contains(md, "-by: Jane") {
			t.Errorf("md of a run stopped at apply:\n%s", grepLines(md, "-by"))
		}
	}
}

// perPatchFixture is a 3-patch per-patch run whose steps have these
// verdicts; a bad step failed to build.
func perPatchFixture(verdicts ...results.StepGrade) *results.PerPatch {
	pp := &results.PerPatch{Mode: "every", Suite: "correctness", Targets: []string{"ext4"}}
	subjects := []string{"mm: allow read-ahead with IOCB_NOWAIT set", "mm: add support for async page locking", "io_uring: support true async buffered reads"}
	for i, v := range verdicts {
		st := results.PatchStep{Patch: i + 1, Label: results.PatchLabel(results.Patch{Number: i + 1, Total: len(verdicts)}), Subject: subjects[i],
			Apply: results.StepOK, Build: results.StepOK, Boot: results.StepOK, Tests: results.StepOK, Grade: v}
		if v == results.StepBad {
			st.Build, st.Boot, st.Tests = results.StepFailed, results.StepPending, results.StepPending
			st.Evidence = "error: 'missing_symbol_xyz' undeclared"
			if pp.FirstBad == 0 {
				pp.FirstBad = i + 1
			}
		}
		pp.Steps = append(pp.Steps, st)
	}
	return pp
}

// grepLines keeps the lines of s containing sub, for failure messages.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
