package cachelist

import (
	"strings"
	"testing"
	"time"

	"github.com/ktest-dev/ktest/kbuild"
)

func TestEmptyCache(t *testing.T) {
	cache, err := kbuild.OpenCache(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	l, err := Collect(cache)
	if err != nil {
		t.Fatal(err)
	}
	if l.Trees == nil || l.Kernels == nil || l.Slots == nil || l.Images == nil || l.Bytes != 0 {
		t.Errorf("listing of an empty cache: %+v; want empty lists, not nil, and 0 bytes", l)
	}
	var b strings.Builder
	if err := l.WriteText(&b, 80); err != nil {
		t.Fatal(err)
	}
	want := "cache " + cache.Dir + ": 0 B\n\nno extracted trees\n\nno kernels\n\nno build slots\n\nno guest images\n"
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestWriteGC(t *testing.T) {
	used := time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC)
	rep := &kbuild.GCReport{Kernels: []kbuild.Entry{{Result: &kbuild.Result{Key: "stale", Variant: "patched"}, LastUsed: used}}, BootLogs: 2, EraScans: 1, Bytes: 3 << 20}
	for _, tc := range []struct {
		dryRun bool
		want   string
	}{
		{true, "would remove kernel stale (patched, last used 2026-11-03)\n" +
			"would remove 1 kernel(s), 0 slot(s), 2 boot log(s), 1 era scan(s), 0 leftover(s), 0 stale index(es), 0 index(es) of removed trees: 3.0 MiB\n"},
		{false, "removed kernel stale (patched, last used 2026-11-03)\n" +
			"removed 1 kernel(s), 0 slot(s), 2 boot log(s), 1 era scan(s), 0 leftover(s), 0 stale index(es), 0 index(es) of removed trees: 3.0 MiB\n"},
	} {
		var b strings.Builder
		if err := WriteGC(&b, rep, tc.dryRun); err != nil || b.String() != tc.want {
			t.Errorf("dry run %v: %v\ngot:\n%s\nwant:\n%s", tc.dryRun, err, b.String(), tc.want)
		}
	}
}
