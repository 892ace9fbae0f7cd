package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/ktest-dev/ktest/internal/termfmt"
	"github.com/ktest-dev/ktest/report"
	"github.com/ktest-dev/ktest/results"
)

func compareCommand() *command {
	return &command{
		name: "compare",
		summary: `Compare run B with an older run A, naming every regression.
It exits 1 if a metric regressed beyond noise or a test that passed in A
fails in B (nightly mode). A and B are results.json files or run
directories. Runs that cannot be compared get no verdict ("no verdict: B
stopped at apply"): exit 3 when B stopped on a failure of its own, 2 when
the runs given are wrong (A did not finish, a run in progress or
interrupted, other plans, targets or variants).`,
		usage: "A B [--format md|text|json]",
		examples: []string{
			"ktest compare ktest-runs/20250301-020000-ab12 \\",
			"    ktest-runs/20250302-020000-cd34",
			"ktest compare --format md old/results.json new/results.json > comparison.md",
		},
		run: runCompare,
	}
}

func runCompare(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(commands["compare"], e.Stdout)
	format := fs.String("format", "text", "output `FORMAT`: md, text (fitted to $COLUMNS, the terminal or 80 columns) or json")
	pos, err := parseArgsAnywhere(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usageErrorf("want two runs, A (old) and B (new), got %d arguments", len(pos))
	}
	switch *format {
	case "md", "text", "json":
	default:
		return usageErrorf("--format %q: want md, text or json", *format)
	}
	var runs [2]*results.Run
	for i, p := range pos {
		if runs[i], err = results.Load(p); err != nil {
			return badInput(err)
		}
	}
	cmp := results.Compare(runs[0], runs[1])
	if err := report.Comparison(e.Stdout, cmp, *format, termfmt.Width(e.Stdout)); err != nil {
		return err
	}
	if nv := cmp.NoVerdict; nv != nil {
		return nv
	}
	if cmp.Failed() {
		probs := report.Problems(cmp)
		return testsFailed(fmt.Errorf("%d regression(s), %d new failure(s):\n  %s",
			len(cmp.Regressions), len(cmp.NewFailures), strings.Join(probs, "\n  ")))
	}
	return nil
}
