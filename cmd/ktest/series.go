package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"

	"github.com/ktest-dev/ktest/internal/termfmt"
	"github.com/ktest-dev/ktest/patches"
	"github.com/ktest-dev/ktest/series"
)

func seriesCommand() *command {
	return &command{
		name: "series",
		summary: "Inspect a patch series (subcommands: show, split).\n\n" +
			"  show   lists its cover letter, patches, which revisions are applied and\n" +
			"         why, review fixups and warnings\n" +
			"  split  writes it as format-patch files (0001-....patch, and the cover\n" +
			"         letter as 0000-cover-letter.cover)\n\n" +
			"SERIES is an mbox, a lore thread dump, a mail, a diff, a directory of .patch\n" +
			"files or - for stdin. Of a patch posted in several versions the newest is\n" +
			"taken (--use-version N takes vN). Damaged input (stripped whitespace,\n" +
			"flattened newlines, truncation, CRLF, ...) exits 2 naming file:line.",
		usage: "show [--json] [--with-fixups] [--use-version N] SERIES | split [--force] [--use-version N] SERIES DIR",
		examples: []string{
			"ktest series show thread.mbox",
			"ktest series split thread.mbox ./patches && git am ./patches/*.patch",
			"ktest series show -h                 # a subcommand's flags",
		},
		run: runSeries,
	}
}

func runSeries(ctx context.Context, e env, args []string) error {
	if _, err := groupHelp(e.Stdout, commands["series"], []string{"show", "split"}, args); err != nil {
		return err
	}
	if args[0] == "show" {
		return seriesShow(args[1:], e.Stdout)
	}
	return seriesSplit(args[1:], e.Stdout, e.Stderr)
}

// checkEmbedded makes a typo in "embedded:NAME" bad input (exit 2) that
// lists the names ktest ships.
func checkEmbedded(src string) error {
	if _, _, err := patches.Lookup(src); err != nil {
		return badInput(err)
	}
	return nil
}

// loadSeries maps damaged input to exit 2, and so an ambiguous choice
// of revisions or a version the input lacks; a file that cannot be read
// is the user's input too.
func loadSeries(path string, opts series.Options) (*series.Series, error) {
	s, err := opts.Load(path)
	if err != nil {
		if series.IsBadInput(err) || errors.Is(err, os.ErrNotExist) || errors.Is(err, os.ErrPermission) {
			return nil, badInput(err)
		}
		return nil, infraFailure(err)
	}
	return s, nil
}

// useVersionFlag is --use-version, b4's -v.
func useVersionFlag(fs *flag.FlagSet) *int {
	return fs.Int("use-version", 0, "apply version `N` of the series (b4's -v) instead of the newest the input holds")
}

func seriesShow(args []string, out io.Writer) error {
	fs := newFlagSet(&command{name: "series show", summary: "List the patches of a series, its fixups, revisions and warnings.\n" +
		"The table fits $COLUMNS, else the terminal, else 80 columns; --json has the\n" +
		"full text.",
		usage: "[--json] [--with-fixups] SERIES",
		examples: []string{
			"ktest series show thread.mbox",
			"ktest series show --with-fixups --json thread.mbox",
			"ktest series show embedded:async-buffered-reads",
			"git format-patch --stdout origin/master.. | ktest series show -",
		}}, out)
	asJSON := fs.Bool("json", false, "print the ktest.series/v1 JSON schema (documented in package series)")
	withFixups := fs.Bool("with-fixups", false, "count the fixup diffs from review replies as applied, after the series")
	useVersion := useVersionFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageErrorf("want exactly one SERIES, got %d arguments", fs.NArg())
	}
	s, err := loadSeries(fs.Arg(0), series.Options{Version: *useVersion})
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(series.Summarize(s, *withFixups))
	}
	return s.WriteText(out, termfmt.Width(out), *withFixups)
}

func seriesSplit(args []string, out, stderr io.Writer) error {
	fs := newFlagSet(&command{name: "series split", summary: "Write the patches of a series as format-patch files.\n" +
		"The patches are 0001-....patch and the cover letter 0000-cover-letter.cover,\n" +
		"so that `git am DIR/*.patch` takes the patches and `ktest series show DIR`\n" +
		"reads all back. Fixups and postings not applied are not written. Files of\n" +
		"the same names, or other patch files in DIR, make it refuse (exit 2, nothing\n" +
		"written) unless --force.",
		usage: "[--force] [--use-version N] SERIES DIR",
		examples: []string{
			"ktest series split thread.mbox ./patches && git am ./patches/*.patch",
			"ktest series split --use-version 3 thread.mbox ./v3",
		}}, out)
	force := fs.Bool("force", false, "overwrite files of the same names and remove other patch files in DIR instead of refusing")
	useVersion := useVersionFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return usageErrorf("want SERIES and DIR, got %d arguments", fs.NArg())
	}
	s, err := loadSeries(fs.Arg(0), series.Options{Version: *useVersion})
	if err != nil {
		return err
	}
	paths, err := series.WriteDir(s, fs.Arg(1), *force)
	var exists *series.ExistsError
	if errors.As(err, &exists) {
		return badInput(err)
	}
	if err != nil {
		return infraFailure(err)
	}
	for _, p := range paths {
		say(out, "%s\n", p)
	}
	if n := len(s.Fixups) + len(s.Revisions); n > 0 {
		say(stderr, "ktest series split: %d fixup(s) and %d posting(s) not applied (see series show) were not written\n", len(s.Fixups), len(s.Revisions))
	}
	return nil
}
