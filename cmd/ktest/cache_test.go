package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// publishFake lays out a published kernel as kbuild does, last used age
// ago.
func publishFake(t *testing.T, cache, key string, age time.Duration) {
	t.Helper()
	dir := filepath.Join(cache, "kernels", key)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	meta, _ := json.Marshal(map[string]any{"key": key, "variant": "patched", "version": "6.1.192", "objects_compiled": 7})
	if err := os.WriteFile(filepath.Join(dir, "meta.json"), meta, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bzImage"), make([]byte, 4096), 0o644); err != nil {
		t.Fatal(err)
	}
	idx, _ := json.Marshal(map[string]string{"Key": key})
	if err := os.MkdirAll(filepath.Join(cache, "requests"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cache, "requests", "req-"+key+".json"), idx, 0o644); err != nil {
		t.Fatal(err)
	}
	when := time.Now().Add(-age)
	if err := os.Chtimes(dir, when, when); err != nil {
		t.Fatal(err)
	}
}

func TestCacheCLI(t *testing.T) {
	day := 24 * time.Hour
	tests := []struct {
		name      string
		args      []string
		code      int
		stdout    []string
		stderr    []string
		keptAfter []string
	}{
		{"ls", []string{"ls"}, 0, []string{"KERNEL", "fresh", "stale", "6.1.192"}, nil, []string{"fresh", "stale"}},
		{"gc dry run", []string{"gc", "-n", "--keep", "1", "--older-than", "7d"}, 0,
			[]string{"would remove kernel stale", "would remove 1 kernel(s)"}, nil, []string{"fresh", "stale"}},
		{"gc", []string{"gc", "--keep", "1", "--older-than", "7d"}, 0, []string{"removed kernel stale"}, nil, []string{"fresh"}},
		{"gc keeps recent", []string{"gc", "--keep", "0", "--older-than", "60d"}, 0, []string{"removed 0 kernel(s)"}, nil, []string{"fresh", "stale"}},
		{"rm", []string{"rm", "stale"}, 0, []string{"removed kernel stale"}, nil, []string{"fresh"}},
		{"rm unknown", []string{"rm", "nope"}, 2, nil, []string{`no cached kernel "nope"`}, []string{"fresh", "stale"}},
		{"rm nothing", []string{"rm"}, 2, nil, []string{"name the kernel keys"}, []string{"fresh", "stale"}},
		{"bad age", []string{"gc", "--older-than", "soon"}, 2, nil, []string{"--older-than"}, []string{"fresh", "stale"}},
		{"unknown subcommand", []string{"fsck"}, 2, nil, []string{"unknown subcommand"}, []string{"fresh", "stale"}},
		{"help", []string{"gc", "-h"}, 0, nil, nil, []string{"fresh", "stale"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cache := t.TempDir()
			publishFake(t, cache, "fresh", time.Hour)
			publishFake(t, cache, "stale", 30*day)
			code, out, errs := runCLI(t, append(append([]string{"cache"}, tc.args...), "--cache", cache)...)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.code, errs)
			}
			for _, w := range tc.stdout {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tc.stderr {
				if !strings.Contains(errs, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errs)
				}
			}
			entries, _ := os.ReadDir(filepath.Join(cache, "kernels"))
			var kept []string
			for _, e := range entries {
				kept = append(kept, e.Name())
			}
			if strings.Join(kept, " ") != strings.Join(tc.keptAfter, " ") {
				t.Errorf("kernels left %v, want %v", kept, tc.keptAfter)
			}
		})
	}
}
