package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"golang.org/x/mod/module"
)

func versionCommand() *command {
	return &command{
		name:     "version",
		summary:  "Print ktest's version and the commit it was built from.\nThat is the module version, and the VCS revision, time and state of the tree.",
		usage:    "",
		examples: []string{"ktest version", "ktest --version"},
		run: func(ctx context.Context, e env, args []string) error {
			fs := newFlagSet(commands["version"], e.Stdout)
			if err := parseFlags(fs, args); err != nil {
				return err
			}
			if fs.NArg() > 0 {
				return usageErrorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
			}
			bi, _ := debug.ReadBuildInfo()
			return printVersion(e.Stdout, bi)
		},
	}
}

// printVersion prints what a bug report needs to name the build: the
// module version and the VCS stamp `go build` records in a checkout
// (make, scripts/setup.sh and go install all build it so). Missing under
// go run and go test, with -buildvcs=false, or outside a checkout; a
// `go install ...@version` of a pseudo-version still names its commit.
func printVersion(w io.Writer, bi *debug.BuildInfo) error {
	var b strings.Builder
	version, path := "unknown", "github.com/ktest-dev/ktest"
	settings := map[string]string{}
	if bi != nil {
		version, path = bi.Main.Version, bi.Main.Path
		if version == "" {
			version = "unknown"
		}
		for _, s := range bi.Settings {
			settings[s.Key] = s.Value
		}
	}
	fmt.Fprintf(&b, "ktest %s\n", version)
	fmt.Fprintf(&b, "  module:   %s\n", path)
	if rev := settings["vcs.revision"]; rev != "" {
		fmt.Fprintf(&b, "  revision: %s\n", rev)
		if t := settings["vcs.time"]; t != "" {
			fmt.Fprintf(&b, "  time:     %s\n", t)
		}
		state := "clean"
		if settings["vcs.modified"] == "true" {
			state = "modified (uncommitted changes)"
		}
		fmt.Fprintf(&b, "  tree:     %s\n", state)
	} else if rev, when, ok := pseudoRevision(version); ok {
		// Built from the module proxy: no VCS stamp, but the version
		// names the commit (its first 12 hex digits) and its time.
		fmt.Fprintf(&b, "  revision: %s (from the module version)\n", rev)
		fmt.Fprintf(&b, "  time:     %s\n", when)
	} else {
		fmt.Fprintf(&b, "  revision: unknown (not recorded: go run, go test, -buildvcs=false or not a git checkout)\n")
	}
	goVersion := runtime.Version()
	if bi != nil && bi.GoVersion != "" {
		goVersion = bi.GoVersion
	}
	fmt.Fprintf(&b, "  go:       %s %s/%s\n", goVersion, runtime.GOOS, runtime.GOARCH)
	_, err := io.WriteString(w, b.String())
	return err
}

// pseudoRevision reads the commit prefix and time out of a pseudo-version
// such as v0.0.0-20260101120000-abcdef123456 (one without +dirty: a
// modified tree has no commit to name).
func pseudoRevision(version string) (rev, when string, ok bool) {
	if !module.IsPseudoVersion(version) || strings.Contains(version, "+") {
		return "", "", false
	}
	rev, err := module.PseudoVersionRev(version)
	if err != nil {
		return "", "", false
	}
	t, err := module.PseudoVersionTime(version)
	if err != nil {
		return "", "", false
	}
	return rev, t.UTC().Format(time.RFC3339), true
}
