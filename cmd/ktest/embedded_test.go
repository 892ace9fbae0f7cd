package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestEmbeddedTypo: a mistyped embedded:NAME is bad input (exit 2) that
// names the series ktest ships, wherever a series is taken, and before
// anything is built or extracted.
func TestEmbeddedTypo(t *testing.T) {
	cache := t.TempDir()
	out := filepath.Join(t.TempDir(), "run")
	const want = `embedded:async-buffered-read: ktest ships no such series; did you mean embedded:async-buffered-reads? ` +
		`(embedded series: embedded:async-buffered-reads, embedded:baseline-6.1, embedded:baseline-6.12, embedded:faults-6.1, embedded:lockup-6.1, embedded:perpatch-build-6.1, embedded:perpatch-hang-6.1, ` +
		`embedded:perpatch-unfixed-6.1, embedded:slowread-10-6.1, embedded:slowread-25-6.1, embedded:slowread-5-6.1)`
	for _, args := range [][]string{
		{"series", "show", "embedded:async-buffered-read"},
		{"series", "split", "embedded:async-buffered-read", t.TempDir()},
		{"apply", "--tree", t.TempDir(), "embedded:async-buffered-read"},
		{"run", "--series", "embedded:async-buffered-read", "--out", out, "--cache", cache},
		{"kernel", "build", "--patch", "embedded:async-buffered-read", "--cache", cache},
	} {
		t.Run(strings.Join(args[:2], " "), func(t *testing.T) {
			code, _, errs := runCLI(t, args...)
			if code != ExitUsage || !strings.Contains(errs, want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, errs, want)
			}
		})
	}
}
