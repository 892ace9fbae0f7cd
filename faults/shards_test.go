package faults

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ktest-dev/ktest/results"
)

// TestShardsMerge is nightly CI on two machines, played by two ktest
// processes with caches of their own: one builds the kernels once and
// exports them, each shard imports them (the one with an empty cache
// builds nothing), and `ktest merge` joins the shards into the run one
// machine would have written: the same tests, statuses and verdicts.
func TestShardsMerge(t *testing.T) {
	requireSuite(t)
	stockKernelImage(t) // the first machine's cache holds the kernels
	work := t.TempDir()
	kernels := filepath.Join(work, "kernels")
	other := []string{"KTEST_CACHE=" + filepath.Join(work, "cache-2")} // the second machine

	run := func(name string, env []string, args ...string) string {
		t.Helper()
		start := time.Now()
		code, _, stderr := runKtest(t, 30*time.Minute, procOpts{env: env}, args...)
		t.Logf("%s: exit %d in %v", name, code, time.Since(start).Round(time.Second))
		if code != 0 {
			t.Fatalf("%s: exit %d\n%s", name, code, tail(stderr, 30))
		}
		return stderr
	}
	run("build job", nil, "run", "--quick", "--build-only", "--export-kernels", kernels, "--out", filepath.Join(work, "build"))
	for _, v := range []string{"baseline", "patched"} {
		if _, err := os.Stat(filepath.Join(kernels, v, "bzImage")); err != nil {
			t.Fatalf("no exported %s kernel: %v", v, err)
		}
	}
	s1, s2 := filepath.Join(work, "shard-1"), filepath.Join(work, "shard-2")
	run("shard 1/2", nil, "run", "--quick", "--shard", "1/2", "--kernels", kernels, "--out", s1)
	log2 := run("shard 2/2 (empty cache)", other, "run", "--quick", "--shard", "2/2", "--kernels", kernels, "--out", s2)
	if strings.Contains(log2, "make -j") || strings.Count(log2, "imported from "+kernels) != 2 {
		t.Errorf("the second machine built a kernel instead of importing both:\n%s", grepLines(log2, "build"))
	}
	merged := filepath.Join(work, "merged")
	run("merge", nil, "merge", merged, s2, s1)
	whole := filepath.Join(work, "one-machine")
	run("one machine", nil, "run", "--quick", "--out", whole)

	m, err := results.Load(merged)
	if err != nil {
		t.Fatal(err)
	}
	w, err := results.Load(whole)
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != w.Status || !m.Complete || !slices.Equal(m.Plan.Targets, w.Plan.Targets) {
		t.Errorf("merged: status %s complete %v targets %v; one machine: %s %v", m.Status, m.Complete, m.Plan.Targets, w.Status, w.Plan.Targets)
	}
	tests := func(r *results.Run) []string {
		var out []string
		for _, v := range r.Variants {
			if v.Kernel.Key != w.Variant(v.Name).Kernel.Key {
				t.Errorf("%s: kernel %s, one machine's %s", v.Name, v.Kernel.Key, w.Variant(v.Name).Kernel.Key)
			}
			for _, tg := range v.Targets {
				for _, tc := range tg.Tests {
					out = append(out, v.Name+"/"+tg.Name+"/"+tc.Name+" "+string(tc.Status))
				}
			}
		}
		return out
	}
	if a, b := tests(m), tests(w); !slices.Equal(a, b) {
		t.Errorf("tests and statuses differ:\nmerged:      %v\none machine: %v", a, b)
	}
	// The same verdicts: with --quick, one boot a side, nothing is
	// called on either, and both say why.
	for name, dir := range map[string]string{"merged": merged, "one machine": whole} {
		md, _ := os.ReadFile(filepath.Join(dir, "summary.md"))
		if !strings.Contains(string(md), "Figures only: 1 boot per side, no change can be called") || !strings.Contains(string(md), "No change can be called on ext4: 1 boot per side") {
			t.Errorf("%s summary.md lacks the verdict count:\n%s", name, grepLines(string(md), "Verdicts|No change"))
		}
	}
}
