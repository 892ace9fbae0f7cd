package main

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ktest-dev/ktest/guest/agent"
	"github.com/ktest-dev/ktest/remote"
	"github.com/ktest-dev/ktest/vmstate"
)

// fakeBootVM runs the real guest agent in process and registers it as a
// VM of 'ktest boot' (this process), so 'ktest ssh' finds it. It returns
// the agent's working directory.
func fakeBootVM(t *testing.T) string {
	t.Helper()
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	keys, err := remote.GenerateKeys()
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	hostKey, authKey := filepath.Join(work, ".host_key"), filepath.Join(work, ".authorized_key")
	if err := os.WriteFile(hostKey, keys.HostPrivatePEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(authKey, keys.AuthorizedKey, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := agent.LoadConfig(hostKey, authKey)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Shell, cfg.Dir = "/bin/sh", work
	cfg.Env = []string{"PATH=/usr/bin:/bin:/usr/sbin:/sbin"}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- agent.Serve(ctx, ln, cfg) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil { // nil after a cancel
			t.Errorf("agent: %v", err)
		}
	})

	st, err := vmstate.Register(ln.Addr().String(), keys, "", "bzImage")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Remove() }) // test cleanup: best effort
	return work
}

// TestSSHPassesStdio: `echo hello | ktest ssh cat` prints hello, `ktest
// ssh 'cat > x' < file` writes the file, the command's status is ktest's
// without a word added, and -t gives CMD a pty.
func TestSSHPassesStdio(t *testing.T) {
	work := fakeBootVM(t)
	file := strings.Repeat("a line of the file\n", 20000)
	tests := []struct {
		name       string
		args       []string
		stdin      string
		wantCode   int
		wantStdout string // a substring with -t, else exact
		wantStderr string
		wantFile   string
	}{
		{"echo hello | ktest ssh cat", []string{"cat"}, "hello\n", 0, "hello\n", "", ""},
		{"ktest ssh 'cat > x' < file", []string{"cat > x"}, file, 0, "", "", file},
		{"words are joined as ssh does", []string{"wc", "-l"}, file, 0, "20000\n", "", ""},
		{"status and stderr pass through", []string{"echo oops >&2; exit 7"}, "", 7, "", "oops\n", ""},
		{"-t gives CMD a pty", []string{"-t", "test -t 0 && echo tty"}, "", 0, "tty", "", ""},
		{"no pty without -t", []string{"test -t 0 || echo no-tty"}, "", 0, "no-tty\n", "", ""},
		{"-t and -T", []string{"-t", "-T", "true"}, "", ExitUsage, "", "exclude each other", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.Remove(filepath.Join(work, "x")); err != nil && !errors.Is(err, fs.ErrNotExist) {
				t.Fatal(err) // the previous case's output, if it wrote one
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var stdout, stderr bytes.Buffer
			err := runSSH(ctx, tc.args, strings.NewReader(tc.stdin), &stdout, &stderr)
			reportError(&stderr, "ssh", err)
			code := exitCode(ctx, err)
			out := stdout.String()
			pty := tc.args[0] == "-t"
			if code != tc.wantCode || (pty && !strings.Contains(out, tc.wantStdout)) || (!pty && out != tc.wantStdout) ||
				!strings.Contains(stderr.String(), tc.wantStderr) || (tc.wantStderr == "" && stderr.Len() > 0) {
				t.Errorf("exit %d, stdout %.60q, stderr %q; want %d, %.60q, %q",
					code, out, stderr.String(), tc.wantCode, tc.wantStdout, tc.wantStderr)
			}
			if tc.wantCode == 7 && strings.Contains(stderr.String(), "ktest ssh") {
				t.Errorf("ktest added to the command's stderr: %q", stderr.String())
			}
			if tc.wantFile != "" {
				if b, _ := os.ReadFile(filepath.Join(work, "x")); string(b) != tc.wantFile {
					t.Errorf("file from stdin has %d bytes, want %d", len(b), len(tc.wantFile))
				}
			}
		})
	}
}
