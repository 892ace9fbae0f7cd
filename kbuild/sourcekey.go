package kbuild

import (
	"context"
	"fmt"
	"os"
)

// CacheFormat names the cache layout and the way keys are made; every
// key includes it, so kernels of another format never match.
const CacheFormat = cacheFormat

// SourceKey names the sources of a tree without extracting or building
// anything, for a CI cache to be looked up before the build: for the
// default tree ("") the sha256 of its tarball, whose first 24 hex digits
// name its extracted directory in the cache (trees/<key>/); for a
// directory its key as OpenTree computes it (git: HEAD and the working
// tree's state; plain: the content of every file).
func SourceKey(ctx context.Context, c *Cache, tree string) (string, error) {
	if tree != "" {
		t, err := OpenTree(ctx, c, tree)
		if err != nil {
			return "", err
		}
		return t.Key, nil
	}
	if _, err := os.Stat(DefaultTarball); err != nil {
		return "", fmt.Errorf("the default tree needs Debian's linux-source-6.1 (%s is missing; run 'make setup'): %w", DefaultTarball, err)
	}
	sum, err := tarballHash(c, DefaultTarball)
	if err != nil {
		return "", fmt.Errorf("hashing %s: %w", DefaultTarball, err)
	}
	return sum[:24], nil
}
