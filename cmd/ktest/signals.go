package main

import (
	"context"
	"errors"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// One signal policy for every command: SIGINT, SIGTERM and SIGHUP (the
// terminal closing) cancel the command's context with the signal as
// its cause, so QEMU and make are stopped, a run's results.json is
// finished as interrupted and names the signal, temporary images are
// removed, and ktest exits 128+signal. A broken stdout pipe (the reader
// of `ktest run | tail` gone) does the same as SIGPIPE: the signal is
// ignored, so a write fails with EPIPE instead of killing ktest in the
// middle of its cleanup, and the failed write cancels the context. A
// second signal while cleaning up exits at once.

// SignalError is the cause of a context cancelled by a signal.
type SignalError struct{ Sig syscall.Signal }

func (e *SignalError) Error() string { return "interrupted by " + signalName(e.Sig) }

// ExitCode is the shell's code for a death by the signal.
func (e *SignalError) ExitCode() int { return 128 + int(e.Sig) }

func signalName(s syscall.Signal) string {
	switch s {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGHUP:
		return "SIGHUP"
	case syscall.SIGPIPE:
		return "SIGPIPE"
	}
	return s.String()
}

// caughtSignals are the signals that stop a command gracefully.
var caughtSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP}

// withSignals returns a context cancelled by the first caught signal (or
// a broken stdout) and the function that undoes it.
func withSignals(parent context.Context) (context.Context, context.CancelCauseFunc, func()) {
	ctx, cancel := context.WithCancelCause(parent)
	signal.Ignore(syscall.SIGPIPE)
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, caughtSignals...)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-ch:
			cancel(&SignalError{s.(syscall.Signal)})
		case <-done:
			return
		}
		select {
		case s := <-ch:
			os.Exit(128 + int(s.(syscall.Signal)))
		case <-done:
		}
	}()
	return ctx, cancel, func() {
		signal.Stop(ch)
		close(done)
		cancel(nil)
	}
}

// pipeGuard is stdout that turns EPIPE, its reader gone, into the
// context's cancellation with SIGPIPE as the cause.
type pipeGuard struct {
	w      io.Writer
	cancel context.CancelCauseFunc
}

func (g *pipeGuard) Write(p []byte) (int, error) {
	n, err := g.w.Write(p)
	if errors.Is(err, syscall.EPIPE) {
		g.cancel(&SignalError{syscall.SIGPIPE})
	}
	return n, err
}

// signalCause returns the signal that cancelled ctx, or nil.
func signalCause(ctx context.Context) *SignalError {
	var se *SignalError
	if errors.As(context.Cause(ctx), &se) {
		return se
	}
	return nil
}
