package main

import (
	"context"
	"flag"
	"path/filepath"
	"strings"

	"github.com/ktest-dev/ktest/ci"
	"github.com/ktest-dev/ktest/plan"
)

func ciCommand() *command {
	return &command{
		name: "ci",
		summary: `Print a nightly CI pipeline for GitHub Actions or GitLab CI.
A build job builds ktest, its guest image and every variant's kernel once,
restoring the extracted tree and the kernels from a cache under ktest's keys
('ktest cache key'), so an unchanged tree and series build nothing. N test
jobs each run a shard of the plan's targets on those kernels (KVM when the
runner has it, else TCG). After a successful build, a merge job joins the
shards into one run, compares it with the nightly history and fails on
failed tests or a regression. GitLab jobs run in debian:bookworm containers,
or with --executor shell on runner hosts chosen by --tags (with /dev/kvm),
where ktest's own cache persists. Run it at the repository's root: --plan is
written into the pipeline as given.`,
		usage: "github|gitlab [--plan FILE] [--shards N] [--ktest-repo REPO] [--ktest-ref REF] [--executor docker|shell] [--tags LIST]",
		examples: []string{
			"ktest ci github --plan plans/nightly.toml --shards 2 \\",
			"    > .github/workflows/ktest-nightly.yml",
			"ktest ci gitlab > .gitlab-ci.yml",
			"ktest ci gitlab --executor shell --tags kvm,bare-metal > .gitlab-ci.yml",
			"ktest ci gitlab --ktest-repo https://git.example.org/mirrors/ktest.git \\",
			"    --ktest-ref v1.2.0 > .gitlab-ci.yml",
		},
		run: runCI,
	}
}

func runCI(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(commands["ci"], e.Stdout)
	planFile := fs.String("plan", "", "plan `FILE`, relative to the repository's root (default: the embedded plan)")
	shards := fs.Int("shards", 0, "test jobs, each running a share of the plan's targets (default: one per target, at most 4)")
	repo := fs.String("ktest-repo", ci.ModuleRepository.String(), "where the jobs fetch ktest: GitHub's OWNER/NAME, or a git `URL` (GitLab), for a fork or a mirror")
	ref := fs.String("ktest-ref", ci.DefaultRef, "ktest branch, tag or commit the pipeline builds ktest from")
	executor := fs.String("executor", "", "GitLab: how the runner runs the jobs, `docker` (default) or shell (on its host)")
	tags := fs.String("tags", "", "GitLab: runner tags the jobs need, comma-separated (`LIST`; shell default: kvm)")
	pos, err := parseArgsAnywhere(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErrorf("want one platform, github or gitlab; got %d arguments", len(pos))
	}
	platform, err := ci.ParsePlatform(pos[0])
	if err != nil {
		return usageErrorf("%v", err)
	}
	o := ci.Options{Shards: *shards, Repository: *repo, Ref: *ref}
	// 0 is ci.New's "default"; given explicitly, it is a bad count.
	explicit := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { explicit[f.Name] = true })
	if explicit["shards"] && *shards < 1 {
		return usageErrorf("--shards %d: want at least 1", *shards)
	}
	if platform == ci.GitHub && (explicit["executor"] || explicit["tags"]) {
		return usageErrorf("--executor and --tags are GitLab's: a GitHub workflow runs on GitHub's runners")
	}
	if *executor != "" {
		if o.Executor, err = ci.ParseExecutor(*executor); err != nil {
			return usageErrorf("--executor: %v", err)
		}
	}
	if explicit["tags"] {
		o.Tags = strings.Split(*tags, ",")
	}

	p := plan.Default()
	if *planFile != "" {
		// The pipeline reads the plan from its checkout of the repository.
		if filepath.IsAbs(*planFile) {
			return usageErrorf("--plan %s: give the plan's path relative to the repository's root, where the pipeline finds it", *planFile)
		}
		o.PlanFile = filepath.ToSlash(filepath.Clean(*planFile))
		if err := ci.CheckPlanFile(o.PlanFile); err != nil {
			return usageErrorf("--plan: %v", err)
		}
		if p, err = plan.Load(*planFile); err != nil {
			return err
		}
	}
	pl, err := ci.New(platform, p, o)
	if err != nil {
		return usageErrorf("%v", err)
	}
	out, err := ci.Render(pl)
	if err != nil {
		return err
	}
	_, err = e.Stdout.Write(out)
	return err
}
