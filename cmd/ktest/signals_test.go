package main

import (
	"context"
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSignalPolicy: each caught signal cancels the command's context
// with itself as the cause, and the exit code is 128+signal.
func TestSignalPolicy(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP} {
		ctx, _, stop := withSignals(context.Background())
		if err := syscall.Kill(os.Getpid(), sig); err != nil {
			t.Fatal(err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Second):
			t.Fatalf("%v did not cancel the context", sig)
		}
		se := signalCause(ctx)
		if se == nil || se.Sig != sig || exitCode(ctx, context.Canceled) != 128+int(sig) {
			t.Errorf("%v: cause %v, exit %d", sig, context.Cause(ctx), exitCode(ctx, context.Canceled))
		}
		stop()
	}
}

// TestPipeGuard: a write to a stdout whose reader is gone cancels the
// command as SIGPIPE (exit 141) instead of killing ktest mid-cleanup.
func TestPipeGuard(t *testing.T) {
	w := closedPipe(t)
	ctx, cancel, stop := withSignals(context.Background())
	defer stop()
	g := &pipeGuard{w: w, cancel: cancel}
	if _, err := g.Write([]byte("summary\n")); !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("write to a closed pipe: %v, want EPIPE", err)
	}
	if se := signalCause(ctx); se == nil || se.Sig != syscall.SIGPIPE || exitCode(ctx, context.Canceled) != 141 {
		t.Errorf("cause %v", context.Cause(ctx))
	}
}

// TestHelpIntoClosedPipe: `ktest run -h | head`, the reader gone before
// the help is written: exit 141 as SIGPIPE, and nothing on stderr.
func TestHelpIntoClosedPipe(t *testing.T) {
	w := closedPipe(t)
	var stderr strings.Builder
	if code := realMain([]string{"run", "-h"}, env{Stdout: w, Stderr: &stderr}); code != 141 || stderr.Len() > 0 {
		t.Errorf("exit %d, want 141; stderr %q, want none", code, stderr.String())
	}
}

// closedPipe is the write end of a pipe whose reader has gone.
func closedPipe(t *testing.T) *os.File {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() }) // test cleanup: best effort
	return w
}
