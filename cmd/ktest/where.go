package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/ktest-dev/ktest/kbuild"
)

// treeChoice is the tree a command works on and how it came to be the
// one: the user's (--tree, or the kernel checkout they are in) or
// ktest's default.
type treeChoice struct {
	Dir  string
	How  string // for the report: "--tree", "the kernel checkout you are in", ...
	Mine bool   // the user's tree, not ktest's shared cache
}

// checkoutTree is --tree when given, else the kernel checkout the
// working directory is in, as `git am` and `b4 shazam` use the
// repository they run in; ok is false when there is neither.
func checkoutTree(flagTree string) (treeChoice, bool, error) {
	if strings.HasPrefix(flagTree, kbuild.DebianPrefix) {
		return treeChoice{}, false, nil // ktest's, from the cache: applyTree
	}
	if flagTree != "" {
		return treeChoice{Dir: flagTree, How: "--tree", Mine: true}, true, nil
	}
	dir, ok, err := kbuild.FindCheckout(".")
	if err != nil || !ok {
		return treeChoice{}, false, err
	}
	return treeChoice{Dir: dir, How: "the kernel checkout you are in", Mine: true}, true, nil
}

// applyTree is the tree `ktest apply` reads: the user's (checkoutTree),
// else ktest's default, extracted into the cache on first use.
func applyTree(ctx context.Context, flagTree string, log io.Writer) (treeChoice, error) {
	if tc, ok, err := checkoutTree(flagTree); ok || err != nil {
		return tc, err
	}
	cache, err := kbuild.OpenCache("")
	if err != nil {
		return treeChoice{}, err
	}
	if strings.HasPrefix(flagTree, kbuild.DebianPrefix) {
		t, err := kbuild.OpenSpec(ctx, cache, flagTree, log)
		if err != nil {
			return treeChoice{}, err
		}
		return treeChoice{Dir: t.Dir, How: "--tree " + flagTree + ", Debian's linux-source-" + strings.TrimPrefix(flagTree, kbuild.DebianPrefix) + " extracted in ktest's cache"}, nil
	}
	t, err := kbuild.DefaultTree(ctx, cache, log)
	if err != nil {
		return treeChoice{}, infraFailure(fmt.Errorf("default tree: %w", err))
	}
	return treeChoice{Dir: t.Dir, How: "ktest's default, Debian's linux-source-6.1: no kernel checkout here; --tree DIR for another"}, nil
}
