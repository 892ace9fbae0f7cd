package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/ktest-dev/ktest/pipeline"
	"github.com/ktest-dev/ktest/results"
)

// How `ktest run` and `ktest merge` end: nightly comparison
// (pipeline.Nightly), then the run's own verdict, mapped to exit codes.

// nightly judges run against the runs kept in history (pipeline.Nightly),
// writing comparison.md into dir and printing it on stdout; rerun is the
// configuration a newly failing test is re-run with, nil for none.
func nightly(ctx context.Context, e env, history string, run *results.Run, dir string, rerun *pipeline.Config) (compared bool, err error) {
	return pipeline.Nightly(ctx, run, pipeline.NightlyOptions{History: results.History{Dir: history}, Dir: dir, Rerun: rerun,
		Out: e.Stdout, Log: e.Stderr})
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
