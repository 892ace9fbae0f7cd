package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/ktest-dev/ktest/report"
	"github.com/ktest-dev/ktest/results"
)

func mergeCommand() *command {
	return &command{
		name: "merge",
		summary: `Join the run directories of a plan's shards into one run.
The shards are 'ktest run --shard K/N' on several machines; OUT is a run
directory exactly as one machine would have written it: results.json,
summary.md, junit.xml, email.txt, report.html. Runs of different plans,
trees, series or kernels are refused, naming the difference; a missing shard
is reported as missing, never as a pass. Exits like 'ktest run'.`,
		usage: "[--history DIR] OUT RUNDIR...",
		examples: []string{
			"ktest merge merged shard-1 shard-2",
			"ktest merge --history /var/lib/ktest/nightly merged shards/*",
		},
		run: runMerge,
	}
}

func runMerge(ctx context.Context, e env, args []string) error {
	c := commands["merge"]
	fs := newFlagSet(c, e.Stdout)
	history := fs.String("history", "", "nightly mode: keep the merged run in `DIR`, compare it with the last good run made alike, exit 1 on a regression")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() < 2 {
		return usageErrorf("want OUT and at least one run directory")
	}
	out, dirs := fs.Arg(0), fs.Args()[1:]
	var runs []*results.Run
	for _, d := range dirs {
		r, err := results.Load(d)
		if err != nil {
			return badInput(err)
		}
		runs = append(runs, r)
	}
	merged, err := results.Merge(mergedRunID(runs), runs)
	if err != nil {
		return badInput(err)
	}
	if err := os.Mkdir(out, 0o755); err != nil {
		return usageErrorf("%v (OUT must not exist yet)", err)
	}
	from, err := identity(ctx, "")
	if err != nil {
		say(e.Stderr, "ktest merge: warning: %v; the reports carry no Tested-by\n", err)
	}
	if err := report.WriteRunDir(out, merged, report.Renderer{From: from}); err != nil {
		return err
	}
	say(e.Stderr, "ktest merge: %d shard run(s) into %s: %s\n", len(runs), out, merged.Status)
	if summary, err := os.ReadFile(filepath.Join(out, "summary.md")); err == nil {
		_, _ = e.Stdout.Write(summary) // best effort, as say is: the results are on disk
	}
	if *history != "" {
		if err := os.MkdirAll(*history, 0o755); err != nil {
			return err
		}
		compared, err := nightly(ctx, e, *history, merged, out, nil)
		if err != nil || compared {
			return errors.Join(err, targetErrors(merged))
		}
	}
	return runExit(merged)
}

// mergedRunID names a merged run after its shards: the earliest shard's
// start and a digest of them all. Nightly history keys runs by ID, and a
// pipeline merges into the same OUT every night, so OUT's name would make
// every night the same run, never compared with the one before; a merge
// job retried on the same shards keeps its ID.
func mergedRunID(runs []*results.Run) string {
	var ids []string
	first := runs[0].Started
	for _, r := range runs {
		ids = append(ids, r.Started.UTC().Format(time.RFC3339Nano)+" "+r.Host.Hostname+" "+r.ID)
		if r.Started.Before(first) {
			first = r.Started
		}
	}
	sort.Strings(ids)
	sum := sha256.Sum256([]byte(strings.Join(ids, "\n")))
	return first.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(sum[:3])
}
