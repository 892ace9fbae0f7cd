package patches

import (
	"errors"
	"io/fs"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestNames(t *testing.T) {
	names := Names()
	for _, want := range []string{AsyncBufferedReads, Baseline61, Baseline612, Faults61, PerPatchHang61, PerPatchBuild61, PerPatchUnfixed61, Lockup61} {
		if !slices.Contains(names, want) {
			t.Errorf("Names() = %v, lacks %s", names, want)
		}
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name    string
		ok      bool
		suggest string
	}{
		{AsyncBufferedReads, true, ""},
		{Baseline61, true, ""},
		{"async-buffered-read", false, AsyncBufferedReads},
		{"baseline-61", false, Baseline61},
		{"nothing-like-it", false, ""},
		{"", false, ""},
	}
	for _, tc := range tests {
		err := Check(tc.name)
		if tc.ok {
			if err != nil {
				t.Errorf("Check(%q) = %v", tc.name, err)
			}
			continue
		}
		var ue *UnknownError
		if !errors.As(err, &ue) || ue.Suggest != tc.suggest {
			t.Errorf("Check(%q) = %v, want an UnknownError suggesting %q", tc.name, err, tc.suggest)
			continue
		}
		// The message lists every valid name.
		for _, n := range Names() {
			if !strings.Contains(err.Error(), "embedded:"+n) {
				t.Errorf("Check(%q): %q does not list embedded:%s", tc.name, err, n)
			}
		}
	}
}

// The planted slowdowns differ only in their loop count, in proportion
// to their size, and touch io_uring's read path only.
func TestSlowRead61(t *testing.T) {
	loops := map[int]int{}
	for size, dir := range SlowRead61 {
		if err := Check(dir); err != nil {
			t.Fatal(err)
		}
		entries, err := fs.ReadDir(FS, dir)
		if err != nil || len(entries) != 1 {
			t.Fatalf("%s: %v, %d patches; want one", dir, err, len(entries))
		}
		b, _ := fs.ReadFile(FS, dir+"/"+entries[0].Name())
		text := string(b)
		if !strings.Contains(text, "NOT FOR UPSTREAM. TEST-ONLY.") || strings.Count(text, "diff --git") != 1 || !strings.Contains(text, "diff --git a/io_uring/rw.c b/io_uring/rw.c") {
			t.Errorf("%s: not a test-only patch of io_uring/rw.c alone", dir)
		}
		m := regexp.MustCompile(`#define KTEST_SLOW_READ_LOOPS (\d+)`).FindStringSubmatch(text)
		if m == nil {
			t.Fatalf("%s: no loop count", dir)
		}
		loops[size], _ = strconv.Atoi(m[1])
	}
	for size, n := range loops {
		if n*5 != loops[5]*size {
			t.Errorf("+%d%% spins %d loops, +5%% %d: not in proportion", size, n, loops[5])
		}
	}
}

func TestLookup(t *testing.T) {
	for _, tc := range []struct {
		src, dir string
		ok       bool
		unknown  bool
	}{
		{Source(Baseline61), Baseline61, true, false},
		{"embedded:" + AsyncBufferedReads, AsyncBufferedReads, true, false},
		{"embedded:async-bufered-reads", "async-bufered-reads", true, true},
		{"series.mbox", "", false, false},
		{"./embedded:x", "", false, false}, // a path that merely contains the prefix
	} {
		dir, ok, err := Lookup(tc.src)
		var unknown *UnknownError
		if dir != tc.dir || ok != tc.ok || errors.As(err, &unknown) != tc.unknown || (err != nil) != tc.unknown {
			t.Errorf("Lookup(%q) = %q, %v, %v", tc.src, dir, ok, err)
		}
	}
}
