package kbuild

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ktest-dev/ktest/internal/cachedir"
)

// fakeKernel publishes a kernel entry as publish() lays it out, last used
// age ago, with an index named req pointing at it.
func fakeKernel(t *testing.T, c *Cache, key, req string, now time.Time, age time.Duration) {
	t.Helper()
	dir := filepath.Join(c.Dir, "kernels", key)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	meta, _ := json.Marshal(Result{Key: key, Variant: "v-" + key})
	for name, data := range map[string][]byte{"meta.json": meta, "bzImage": make([]byte, 8192), "config": nil, "build.log": nil} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := writeJSONAtomic(filepath.Join(c.Dir, "requests", req+".json"), map[string]string{"Key": key}); err != nil {
		t.Fatal(err)
	}
	when := now.Add(-age)
	if err := os.Chtimes(dir, when, when); err != nil {
		t.Fatal(err)
	}
}

func fakeSlot(t *testing.T, c *Cache, name string, now time.Time, age time.Duration) string {
	t.Helper()
	dir := filepath.Join(c.Dir, "slots", name)
	// A read-only source dir, as a copy of a read-only tree can leave.
	src := filepath.Join(dir, "src", "fs")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "file.c"), []byte("int x;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(src, 0o555); err != nil {
		t.Fatal(err)
	}
	when := now.Add(-age)
	if err := os.Chtimes(dir, when, when); err != nil {
		t.Fatal(err)
	}
	return dir
}

// fakeBootLog makes a kept console log as `ktest boot` leaves it, age old.
func fakeBootLog(t *testing.T, c *Cache, name string, now time.Time, age time.Duration) string {
	t.Helper()
	dir := filepath.Join(c.Dir, cachedir.BootLogs, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "console.log"), []byte("Kernel panic\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	when := now.Add(-age)
	if err := os.Chtimes(dir, when, when); err != nil {
		t.Fatal(err)
	}
	return dir
}

func fakeEraScan(t *testing.T, c *Cache, name string, now time.Time, age time.Duration) string {
	t.Helper()
	p := filepath.Join(c.Dir, cachedir.EraScans, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("[]"), 0o644); err != nil {
		t.Fatal(err)
	}
	when := now.Add(-age)
	if err := os.Chtimes(p, when, when); err != nil {
		t.Fatal(err)
	}
	return p
}

func keys(es []Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Key)
	}
	return out
}

