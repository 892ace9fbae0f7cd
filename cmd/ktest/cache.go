package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ktest-dev/ktest/kbuild"
)

func init() {
	register(&command{
		name: "cache",
		summary: `Show and trim the kernel cache (subcommands: ls, gc, rm).
  ls      published kernels and build slots, most recently used first
  gc      remove kernels and slots unused for --older-than, keeping the
          --keep most recent; drop stale indexes, the content indexes of
          removed trees, and killed publishes' leftovers
  rm KEY  remove one published kernel`,
		usage: "ls|gc|rm [flags] [KEY...]",
		run:   runCache,
	})
}

func runCache(ctx context.Context, args []string) error {
	const usage = "usage: ktest cache ls|gc|rm [flags]"
	if len(args) == 0 {
		return usageErrorf(usage)
	}
	sub := args[0]
	if sub == "-h" || sub == "--help" {
		fmt.Fprintln(os.Stderr, usage+"\n\nRun 'ktest cache ls -h', 'ktest cache gc -h' or 'ktest cache rm -h'.")
		return errHelp
	}
	c := &command{name: "cache " + sub, usage: "[flags]"}
	switch sub {
	case "ls":
		c.summary = "List published kernels and build slots with their size and last use."
	case "gc":
		c.summary = "Remove kernels and build slots unused for --older-than, except the most recently used\n--keep kernels and --keep-slots slots. Slots in use by a running build are skipped."
	case "rm":
		c.summary = "Remove the published kernels KEY... (the keys 'ktest cache ls' prints)."
		c.usage = "KEY... [flags]"
	default:
		return usageErrorf("unknown subcommand %q; %s", sub, usage)
	}
	fs := newFlagSet(c)
	dir := fs.String("cache", "", "cache directory (default $KTEST_CACHE, $XDG_CACHE_HOME/ktest or ~/.cache/ktest)")
	asJSON := fs.Bool("json", false, "print the result as JSON on stdout")
	olderThan := fs.String("older-than", "14d", "gc: age of last use beyond which entries go (e.g. 14d, 36h)")
	keep := fs.Int("keep", 4, "gc: always keep this many most recently used kernels")
	keepSlots := fs.Int("keep-slots", 1, "gc: always keep this many most recently used build slots")
	dryRun := fs.Bool("n", false, "gc: say what would be removed, remove nothing")
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
	age, err := parseAge(*olderThan)
	if err != nil {
		return usageErrorf("--older-than: %v", err)
	}
	cache, err := kbuild.OpenCache(*dir)
	if err != nil {
		return infraFailure(err)
	}
	switch sub {
	case "ls":
		return cacheList(cache, *asJSON)
	case "rm":
		for _, key := range pos {
			if err := cache.Remove(key); err != nil {
				return badInput(err)
			}
			fmt.Fprintf(resultsStdout, "removed kernel %s\n", key)
		}
		return nil
	}
	rep, err := cache.GC(kbuild.GCOptions{OlderThan: age, Keep: *keep, KeepSlots: *keepSlots, DryRun: *dryRun}, time.Now())
	if err != nil {
		return infraFailure(err)
	}
	if *asJSON {
		return printJSON(rep)
	}
	verb := "removed"
	if *dryRun {
		verb = "would remove"
	}
	for _, k := range rep.Kernels {
		fmt.Fprintf(resultsStdout, "%s kernel %s (%s, last used %s)\n", verb, k.Key, k.Variant, k.LastUsed.Format(time.DateOnly))
	}
	for _, s := range rep.Slots {
		fmt.Fprintf(resultsStdout, "%s build slot %s (last used %s)\n", verb, s.Dir, s.LastUsed.Format(time.DateOnly))
	}
	fmt.Fprintf(resultsStdout, "%s %d kernel(s), %d slot(s), %d leftover(s), %d stale index(es), %d index(es) of removed trees: %s\n",
		verb, len(rep.Kernels), len(rep.Slots), rep.Temps, rep.Indexes, rep.TreeIndexes, humanBytes(rep.Bytes))
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
	if asJSON {
		return printJSON(map[string]any{"dir": cache.Dir, "kernels": kernels, "slots": slots})
	}
	fmt.Fprintf(resultsStdout, "cache %s\n\n", cache.Dir)
	tw := tabwriter.NewWriter(resultsStdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KERNEL\tVARIANT\tVERSION\tOBJECTS\tSIZE\tLAST USED")
	for _, k := range kernels {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", k.Key, k.Variant, k.Version, k.Objects, humanBytes(k.Bytes), k.LastUsed.Format(time.DateTime))
	}
	tw.Flush()
	fmt.Fprintln(resultsStdout)
	fmt.Fprintln(tw, "BUILD SLOT\tSIZE\tLAST USED")
	for _, s := range slots {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", s.Dir, humanBytes(s.Bytes), s.LastUsed.Format(time.DateTime))
	}
	return tw.Flush()
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
