package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ktest-dev/ktest/internal/termfmt"
	"github.com/ktest-dev/ktest/kbuild"
)

func init() {
	register(&command{
		name: "cache",
		summary: `Show and trim the kernel cache (subcommands: ls, gc, rm).
  ls      published kernels, build slots and extracted trees, most recently
          used first
  gc      remove kernels and slots unused for --older-than, keeping the
          --keep most recent, and failed boots' console logs as old; drop
          stale indexes, the content indexes of removed trees, and killed
          publishes' leftovers
  rm KEY  remove one published kernel`,
		usage: "ls|gc|rm [flags] [KEY...]",
		examples: []string{
			"ktest cache ls",
			"ktest cache gc -n --older-than 7d      # preview, then drop -n",
			"ktest cache ls -h                      # a subcommand's flags",
		},
		run: runCache,
	})
}

func runCache(ctx context.Context, args []string) error {
	if _, err := groupHelp(commands["cache"], []string{"ls", "gc", "rm"}, args); err != nil {
		return err
	}
	sub := args[0]
	c := &command{name: "cache " + sub, usage: "[flags]"}
	switch sub {
	case "ls":
		c.summary = "List published kernels and build slots with their size and last use, and the extracted source trees (the default, debian:X) with their size."
		c.examples = []string{"ktest cache ls", "ktest cache ls --json | jq '.kernels[].key'"}
	case "gc":
		c.summary = "Remove kernels and build slots unused for --older-than, except the most recently used " +
			"--keep kernels and --keep-slots slots, and the console logs of failed boots older than " +
			"--older-than. Slots in use by a running build are skipped."
		c.examples = []string{"ktest cache gc -n                        # what would go", "ktest cache gc --older-than 30d --keep 2"}
	case "rm":
		c.summary = "Remove the published kernels KEY... (the keys 'ktest cache ls' prints)."
		c.usage = "KEY... [flags]"
		c.examples = []string{"ktest cache rm 5d0c1f3e9a7b2c48d6e1f0a9     # a KERNEL key from ktest cache ls"}
	}
	// Each subcommand registers only the flags it reads, so its -h lists
	// only those.
	fs := newFlagSet(c)
	dir := fs.String("cache", "", "the cache `DIR` (default $KTEST_CACHE, $XDG_CACHE_HOME/ktest or ~/.cache/ktest)")
	var (
		asJSON, dryRun  bool
		olderThan       = "14d"
		keep, keepSlots = 4, 1
	)
	if sub != "rm" {
		fs.BoolVar(&asJSON, "json", false, "print the result as JSON on stdout")
	}
	if sub == "gc" {
		fs.StringVar(&olderThan, "older-than", olderThan, "`AGE` of last use beyond which entries go (e.g. 14d, 36h)")
		fs.IntVar(&keep, "keep", keep, "always keep this many most recently used kernels")
		fs.IntVar(&keepSlots, "keep-slots", keepSlots, "always keep this many most recently used build slots")
		fs.BoolVar(&dryRun, "n", false, "say what would be removed, remove nothing")
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
		return infraFailure(err)
	}
	switch sub {
	case "ls":
		return cacheList(cache, asJSON)
	case "rm":
		for _, key := range pos {
			if err := cache.Remove(key); err != nil {
				return badInput(err)
			}
			say(resultsStdout, "removed kernel %s\n", key)
		}
		return nil
	}
	rep, err := cache.GC(kbuild.GCOptions{OlderThan: age, Keep: keep, KeepSlots: keepSlots, DryRun: dryRun}, time.Now())
	if err != nil {
		return infraFailure(err)
	}
	if asJSON {
		return printJSON(rep)
	}
	verb := "removed"
	if dryRun {
		verb = "would remove"
	}
	for _, k := range rep.Kernels {
		say(resultsStdout, "%s kernel %s (%s, last used %s)\n", verb, k.Key, k.Variant, k.LastUsed.Format(time.DateOnly))
	}
	for _, s := range rep.Slots {
		say(resultsStdout, "%s build slot %s (last used %s)\n", verb, s.Dir, s.LastUsed.Format(time.DateOnly))
	}
	say(resultsStdout, "%s %d kernel(s), %d slot(s), %d boot log(s), %d leftover(s), %d stale index(es), %d index(es) of removed trees: %s\n",
		verb, len(rep.Kernels), len(rep.Slots), rep.BootLogs, rep.Temps, rep.Indexes, rep.TreeIndexes, humanBytes(rep.Bytes))
	return nil
}

func cacheList(cache *kbuild.Cache, asJSON bool) error {
	kernels, err := cache.Kernels()
	if err != nil {
		return infraFailure(err)
	}
	slots, err := cache.Slots()
	if err != nil {
		return infraFailure(err)
	}
	trees, err := cache.Trees()
	if err != nil {
		return infraFailure(err)
	}
	if asJSON {
		return printJSON(map[string]any{"dir": cache.Dir, "kernels": kernels, "slots": slots, "trees": trees})
	}
	width := termfmt.Width(resultsStdout)
	say(resultsStdout, "cache %s\n\n", cache.Dir)
	// Keys stay whole: they are what 'ktest cache rm' takes.
	kt := termfmt.NewTable(termfmt.Column{Header: "KERNEL"}, termfmt.Column{Header: "VARIANT", Shrink: 1, Min: 7},
		termfmt.Column{Header: "VERSION", Shrink: 1, Min: 7}, termfmt.Column{Header: "OBJECTS", Right: true},
		termfmt.Column{Header: "SIZE", Right: true}, termfmt.Column{Header: "LAST USED", Shrink: 2, Min: 10})
	for _, k := range kernels {
		kt.Row(k.Key, k.Variant, k.Version, fmt.Sprint(k.Objects), humanBytes(k.Bytes), k.LastUsed.Format(time.DateTime))
	}
	if err := kt.Write(resultsStdout, width); err != nil {
		return err
	}
	say(resultsStdout, "\n")
	st := termfmt.NewTable(termfmt.Column{Header: "BUILD SLOT", Shrink: 1, Min: 20, ClipStart: true},
		termfmt.Column{Header: "SIZE", Right: true}, termfmt.Column{Header: "LAST USED", Shrink: 2, Min: 10})
	for _, s := range slots {
		st.Row(s.Dir, humanBytes(s.Bytes), s.LastUsed.Format(time.DateTime))
	}
	if err := st.Write(resultsStdout, width); err != nil {
		return err
	}
	fmt.Fprintln(resultsStdout)
	// Extracted trees (the default, debian:X); slots hardlink their files.
	tt := termfmt.NewTable(termfmt.Column{Header: "TREE", Shrink: 1, Min: 20, ClipStart: true},
		termfmt.Column{Header: "VERSION", Shrink: 1, Min: 7}, termfmt.Column{Header: "FROM", Shrink: 1, Min: 10, ClipStart: true},
		termfmt.Column{Header: "SIZE", Right: true}, termfmt.Column{Header: "EXTRACTED", Shrink: 2, Min: 10})
	for _, t := range trees {
		tt.Row(t.Dir, t.Version, t.Tarball, humanBytes(t.Bytes), t.Extracted.Format(time.DateTime))
	}
	return tt.Write(resultsStdout, width)
}

func printJSON(v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = resultsStdout.Write(append(data, '\n'))
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
