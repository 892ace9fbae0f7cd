package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ktest-dev/ktest/report"
	"github.com/ktest-dev/ktest/results"
)

// cliRun is a small complete run: baseline and patched, ext4, the
// default io_uring engine with three repeats, two tests.
func cliRun(id string, ctx []float64, truncate results.TestStatus) *results.Run {
	m := func(s ...float64) results.Metric {
		return results.Metric{Median: s[1], Min: s[0], Max: s[2], Samples: s}
	}
	r := &results.Run{Schema: results.Schema, ID: id, Started: time.Date(2025, 3, 14, 2, 0, 0, 0, time.UTC),
		Complete: true, Status: results.StatusPass, Command: "ktest run --plan default", Accel: "tcg",
		Plan: results.Plan{Name: "default", Targets: []string{"ext4"}, Repeats: 3}}
	for _, name := range []string{"baseline", "patched"} {
		v := &results.Variant{Name: name, Kernel: results.Kernel{Status: "ok"}, Boot: results.Boot{Status: "ok", Seconds: 9}}
		t := &results.Target{Name: "ext4", Tests: []results.Test{
			{Name: "eof", Status: "pass", DurationMS: 120},
			{Name: "truncate-race", Status: "pass", DurationMS: 900},
		}}
		c := ctx
		if name == "baseline" {
			c = []float64{30800, 31200, 31900}
		} else {
			t.Tests[1].Status = truncate
		}
		t.Bench = []results.Engine{{Engine: "io_uring", Repeats: 3, Metrics: map[string]results.Metric{
			results.MetricWallMS:      m(3370, 3410, 3460),
			results.MetricCtxSwitches: m(c...),
		}}}
		v.Targets = []*results.Target{t}
		r.Variants = append(r.Variants, v)
	}
	return r
}

func writeRun(t *testing.T, dir, name string, r *results.Run) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := r.Write(p); err != nil {
		t.Fatal(err)
	}
	return p
}

// runCLI calls realMain with stdout captured.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = realMain(args, env{Stdout: &out, Stderr: &errb})
	return code, out.String(), errb.String()
}

