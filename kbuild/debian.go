package kbuild

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// DebianPrefix names a Debian kernel source package as a tree:
// "debian:6.12" is linux-source-6.12.
const DebianPrefix = "debian:"

// DefaultDebian is the version of the embedded default tree.
const DefaultDebian = "6.1"

// DebianSpecError is a "debian:X" tree that cannot be: a malformed
// version, or one Debian's archive does not have. It is the user's input.
type DebianSpecError struct {
	Spec   string
	Reason string
}

func (e *DebianSpecError) Error() string {
	return fmt.Sprintf("--tree %s: %s", e.Spec, e.Reason)
}

// debianHost is what installing a source package needs from the host;
// tests give fakes.
type debianHost struct {
	usrSrc   string // where linux-source-X puts its tarball
	lookPath func(string) (string, error)
	euid     int
	// run runs a command, its output to log, and returns its error with
	// the output's last lines.
	run func(ctx context.Context, log io.Writer, env []string, name string, args ...string) error
}

func realDebianHost() debianHost {
	return debianHost{usrSrc: "/usr/src", lookPath: exec.LookPath, euid: os.Geteuid(), run: runLogged}
}

var debianVersionRE = regexp.MustCompile(`^[1-9][0-9]*\.[0-9]+$`)

// DebianTree returns Debian's linux-source-VERSION ("6.12") extracted
// into the cache, keyed by content like the default tree. When the
// tarball is missing the package is installed with apt-get first; where
// there is no apt-get, or ktest is not root, it says what to run
// instead.
func DebianTree(ctx context.Context, cache *Cache, version string, log io.Writer) (*Tree, error) {
	return realDebianHost().tree(ctx, cache, version, log)
}

func (h debianHost) tree(ctx context.Context, cache *Cache, version string, log io.Writer) (*Tree, error) {
	spec := DebianPrefix + version
	if !debianVersionRE.MatchString(version) {
		return nil, &DebianSpecError{spec, "want a kernel version such as debian:6.12 (Debian's linux-source-6.12)"}
	}
	pkg := "linux-source-" + version
	tarball := filepath.Join(h.usrSrc, pkg+".tar.xz")
	if _, err := os.Stat(tarball); errors.Is(err, os.ErrNotExist) {
		// One ktest installs at a time; the others wait, then find it.
		unlock, err := cache.lock(ctx, "apt-"+pkg, log)
		if err != nil {
			return nil, err
		}
		defer unlock()
		if _, err := os.Stat(tarball); errors.Is(err, os.ErrNotExist) {
			if err := h.install(ctx, spec, pkg, tarball, log); err != nil {
				return nil, err
			}
		}
	}
	return TarballTree(ctx, cache, tarball, log)
}

// install installs pkg with apt-get, which must leave tarball behind.
func (h debianHost) install(ctx context.Context, spec, pkg, tarball string, log io.Writer) error {
	if _, err := h.lookPath("apt-get"); err != nil {
		return fmt.Errorf("--tree %s needs Debian's %s (%s is missing), and this host has no apt-get to install it: use a Debian host, or extract a kernel tree and give it as --tree DIR", spec, pkg, tarball)
	}
	// apt-cache answers "not in the archive" (the user's input) apart
	// from "could not install" (the host's trouble).
	if _, err := h.lookPath("apt-cache"); err == nil {
		if err := h.run(ctx, io.Discard, nil, "apt-cache", "show", "--no-all-versions", pkg); err != nil && ctx.Err() == nil {
			return &DebianSpecError{spec, fmt.Sprintf("Debian's archive has no %s as this host's apt sees it (apt-cache show: %v); see 'apt-cache search linux-source'", pkg, err)}
		}
	}
	if h.euid != 0 {
		return fmt.Errorf("--tree %s needs Debian's %s (%s is missing); install it as root: sudo apt-get install %s", spec, pkg, tarball, pkg)
	}
	_, _ = fmt.Fprintf(log, "ktest: installing %s with apt-get (once)\n", pkg) // a progress line: losing one must not fail the run
	env := []string{"DEBIAN_FRONTEND=noninteractive"}
	if err := h.run(ctx, log, env, "apt-get", "install", "-y", "--no-install-recommends", pkg); err != nil {
		return fmt.Errorf("installing %s for --tree %s: %w", pkg, spec, err)
	}
	if _, err := os.Stat(tarball); err != nil {
		return fmt.Errorf("apt-get installed %s, but %s is still missing: %w", pkg, tarball, err)
	}
	return nil
}

// runLogged runs a command with its output copied to log, keeping the
// last lines for the error.
func runLogged(ctx context.Context, log io.Writer, env []string, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	var tail tailBuffer
	cmd.Stdout = io.MultiWriter(log, &tail)
	cmd.Stderr = cmd.Stdout
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, tail.String())
	}
	return nil
}

// tailBuffer keeps the last few lines written to it.
type tailBuffer struct{ lines []string }

func (b *tailBuffer) Write(p []byte) (int, error) {
	for _, l := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			b.lines = append(b.lines, l)
		}
	}
	if len(b.lines) > 3 {
		b.lines = b.lines[len(b.lines)-3:]
	}
	return len(p), nil
}

func (b *tailBuffer) String() string { return strings.Join(b.lines, " / ") }

// OpenSpec opens what --tree names: "" for the embedded default tree,
// "debian:X" for Debian's linux-source-X, else a directory (git or
// plain). A directory that is not a kernel tree is a *NotATreeError, a
// bad debian:X a *DebianSpecError.
func OpenSpec(ctx context.Context, cache *Cache, spec string, log io.Writer) (*Tree, error) {
	switch {
	case spec == "":
		return DefaultTree(ctx, cache, log)
	case strings.HasPrefix(spec, DebianPrefix):
		return DebianTree(ctx, cache, strings.TrimPrefix(spec, DebianPrefix), log)
	}
	return OpenTree(ctx, cache, spec)
}

// IsBadSpec reports whether err is a --tree the user got wrong.
func IsBadSpec(err error) bool {
	var nt *NotATreeError
	var ds *DebianSpecError
	return errors.As(err, &nt) || errors.As(err, &ds)
}
