package kbuild

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fakeApt is a host whose apt-get "installs" a tarball of a tiny fake
// kernel tree into usrSrc, and records what it was asked to run.
type fakeApt struct {
	t        *testing.T
	usrSrc   string
	archive  map[string]bool // packages apt-cache knows
	calls    []string
	noApt    bool
	euid     int
	failWith error
}

func (f *fakeApt) host() debianHost {
	return debianHost{usrSrc: f.usrSrc, euid: f.euid,
		lookPath: func(name string) (string, error) {
			if f.noApt {
				return "", exec.ErrNotFound
			}
			return "/usr/bin/" + name, nil
		},
		run: func(ctx context.Context, log io.Writer, env []string, name string, args ...string) error {
			f.calls = append(f.calls, name+" "+strings.Join(args, " "))
			pkg := args[len(args)-1]
			switch {
			case name == "apt-cache" && !f.archive[pkg]:
				return errors.New("exit status 100: E: No packages found")
			case name == "apt-get" && f.failWith != nil:
				return f.failWith
			case name == "apt-get":
				f.t.Helper()
				makeFakeTarball(f.t, filepath.Join(f.usrSrc, pkg+".tar.xz"), strings.TrimPrefix(pkg, "linux-source-"))
			}
			return nil
		}}
}

// makeFakeTarball writes a tarball of a kernel tree of version v, laid
// out as Debian's linux-source-X is: one top directory.
func makeFakeTarball(t *testing.T, tarball, v string) {
	t.Helper()
	src := t.TempDir()
	top := filepath.Join(src, "linux-source-"+v)
	major, minor, _ := strings.Cut(v, ".")
	files := map[string]string{
		"Makefile":                 "VERSION = " + major + "\nPATCHLEVEL = " + minor + "\nSUBLEVEL = 7\n",
		"Kconfig":                  "mainmenu \"fake\"\n",
		"arch/x86/Kconfig":         "config X86\n\tdef_bool y\n",
		"scripts/kconfig/Makefile": "# fake\n",
	}
	for p, c := range files {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(top, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(top, p), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := exec.Command("tar", "-cJf", tarball, "-C", src, "linux-source-"+v).CombinedOutput(); err != nil {
		t.Fatalf("tar: %v: %s", err, out)
	}
}

// writableCache is a test cache whose read-only extracted trees can be
// removed by a non-root user too.
func writableCache(t *testing.T) *Cache {
	c := testCache(t)
	t.Cleanup(func() { _ = exec.Command("chmod", "-R", "u+w", c.Dir).Run() }) // lets TempDir remove it; a failure shows there
	return c
}

func TestDebianTreeInstallsOnceAndExtracts(t *testing.T) {
	f := &fakeApt{t: t, usrSrc: t.TempDir(), archive: map[string]bool{"linux-source-6.12": true}}
	c := writableCache(t)
	ctx := context.Background()
	tr, err := f.host().tree(ctx, c, "6.12", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Version.String() != "6.12.7" || tr.Kind != "tarball" || tr.Key == "" {
		t.Errorf("tree %+v", tr)
	}
	if !strings.HasPrefix(tr.Dir, filepath.Join(c.Dir, "trees")) {
		t.Errorf("tree not in the cache: %s", tr.Dir)
	}
	want := []string{"apt-cache show --no-all-versions linux-source-6.12", "apt-get install -y --no-install-recommends linux-source-6.12"}
	if strings.Join(f.calls, "\n") != strings.Join(want, "\n") {
		t.Errorf("ran %q, want %q", f.calls, want)
	}
	// Idempotent: the second time apt is not asked, nothing is extracted
	// again, and the key is the same.
	f.calls = nil
	again, err := f.host().tree(ctx, c, "6.12", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.calls) != 0 || again.Dir != tr.Dir || again.Key != tr.Key {
		t.Errorf("second call ran %q, tree %+v (first %+v)", f.calls, again, tr)
	}
	trees, err := c.Trees()
	if err != nil {
		t.Fatal(err)
	}
	if len(trees) != 1 || trees[0].Dir != tr.Dir || trees[0].Version != "6.12.7" || trees[0].Bytes <= 0 ||
		trees[0].Tarball != filepath.Join(f.usrSrc, "linux-source-6.12.tar.xz") {
		t.Errorf("Trees() = %+v", trees)
	}
}

func TestDebianTreeRefusals(t *testing.T) {
	tests := []struct {
		name    string
		version string
		fake    fakeApt
		badSpec bool   // a *DebianSpecError (exit 2)
		want    string // in the message
	}{
		{name: "malformed", version: "6.x", badSpec: true, want: "want a kernel version such as debian:6.12"},
		{name: "with a sublevel", version: "6.12.3", badSpec: true, want: "want a kernel version"},
		{name: "not in the archive", version: "6.13", badSpec: true, want: "archive has no linux-source-6.13"},
		{name: "no apt", version: "6.12", fake: fakeApt{noApt: true}, want: "this host has no apt-get to install it"},
		{name: "not root", version: "6.12", fake: fakeApt{euid: 1000}, want: "sudo apt-get install linux-source-6.12"},
		{name: "apt fails", version: "6.12", fake: fakeApt{failWith: errors.New("E: Could not get lock /var/lib/dpkg/lock-frontend")},
			want: "installing linux-source-6.12 for --tree debian:6.12: E: Could not get lock"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.fake
			f.t, f.usrSrc, f.archive = t, t.TempDir(), map[string]bool{"linux-source-6.12": true}
			_, err := f.host().tree(context.Background(), writableCache(t), tc.version, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to say %q", err, tc.want)
			}
			if IsBadSpec(err) != tc.badSpec {
				t.Errorf("IsBadSpec(%v) = %v, want %v", err, !tc.badSpec, tc.badSpec)
			}
			for _, c := range f.calls {
				if strings.HasPrefix(c, "apt-get") && (f.noApt || f.euid != 0) {
					t.Errorf("ran %q", c)
				}
			}
		})
	}
}