func TestCompareCLI(t *testing.T) {
	dir := t.TempDir()
	good := []float64{4210, 4300, 4390}
	old := writeRun(t, dir, "old.json", cliRun("old", good, "pass"))
	same := writeRun(t, dir, "same.json", cliRun("same", []float64{4190, 4320, 4400}, "pass"))
	ctx2x := writeRun(t, dir, "ctx2x.json", cliRun("ctx2x", []float64{8500, 8600, 8800}, "pass"))
	hung := writeRun(t, dir, "hung.json", cliRun("hung", good, "hung"))
	runDir := filepath.Join(dir, "run-hung")
	writeRun(t, runDir, "results.json", cliRun("hung", good, "hung"))
	// B stopped at apply: it tested nothing.
	atApply := cliRun("at-apply", good, "pass")
	atApply.Complete, atApply.Status = false, results.StatusError
	atApply.Error = &results.StageFailure{Stage: "apply", Message: "patch 2/3 does not apply: hunk 1 conflicts"}
	for _, v := range atApply.Variants {
		v.Kernel, v.Boot, v.Targets = results.Kernel{Status: "pending"}, results.Boot{Status: "pending"}, nil
	}
	stopped := writeRun(t, dir, "at-apply.json", atApply)
	running := cliRun("running", good, "pass")
	running.Complete, running.Status = false, results.StatusRunning
	inProgress := writeRun(t, dir, "running.json", running)
	quick := cliRun("quick", good, "pass")
	quick.Plan.Boots, quick.Plan.Quick = 1, true
	otherPlan := writeRun(t, dir, "quick.json", quick)
	garbage := filepath.Join(dir, "garbage.json")
	if err := os.WriteFile(garbage, []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name      string
		args      []string
		code      int
		stdout    []string
		stderr    []string
		notStdout []string
	}{
		{"within noise", []string{"compare", old, same}, 0, []string{"No regressions beyond noise"}, nil, []string{"Regressions"}},
		{"ctx switches doubled", []string{"compare", old, ctx2x, "--format", "md"}, 1,
			[]string{"## Regressions (1)", "| patched | ext4 | io_uring async | ctx_switches | 4300 (4210–4390) | 8600 (8500–8800) | +100% |"},
			[]string{"1 regression(s), 0 new failure(s)", "regression patched/ext4/io_uring ctx_switches 4300 (4210-4390) -> 8600 (8500-8800) (+100%)"}, nil},
		{"new failure via run directory", []string{"compare", "--format", "text", old, runDir}, 1,
			[]string{"New failures (1):\n  patched/ext4/truncate-race"}, []string{"new failure patched/ext4/truncate-race"}, nil},
		{"fixed is not a failure", []string{"compare", hung, old}, 0, []string{"Fixed (1):\n  patched/ext4/truncate-race"}, nil, nil},
		{"json", []string{"compare", old, hung, "--format", "json"}, 1, []string{`"new_failures": [`}, nil, nil},
		{"B stopped at apply: no verdict, exit 3", []string{"compare", old, stopped}, 3,
			[]string{"No verdict: B stopped at apply: patch 2/3 does not apply: hunk 1 conflicts."},
			[]string{"no verdict: B stopped at apply: patch 2/3 does not apply"}, []string{"No regressions", "not run now"}},
		{"B stopped at apply, md", []string{"compare", "--format", "md", old, stopped}, 3,
			[]string{"No verdict: B stopped at apply"}, nil, []string{"No regressions", "## "}},
		{"B stopped at apply, json", []string{"compare", "--format", "json", old, stopped}, 3,
			[]string{`"no_verdict": {`, `"B stopped at apply: patch 2/3 does not apply: hunk 1 conflicts"`, `"new_failures": []`}, nil, []string{`"not_run"`}},
		{"A stopped at apply: wrong input", []string{"compare", stopped, old}, 2,
			[]string{"No verdict: A stopped at apply"}, []string{"no verdict: A stopped at apply"}, []string{"No regressions"}},
		{"B in progress: wrong input", []string{"compare", old, inProgress}, 2,
			[]string{"No verdict: B is still running"}, nil, []string{"No regressions"}},
		{"another plan: wrong input", []string{"compare", old, otherPlan}, 2,
			[]string{"No verdict: the runs were not made alike: boots 0 vs 1"}, nil, []string{"No regressions"}},
		{"unreadable input", []string{"compare", old, garbage}, 2, nil, []string{"garbage.json: not a ktest results document"}, nil},
		{"missing file", []string{"compare", old, filepath.Join(dir, "nope.json")}, 2, nil, []string{"nope.json"}, nil},
		{"one argument", []string{"compare", old}, 2, nil, []string{"want two runs"}, nil},
		{"bad format", []string{"compare", old, same, "--format", "pdf"}, 2, nil, []string{"--format"}, nil},
		{"help", []string{"compare", "-h"}, 0, nil, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runCLI(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.code, errs)
			}
			for _, w := range tc.stdout {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tc.notStdout {
				if strings.Contains(out, w) {
					t.Errorf("stdout has %q:\n%s", w, out)
				}
			}
			for _, w := range tc.stderr {
				if !strings.Contains(errs, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errs)
				}
			}
		})
	}
	// The JSON output is a Comparison.
	_, out, _ := runCLI(t, "compare", old, ctx2x, "--format", "json")
	var c results.Comparison
	if err := json.Unmarshal([]byte(out), &c); err != nil || len(c.Regressions) != 1 || c.Regressions[0].Metric != results.MetricCtxSwitches {
		t.Errorf("json comparison: %v %+v", err, c.Regressions)
	}
}

