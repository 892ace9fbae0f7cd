package results

import (
	"fmt"
	"strings"

	"github.com/ktest-dev/ktest/guest/proto"
)

// RunStatus is a run's overall outcome.
type RunStatus string

const (
	StatusPass        RunStatus = "pass"        // every stage ran, every test passed
	StatusFail        RunStatus = "fail"        // tests failed, or the kernel crashed
	StatusError       RunStatus = "error"       // a stage failed, or a target could not be set up
	StatusInterrupted RunStatus = "interrupted" // a signal stopped it; results are partial
	StatusRunning     RunStatus = "running"     // written while the run is in progress
)

// TestStatus is a correctness test's outcome. The values are the guest's
// (guest/proto), so a readtest status converts as is.
type TestStatus string

const (
	TestPass TestStatus = proto.StatusPass
	TestFail TestStatus = proto.StatusFail
	TestHung TestStatus = proto.StatusHung
	TestSkip TestStatus = proto.StatusSkip
	// TestNotRun: left out because the kernel hung in an earlier test
	// of the target; the hang is the failure, counted once.
	TestNotRun TestStatus = proto.StatusNotRun
)

// Failing reports whether the status counts as a failed test: anything
// but pass, skip and not-run, so an unknown status from a newer guest
// fails rather than passes.
func (s TestStatus) Failing() bool { return s != TestPass && s != TestSkip && s != TestNotRun }

// StepStatus is how far a variant's build or boot got.
type StepStatus string

const (
	StepPending StepStatus = "pending" // not reached (yet): the run stopped before it
	StepOK      StepStatus = "ok"
	StepFailed  StepStatus = "failed"
	StepSkipped StepStatus = "skipped"
)

// Stage maps a build or boot step to the stage status JUnit shows when a
// document has no stage records.
func (s StepStatus) Stage() StageStatus {
	switch s {
	case StepOK:
		return StageOK
	case StepFailed:
		return StageFailed
	}
	return StageSkipped
}

// Fault says whose doing a failure was.
type Fault string

const (
	// FaultKernel: the kernel under test did it (a patch of it that does
	// not apply, a compiler error in its code, a crash, a boot that
	// failed in the guest, a frozen guest).
	// It counts as a failed test: status "fail", exit 1, JUnit <failure>.
	FaultKernel Fault = "kernel"
	// FaultHost: the host did it (QEMU killed or failing, a port, disk
	// images, the SSH transport). Status "error", exit 3, JUnit <error>.
	FaultHost Fault = "host"
)

// StageStatus is a pipeline stage's outcome.
type StageStatus string

const (
	StageOK          StageStatus = "ok"
	StageFailed      StageStatus = "failed"
	StageSkipped     StageStatus = "skipped"
	StageInterrupted StageStatus = "interrupted"
)

// Stopped reports whether the stage ended the run.
func (s StageStatus) Stopped() bool { return s == StageFailed || s == StageInterrupted }

// TestID names one test of a run: variant/target/test. It is written as
// that string in JSON.
type TestID struct {
	Variant, Target, Test string
}

func (id TestID) String() string { return id.Variant + "/" + id.Target + "/" + id.Test }

// ParseTestID reads "variant/target/test".
func ParseTestID(s string) (TestID, error) {
	parts := strings.SplitN(s, "/", 3)
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return TestID{}, fmt.Errorf("test id %q: want variant/target/test", s)
	}
	return TestID{parts[0], parts[1], parts[2]}, nil
}

func (id TestID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

func (id *TestID) UnmarshalText(b []byte) error {
	v, err := ParseTestID(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}

// TargetID names one target of one variant: variant/target.
type TargetID struct{ Variant, Target string }

func (id TargetID) String() string { return id.Variant + "/" + id.Target }

// Test returns the id of test name on this target.
func (id TargetID) Test(name string) TestID { return TestID{id.Variant, id.Target, name} }

func (id TargetID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

func (id *TargetID) UnmarshalText(b []byte) error {
	v, t, ok := strings.Cut(string(b), "/")
	if !ok || v == "" || t == "" || strings.Contains(t, "/") {
		return fmt.Errorf("target id %q: want variant/target", b)
	}
	*id = TargetID{v, t}
	return nil
}
