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

// TestCacheListEmpty: on an empty cache every list is a JSON array, so
// `jq '.kernels[]'` works, and the text names each empty kind.
func TestCacheListEmpty(t *testing.T) {
	cache := t.TempDir()
	code, out, errs := runCLI(t, "cache", "ls", "--json", "--cache", cache)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"trees", "kernels", "slots", "images"} {
		if a, ok := doc[k].([]any); !ok || len(a) != 0 {
			t.Errorf("%q = %#v, want []", k, doc[k])
		}
	}
	_, out, _ = runCLI(t, "cache", "ls", "--cache", cache)
	for _, w := range []string{"no extracted trees", "no kernels", "no build slots", "no guest images"} {
		if !strings.Contains(out, w) {
			t.Errorf("cache ls lacks %q:\n%s", w, out)
		}
	}
	_, out, _ = runCLI(t, "cache", "gc", "--json", "--cache", cache)
	if !strings.Contains(out, `"kernels": []`) || !strings.Contains(out, `"slots": []`) {
		t.Errorf("gc --json on an empty cache:\n%s", out)
	}
}

// TestCacheListImages: cached guest images are listed with their layer.
func TestCacheListImages(t *testing.T) {
	cache := t.TempDir()
	publishFake(t, cache, "k1", time.Hour)
	if err := os.MkdirAll(filepath.Join(cache, "initramfs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cache, "initramfs", "uroot-abc.cpio"), make([]byte, 2048), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cache, "initramfs", "def.cpio"), make([]byte, 4096), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cache, "initramfs", ".build-1"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI(t, "cache", "ls", "--json", "--cache", cache)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var doc struct {
		Images []struct{ Path, Layer string } `json:"images"`
		Bytes  int64                          `json:"bytes"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	layers := map[string]string{}
	for _, i := range doc.Images {
		layers[filepath.Base(i.Path)] = i.Layer
	}
	if len(layers) != 2 || layers["uroot-abc.cpio"] != "u-root" || layers["def.cpio"] != "base" {
		t.Errorf("images %v", doc.Images)
	}
	if doc.Bytes < 6144 {
		t.Errorf("total %d bytes, want the images' and the kernel's", doc.Bytes)
	}
}

// TestCacheKeyCLI: the keys as NAME=VALUE lines (what $GITHUB_OUTPUT and
// a dotenv report take), their JSON, and bad input as exit 2.
func TestCacheKeyCLI(t *testing.T) {
	tree := filepath.Join(t.TempDir(), "linux")
	for name, content := range map[string]string{
		"Makefile": "VERSION = 6\nPATCHLEVEL = 1\nSUBLEVEL = 0\n", "Kconfig": "\n",
		"arch/x86/Kconfig": "\n", "scripts/kconfig/Makefile": "\n",
	} {
		if err := os.MkdirAll(filepath.Join(tree, filepath.Dir(name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(tree, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cache := t.TempDir()
	code, out, errs := runCLI(t, "cache", "key", "--tree", tree, "--cache", cache)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "KTEST_TREE_KEY=") || !strings.HasPrefix(lines[1], "KTEST_KERNELS_KEY=") {
		t.Errorf("cache key printed:\n%s", out)
	}
	_, js, _ := runCLI(t, "cache", "key", "--tree", tree, "--cache", cache, "--json")
	var keys struct {
		Tree, Kernels string
		Inputs        []string
	}
	if err := json.Unmarshal([]byte(js), &keys); err != nil {
		t.Fatal(err)
	}
	if out != "KTEST_TREE_KEY="+keys.Tree+"\nKTEST_KERNELS_KEY="+keys.Kernels+"\n" {
		t.Errorf("--json %+v disagrees with\n%s", keys, out)
	}
	_, other, _ := runCLI(t, "cache", "key", "--tree", tree, "--cache", cache, "--series", "embedded:async-buffered-reads")
	if other == out {
		t.Error("--series did not change the kernels key")
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--tree", t.TempDir()}, "is not a kernel source tree"},
		{[]string{"--tree", tree, "--series", "embedded:nope"}, "embedded:nope"},
		{[]string{"--tree", tree, "--series", "no-such.mbox"}, "no-such.mbox"},
		{[]string{"--plan", "no-such.toml"}, "no-such.toml"},
		{[]string{"extra"}, "unexpected arguments"},
	} {
		code, _, errs := runCLI(t, append([]string{"cache", "key", "--cache", cache}, tc.args...)...)
		if code != 2 || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, errs, tc.want)
		}
	}
}
