package results

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestCompare(t *testing.T) {
	tests := []struct {
		name         string
		mutateOld    func(*Run)
		mutateNew    func(*Run)
		regressions  []string // "variant/target/engine metric"
		improvements []string
		newFailures  []string
		fixed        []string
		notRun       []string
		newErrors    []string
	}{
		{name: "identical runs"},
		{
			name: "2x ctx switches on patched io_uring",
			mutateNew: func(r *Run) {
				setMetric(r, "patched", "ext4", "io_uring", MetricCtxSwitches, 8500, 8600, 8800)
			},
			regressions: []string{"patched/ext4/io_uring ctx_switches"},
		},
		{
			name: "within noise: overlapping ranges and a sub-floor shift",
			mutateNew: func(r *Run) {
				setMetric(r, "patched", "ext4", "io_uring", MetricWallMS, 3400, 3450, 3500)     // overlaps 3370–3460
				setMetric(r, "baseline", "xfs", "psync", MetricWallMS, 10250, 10260, 10270)     // disjoint but +1.4%
				setMetric(r, "patched", "raw", "io_uring", MetricCtxSwitches, 4000, 4010, 4050) // lower, within noise
			},
		},
		{
			name: "lower IOPS and more io-wq workers are regressions, higher IOPS is not",
			mutateNew: func(r *Run) {
				setMetric(r, "patched", "btrfs", "io_uring", MetricIOPS, 3500, 3520, 3540)
				setMetric(r, "patched", "btrfs", "io_uring", MetricWorkers, 4, 4, 4)
				setMetric(r, "baseline", "btrfs", "io_uring", MetricIOPS, 5000, 5100, 5200)
			},
			regressions:  []string{"patched/btrfs/io_uring iops", "patched/btrfs/io_uring iowq_workers_peak"},
			improvements: []string{"baseline/btrfs/io_uring iops"},
		},
		{
			name: "a target that newly cannot be set up is a regression, its tests not left out",
			mutateNew: func(r *Run) {
				tg := r.Variant("patched").Target("xfs")
				tg.Error, tg.Tests, tg.Bench = "mkfs.xfs: unknown feature", nil, nil
			},
			newErrors: []string{"patched/xfs"},
		},
		{
			name: "a newly failing test, a fixed one, a skip is neither",
			mutateOld: func(r *Run) {
				setTest(r, "baseline", "raw", "eof", "fail", "short read")
				setTest(r, "patched", "ext4", "eof", "skip", "n/a")
			},
			mutateNew: func(r *Run) {
				setTest(r, "patched", "xfs", "truncate-race", "hung", "no completion after 60s")
				setTest(r, "patched", "btrfs", "eof", "fail", "short read")
				setTest(r, "patched", "ext4", "eof", "fail", "was skipped before")
			},
			newFailures: []string{"patched/xfs/truncate-race", "patched/btrfs/eof"},
			fixed:       []string{"baseline/raw/eof"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			oldRun, newRun := fixtureRun(3), fixtureRun(3)
			newRun.ID = "20250315-020000-cd34"
			if tc.mutateOld != nil {
				tc.mutateOld(oldRun)
			}
			if tc.mutateNew != nil {
				tc.mutateNew(newRun)
			}
			c := Compare(oldRun, newRun)
			names := func(gs []Regression) []string {
				var out []string
				for _, g := range gs {
					out = append(out, g.Variant+"/"+g.Target+"/"+g.Engine+" "+g.Metric)
				}
				return out
			}
			if got := names(c.Regressions); !sameStrings(got, tc.regressions) {
				t.Errorf("regressions %v, want %v", got, tc.regressions)
			}
			if got := names(c.Improvements); !sameStrings(got, tc.improvements) {
				t.Errorf("improvements %v, want %v", got, tc.improvements)
			}
			if want := len(tc.regressions) + len(tc.improvements); c.Called != want {
				t.Errorf("%d changes called, want %d (every one listed)", c.Called, want)
			}
			if !sameStrings(strs(c.NewFailures), tc.newFailures) || !sameStrings(strs(c.Fixed), tc.fixed) || !sameStrings(strs(c.NotRun), tc.notRun) {
				t.Errorf("new failures %v fixed %v not run %v; want %v %v %v", c.NewFailures, c.Fixed, c.NotRun, tc.newFailures, tc.fixed, tc.notRun)
			}
			if !sameStrings(strs(c.NewErrors), tc.newErrors) {
				t.Errorf("new errors %v, want %v", c.NewErrors, tc.newErrors)
			}
			if want := len(tc.regressions)+len(tc.newFailures)+len(tc.newErrors) > 0; c.Failed() != want {
				t.Errorf("Failed() = %v, want %v", c.Failed(), want)
			}
			if c.NoVerdict != nil {
				t.Errorf("no verdict: %v", c.NoVerdict)
			}
		})
	}
}

