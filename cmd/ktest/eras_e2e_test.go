package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ktest-dev/ktest/kbuild"
	"github.com/ktest-dev/ktest/results"
)

// TestRunQuickOn612 is the default A/B on Debian's 6.12 LTS: `ktest run
// --quick --tree debian:6.12` installs and extracts linux-source-6.12,
// chooses the fop_flags era and its baseline, builds both variants (a
// cold 6.12 build on an empty cache: 20–40 minutes on 2 loaded cores),
// boots them, and must pass with the series' effect on every target.
// Then the same on the tree extracted by hand into a plain directory,
// which is no git repository and whose kernels are the same by content.
//
// Opt-in (make e2e-eras, or KTEST_E2E_ERAS=1): the cold build would push
// make test past its budget.
func TestRunQuickOn612(t *testing.T) {
	if testing.Short() || os.Getenv("KTEST_E2E_ERAS") == "" {
		t.Skip("opt-in: KTEST_E2E_ERAS=1 (make e2e-eras) builds and boots Debian's 6.12")
	}
	t.Run("debian:6.12", func(t *testing.T) {
		checkRun612(t, "debian:6.12")
	})
	t.Run("plain directory", func(t *testing.T) {
		cache, err := kbuild.OpenCache("")
		if err != nil {
			t.Fatal(err)
		}
		// The tarball debian:6.12 installed, extracted afresh.
		tree, err := kbuild.DebianTree(context.Background(), cache, "6.12", testWriter{t})
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		tarball := "/usr/src/linux-source-6.12.tar.xz"
		if out, err := exec.Command("tar", "-xf", tarball, "-C", dir).CombinedOutput(); err != nil {
			t.Fatalf("extracting %s: %v: %s", tarball, err, out)
		}
		plain := filepath.Join(dir, "linux-source-6.12")
		if _, err := os.Stat(filepath.Join(plain, ".git")); err == nil {
			t.Fatalf("%s is a git repository", plain)
		}
		run := checkRun612(t, plain)
		if run.Tree.Kind != "plain" || run.Tree.Key != tree.Key {
			t.Errorf("tree %+v, want a plain tree keyed %s like debian:6.12", run.Tree, tree.Key)
		}
		for _, v := range run.Variants {
			if !v.Kernel.Cached {
				t.Errorf("%s: rebuilt; the same sources must reuse debian:6.12's kernel", v.Name)
			}
		}
	})
}

func checkRun612(t *testing.T, tree string) *results.Run {
	t.Helper()
	out := filepath.Join(t.TempDir(), "run")
	var stderr bytes.Buffer
	start := time.Now()
	code := realMain([]string{"run", "--quick", "--tree", tree, "--out", out}, env{Stdout: os.Stdout, Stderr: &stderr})
	t.Logf("ktest run --quick --tree %s: exit %d in %s", tree, code, time.Since(start).Round(time.Second))
	logTail(t, out)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	run, err := results.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if !run.Complete || run.Status != results.StatusPass {
		t.Fatalf("run complete=%v status=%s error=%+v", run.Complete, run.Status, run.Error)
	}
	e := run.Tree.Era
	if e == nil || e.Name != "fop_flags" || e.Flag != "FOP_BUFFER_RASYNC" || e.Baseline != "embedded:baseline-6.12" || !e.Verified {
		t.Errorf("era %+v, want fop_flags with embedded:baseline-6.12, verified", e)
	}
	summary, _ := os.ReadFile(filepath.Join(out, "summary.md"))
	if !strings.Contains(string(summary), "**Era:** fop_flags (FOP_BUFFER_RASYNC), baseline embedded:baseline-6.12") {
		t.Errorf("the summary does not name the era and baseline")
	}
	for _, v := range run.Variants {
		if !strings.HasPrefix(v.Kernel.Release, "6.12.") {
			t.Errorf("%s: release %q", v.Name, v.Kernel.Release)
		}
		for _, target := range []string{"ext4", "xfs", "btrfs", "raw"} {
			tg := v.Target(target)
			if tg == nil || tg.Error != "" || len(tg.Tests) < 9 {
				t.Errorf("%s/%s: %+v", v.Name, target, tg)
				continue
			}
			for _, ts := range tg.Tests {
				// A raw device cannot be truncated: that test is skipped
				// there, saying so, on every kernel.
				skipped := target == "raw" && ts.Status == results.TestSkip && ts.Message != ""
				if ts.Status != results.TestPass && !skipped {
					t.Errorf("%s/%s/%s: %s %s", v.Name, target, ts.Name, ts.Status, ts.Message)
				}
			}
			// The 6.12 profiles (btrfs has none newer than 5.15's that
			// this host's mkfs.btrfs makes), read back from the superblock.
			want := map[string]string{"ext4": "ext4/6.12", "xfs": "xfs/6.12", "btrfs": "btrfs/5.15"}[target]
			if want != "" && (tg.Mkfs == nil || tg.Mkfs.Profile != want || len(tg.Mkfs.Features) == 0) {
				t.Errorf("%s/%s: made with %+v, want profile %s", v.Name, target, tg.Mkfs, want)
			}
		}
	}
	// The series' effect on every target: io_uring punts the buffered
	// reads to io-wq workers on the baseline, and needs none patched.
	for _, target := range []string{"ext4", "xfs", "btrfs", "raw"} {
		base := run.Variant("baseline").Target(target).Engine("io_uring")
		patched := run.Variant("patched").Target(target).Engine("io_uring")
		if base == nil || patched == nil {
			t.Errorf("%s: no io_uring engine", target)
			continue
		}
		b, p := base.Metrics[results.MetricWorkers].Median, patched.Metrics[results.MetricWorkers].Median
		t.Logf("%s: io_uring io-wq workers: baseline %v, patched %v", target, b, p)
		if b < 1 || p != 0 {
			t.Errorf("%s: io-wq workers baseline %v, patched %v; want > 0 and 0", target, b, p)
		}
	}
	return run
}

// testWriter logs through t.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
