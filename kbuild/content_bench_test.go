package kbuild

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ktest-dev/ktest/internal/cachedir"
)

// cachedTree is an extracted default tree in the user's cache (found
// through the cache API, never written to), or a skip.
func cachedTree(tb testing.TB) string {
	tb.Helper()
	dirs, _ := filepath.Glob(filepath.Join(cachedir.Dir(), "trees", "*", "complete"))
	for _, d := range dirs {
		src := filepath.Join(filepath.Dir(d), "src")
		if _, err := os.Stat(filepath.Join(src, "Makefile")); err == nil {
			return src
		}
	}
	tb.Skipf("no extracted tree in %s (run 'ktest kernel build' once)", cachedir.Dir())
	return ""
}

// BenchmarkContentKey times the content key of a real kernel tree: cold
// (no index: every file is read and hashed) and warm (nothing changed:
// a walk and a stat of every file). The index goes to a temp cache.
func BenchmarkContentKey(b *testing.B) {
	dir := cachedTree(b)
	ctx := context.Background()
	run := func(b *testing.B, c *Cache) contentScan {
		s, err := scanContent(ctx, c, dir, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		return s
	}
	b.Run("cold", func(b *testing.B) {
		var s contentScan
		for b.Loop() {
			b.StopTimer()
			c, err := OpenCache(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			s = run(b, c)
		}
		b.ReportMetric(float64(s.files), "files")
		b.ReportMetric(float64(s.hashed), "hashed")
	})
	b.Run("warm", func(b *testing.B) {
		c, err := OpenCache(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		run(b, c)
		var s contentScan
		for b.Loop() {
			s = run(b, c)
		}
		b.ReportMetric(float64(s.files), "files")
		b.ReportMetric(float64(s.hashed), "hashed")
	})
}
