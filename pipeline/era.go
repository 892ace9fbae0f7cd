package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ktest-dev/ktest/era"
	"github.com/ktest-dev/ktest/internal/atomicfile"
	"github.com/ktest-dev/ktest/internal/cachedir"
	"github.com/ktest-dev/ktest/kbuild"
	"github.com/ktest-dev/ktest/patches"
	"github.com/ktest-dev/ktest/results"
)

// eraState is the run's era: chosen from the tree, with the lines of the
// stock tree that advertise its flag.
type eraState struct {
	era   era.Era
	stock []era.Hit
}

// chooseEra is the "era" stage of a plan whose baseline is its tree's
// era baseline (the default plan). It reads the era from the tree's
// include/linux/fs.h, finds the lines that advertise its flag, checks
// that the era's baseline applies and leaves none of them, and gives the
// baseline to the variants that ask for it. All of it before anything
// is built: a tree the A/B cannot run on is refused here, saying why.
func (r *runner) chooseEra(ctx context.Context) (string, error) {
	e, err := era.OfTree(r.tree.Dir, r.tree.Version)
	if err != nil {
		return "", err
	}
	stock, err := stockHits(ctx, r.cfg.Cache, r.tree, e.Flag)
	if err != nil {
		return "", err
	}
	if len(stock) == 0 {
		return "", &era.UnknownError{Version: r.tree.Version,
			Reason: fmt.Sprintf("%s defines %s, but no C file sets it, so there are no async buffered reads to take away", era.FSHeader, e.Flag)}
	}
	baseline := patches.Source(e.Baseline)
	ov, _, err := Overlay(ctx, r.tree.Dir, []string{baseline}, false)
	if err != nil {
		return "", &era.BaselineError{Era: e, Baseline: e.Baseline, Conflict: err}
	}
	if left := era.After(stock, ov, e.Flag); len(left) > 0 {
		return "", &era.BaselineError{Era: e, Baseline: e.Baseline, Left: left}
	}
	r.era = &eraState{era: e, stock: stock}
	r.cfg.Plan = r.cfg.Plan.WithEraBaseline(baseline)
	for i, v := range r.cfg.Plan.Variants {
		r.run.Variants[i].Patches = v.Patches
	}
	rec := &results.Era{Name: e.Name, Flag: e.Flag, Baseline: baseline}
	for _, h := range stock {
		rec.Stock = append(rec.Stock, h.String())
	}
	r.run.Tree.Era = rec
	r.logf("era: Linux %s keeps the series' flag as %s; baseline %s", r.tree.Version, e, baseline)
	return fmt.Sprintf("%s, baseline %s for %d line(s)", e, baseline, len(stock)), nil
}

// verifyBaseline is the "baseline" stage of a variant that applies its
// era's baseline, between its apply and its build: a scan of its applied
// tree (the stock tree with the variant's overlay) must find no line
// still advertising the flag, or the variant is no baseline and is not
// built.
func (r *runner) verifyBaseline(overlay map[string][]byte) (string, error) {
	e := r.era.era
	if left := era.After(r.era.stock, overlay, e.Flag); len(left) > 0 {
		return "", &era.BaselineError{Era: e, Baseline: e.Baseline, Left: left}
	}
	r.run.Tree.Era.Verified = true
	return fmt.Sprintf("no file advertises %s (%d line(s) did)", e.Flag, len(r.era.stock)), nil
}

// stockHits scans the tree for the lines that advertise flag, once per
// tree content: the result is kept in the cache under the tree's
// content key, since reading every C file of a tree takes seconds.
func stockHits(ctx context.Context, cache *kbuild.Cache, tree *kbuild.Tree, flag string) ([]era.Hit, error) {
	path := filepath.Join(cache.Dir, cachedir.EraScans, tree.Key+"-"+flag+".json")
	var hits []era.Hit
	if data, err := os.ReadFile(path); err == nil && json.Unmarshal(data, &hits) == nil {
		now := time.Now()
		_ = os.Chtimes(path, now, now) // best effort: marks it used for cache gc, which otherwise ages it out sooner
		return hits, nil
	}
	hits, err := era.Scan(ctx, os.DirFS(tree.Dir), flag)
	if err != nil {
		return nil, err
	}
	if hits == nil {
		hits = []era.Hit{}
	}
	data, err := json.Marshal(hits)
	if err == nil {
		err = atomicfile.WriteFile(path, data, 0o644)
	}
	if err != nil {
		return nil, fmt.Errorf("caching the scan for %s: %w", flag, err)
	}
	return hits, nil
}
