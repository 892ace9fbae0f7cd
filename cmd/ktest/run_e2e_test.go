package main

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ktest-dev/ktest/report"
	"github.com/ktest-dev/ktest/results"
)

// TestRunQuickEndToEnd is the project's end-to-end check: `ktest run
// --quick` on the default plan really builds both 6.1 variants (or finds
// them cached), boots each in QEMU, makes ext4, XFS and btrfs, reads
// through io_uring on them and on the raw device, and writes the results.
func TestRunQuickEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end: builds kernels and boots QEMU")
	}
	out := filepath.Join(t.TempDir(), "run")
	var stderr bytes.Buffer
	code := realMain([]string{"run", "--quick", "--out", out}, env{Stdout: os.Stdout, Stderr: &stderr})
	logTail(t, out)
	if code != ExitOK {
		t.Fatalf("ktest run --quick exited %d: %s", code, stderr.String())
	}
	run, err := results.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if !run.Complete || run.Status != results.StatusPass {
		t.Fatalf("run complete=%v status=%s error=%+v", run.Complete, run.Status, run.Error)
	}
	if run.Accel != "kvm" && run.Accel != "tcg" {
		t.Errorf("accel = %q", run.Accel)
	}
	for _, name := range []string{"baseline", "patched"} {
		v := run.Variant(name)
		if v == nil {
			t.Fatalf("no variant %s", name)
		}
		if !strings.HasPrefix(v.Kernel.Release, "6.1.") || v.Boot.Status != "ok" {
			t.Errorf("%s: release %q boot %s", name, v.Kernel.Release, v.Boot.Status)
		}
		for _, target := range []string{"ext4", "xfs", "btrfs", "raw"} {
			tg := v.Target(target)
			if tg == nil {
				t.Errorf("%s: no target %s", name, target)
				continue
			}
			if len(tg.Tests) < 9 {
				t.Errorf("%s/%s: only %d tests ran", name, target, len(tg.Tests))
			}
			for _, e := range []string{"psync", "io_uring-offload", "io_uring"} {
				eng := tg.Engine(e)
				if eng == nil || eng.Metrics[results.MetricIOPS].Median <= 0 {
					t.Errorf("%s/%s: engine %s missing or no IOPS", name, target, e)
				}
			}
		}
	}
	// The series' effect, qualitatively: without FMODE_BUF_RASYNC the
	// default io_uring engine punts buffered reads to io-wq workers.
	for _, target := range []string{"ext4", "xfs", "btrfs", "raw"} {
		base := run.Variant("baseline").Target(target).Engine("io_uring")
		if w := base.Metrics[results.MetricWorkers].Median; w < 1 {
			t.Errorf("baseline/%s: io_uring used %v io-wq workers, want > 0 (reads should be punted)", target, w)
		}
	}
	for _, f := range []string{"results.json", "summary.md", "junit.xml", "email.txt", "report.html"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
	junit, _ := os.ReadFile(filepath.Join(out, "junit.xml"))
	var suites report.JUnitSuites
	if err := xml.Unmarshal(junit, &suites); err != nil {
		t.Errorf("junit.xml is not valid XML: %v", err)
	}
	// One boot a side: figures only, so no Tested-by; the email ends
	// saying why, then the reproduce command.
	email, _ := os.ReadFile(filepath.Join(out, "email.txt"))
	flat := strings.Join(strings.Fields(string(email)), " ")
	if strings.Contains(flat, "Tested-by:") || !strings.Contains(flat, "No Tested-by from this run: figures only: 1 boot per side, no change can be called") ||
		!strings.Contains(flat[strings.LastIndex(flat, "No Tested-by"):], "ktest run --quick") {
		t.Errorf("email does not end with why it has no Tested-by and the reproduce command: %q", flat[max(0, len(flat)-200):])
	}
}

func logTail(t *testing.T, out string) {
	if s, err := os.ReadFile(filepath.Join(out, "summary.md")); err == nil {
		t.Logf("summary.md:\n%s", s)
	}
}
