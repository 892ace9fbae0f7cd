// Build slots: one persistent source copy and O= directory per tree and
// configuration, switched between variants in place.

package kbuild

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/ktest-dev/ktest/internal/atomicfile"
)

// slot is one persistent source copy and O= dir for a (tree, config).
// Its paths never change, which is what lets a variant rebuild only the
// files it touches: objtool and the .cmd files record absolute paths.
type slot struct {
	dir string
	src string // the tree, hardlinked, with the current variant's files switched in
	cfg string // O= dir used only to generate configs
	obj string // O= dir of the build
}

// Identical trees share kernels (request and build keys hold only the
// tree's content key) but not slots: a slot's sources are hardlinks to
// its tree's files, so an in-place edit of one tree would change the
// sources another, still identical-keyed tree builds from.
func (c *Cache) slot(t *Tree, in *inputs) *slot {
	d := filepath.Join(c.Dir, "slots", hashString(in.configKey(t) + "\ndir " + t.Dir)[:16])
	return &slot{dir: d, src: filepath.Join(d, "src"), cfg: filepath.Join(d, "cfg"), obj: filepath.Join(d, "obj")}
}

// prepare makes the slot, switches the variant's sources in, and
// generates and verifies the .config in the slot's cfg dir.
func (c *Cache) prepare(ctx context.Context, req Request, in *inputs, s *slot) ([]byte, error) {
	if _, err := os.Stat(filepath.Join(req.Tree.Dir, ".config")); err == nil {
		return nil, &ConfigError{req.Variant, fmt.Errorf("%s has been configured in place (.config exists); out-of-tree builds need a clean tree: run 'make mrproper' there, or give another tree", req.Tree.Dir)}
	}
	if err := makeSlot(ctx, req.Tree, s, req.log()); err != nil {
		return nil, err
	}
	if err := switchSources(req.Tree.Dir, s, req.Overlay); err != nil {
		return nil, fmt.Errorf("switching the slot to variant %s: %w", req.Variant, err)
	}
	return configure(ctx, req, in, s)
}

func makeSlot(ctx context.Context, t *Tree, s *slot, log io.Writer) error {
	if _, err := os.Stat(filepath.Join(s.dir, "complete")); err == nil {
		return nil
	}
	start := time.Now()
	logf(log, "ktest: preparing build slot %s (hardlinked copy of %s)\n", s.dir, t.Dir)
	// An incomplete slot's leftovers would mix into the new copy.
	if err := removeSlotDir(s.dir); err != nil {
		return fmt.Errorf("removing an incomplete slot: %w", err)
	}
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return err
	}
	tmp := s.src + ".tmp"
	// Hardlinks: cheap, and safe because ktest replaces files (rename)
	// and never writes into them. Across filesystems, a real copy.
	if out, err := exec.CommandContext(ctx, "cp", "-al", t.Dir, tmp).CombinedOutput(); err != nil {
		if rerr := removeSlotDir(tmp); rerr != nil {
			return fmt.Errorf("copying %s: %v: %s; removing the partial copy: %w", t.Dir, err, out, rerr)
		}
		if out2, err2 := exec.CommandContext(ctx, "cp", "-a", t.Dir, tmp).CombinedOutput(); err2 != nil {
			return fmt.Errorf("copying %s: %v: %s; %v: %s", t.Dir, err, out, err2, out2)
		}
	}
	// The directories are new (only the files are shared): make them
	// writable so variants can replace files even when the tree is read-only.
	if out, err := exec.CommandContext(ctx, "find", tmp, "-type", "d", "-exec", "chmod", "u+w", "{}", "+").CombinedOutput(); err != nil {
		return fmt.Errorf("chmod slot dirs: %v: %s", err, out)
	}
	if err := os.Rename(tmp, s.src); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(s.dir, "complete"), []byte(t.Dir+"\n"), 0o644); err != nil {
		return err
	}
	logf(log, "ktest: slot ready in %s\n", time.Since(start).Round(100*time.Millisecond))
	return nil
}

// switchSources makes s.src equal to tree + overlay, touching only the
// files that differ. A file that changes gets a fresh mtime (new inode,
// written now), including a file restored to the tree's content: make
// would not rebuild a file restored with its old mtime.
func switchSources(tree string, s *slot, overlay map[string][]byte) error {
	statePath := filepath.Join(s.dir, "overlay.json")
	var prev []string
	if data, err := os.ReadFile(statePath); err == nil {
		if err := json.Unmarshal(data, &prev); err != nil {
			return fmt.Errorf("corrupt %s: %w", statePath, err)
		}
	}
	union := map[string]bool{}
	for _, p := range prev {
		union[p] = true
	}
	for p := range overlay {
		if err := checkRelPath(p); err != nil {
			return err
		}
		union[p] = true
	}
	paths := make([]string, 0, len(union))
	for p := range union {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	// Record the union first: if we die midway, the next switch still
	// knows every file that may differ from the tree.
	if err := writeJSONAtomic(statePath, paths); err != nil {
		return err
	}
	for _, p := range paths {
		want, inOverlay := overlay[p]
		mode := os.FileMode(0o644)
		if st, err := os.Stat(filepath.Join(tree, p)); err == nil {
			mode = st.Mode().Perm() | 0o200
		}
		if !inOverlay {
			var err error
			want, err = os.ReadFile(filepath.Join(tree, p))
			if errors.Is(err, os.ErrNotExist) {
				want = nil
			} else if err != nil {
				return err
			}
		}
		dst := filepath.Join(s.src, p)
		cur, err := os.ReadFile(dst)
		exists := err == nil
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		switch {
		case want == nil && !exists:
		case want == nil:
			if err := os.Remove(dst); err != nil {
				return err
			}
		case exists && bytes.Equal(cur, want):
		default:
			if err := atomicfile.WriteFile(dst, want, mode); err != nil {
				return err
			}
		}
	}
	keys := make([]string, 0, len(overlay))
	for p := range overlay {
		keys = append(keys, p)
	}
	sort.Strings(keys)
	return writeJSONAtomic(statePath, keys)
}

func checkRelPath(p string) error {
	if filepath.IsAbs(p) || p != filepath.Clean(p) || p == ".." || strings.HasPrefix(p, "../") {
		return fmt.Errorf("unsafe path in overlay: %q", p)
	}
	return nil
}

// Dependents counts the objects of req's slot whose recorded
// dependencies (Kbuild's .*.o.cmd files) name any of files, and the
// objects in all: how much of the kernel a change of files rebuilds.
// A slot not built yet has no objects: 0, 0.
func Dependents(ctx context.Context, c *Cache, req Request, files []string) (n, total int, err error) {
	in, err := req.inputs(ctx)
	if err != nil {
		return 0, 0, err
	}
	s := c.slot(req.Tree, in)
	var needles [][]byte
	for _, f := range files {
		needles = append(needles, []byte(s.src+"/"+f), []byte("$(srctree)/"+f))
	}
	err = filepath.WalkDir(s.obj, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return filepath.SkipAll
			}
			return err
		}
		name := d.Name()
		if d.IsDir() || !strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".o.cmd") {
			return ctx.Err()
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		total++
		for _, nd := range needles {
			if bytes.Contains(data, nd) {
				n++
				break
			}
		}
		return nil
	})
	return n, total, err
}
