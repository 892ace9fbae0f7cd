package results

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/ktest-dev/ktest/internal/atomicfile"
)

// Conclude sets the status of a run whose every stage ran, from what it
// holds: fail when a test failed, the kernel crashed, a per-patch run
// found a bad patch or checkpatch errors are fatal; error when nothing
// failed but a target could not be set up (the harness did not test
// what the plan asked for); pass otherwise. The pipeline and `ktest
// merge` both conclude runs this way.
func (r *Run) Conclude(checkpatchFatal bool) {
	r.Complete = true
	r.Status = StatusPass
	errs := r.TargetErrors()
	switch {
	case len(r.Failed()) > 0 || r.hasCrashes() || r.FirstBadPatch() != "" || checkpatchFatal:
		r.Status = StatusFail
	case len(errs) > 0:
		r.Status = StatusError
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = e.String()
		}
		r.Error = &StageFailure{Stage: "test", Message: "target setup failed: " + strings.Join(msgs, "; ")}
	}
}

func (r *Run) hasCrashes() bool {
	for _, v := range r.Variants {
		if len(v.Crashes) > 0 {
			return true
		}
	}
	return false
}

// runFiles are the files of a run directory and their formats.
var runFiles = []struct{ name, format string }{
	{"summary.md", "md"}, {"junit.xml", "junit"}, {"email.txt", "email"}, {"report.html", "html"},
}

// WriteRunDir writes a run directory: results.json and every rendering
// by rd, each atomically. A rendering that fails does not stop the
// others.
func WriteRunDir(dir string, r *Run, rd Renderer) error {
	errs := []error{}
	if err := r.Write(filepath.Join(dir, "results.json")); err != nil {
		errs = append(errs, fmt.Errorf("saving results: %w", err))
	}
	for _, f := range runFiles {
		var b strings.Builder
		if err := rd.Render(&b, r, f.format); err != nil {
			errs = append(errs, fmt.Errorf("rendering %s: %w", f.name, err))
			continue
		}
		if err := atomicfile.WriteFile(filepath.Join(dir, f.name), []byte(b.String()), 0o644); err != nil {
			errs = append(errs, fmt.Errorf("writing %s: %w", f.name, err))
		}
	}
	return errors.Join(errs...)
}
