// Package ci describes a nightly CI pipeline for a plan and renders it as a
// GitHub Actions workflow or a GitLab CI file (pure: a Pipeline in, YAML
// text out), and computes the cache keys its build job restores the
// kernels by (PlanKeys).
//
// The pipeline builds ktest and its guest image once (ktest initramfs -o)
// and every variant's kernel once (ktest run --build-only
// --export-kernels), restoring the extracted tree and the kernels from a
// cache under ktest's keys (ktest cache key), so an unchanged tree and
// series build nothing. It tests the plan's targets in shards that take
// ktest, the image and the kernels as artifacts (ktest run --shard K/N
// --kernels --initramfs) and need no Go, and joins the shards into one run
// compared with the nightly history (ktest merge --history), only after a
// successful build.
package ci

import (
	"fmt"
	"path"
	"regexp"
	"slices"
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

// Executor is how a GitLab runner runs the jobs.
type Executor string

const (
	// Docker runs each job in a debian:bookworm container; ktest's cache
	// is kept with GitLab's cache: under ktest's keys.
	Docker Executor = "docker"
	// Shell runs the jobs on the runner's host (bare metal with /dev/kvm,
	// chosen by tags), where ktest's own cache persists between jobs.
	Shell Executor = "shell"
)

// Executors lists the GitLab executors, for usage messages.
var Executors = []Executor{Docker, Shell}

// ParseExecutor checks an executor name.
func ParseExecutor(s string) (Executor, error) {
	for _, e := range Executors {
		if string(e) == s {
			return e, nil
		}
	}
	return "", fmt.Errorf("unknown GitLab executor %q (known: docker, shell)", s)
}

// DefaultShellTags select the runners a shell-executor pipeline runs on:
// hosts with /dev/kvm.
var DefaultShellTags = []string{"kvm"}

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
	// Repository is where the jobs fetch ktest from, Ref the branch, tag
	// or commit they build.
	Repository Repository
	Ref        string
	// Executor and Tags are GitLab's: how its runner runs the jobs and
	// which runners take them.
	Executor Executor
	Tags     []string
	Cron     string
	// Minutes bound each job.
	BuildMinutes, TestMinutes, MergeMinutes int
}

// Options are what the command line chooses about a pipeline; their zero
// values are the defaults.
type Options struct {
	// PlanFile is the plan's path relative to the repository's root;
	// empty for the embedded default.
	PlanFile string
	// Shards 0 means DefaultShards.
	Shards int
	// Repository "" means ktest's module's repository (ModuleRepository).
	Repository string
	// Ref "" means DefaultRef.
	Ref string
	// Executor "" means Docker on GitLab; Tags nil means none, or
	// DefaultShellTags for the shell executor. Neither is GitHub's.
	Executor Executor
	Tags     []string
}

// New describes the nightly pipeline for plan p.
func New(platform Platform, p *plan.Plan, o Options) (*Pipeline, error) {
	shards := o.Shards
	if shards == 0 {
		shards = DefaultShards(len(p.Targets))
	}
	ref := o.Ref
	if ref == "" {
		ref = DefaultRef
	}
	repo := ModuleRepository
	if o.Repository != "" {
		var err error
		if repo, err = ParseRepository(o.Repository); err != nil {
			return nil, err
		}
	}
	executor, tags := o.Executor, o.Tags
	if platform == GitHub && (executor != "" || tags != nil) {
		return nil, fmt.Errorf("executors and runner tags are GitLab's; a GitHub workflow runs on GitHub's runners")
	}
	if platform == GitLab && executor == "" {
		executor = Docker
	}
	if executor == Shell && tags == nil {
		tags = DefaultShellTags
	}
	pl := &Pipeline{
		Platform:   platform,
		Name:       Slug(p.Name),
		PlanFile:   o.PlanFile,
		Targets:    p.Targets,
		Shards:     shards,
		Repository: repo,
		Ref:        ref,
		Executor:   executor,
		Tags:       tags,
		Cron:       DefaultCron,
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
	tagRE  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
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
	if err := p.Repository.validate(); err != nil {
		return err
	}
	if p.Platform == GitHub && p.Repository.GitHub == "" {
		return fmt.Errorf("ktest repository %s: a GitHub workflow checks ktest out with actions/checkout, which needs a GitHub repository (OWNER/NAME)", p.Repository.URL)
	}
	switch {
	case p.Platform == GitHub && p.Executor != "":
		return fmt.Errorf("executor %s: a GitHub workflow has none", p.Executor)
	case p.Platform == GitLab:
		if _, err := ParseExecutor(string(p.Executor)); err != nil {
			return err
		}
	}
	for _, t := range p.Tags {
		if !tagRE.MatchString(t) {
			return fmt.Errorf("runner tag %q: want letters, digits, . _ -", t)
		}
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
	s += fmt.Sprintf(" --shards %d", p.Shards)
	if p.Repository != ModuleRepository {
		s += " --ktest-repo " + p.Repository.String()
	}
	s += " --ktest-ref " + p.Ref
	if p.Executor == Shell {
		s += " --executor shell"
		if !slices.Equal(p.Tags, DefaultShellTags) {
			s += " --tags " + strings.Join(p.Tags, ",")
		}
	} else if len(p.Tags) > 0 {
		s += " --tags " + strings.Join(p.Tags, ",")
	}
	return s
}

// Shell reports whether the jobs run on a shell runner's host.
func (p *Pipeline) Shell() bool { return p.Executor == Shell }
