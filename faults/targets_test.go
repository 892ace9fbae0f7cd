package faults

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ktest-dev/ktest/report"
	"github.com/ktest-dev/ktest/results"
)

// targetPlan is a one-variant plan (stock 6.1) running two correctness
// tests on targets, with the filesystems made as for kernel mkfsFor.
func targetPlan(t *testing.T, name, mkfsFor string, targets ...string) string {
	t.Helper()
	text := `name = "` + name + `"
fragments = ["base", "debug"]
targets = ["` + strings.Join(targets, `", "`) + `"]
suites = ["correctness"]
tests = ["rand4k-qd32-cold", "eof"]
file_size = "16M"
repeats = 1
cpus = 1
mkfs_for_kernel = "` + mkfsFor + `"

[timeouts]
test = "60s"
target = "5m"

[[variant]]
name = "stock"
description = "Linux 6.1"
`
	path := filepath.Join(t.TempDir(), name+".toml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestTargetSetup: filesystems are made for the kernel they must mount
// on, with every feature switched explicitly and read back from the
// superblock; a target that cannot be set up fails the run (exit 3) and
// shows as an error in every report.
func TestTargetSetup(t *testing.T) {
	requireSuite(t)
	stockKernelImage(t) // built once, outside the CLI's timeout

	// Only 6.1 is at hand, so the 5.4-era profiles are forced: a 5.4
	// or 5.8 kernel would get them from its own uname.
	t.Run("5.4-era filesystems on 6.1", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "run")
		code, _, stderr := runKtest(t, 20*time.Minute, procOpts{}, "run", "--plan", targetPlan(t, "mkfs-5.4", "5.4", "ext4", "xfs", "btrfs"), "--out", out)
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, tail(stderr, 30))
		}
		run, err := results.Load(out)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]struct {
			profile  string
			features []string
		}{
			"xfs":   {"xfs/lts_5.4", []string{"crc", "finobt", "ftype", "reflink", "sparse"}},
			"ext4":  {"ext4/3.18", nil},
			"btrfs": {"btrfs/3.18", []string{"extref", "mixed-backref", "skinny-metadata"}},
		}
		for _, tg := range run.Variants[0].Targets {
			w := want[tg.Name]
			if tg.Mkfs == nil || tg.Mkfs.Profile != w.profile {
				t.Errorf("%s: mkfs %+v, want profile %s", tg.Name, tg.Mkfs, w.profile)
				continue
			}
			feats := slices.Sorted(slices.Values(tg.Mkfs.Features))
			if w.features != nil && !slices.Equal(feats, w.features) {
				t.Errorf("%s: superblock features %v, want %v", tg.Name, feats, w.features)
			}
			for _, tc := range tg.Tests {
				if tc.Status != "pass" {
					t.Errorf("%s/%s: %s %s", tg.Name, tc.Name, tc.Status, tc.Message)
				}
			}
		}
		summary, _ := os.ReadFile(filepath.Join(out, "summary.md"))
		if !strings.Contains(string(summary), "xfs/lts_5.4") || !strings.Contains(string(summary), "bigtime=0") {
			t.Errorf("summary.md does not show the mkfs profile and command:\n%s", summary)
		}
	})

	// A kernel older than every XFS profile: the XFS target cannot be
	// set up and says why; ext4 still runs, with an older profile.
	t.Run("kernel too old for XFS", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "run")
		code, _, stderr := runKtest(t, 20*time.Minute, procOpts{}, "run", "--plan", targetPlan(t, "mkfs-3.10", "3.10", "ext4", "xfs"), "--out", out)
		reason := "kernel 3.10 is too old for every known xfs profile: it cannot mount crc"
		if code != 3 || !strings.Contains(stderr, "1 target(s) could not be set up") || !strings.Contains(stderr, reason) {
			t.Fatalf("exit %d, want 3 naming the target and the reason\n%s", code, tail(stderr, 20))
		}
		run, err := results.Load(out)
		if err != nil {
			t.Fatal(err)
		}
		if run.Status != results.StatusError || len(run.TargetErrors()) != 1 {
			t.Errorf("status %s, target errors %v", run.Status, run.TargetErrors())
		}
		if ext4 := run.Variants[0].Target("ext4"); ext4 == nil || ext4.Mkfs == nil || ext4.Mkfs.Profile != "ext4/2.6" || len(ext4.Tests) != 2 {
			t.Errorf("ext4 target %+v", ext4)
		}
		for file, want := range map[string]string{"summary.md": "**setup failed**", "email.txt": "SETUP FAILED stock/xfs"} {
			b, _ := os.ReadFile(filepath.Join(out, file))
			if !strings.Contains(string(b), want) || !strings.Contains(string(b), "too old") {
				t.Errorf("%s lacks %q and the reason:\n%s", file, want, b)
			}
		}
		b, err := os.ReadFile(filepath.Join(out, "junit.xml"))
		if err != nil {
			t.Fatal(err)
		}
		var suites report.JUnitSuites
		if err := xml.Unmarshal(b, &suites); err != nil {
			t.Fatalf("junit.xml: %v", err)
		}
		var setupErr bool
		for _, s := range suites.Suites {
			for _, c := range s.Cases {
				if s.Name == "stock/xfs" && c.Name == "setup" && c.Error != nil && strings.Contains(c.Error.Message, "too old") {
					setupErr = true
				}
			}
		}
		if !setupErr || suites.Errors == 0 {
			t.Errorf("junit.xml has no setup <error> for stock/xfs (errors=%d):\n%s", suites.Errors, b)
		}
	})
}
