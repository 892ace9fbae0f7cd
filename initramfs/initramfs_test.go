package initramfs

import (
	"bytes"
	"context"
	"debug/elf"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/u-root/mkuimage/cpio"
	"github.com/u-root/mkuimage/ldd"
	"golang.org/x/crypto/ssh"

	"github.com/ktest-dev/ktest/guest/agent"
	"github.com/ktest-dev/ktest/guest/proto"
	"github.com/ktest-dev/ktest/remote"
)

// TestBuild builds the real image in the real cache (minutes the first
// time, then cached), checks its contents with cpio -t and the per-run key
// archive with the agent's own loader, and times a cached rebuild.
func TestBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the guest image")
	}
	o := Options{OutDir: t.TempDir(), Log: testLog{t}}
	ctx := context.Background()

	start := time.Now()
	img, err := Build(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	path, keys := img.Path, img.Keys
	first := time.Since(start)
	base, err := BuildBase(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if !base.Cached {
		t.Error("BuildBase right after Build was not a cache hit")
	}

	// cpio -t lists the first archive: the base.
	out, err := exec.Command("cpio", "-t", "--quiet", "-F", path).Output()
	if err != nil {
		t.Fatalf("cpio -t %s: %v", path, err)
	}
	listed := map[string]bool{}
	for _, name := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		listed[name] = true
	}
	want := []string{
		"init", "bbin/bb", "bbin/init", "bbin/gosh", "bbin/ls", "bbin/ip", "bbin/dmesg",
		"bin/sh", "bin/defaultsh", "bin/uinit", "dev/console",
		strings.TrimPrefix(proto.AgentPath, "/"),
		"usr/bin/fio", "usr/sbin/mke2fs", "usr/sbin/mkfs.ext4", "usr/sbin/mkfs.xfs", "usr/sbin/mkfs.btrfs",
		"etc/mke2fs.conf", "lib64/ld-linux-x86-64.so.2", "lib/x86_64-linux-gnu/libc.so.6",
	}
	if _, err := os.Stat(filepath.Join(moduleDir(t), "guest/cmd/ktest-readtest")); err == nil {
		want = append(want, strings.TrimPrefix(proto.ReadtestPath, "/"))
	}
	// Every library the host tools need, as the host resolves them; fio's
	// only when the image carries a dynamic one.
	fio, err := findFio(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if img.BenchTool != fio.String() || base.BenchTool != fio.String() {
		t.Errorf("image says it carries %q (base %q), want %q", img.BenchTool, base.BenchTool, fio.String())
	}
	tools := []string{"/usr/sbin/mke2fs", "/usr/sbin/mkfs.xfs", "/usr/sbin/mkfs.btrfs"}
	if !fio.static {
		tools = append(tools, fio.hostPath)
	}
	libs, err := ldd.FList(tools...)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range libs {
		want = append(want, strings.TrimPrefix(l, "/"))
	}
	for _, w := range want {
		if !listed[w] {
			t.Errorf("image lacks %s", w)
		}
	}

	recs := readArchive(t, base.Path, 0)
	if want, err := os.ReadFile(fio.hostPath); err != nil {
		t.Fatal(err)
	} else if recs["usr/bin/fio"].content != string(want) {
		t.Errorf("the image's usr/bin/fio is not %s", fio.hostPath)
	}
	if target := recs["bin/uinit"].content; filepath.Join("/bin", target) != proto.AgentPath {
		t.Errorf("bin/uinit -> %q, want the agent", target)
	}
	if target := recs["usr/sbin/mkfs.ext4"].content; target != "mke2fs" {
		t.Errorf("mkfs.ext4 -> %q, want mke2fs", target)
	}
	agentELF, err := elf.NewFile(bytes.NewReader([]byte(recs[strings.TrimPrefix(proto.AgentPath, "/")].content)))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range agentELF.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the agent is dynamically linked")
		}
	}

	// The per-run file is the base followed by the key archive, which the
	// agent's own loader accepts.
	baseInfo, _ := os.Stat(base.Path)
	keyRecs := readArchive(t, path, baseInfo.Size())
	etc := t.TempDir()
	for name, file := range map[string]string{
		strings.TrimPrefix(proto.AgentHostKeyPath, "/"):       "host",
		strings.TrimPrefix(proto.AgentAuthorizedKeyPath, "/"): "auth",
	} {
		r, ok := keyRecs[name]
		if !ok {
			t.Fatalf("key archive lacks %s (has %d records)", name, len(keyRecs))
		}
		if err := os.WriteFile(filepath.Join(etc, file), []byte(r.content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if keyRecs[strings.TrimPrefix(proto.AgentHostKeyPath, "/")].mode&0o077 != 0 {
		t.Error("host key is readable by others")
	}
	cfg, err := agent.LoadConfig(filepath.Join(etc, "host"), filepath.Join(etc, "auth"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(cfg.HostKey.PublicKey().Marshal(), keys.HostSigner.PublicKey().Marshal()) ||
		!bytes.Equal(cfg.AuthorizedKey.Marshal(), keys.ClientSigner.PublicKey().Marshal()) {
		t.Error("keys in the image are not the run's keys")
	}

	// A second Build, with new keys, reuses the cached base.
	start = time.Now()
	img2, err := Build(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	path2 := img2.Path
	if bytes.Equal(img2.Keys.HostPrivatePEM, keys.HostPrivatePEM) {
		t.Error("two images got the same keys")
	}
	second := time.Since(start)
	base2, err := BuildBase(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if base2.Key != base.Key || !base2.Cached {
		t.Errorf("second build changed the base: %s -> %s (cached %v)", base.Key, base2.Key, base2.Cached)
	}
	st, _ := os.Stat(path2)
	t.Logf("first Build %v, cached Build %v; base %s is %.1f MiB, %d entries",
		first.Round(time.Millisecond), second.Round(time.Millisecond), base.Path, float64(st.Size())/(1<<20), len(listed))
}

// BenchmarkBuildCached measures the per-run path once the base is cached:
// guest programs relinked and hashed, host files hashed, base copied, keys
// appended.
func BenchmarkBuildCached(b *testing.B) {
	o := Options{OutDir: b.TempDir()}
	if _, err := BuildBase(context.Background(), o); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		img, err := Build(context.Background(), o)
		if err != nil {
			b.Fatal(err)
		}
		_ = img.Remove() // benchmark cleanup: best effort
	}
}

type record struct {
	content string
	mode    uint64
}

// readArchive reads the newc archive starting at offset in path.
func readArchive(t *testing.T, path string, offset int64) map[string]record {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }() // test cleanup: best effort
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	// The newc reader reads at offsets from 0 of its ReaderAt.
	rr := cpio.Newc.Reader(io.NewSectionReader(f, offset, st.Size()-offset))
	recs := map[string]record{}
	for {
		r, err := rr.ReadRecord()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s at %d: %v", path, offset, err)
		}
		var content []byte
		if r.ReaderAt != nil {
			content, _ = io.ReadAll(io.NewSectionReader(r.ReaderAt, 0, int64(r.FileSize)))
		}
		recs[r.Name] = record{string(content), r.Mode}
	}
	return recs
}

func moduleDir(t testing.TB) string {
	d, err := FindModuleDir()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

func TestHostFiles(t *testing.T) {
	files, err := hostFiles([]string{"true"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"/usr/sbin/mkfs.ext4", "/usr/sbin/mke2fs", "/lib64/ld-linux-x86-64.so.2", "/etc/mke2fs.conf", "/usr/bin/true"} {
		if !slices.Contains(files, want) {
			t.Errorf("hostFiles lacks %s", want)
		}
	}
	if !slices.IsSorted(files) {
		t.Error("hostFiles is not sorted")
	}
	if _, err := hostFiles([]string{"/nonexistent/tool"}); err == nil {
		t.Error("a missing extra binary was accepted")
	}
}

func TestSymlinkChain(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "real"), nil, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("real", filepath.Join(dir, "a")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "a"), filepath.Join(dir, "b")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("loop2", filepath.Join(dir, "loop1")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("loop1", filepath.Join(dir, "loop2")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		start   string
		want    []string
		wantErr bool
	}{
		{"real", []string{"real"}, false},
		{"b", []string{"b", "a", "real"}, false},
		{"loop1", nil, true},
		{"missing", nil, true},
	}
	for _, tt := range tests {
		got, err := symlinkChain(filepath.Join(dir, tt.start))
		if (err != nil) != tt.wantErr {
			t.Errorf("symlinkChain(%s) err = %v", tt.start, err)
			continue
		}
		for i := range got {
			got[i] = filepath.Base(got[i])
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("symlinkChain(%s) = %v, want %v", tt.start, got, tt.want)
		}
	}
}

func TestKeysArchive(t *testing.T) {
	keys, err := remote.GenerateKeys()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "keys.cpio")
	f, _ := os.Create(path)
	if err := WriteKeys(f, keys); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	recs := readArchive(t, path, 0)
	host := recs[strings.TrimPrefix(proto.AgentHostKeyPath, "/")]
	signer, err := ssh.ParsePrivateKey([]byte(host.content))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(signer.PublicKey().Marshal(), keys.HostSigner.PublicKey().Marshal()) {
		t.Error("host key differs")
	}
	if recs["etc/ktest"].mode&cpio.S_IFDIR == 0 {
		t.Error("etc/ktest is not a directory")
	}
	if err := WriteKeys(io.Discard, &remote.Keys{}); err == nil {
		t.Error("empty keys accepted")
	}
}

func TestPrune(t *testing.T) {
	dir := t.TempDir()
	b := &builder{cacheDir: dir}
	names := []string{"a.cpio", "b.cpio", "c.cpio", "uroot-x.cpio", "uroot-y.cpio", ".build-1", "notes.txt"}
	for i, n := range names {
		p := filepath.Join(dir, n)
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		mt := time.Now().Add(time.Duration(i) * time.Minute)
		if err := os.Chtimes(p, mt, mt); err != nil {
			t.Fatal(err)
		}
	}
	b.prune("", 2)
	b.prune("uroot-", 1)
	var got []string
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		got = append(got, e.Name())
	}
	want := []string{".build-1", "b.cpio", "c.cpio", "notes.txt", "uroot-y.cpio"}
	if !slices.Equal(got, want) {
		t.Errorf("after prune: %v, want %v", got, want)
	}
}

func TestFindModuleDir(t *testing.T) {
	d := moduleDir(t)
	if !isKtestModule(filepath.Join(d, "go.mod")) {
		t.Errorf("%s is not the ktest module", d)
	}
	if isKtestModule("/nonexistent/go.mod") {
		t.Error("a missing go.mod matched")
	}
}

func TestWithKeysAligns(t *testing.T) {
	keys, err := remote.GenerateKeys()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, size := range []int{0, 1, 2, 3, 4, 513} {
		base := filepath.Join(dir, "base")
		if err := os.WriteFile(base, bytes.Repeat([]byte{0}, size), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := appendKeys(base, dir, keys)
		if err != nil {
			t.Fatal(err)
		}
		aligned := (size + 3) &^ 3
		recs := readArchive(t, out, int64(aligned))
		if _, ok := recs[strings.TrimPrefix(proto.AgentAuthorizedKeyPath, "/")]; !ok {
			t.Errorf("base of %d bytes: no key archive at offset %d", size, aligned)
		}
		if err := os.Remove(out); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := WithKeys(filepath.Join(dir, "missing"), dir); err == nil {
		t.Error("a missing base was accepted")
	}
	if ents, _ := filepath.Glob(filepath.Join(dir, "ktest-initramfs-*")); len(ents) != 0 {
		t.Errorf("left behind: %v", ents)
	}
}
