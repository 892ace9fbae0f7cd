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
	"github.com/ktest-dev/ktest/initramfs"
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
			fmt.Fprintf(e.Stdout, "removed kernel %s\n", key)
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
		rep.Kernels, rep.Slots = nonNil(rep.Kernels), nonNil(rep.Slots)
		return printJSON(stdout, rep)
	}
	verb := "removed"
	if o.DryRun {
		verb = "would remove"
	}
	for _, k := range rep.Kernels {
		fmt.Fprintf(stdout, "%s kernel %s (%s, last used %s)\n", verb, k.Key, k.Variant, k.LastUsed.Format(time.DateOnly))
	}
	for _, s := range rep.Slots {
		fmt.Fprintf(stdout, "%s build slot %s (last used %s)\n", verb, s.Dir, s.LastUsed.Format(time.DateOnly))
	}
	fmt.Fprintf(stdout, "%s %d kernel(s), %d slot(s), %d boot log(s), %d leftover(s), %d stale index(es), %d index(es) of removed trees: %s\n",
		verb, len(rep.Kernels), len(rep.Slots), rep.BootLogs, rep.Temps, rep.Indexes, rep.TreeIndexes, humanBytes(rep.Bytes))
	return nil
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

// cacheListing is what `cache ls --json` prints: every list an array,
// empty or not, so `jq '.kernels[]'` works on an empty cache.
type cacheListing struct {
	Dir     string             `json:"dir"`
	Trees   []kbuild.TreeEntry `json:"trees"`
	Kernels []kbuild.Entry     `json:"kernels"`
	Slots   []kbuild.SlotEntry `json:"slots"`
	Images  []initramfs.Image  `json:"images"`
	Bytes   int64              `json:"bytes"`
}

func cacheList(stdout io.Writer, cache *kbuild.Cache, asJSON bool) error {
	var l cacheListing
	var err error
	l.Dir = cache.Dir
	if l.Trees, err = cache.Trees(); err != nil {
		return err
	}
	if l.Kernels, err = cache.Kernels(); err != nil {
		return err
	}
	if l.Slots, err = cache.Slots(); err != nil {
		return err
	}
	if l.Images, err = initramfs.Images(cache.Dir); err != nil {
		return err
	}
	l.Trees, l.Kernels, l.Slots, l.Images = nonNil(l.Trees), nonNil(l.Kernels), nonNil(l.Slots), nonNil(l.Images)
	for _, t := range l.Trees {
		l.Bytes += t.Bytes
	}
	for _, k := range l.Kernels {
		l.Bytes += k.Bytes
	}
	for _, s := range l.Slots {
		l.Bytes += s.Bytes
	}
	for _, i := range l.Images {
		l.Bytes += i.Bytes
	}
	if asJSON {
		return printJSON(stdout, l)
	}
	return writeCacheListing(stdout, &l, termfmt.Width(stdout))
}

// writeCacheListing prints a table per kind of entry, fitted to width.
func writeCacheListing(w io.Writer, l *cacheListing, width int) error {
	fmt.Fprintf(w, "cache %s: %s\n", l.Dir, humanBytes(l.Bytes))
	// Extracted trees; slots hardlink their files, so slots' sizes do not
	// count them again.
	tt := termfmt.NewTable(termfmt.Column{Header: "TREE", Shrink: 1, Min: 20, ClipStart: true},
		termfmt.Column{Header: "VERSION", Shrink: 1, Min: 7}, termfmt.Column{Header: "FROM", Shrink: 1, Min: 10, ClipStart: true},
		termfmt.Column{Header: "SIZE", Right: true}, termfmt.Column{Header: "EXTRACTED", Shrink: 2, Min: 10})
	for _, t := range l.Trees {
		tt.Row(t.Dir, t.Version, t.Tarball, humanBytes(t.Bytes), t.Extracted.Format(time.DateTime))
	}
	// Keys stay whole: they are what 'ktest cache rm' takes.
	kt := termfmt.NewTable(termfmt.Column{Header: "KERNEL"}, termfmt.Column{Header: "VARIANT", Shrink: 1, Min: 7},
		termfmt.Column{Header: "VERSION", Shrink: 1, Min: 7}, termfmt.Column{Header: "OBJECTS", Right: true},
		termfmt.Column{Header: "SIZE", Right: true}, termfmt.Column{Header: "LAST USED", Shrink: 2, Min: 10})
	for _, k := range l.Kernels {
		kt.Row(k.Key, k.Variant, k.Version, fmt.Sprint(k.Objects), humanBytes(k.Bytes), k.LastUsed.Format(time.DateTime))
	}
	st := termfmt.NewTable(termfmt.Column{Header: "BUILD SLOT", Shrink: 1, Min: 20, ClipStart: true},
		termfmt.Column{Header: "SIZE", Right: true}, termfmt.Column{Header: "LAST USED", Shrink: 2, Min: 10})
	for _, s := range l.Slots {
		st.Row(s.Dir, humanBytes(s.Bytes), s.LastUsed.Format(time.DateTime))
	}
	it := termfmt.NewTable(termfmt.Column{Header: "GUEST IMAGE", Shrink: 1, Min: 20, ClipStart: true},
		termfmt.Column{Header: "LAYER"}, termfmt.Column{Header: "SIZE", Right: true},
		termfmt.Column{Header: "LAST USED", Shrink: 2, Min: 10})
	for _, i := range l.Images {
		it.Row(i.Path, i.Layer, humanBytes(i.Bytes), i.LastUsed.Format(time.DateTime))
	}
	sections := []struct {
		what string
		n    int
		t    *termfmt.Table
	}{{"extracted trees", len(l.Trees), tt}, {"kernels", len(l.Kernels), kt}, {"build slots", len(l.Slots), st}, {"guest images", len(l.Images), it}}
	for _, s := range sections {
		fmt.Fprintln(w)
		if s.n == 0 {
			fmt.Fprintf(w, "no %s\n", s.what)
			continue
		}
		if err := s.t.Write(w, width); err != nil {
			return err
		}
	}
	return nil
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

// nonNil makes a nil list an empty one, which JSON prints as [].
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
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

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
