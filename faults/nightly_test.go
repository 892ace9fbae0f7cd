package faults

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ktest-dev/ktest/results"
)

// nightlyPlan is one night's plan: baseline and patched on ext4, the
// correctness tests only; on the second night "patched" is the kernel
// whose io_uring page-wait callback never wakes.
func nightlyPlan(t *testing.T, broken bool) string {
	t.Helper()
	patches := "[]"
	if broken {
		patches = `["embedded:faults-6.1"]`
	}
	text := `name = "nightly"
fragments = ["base", "debug"]
targets = ["ext4"]
suites = ["correctness"]
tests = ["rand4k-qd32-cold", "concurrent-waiters", "eof"]
file_size = "16M"
repeats = 1
cpus = 1

[timeouts]
test = "20s"
target = "5m"

[[variant]]
name = "baseline"
description = "Linux 6.1"

[[variant]]
name = "patched"
description = "tonight's kernel"
patches = ` + patches + "\n"
	path := filepath.Join(t.TempDir(), "nightly.toml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestNightlyCatchesNeverWake: nightly mode with a history, a good night
// and then a night whose patched kernel loses reads: the new failures
// are re-run once, fail again and are a regression (exit 1) in
// comparison.md; unlike runs are never compared.
func TestNightlyCatchesNeverWake(t *testing.T) {
	requireSuite(t)
	faultKernelImage(t)
	hist := filepath.Join(t.TempDir(), "history")
	night := func(name string, broken bool) (int, string, string) {
		out := filepath.Join(t.TempDir(), name)
		start := time.Now()
		code, _, stderr := runKtest(t, 20*time.Minute, procOpts{}, "run", "--plan", nightlyPlan(t, broken), "--history", hist, "--out", out)
		t.Logf("%s: exit %d in %v", name, code, time.Since(start).Round(time.Second))
		return code, stderr, out
	}
	if code, stderr, _ := night("good-night", false); code != 0 {
		t.Fatalf("good night: exit %d\n%s", code, tail(stderr, 20))
	}
	code, stderr, out := night("broken-night", true)
	if code != 1 || !strings.Contains(stderr, "regression against run good-night") || !strings.Contains(stderr, "new failure patched/ext4/") {
		t.Fatalf("broken night: exit %d, want 1 with the new failures\n%s", code, tail(stderr, 20))
	}
	cmp, err := os.ReadFile(filepath.Join(out, "comparison.md"))
	if err != nil || !strings.Contains(string(cmp), "## New failures") {
		t.Errorf("comparison.md: %v\n%s", err, cmp)
	}
	if !strings.Contains(stderr, "re-running") {
		t.Errorf("the new failures were not re-run once:\n%s", tail(stderr, 20))
	}
	run, err := results.Load(out)
	if err != nil || run.Status != results.StatusFail {
		t.Errorf("broken night's status: %v, %v", run, err)
	}
}
