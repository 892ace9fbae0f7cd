package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/ktest-dev/ktest/internal/atomicfile"
	"github.com/ktest-dev/ktest/report"
	"github.com/ktest-dev/ktest/results"
)

// How `ktest run` and `ktest merge` end: nightly comparison, then the
// run's own exit, mapped from its results to an exit code.

// nightly stores run in hist and judges it against the last good run
// made alike (same targets, sizes and boots); compared is false when
// there was none. A newly failing test is re-run once through rerun
// (nil: not possible, e.g. for a merge) and counts only if it fails
// again; a metric counts when package verdict calls its change.
func nightly(ctx context.Context, hist results.History, run *results.Run, dir string,
	rerun func([]results.TestID) (*results.Run, error)) (compared bool, err error) {
	last, lerr := hist.LastLike(run)
	if _, err := hist.Add(run); err != nil {
		return false, infraFailure(fmt.Errorf("adding the run to %s: %w", hist.Dir, err))
	}
	if last == nil {
		if !errors.Is(lerr, results.ErrNoGoodRun) {
			return false, infraFailure(lerr)
		}
		fmt.Fprintf(os.Stderr, "ktest: nothing to compare with: %v\n", lerr)
		return false, nil
	}
	cmp := results.Compare(last, run)
	if rerun != nil && cmp.NoVerdict == nil {
		if err := cmp.ConfirmFailures(rerun); err != nil && ctx.Err() != nil {
			return true, pipelineError(ctx, err)
		}
	}
	for _, f := range cmp.Flaky {
		fmt.Fprintf(os.Stderr, "ktest: %s passed on re-run: flaky, not counted\n", f)
	}
	var b strings.Builder
	if err := report.Comparison(&b, cmp, "md", 0); err != nil {
		return true, infraFailure(fmt.Errorf("rendering the comparison with run %s: %w", last.ID, err))
	}
	path := filepath.Join(dir, "comparison.md")
	if err := atomicfile.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return true, infraFailure(fmt.Errorf("writing %s: %w", path, err))
	}
	// A reader that went away is the signal policy's business (exit
	// 141), not a failure of the comparison, which is on disk.
	_, _ = io.WriteString(resultsStdout, "\n"+b.String())
	if nv := cmp.NoVerdict; nv != nil {
		return true, noVerdictError(nv)
	}
	if cmp.Failed() {
		return true, testsFailed(fmt.Errorf("regression against run %s: %s", last.ID, strings.Join(report.Problems(cmp), "; ")))
	}
	return true, nil
}

// noVerdictError is the exit of a comparison that could not be made: 2
// when the runs given cannot be compared, 3 when B stopped on a failure
// of its own. Either way nothing was concluded, so never 0.
func noVerdictError(nv *results.NoVerdict) error {
	if nv.WrongInput {
		return badInput(nv)
	}
	return infraFailure(nv)
}

// runExit is a finished run's exit: 1 for a bad patch, a failed test
// or a crash, 3 for a target that could not be set up or a shard that is
// missing, 0 otherwise.
func runExit(run *results.Run) error {
	if fb := run.FirstBadPatch(); fb != "" {
		return testsFailed(fmt.Errorf("run %s: %s", run.ID, fb))
	}
	if failed := run.Failed(); len(failed) > 0 || run.Status == results.StatusFail {
		var problems []string
		for _, id := range failed {
			problems = append(problems, id.String())
		}
		problems = append(problems, crashTitles(run)...)
		return testsFailed(fmt.Errorf("run %s failed: %s", run.ID, strings.Join(problems, ", ")))
	}
	if err := targetErrors(run); err != nil {
		return err
	}
	if run.Status == results.StatusError && run.Error != nil {
		return infraFailure(fmt.Errorf("run %s: %s: %s", run.ID, run.Error.Stage, run.Error.Message))
	}
	return nil
}
