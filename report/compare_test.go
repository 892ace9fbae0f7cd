package report

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/ktest-dev/ktest/results"
)

// TestCompareRefuses: no verdict from a side that did not finish or
// tested nothing, nor from runs not made alike; it says why, names
// whose fault it is, and concludes nothing at all.
func TestCompareRefuses(t *testing.T) {
	stoppedAtApply := func(r *results.Run) {
		r.Complete, r.Status = false, results.StatusError
		r.Error = &results.StageFailure{Stage: "apply", Message: "patch 2/3 mm: add support for async page locking does not apply\nhunk 3 conflicts"}
		r.Stages = r.Stages[:1]
		r.Stages[0].Status = results.StageFailed
		for _, v := range r.Variants {
			v.Kernel, v.Boot, v.Targets = results.Kernel{Status: results.StepPending}, results.Boot{Status: results.StepPending}, nil
		}
	}
	tests := []struct {
		name       string
		mutateOld  func(*results.Run)
		mutateNew  func(*results.Run)
		why        []string
		wrongInput bool
	}{
		{name: "B stopped at apply", mutateNew: stoppedAtApply,
			why: []string{"B stopped at apply: patch 2/3 mm: add support for async page locking does not apply"}},
		{name: "B stopped at a build", mutateNew: func(r *results.Run) {
			r.Complete, r.Status = false, results.StatusError
			r.Error = &results.StageFailure{Stage: "build", Variant: "patched", Message: "make: *** [bzImage] Error 2"}
		}, why: []string{"B stopped at build [patched]: make: *** [bzImage] Error 2"}},
		{name: "B still running", mutateNew: func(r *results.Run) {
			r.Complete, r.Status = false, results.StatusRunning
		}, why: []string{"B is still running, at tests [patched]"}, wrongInput: true},
		{name: "B interrupted", mutateNew: func(r *results.Run) {
			r.Complete, r.Status = false, results.StatusInterrupted
			r.Error = &results.StageFailure{Stage: "tests", Variant: "baseline", Message: "interrupted by SIGTERM"}
		}, why: []string{"B was interrupted during tests [baseline]: interrupted by SIGTERM"}, wrongInput: true},
		{name: "A stopped at apply", mutateOld: stoppedAtApply,
			why: []string{"A stopped at apply: patch 2/3"}, wrongInput: true},
		{name: "both", mutateOld: stoppedAtApply, mutateNew: stoppedAtApply,
			why: []string{"A stopped at apply", "B stopped at apply"}, wrongInput: true},
		{name: "B built only", mutateNew: func(r *results.Run) { r.BuildOnly = true },
			why: []string{"B is a build-only run: it tested nothing"}, wrongInput: true},
		{name: "other targets", mutateNew: func(r *results.Run) {
			r.Plan.Targets = r.Plan.Targets[:2]
			for _, v := range r.Variants {
				v.Targets = v.Targets[:2]
			}
		}, why: []string{"the runs were not made alike: targets [ext4 xfs btrfs raw] vs [ext4 xfs]"}, wrongInput: true},
		{name: "other sizes and boots", mutateNew: func(r *results.Run) { r.Plan.FileSize, r.Plan.Boots = "16M", 1 },
			why: []string{"the runs were not made alike: file_size 64M vs 16M; boots 0 vs 1"}, wrongInput: true},
		{name: "another control", mutateNew: func(r *results.Run) { r.Plan.Control = "psync" },
			why: []string{"the runs were not made alike: control none vs psync"}, wrongInput: true},
		{name: "other variants", mutateNew: func(r *results.Run) { r.Variants[0].Name = "kasan" },
			why: []string{"the runs have different variants: baseline, patched vs kasan, patched"}, wrongInput: true},
		{name: "B left out tests A passed", mutateNew: func(r *results.Run) {
			v := r.Variant("patched")
			v.Targets = v.Targets[:3]
		}, why: []string{"B did not run 10 tests that A passed (patched/raw/rand4k-qd32-cold, patched/raw/rand4k-qd32-warm, patched/raw/unaligned-span and 7 more): not the same tests"},
			wrongInput: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			oldRun, newRun := fixtureRun(3), fixtureRun(3)
			newRun.ID = "new"
			// B also has a regression and a new failure: neither may
			// be concluded from runs that cannot be compared.
			setMetric(newRun, "patched", "ext4", "io_uring", results.MetricCtxSwitches, 8500, 8600, 8800)
			setTest(newRun, "patched", "xfs", "truncate-race", "hung", "")
			if tc.mutateOld != nil {
				tc.mutateOld(oldRun)
			}
			if tc.mutateNew != nil {
				tc.mutateNew(newRun)
			}
			c := results.Compare(oldRun, newRun)
			nv := c.NoVerdict
			if nv == nil {
				t.Fatalf("a verdict: %+v", c)
			}
			if len(nv.Reasons) != len(tc.why) {
				t.Errorf("reasons %q, want %q", nv.Reasons, tc.why)
			}
			for i := range min(len(nv.Reasons), len(tc.why)) {
				if !strings.HasPrefix(nv.Reasons[i], tc.why[i]) {
					t.Errorf("reason %q, want %q", nv.Reasons[i], tc.why[i])
				}
			}
			if nv.WrongInput != tc.wrongInput {
				t.Errorf("WrongInput = %v, want %v", nv.WrongInput, tc.wrongInput)
			}
			if c.Failed() || len(c.Regressions)+len(c.NewFailures)+len(c.Fixed)+len(c.NotRun)+len(c.NewErrors)+len(c.Improvements)+len(c.Drift) > 0 || c.Compared > 0 {
				t.Errorf("a comparison that could not be made concluded something: %+v", c)
			}
			for _, f := range []string{"md", "text"} {
				var b bytes.Buffer
				if err := Comparison(&b, c, f, 0); err != nil {
					t.Fatal(err)
				}
				out := strings.ReplaceAll(strings.Join(strings.Fields(b.String()), " "), `\*`, "*")
				if !strings.Contains(out, "No verdict: "+tc.why[0]) {
					t.Errorf("%s does not say why there is no verdict:\n%s", f, b.String())
				}
				for _, bad := range []string{"No regressions", "Regressions", "New failures", "not run now", "comparison(s)"} {
					if strings.Contains(out, bad) {
						t.Errorf("%s of a refused comparison says %q:\n%s", f, bad, b.String())
					}
				}
			}
		})
	}
}

