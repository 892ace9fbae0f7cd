package main

import (
	"context"
	"flag"
	"path/filepath"

	"github.com/ktest-dev/ktest/ci"
	"github.com/ktest-dev/ktest/plan"
)

func init() {
	register(&command{
		name: "ci",
		summary: `Print a nightly CI pipeline for a plan, for GitHub Actions or GitLab CI.
A build job builds every variant's kernel once; N test jobs each run a shard
of the plan's targets on those kernels (KVM when the runner has it, else
TCG); a merge job joins the shards into one run, compares it with the
nightly history and fails on failed tests or a regression. Run it at the
repository's root: --plan is written into the pipeline as given.

examples:
  ktest ci github --plan plans/nightly.toml --shards 2 > .github/workflows/ktest-nightly.yml
  ktest ci gitlab > .gitlab-ci.yml`,
		usage: "github|gitlab [--plan FILE] [--shards N] [--ktest-ref REF]",
		run:   runCI,
	})
}

func runCI(ctx context.Context, args []string) error {
	fs := newFlagSet(commands["ci"])
	planFile := fs.String("plan", "", "plan file, relative to the repository's root (default: the embedded plan)")
	shards := fs.Int("shards", 0, "test jobs, each running a share of the plan's targets (default: one per target, at most 4)")
	ref := fs.String("ktest-ref", ci.DefaultRef, "ktest branch, tag or commit the pipeline builds ktest from")
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
	// 0 is ci.New's "default"; given explicitly, it is a bad count.
	explicit := false
	fs.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "shards" })
	if explicit && *shards < 1 {
		return usageErrorf("--shards %d: want at least 1", *shards)
	}

	p := plan.Default()
	rel := ""
	if *planFile != "" {
		// The pipeline reads the plan from its checkout of the repository.
		if filepath.IsAbs(*planFile) {
			return usageErrorf("--plan %s: give the plan's path relative to the repository's root, where the pipeline finds it", *planFile)
		}
		rel = filepath.ToSlash(filepath.Clean(*planFile))
		if err := ci.CheckPlanFile(rel); err != nil {
			return usageErrorf("--plan: %v", err)
		}
		if p, err = plan.Load(*planFile); err != nil {
			return badInput(err)
		}
	}
	pl, err := ci.New(platform, p, rel, *shards, *ref)
	if err != nil {
		return usageErrorf("%v", err)
	}
	out, err := ci.Render(pl)
	if err != nil {
		return err
	}
	_, err = resultsStdout.Write(out)
	return err
}
