package initramfs_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/module"
	modzip "golang.org/x/mod/zip"

	"github.com/ktest-dev/ktest/initramfs"
	"github.com/ktest-dev/ktest/kbuild"
)

const ktestModule = "github.com/ktest-dev/ktest"

// TestStandaloneInstallBoots is the maintainer without our source tree:
// ktest installed with 'go install github.com/ktest-dev/ktest/cmd/ktest@V'
// from a module proxy (this checkout, tracked and untracked files as a
// module zip, served from a directory), run from a directory outside any
// checkout with a fresh HOME and ktest cache, builds its guest image from
// the module cache and boots the cached default kernel with it, reaching
// the agent over SSH. The module cache is a fresh one, read-only as go
// leaves it; the other modules come from this host's module cache, so
// nothing is fetched from the network.
func TestStandaloneInstallBoots(t *testing.T) {
	if testing.Short() {
		t.Skip("installs ktest, builds a guest image and boots a VM")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	repo, err := initramfs.FindModuleDir()
	if err != nil {
		t.Fatal(err)
	}
	kernel := defaultKernel(t)
	hostModCache := goEnv(t, "GOMODCACHE")
	hostGoCache := goEnv(t, "GOCACHE")

	tmp := t.TempDir()
	dirs := map[string]string{}
	for _, d := range []string{"proxy", "modcache", "bin", "home", "cache", "work"} {
		dirs[d] = filepath.Join(tmp, d)
		if err := os.Mkdir(dirs[d], 0o755); err != nil {
			t.Fatal(err)
		}
	}
	version := writeProxy(t, repo, dirs["proxy"])
	env := append(os.Environ(),
		"GOPROXY=file://"+dirs["proxy"]+",file://"+filepath.Join(hostModCache, "cache", "download"),
		"GOSUMDB=off", // a module of our own, not in the checksum database
		"GOMODCACHE="+dirs["modcache"],
		"GOCACHE="+hostGoCache, // compiled packages are reused; HOME is fresh
		"GOBIN="+dirs["bin"],
		"GOFLAGS=", "GOWORK=off", "GOTOOLCHAIN=local",
		"HOME="+dirs["home"],
		"XDG_CACHE_HOME=", "XDG_CONFIG_HOME=",
		"KTEST_CACHE="+dirs["cache"],
	)
	// The module cache's files are read-only: go removes them.
	t.Cleanup(func() {
		cmd := exec.Command(goTool, "clean", "-modcache")
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("go clean -modcache: %v\n%s", err, out)
		}
	})

	start := time.Now()
	run(t, dirs["work"], env, 10*time.Minute, goTool, "install", ktestModule+"/cmd/ktest@"+version)
	t.Logf("go install ...@%s: %v", version, time.Since(start).Round(time.Second))
	ktest := filepath.Join(dirs["bin"], "ktest")
	if out := run(t, dirs["work"], env, time.Minute, ktest, "--version"); !strings.Contains(out, "ktest "+version) {
		t.Errorf("--version does not name %s:\n%s", version, out)
	}

	start = time.Now()
	out := run(t, dirs["work"], env, 15*time.Minute, ktest, "boot", "--kernel", kernel, "--accel", "tcg",
		"--timeout", "2m", "--exec", "cat /proc/version; test -x /bin/ktest-readtest && echo readtest-present")
	t.Logf("ktest boot (guest image built from the module cache, TCG boot): %v\n%s", time.Since(start).Round(time.Second), out)
	for _, want := range []string{
		// The guest came up and ran the command through the agent.
		"Linux version", "readtest-present",
		// Its programs were compiled from the module cache's source.
		"guest source: " + filepath.Join(dirs["modcache"], ktestModule+"@"+version) + ", module cache, " + ktestModule + "@" + version,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("ktest boot's output lacks %q:\n%s", want, out)
		}
	}
}

// defaultKernel returns the default kernel from the shared ktest cache,
// built first on a cold machine.
func defaultKernel(t *testing.T) string {
	t.Helper()
	cache, err := kbuild.OpenCache("")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Minute)
	defer cancel()
	k, err := kbuild.DefaultKernel(ctx, cache, io.Discard)
	if err != nil {
		t.Fatalf("default kernel: %v", err)
	}
	return k.BzImage
}

func goEnv(t *testing.T, name string) string {
	t.Helper()
	out, err := exec.Command("go", "env", name).Output()
	if err != nil {
		t.Fatalf("go env %s: %v", name, err)
	}
	return strings.TrimSpace(string(out))
}

// writeProxy writes repo's files (tracked, and untracked but not
// ignored: the working tree as it is) as the module at a pseudo-version
// of HEAD into a GOPROXY directory, and returns that version.
func writeProxy(t *testing.T, repo, proxy string) string {
	t.Helper()
	head := strings.TrimSpace(run(t, repo, nil, time.Minute, "git", "rev-parse", "HEAD"))
	now := time.Now().UTC().Truncate(time.Second)
	version := module.PseudoVersion("", "", now, head[:12])
	listed := run(t, repo, nil, time.Minute, "git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	var files []modzip.File
	for _, p := range strings.Split(strings.TrimRight(listed, "\x00"), "\x00") {
		if _, err := os.Lstat(filepath.Join(repo, p)); err == nil { // deleted but not yet committed: skip
			files = append(files, repoFile{repo, p})
		}
	}
	dir := filepath.Join(proxy, ktestModule, "@v")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var zipped bytes.Buffer
	if err := modzip.Create(&zipped, module.Version{Path: ktestModule, Version: version}, files); err != nil {
		t.Fatalf("module zip: %v", err)
	}
	assertZipHolds(t, zipped.Bytes(), ktestModule+"@"+version+"/", "go.mod", "go.sum", "guest/cmd/ktest-agent/main.go")
	goMod, err := os.ReadFile(filepath.Join(repo, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	info, err := json.Marshal(struct {
		Version string
		Time    time.Time
	}{version, now})
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string][]byte{
		"list":            []byte(version + "\n"),
		version + ".info": info,
		version + ".mod":  goMod,
		version + ".zip":  zipped.Bytes(),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return version
}

func assertZipHolds(t *testing.T, data []byte, prefix string, names ...string) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, f := range zr.File {
		have[f.Name] = true
	}
	for _, n := range names {
		if !have[prefix+n] {
			t.Errorf("the module zip lacks %s", prefix+n)
		}
	}
}

// repoFile is a file of the checkout for modzip.Create.
type repoFile struct{ root, path string }

func (f repoFile) Path() string                 { return f.path }
func (f repoFile) Lstat() (os.FileInfo, error)  { return os.Lstat(filepath.Join(f.root, f.path)) }
func (f repoFile) Open() (io.ReadCloser, error) { return os.Open(filepath.Join(f.root, f.path)) }

// run runs a command in dir with env (nil: this process's) and returns
// its combined output, failing the test if it fails or outlives limit.
func run(t *testing.T, dir string, env []string, limit time.Duration, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir = dir
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}
