package main

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestEveryBuildStampsAlike builds ktest the three ways the README names,
// in a fresh clone of this commit, and checks that --version names the
// same revision, time and clean tree each time: 'make build',
// scripts/setup.sh (which runs it), and 'go install' as on a Go
// installation with default settings. The clone, not the working
// directory: a git worktree's .git is a file, where Go records no
// revision at all, and uncommitted edits would make the tree "modified".
func TestEveryBuildStampsAlike(t *testing.T) {
	if testing.Short() {
		t.Skip("builds ktest three times")
	}
	head, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skipf("not in a git checkout: %v", err)
	}
	rev := strings.TrimSpace(string(head))
	clone := filepath.Join(t.TempDir(), "ktest")
	runIn(t, "", nil, "git", "clone", "-q", "../..", clone)
	runIn(t, clone, nil, "git", "checkout", "-q", rev)

	gobin := t.TempDir()
	builds := []struct {
		name string
		cmd  []string
		env  []string
		bin  string
	}{
		{"make build", []string{"make", "--no-print-directory", "build"}, nil, filepath.Join(clone, "bin/ktest")},
		{"scripts/setup.sh", []string{"./scripts/setup.sh"}, nil, filepath.Join(clone, "bin/ktest")},
		// GOFLAGS as Go ships it: this host's go env may turn stamping
		// off for every build, which no Makefile can undo for go install.
		{"go install", []string{"go", "install", "./cmd/ktest"}, []string{"GOBIN=" + gobin, "GOFLAGS=-buildvcs=auto"}, filepath.Join(gobin, "ktest")},
	}
	var first string
	for _, b := range builds {
		// Each build must make its own binary, not find the last one's.
		if err := os.Remove(b.bin); err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
		runIn(t, clone, b.env, b.cmd...)
		out := runIn(t, clone, nil, b.bin, "--version")
		if !strings.Contains(out, "revision: "+rev) || !strings.Contains(out, "tree:     clean") {
			t.Errorf("%s: --version does not name the clean commit %s:\n%s", b.name, rev, out)
		}
		if first == "" {
			first = out
		} else if out != first {
			t.Errorf("%s: --version differs from %s's:\n%s\nvs\n%s", b.name, builds[0].name, out, first)
		}
	}
}

func runIn(t *testing.T, dir string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}
