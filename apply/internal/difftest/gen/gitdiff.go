package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/bluekeyes/go-gitdiff/gitdiff"
)

// differ makes patches as a kernel developer's git does: a scratch
// repository, the before state staged, `git diff` against the after
// state, with the kernel's own attributes (diff=cpp for *.c and *.h)
// or git's default function headings.
type differ struct{ dir string }

func newDiffer() (*differ, error) {
	dir, err := os.MkdirTemp("", "difftest-gen-")
	if err != nil {
		return nil, err
	}
	d := &differ{dir}
	_, err = d.git("init", "-q")
	return d, err
}

func (d *differ) close() { _ = os.RemoveAll(d.dir) } // a temp dir: best effort

func (d *differ) git(args ...string) ([]byte, error) {
	cmd := exec.Command("git", append([]string{"-c", "core.autocrlf=false", "-c", "diff.noprefix=false"}, args...)...)
	cmd.Dir = d.dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return out, nil
}

// diff returns `git diff` from before to after of path, parsed too.
func (d *differ) diff(path string, before, after []string, cpp bool) ([]byte, *gitdiff.TextFragment, error) {
	attrs := filepath.Join(d.dir, ".gitattributes")
	if cpp {
		if err := os.WriteFile(attrs, []byte("*.c diff=cpp\n*.h diff=cpp\n"), 0o644); err != nil {
			return nil, nil, err
		}
	} else if err := os.Remove(attrs); err != nil && !os.IsNotExist(err) {
		return nil, nil, err
	}
	p := filepath.Join(d.dir, path)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, nil, err
	}
	if err := os.WriteFile(p, []byte(strings.Join(before, "")), 0o644); err != nil {
		return nil, nil, err
	}
	if _, err := d.git("add", "--", path); err != nil {
		return nil, nil, err
	}
	if err := os.WriteFile(p, []byte(strings.Join(after, "")), 0o644); err != nil {
		return nil, nil, err
	}
	out, err := d.git("diff", "--", path)
	if err != nil {
		return nil, nil, err
	}
	files, _, err := gitdiff.Parse(bytes.NewReader(out))
	if err != nil {
		return nil, nil, fmt.Errorf("parse git diff: %w", err)
	}
	if len(files) != 1 || len(files[0].TextFragments) != 1 {
		return nil, nil, fmt.Errorf("git diff gave %d files, want one file with one hunk", len(files))
	}
	return out, files[0].TextFragments[0], nil
}
