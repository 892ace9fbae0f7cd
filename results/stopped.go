package results

import "github.com/ktest-dev/ktest/internal/termfmt"

// Incomplete returns "" for a complete run, and otherwise a one-line
// reason naming the stage and variant, e.g. "interrupted during build
// [patched]" or "build failed [patched]: make: *** [bzImage] Error 2".
func (r *Run) Incomplete() string {
	if r.Complete {
		return ""
	}
	at := r.stopPoint()
	var out string
	switch {
	case at.where() == "":
		out = OrDefault(string(r.Status), "unknown status")
	case r.Status == StatusInterrupted:
		out = "interrupted during " + at.where()
	case r.Status == StatusRunning:
		out = "still running, at " + at.where()
	case r.Status == StatusError:
		out = at.where()
		if at.stage != "" {
			out = at.stage + " failed"
			if at.variant != "" {
				out += " [" + at.variant + "]"
			}
		}
	default:
		out = "stopped during " + at.where()
	}
	return out + at.detail()
}

// Stopped says, for a run that did not finish, how it ended, as a
// sentence's predicate: "stopped at apply: patch 2/3 does not apply",
// "was interrupted during build [patched]", "is still running, at boot
// [baseline]". "" for a complete run.
func (r *Run) Stopped() string {
	if r.Complete {
		return ""
	}
	at := r.stopPoint()
	where := OrDefault(at.where(), "an unknown stage")
	switch r.Status {
	case StatusInterrupted:
		return "was interrupted during " + where + at.detail()
	case StatusRunning:
		return "is still running, at " + where + at.detail()
	case StatusError:
		return "stopped at " + where + at.detail()
	}
	return "did not finish (status " + OrDefault(string(r.Status), "unknown") + ")" + at.detail()
}

// stop is where a run that did not finish stopped.
type stop struct{ stage, variant, msg string }

// stopPoint finds the stage that stopped the run: its recorded error,
// else the last stage that did not finish, else the last one recorded.
func (r *Run) stopPoint() stop {
	if e := r.Error; e != nil {
		return stop{e.Stage, e.Variant, e.Message}
	}
	for i := len(r.Stages) - 1; i >= 0; i-- {
		if s := r.Stages[i]; s.Status.Stopped() {
			return stop{s.Name, s.Variant, s.Detail}
		}
	}
	if len(r.Stages) > 0 {
		s := r.Stages[len(r.Stages)-1]
		return stop{stage: s.Name, variant: s.Variant}
	}
	return stop{}
}

// where is "build [patched]", "apply", or "" when no stage is known.
func (s stop) where() string {
	if s.variant != "" && s.stage != "" {
		return s.stage + " [" + s.variant + "]"
	}
	return s.stage
}

// detail is ": " and the first line of the message, if there is one.
func (s stop) detail() string {
	if s.msg == "" {
		return ""
	}
	return ": " + termfmt.FirstLine(s.msg)
}
