// Package ci describes a nightly CI pipeline for a plan and renders it as a
// GitHub Actions workflow or a GitLab CI file. It is pure: a Pipeline in,
// YAML text out.
//
// The pipeline builds every variant's kernel once (ktest run --build-only
// --export-kernels), tests the plan's targets in shards that import those
// kernels (ktest run --shard K/N --kernels), and joins the shards into one
// run compared with the nightly history (ktest merge --history).
package ci

import (
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/ktest-dev/ktest/plan"
)

// Platform is a CI service.
type Platform string

const (
	GitHub Platform = "github"
	GitLab Platform = "gitlab"
)

// Platforms lists the supported platforms, for usage messages.
var Platforms = []Platform{GitHub, GitLab}

// ParsePlatform checks a platform name.
func ParsePlatform(s string) (Platform, error) {
	for _, p := range Platforms {
		if string(p) == s {
			return p, nil
		}
	}
	return "", fmt.Errorf("unknown CI platform %q (known: github, gitlab)", s)
}

// MaxShards is the platform's limit on the jobs of one matrix: 256 for a
// GitHub Actions strategy.matrix, 200 for a GitLab parallel:matrix.
func (p Platform) MaxShards() int {
	if p == GitLab {
		return 200
	}
	return 256
}

const (
	// DefaultRef is the ktest revision a pipeline checks out by default.
	DefaultRef = "main"
	// DefaultCron is 02:17 UTC every night; off the hour, when GitHub
	// delays scheduled runs most.
	DefaultCron = "17 2 * * *"
	// maxDefaultShards caps the default shard count: each shard pays
	// for its own setup (packages, Go, initramfs) and runner.
	maxDefaultShards = 4
	// githubMaxMinutes is GitHub-hosted runners' longest job.
	githubMaxMinutes = 360
)

// Repository is where the pipeline fetches ktest from.
const (
	Repository    = "ktest-dev/ktest"
	RepositoryURL = "https://github.com/" + Repository + ".git"
)

// Pipeline is a nightly pipeline for one plan.
type Pipeline struct {
	Platform Platform
	// Name is the plan's name as a slug, for the workflow's name, the
	// concurrency group and the history's cache key.
	Name string
	// PlanFile is the plan's path relative to the repository's root;
	// empty for ktest's embedded default plan.
	PlanFile string
	// Targets are the plan's targets, which the shards split.
	Targets []string
	Shards  int
	// Ref is the ktest branch, tag or commit the jobs build ktest from.
	Ref  string
	Cron string
	// Minutes bound each job.
	BuildMinutes, TestMinutes, MergeMinutes int
}

// New describes the nightly pipeline for plan p, read from planFile
// (relative to the repository's root; empty for the embedded default).
// shards 0 means DefaultShards, ref "" means DefaultRef.
func New(platform Platform, p *plan.Plan, planFile string, shards int, ref string) (*Pipeline, error) {
	if shards == 0 {
		shards = DefaultShards(len(p.Targets))
	}
	if ref == "" {
		ref = DefaultRef
	}
	pl := &Pipeline{
		Platform: platform,
		Name:     Slug(p.Name),
		PlanFile: planFile,
		Targets:  p.Targets,
		Shards:   shards,
		Ref:      ref,
		Cron:     DefaultCron,
	}
	if shards >= 1 && len(p.Targets) > 0 {
		pl.BuildMinutes, pl.TestMinutes, pl.MergeMinutes = jobMinutes(p, shards)
		if platform == GitHub {
			pl.BuildMinutes = min(pl.BuildMinutes, githubMaxMinutes)
			pl.TestMinutes = min(pl.TestMinutes, githubMaxMinutes)
		}
	}
	if err := pl.Validate(); err != nil {
		return nil, err
	}
	return pl, nil
}

// DefaultShards is one shard per target, at most maxDefaultShards.
func DefaultShards(targets int) int {
	return max(1, min(targets, maxDefaultShards))
}

// setupMinutes covers what a job does before ktest's own timeouts start:
// installing packages (linux-source-6.1 alone is 130 MB), Go, building
// ktest, extracting the default tree, fetching artifacts.
const setupMinutes = 30

