package initramfs

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/dirhash"
)

// fakeModule writes a directory holding ktest's go.mod.
func fakeModule(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module "+modulePath+"\n\ngo 1.26\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestSourceFinder is the rule that picks the guest's source: a binary
// installed from a module builds from the module cache's copy with its
// checksum, even run inside a checkout; any other from the checkout
// above the working directory or the executable; and every failure says
// which source, why, and what to do.
func TestSourceFinder(t *testing.T) {
	checkout := fakeModule(t)
	inCheckout := filepath.Join(checkout, "guest", "cmd")
	if err := os.MkdirAll(inCheckout, 0o755); err != nil {
		t.Fatal(err)
	}
	elsewhere := t.TempDir()
	const version = "v0.0.0-20261203205500-ffe3f0b00000"
	what := modulePath + "@" + version
	// A module cache holding the installed version, and a copy of it
	// elsewhere that 'go mod download' would fetch.
	modCache := t.TempDir()
	cached := filepath.Join(modCache, "github.com", "ktest-dev", "ktest@"+version)
	if err := os.MkdirAll(filepath.Dir(cached), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(fakeModule(t), cached); err != nil {
		t.Fatal(err)
	}
	sum, err := dirhash.HashDir(cached, what, dirhash.Hash1)
	if err != nil {
		t.Fatal(err)
	}
	fetched := fakeModule(t)
	installed := &debug.BuildInfo{Main: debug.Module{Path: modulePath, Version: version, Sum: sum}}
	otherSum := &debug.BuildInfo{Main: debug.Module{Path: modulePath, Version: version, Sum: "h1:other="}}
	devel := &debug.BuildInfo{Main: debug.Module{Path: modulePath, Version: "(devel)"}}

	cacheAt := func(root string) func(context.Context) (string, error) {
		return func(context.Context) (string, error) { return root, nil }
	}
	download := func(d moduleDownload, err error) func(context.Context, string, string) (moduleDownload, error) {
		return func(_ context.Context, path, v string) (moduleDownload, error) {
			if path != modulePath || v != version {
				t.Errorf("download(%s, %s), want %s", path, v, what)
			}
			return d, err
		}
	}
	noDownload := func(context.Context, string, string) (moduleDownload, error) {
		t.Error("downloaded the module")
		return moduleDownload{}, errors.New("no")
	}
	tests := []struct {
		name     string
		f        sourceFinder
		wantDir  string
		wantFrom string
		wantErr  []string // all must appear in the error
	}{
		{name: "installed: the module cache, even inside a checkout",
			f:       sourceFinder{info: installed, starts: []string{inCheckout}, modCache: cacheAt(modCache), download: noDownload},
			wantDir: cached, wantFrom: "module cache, " + what},
		{name: "installed: cleaned from the cache, downloaded again",
			f:       sourceFinder{info: installed, starts: []string{elsewhere}, modCache: cacheAt(elsewhere), download: download(moduleDownload{Dir: fetched}, nil)},
			wantDir: fetched, wantFrom: "module cache, " + what},
		{name: "installed: the cache's files hash to another checksum",
			f:       sourceFinder{info: otherSum, starts: []string{elsewhere}, modCache: cacheAt(modCache), download: noDownload},
			wantErr: []string{sum, "h1:other=", "not to", "go install " + modulePath + "/cmd/ktest@" + version}},
		{name: "installed: not in the cache and not downloadable",
			f: sourceFinder{info: installed, starts: []string{elsewhere}, modCache: cacheAt(elsewhere),
				download: download(moduleDownload{Error: "module lookup disabled by GOPROXY=off"}, nil)},
			wantErr: []string{what, "not in the module cache", "go mod download", "GOPROXY=off", "ktest initramfs -o", "--initramfs"}},
		{name: "installed: go mod download failed",
			f:       sourceFinder{info: installed, starts: []string{elsewhere}, modCache: cacheAt(elsewhere), download: download(moduleDownload{}, errors.New("exit status 1: no network"))},
			wantErr: []string{"no network", "--initramfs"}},
		{name: "installed: the downloaded directory lacks ktest's go.mod",
			f:       sourceFinder{info: installed, starts: []string{elsewhere}, modCache: cacheAt(elsewhere), download: download(moduleDownload{Dir: elsewhere}, nil)},
			wantErr: []string{"has no go.mod", "reinstall"}},
		{name: "checkout build in its checkout",
			f:       sourceFinder{info: devel, starts: []string{inCheckout}, download: noDownload},
			wantDir: checkout, wantFrom: "checkout"},
		{name: "checkout build from its executable's directory",
			f:       sourceFinder{info: devel, starts: []string{elsewhere, inCheckout}, download: noDownload},
			wantDir: checkout, wantFrom: "checkout"},
		{name: "go test or no build info",
			f:       sourceFinder{starts: []string{inCheckout}, download: noDownload},
			wantDir: checkout, wantFrom: "checkout"},
		{name: "checkout build outside any checkout",
			f:       sourceFinder{info: devel, starts: []string{elsewhere}, download: noDownload},
			wantErr: []string{"none was found", "(devel)", elsewhere, "go install " + modulePath + "/cmd/ktest@VERSION", "ktest initramfs -o", "--initramfs"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := tt.f.find(context.Background())
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("found %+v, want an error", src)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error lacks %q:\n%v", w, err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if src.Dir != tt.wantDir || src.From != tt.wantFrom {
				t.Errorf("found %+v, want {%s %s}", src, tt.wantDir, tt.wantFrom)
			}
		})
	}
}

func TestGoMissingSaysWhatToDo(t *testing.T) {
	err := goMissing(exec.ErrNotFound)
	for _, w := range []string{"Go toolchain", "no 'go' is in PATH", "Install Go", "ktest initramfs -o", "--initramfs"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q:\n%v", w, err)
		}
	}
	if !errors.Is(err, exec.ErrNotFound) {
		t.Error("the cause is not wrapped")
	}
}

