package readtest

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ktest-dev/ktest/guest/proto"
)

// imageSizes are the smallest images each filesystem's mkfs accepts.
var imageSizes = map[string]int64{FSExt4: 64 << 20, FSXFS: 320 << 20, FSBtrfs: 128 << 20}

// TestProfilesCoverTargets is what makes adding a target one entry in
// proto.Targets plus its profiles here: every target with a filesystem
// has profiles, made with that filesystem, whose features the
// superblock reader knows; no profile is for a target that is not one.
func TestProfilesCoverTargets(t *testing.T) {
	for _, spec := range proto.Targets {
		ps := Profiles[spec.Name]
		if spec.Raw() {
			if len(ps) > 0 {
				t.Errorf("raw target %s has mkfs profiles", spec.Name)
			}
			continue
		}
		if len(ps) == 0 {
			t.Errorf("target %s (%s) of proto.Targets has no mkfs profile in Profiles", spec.Name, spec.FS)
		}
		for _, p := range ps {
			if p.FS != spec.FS {
				t.Errorf("profile %s of target %s makes %s, not %s", p.Name, spec.Name, p.FS, spec.FS)
			}
		}
		if _, ok := layouts[spec.FS]; !ok {
			t.Errorf("target %s: no superblock layout for %s", spec.Name, spec.FS)
		}
		if _, ok := imageSizes[spec.FS]; !ok {
			t.Errorf("target %s: no test image size for %s", spec.Name, spec.FS)
		}
	}
	for target := range Profiles {
		if _, err := target.Spec(); err != nil {
			t.Errorf("Profiles: %v", err)
		}
	}
}

func TestParseKernelVersion(t *testing.T) {
	tests := []struct {
		in   string
		want KernelVersion
		bad  bool
	}{
		{"6.1.192", kv(6, 1), false},
		{"5.8.0-rc7", kv(5, 8), false},
		{"5.8-rc7", kv(5, 8), false},
		{"6.12-ktest", kv(6, 12), false},
		{"4.19.0+", kv(4, 19), false},
		{"6", KernelVersion{}, true},
		{"x.1", KernelVersion{}, true},
		{"6.x", KernelVersion{}, true},
	}
	for _, tc := range tests {
		got, err := ParseKernelVersion(tc.in)
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("ParseKernelVersion(%q) = %v, %v; want %v, bad=%v", tc.in, got, err, tc.want, tc.bad)
		}
	}
}

// TestProfileFor maps kernels of every era to the profile each
// filesystem is made with.
func TestProfileFor(t *testing.T) {
	tests := []struct {
		kernel           string
		xfs, ext4, btrfs string
	}{
		{"4.19", "xfs/lts_4.19", "ext4/3.18", "btrfs/3.18"},
		{"5.4", "xfs/lts_5.4", "ext4/3.18", "btrfs/3.18"},
		{"5.8", "xfs/lts_5.4", "ext4/3.18", "btrfs/3.18"},
		{"5.10", "xfs/lts_5.10", "ext4/3.18", "btrfs/3.18"},
		{"5.15", "xfs/lts_5.15", "ext4/3.18", "btrfs/5.15"},
		{"6.1", "xfs/lts_6.1", "ext4/3.18", "btrfs/5.15"},
		{"6.11", "xfs/lts_6.1", "ext4/3.18", "btrfs/5.15"},
		{"6.12", "xfs/6.12", "ext4/6.12", "btrfs/5.15"},
		{"6.18", "xfs/6.12", "ext4/6.12", "btrfs/5.15"},
		{"4.14", "xfs/lts_4.19", "ext4/3.18", "btrfs/3.18"},
		{"3.16", "", "ext4/2.6", "btrfs/3.12"}, // XFS sparse inodes need 4.2
	}
	for _, tc := range tests {
		k, err := ParseKernelVersion(tc.kernel)
		if err != nil {
			t.Fatal(err)
		}
		for fs, want := range map[proto.Target]string{proto.TargetXFS: tc.xfs, proto.TargetExt4: tc.ext4, proto.TargetBtrfs: tc.btrfs} {
			p, err := ProfileFor(fs, k)
			if want == "" {
				var too *TooOldError
				if !errors.As(err, &too) || too.Feature == "" || !strings.Contains(err.Error(), tc.kernel) {
					t.Errorf("%s on %s: %v, %v; want a TooOldError naming the kernel and feature", fs, tc.kernel, p.Name, err)
				}
				continue
			}
			if err != nil || p.Name != want {
				t.Errorf("%s on %s: %q, %v; want %q", fs, tc.kernel, p.Name, err, want)
			}
		}
	}
}