// jobMinutes derives the jobs' timeouts from the plan's, so that a job is
// cut only when ktest's own timeouts have failed to end it: the build job
// builds every variant; a test job boots every variant `boots` times (once
// without the bench suite) and runs its share of the targets on each boot.
func jobMinutes(p *plan.Plan, shards int) (build, test, merge int) {
	t := p.Timeouts
	build = setupMinutes + len(p.Variants)*minutes(t.Build)
	boots := 1
	for _, s := range p.Suites {
		if s == "bench" {
			boots = max(1, p.Boots)
		}
	}
	perShard := (len(p.Targets) + shards - 1) / shards
	test = setupMinutes + len(p.Variants)*boots*(minutes(t.Boot)+perShard*minutes(t.Target))
	return build, test, 20
}

// minutes rounds a plan timeout up to whole minutes.
func minutes(d plan.Duration) int {
	m := int(d.Minutes())
	if float64(m) < d.Minutes() {
		m++
	}
	return m
}

var (
	// Refs and plan paths are written into YAML and shell unquoted, so
	// only characters that mean nothing to either are accepted.
	refRE  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]*$`)
	pathRE = regexp.MustCompile(`^[A-Za-z0-9._][A-Za-z0-9._/+-]*$`)
	cronRE = regexp.MustCompile(`^[0-9*/,-]+( [0-9*/,-]+){4}$`)
	slugRE = regexp.MustCompile(`[^a-z0-9._-]+`)
)

// Slug turns a plan name into something safe for job names and keys.
func Slug(name string) string {
	s := strings.Trim(slugRE.ReplaceAllString(strings.ToLower(name), "-"), "-.")
	if s == "" {
		return "plan"
	}
	return s
}

// Validate checks what the templates rely on.
func (p *Pipeline) Validate() error {
	if _, err := ParsePlatform(string(p.Platform)); err != nil {
		return err
	}
	if len(p.Targets) == 0 {
		return fmt.Errorf("the plan has no targets to shard")
	}
	if p.Shards < 1 || p.Shards > len(p.Targets) {
		return fmt.Errorf("%d shards for %d targets (%s): want 1 to %d",
			p.Shards, len(p.Targets), strings.Join(p.Targets, ", "), len(p.Targets))
	}
	if p.Shards > p.Platform.MaxShards() {
		return fmt.Errorf("%d shards: %s allows at most %d jobs in a matrix", p.Shards, p.Platform, p.Platform.MaxShards())
	}
	if !refRE.MatchString(p.Ref) || strings.Contains(p.Ref, "..") {
		return fmt.Errorf("ktest ref %q: want a branch, tag or commit (letters, digits, . _ / -)", p.Ref)
	}
	if p.PlanFile != "" {
		if err := CheckPlanFile(p.PlanFile); err != nil {
			return err
		}
	}
	if Slug(p.Name) != p.Name {
		return fmt.Errorf("name %q is not a slug (want %q)", p.Name, Slug(p.Name))
	}
	if !cronRE.MatchString(p.Cron) {
		return fmt.Errorf("cron %q: want five fields", p.Cron)
	}
	if p.BuildMinutes < 1 || p.TestMinutes < 1 || p.MergeMinutes < 1 {
		return fmt.Errorf("job timeouts must be at least a minute (build %d, test %d, merge %d)", p.BuildMinutes, p.TestMinutes, p.MergeMinutes)
	}
	return nil
}

// CheckPlanFile accepts a plan path the pipeline can find in its checkout
// of the repository and write into YAML and shell as it is.
func CheckPlanFile(file string) error {
	clean := path.Clean(file)
	if !pathRE.MatchString(file) || clean != file || clean == ".." || strings.HasPrefix(clean, "../") {
		return fmt.Errorf("plan file %q: want a clean path inside the repository, relative to its root (letters, digits, . _ / + -)", file)
	}
	return nil
}

// Command is the ktest command line that generates this pipeline.
func (p *Pipeline) Command() string {
	s := "ktest ci " + string(p.Platform)
	if p.PlanFile != "" {
		s += " --plan " + p.PlanFile
	}
	return fmt.Sprintf("%s --shards %d --ktest-ref %s", s, p.Shards, p.Ref)
}
