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
		{
			name: "a target that did not run is reported, not failed",
			mutateNew: func(r *Run) {
				v := r.Variant("patched")
				v.Targets = v.Targets[:3]
			},
			notRun: func() []string {
				var out []string
				for _, n := range fixtureTests {
					out = append(out, "patched/raw/"+n)
				}
				return out
			}(),
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
			if want := len(tc.regressions)+len(tc.newFailures) > 0; c.Failed() != want {
				t.Errorf("Failed() = %v, want %v", c.Failed(), want)
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
	newRun.Complete, newRun.Status = false, StatusInterrupted
	newRun.Error = &StageError{Stage: "tests", Variant: "patched", Message: "interrupt"}
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
		{"md", []string{"# ktest compare: `20250314-020000-ab12` → `new`", "new run is INCOMPLETE: interrupted during tests [patched]: interrupt",
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
	newRun.Complete, newRun.Status = false, StatusInterrupted
	newRun.Error = &StageError{Stage: "tests", Variant: "patched", Message: strings.Repeat("a long reason ", 12)}
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
	c.Render(&md, "md")
	c.RenderWidth(&mdNarrow, "md", 40)
	if md.String() != mdNarrow.String() {
		t.Error("md output depends on the width")
	}
}