// TestComparisonSaysWhatWasJudged: "no regressions" is said only of
// metrics the rule could judge; quick runs show figures only.
func TestComparisonSaysWhatWasJudged(t *testing.T) {
	quick := loadFixture(t, "run-quick1.results.json")
	later := loadFixture(t, "run-quick1.results.json")
	later.ID = "run-quick2"
	tests := []struct {
		name     string
		old, new *results.Run
		want     string
		unwanted []string
	}{
		{"three boots a side", fixtureRun(3), fixtureRun(3), "No regressions beyond noise, no new failures and no new target errors. " +
			"192 metric comparison(s), 0 change(s) called, 192 within noise.", nil},
		{"one boot a side (recorded quick runs)", quick, later,
			"Figures only: 1 boot per side, no change can be called (3 needed); no new failures and no new target errors.",
			[]string{"No regressions", "comparison(s)", "within noise"}},
		{"one metric with one boot", fixtureRun(3), func() *results.Run {
			r := fixtureRun(3)
			setMetric(r, "patched", "ext4", "psync", results.MetricIOPS, 1650)
			return r
		}(), "No regressions beyond noise among the 191 metrics judged (1 not judged), no new failures and no new target errors. " +
			"192 metric comparison(s), 0 change(s) called, 191 within noise, 1 not judged (3 and 1 boots, 3 needed).", nil},
		{"no benchmark", func() *results.Run {
			r := fixtureRun(3)
			for _, v := range r.Variants {
				for _, tg := range v.Targets {
					tg.Bench = nil
				}
			}
			return r
		}(), fixtureRun(3), "No benchmark metrics to compare; no new failures and no new target errors.", []string{"No regressions"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := results.Compare(tc.old, tc.new)
			var b bytes.Buffer
			if err := Comparison(&b, c, "text", 0); err != nil {
				t.Fatal(err)
			}
			out := strings.Join(strings.Fields(b.String()), " ")
			if !strings.Contains(out, tc.want) {
				t.Errorf("want %q in:\n%s", tc.want, b.String())
			}
			for _, bad := range tc.unwanted {
				if strings.Contains(out, bad) {
					t.Errorf("says %q:\n%s", bad, b.String())
				}
			}
		})
	}
}

