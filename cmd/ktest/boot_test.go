package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ktest-dev/ktest/console"
	"github.com/ktest-dev/ktest/remote"
)

// TestBootRejectsNonKernel: a file that is not a bzImage is bad input
// (exit 2) named before QEMU starts, not QEMU's "linux kernel too old to
// load a ram disk" (exit 3).
func TestBootRejectsNonKernel(t *testing.T) {
	notes := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(notes, []byte(strings.Repeat("things to try next\n", 50)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, kernel, want string
	}{
		{"text file", notes, notes + ": not a bzImage"},
		{"missing file", notes + ".missing", "open " + notes + ".missing: no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runCLI(t, "boot", "--accel", "tcg", "--kernel", tc.kernel)
			if code != ExitUsage || !strings.Contains(errs, "--kernel: "+tc.want) || out != "" {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, errs, tc.want)
			}
		})
	}
}

// fakeVM is a running VM as bootInteractive sees it.
type fakeVM struct {
	exited  chan struct{}
	crashes []*console.Crash
	closed  bool
}

func (f *fakeVM) Run(context.Context, string, io.Writer, io.Writer) (int, error) { return 0, nil }
func (f *fakeVM) Put(context.Context, io.Reader, string, fs.FileMode) error      { return nil }
func (f *fakeVM) Get(context.Context, string, io.Writer) error                   { return nil }
func (f *fakeVM) Addr() string                                                   { return "127.0.0.1:1" }
func (f *fakeVM) ConsoleLog() string                                             { return "/nonexistent/console.log" }
func (f *fakeVM) Exited() <-chan struct{}                                        { return f.exited }
func (f *fakeVM) Crashes() []*console.Crash                                      { return f.crashes }
func (f *fakeVM) Close() error                                                   { f.closed = true; return nil }

// TestBootInteractiveStop: Ctrl-C is how an interactive boot ends: exit
// 130 and no error message ("context canceled" was printed), and the
// console log goes; a VM that crashed and went down is exit 1 and keeps
// the log.
func TestBootInteractiveStop(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	keys, err := remote.GenerateKeys()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		crash    bool // the kernel crashed and the VM went down
		wantCode int
		wantMsg  string // "" for no message at all
		keepLog  bool
	}{
		{"Ctrl-C", false, ExitInterrupted, "", false},
		{"crash", true, ExitTestsFailed, "BUG: it broke", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inst := &fakeVM{exited: make(chan struct{})}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.crash {
				inst.crashes = []*console.Crash{{Kind: console.KindBug, Title: "BUG: it broke"}}
				close(inst.exited)
			} else {
				cancel() // the user's Ctrl-C
			}
			err := bootInteractive(ctx, env{Stdout: os.Stdout, Stderr: os.Stderr}, inst, keys, "bzImage")
			var stderr bytes.Buffer
			reportError(&stderr, "boot", err)
			if code := exitCode(ctx, err); code != tc.wantCode {
				t.Errorf("exit %d, want %d (err %v)", code, tc.wantCode, err)
			}
			if tc.wantMsg == "" && stderr.Len() > 0 || !strings.Contains(stderr.String(), tc.wantMsg) {
				t.Errorf("stderr %q, want %q", stderr.String(), tc.wantMsg)
			}
			if !tc.crash && !inst.closed {
				t.Error("VM not stopped")
			}
			if keepConsoleLog(ctx, err) != tc.keepLog {
				t.Errorf("console log kept: %v, want %v", !tc.keepLog, tc.keepLog)
			}
		})
	}
}

func TestKeepConsoleLog(t *testing.T) {
	live := context.Background()
	stopped, cancel := context.WithCancel(live)
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		err  error
		keep bool
	}{
		{"success", live, nil, false},
		{"Ctrl-C of an interactive boot", stopped, exitQuietly(ExitInterrupted, "stopped"), false},
		{"boot failed", live, infraFailure(errors.New("boot failed: no SSH")), true},
		{"interrupted while booting", stopped, infraFailure(context.Canceled), true},
		{"kernel crash", live, testsFailed(errors.New("BUG")), true},
		{"--exec failed", live, &exitError{code: 4, err: errors.New("guest command exited with status 4")}, true},
	}
	for _, tc := range tests {
		if got := keepConsoleLog(tc.ctx, tc.err); got != tc.keep {
			t.Errorf("%s: keep = %v, want %v", tc.name, got, tc.keep)
		}
	}
}