// TestGoModDownloadReadsCache runs the real 'go mod download' for a
// module the build list holds, offline: it is in the module cache.
func TestGoModDownloadReadsCache(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	// Outside a module go consults the checksum database even for a
	// cached module; the finder checks the binary's checksum instead.
	t.Setenv("GOPROXY", "off")
	t.Setenv("GOSUMDB", "off")
	d, err := goModDownload(context.Background(), goTool, "github.com/BurntSushi/toml", "v1.6.0")
	if err != nil || d.Error != "" {
		t.Fatalf("go mod download: %v %s", err, d.Error)
	}
	if !strings.HasPrefix(d.Sum, "h1:") || !isDir(filepath.Join(d.Dir)) {
		t.Errorf("got %+v, want a checksum and a directory", d)
	}
	d, err = goModDownload(context.Background(), goTool, modulePath, "v0.0.0-20000101000000-000000000000")
	if err == nil && d.Error == "" {
		t.Errorf("a version that does not exist was found: %+v", d)
	}
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// TestBaseKeyFollowsGuestSource compiles the guest programs from copies
// of this module's guest source and checks the base image's key: the
// same source in another place gives the same key, a source that
// compiles differently another one.
func TestBaseKeyFollowsGuestSource(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the guest programs three times")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	repo := moduleDir(t)
	copyGuest := func() string {
		dst := t.TempDir()
		for _, f := range []string{"go.mod", "go.sum"} {
			b, err := os.ReadFile(filepath.Join(repo, f))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dst, f), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		// The guest imports nothing from the host side.
		if err := os.CopyFS(filepath.Join(dst, "guest"), os.DirFS(filepath.Join(repo, "guest"))); err != nil {
			t.Fatal(err)
		}
		return dst
	}
	key := func(dir string) string {
		b := &builder{source: Source{Dir: dir, From: "test"}, goTool: goTool, tmp: t.TempDir(), log: testLog{t}}
		progs, err := b.buildGuestPrograms(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		k, err := baseKey("uroot-0123.cpio", progs, nil)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	original, moved, changed := copyGuest(), copyGuest(), copyGuest()
	extra := "package agent\n\nimport \"os\"\n\nfunc init() { _ = os.Setenv(\"KTEST_TEST_SOURCE\", \"changed\") }\n"
	if err := os.WriteFile(filepath.Join(changed, "guest", "agent", "zz_changed.go"), []byte(extra), 0o644); err != nil {
		t.Fatal(err)
	}
	k1, k2, k3 := key(original), key(moved), key(changed)
	if k1 != k2 {
		t.Errorf("the same guest source in two places gave keys %s and %s", k1, k2)
	}
	if k1 == k3 {
		t.Errorf("a changed agent kept the key %s", k1)
	}
}