func TestComparisonRender(t *testing.T) {
	oldRun, newRun := fixtureRun(3), fixtureRun(3)
	newRun.ID = "new"
	newRun.Status = results.StatusFail
	setMetric(newRun, "patched", "ext4", "io_uring", results.MetricCtxSwitches, 8500, 8600, 8800)
	setTest(newRun, "patched", "xfs", "truncate-race", "hung", "")
	c := results.Compare(oldRun, newRun)
	if c.Regressions[0].Change < 0.99 || c.Regressions[0].Change > 1.01 {
		t.Errorf("change %.3f, want +1.0", c.Regressions[0].Change)
	}
	tests := []struct {
		format string
		want   []string
	}{
		{"md", []string{"# ktest compare: `20250314-020000-ab12` → `new`",
			"| patched | ext4 | io_uring async | ctx_switches | 4300 (4210–4390) | 8600 (8500–8800) | +100% |",
			"## New failures (1)\n\n- patched/xfs/truncate-race"}},
		{"text", []string{"Regressions (1):\n  patched/ext4/io_uring ctx_switches 4300 (4210-4390) -> 8600 (8500-8800) (+100%)", "New failures (1):\n  patched/xfs/truncate-race", "at least 3 boots per side"}},
	}
	for _, tc := range tests {
		var b bytes.Buffer
		if err := Comparison(&b, c, tc.format, 0); err != nil {
			t.Fatal(err)
		}
		for _, w := range tc.want {
			if !strings.Contains(b.String(), w) {
				t.Errorf("%s lacks %q:\n%s", tc.format, w, b.String())
			}
		}
	}
	var b bytes.Buffer
	if err := Comparison(&b, c, "json", 0); err != nil {
		t.Fatal(err)
	}
	var back results.Comparison
	if err := json.Unmarshal(b.Bytes(), &back); err != nil || !reflect.DeepEqual(back.NewFailures, c.NewFailures) {
		t.Errorf("json round trip: %v", err)
	}
	if err := Comparison(&b, c, "pdf", 0); err == nil {
		t.Errorf("Render(pdf) succeeded")
	}
}

// TestComparisonRenderWidth: the text format fits the width it is given
// and loses no word; md is never wrapped.
func TestComparisonRenderWidth(t *testing.T) {
	oldRun, newRun := fixtureRun(3), fixtureRun(3)
	newRun.ID = "new"
	newRun.Variants[1].Crashes = []results.Crash{{Kind: "warning", Title: strings.Repeat("a long title ", 12)}}
	setTest(newRun, "patched", "ext4", "eof", "fail", strings.Repeat("a long reason ", 12))
	setMetric(newRun, "patched", "ext4", "io_uring", results.MetricCtxSwitches, 8500, 8600, 8800)
	setTest(newRun, "patched", "xfs", "truncate-race", "hung", "")
	c := results.Compare(oldRun, newRun)
	var full bytes.Buffer
	if err := Comparison(&full, c, "text", 0); err != nil {
		t.Fatal(err)
	}
	for _, width := range []int{100, 80, 60} {
		var b bytes.Buffer
		if err := Comparison(&b, c, "text", width); err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(b.String(), "\n") {
			if n := len([]rune(l)); n > width {
				t.Errorf("width %d: %d-column line %q", width, n, l)
			}
		}
		if strings.Join(strings.Fields(b.String()), " ") != strings.Join(strings.Fields(full.String()), " ") {
			t.Errorf("width %d: wrapping changed the words:\n%s\nunwrapped:\n%s", width, b.String(), full.String())
		}
	}
	var md, mdNarrow bytes.Buffer
	if err := Comparison(&md, c, "md", 0); err != nil {
		t.Fatal(err)
	}
	if err := Comparison(&mdNarrow, c, "md", 40); err != nil {
		t.Fatal(err)
	}
	if md.String() != mdNarrow.String() {
		t.Error("md output depends on the width")
	}
}
