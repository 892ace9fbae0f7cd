package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/ktest-dev/ktest/pipeline"
	"github.com/ktest-dev/ktest/plan"
	"github.com/ktest-dev/ktest/results"
)

// Exit codes, documented in README.md. Every command uses these.
const (
	ExitOK          = 0   // success
	ExitTestsFailed = 1   // a test failed, the kernel crashed, froze or did not boot, or a regression was found
	ExitUsage       = 2   // usage error or bad input
	ExitInfra       = 3   // ktest or the host failed: apply, config, QEMU, ports, images, SSH transport
	ExitInterrupted = 130 // SIGINT; other signals are 128+signal (SignalError)
)

// errHelp means -h was given: usage was printed, exit 0.
var errHelp = errors.New("help requested")

// errQuiet marks an error whose exit code says all there is to say (a
// guest command's own status, a Ctrl-C the user gave): realMain prints
// nothing for it.
var errQuiet = errors.New("quiet")

// exitQuietly exits with code without a message.
func exitQuietly(code int, why string) error {
	return &exitError{code, fmt.Errorf("%s: %w", why, errQuiet)}
}

// exitError attaches an exit code to an error.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return &exitError{ExitUsage, fmt.Errorf(format, args...)}
}

// badInput marks err as the user's input being wrong (exit 2).
func badInput(err error) error {
	if err == nil {
		return nil
	}
	return &exitError{ExitUsage, err}
}

// infraFailure marks err as a failed apply, config, build or boot (exit 3).
func infraFailure(err error) error {
	if err == nil {
		return nil
	}
	return &exitError{ExitInfra, err}
}

// faultExit maps a failure by whose doing it was (pipeline.FaultOf, the
// one rule): the kernel's (a crash, a boot that failed in the guest, a
// frozen guest, a compiler error) is exit 1 like a failed test; the
// host's, or a cause ktest cannot tell, is exit 3.
func faultExit(err error) error {
	if pipeline.FaultOf(err) == results.FaultKernel {
		return testsFailed(err)
	}
	return infraFailure(err)
}

// testsFailed marks err as failed tests or a regression (exit 1).
func testsFailed(err error) error {
	if err == nil {
		return nil
	}
	return &exitError{ExitTestsFailed, err}
}

// exitCode maps an error to the process exit code. Interruption wins
// over whatever error the interrupted work returned; then the first
// error in err's tree (in errors.As order) that has a code gives it:
// one marked by this command (exitError) or one of the packages' error
// types (codeOf); any other failure is the host's or ktest's (exit 3).
func exitCode(ctx context.Context, err error) int {
	if err == nil || errors.Is(err, errHelp) {
		return ExitOK
	}
	if se := signalCause(ctx); se != nil {
		return se.ExitCode()
	}
	if ctx.Err() != nil || errors.Is(err, context.Canceled) {
		return ExitInterrupted
	}
	if code, ok := firstCode(err); ok {
		return code
	}
	return ExitInfra
}

// firstCode walks err's tree depth first, as errors.As does.
func firstCode(err error) (int, bool) {
	if code, ok := codeOf(err); ok {
		return code, true
	}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		if next := u.Unwrap(); next != nil {
			return firstCode(next)
		}
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			if code, ok := firstCode(e); ok {
				return code, true
			}
		}
	}
	return 0, false
}

// codeOf is the exit code an error of a known type stands for, by
// itself (not what it wraps).
func codeOf(err error) (int, bool) {
	switch e := err.(type) {
	case *exitError:
		return e.code, true
	case *plan.OverrideError:
		return ExitUsage, true
	case *results.NoVerdict:
		// 2 when the runs given cannot be compared, 3 when B stopped on
		// a failure of its own. Either way nothing was concluded, so
		// never 0.
		if e.WrongInput {
			return ExitUsage, true
		}
		return ExitInfra, true
	case *pipeline.RegressionError:
		return ExitTestsFailed, true
	}
	return 0, false
}
