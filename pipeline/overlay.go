package pipeline

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/ktest-dev/ktest/internal/atomicfile"

	"github.com/ktest-dev/ktest/apply"
	"github.com/ktest-dev/ktest/patches"
	"github.com/ktest-dev/ktest/series"
)

// LoadSource reads a patch source: a path (file or directory), or
// "embedded:DIR" for a directory shipped in patches/, which is first
// copied under scratch so a run records exactly what it applied.
func LoadSource(src, scratch string) (*series.Series, error) {
	dir, ok := strings.CutPrefix(src, "embedded:")
	if !ok {
		return series.Load(src)
	}
	entries, err := fs.ReadDir(patches.FS, dir)
	if err != nil {
		return nil, fmt.Errorf("no embedded patch directory %q (see patches/README.md)", dir)
	}
	dst := filepath.Join(scratch, dir)
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return nil, err
	}
	for _, e := range entries {
		data, err := fs.ReadFile(patches.FS, dir+"/"+e.Name())
		if err != nil {
			return nil, err
		}
		if err := atomicfile.WriteFile(filepath.Join(dst, e.Name()), data, 0o644); err != nil {
			return nil, err
		}
	}
	s, err := series.Load(dst)
	if err != nil {
		return nil, err
	}
	// Name the embedded files, not the scratch copy that goes away.
	s.Source = src
	for _, group := range [][]*series.Patch{{s.Cover}, s.Patches, s.Fixups, s.Revisions} {
		for _, p := range group {
			if p != nil {
				if rel, ok := strings.CutPrefix(p.Source, dst+string(filepath.Separator)); ok {
					p.Source = "embedded:" + dir + "/" + rel
				}
			}
		}
	}
	return s, nil
}

// Overlay applies the patch sources, in order, to the tree in memory and
// returns the changed files (nil content = deleted) for kbuild to switch
// in. The apply result is returned even on error, for its report.
func Overlay(treeDir string, sources []string, withFixups bool, scratch string) (map[string][]byte, *apply.Result, error) {
	aps, err := sourcePatches(sources, withFixups, scratch)
	if err != nil {
		return nil, nil, err
	}
	return overlayOf(treeDir, aps)
}

// sourcePatches loads the sources and returns their patches in apply
// order, each named "NN/MM subject".
func sourcePatches(sources []string, withFixups bool, scratch string) ([]apply.Patch, error) {
	var aps []apply.Patch
	for _, src := range sources {
		s, err := LoadSource(src, scratch)
		if err != nil {
			return nil, err
		}
		for _, p := range s.ToApply(withFixups) {
			name := p.Subject
			if p.Total > 0 {
				name = fmt.Sprintf("%02d/%02d %s", p.Number, p.Total, p.Subject)
			}
			aps = append(aps, apply.Patch{Name: name, Files: p.Files})
		}
	}
	return aps, nil
}

// overlayOf applies aps to the tree in memory.
func overlayOf(treeDir string, aps []apply.Patch) (map[string][]byte, *apply.Result, error) {
	res, err := apply.ApplySeries(os.DirFS(treeDir), aps, apply.DefaultOptions())
	if err != nil {
		return nil, res, err
	}
	ov := map[string][]byte{}
	for _, c := range res.SortedChanges() {
		if c.Deleted {
			ov[c.Path] = nil
		} else {
			ov[c.Path] = c.Content
		}
	}
	return ov, res, nil
}
