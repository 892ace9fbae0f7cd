package report

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/ktest-dev/ktest/results"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the renderers' output")

// goldenRuns are the runs every renderer is pinned on: the recorded
// real runs in testdata, and the fixture with every part a report has
// (series notes and warnings, a crash, a failure), and a per-patch
// run.
func goldenRuns(t *testing.T) map[string]*results.Run {
	runs := map[string]*results.Run{}
	for _, name := range []string{"run-quick1", "run-running", "run-interrupted", "run-quick-ext4", "run-stopped-at-apply"} {
		runs[name] = loadFixture(t, name+".results.json")
	}
	runs["fixture1"] = fixtureRun(1)
	full := fixtureRun(3)
	full.Series.Warnings = []string{"patch 2/3 has no Signed-off-by"}
	full.Series.Notes = []string{"base v6.1 is a guess from the cover letter's tree name"}
	full.Variants[1].Crashes = []results.Crash{{Kind: "warning", Title: "WARNING: CPU: 1 PID: 77 at mm/filemap.c:1234", During: "ext4/eof", Excerpt: "WARNING: CPU: 1 PID: 77\nCall Trace:\n  filemap_read"}}
	setTest(full, "patched", "xfs", "truncate-race", "fail", "short read: 4096 of 8192 bytes\nat offset 0")
	full.Series.Patches[0].Checkpatch = &results.Checkpatch{Summary: "clean"}
	full.Series.Patches[1].Checkpatch = &results.Checkpatch{Errors: 1, Warnings: 1, Summary: "1 error, 1 warning",
		Items: []string{"ERROR:CODE_INDENT: code indent should use tabs (mm/filemap.c:1240)", "WARNING:LONG_LINE: line length of 104 exceeds 100 columns (mm/filemap.c:1302)"}}
	full.Series.Patches[2].Checkpatch = &results.Checkpatch{Error: "the tree has no scripts/checkpatch.pl"}
	full.Status = results.StatusFail
	runs["fixture3-full"] = full
	perPatch := fixtureRun(1)
	perPatch.PerPatch = perPatchFixture(results.StepGood, results.StepBad, results.StepBad)
	perPatch.Status = results.StatusFail
	runs["fixture-perpatch"] = perPatch
	return runs
}

// mboxVolatile are the mbox lines that carry the time of rendering and a
// random Message-Id.
var mboxVolatile = regexp.MustCompile(`(?m)^(From \S+|Date:|Message-Id:) .*$`)

// checkGolden compares got with testdata/golden/name, or rewrites it
// under -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to record it)", err)
	}
	if got != string(want) {
		t.Errorf("%s changed; diff it with go test -update && git diff:\n%s", path, got)
	}
}

// TestGolden pins every renderer's bytes on every golden run, so moving
// the renderers proves it changed nothing it did not mean to.
func TestGolden(t *testing.T) {
	rd := Renderer{From: testIdentity}
	for name, r := range goldenRuns(t) {
		for _, format := range Formats {
			t.Run(name+"."+format, func(t *testing.T) {
				var b bytes.Buffer
				got := ""
				if err := rd.Render(&b, r, format); err != nil {
					got = "error: " + err.Error() + "\n"
				} else {
					got = b.String()
				}
				switch format {
				case "mbox":
					got = mboxVolatile.ReplaceAllString(got, "$1 (volatile)")
				case "json", "kcidb":
					// Large and checked field by field elsewhere:
					// pinned by digest to keep testdata small.
					got = "sha256 " + sha256Hex(got) + "\n"
				}
				checkGolden(t, name+"."+format, got)
			})
		}
	}
}

// TestGoldenComparison pins the comparison's renderings.
func TestGoldenComparison(t *testing.T) {
	oldRun, newRun := fixtureRun(3), fixtureRun(3)
	newRun.ID = "new"
	newRun.Status = results.StatusFail
	setMetric(newRun, "patched", "ext4", "io_uring", results.MetricCtxSwitches, 8500, 8600, 8800)
	setTest(newRun, "patched", "xfs", "truncate-race", "hung", "")
	setTest(newRun, "patched", "ext4", "eof", "fail", "short read")
	c := results.Compare(oldRun, newRun)
	for _, tc := range []struct {
		format string
		width  int
	}{{"md", 0}, {"text", 0}, {"text", 60}, {"json", 0}} {
		var b bytes.Buffer
		if err := Comparison(&b, c, tc.format, tc.width); err != nil {
			t.Fatal(err)
		}
		name := "compare." + tc.format
		if tc.width > 0 {
			name += "60"
		}
		checkGolden(t, name, b.String())
	}
}
