package pipeline

import (
	"context"

	"github.com/ktest-dev/ktest/era"
	"github.com/ktest-dev/ktest/kbuild"
	"github.com/ktest-dev/ktest/kconfig"
)

// FragmentError is a config fragment of the plan that does not resolve
// (no such built-in fragment, an unreadable file, a syntax error): the
// user's input.
type FragmentError struct{ Err error }

func (e *FragmentError) Error() string { return e.Err.Error() }
func (e *FragmentError) Unwrap() error { return e.Err }

// Check validates cfg once, before anything runs (vmtest's
// validate_config): the plan's fragments resolve, and the tree the plan
// names is a kernel tree the A/B can run on. Keying the tree now also
// warms its index for the run, and a tree that predates the series is
// refused in one line. Its errors: a *FragmentError, and kbuild's and
// era's own (a directory that is no tree, a debian:X that names none, a
// tree of no known era), or the host's failure to open the tree.
func Check(ctx context.Context, cfg Config) error {
	if _, err := kconfig.Resolve(cfg.Plan.Fragments); err != nil {
		return &FragmentError{err}
	}
	if cfg.Plan.Tree == "" {
		return nil // the default tree, which the run extracts
	}
	t, err := kbuild.OpenSpec(ctx, cfg.Cache, cfg.Plan.Tree, cfg.Log)
	if err == nil && cfg.Plan.UsesEra() {
		_, err = era.OfTree(t.Dir, t.Version)
	}
	return err
}
