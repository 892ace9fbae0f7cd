package kbuild

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"path/filepath"

	"github.com/ktest-dev/ktest/kconfig"
)

// cacheFormat changes whenever the cache layout or what goes into a key
// changes, so old entries are not misread.
const cacheFormat = "ktest-kbuild-1"

// Configure produces and verifies the variant's final .config without
// building. It returns the result's Config path (inside the slot).
func Configure(ctx context.Context, c *Cache, req Request) (*Result, error) {
	in, err := req.inputs(ctx)
	if err != nil {
		return nil, err
	}
	s := c.slot(req.Tree, in)
	unlock, err := c.lock(ctx, "slot-"+filepath.Base(s.dir), req.log())
	if err != nil {
		return nil, err
	}
	defer unlock()
	touch(s.dir)
	cfg, err := c.prepare(ctx, req, in, s)
	if err != nil {
		return nil, err
	}
	return &Result{Variant: req.Variant, Config: filepath.Join(s.cfg, ".config"), Tree: req.Tree.Origin,
		TreeKey: req.Tree.Key, Version: req.Tree.Version.String(), Compiler: in.compiler,
		ConfigSHA: fmt.Sprintf("%x", sha256.Sum256(cfg)), Quirks: in.quirks, Fragments: fragmentNames(in.fragments)}, nil
}

// hit reports a cache hit on log and passes the lookup's result on.
func hit(log io.Writer, req Request, r *Result, err error) (*Result, error) {
	if r != nil && err == nil {
		logf(log, "ktest: build [%s]: cache hit %s\n", req.Variant, r.Dir)
	}
	return r, err
}

// Build returns the kernel for req, from the cache when possible.
// Otherwise it configures and builds it in the request's slot, holding
// the slot's lock so two ktests never build in one O= dir at once (the
// second waits, then finds the first's result in the cache).
func Build(ctx context.Context, c *Cache, req Request) (*Result, error) {
	log := req.log()
	in, err := req.inputs(ctx)
	if err != nil {
		return nil, err
	}
	if r, err := c.lookup(req.Tree, in); r != nil || err != nil {
		return hit(log, req, r, err)
	}
	s := c.slot(req.Tree, in)
	unlock, err := c.lock(ctx, "slot-"+filepath.Base(s.dir), log)
	if err != nil {
		return nil, err
	}
	defer unlock()
	touch(s.dir)
	// Another ktest may have built it while we waited for the lock.
	if r, err := c.lookup(req.Tree, in); r != nil || err != nil {
		return hit(log, req, r, err)
	}
	cfg, err := c.prepare(ctx, req, in, s)
	if err != nil {
		return nil, err
	}
	key := buildKey(req.Tree, in, cfg)
	// The same kernel reached by another request (e.g. other
	// fragments that end in the same .config): index this request too.
	if r, err := c.kernel(key); r != nil || err != nil {
		if err == nil {
			err = c.index(req.Tree, in, key)
		}
		return hit(log, req, r, err)
	}
	r, err := c.make(ctx, req, in, s, cfg, key)
	if err != nil {
		return nil, err
	}
	return r, c.index(req.Tree, in, key)
}

// DefaultKernel returns the default kernel: the default tree with the
// default fragments, built if the cache does not have it yet. It is what
// `ktest boot` boots when no kernel is named, and what end-to-end tests use.
func DefaultKernel(ctx context.Context, c *Cache, log io.Writer) (*Result, error) {
	tree, err := DefaultTree(ctx, c, log)
	if err != nil {
		return nil, err
	}
	frags, err := kconfig.Resolve(kconfig.DefaultFragments)
	if err != nil {
		return nil, err
	}
	return Build(ctx, c, Request{Tree: tree, Variant: "default", Fragments: frags, Log: log})
}
