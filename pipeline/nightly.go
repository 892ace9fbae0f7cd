package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/ktest-dev/ktest/internal/atomicfile"
	"github.com/ktest-dev/ktest/report"
	"github.com/ktest-dev/ktest/results"
)

// NightlyOptions say where nightly mode keeps its runs and how it
// reports.
type NightlyOptions struct {
	History results.History
	// Dir is the run's directory: comparison.md is written there, and a
	// re-run goes into its rerun/ subdirectory.
	Dir string
	// Rerun is the configuration the run was made with: a newly failing
	// test is run again with it, alone, once. Nil: no re-run is possible
	// (a merge of shards).
	Rerun *Config
	// Out receives the comparison (Markdown); Log the progress lines.
	Out, Log io.Writer
}

// RegressionError is a night that regressed against the last good run:
// a metric that package verdict calls worse, or a test that newly fails
// and failed again on its re-run. It is the patch's (or the kernel's)
// doing, a finding like a failed test.
type RegressionError struct {
	Against  string // the ID of the run compared with
	Problems []string
}

func (e *RegressionError) Error() string {
	return fmt.Sprintf("regression against run %s: %s", e.Against, strings.Join(e.Problems, "; "))
}

// Nightly stores run in the history and judges it against the last good
// run made alike (same targets, sizes and boots), writing comparison.md
// into the run's directory; compared is false when there was none. A
// newly failing test is re-run once (o.Rerun) and counts only if it
// fails again; a metric counts when package verdict calls its change.
//
// Its errors: a *RegressionError, a *results.NoVerdict when the runs
// could not be compared, the interrupted re-run's error, or the host's
// failure to keep or write what it judged.
func Nightly(ctx context.Context, run *results.Run, o NightlyOptions) (compared bool, err error) {
	last, lerr := o.History.LastLike(run)
	if _, err := o.History.Add(run); err != nil {
		return false, fmt.Errorf("adding the run to %s: %w", o.History.Dir, err)
	}
	if last == nil {
		if !errors.Is(lerr, results.ErrNoGoodRun) {
			return false, lerr
		}
		_, _ = fmt.Fprintf(o.Log, "ktest: nothing to compare with: %v\n", lerr) // a progress line: losing one must not fail the run
		return false, nil
	}
	cmp := results.Compare(last, run)
	if o.Rerun != nil && cmp.NoVerdict == nil {
		if err := cmp.ConfirmFailures(o.rerun(ctx)); err != nil && ctx.Err() != nil {
			return true, err
		}
	}
	for _, f := range cmp.Flaky {
		_, _ = fmt.Fprintf(o.Log, "ktest: %s passed on re-run: flaky, not counted\n", f) // a progress line: losing one must not fail the run
	}
	var b strings.Builder
	if err := report.Comparison(&b, cmp, "md", 0); err != nil {
		return true, fmt.Errorf("rendering the comparison with run %s: %w", last.ID, err)
	}
	path := filepath.Join(o.Dir, "comparison.md")
	if err := atomicfile.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return true, fmt.Errorf("writing %s: %w", path, err)
	}
	// A reader that went away is the signal policy's business (exit
	// 141), not a failure of the comparison, which is on disk.
	_, _ = io.WriteString(o.Out, "\n"+b.String())
	if nv := cmp.NoVerdict; nv != nil {
		return true, nv
	}
	if cmp.Failed() {
		return true, &RegressionError{Against: last.ID, Problems: report.Problems(cmp)}
	}
	return true, nil
}

// rerun runs exactly the given tests again, into Dir/rerun.
func (o NightlyOptions) rerun(ctx context.Context) func([]results.TestID) (*results.Run, error) {
	return func(only []results.TestID) (*results.Run, error) {
		_, _ = fmt.Fprintf(o.Log, "ktest: re-running %d newly failing test(s) once: %s\n", len(only), joinIDs(only)) // a progress line: losing one must not fail the run
		cfg := *o.Rerun
		cfg.OutDir = filepath.Join(o.Dir, "rerun")
		cfg.Only = only
		return Run(ctx, cfg)
	}
}

func joinIDs(ids []results.TestID) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = id.String()
	}
	return strings.Join(s, ", ")
}