// TestCompareRefuses: no verdict from a side that did not finish or
// tested nothing, nor from runs not made alike; it says why, names
// whose fault it is, and concludes nothing at all.
func TestCompareRefuses(t *testing.T) {
	stoppedAtApply := func(r *Run) {
		r.Complete, r.Status = false, StatusError
		r.Error = &StageFailure{Stage: "apply", Message: "patch 2/3 mm: add support for async page locking does not apply\nhunk 3 conflicts"}
		r.Stages = r.Stages[:1]
		r.Stages[0].Status = StageFailed
		for _, v := range r.Variants {
			v.Kernel, v.Boot, v.Targets = Kernel{Status: StepPending}, Boot{Status: StepPending}, nil
		}
	}
	tests := []struct {
		name       string
		mutateOld  func(*Run)
		mutateNew  func(*Run)
		why        []string
		wrongInput bool
	}{
		{name: "B stopped at apply", mutateNew: stoppedAtApply,
			why: []string{"B stopped at apply: patch 2/3 mm: add support for async page locking does not apply"}},
		{name: "B stopped at a build", mutateNew: func(r *Run) {
			r.Complete, r.Status = false, StatusError
			r.Error = &StageFailure{Stage: "build", Variant: "patched", Message: "make: *** [bzImage] Error 2"}
		}, why: []string{"B stopped at build [patched]: make: *** [bzImage] Error 2"}},
		{name: "B still running", mutateNew: func(r *Run) {
			r.Complete, r.Status = false, StatusRunning
		}, why: []string{"B is still running, at tests [patched]"}, wrongInput: true},
		{name: "B interrupted", mutateNew: func(r *Run) {
			r.Complete, r.Status = false, StatusInterrupted
			r.Error = &StageFailure{Stage: "tests", Variant: "baseline", Message: "interrupted by SIGTERM"}
		}, why: []string{"B was interrupted during tests [baseline]: interrupted by SIGTERM"}, wrongInput: true},
		{name: "A stopped at apply", mutateOld: stoppedAtApply,
			why: []string{"A stopped at apply: patch 2/3"}, wrongInput: true},
		{name: "both", mutateOld: stoppedAtApply, mutateNew: stoppedAtApply,
			why: []string{"A stopped at apply", "B stopped at apply"}, wrongInput: true},
		{name: "B built only", mutateNew: func(r *Run) { r.BuildOnly = true },
			why: []string{"B is a build-only run: it tested nothing"}, wrongInput: true},
		{name: "other targets", mutateNew: func(r *Run) {
			r.Plan.Targets = r.Plan.Targets[:2]
			for _, v := range r.Variants {
				v.Targets = v.Targets[:2]
			}
		}, why: []string{"the runs were not made alike: targets [ext4 xfs btrfs raw] vs [ext4 xfs]"}, wrongInput: true},
		{name: "other sizes and boots", mutateNew: func(r *Run) { r.Plan.FileSize, r.Plan.Boots = "16M", 1 },
			why: []string{"the runs were not made alike: file_size 64M vs 16M; boots 0 vs 1"}, wrongInput: true},
		{name: "another control", mutateNew: func(r *Run) { r.Plan.Control = "psync" },
			why: []string{"the runs were not made alike: control none vs psync"}, wrongInput: true},
		{name: "other variants", mutateNew: func(r *Run) { r.Variants[0].Name = "kasan" },
			why: []string{"the runs have different variants: baseline, patched vs kasan, patched"}, wrongInput: true},
		{name: "B left out tests A passed", mutateNew: func(r *Run) {
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
			setMetric(newRun, "patched", "ext4", "io_uring", MetricCtxSwitches, 8500, 8600, 8800)
			setTest(newRun, "patched", "xfs", "truncate-race", "hung", "")
			if tc.mutateOld != nil {
				tc.mutateOld(oldRun)
			}
			if tc.mutateNew != nil {
				tc.mutateNew(newRun)
			}
			c := Compare(oldRun, newRun)
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
				if err := c.Render(&b, f); err != nil {
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
		old, new *Run
		want     string
		unwanted []string
	}{
		{"three boots a side", fixtureRun(3), fixtureRun(3), "No regressions beyond noise, no new failures and no new target errors. " +
			"192 metric comparison(s), 0 change(s) called, 192 within noise.", nil},
		{"one boot a side (recorded quick runs)", quick, later,
			"Figures only: 1 boot per side, no change can be called (3 needed); no new failures and no new target errors.",
			[]string{"No regressions", "comparison(s)", "within noise"}},
		{"one metric with one boot", fixtureRun(3), func() *Run {
			r := fixtureRun(3)
			setMetric(r, "patched", "ext4", "psync", MetricIOPS, 1650)
			return r
		}(), "No regressions beyond noise among the 191 metrics judged (1 not judged), no new failures and no new target errors. " +
			"192 metric comparison(s), 0 change(s) called, 191 within noise, 1 not judged (3 and 1 boots, 3 needed).", nil},
		{"no benchmark", func() *Run {
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
			c := Compare(tc.old, tc.new)
			var b bytes.Buffer
			if err := c.Render(&b, "text"); err != nil {
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

func sameStrings(a, b []string) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return reflect.DeepEqual(a, b)
}

func TestComparisonRender(t *testing.T) {
	oldRun, newRun := fixtureRun(3), fixtureRun(3)
	newRun.ID = "new"
	newRun.Status = StatusFail
	setMetric(newRun, "patched", "ext4", "io_uring", MetricCtxSwitches, 8500, 8600, 8800)
	setTest(newRun, "patched", "xfs", "truncate-race", "hung", "")
	c := Compare(oldRun, newRun)
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
		if err := c.Render(&b, tc.format); err != nil {
			t.Fatal(err)
		}
		for _, w := range tc.want {
			if !strings.Contains(b.String(), w) {
				t.Errorf("%s lacks %q:\n%s", tc.format, w, b.String())
			}
		}
	}
	var b bytes.Buffer
	if err := c.Render(&b, "json"); err != nil {
		t.Fatal(err)
	}
	var back Comparison
	if err := json.Unmarshal(b.Bytes(), &back); err != nil || !reflect.DeepEqual(back.NewFailures, c.NewFailures) {
		t.Errorf("json round trip: %v", err)
	}
	if err := c.Render(&b, "pdf"); err == nil {
		t.Errorf("Render(pdf) succeeded")
	}
}

// TestComparisonRenderWidth: the text format fits the width it is given
// and loses no word; md is never wrapped.
func TestComparisonRenderWidth(t *testing.T) {
	oldRun, newRun := fixtureRun(3), fixtureRun(3)
	newRun.ID = "new"
	newRun.Variants[1].Crashes = []Crash{{Kind: "warning", Title: strings.Repeat("a long title ", 12)}}
	setTest(newRun, "patched", "ext4", "eof", "fail", strings.Repeat("a long reason ", 12))
	setMetric(newRun, "patched", "ext4", "io_uring", MetricCtxSwitches, 8500, 8600, 8800)
	setTest(newRun, "patched", "xfs", "truncate-race", "hung", "")
	c := Compare(oldRun, newRun)
	var full bytes.Buffer
	if err := c.Render(&full, "text"); err != nil {
		t.Fatal(err)
	}
	for _, width := range []int{100, 80, 60} {
		var b bytes.Buffer
		if err := c.RenderWidth(&b, "text", width); err != nil {
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
	if err := c.Render(&md, "md"); err != nil {
		t.Fatal(err)
	}
	if err := c.RenderWidth(&mdNarrow, "md", 40); err != nil {
		t.Fatal(err)
	}
	if md.String() != mdNarrow.String() {
		t.Error("md output depends on the width")
	}
}
