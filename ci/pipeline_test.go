package ci

import (
	"strings"
	"testing"

	"github.com/ktest-dev/ktest/plan"
)

func TestDefaultShards(t *testing.T) {
	tests := []struct{ targets, want int }{
		{1, 1}, {2, 2}, {4, 4}, {5, 4}, {12, 4},
	}
	for _, tc := range tests {
		if got := DefaultShards(tc.targets); got != tc.want {
			t.Errorf("DefaultShards(%d) = %d, want %d", tc.targets, got, tc.want)
		}
	}
}

// planWith is the default plan with other targets.
func planWith(targets ...string) *plan.Plan {
	p := plan.Default()
	if len(targets) > 0 {
		p.Targets = targets
	}
	return p
}

func TestNew(t *testing.T) {
	tests := []struct {
		name     string
		platform Platform
		plan     *plan.Plan
		file     string
		shards   int
		ref      string
		// want* are checked on success; wantErr is a substring of the error.
		wantShards          int
		wantBuild, wantTest int
		wantErr             string
	}{
		// Default plan: 2 variants x 90m builds; 3 bench boots x 2
		// variants x (2m boot + targets per shard x 20m), plus setup.
		{name: "default", platform: GitHub, plan: planWith(), wantShards: 4, wantBuild: 210, wantTest: 162},
		{name: "two shards", platform: GitHub, plan: planWith(), shards: 2, wantShards: 2, wantBuild: 210, wantTest: 282},
		{name: "one shard capped at GitHub's 6 hours", platform: GitHub, plan: planWith(), shards: 1, wantShards: 1, wantBuild: 210, wantTest: 360},
		{name: "one shard on GitLab is not capped", platform: GitLab, plan: planWith(), shards: 1, wantShards: 1, wantBuild: 210, wantTest: 522},
		{name: "three targets, uneven shards", platform: GitLab, plan: planWith("ext4", "xfs", "raw"), shards: 2, wantShards: 2, wantBuild: 210, wantTest: 282},
		{name: "plan file and ref", platform: GitHub, plan: planWith(), file: "plans/nightly.toml", ref: "v1.2.3", wantShards: 4, wantBuild: 210, wantTest: 162},
		{name: "zero shards means default", platform: GitLab, plan: planWith("ext4"), shards: 0, wantShards: 1, wantBuild: 210, wantTest: 162},

		{name: "negative shards", platform: GitHub, plan: planWith(), shards: -1, wantErr: "-1 shards for 4 targets"},
		{name: "more shards than targets", platform: GitHub, plan: planWith(), shards: 5, wantErr: "5 shards for 4 targets (ext4, xfs, btrfs, raw): want 1 to 4"},
		{name: "ref with a space", platform: GitHub, plan: planWith(), ref: "main; rm -rf /", wantErr: "ktest ref"},
		{name: "ref with an expression", platform: GitHub, plan: planWith(), ref: "${{ secrets.X }}", wantErr: "ktest ref"},
		{name: "ref with ..", platform: GitHub, plan: planWith(), ref: "a..b", wantErr: "ktest ref"},
		{name: "absolute plan file", platform: GitHub, plan: planWith(), file: "/etc/plan.toml", wantErr: "inside the repository"},
		{name: "plan file outside the repository", platform: GitHub, plan: planWith(), file: "../plan.toml", wantErr: "inside the repository"},
		{name: "unclean plan file", platform: GitHub, plan: planWith(), file: "./plans//x.toml", wantErr: "clean path"},
		{name: "plan file with a space", platform: GitLab, plan: planWith(), file: "my plan.toml", wantErr: "inside the repository"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := New(tc.platform, tc.plan, tc.file, tc.shards, tc.ref)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Shards != tc.wantShards || p.BuildMinutes != tc.wantBuild || p.TestMinutes != tc.wantTest {
				t.Errorf("shards %d, build %dm, test %dm; want %d, %dm, %dm",
					p.Shards, p.BuildMinutes, p.TestMinutes, tc.wantShards, tc.wantBuild, tc.wantTest)
			}
			if tc.ref == "" && p.Ref != DefaultRef {
				t.Errorf("ref %q, want the default %q", p.Ref, DefaultRef)
			}
		})
	}
}

// TestValidateMatrixLimits checks the platforms' matrix sizes, which
// plans of KnownTargets never reach but a plan repeating targets could.
func TestValidateMatrixLimits(t *testing.T) {
	targets := make([]string, 300)
	for i := range targets {
		targets[i] = "ext4"
	}
	tests := []struct {
		platform Platform
		shards   int
		wantErr  string
	}{
		{GitHub, 256, ""},
		{GitHub, 257, "github allows at most 256 jobs"},
		{GitLab, 200, ""},
		{GitLab, 201, "gitlab allows at most 200 jobs"},
	}
	for _, tc := range tests {
		p := &Pipeline{Platform: tc.platform, Name: "n", Targets: targets, Shards: tc.shards, Ref: "main",
			Cron: DefaultCron, BuildMinutes: 1, TestMinutes: 1, MergeMinutes: 1}
		err := p.Validate()
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%s, %d shards: %v", tc.platform, tc.shards, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s, %d shards: error %v, want %q", tc.platform, tc.shards, err, tc.wantErr)
		}
	}
}

func TestSlug(t *testing.T) {
	tests := []struct{ in, want string }{
		{"async-buffered-reads-6.1", "async-buffered-reads-6.1"},
		{"series x.mbox on /src/linux", "series-x.mbox-on-src-linux"},
		{"${{ github.token }}", "github.token"},
		{"---", "plan"},
	}
	for _, tc := range tests {
		if got := Slug(tc.in); got != tc.want {
			t.Errorf("Slug(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
