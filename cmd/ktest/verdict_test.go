package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ktest-dev/ktest/results"
)

// shardRun is shard k of 2 of a plan over ext4 and xfs: cliRun on the
// shard's target.
func shardRun(id string, k int, day int) *results.Run {
	target := []string{"ext4", "xfs"}[k-1]
	r := cliRun(id, []float64{4210, 4300, 4390}, "pass")
	r.Started = time.Date(2025, 3, day, 2, 0, 0, 0, time.UTC)
	r.Plan.Targets = []string{target}
	r.Shard = &results.Shard{K: k, N: 2, PlanTargets: []string{"ext4", "xfs"}}
	for _, v := range r.Variants {
		v.Targets[0].Name = target
	}
	return r
}

// TestNightlyRefusesAnIncompleteRun: nightly mode (here `ktest merge
// --history`, as CI runs it) never says "no regressions" of a night that
// did not finish: a missing shard is no verdict, exit 3, said in
// comparison.md; the night is still kept in the history.
func TestNightlyRefusesAnIncompleteRun(t *testing.T) {
	dir := t.TempDir()
	hist := filepath.Join(dir, "history")
	shards := func(night string, day int, ks ...int) []string {
		var out []string
		for _, k := range ks {
			d := filepath.Join(dir, night, "shard"+string(rune('0'+k)))
			writeRun(t, d, "results.json", shardRun(night+"-"+string(rune('0'+k)), k, day))
			out = append(out, d)
		}
		return out
	}
	good := filepath.Join(dir, "good-night")
	code, _, stderr := runCLI(t, append([]string{"merge", "--history", hist, good}, shards("n1", 1, 1, 2)...)...)
	if code != 0 {
		t.Fatalf("first night: exit %d\n%s", code, stderr)
	}
	bad := filepath.Join(dir, "bad-night")
	code, stdout, stderr := runCLI(t, append([]string{"merge", "--history", hist, bad}, shards("n2", 2, 1)...)...)
	if code != ExitInfra || !strings.Contains(stderr, "no verdict: B stopped at merge: missing shard(s) 2/2") {
		t.Errorf("a night missing a shard: exit %d, want %d with no verdict\n%s", code, ExitInfra, stderr)
	}
	cmp, err := os.ReadFile(filepath.Join(bad, "comparison.md"))
	if err != nil || !strings.Contains(string(cmp), "No verdict: B stopped at merge: missing shard(s) 2/2.") {
		t.Errorf("comparison.md: %v\n%s", err, cmp)
	}
	for _, text := range []string{string(cmp), stdout} {
		if strings.Contains(text, "No regressions") {
			t.Errorf("no regressions claimed of a night that did not finish:\n%s", text)
		}
	}
	if stored, _ := filepath.Glob(filepath.Join(hist, "*.json")); len(stored) != 2 {
		t.Errorf("history holds %v, want both nights", stored)
	}
}

// TestNightlyRefusesAStoppedRun: the comparison of a run that stopped at
// a stage (what `ktest run --history` does after a failed stage) is no
// verdict, exit 3, and comparison.md says why.
func TestNightlyRefusesAStoppedRun(t *testing.T) {
	dir := t.TempDir()
	hist := results.History{Dir: filepath.Join(dir, "history")}
	if _, err := hist.Add(cliRun("good", []float64{4210, 4300, 4390}, "pass")); err != nil {
		t.Fatal(err)
	}
	stopped := cliRun("stopped", []float64{4210, 4300, 4390}, "pass")
	stopped.Started = stopped.Started.Add(24 * time.Hour)
	stopped.Complete, stopped.Status = false, results.StatusError
	stopped.Error = &results.StageFailure{Stage: "apply", Variant: "patched", Message: "patch 2/3 does not apply"}
	for _, v := range stopped.Variants {
		v.Targets = nil
	}
	var out strings.Builder
	compared, err := nightly(context.Background(), env{Stdout: &out, Stderr: io.Discard}, hist.Dir, stopped, dir, nil)
	if !compared || exitCode(context.Background(), err) != ExitInfra || !strings.Contains(err.Error(), "no verdict: B stopped at apply [patched]: patch 2/3 does not apply") {
		t.Errorf("nightly = %v, %v (exit %d), want no verdict, exit 3", compared, err, exitCode(context.Background(), err))
	}
	cmp, rerr := os.ReadFile(filepath.Join(dir, "comparison.md"))
	if rerr != nil || !strings.Contains(string(cmp), "No verdict: B stopped at apply [patched]") || strings.Contains(string(cmp), "No regressions") {
		t.Errorf("comparison.md: %v\n%s", rerr, cmp)
	}
	if _, err := os.Stat(filepath.Join(hist.Dir, "stopped.json")); err != nil {
		t.Errorf("the stopped night is not kept: %v", err)
	}
}
