package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/ktest-dev/ktest/apply"
	"github.com/ktest-dev/ktest/ci"
	"github.com/ktest-dev/ktest/era"
	"github.com/ktest-dev/ktest/kbuild"
	"github.com/ktest-dev/ktest/pipeline"
	"github.com/ktest-dev/ktest/plan"
	"github.com/ktest-dev/ktest/results"
	"github.com/ktest-dev/ktest/series"
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

// badInput marks err as the user's input being wrong (exit 2), for an
// error whose type does not say so (isBadInput), such as a run file
// that does not load.
func badInput(err error) error {
	if err == nil {
		return nil
	}
	return &exitError{ExitUsage, err}
}

// infraFailure marks err as the host's or ktest's failure (exit 3) where
// failureCode would read it otherwise: a kernel build that stopped on a
// compiler error is still exit 3 for 'ktest kernel build'. A plain host
// error needs no mark: exit 3 is failureCode's default.
func infraFailure(err error) error {
	if err == nil {
		return nil
	}
	return &exitError{ExitInfra, err}
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
// one marked by this command (exitError) or a verdict (codeOf); any
// other failure is classified by failureCode.
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
	return failureCode(err)
}

// failureCode is the one rule for a failure by whose doing it was: the
// user's input (isBadInput) is exit 2; the kernel's (pipeline.FaultOf: a
// crash, a boot that failed in the guest, a frozen guest, a compiler
// error) exit 1 like a failed test; the host's, or a cause ktest cannot
// tell, exit 3.
func failureCode(err error) int {
	switch {
	case isBadInput(err):
		return ExitUsage
	case pipeline.FaultOf(err) == results.FaultKernel:
		return ExitTestsFailed
	}
	return ExitInfra
}

// isBadInput reports the packages' errors that are the user's input: a
// damaged, unreadable or incomplete series, an ambiguous or missing
// version, a bad plan, override or config fragment, a patch with an unsafe path, a binary
// patch or one already in the tree, a directory that is no kernel tree,
// a debian:X that names none, a tree the default A/B cannot run on, a
// plan's patch source that cannot be read.
func isBadInput(err error) bool {
	var (
		pe          *plan.Error
		fragment    *pipeline.FragmentError
		pathErr     *apply.PathError
		unsupported *apply.UnsupportedError
		inTree      *apply.InTreeError
		source      *ci.SourceError
	)
	return series.IsBadInput(err) || errors.As(err, &pe) || errors.As(err, &fragment) ||
		errors.As(err, &pathErr) || errors.As(err, &unsupported) || errors.As(err, &inTree) ||
		errors.As(err, &source) ||
		kbuild.IsBadSpec(err) || era.IsRefusal(err)
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
