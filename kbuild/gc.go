package kbuild

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/ktest-dev/ktest/internal/cachedir"
)

// A published kernel's directory mtime is its last use: kernel() sets it
// on every hit, so garbage collection can keep what is still in use.

// Entry is one published kernel as the cache lists it.
type Entry struct {
	*Result
	LastUsed time.Time `json:"last_used"`
	Bytes    int64     `json:"bytes"`
}

// SlotEntry is one build slot (a source copy and its O= dir).
type SlotEntry struct {
	Dir      string    `json:"dir"`
	LastUsed time.Time `json:"last_used"`
	Bytes    int64     `json:"bytes"`
}

// Kernels lists the published kernels, most recently used first.
func (c *Cache) Kernels() ([]Entry, error) {
	dirs, err := os.ReadDir(filepath.Join(c.Dir, "kernels"))
	if err != nil {
		return nil, fmt.Errorf("listing cache kernels: %w", err)
	}
	var out []Entry
	for _, d := range dirs {
		if !d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			continue
		}
		dir := filepath.Join(c.Dir, "kernels", d.Name())
		r, err := c.readKernel(dir)
		if err != nil || r == nil {
			continue // half-removed, or not ours: GC's business, not a listing's
		}
		st, err := os.Stat(dir)
		if err != nil {
			continue
		}
		out = append(out, Entry{Result: r, LastUsed: st.ModTime(), Bytes: duBytes(dir)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].LastUsed.After(out[j].LastUsed) })
	return out, nil
}

// Slots lists the build slots, most recently used first.
func (c *Cache) Slots() ([]SlotEntry, error) {
	dirs, err := os.ReadDir(filepath.Join(c.Dir, "slots"))
	if err != nil {
		return nil, fmt.Errorf("listing cache slots: %w", err)
	}
	var out []SlotEntry
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		dir := filepath.Join(c.Dir, "slots", d.Name())
		st, err := os.Stat(dir)
		if err != nil {
			continue
		}
		out = append(out, SlotEntry{Dir: dir, LastUsed: st.ModTime(), Bytes: duBytes(dir)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].LastUsed.After(out[j].LastUsed) })
	return out, nil
}

// Remove deletes the published kernel key and every request index that
// points at it. The directory is renamed away first, so a concurrent
// lookup sees either the whole kernel or none.
func (c *Cache) Remove(key string) error {
	if key == "" || strings.ContainsAny(key, "/.") {
		return fmt.Errorf("invalid kernel key %q", key)
	}
	dir := filepath.Join(c.Dir, "kernels", key)
	if _, err := os.Stat(dir); err != nil {
		return fmt.Errorf("no cached kernel %q in %s (see 'ktest cache ls')", key, c.Dir)
	}
	trash, err := os.MkdirTemp(filepath.Join(c.Dir, "kernels"), ".trash-"+key+"-")
	if err != nil {
		return err
	}
	if err := os.Rename(dir, filepath.Join(trash, key)); err != nil {
		_ = os.Remove(trash) // an empty dir; the error below is what matters
		return fmt.Errorf("removing cached kernel %s: %w", key, err)
	}
	if err := os.RemoveAll(trash); err != nil {
		return fmt.Errorf("removing cached kernel %s: %w", key, err)
	}
	_, err = c.pruneIndexes()
	return err
}

// pruneIndexes deletes request indexes whose kernel is gone (removed
// by GC, by Remove, or by hand). An index is written only after its
// kernel is published, so one that points nowhere is stale, never
// early.
func (c *Cache) pruneIndexes() (int, error) {
	paths, err := filepath.Glob(filepath.Join(c.Dir, "requests", "*.json"))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		var idx struct{ Key string }
		if json.Unmarshal(data, &idx) == nil && idx.Key != "" {
			if _, err := os.Stat(filepath.Join(c.Dir, "kernels", idx.Key, "meta.json")); err == nil {
				continue
			}
		}
		if os.Remove(p) == nil {
			n++
		}
	}
	return n, nil
}

// GCOptions says what garbage collection may remove.
type GCOptions struct {
	// OlderThan: kernels and slots unused for longer are removed...
	OlderThan time.Duration
	// ...except the Keep most recently used kernels and KeepSlots slots.
	Keep, KeepSlots int
	// DryRun reports what would go and removes nothing.
	DryRun bool
}

// GCReport is what a collection removed (or, in a dry run, would).
type GCReport struct {
	Kernels []Entry     `json:"kernels"`
	Slots   []SlotEntry `json:"slots"`
	Indexes int         `json:"stale_indexes"`
	// TreeIndexes are content-key indexes of trees that no longer exist.
	TreeIndexes int `json:"stale_tree_indexes"`
	Temps       int `json:"leftover_temps"`
	// BootLogs are kept console logs of failed boots, older than OlderThan.
	BootLogs int `json:"boot_logs"`
	// EraScans are cached era scans of trees not used for OlderThan.
	EraScans int   `json:"era_scans"`
	Bytes    int64 `json:"bytes"`
}