func TestReportCLI(t *testing.T) {
	dir := t.TempDir()
	runDir := filepath.Join(dir, "run")
	writeRun(t, runDir, "results.json", cliRun("r1", []float64{4210, 4300, 4390}, "hung"))
	outFile := filepath.Join(dir, "junit.xml")

	code, _, errs := runCLI(t, "report", runDir, "--format", "junit", "-o", outFile)
	if code != 0 {
		t.Fatalf("report -o: exit %d: %s", code, errs)
	}
	data, err := os.ReadFile(outFile)
	if err != nil {
		t.Fatal(err)
	}
	var ju report.JUnitSuites
	if err := xml.Unmarshal(data, &ju); err != nil || ju.Failures != 1 || ju.Tests == 0 {
		t.Errorf("junit file: %v, failures=%d tests=%d", err, ju.Failures, ju.Tests)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, ".junit.xml.tmp-*")); len(leftovers) > 0 {
		t.Errorf("temp files left: %v", leftovers)
	}

	// A passing run is signed; the one with a hung test is not, and
	// says why.
	passDir := filepath.Join(dir, "pass")
	writeRun(t, passDir, "results.json", cliRun("r2", []float64{4210, 4300, 4390}, "pass"))
	code, out, _ := runCLI(t, "report", "--signature", "Jane Doe <jane@example.org>", "--format", "email", passDir)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) < 2 || lines[len(lines)-2] != "Tested-by: Jane Doe <jane@example.org>" || lines[len(lines)-1] != "ktest run --plan default" {
		t.Errorf("email: exit %d, ends %q", code, lines[max(0, len(lines)-2):])
	}
	code, out, _ = runCLI(t, "report", "--signature", "Jane Doe <jane@example.org>", "--format", "email", runDir)
	flat := strings.Join(strings.Fields(out), " ")
	if code != 0 || strings.Contains(out, "Tested-by:") ||
		!strings.HasSuffix(flat, "No Tested-by from this run: 1 test failed or hung: patched/ext4/truncate-race. ktest run --plan default") {
		t.Errorf("email of a failed run: exit %d, ends %q", code, flat[max(0, len(flat)-120):])
	}
	code, out, _ = runCLI(t, "report", filepath.Join(runDir, "results.json"))
	if code != 0 || !strings.Contains(out, "| io_uring async | baseline |") {
		t.Errorf("md by default: exit %d:\n%s", code, out)
	}
	for _, bad := range [][]string{
		{"report", runDir, "--format", "pdf"},
		{"report", filepath.Join(dir, "missing")},
		{"report"},
		{"report", runDir, runDir},
	} {
		if code, _, _ := runCLI(t, bad...); code != 2 {
			t.Errorf("%v: exit %d, want 2", bad, code)
		}
	}
}

// TestCompareRecordedRuns: ktest compare on real runs. Against a run
// that stopped at apply and tested nothing there is no verdict, exit 3
// (B's own failure), never "No regressions"; the wrong way round is the
// wrong input, exit 2; two quick runs compare their tests and show the
// metrics as figures only.
func TestCompareRecordedRuns(t *testing.T) {
	const dir = "../../results/testdata/"
	good, atApply, interrupted := dir+"run-quick-ext4.results.json", dir+"run-stopped-at-apply.results.json", dir+"run-interrupted.results.json"
	tests := []struct {
		name   string
		a, b   string
		code   int
		stdout string
		stderr string
	}{
		{"B stopped at apply", good, atApply, ExitInfra,
			"No verdict: B stopped at apply [patched]: 1/1 fs: a change written against another tree: fs/read_write.c: hunk #1 (line 10): hunk does not match.",
			"ktest compare: no verdict: B stopped at apply [patched]"},
		{"A stopped at apply", atApply, good, ExitUsage, "No verdict: A stopped at apply [patched]", "no verdict: A stopped at apply"},
		{"B interrupted", good, interrupted, ExitUsage, "No verdict: B was interrupted during test [baseline/ext4]: interrupted by SIGINT.", "no verdict: B was interrupted"},
		{"quick against quick", good, good, ExitOK,
			"Figures only: 1 boot per side, no change can be called (3 needed); no new failures and no new target errors.", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runCLI(t, "compare", "--format", "text", tc.a, tc.b)
			flat := strings.Join(strings.Fields(out), " ")
			if code != tc.code || !strings.Contains(flat, tc.stdout) || !strings.Contains(errs, tc.stderr) {
				t.Errorf("exit %d (want %d)\nstdout:\n%s\nstderr:\n%s", code, tc.code, out, errs)
			}
			if strings.Contains(out, "No regressions") {
				t.Errorf("claims no regressions:\n%s", out)
			}
		})
	}
}
