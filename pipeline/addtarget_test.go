package pipeline

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/ktest-dev/ktest/guest/proto"
	"github.com/ktest-dev/ktest/plan"
	"github.com/ktest-dev/ktest/results"
)

// TestAddTarget shows, on the host's side, that adding a target is one
// entry in proto.Targets: "ext4b", a second ext4 disk, exists only in
// this test, and the plan accepts it, the run gives it a disk and a
// guest request, and its results are recorded like any other target's.
// Its guest side (its mkfs profile) is TestAddTarget in
// guest/cmd/ktest-readtest.
func TestAddTarget(t *testing.T) {
	text := strings.Replace(string(plan.DefaultText()), `targets = ["ext4", "xfs", "btrfs", "raw"]`, `targets = ["ext4", "ext4b"]`, 1)
	if _, err := plan.Parse("ext4b.toml", []byte(text)); err == nil || !strings.Contains(err.Error(), `unknown value "ext4b"`) {
		t.Fatalf("a plan naming ext4b before it is a target: %v", err)
	}

	const ext4b = proto.Target("ext4b")
	saved := proto.Targets
	proto.Targets = append(slices.Clone(saved), proto.TargetSpec{Name: ext4b, FS: "ext4"})
	t.Cleanup(func() { proto.Targets = saved })

	p, err := plan.Parse("ext4b.toml", []byte(text))
	if err != nil {
		t.Fatalf("the plan refuses the added target: %v", err)
	}
	if !slices.Equal(p.Targets, []string{"ext4", "ext4b"}) {
		t.Fatalf("targets %v", p.Targets)
	}
	p.Quick() // as fakeRun runs it

	w := &fakeWorld{targets: map[string]behaviour{}}
	run, _, err := fakeRun(t, w, context.Background(), func(q *plan.Plan) { q.Targets = p.Targets })
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != results.StatusPass || !slices.Equal(run.Plan.Targets, p.Targets) {
		t.Errorf("status %s, plan targets %v", run.Status, run.Plan.Targets)
	}
	// Its own disk, found by its own serial, the size of a filesystem's.
	for i, disks := range w.devices {
		if len(disks) != 2 {
			t.Fatalf("boot %d: disks %+v", i, disks)
		}
		if d := disks[1]; d.ID != "ext4b" || d.Serial != "ktest-ext4b" || d.Size != fsDiskSize || d.Path == disks[0].Path {
			t.Errorf("boot %d: ext4b's disk %+v (ext4's %+v)", i, d, disks[0])
		}
	}
	// Its own request, as the guest reads it: an ext4 made for the
	// plan's kernel on that disk.
	var got []proto.ReadtestRequest
	for _, r := range w.requests {
		if r.Target == ext4b {
			got = append(got, r)
		}
	}
	want := proto.ReadtestRequest{Target: ext4b, Serial: "ktest-ext4b", Mode: proto.ModeAll, Size: p.FileSizeBytes(),
		Repeats: 1, TestTimeout: p.Timeouts.Test.Duration}
	if len(got) != len(run.Variants) {
		t.Fatalf("ext4b requests %+v, want one per variant", got)
	}
	for _, r := range got {
		if r.Target != want.Target || r.Serial != want.Serial || r.Mode != want.Mode || r.Size != want.Size || r.Reuse {
			t.Errorf("request %+v, want %+v", r, want)
		}
	}
	// And its results, under its name.
	for _, v := range run.Variants {
		if len(v.Targets) != 2 || v.Targets[1].Name != "ext4b" || len(v.Targets[1].Tests) != 2 || len(v.Targets[1].Bench) != 1 {
			t.Errorf("%s: targets %+v", v.Name, v.Targets)
		}
	}
}

// TestRequestsValidate: every request the host makes for the plans'
// shapes is one the guest accepts, for every target.
func TestRequestsValidate(t *testing.T) {
	edits := map[string]func(*plan.Plan){
		"default":        func(*plan.Plan) {},
		"correctness":    func(p *plan.Plan) { p.Suites = []string{"correctness"}; p.MkfsForKernel = "5.4" },
		"bench, a test":  func(p *plan.Plan) { p.Suites = []string{"bench"}; p.Tests = []string{"eof"} },
		"quick":          func(p *plan.Plan) { p.Quick() },
		"repeats, tests": func(p *plan.Plan) { p.Repeats = 5; p.Tests = []string{"eof", "preadv"} },
	}
	for name, edit := range edits {
		p := plan.Default()
		edit(p)
		for _, target := range proto.Targets {
			for _, only := range [][]string{nil, {"truncate-race"}} {
				for _, reuse := range []bool{false, true} {
					req := readtestRequest(p, string(target.Name), only, reuse)
					if err := req.Validate(); err != nil {
						t.Errorf("%s, %s, only %v, reuse %v: %+v: %v", name, target.Name, only, reuse, req, err)
					}
					if target.Raw() && req.MkfsFor != "" {
						t.Errorf("%s: raw gets --mkfs-for", name)
					}
				}
			}
		}
	}
}