// tempGrace is how old a leftover .tmp- directory must be before GC takes
// it: younger ones may be another ktest's publish in progress.
const tempGrace = time.Hour

// GC removes old kernels, old build slots, old boot logs and era scans, stale request
// indexes, the content indexes of trees that are gone, and leftovers of
// killed publishes. A slot that another ktest holds is
// skipped, never waited for.
func (c *Cache) GC(o GCOptions, now time.Time) (*GCReport, error) {
	rep := &GCReport{}
	var errs []error // what could not be removed; the rest goes on
	kernels, err := c.Kernels()
	if err != nil {
		return nil, err
	}
	for i, k := range kernels {
		if i < o.Keep || now.Sub(k.LastUsed) <= o.OlderThan {
			continue
		}
		if !o.DryRun {
			if err := c.Remove(k.Key); err != nil {
				return rep, err
			}
		}
		rep.Kernels = append(rep.Kernels, k)
		rep.Bytes += k.Bytes
	}
	slots, err := c.Slots()
	if err != nil {
		return rep, err
	}
	for i, s := range slots {
		if i < o.KeepSlots || now.Sub(s.LastUsed) <= o.OlderThan {
			continue
		}
		if !o.DryRun {
			removed, err := c.removeSlot(s.Dir)
			if err != nil {
				return rep, err
			}
			if !removed {
				continue
			}
		}
		rep.Slots = append(rep.Slots, s)
		rep.Bytes += s.Bytes
	}
	temps, _ := filepath.Glob(filepath.Join(c.Dir, "kernels", ".t*-*"))
	for _, t := range temps {
		st, err := os.Stat(t)
		if err != nil || now.Sub(st.ModTime()) < tempGrace {
			continue
		}
		n := duBytes(t)
		if !o.DryRun {
			if err := os.RemoveAll(t); err != nil {
				errs = append(errs, fmt.Errorf("removing leftover %s: %w", t, err))
				continue
			}
		}
		rep.Temps++
		rep.Bytes += n
	}
	for _, aged := range []struct {
		dir, what string
		count     *int
	}{{cachedir.BootLogs, "boot log", &rep.BootLogs}, {cachedir.EraScans, "era scan", &rep.EraScans}} {
		errs = append(errs, c.ageOut(aged.dir, aged.what, aged.count, &rep.Bytes, o, now)...)
	}
	if rep.TreeIndexes, err = c.pruneTreeIndexes(o.DryRun); err != nil {
		return rep, errors.Join(append(errs, err)...)
	}
	if o.DryRun {
		return rep, errors.Join(errs...)
	}
	rep.Indexes, err = c.pruneIndexes()
	return rep, errors.Join(append(errs, err)...)
}

// ageOut removes the entries of the cache subdirectory dir not modified
// for o.OlderThan, counting them and their bytes; it returns what it
// could not remove.
func (c *Cache) ageOut(dir, what string, count *int, bytes *int64, o GCOptions, now time.Time) []error {
	var errs []error
	entries, _ := os.ReadDir(filepath.Join(c.Dir, dir))
	for _, e := range entries {
		p := filepath.Join(c.Dir, dir, e.Name())
		st, err := os.Stat(p)
		if err != nil || now.Sub(st.ModTime()) <= o.OlderThan {
			continue
		}
		n := duBytes(p)
		if !o.DryRun {
			if err := os.RemoveAll(p); err != nil {
				errs = append(errs, fmt.Errorf("removing %s %s: %w", what, p, err))
				continue
			}
		}
		*count++
		*bytes += n
	}
	return errs
}

// removeSlot deletes a slot unless a build holds its lock.
func (c *Cache) removeSlot(dir string) (bool, error) {
	unlock, err := c.tryLock("slot-" + filepath.Base(dir))
	if err != nil || unlock == nil {
		return false, err // nil, nil: in use
	}
	defer unlock()
	if err := removeSlotDir(dir); err != nil {
		return false, fmt.Errorf("removing build slot %s: %w", dir, err)
	}
	return true, nil
}

// removeSlotDir removes a slot's directory. Its src dirs may have been
// made read-only by a read-only tree's copy, and RemoveAll needs write
// permission on each directory.
func removeSlotDir(dir string) error {
	// Best effort: RemoveAll reports whatever this did not fix.
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(p, 0o755)
		}
		return nil
	})
	return os.RemoveAll(dir)
}

// touch records a use of a kernel or slot directory.
func touch(dir string) {
	now := time.Now()
	// Best effort: at worst gc takes the entry for unused and it is
	// built again.
	_ = os.Chtimes(dir, now, now)
}

// duBytes is the disk space under dir. Files with other hardlinks (a
// slot's sources, shared with its tree) are not counted: removing dir
// does not free them.
func duBytes(dir string) int64 { return walkBytes(dir, false) }
