package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ktest-dev/ktest/kbuild"
	"github.com/ktest-dev/ktest/plan"
	"github.com/ktest-dev/ktest/results"
	"github.com/ktest-dev/ktest/series"
)

// seriesRun runs the fake two-variant plan with mbox as the series,
// cfg editing the run's configuration.
func seriesRun(t *testing.T, mbox string, cfg func(*Config)) (*results.Run, error) {
	t.Helper()
	patch := filepath.Join(t.TempDir(), "series.mbox")
	if err := os.WriteFile(patch, []byte(mbox), 0o644); err != nil {
		t.Fatal(err)
	}
	p := plan.Default()
	p.Retarget(miniTree(t), patch)
	p.Targets = []string{"ext4"}
	p.Quick()
	cache, err := kbuild.OpenCache(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c := Config{Plan: p, Cache: cache, OutDir: filepath.Join(t.TempDir(), "run"), Command: "ktest run (fake)",
		Parts: (&fakeWorld{targets: map[string]behaviour{}}).parts()}
	if cfg != nil {
		cfg(&c)
	}
	return Run(context.Background(), c)
}

// miniV2 is miniPatch resent as v2, a day later, adding another line.
var miniV2 = strings.NewReplacer("[PATCH 1/1]", "[PATCH v2 1/1]", "Mon, 1 Jun 2020", "Tue, 2 Jun 2020",
	"+int c2;\n", "+int c2;\n+int c3;\n", "@@ -1,4 +1,5 @@", "@@ -1,4 +1,6 @@", "1 insertion", "2 insertions").Replace(miniPatch)

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// The run applies the newest version and its record says what it
// superseded; --use-version (Config.Series) takes another.
func TestRunAppliesTheNewestVersion(t *testing.T) {
	mbox := miniPatch + "\n" + miniV2
	v2, err := series.Parse("x", []byte(miniV2))
	if err != nil {
		t.Fatal(err)
	}
	run, err := seriesRun(t, mbox, nil)
	if err != nil {
		t.Fatal(err)
	}
	rs := run.Series
	if rs.Version != 2 || len(rs.Patches) != 1 || rs.Patches[0].SHA256 != sha(v2.Patches[0].Diff) {
		t.Errorf("recorded v%d, %d patches", rs.Version, len(rs.Patches))
	}
	if !slices.Contains(rs.Notes, "1/1: v2 (2020-06-02) supersedes v1 (2020-06-01)") {
		t.Errorf("notes %q do not say what was superseded", rs.Notes)
	}
	run, err = seriesRun(t, mbox, func(c *Config) { c.Series = series.Options{Version: 1} })
	if err != nil {
		t.Fatal(err)
	}
	if rs := run.Series; rs.Version != 1 || !slices.Contains(rs.Notes, "1/1: v2 (2020-06-02) not applied: v1 was asked for") {
		t.Errorf("--use-version 1: v%d, notes %q", rs.Version, rs.Notes)
	}
}

// A series with a missing patch stops the run at its series stage, as
// bad input, unless AllowMissing.
func TestRunRefusesMissingPatches(t *testing.T) {
	holey := strings.Replace(miniPatch, "[PATCH 1/1]", "[PATCH 1/2]", 1)
	run, err := seriesRun(t, holey, nil)
	var me *series.MissingError
	if !errors.As(err, &me) || !strings.Contains(err.Error(), "patch 2/2 missing") || run.Status == results.StatusPass {
		t.Fatalf("run = %v, err %v", run.Status, err)
	}
	if names := stageNames(run); len(names) != 2 || names[1] != "series:failed" {
		t.Errorf("stages %v, want the series stage to fail, nothing after it", names)
	}
	run, err = seriesRun(t, holey, func(c *Config) { c.AllowMissing = true })
	if err != nil || run.Status != results.StatusPass || !slices.Contains(run.Series.Warnings, "patch 2/2 missing") {
		t.Errorf("AllowMissing: %v, status %v, warnings %q", err, run.Status, run.Series.Warnings)
	}
}
