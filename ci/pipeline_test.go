package ci

import (
	"slices"
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
		o        Options
		// want* are checked on success; wantErr is a substring of the error.
		wantShards          int
		wantBuild, wantTest int
		wantRepo            Repository
		wantExecutor        Executor
		wantTags            []string
		wantErr             string
	}{
		// Default plan: 2 variants x 90m builds; 3 bench boots x 2
		// variants x (2m boot + targets per shard x 20m), plus setup.
		{name: "default", platform: GitHub, plan: planWith(), wantShards: 4, wantBuild: 210, wantTest: 162},
		{name: "two shards", platform: GitHub, plan: planWith(), o: Options{Shards: 2}, wantShards: 2, wantBuild: 210, wantTest: 282},
		{name: "one shard capped at GitHub's 6 hours", platform: GitHub, plan: planWith(), o: Options{Shards: 1}, wantShards: 1, wantBuild: 210, wantTest: 360},
		{name: "one shard on GitLab is not capped", platform: GitLab, plan: planWith(), o: Options{Shards: 1}, wantShards: 1, wantBuild: 210, wantTest: 522, wantExecutor: Docker},
		{name: "three targets, uneven shards", platform: GitLab, plan: planWith("ext4", "xfs", "raw"), o: Options{Shards: 2}, wantShards: 2, wantBuild: 210, wantTest: 282, wantExecutor: Docker},
		{name: "plan file and ref", platform: GitHub, plan: planWith(), o: Options{PlanFile: "plans/nightly.toml", Ref: "v1.2.3"}, wantShards: 4, wantBuild: 210, wantTest: 162},
		{name: "zero shards means default", platform: GitLab, plan: planWith("ext4"), wantShards: 1, wantBuild: 210, wantTest: 162, wantExecutor: Docker},
		{name: "a fork on GitHub", platform: GitHub, plan: planWith(), o: Options{Repository: "someone/ktest"}, wantShards: 4, wantBuild: 210, wantTest: 162,
			wantRepo: Repository{URL: "https://github.com/someone/ktest.git", GitHub: "someone/ktest"}},
		{name: "a fork's URL on GitHub", platform: GitHub, plan: planWith(), o: Options{Repository: "https://github.com/someone/ktest.git"}, wantShards: 4, wantBuild: 210, wantTest: 162,
			wantRepo: Repository{URL: "https://github.com/someone/ktest.git", GitHub: "someone/ktest"}},
		{name: "a mirror on GitLab", platform: GitLab, plan: planWith(), o: Options{Repository: "git@git.example.org:mirrors/ktest.git"}, wantShards: 4, wantBuild: 210, wantTest: 162,
			wantRepo: Repository{URL: "git@git.example.org:mirrors/ktest.git"}, wantExecutor: Docker},
		{name: "shell executor, default tags", platform: GitLab, plan: planWith(), o: Options{Executor: Shell}, wantShards: 4, wantBuild: 210, wantTest: 162,
			wantExecutor: Shell, wantTags: []string{"kvm"}},
		{name: "docker executor with tags", platform: GitLab, plan: planWith(), o: Options{Tags: []string{"big"}}, wantShards: 4, wantBuild: 210, wantTest: 162,
			wantExecutor: Docker, wantTags: []string{"big"}},

		{name: "negative shards", platform: GitHub, plan: planWith(), o: Options{Shards: -1}, wantErr: "-1 shards for 4 targets"},
		{name: "more shards than targets", platform: GitHub, plan: planWith(), o: Options{Shards: 5}, wantErr: "5 shards for 4 targets (ext4, xfs, btrfs, raw): want 1 to 4"},
		{name: "ref with a space", platform: GitHub, plan: planWith(), o: Options{Ref: "main; rm -rf /"}, wantErr: "ktest ref"},
		{name: "ref with an expression", platform: GitHub, plan: planWith(), o: Options{Ref: "${{ secrets.X }}"}, wantErr: "ktest ref"},
		{name: "ref with ..", platform: GitHub, plan: planWith(), o: Options{Ref: "a..b"}, wantErr: "ktest ref"},
		{name: "absolute plan file", platform: GitHub, plan: planWith(), o: Options{PlanFile: "/etc/plan.toml"}, wantErr: "inside the repository"},
		{name: "plan file outside the repository", platform: GitHub, plan: planWith(), o: Options{PlanFile: "../plan.toml"}, wantErr: "inside the repository"},
		{name: "unclean plan file", platform: GitHub, plan: planWith(), o: Options{PlanFile: "./plans//x.toml"}, wantErr: "clean path"},
		{name: "plan file with a space", platform: GitLab, plan: planWith(), o: Options{PlanFile: "my plan.toml"}, wantErr: "inside the repository"},
		{name: "a mirror on GitHub", platform: GitHub, plan: planWith(), o: Options{Repository: "https://git.example.org/ktest.git"}, wantErr: "needs a GitHub repository"},
		{name: "repository with a quote", platform: GitLab, plan: planWith(), o: Options{Repository: "https://x.org/k\"ktest"}, wantErr: "ktest repository"},
		{name: "repository with an expression", platform: GitLab, plan: planWith(), o: Options{Repository: "$(reboot)"}, wantErr: "ktest repository"},
		{name: "executor on GitHub", platform: GitHub, plan: planWith(), o: Options{Executor: Shell}, wantErr: "GitLab's"},
		{name: "unknown executor", platform: GitLab, plan: planWith(), o: Options{Executor: "kubernetes"}, wantErr: `unknown GitLab executor "kubernetes"`},
		{name: "bad tag", platform: GitLab, plan: planWith(), o: Options{Executor: Shell, Tags: []string{"kvm", "a b"}}, wantErr: `runner tag "a b"`},
		{name: "empty tag", platform: GitLab, plan: planWith(), o: Options{Tags: []string{""}}, wantErr: `runner tag ""`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := New(tc.platform, tc.plan, tc.o)
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
			if tc.o.Ref == "" && p.Ref != DefaultRef {
				t.Errorf("ref %q, want the default %q", p.Ref, DefaultRef)
			}
			wantRepo := tc.wantRepo
			if wantRepo == (Repository{}) {
				wantRepo = ModuleRepository
			}
			if p.Repository != wantRepo {
				t.Errorf("repository %+v, want %+v", p.Repository, wantRepo)
			}
			if p.Executor != tc.wantExecutor || !slices.Equal(p.Tags, tc.wantTags) {
				t.Errorf("executor %q tags %v, want %q %v", p.Executor, p.Tags, tc.wantExecutor, tc.wantTags)
			}
		})
	}
}