func TestGC(t *testing.T) {
	day := 24 * time.Hour
	now := time.Now()
	tests := []struct {
		name        string
		opts        GCOptions
		wantRemoved []string
		wantKept    []string
		wantSlots   int
	}{
		{"old beyond keep go", GCOptions{OlderThan: 7 * day, Keep: 1}, []string{"b", "c"}, []string{"a"}, 1},
		{"keep protects the most recent", GCOptions{OlderThan: 7 * day, Keep: 3}, nil, []string{"a", "b", "c"}, 1},
		{"nothing is old enough", GCOptions{OlderThan: 60 * day}, nil, []string{"a", "b", "c"}, 0},
		{"dry run removes nothing", GCOptions{OlderThan: 7 * day, Keep: 1, DryRun: true}, []string{"b", "c"}, []string{"a", "b", "c"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := OpenCache(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			fakeKernel(t, c, "a", "ra", now, 10*day) // newest of the old
			fakeKernel(t, c, "b", "rb", now, 20*day)
			fakeKernel(t, c, "c", "rc", now, 30*day)
			fakeSlot(t, c, "old", now, 30*day)
			oldLog := fakeBootLog(t, c, "20261101-101010-42", now, 30*day)
			newLog := fakeBootLog(t, c, "20261201-101010-43", now, 0)
			oldScan := fakeEraScan(t, c, "content-old-FMODE_BUF_RASYNC.json", now, 30*day)
			newScan := fakeEraScan(t, c, "content-new-FMODE_BUF_RASYNC.json", now, day)
			rep, err := c.GC(tt.opts, now)
			if err != nil {
				t.Fatal(err)
			}
			if got := keys(rep.Kernels); !slices.Equal(got, tt.wantRemoved) {
				t.Errorf("removed %v, want %v", got, tt.wantRemoved)
			}
			if len(rep.Slots) != tt.wantSlots {
				t.Errorf("removed %d slots, want %d", len(rep.Slots), tt.wantSlots)
			}
			left, err := c.Kernels()
			if err != nil {
				t.Fatal(err)
			}
			if got := keys(left); !slices.Equal(got, tt.wantKept) {
				t.Errorf("left %v, want %v (most recent first)", got, tt.wantKept)
			}
			reqs, _ := filepath.Glob(filepath.Join(c.Dir, "requests", "*.json"))
			if len(reqs) != len(tt.wantKept) {
				t.Errorf("%d request indexes left, want one per kept kernel (%d): %v", len(reqs), len(tt.wantKept), reqs)
			}
			// Boot logs age out like slots: by OlderThan, none kept.
			if rep.BootLogs != tt.wantSlots {
				t.Errorf("removed %d boot logs, want %d", rep.BootLogs, tt.wantSlots)
			}
			if _, err := os.Stat(newLog); err != nil {
				t.Errorf("the new boot log went: %v", err)
			}
			if _, err := os.Stat(oldLog); (err == nil) != (tt.wantSlots == 0 || tt.opts.DryRun) {
				t.Errorf("old boot log: stat %v", err)
			}
			// Era scans age out by their last use, as boot logs do.
			if rep.EraScans != tt.wantSlots {
				t.Errorf("removed %d era scans, want %d", rep.EraScans, tt.wantSlots)
			}
			if _, err := os.Stat(newScan); err != nil {
				t.Errorf("the recently used era scan went: %v", err)
			}
			if _, err := os.Stat(oldScan); (err == nil) != (tt.wantSlots == 0 || tt.opts.DryRun) {
				t.Errorf("old era scan: stat %v", err)
			}
			slotsLeft, _ := c.Slots()
			if len(slotsLeft) != 1-tt.wantSlots && !tt.opts.DryRun {
				t.Errorf("%d slots left", len(slotsLeft))
			}
		})
	}
}

func TestRemoveDropsItsIndexes(t *testing.T) {
	c, err := OpenCache(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	fakeKernel(t, c, "k1", "r1", now, 0)
	fakeKernel(t, c, "k1", "r2", now, 0) // two requests, one kernel
	fakeKernel(t, c, "k2", "r3", now, 0)
	if err := c.Remove("k1"); err != nil {
		t.Fatal(err)
	}
	if r, _ := c.kernel("k1"); r != nil {
		t.Errorf("k1 still published")
	}
	for req, want := range map[string]bool{"r1": false, "r2": false, "r3": true} {
		_, err := os.Stat(filepath.Join(c.Dir, "requests", req+".json"))
		if (err == nil) != want {
			t.Errorf("index %s exists=%v, want %v", req, err == nil, want)
		}
	}
	for _, bad := range []string{"", "../k2", "k1", "."} {
		if err := c.Remove(bad); err == nil {
			t.Errorf("Remove(%q) succeeded", bad)
		}
	}
	if r, _ := c.kernel("k2"); r == nil {
		t.Errorf("k2 was removed too")
	}
}

// A kernel deleted by hand leaves its index behind; the next OpenCache
// drops it, so a listing and the fault suite's cache check stay honest.
func TestOpenCachePrunesStaleIndexes(t *testing.T) {
	dir := t.TempDir()
	c, err := OpenCache(dir)
	if err != nil {
		t.Fatal(err)
	}
	fakeKernel(t, c, "gone", "r-gone", time.Now(), 0)
	fakeKernel(t, c, "kept", "r-kept", time.Now(), 0)
	if err := os.WriteFile(filepath.Join(dir, "requests", "garbage.json"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(dir, "kernels", "gone")); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenCache(dir); err != nil {
		t.Fatal(err)
	}
	reqs, _ := filepath.Glob(filepath.Join(dir, "requests", "*.json"))
	if len(reqs) != 1 || filepath.Base(reqs[0]) != "r-kept.json" {
		t.Errorf("indexes left: %v, want only r-kept.json", reqs)
	}
}

// A lookup hit records the use, so GC keeps kernels in use.
func TestHitRecordsUse(t *testing.T) {
	c, err := OpenCache(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	fakeKernel(t, c, "k", "r", now, 40*24*time.Hour)
	if r, err := c.kernel("k"); r == nil || err != nil {
		t.Fatalf("kernel: %v %v", r, err)
	}
	rep, err := c.GC(GCOptions{OlderThan: 24 * time.Hour}, now.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Kernels) != 0 {
		t.Errorf("GC removed a kernel used a minute ago: %v", keys(rep.Kernels))
	}
}

// A slot whose lock a build holds is skipped, not waited for.
func TestGCSkipsSlotInUse(t *testing.T) {
	c, err := OpenCache(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	dir := fakeSlot(t, c, "busy", now, 30*24*time.Hour)
	unlock, err := c.tryLock("slot-busy")
	if err != nil || unlock == nil {
		t.Fatalf("tryLock: %v", err)
	}
	if again, err := c.tryLock("slot-busy"); again != nil || err != nil {
		t.Fatalf("a held lock was taken again (err %v)", err)
	}
	rep, err := c.GC(GCOptions{}, now)
	if err != nil || len(rep.Slots) != 0 {
		t.Fatalf("GC of a busy slot: removed %v, err %v", rep.Slots, err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("busy slot removed: %v", err)
	}
	unlock()
	if rep, err = c.GC(GCOptions{}, now); err != nil || len(rep.Slots) != 1 {
		t.Fatalf("GC after unlock: removed %v, err %v", rep.Slots, err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("slot with a read-only dir survived GC: %v", err)
	}
}
