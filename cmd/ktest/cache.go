package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/ktest-dev/ktest/ci"
	"github.com/ktest-dev/ktest/internal/cachelist"
	"github.com/ktest-dev/ktest/internal/termfmt"
	"github.com/ktest-dev/ktest/kbuild"
	"github.com/ktest-dev/ktest/plan"
)

func cacheCommand() *command {
	return &command{
		name: "cache",
		summary: `Show, trim and key the cache of trees, kernels and guest images.
Trees are the default and debian:X.
  ls      list the extracted trees, kernels, build slots and guest images
          with their size and last use, most recently used first
  gc      remove kernels and slots unused for --older-than, keeping the
          --keep most recent, and failed boots' console logs as old; drop
          stale indexes, the content indexes of removed trees, and killed
          publishes' leftovers
  rm KEY  remove one published kernel
  key     print the CI cache keys of a plan's kernels, building nothing`,
		usage: "ls|gc|rm|key [flags] [KEY...]",
		examples: []string{
			"ktest cache ls",
			"ktest cache gc -n --older-than 7d    # preview, then drop -n",
			"ktest cache ls -h                    # a subcommand's flags",
		},
		run: runCache,
	}
}

func runCache(ctx context.Context, e env, args []string) error {
	if _, err := groupHelp(e.Stdout, commands["cache"], []string{"ls", "gc", "rm", "key"}, args); err != nil {
		return err
	}
	sub := args[0]
	c := cacheSubcommand(sub)
	// Each subcommand registers only the flags it reads, so its -h lists
	// only those.
	fs := newFlagSet(c, e.Stdout)
	dir := fs.String("cache", "", "the cache `DIR` (default $KTEST_CACHE, $XDG_CACHE_HOME/ktest or ~/.cache/ktest)")
	var (
		asJSON, dryRun, withFixups bool
		olderThan                  = "14d"
		keep, keepSlots            = 4, 1
		planFile, tree, seriesSrc  string
	)
	if sub != "rm" {
		fs.BoolVar(&asJSON, "json", false, "print the result as JSON on stdout")
	}
	switch sub {
	case "gc":
		fs.StringVar(&olderThan, "older-than", olderThan, "`AGE` of last use beyond which entries go (e.g. 14d, 36h)")
		fs.IntVar(&keep, "keep", keep, "always keep this many most recently used kernels")
		fs.IntVar(&keepSlots, "keep-slots", keepSlots, "always keep this many most recently used build slots")
		fs.BoolVar(&dryRun, "n", false, "say what would be removed, remove nothing")
	case "key":
		fs.StringVar(&planFile, "plan", "", "plan `FILE` (TOML); default: the embedded plan")
		fs.StringVar(&tree, "tree", "", "kernel tree `DIR`, overriding the plan's, as for ktest run")
		fs.StringVar(&seriesSrc, "series", "", "`SERIES` to test, as for ktest run")
		fs.BoolVar(&withFixups, "with-fixups", false, "the keys of a run with --with-fixups")
	}
	pos, err := parseArgsAnywhere(fs, args[1:])
	if err != nil {
		return err
	}
	if sub != "rm" && len(pos) > 0 {
		return usageErrorf("unexpected arguments: %s", strings.Join(pos, " "))
	}
	if sub == "rm" && len(pos) == 0 {
		return usageErrorf("name the kernel keys to remove (see 'ktest cache ls')")
	}
	age, err := parseAge(olderThan)
	if err != nil {
		return usageErrorf("--older-than: %v", err)
	}
	cache, err := kbuild.OpenCache(*dir)
	if err != nil {
		return err
	}
	switch sub {
	case "ls":
		return cacheList(e.Stdout, cache, asJSON)
	case "key":
		return cacheKey(ctx, e.Stdout, cache, planFile, tree, seriesSrc, withFixups, asJSON)
	case "rm":
		for _, key := range pos {
			if err := cache.Remove(key); err != nil {
				return badInput(err)
			}
			say(e.Stdout, "removed kernel %s\n", key)
		}
		return nil
	}
	return cacheGC(e.Stdout, cache, kbuild.GCOptions{OlderThan: age, Keep: keep, KeepSlots: keepSlots, DryRun: dryRun}, asJSON)
}

