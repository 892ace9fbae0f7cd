package main

import (
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/ktest-dev/ktest/guest/proto"
	"github.com/ktest-dev/ktest/guest/readtest"
)

// TestAddTarget shows, on the guest's side, that adding a target is one
// entry in proto.Targets plus one mkfs profile: "ext4b", a second ext4
// disk, exists only in this test. The request the host writes for it
// (pipeline's TestAddTarget) parses; without a profile the guest refuses
// to make its filesystem; with one it makes and checks an ext4 with that
// profile, and reports under the target's name. The image is a file, so
// the run stops at mount, as in TestSetupFailures.
func TestAddTarget(t *testing.T) {
	const ext4b = proto.Target("ext4b")
	img := image(t, 64<<20)
	req := proto.ReadtestRequest{Target: ext4b, Device: img, Mode: proto.ModeCorrectness, Mnt: t.TempDir(), MkfsFor: "6.1"}
	if _, err := proto.ParseReadtestArgs(req.Args(), io.Discard); err == nil || !strings.Contains(err.Error(), `unknown target "ext4b"`) {
		t.Fatalf("ext4b before it is a target: %v", err)
	}

	savedTargets := proto.Targets
	proto.Targets = append(slices.Clone(savedTargets), proto.TargetSpec{Name: ext4b, FS: "ext4"})
	t.Cleanup(func() { proto.Targets = savedTargets })

	back, err := proto.ParseReadtestArgs(req.Args(), io.Discard)
	if err != nil || back.Target != ext4b {
		t.Fatalf("the request for ext4b: %+v, %v", back, err)
	}
	code, res, stderr := runJSON(t, req.Args()...)
	if code != proto.ReadTestExitSetupFailed || !strings.Contains(res.Error, `no mkfs profile for target "ext4b"`) {
		t.Fatalf("ext4b without a profile: exit %d, %+v\n%s", code, res, stderr)
	}

	if _, err := exec.LookPath("mkfs.ext4"); err != nil {
		t.Skip("mkfs.ext4 not installed")
	}
	profile, err := readtest.ProfileNamed("ext4/3.18")
	if err != nil {
		t.Fatal(err)
	}
	profile.Name = "ext4b/3.18"
	readtest.Profiles[ext4b] = []readtest.Profile{profile}
	t.Cleanup(func() { delete(readtest.Profiles, ext4b) })

	code, res, stderr = runJSON(t, req.Args()...)
	if code != proto.ReadTestExitSetupFailed || !strings.Contains(res.Error, "mount") {
		t.Fatalf("ext4b on an image: exit %d, %+v\n%s", code, res, stderr)
	}
	if res.Target != ext4b || res.FS != "ext4" || res.Device != img || res.Mode != proto.ModeCorrectness {
		t.Errorf("header %+v", res)
	}
	if m := res.Mkfs; m == nil || m.Profile != "ext4b/3.18" || m.Command[0] != "mkfs.ext4" || !slices.Contains(m.Features, "metadata_csum") {
		t.Errorf("mkfs %+v", res.Mkfs)
	}
}
