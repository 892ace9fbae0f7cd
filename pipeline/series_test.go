package pipeline

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ktest-dev/ktest/results"
	"github.com/ktest-dev/ktest/series"
)

// TestPatchsetHash checks the recorded patch hashes against KCIDB's own
// recipe, run by the shell over files holding each applied diff:
// sha256sum *.patch | cut -c-64 | sha256sum.
func TestPatchsetHash(t *testing.T) {
	if _, err := exec.LookPath("sha256sum"); err != nil {
		t.Skip("sha256sum not installed")
	}
	for _, withFixups := range []bool{false, true} {
		t.Run(fmt.Sprintf("with fixups %v", withFixups), func(t *testing.T) {
			src := "../testdata/seeds/002_001cfc21aac17572.txt"
			s, err := series.Load(src)
			if err != nil {
				t.Fatal(err)
			}
			rec := seriesRecord(s, src, withFixups, true)
			dir := t.TempDir()
			for i, p := range s.ToApply(withFixups) {
				if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%04d.patch", i+1)), []byte(p.Diff), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			cmd := exec.Command("sh", "-c", "sha256sum *.patch | cut -c-64 | sha256sum | cut -c-64")
			cmd.Dir = dir
			out, err := cmd.Output()
			if err != nil {
				t.Fatal(err)
			}
			got, ok := rec.PatchsetHash()
			if want := strings.TrimSpace(string(out)); !ok || got != want || len(rec.Patches) != len(s.ToApply(withFixups)) {
				t.Errorf("PatchsetHash() = %q, %v over %d patches; the shell says %q", got, ok, len(rec.Patches), want)
			}
		})
	}
}

// TestVariantPatchsetHash: what a variant records of its patches (the
// baseline patch included) hashes as KCIDB's recipe does over files
// holding each diff it applies, in order.
func TestVariantPatchsetHash(t *testing.T) {
	if _, err := exec.LookPath("sha256sum"); err != nil {
		t.Skip("sha256sum not installed")
	}
	for _, sources := range [][]string{
		{"embedded:baseline-6.1"},
		{"embedded:baseline-6.1", "../testdata/seeds/002_001cfc21aac17572.txt"},
	} {
		t.Run(strings.Join(sources, "+"), func(t *testing.T) {
			load := defaultLoad
			aps, rec, err := loadPatches(sources, false, load)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			n := 0
			for _, src := range sources {
				s, err := load(src)
				if err != nil {
					t.Fatal(err)
				}
				for _, p := range s.ToApply(false) {
					n++
					if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%04d.patch", n)), []byte(p.Diff), 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			cmd := exec.Command("sh", "-c", "sha256sum *.patch | cut -c-64 | sha256sum | cut -c-64")
			cmd.Dir = dir
			out, err := cmd.Output()
			if err != nil {
				t.Fatal(err)
			}
			v := results.Variant{Patches: sources, Applied: rec}
			got, ok := v.PatchsetHash()
			if want := strings.TrimSpace(string(out)); !ok || got != want || len(rec) != n || len(aps) != n || rec[0].Source != "embedded:baseline-6.1" {
				t.Errorf("PatchsetHash() = %q, %v over %d patches (%d applied); the shell says %q over %d", got, ok, len(rec), len(aps), want, n)
			}
		})
	}
}

// TestRecordedBaselinePatch: the recorded real run's baseline patch hash
// (results/testdata, which the KCIDB tests read) is the hash of the
// baseline patch ktest ships: the fixture says what this ktest applies.
func TestRecordedBaselinePatch(t *testing.T) {
	run, err := results.Load("../results/testdata/run-quick-ext4.results.json")
	if err != nil {
		t.Fatal(err)
	}
	_, rec, err := loadPatches([]string{"embedded:baseline-6.1"}, false, defaultLoad)
	if err != nil {
		t.Fatal(err)
	}
	if got := run.Variant("baseline").Applied; len(got) != 1 || len(rec) != 1 || got[0] != rec[0] {
		t.Errorf("recorded %+v, ktest applies %+v", got, rec)
	}
}

// defaultLoad loads a source as a run without --use-version does.
func defaultLoad(src string) (*series.Series, error) { return series.Load(src) }
