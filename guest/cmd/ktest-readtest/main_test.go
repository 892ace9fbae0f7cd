package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ktest-dev/ktest/guest/proto"
	"github.com/ktest-dev/ktest/guest/readtest/uring"
)

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		errHas string
	}{
		{"no target", []string{"--dev", "/dev/vdb"}, "--target"},
		{"bad target (its old flag name)", []string{"--fs", "ntfs", "--dev", "/dev/vdb"}, "ntfs"},
		{"no dev", []string{"--target", "ext4"}, "give one of --dev and --serial"},
		{"dev and serial", []string{"--target", "ext4", "--dev", "x", "--serial", "s"}, "give one of --dev and --serial"},
		{"bad mkfs-for", []string{"--target", "xfs", "--dev", "x", "--mkfs-for", "new"}, "--mkfs-for"},
		{"unknown profile", []string{"--target", "xfs", "--dev", "x", "--mkfs-profile", "xfs/lts_1.0"}, "unknown mkfs profile"},
		{"profile of another fs", []string{"--target", "xfs", "--dev", "x", "--mkfs-profile", "ext4/3.18"}, "is for ext4, not xfs"},
		{"both profile flags", []string{"--target", "xfs", "--dev", "x", "--mkfs-profile", "xfs/lts_5.4", "--mkfs-for", "5.4"}, "at most one"},
		{"bad mode", []string{"--target", "raw", "--dev", "x", "--mode", "fast"}, "--mode"},
		{"bad size", []string{"--target", "raw", "--dev", "x", "--size", "lots"}, "--size"},
		{"tiny size", []string{"--target", "raw", "--dev", "x", "--size", "4K"}, "at least 64K"},
		{"bad only", []string{"--target", "raw", "--dev", "x", "--only", "eof,nope"}, `unknown test "nope"`},
		{"extra args", []string{"--target", "raw", "--dev", "x", "more"}, "unexpected"},
		{"bad flag", []string{"--bogus"}, "bogus"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run(context.Background(), tc.args, &out, &errb); code != proto.ReadTestExitUsage {
				t.Errorf("exit %d, want %d", code, proto.ReadTestExitUsage)
			}
			if !strings.Contains(errb.String(), tc.errHas) || out.Len() != 0 {
				t.Errorf("stderr %q (want %q), stdout %q", errb.String(), tc.errHas, out.String())
			}
		})
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"-h"}, &out, &errb); code != 0 || !strings.Contains(errb.String(), "usage") {
		t.Errorf("-h: exit %d, stderr %q", code, errb.String())
	}
}

// runJSON runs the command and decodes its single stdout line.
func runJSON(t *testing.T, args ...string) (int, proto.TargetResult, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	if strings.Count(out.String(), "\n") != 1 || !strings.HasSuffix(out.String(), "\n") {
		t.Fatalf("stdout is not one line: %q\nstderr: %s", out.String(), errb.String())
	}
	var res proto.TargetResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("stdout is not JSON: %v: %s", err, out.String())
	}
	if res.Schema != proto.ReadTestSchema {
		t.Errorf("schema %q", res.Schema)
	}
	return code, res, errb.String()
}

func image(t *testing.T, size int64) string {
	t.Helper()
	img := filepath.Join(t.TempDir(), "dev.img")
	if err := os.WriteFile(img, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, size); err != nil {
		t.Fatal(err)
	}
	return img
}

func skipNoUring(t *testing.T) {
	r, err := uring.New(2)
	if err != nil {
		t.Skipf("io_uring unavailable: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestRawImageAll runs every correctness test and the benchmark through the
// CLI, using a regular file as the raw "device" and dropping only its own
// pages (no system-wide drop_caches on the host).
func TestRawImageAll(t *testing.T) {
	skipNoUring(t)
	fio, err := exec.LookPath("fio")
	mode := "all"
	if err != nil {
		mode = "correctness"
	}
	img := image(t, 8<<20)
	code, res, stderr := runJSON(t, "--target", "raw", "--dev", img, "--size", "2M", "--mode", mode,
		"--repeats", "1", "--reads", "256", "--seed", "77", "--drop-caches=false", "--fio", fio)
	if code != proto.ReadTestExitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if res.Target != "raw" || res.FS != "" || res.Device != img || res.Seed != 77 || res.FileSize != 8<<20 || res.Kernel == "" {
		t.Errorf("header %+v", res)
	}
	if len(res.Tests) != 10 {
		t.Fatalf("%d tests, want 10", len(res.Tests))
	}
	for _, tr := range res.Tests {
		want := proto.StatusPass
		if tr.Name == "truncate-race" {
			want = proto.StatusSkip
		}
		if tr.Status != want {
			t.Errorf("%s: %s (%s), want %s", tr.Name, tr.Status, tr.Message, want)
		}
	}
	if mode == "all" {
		if len(res.Bench) != 3 {
			t.Fatalf("%d engines, want 3", len(res.Bench))
		}
		for _, e := range res.Bench {
			if e.Error != "" || len(e.Runs) != 1 || e.Median.IOPS <= 0 || e.Median.IOBytes != 2<<20 {
				t.Errorf("%s: %+v", e.Engine, e)
			}
		}
		// An adaptive boot: the benchmark alone, on what the first run
		// left, for the engines named only, in their order.
		code, res, stderr = runJSON(t, "--target", "raw", "--dev", img, "--size", "2M", "--mode", "bench", "--reuse",
			"--engines", "psync,io_uring", "--repeats", "1", "--seed", "77", "--drop-caches=false", "--fio", fio)
		if code != proto.ReadTestExitOK {
			t.Fatalf("bench --engines: exit %d\n%s", code, stderr)
		}
		var got []proto.Engine
		for _, e := range res.Bench {
			got = append(got, e.Engine)
			if e.Error != "" || len(e.Runs) != 1 {
				t.Errorf("bench --engines: %s: %+v", e.Engine, e)
			}
		}
		if want := []proto.Engine{proto.EnginePsync, proto.EngineIOUring}; !slices.Equal(got, want) || len(res.Tests) != 0 {
			t.Errorf("bench --engines psync,io_uring ran %v and %d tests, want %v and none", got, len(res.Tests), want)
		}
	}
}

func TestSetupFailures(t *testing.T) {
	code, res, _ := runJSON(t, "--target", "raw", "--dev", filepath.Join(t.TempDir(), "missing"), "--mode", "correctness")
	if code != proto.ReadTestExitSetupFailed || !strings.Contains(res.Error, "missing") || len(res.Tests) != 0 {
		t.Errorf("missing device: exit %d, %+v", code, res)
	}
	if _, err := exec.LookPath("mkfs.ext4"); err != nil {
		t.Skip("mkfs.ext4 not installed")
	}
	// mkfs works on an image file, but mount(2) needs a block device, so
	// this stops at mount without touching any real device or loop device.
	mnt := t.TempDir()
	code, res, _ = runJSON(t, "--target", "ext4", "--dev", image(t, 32<<20), "--mnt", mnt, "--mode", "correctness")
	if code != proto.ReadTestExitSetupFailed || !strings.Contains(res.Error, "mount") || res.FS != "ext4" {
		t.Errorf("ext4 on an image: exit %d, %+v", code, res)
	}
}
