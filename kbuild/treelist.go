package kbuild

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"time"
)

// TreeEntry is one source tree extracted into the cache (the default
// tree, or a debian:X).
type TreeEntry struct {
	Dir       string    `json:"dir"`               // the read-only sources
	Tarball   string    `json:"tarball,omitempty"` // what it was extracted from, when known
	Version   string    `json:"version,omitempty"`
	Extracted time.Time `json:"extracted"`
	// Bytes are the tree's own disk blocks. Build slots hardlink these
	// files, so the slots' sizes do not count them again.
	Bytes int64 `json:"bytes"`
}

// Trees lists the extracted trees, most recently extracted first. A tree
// still being extracted (no "complete" mark) is not listed.
func (c *Cache) Trees() ([]TreeEntry, error) {
	root := filepath.Join(c.Dir, "trees")
	dirs, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("listing cache trees: %w", err)
	}
	tarballs := c.stampedTarballs()
	var out []TreeEntry
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		dir := filepath.Join(root, d.Name())
		st, err := os.Stat(filepath.Join(dir, "complete"))
		if err != nil {
			continue // the content indexes, or an extraction under way
		}
		e := TreeEntry{Dir: filepath.Join(dir, "src"), Tarball: tarballs[d.Name()], Extracted: st.ModTime(), Bytes: diskBytes(dir)}
		if v, err := readVersion(e.Dir); err == nil {
			e.Version = v.String()
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Extracted.After(out[j].Extracted) })
	return out, nil
}

// stampedTarballs maps an extracted tree's directory name (its tarball's
// hash, cut) to the tarball, from the hash stamps.
func (c *Cache) stampedTarballs() map[string]string {
	out := map[string]string{}
	paths, _ := filepath.Glob(filepath.Join(c.Dir, "trees", "stamp-*.json"))
	for _, p := range paths {
		var s tarballStamp
		if data, err := os.ReadFile(p); err == nil && json.Unmarshal(data, &s) == nil && len(s.SHA256) >= 24 {
			out[s.SHA256[:24]] = s.Path
		}
	}
	return out
}

// diskBytes is the disk usage of every file below dir, hardlinked or not.
func diskBytes(dir string) int64 { return walkBytes(dir, true) }

// walkBytes adds up the disk blocks of the files below dir (their sizes
// where the system gives no blocks), counting files with other hardlinks
// only if shared. The walk skips what it cannot read: the figure is for
// a listing or a report, never a decision.
func walkBytes(dir string, shared bool) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			if shared || st.Nlink == 1 {
				n += st.Blocks * 512
			}
			return nil
		}
		n += info.Size()
		return nil
	})
	return n
}
