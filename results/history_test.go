package results

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestHistory(t *testing.T) {
	h := History{Dir: filepath.Join(t.TempDir(), "history")}
	if _, err := h.LastGood(); !errors.Is(err, ErrNoGoodRun) {
		t.Fatalf("LastGood on an empty history: %v", err)
	}
	at := func(id string, day int, status RunStatus, complete bool, variants ...string) *Run {
		r := fixtureRun(1)
		r.ID, r.Status, r.Complete = id, status, complete
		r.Started = time.Date(2025, 3, day, 2, 0, 0, 0, time.UTC)
		if len(variants) > 0 {
			r.Variants = r.Variants[:0]
			for _, v := range variants {
				r.Variants = append(r.Variants, &Variant{Name: v})
			}
		}
		return r
	}
	// Added out of order; List sorts by start time.
	for _, r := range []*Run{
		at("d12-pass", 12, StatusPass, true),
		at("d14-fail", 14, StatusFail, true),
		at("d10-pass", 10, StatusPass, true),
		at("d13-patched-only", 13, StatusPass, true, "patched"),
		at("d15-interrupted", 15, StatusInterrupted, false),
	} {
		p, err := h.Add(r)
		if err != nil {
			t.Fatal(err)
		}
		if p != filepath.Join(h.Dir, r.ID+".json") {
			t.Errorf("Add stored %s at %s", r.ID, p)
		}
	}
	if err := os.WriteFile(filepath.Join(h.Dir, "broken.json"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}

	list, err := h.List()
	if err == nil || !strings.Contains(err.Error(), "broken.json") {
		t.Errorf("List error %v, want one naming broken.json", err)
	}
	var ids []string
	for _, e := range list {
		ids = append(ids, e.Run.ID)
	}
	if got := strings.Join(ids, " "); got != "d10-pass d12-pass d13-patched-only d14-fail d15-interrupted" {
		t.Errorf("List order: %s", got)
	}

	tests := []struct {
		variants []string
		want     string
	}{
		{nil, "d13-patched-only"},
		{[]string{"patched"}, "d13-patched-only"},
		{[]string{"baseline", "patched"}, "d12-pass"},
		{[]string{"baseline", "kasan"}, ""},
	}
	for _, tc := range tests {
		r, err := h.LastGood(tc.variants...)
		switch {
		case tc.want == "" && !errors.Is(err, ErrNoGoodRun):
			t.Errorf("LastGood(%v) = %v, %v; want ErrNoGoodRun", tc.variants, r, err)
		case tc.want != "" && (err != nil || r.ID != tc.want):
			t.Errorf("LastGood(%v) = %v, want %s", tc.variants, err, tc.want)
		}
	}

	for _, id := range []string{"", "../escape", "a/b", ".hidden", ".."} {
		r := fixtureRun(1)
		r.ID = id
		if _, err := h.Add(r); err == nil {
			t.Errorf("Add accepted id %q", id)
		}
	}
	if leftovers, _ := filepath.Glob(filepath.Join(h.Dir, ".*")); len(leftovers) > 0 {
		t.Errorf("temp files left behind: %v", leftovers)
	}
}

// TestLastLike: nightly compares like with like; a quick run is never
// measured against a full one.
func TestLastLike(t *testing.T) {
	h := History{Dir: filepath.Join(t.TempDir(), "history")}
	add := func(id string, day int, status RunStatus, size string) *Run {
		r := fixtureRun(3)
		r.ID, r.Status, r.Plan.FileSize = id, status, size
		r.Started = time.Date(2025, 3, day, 2, 0, 0, 0, time.UTC)
		if _, err := h.Add(r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	add("d1-full", 1, StatusPass, "32M")
	add("d2-quick", 2, StatusPass, "16M")
	add("d3-full-fail", 3, StatusFail, "32M")
	now := fixtureRun(3)
	now.ID, now.Plan.FileSize = "d4-full", "32M"
	if r, err := h.LastLike(now); err != nil || r.ID != "d1-full" {
		t.Errorf("LastLike(full) = %v, %v; want d1-full", r, err)
	}
	now.Plan.FileSize = "16M"
	if r, err := h.LastLike(now); err != nil || r.ID != "d2-quick" {
		t.Errorf("LastLike(quick) = %v, %v; want d2-quick", r, err)
	}
	now.Plan.FileSize = "64M"
	if _, err := h.LastLike(now); !errors.Is(err, ErrNoGoodRun) {
		t.Errorf("LastLike(64M) = %v, want ErrNoGoodRun", err)
	}
	// Times under the instruction clock are not times under the host's:
	// the nights before it (no clock recorded: the host's) are unlike.
	now.Plan.FileSize, now.Plan.Clock = "32M", "instructions"
	if _, err := h.LastLike(now); !errors.Is(err, ErrNoGoodRun) {
		t.Errorf("LastLike(instructions clock) = %v, want ErrNoGoodRun", err)
	}
	now.Plan.Clock = "host"
	if r, err := h.LastLike(now); err != nil || r.ID != "d1-full" {
		t.Errorf("LastLike(host clock) = %v, %v; want d1-full, whose plan predates the field", r, err)
	}
	// Nor are CPU figures taken with a static fio those of a dynamic one,
	// whose start-up they include: a night with the tool recorded is
	// unlike the nights before it, and like a night with the same tool.
	now.Plan.BenchTool = "fio-3.33, static"
	if _, err := h.LastLike(now); !errors.Is(err, ErrNoGoodRun) {
		t.Errorf("LastLike(static fio) = %v, want ErrNoGoodRun", err)
	}
	d5 := fixtureRun(3)
	d5.ID, d5.Status, d5.Plan.FileSize, d5.Plan.Clock, d5.Plan.BenchTool = "d5-static", StatusPass, "32M", "host", "fio-3.33, static"
	d5.Started = time.Date(2025, 3, 5, 2, 0, 0, 0, time.UTC)
	if _, err := h.Add(d5); err != nil {
		t.Fatal(err)
	}
	if r, err := h.LastLike(now); err != nil || r.ID != "d5-static" {
		t.Errorf("LastLike(static fio) = %v, %v; want d5-static", r, err)
	}
}
