package initramfs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb/dirhash"
)

// The guest programs and u-root's busybox are compiled from ktest's own
// module source, so the guest speaks the host's protocol. Where that
// source is depends on how this ktest was built:
//
//   - `go install github.com/ktest-dev/ktest/cmd/ktest@VERSION` builds
//     from a downloaded module: the build info names its version and
//     checksum (Main.Sum), and the same source sits in the Go module
//     cache (read-only, with its go.mod and go.sum; downloaded again if
//     it was cleaned). It is used only if its files hash to the binary's
//     checksum, so the guest is built from exactly the source the host
//     was.
//   - Every other build (make build, go build or go install in a
//     checkout, go test) has no checksum: the source is the checkout,
//     found by walking up from the working directory, then from the
//     executable.
//
// Either way the image's content key hashes what the source produced
// (go.mod, go.sum and the compiled guest binaries), not where it came
// from, so a different guest source gives a different key.

// Source is the module source the guest image is compiled from.
type Source struct {
	Dir string
	// From says how Dir was found, for progress lines and errors.
	From string
}

// sourceFinder locates the source; its fields are the inputs, so the
// rule is tested without a real module cache.
type sourceFinder struct {
	// info is this binary's build info (nil: unknown).
	info *debug.BuildInfo
	// starts are the directories searched upwards for a checkout.
	starts []string
	// modCache returns the module cache's root (GOMODCACHE).
	modCache func(ctx context.Context) (string, error)
	// download fetches path@version into the module cache.
	download func(ctx context.Context, path, version string) (moduleDownload, error)
}

// moduleDownload is the part of `go mod download -json`'s output used.
type moduleDownload struct {
	Path, Version, Error, Dir, Sum string
}

// newSourceFinder returns the finder for this process: its build info,
// the working directory and the executable's directory, and the go
// command at goTool for the module cache.
func newSourceFinder(goTool string) sourceFinder {
	info, _ := debug.ReadBuildInfo()
	return sourceFinder{
		info:   info,
		starts: searchStarts(),
		modCache: func(ctx context.Context) (string, error) {
			return goModCache(ctx, goTool)
		},
		download: func(ctx context.Context, path, version string) (moduleDownload, error) {
			return goModDownload(ctx, goTool, path, version)
		},
	}
}

func searchStarts() []string {
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if exe, err := os.Executable(); err == nil {
		if exe, err = filepath.EvalSymlinks(exe); err == nil {
			starts = append(starts, filepath.Dir(exe))
		}
	}
	return starts
}

// find returns the source for this binary, or an error that says which
// source was looked for, why it was not found, and what to do.
func (f sourceFinder) find(ctx context.Context) (Source, error) {
	if m := f.mainModule(); m != nil && m.Sum != "" {
		return f.fromModuleCache(ctx, m)
	}
	if dir, ok := findCheckout(f.starts); ok {
		return Source{Dir: dir, From: "checkout"}, nil
	}
	version := "unknown"
	if m := f.mainModule(); m != nil && m.Version != "" {
		version = m.Version
	}
	return Source{}, fmt.Errorf("initramfs: the guest image is compiled from ktest's source (%s), and none was found: "+
		"this ktest (version %s) was built from a checkout, and no go.mod of %s is in or above %s. "+
		"Run ktest from inside its checkout; or install it with 'go install %s/cmd/ktest@VERSION', "+
		"which builds the guest from the Go module cache; or boot a prebuilt image: "+
		"'ktest initramfs -o ktest-guest.cpio' where the source is, then '--initramfs ktest-guest.cpio'",
		modulePath, version, modulePath, strings.Join(f.starts, " or "), modulePath)
}

// mainModule is this binary's main module if it is ktest.
func (f sourceFinder) mainModule() *debug.Module {
	if f.info == nil || f.info.Main.Path != modulePath {
		return nil
	}
	return &f.info.Main
}