// TestRepositoryOf: the default repository comes from ktest's module
// path; this binary's is ktest-dev/ktest on GitHub.
func TestRepositoryOf(t *testing.T) {
	tests := []struct {
		module string
		want   Repository
	}{
		{"github.com/ktest-dev/ktest", Repository{URL: "https://github.com/ktest-dev/ktest.git", GitHub: "ktest-dev/ktest"}},
		{"github.com/someone/ktest/v2", Repository{URL: "https://github.com/someone/ktest.git", GitHub: "someone/ktest"}},
		{"gitlab.com/group/sub/ktest", Repository{URL: "https://gitlab.com/group/sub/ktest.git"}},
	}
	for _, tc := range tests {
		got, err := RepositoryOf(tc.module)
		if err != nil || got != tc.want {
			t.Errorf("RepositoryOf(%q) = %+v, %v; want %+v", tc.module, got, err, tc.want)
		}
	}
	if want := (Repository{URL: "https://github.com/ktest-dev/ktest.git", GitHub: "ktest-dev/ktest"}); ModuleRepository != want {
		t.Errorf("ModuleRepository = %+v, want %+v", ModuleRepository, want)
	}
	if s := ModuleRepository.String(); s != "ktest-dev/ktest" {
		t.Errorf("String() = %q", s)
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
		p := &Pipeline{Platform: tc.platform, Name: "n", Targets: targets, Shards: tc.shards, Repository: ModuleRepository, Ref: "main",
			Cron: DefaultCron, BuildMinutes: 1, TestMinutes: 1, MergeMinutes: 1}
		if tc.platform == GitLab {
			p.Executor = Docker
		}
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