// cacheGC collects the cache's garbage and says what went.
func cacheGC(stdout io.Writer, cache *kbuild.Cache, o kbuild.GCOptions, asJSON bool) error {
	rep, err := cache.GC(o, time.Now())
	if err != nil {
		return err
	}
	if asJSON {
		rep.Kernels, rep.Slots = cachelist.NonNil(rep.Kernels), cachelist.NonNil(rep.Slots)
		return printJSON(stdout, rep)
	}
	return cachelist.WriteGC(stdout, rep, o.DryRun)
}

// cacheSubcommand is the help of `ktest cache SUB`.
func cacheSubcommand(sub string) *command {
	c := &command{name: "cache " + sub, usage: "[flags]"}
	switch sub {
	case "ls":
		c.summary = "List the extracted source trees, published kernels, build slots and cached guest images " +
			"with their size and last use. --json always has the four arrays, empty ones too."
		c.examples = []string{"ktest cache ls", "ktest cache ls --json | jq '.kernels[].key'"}
	case "gc":
		c.summary = "Remove kernels and build slots unused for --older-than, except the most recently used " +
			"--keep kernels and --keep-slots slots, and the console logs of failed boots older than " +
			"--older-than. Slots in use by a running build are skipped."
		c.examples = []string{"ktest cache gc -n          # what would go", "ktest cache gc --older-than 30d --keep 2"}
	case "rm":
		c.summary = "Remove the published kernels KEY... (the keys 'ktest cache ls' prints)."
		c.usage = "KEY... [flags]"
		c.examples = []string{"ktest cache rm 5d0c1f3e9a7b2c48d6e1f0a9   # a key from ktest cache ls"}
	case "key":
		c.summary = "Print the CI cache keys of a plan's kernels, computed from its inputs before anything is " +
			"extracted or built: " + ci.TreeKeyVar + " names the tree's sources (the default tree: its " +
			"tarball's hash, which names its extracted directory in the cache), " + ci.KernelsKeyVar +
			" every input of the kernels (tree, ktest's cache format, compiler, fragments, each variant's " +
			"patches byte for byte). The NAME=VALUE lines are step outputs appended to $GITHUB_OUTPUT and a " +
			"GitLab dotenv report; the pipelines of 'ktest ci' use them so. An unchanged tree and series " +
			"keep their keys, so a CI cache restores the kernels and nothing is built."
		c.usage = "[--plan FILE] [--tree DIR] [--series S] [--with-fixups] [--json]"
		c.examples = []string{
			"ktest cache key --plan plans/nightly.toml",
			`ktest cache key >> "$GITHUB_OUTPUT"`,
			"ktest cache key --json | jq -r .inputs[]   # what the key covers",
		}
	}
	return c
}

// cacheList prints the cache's listing (package cachelist).
func cacheList(stdout io.Writer, cache *kbuild.Cache, asJSON bool) error {
	l, err := cachelist.Collect(cache)
	if err != nil {
		return err
	}
	if asJSON {
		return printJSON(stdout, l)
	}
	return l.WriteText(stdout, termfmt.Width(stdout))
}

// cacheKey prints the CI cache keys of the plan as run with these
// overrides.
func cacheKey(ctx context.Context, stdout io.Writer, cache *kbuild.Cache, planFile, tree, seriesSrc string, withFixups, asJSON bool) error {
	p := plan.Default()
	if planFile != "" {
		var err error
		if p, err = plan.Load(planFile); err != nil {
			return err
		}
	}
	if err := checkEmbedded(seriesSrc); err != nil {
		return err
	}
	p.Retarget(tree, seriesSrc)
	keys, err := ci.PlanKeys(ctx, cache, p, withFixups)
	if err != nil {
		return err
	}
	if asJSON {
		return printJSON(stdout, keys)
	}
	_, err = io.WriteString(stdout, keys.Env())
	return err
}

func printJSON(stdout io.Writer, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = stdout.Write(append(data, '\n'))
	return err
}

// parseAge accepts Go durations and whole days ("14d").
func parseAge(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%q: want a number of days such as 14d", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q: want a duration such as 14d or 36h", s)
	}
	return d, nil
}
