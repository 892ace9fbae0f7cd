package pipeline

import (
	"context"
	"os"

	"github.com/ktest-dev/ktest/apply"
	"github.com/ktest-dev/ktest/gitrepo"
	"github.com/ktest-dev/ktest/results"
	"github.com/ktest-dev/ktest/series"
)

// Overlay applies the patch sources, in order, to the tree in memory and
// returns the changed files (nil content = deleted) for kbuild to switch
// in. The apply result is returned even on error, for its report.
func Overlay(ctx context.Context, treeDir string, sources []string, withFixups bool) (map[string][]byte, *apply.Result, error) {
	aps, err := sourcePatches(sources, withFixups, series.Load)
	if err != nil {
		return nil, nil, err
	}
	return overlayOf(ctx, treeDir, aps)
}

// sourcePatches loads the sources with load and returns their patches in
// apply order, each with its series ID.
func sourcePatches(sources []string, withFixups bool, load func(string) (*series.Series, error)) ([]apply.Patch, error) {
	aps, _, err := loadPatches(sources, withFixups, load)
	return aps, err
}

// loadPatches loads the sources with load and returns their patches in
// apply order, each with its series ID, and the record the run keeps of
// them: source, ID, subject and the sha256 of each diff.
func loadPatches(sources []string, withFixups bool, load func(string) (*series.Series, error)) ([]apply.Patch, []results.AppliedPatch, error) {
	var aps []apply.Patch
	var rec []results.AppliedPatch
	for _, src := range sources {
		s, err := load(src)
		if err != nil {
			return nil, nil, err
		}
		for _, p := range s.ToApply(withFixups) {
			id := p.ID().String()
			aps = append(aps, apply.Patch{ID: id, Name: id + " " + p.Subject, Files: p.Files})
			rec = append(rec, results.AppliedPatch{Source: src, ID: id, Subject: p.Subject, SHA256: diffSHA256(p)})
		}
	}
	return aps, rec, nil
}

// overlayOf applies aps to the tree in memory; in a git tree, a file
// that does not apply directly is merged three-way, as git am -3 does.
func overlayOf(ctx context.Context, treeDir string, aps []apply.Patch) (map[string][]byte, *apply.Result, error) {
	opts := apply.DefaultOptions()
	if repo, ok := gitrepo.Open(ctx, treeDir); ok {
		opts.Ancestors = repo.Ancestors(ctx)
	}
	res, err := apply.ApplySeries(os.DirFS(treeDir), aps, opts)
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
