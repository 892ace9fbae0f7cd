package pipeline

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/ktest-dev/ktest/internal/termfmt"
	"github.com/ktest-dev/ktest/results"
	"github.com/ktest-dev/ktest/review"
)

// checkpatch is the real Parts.Checkpatch: the tree's checkpatch.pl by
// package review, its report kept as results data.
func checkpatch(ctx context.Context, treeDir string, patch []byte, name string) *results.Checkpatch {
	res, err := review.Checkpatch(ctx, treeDir, patch, name)
	if err != nil {
		return &results.Checkpatch{Error: err.Error()}
	}
	cp := &results.Checkpatch{Errors: res.Errors, Warnings: res.Warnings, Checks: res.Checks, Summary: res.Summary()}
	for _, it := range res.Items {
		loc := ""
		if len(it.Locations) > 0 && it.Locations[0].File != "" {
			loc = fmt.Sprintf(" (%s:%d)", it.Locations[0].File, it.Locations[0].Line)
		}
		cp.Items = append(cp.Items, fmt.Sprintf("%s:%s: %s%s", it.Severity, it.Type, termfmt.FirstLine(it.Message), loc))
	}
	return cp
}

// warningState knows, for each source file, the compiler warnings of
// the last build log that compiled it, so that a step's new warnings are
// judged against the file's own last build, not against an incremental
// log that never compiled it.
type warningState struct {
	baseline []review.Warning // the baseline kernel's build log
	last     map[string][]review.Warning
}

func newWarningState(baselineLog, srcRoot string) *warningState {
	ws := &warningState{last: map[string][]review.Warning{}}
	if b, err := os.ReadFile(baselineLog); err == nil {
		ws.baseline = review.ParseWarnings(b, srcRoot)
	}
	return ws
}

// step returns the warnings a step added in the files it touches, from
// its build log, and remembers them for the next step.
func (ws *warningState) step(buildLog, srcRoot string, touched []string) []string {
	b, err := os.ReadFile(buildLog)
	if err != nil {
		return nil
	}
	after := review.ParseWarnings(b, srcRoot)
	var before []review.Warning
	for _, f := range touched {
		prev, ok := ws.last[f]
		if !ok {
			prev = inFile(ws.baseline, f)
		}
		before = append(before, prev...)
		ws.last[f] = inFile(after, f)
	}
	var out []string
	for _, w := range review.NewWarnings(before, after, touched) {
		out = append(out, w.String())
	}
	return out
}

func inFile(ws []review.Warning, file string) []review.Warning {
	var out []review.Warning
	for _, w := range ws {
		if w.File == file || strings.HasSuffix(w.File, "/"+file) {
			out = append(out, w)
		}
	}
	return out
}
