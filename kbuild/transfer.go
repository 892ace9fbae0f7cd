// Moving kernels between machines: one CI job builds and exports, the
// others import by content key, so a kernel is built once and tested on
// many hosts.

package kbuild

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// exported is the manifest written next to an exported kernel: what it
// was built from, so an importer can check its own request against it.
type exported struct {
	Format     string `json:"format"`
	RequestKey string `json:"request_key"`
	// Inputs name the request key's parts for the message that refuses
	// a mismatch.
	TreeKey  string   `json:"tree_key"`
	Overlay  string   `json:"overlay"`
	Compiler string   `json:"compiler"`
	Quirks   []string `json:"quirks,omitempty"`
	Result   *Result  `json:"result"`
}

// ExportFile is the manifest's name in an exported kernel's directory.
const ExportFile = "export.json"

// Export copies req's kernel (built or cached; nil if neither) into dir
// (created; it must not exist) with a manifest of its request.
func Export(ctx context.Context, c *Cache, req Request, dir string) (*Result, error) {
	in, err := req.inputs(ctx)
	if err != nil {
		return nil, err
	}
	r, err := c.lookup(req.Tree, in)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, fmt.Errorf("export [%s]: the kernel is not in the cache: build it first", req.Variant)
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, fmt.Errorf("export [%s]: %w", req.Variant, err)
	}
	for _, f := range []string{"bzImage", "config", "build.log", "meta.json"} {
		if err := copyFile(filepath.Join(r.Dir, f), filepath.Join(dir, f)); err != nil {
			return nil, fmt.Errorf("export [%s]: %w", req.Variant, err)
		}
	}
	m := exported{Format: cacheFormat, RequestKey: in.requestKey(req.Tree), TreeKey: req.Tree.Key, Overlay: in.overlay,
		Compiler: in.compiler, Quirks: in.quirks, Result: r}
	return r, writeJSONAtomic(filepath.Join(dir, ExportFile), m)
}

// MismatchError is an exported kernel that is not the one a request
// asks for.
type MismatchError struct {
	Variant, Dir string
	Why          []string // what differs, e.g. "tree key abc vs def"
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("kernel %s was not built from what variant %s asks for: %s", e.Dir, e.Variant, strings.Join(e.Why, "; "))
}

// Import puts the kernel exported in dir into the cache if it is the one
// req asks for (same request key: tree content, patches, fragments,
// quirks and compiler), so that Build finds it; a kernel built from
// anything else is refused with a *MismatchError naming the difference.
func Import(ctx context.Context, c *Cache, req Request, dir string) (*Result, error) {
	data, err := os.ReadFile(filepath.Join(dir, ExportFile))
	if err != nil {
		return nil, fmt.Errorf("import [%s]: %w", req.Variant, err)
	}
	var m exported
	if err := json.Unmarshal(data, &m); err != nil || m.Result == nil {
		return nil, fmt.Errorf("import [%s]: %s is not a ktest kernel export: %v", req.Variant, dir, err)
	}
	in, err := req.inputs(ctx)
	if err != nil {
		return nil, err
	}
	if m.Format != cacheFormat || m.RequestKey != in.requestKey(req.Tree) {
		me := &MismatchError{Variant: req.Variant, Dir: dir}
		diff := func(what, theirs, ours string) {
			if theirs != ours {
				me.Why = append(me.Why, fmt.Sprintf("%s %q, this run's %q", what, theirs, ours))
			}
		}
		diff("cache format", m.Format, cacheFormat)
		diff("tree key", m.TreeKey, req.Tree.Key)
		diff("patches (overlay hash)", m.Overlay, in.overlay)
		diff("compiler", m.Compiler, in.compiler)
		diff("quirks", strings.Join(m.Quirks, ","), strings.Join(in.quirks, ","))
		if len(me.Why) == 0 {
			me.Why = []string{"the config fragments differ"}
		}
		return nil, me
	}
	key := m.Result.Key
	if r, err := c.kernel(key); r != nil || err != nil {
		if err == nil {
			err = c.index(req.Tree, in, key)
		}
		return r, err
	}
	cfg, err := os.ReadFile(filepath.Join(dir, "config"))
	if err != nil {
		return nil, fmt.Errorf("import [%s]: %w", req.Variant, err)
	}
	r := *m.Result
	if err := c.publish(&r, filepath.Join(dir, "bzImage"), cfg, filepath.Join(dir, "build.log")); err != nil {
		return nil, fmt.Errorf("import [%s]: %w", req.Variant, err)
	}
	if err := c.index(req.Tree, in, key); err != nil {
		return nil, err
	}
	got, err := c.kernel(key)
	if got == nil && err == nil {
		err = errors.New("the imported kernel did not publish")
	}
	return got, err
}
