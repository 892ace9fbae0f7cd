package proto

import (
	"testing"
	"time"
)

func TestProgressRoundTrip(t *testing.T) {
	p, ok := ParseProgress(RunningLine("truncate-race", 90*time.Second))
	if !ok || !p.Running || p.Test != "truncate-race" || p.Timeout != 90*time.Second {
		t.Errorf("running line parsed as %+v, %v", p, ok)
	}
	r := TestResult{Name: "eof", Status: StatusFail, DurationMS: 1234, Message: "read at 16778450: got 0 bytes: want 4096"}
	p, ok = ParseProgress(FinishedLine(r) + "\n")
	if !ok || p.Running || p.Test != "eof" || p.Result != r {
		t.Errorf("finished line parsed as %+v, %v", p, ok)
	}
	for _, line := range []string{
		"readtest: setup failed: mkfs: exit status 1",
		"readtest: mkfs.xfs -f /dev/vdb",
		"  guest: readtest: eof: running (timeout 20s)",
		"readtest: eof: exploded in 3 ms: ?",
	} {
		if p, ok := ParseProgress(line); ok {
			t.Errorf("ParseProgress(%q) = %+v, want no progress", line, p)
		}
	}
}
