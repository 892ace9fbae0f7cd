package results

import (
	"strings"
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
