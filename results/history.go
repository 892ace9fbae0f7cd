package results

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// History is a directory of past runs, one DIR/<run-id>.json each, for
// nightly comparisons.
type History struct{ Dir string }

// ErrNoGoodRun is returned by LastGood when no stored run qualifies.
var ErrNoGoodRun = errors.New("no complete passing run in history")

// HistoryEntry is one stored run.
type HistoryEntry struct {
	Path string
	Run  *Run
}

// Add stores a copy of r as DIR/<r.ID>.json atomically and returns the
// path. A run with the same ID is replaced. IDs that are empty or could
// escape the directory are refused.
func (h History) Add(r *Run) (string, error) {
	if r == nil {
		return "", errors.New("history: nil run")
	}
	if err := validID(r.ID); err != nil {
		return "", fmt.Errorf("history %s: %w", h.Dir, err)
	}
	path := filepath.Join(h.Dir, r.ID+".json")
	if err := r.Write(path); err != nil {
		return "", fmt.Errorf("history: store run %s: %w", r.ID, err)
	}
	return path, nil
}

func validID(id string) error {
	switch {
	case id == "":
		return errors.New("run has no id")
	case id == "." || id == "..", strings.ContainsAny(id, `/\`+"\x00"), strings.HasPrefix(id, "."):
		return fmt.Errorf("run id %q is not a plain file name", id)
	}
	return nil
}

// List returns the stored runs, oldest first (by start time, then ID).
// Files that cannot be read are skipped and reported in the error,
// joined, alongside the runs that could: a damaged file does not hide
// the rest of the history. A missing directory is an empty history.
func (h History) List() ([]HistoryEntry, error) {
	names, err := filepath.Glob(filepath.Join(h.Dir, "*.json"))
	if err != nil {
		return nil, fmt.Errorf("history %s: %w", h.Dir, err)
	}
	var out []HistoryEntry
	var errs []error
	for _, p := range names {
		r, err := Load(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, HistoryEntry{Path: p, Run: r})
	}
	slices.SortStableFunc(out, func(a, b HistoryEntry) int {
		if c := a.Run.Started.Compare(b.Run.Started); c != 0 {
			return c
		}
		return strings.Compare(a.Run.ID, b.Run.ID)
	})
	return out, errors.Join(errs...)
}

// LastGood returns the newest complete run with status pass that has
// every variant named in variants (all runs qualify if none are named),
// or ErrNoGoodRun. Unreadable history files are ignored here; List
// reports them.
func (h History) LastGood(variants ...string) (*Run, error) {
	entries, _ := h.List()
	for i := len(entries) - 1; i >= 0; i-- {
		r := entries[i].Run
		if !r.Complete || r.Status != StatusPass {
			continue
		}
		if slices.ContainsFunc(variants, func(v string) bool { return r.Variant(v) == nil }) {
			continue
		}
		return r, nil
	}
	return nil, fmt.Errorf("%s: %w", h.Dir, ErrNoGoodRun)
}

// LastLike returns the newest good run made like r, the one nightly mode
// compares r with: complete, passed, with r's variants, and a plan that
// measures the same way (Plan.Differences is empty). It returns
// ErrNoGoodRun when there is none; unlike runs are skipped, never
// compared.
func (h History) LastLike(r *Run) (*Run, error) {
	var names []string
	for _, v := range r.Variants {
		names = append(names, v.Name)
	}
	entries, _ := h.List()
	for i := len(entries) - 1; i >= 0; i-- {
		old := entries[i].Run
		if old.ID == r.ID || !old.Complete || old.Status != StatusPass || len(old.Plan.Differences(r.Plan)) > 0 {
			continue
		}
		if slices.ContainsFunc(names, func(v string) bool { return old.Variant(v) == nil }) {
			continue
		}
		return old, nil
	}
	return nil, fmt.Errorf("%s: %w made like this one (same targets, sizes and boots)", h.Dir, ErrNoGoodRun)
}
