package pipeline

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ktest-dev/ktest/kbuild"
	"github.com/ktest-dev/ktest/plan"
	"github.com/ktest-dev/ktest/results"
)

// night runs fakeRun's plan against w as the night id, and returns the
// run with the configuration a re-run would use.
func night(t *testing.T, w *fakeWorld, id string, day int) (*results.Run, *Config) {
	t.Helper()
	tree := miniTree(t)
	patch := filepath.Join(t.TempDir(), "read.patch")
	if err := os.WriteFile(patch, []byte(miniPatch), 0o644); err != nil {
		t.Fatal(err)
	}
	p := plan.Default()
	p.Retarget(tree, patch)
	p.Targets = []string{"ext4", "xfs"}
	p.Quick()
	cache, err := kbuild.OpenCache(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Plan: p, Cache: cache, OutDir: filepath.Join(t.TempDir(), id), Command: "ktest run (fake)", Parts: w.parts()}
	run, err := Run(context.Background(), cfg)
	if run == nil {
		t.Fatalf("night %s: no run: %v", id, err)
	}
	run.Started = time.Date(2025, 3, day, 2, 0, 0, 0, time.UTC)
	return run, &cfg
}

// nightly judges run against hist as `ktest run --history` does, with
// a re-run when cfg is set, and returns what it printed and logged.
func nightly(t *testing.T, hist results.History, run *results.Run, cfg *Config) (compared bool, out, log string, err error) {
	t.Helper()
	var o, l strings.Builder
	dir := t.TempDir()
	if cfg != nil {
		dir = cfg.OutDir
	}
	compared, err = Nightly(context.Background(), run, NightlyOptions{History: hist, Dir: dir, Rerun: cfg, Out: &o, Log: &l})
	return compared, o.String(), l.String(), err
}

func TestNightly(t *testing.T) {
	hist := results.History{Dir: filepath.Join(t.TempDir(), "history")}

	// The first night has nothing to compare with: kept, not judged.
	good, _ := night(t, &fakeWorld{targets: map[string]behaviour{}}, "n1", 1)
	compared, _, log, err := nightly(t, hist, good, nil)
	if compared || err != nil || !strings.Contains(log, "ktest: nothing to compare with:") {
		t.Fatalf("first night: compared %v, err %v\n%s", compared, err, log)
	}

	// A test that newly fails and fails again on its re-run is a
	// regression; comparison.md says so, and the re-run went into rerun/.
	w := &fakeWorld{targets: map[string]behaviour{"patched/ext4": failOne}}
	bad, cfg := night(t, w, "n2", 2)
	compared, out, log, err := nightly(t, hist, bad, cfg)
	var re *RegressionError
	if !compared || !errors.As(err, &re) || re.Against != good.ID || !strings.Contains(err.Error(), "patched/ext4/eof") {
		t.Fatalf("failing night: compared %v, err %v (%T)\n%s", compared, err, err, log)
	}
	if !strings.Contains(log, "ktest: re-running 1 newly failing test(s) once: patched/ext4/eof") {
		t.Errorf("no re-run logged:\n%s", log)
	}
	if _, err := os.Stat(filepath.Join(cfg.OutDir, "rerun")); err != nil {
		t.Errorf("the re-run did not go into rerun/: %v", err)
	}
	md, rerr := os.ReadFile(filepath.Join(cfg.OutDir, "comparison.md"))
	if rerr != nil || out != "\n"+string(md) {
		t.Errorf("comparison.md (%v) is not what was printed:\n%s\n---\n%s", rerr, md, out)
	}

	// A test that passes on its re-run is flaky: said, not counted.
	w = &fakeWorld{targets: map[string]behaviour{"patched/ext4": failOne}}
	flaky, cfg := night(t, w, "n3", 3)
	w.targets = map[string]behaviour{}
	compared, _, log, err = nightly(t, hist, flaky, cfg)
	if !compared || err != nil || !strings.Contains(log, "ktest: patched/ext4/eof passed on re-run: flaky, not counted") {
		t.Errorf("flaky night: compared %v, err %v\n%s", compared, err, log)
	}

	// A night that stopped at a stage is no verdict, never "no
	// regressions", and it is kept.
	stopped, _ := night(t, &fakeWorld{targets: map[string]behaviour{}, buildErr: map[string]error{"patched": errStop}}, "n4", 4)
	compared, out, _, err = nightly(t, hist, stopped, nil)
	var nv *results.NoVerdict
	if !compared || !errors.As(err, &nv) || nv.WrongInput || !strings.Contains(err.Error(), "no verdict: B stopped at build [patched]") {
		t.Errorf("stopped night: compared %v, err %v (%T)", compared, err, err)
	}
	if strings.Contains(out, "No regressions") {
		t.Errorf("no regressions claimed of a night that stopped:\n%s", out)
	}
	for _, id := range []string{"n1", "n2", "n3", "n4"} {
		if _, err := os.Stat(filepath.Join(hist.Dir, id+".json")); err != nil {
			t.Errorf("night %s not kept: %v", id, err)
		}
	}
}

// A history that cannot be written is the host's failure, and nothing
// is judged.
func TestNightlyHistoryUnwritable(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	run, _ := night(t, &fakeWorld{targets: map[string]behaviour{}}, "n1", 1)
	compared, _, _, err := nightly(t, results.History{Dir: filepath.Join(file, "history")}, run, nil)
	if compared || err == nil || !strings.Contains(err.Error(), "adding the run to") {
		t.Errorf("compared %v, err %v", compared, err)
	}
}