// fromModuleCache returns the module cache's copy of the module m this
// binary was built from, downloading it if it is missing, and checks
// that the files hash to m's checksum (as 'go mod verify' does).
func (f sourceFinder) fromModuleCache(ctx context.Context, m *debug.Module) (Source, error) {
	what := m.Path + "@" + m.Version
	dir, ok := f.cachedDir(ctx, m)
	if !ok {
		d, err := f.download(ctx, m.Path, m.Version)
		if d.Error != "" {
			err = errors.New(d.Error)
		}
		if err != nil {
			return Source{}, fmt.Errorf("initramfs: the guest image is compiled from the source of %s, which this ktest was installed from; "+
				"it is not in the module cache, and 'go mod download %s' could not fetch it: %w. "+
				"Make the module reachable (GOPROXY, GOMODCACHE as at install time), "+
				"or boot a prebuilt image: 'ktest initramfs -o ktest-guest.cpio' on a machine that has it, then '--initramfs ktest-guest.cpio'",
				what, what, err)
		}
		dir = d.Dir
	}
	if !isKtestModule(filepath.Join(dir, "go.mod")) {
		return Source{}, fmt.Errorf("initramfs: the module cache's %s has no go.mod of %s in %q; reinstall ktest with 'go install %s/cmd/ktest@%s'",
			what, modulePath, dir, modulePath, m.Version)
	}
	sum, err := dirhash.HashDir(dir, what, dirhash.Hash1)
	if err != nil {
		return Source{}, fmt.Errorf("initramfs: checking the module cache's %s: %w", what, err)
	}
	if sum != m.Sum {
		return Source{}, fmt.Errorf("initramfs: the module cache's %s (%s) hashes to %s, not to %s as the source this ktest was built from: "+
			"a guest built from it could differ from the host; 'go clean -modcache' and reinstall ktest with 'go install %s/cmd/ktest@%s'",
			what, dir, sum, m.Sum, modulePath, m.Version)
	}
	return Source{Dir: dir, From: "module cache, " + what}, nil
}

// cachedDir returns m's directory in the module cache if it is there.
// Looking first, rather than asking 'go mod download', keeps an offline
// host working: go consults the checksum database for a module outside
// a go.sum even when it is cached; the hash check against the binary's
// own checksum, recorded when go install verified it, replaces that.
func (f sourceFinder) cachedDir(ctx context.Context, m *debug.Module) (string, bool) {
	root, err := f.modCache(ctx)
	if err != nil || root == "" {
		return "", false
	}
	path, err := module.EscapePath(m.Path)
	if err != nil {
		return "", false
	}
	version, err := module.EscapeVersion(m.Version)
	if err != nil {
		return "", false
	}
	dir := filepath.Join(root, path+"@"+version)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return "", false
	}
	return dir, true
}

// goModCache returns 'go env GOMODCACHE'.
func goModCache(ctx context.Context, goTool string) (string, error) {
	out, err := exec.CommandContext(ctx, goTool, "env", "GOMODCACHE").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMODCACHE: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// goModDownload runs 'go mod download -json path@version' outside any
// module, so no go.mod or go.work of the working directory takes part.
func goModDownload(ctx context.Context, goTool, path, version string) (moduleDownload, error) {
	dir, err := os.MkdirTemp("", "ktest-mod-download-*")
	if err != nil {
		return moduleDownload{}, err
	}
	defer func() { _ = os.RemoveAll(dir) }() // an empty directory: best effort
	cmd := exec.CommandContext(ctx, goTool, "mod", "download", "-json", path+"@"+version)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GO111MODULE=on")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, runErr := cmd.Output()
	var d moduleDownload
	// On failure go still prints the JSON, with Error set.
	if err := json.Unmarshal(out, &d); err != nil {
		if runErr != nil {
			return d, fmt.Errorf("%w: %s", runErr, strings.TrimSpace(stderr.String()))
		}
		return d, fmt.Errorf("reading its output: %w", err)
	}
	if runErr != nil && d.Error == "" {
		return d, fmt.Errorf("%w: %s", runErr, strings.TrimSpace(stderr.String()))
	}
	return d, nil
}

// FindModuleDir finds the ktest source module: the first directory holding
// a go.mod for github.com/ktest-dev/ktest, searching upwards from the
// working directory and then from the executable.
func FindModuleDir() (string, error) {
	starts := searchStarts()
	if dir, ok := findCheckout(starts); ok {
		return dir, nil
	}
	return "", fmt.Errorf("initramfs: cannot find the %s source module above %v", modulePath, starts)
}

// findCheckout returns the first directory in or above one of starts
// that holds ktest's go.mod.
func findCheckout(starts []string) (string, bool) {
	for _, dir := range starts {
		for {
			if isKtestModule(filepath.Join(dir, "go.mod")) {
				return dir, true
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return "", false
}

func isKtestModule(goMod string) bool {
	b, err := os.ReadFile(goMod)
	if err != nil {
		return false
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		f := strings.Fields(string(line))
		if len(f) == 2 && f[0] == "module" {
			return strings.Trim(f[1], `"`) == modulePath
		}
	}
	return false
}

// goMissing is the error for a build that needs the go command and finds
// none.
func goMissing(err error) error {
	return fmt.Errorf("initramfs: building the guest image needs the Go toolchain: ktest's guest programs and u-root's busybox "+
		"are compiled from ktest's source, and no 'go' is in PATH (%w). "+
		"Install Go (the version ktest's go.mod names, or let GOTOOLCHAIN fetch it), or boot a prebuilt image: "+
		"'ktest initramfs -o ktest-guest.cpio' on a machine with Go, then '--initramfs ktest-guest.cpio' (ktest run and ktest boot take it)", err)
}
