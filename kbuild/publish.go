// The kernel cache: looking kernels up by request or build key and
// publishing a finished build atomically.

package kbuild

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/ktest-dev/ktest/internal/atomicfile"
)

// Lookup returns the cached build for req without taking any lock or
// running make: the fast path of a cache hit.
func Lookup(ctx context.Context, c *Cache, req Request) (*Result, error) {
	in, err := req.inputs(ctx)
	if err != nil {
		return nil, err
	}
	return c.lookup(req.Tree, in)
}

func (c *Cache) lookup(t *Tree, in *inputs) (*Result, error) {
	data, err := os.ReadFile(filepath.Join(c.Dir, "requests", in.requestKey(t)[:32]+".json"))
	if err != nil {
		return nil, nil
	}
	var idx struct{ Key string }
	if json.Unmarshal(data, &idx) != nil || idx.Key == "" {
		return nil, nil
	}
	return c.kernel(idx.Key)
}

// kernel loads a published build by key, or nil if there is none, and
// records the use for garbage collection.
func (c *Cache) kernel(key string) (*Result, error) {
	dir := filepath.Join(c.Dir, "kernels", key)
	r, err := c.readKernel(dir)
	if r != nil {
		touch(dir)
	}
	return r, err
}

// readKernel loads the published build in dir, or nil if it is not
// complete.
func (c *Cache) readKernel(dir string) (*Result, error) {
	data, err := os.ReadFile(filepath.Join(dir, "meta.json"))
	if err != nil {
		return nil, nil
	}
	var r Result
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("corrupt cache entry %s: %w", dir, err)
	}
	r.Dir = dir
	r.BzImage = filepath.Join(dir, "bzImage")
	r.Config = filepath.Join(dir, "config")
	r.BuildLog = filepath.Join(dir, "build.log")
	if _, err := os.Stat(r.BzImage); err != nil {
		return nil, nil
	}
	r.Cached = true
	return &r, nil
}

func writeJSONAtomic(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, append(data, '\n'), 0o644)
}

func (c *Cache) index(t *Tree, in *inputs, key string) error {
	return writeJSONAtomic(filepath.Join(c.Dir, "requests", in.requestKey(t)[:32]+".json"), map[string]string{"Key": key})
}

// publish copies the build into kernels/<key> through a temp dir and a
// rename: an entry exists only once it is complete.
func (c *Cache) publish(r *Result, bzImage string, cfg []byte, logPath string) error {
	final := filepath.Join(c.Dir, "kernels", r.Key)
	tmp, err := os.MkdirTemp(filepath.Join(c.Dir, "kernels"), ".tmp-"+r.Key+"-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(tmp) }() // a no-op once renamed; else best effort: a leftover costs only space
	if err := copyFile(bzImage, filepath.Join(tmp, "bzImage")); err != nil {
		return fmt.Errorf("publishing bzImage: %w", err)
	}
	if err := copyFile(logPath, filepath.Join(tmp, "build.log")); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, "config"), cfg, 0o644); err != nil {
		return err
	}
	data, _ := json.MarshalIndent(r, "", "  ")
	if err := os.WriteFile(filepath.Join(tmp, "meta.json"), append(data, '\n'), 0o644); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	// An incomplete leftover without meta.json, if any.
	if err := os.RemoveAll(final); err != nil {
		return fmt.Errorf("removing an incomplete %s: %w", final, err)
	}
	return os.Rename(tmp, final)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer func() { _ = in.Close() }() // read-only: a close error loses nothing
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close() // error path: the copy already failed
		return err
	}
	return out.Close()
}