// TestProfilesMountable checks every profile against the table of
// which kernel mounts which feature: no profile turns on a feature its
// kernel does not know.
func TestProfilesMountable(t *testing.T) {
	for _, ps := range Profiles {
		for _, p := range ps {
			for _, f := range featureSince[p.FS] {
				if slices.Contains(p.On, f.name) && p.For.Less(f.since) {
					t.Errorf("%s turns on %s, which needs %s", p.Name, f.name, f.since)
				}
			}
			if len(p.On) == 0 || slices.ContainsFunc(p.On, func(f string) bool { return slices.Contains(p.Off, f) }) {
				t.Errorf("%s: on %v, off %v", p.Name, p.On, p.Off)
			}
		}
	}
}

func TestTooOld(t *testing.T) {
	_, err := ProfileFor(proto.TargetXFS, kv(3, 10))
	want := "kernel 3.10 is too old for every known xfs profile: it cannot mount crc (v5 superblock with metadata checksums, since 3.15)"
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
	if _, err := ProfileNamed("xfs/lts_9.9"); err == nil || !strings.Contains(err.Error(), "xfs/lts_5.4") {
		t.Errorf("unknown profile: %v", err)
	}
}

// TestMkfsProfiles makes every profile on a sparse image file with the
// host's real mkfs tools (the guest carries the same ones) and checks
// the superblock holds exactly the profile's features.
func TestMkfsProfiles(t *testing.T) {
	for _, ps := range Profiles {
		for _, p := range ps {
			fs := p.FS
			if _, err := exec.LookPath("mkfs." + fs); err != nil {
				t.Logf("mkfs.%s not installed", fs)
				continue
			}
			t.Run(p.Name, func(t *testing.T) {
				img := filepath.Join(t.TempDir(), "img")
				if err := os.WriteFile(img, nil, 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.Truncate(img, imageSizes[fs]); err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				// Twice: the second run must force over the first's signature.
				for range 2 {
					res, err := Mkfs(ctx, p, img)
					if err != nil {
						t.Fatal(err)
					}
					if res.Profile != p.Name || res.Command[0] != "mkfs."+fs || res.Command[len(res.Command)-1] != img {
						t.Errorf("result %+v", res)
					}
				}
			})
		}
	}
}

// TestMkfsXFS54 pins the 5.4-era XFS image: the features a 5.8 kernel
// was shown to mount, and none of bookworm's newer defaults.
func TestMkfsXFS54(t *testing.T) {
	if _, err := exec.LookPath("mkfs.xfs"); err != nil {
		t.Skip("mkfs.xfs not installed")
	}
	p, err := ProfileNamed("xfs/lts_5.4")
	if err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(t.TempDir(), "img")
	if err := os.WriteFile(img, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, 320<<20); err != nil {
		t.Fatal(err)
	}
	res, err := Mkfs(context.Background(), p, img)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(res.Features)
	want := []string{"crc", "finobt", "ftype", "reflink", "sparse"}
	if !slices.Equal(res.Features, want) {
		t.Errorf("features %v, want %v", res.Features, want)
	}
}

func TestMkfsErrors(t *testing.T) {
	if _, err := ProfileFor("ntfs", kv(6, 1)); err == nil || !strings.Contains(err.Error(), "ntfs") {
		t.Errorf("unknown fs: %v", err)
	}
	if _, err := exec.LookPath("mkfs.ext4"); err != nil {
		t.Skip("mkfs.ext4 not installed")
	}
	p, _ := ProfileFor(proto.TargetExt4, kv(6, 1))
	_, err := Mkfs(context.Background(), p, filepath.Join(t.TempDir(), "no", "such", "dev"))
	var se *SetupError
	if !errors.As(err, &se) || se.Step != "mkfs" || se.Output == "" {
		t.Fatalf("mkfs of a missing path: %#v, want a SetupError with mkfs output", err)
	}
	// A superblock that is not the profile's is refused: read an ext4
	// image as XFS.
	img := filepath.Join(t.TempDir(), "img")
	if err := os.WriteFile(img, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, 64<<20); err != nil {
		t.Fatal(err)
	}
	if _, err := Mkfs(context.Background(), p, img); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFeatures(FSXFS, img); err == nil || !strings.Contains(err.Error(), "no xfs superblock") {
		t.Errorf("ext4 read as xfs: %v", err)
	}
}

func TestDeviceBySerial(t *testing.T) {
	sys := t.TempDir()
	for dev, serial := range map[string]string{"vda": "ktest-xfs", "vdb": "ktest-ext4\n", "loop0": ""} {
		if err := os.MkdirAll(filepath.Join(sys, dev), 0o755); err != nil {
			t.Fatal(err)
		}
		if serial != "" {
			if err := os.WriteFile(filepath.Join(sys, dev, "serial"), []byte(serial), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got, err := DeviceBySerial(sys, "ktest-ext4"); err != nil || got != "/dev/vdb" {
		t.Errorf("ktest-ext4: %q, %v", got, err)
	}
	if _, err := DeviceBySerial(sys, "ktest-raw"); err == nil || !strings.Contains(err.Error(), "vda=ktest-xfs") {
		t.Errorf("missing serial: %v", err)
	}
}
