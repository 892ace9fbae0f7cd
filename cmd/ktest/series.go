package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

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
	return printSeries(out, s, *withFixups)
}

// printSeries prints the series fitted to the output's width: fields and
// notes are wrapped, table cells clipped (--json has the full text).
func printSeries(out io.Writer, s *series.Series, withFixups bool) error {
	width := termfmt.Width(out)
	var b strings.Builder
	// line wraps one entry: its first line starts with prefix, the rest
	// with indent.
	line := func(prefix, indent, text string) {
		b.WriteString(termfmt.Wrap(text, width, prefix, indent) + "\n")
	}
	field := func(label, value string) { line(fmt.Sprintf("%-10s", label+":"), "          ", value) }
	field("series", s.Title)
	field("version", versionField(s))
	field("source", fmt.Sprintf("%s (%s)", s.Source, s.Format))
	switch {
	case s.Base != "":
		field("base", s.Base)
	default:
		field("base", "not stated by the series")
	}
	if s.Tree != "" {
		field("tree", s.Tree+" (the cover letter's pull address)")
	}
	if c := s.Cover; c != nil {
		field("cover", fmt.Sprintf("%s, %s, %s:%d", c.Author, dateOf(c), c.Source, c.Line))
	}
	b.WriteString("\n")
	// Trailers and files give way first, then subject and author.
	tb := termfmt.NewTable(
		termfmt.Column{Header: "N/M"},
		termfmt.Column{Header: "SUBJECT", Shrink: 2, Min: 16},
		termfmt.Column{Header: "AUTHOR", Shrink: 2, Min: 8},
		termfmt.Column{Header: "FILES", Shrink: 1, Min: 12, ClipStart: true},
		termfmt.Column{Header: "+/-"},
		termfmt.Column{Header: "TRAILERS", Shrink: 1, Min: 8},
	)
	for _, p := range s.Patches {
		tb.Row(p.ID().String(), p.Subject, p.AuthorName(), filesCol(p), changesCol(p), trailersCol(p))
	}
	if withFixups {
		for _, p := range s.Fixups {
			tb.Row(p.ID().String(), "fixup of "+ofPatch(p)+": "+p.Subject, p.AuthorName(), filesCol(p), changesCol(p), trailersCol(p))
		}
	}
	if err := tb.Write(&b, width); err != nil {
		return err
	}

	if len(s.Fixups) > 0 {
		state := "not applied; --with-fixups applies them after the series"
		if withFixups {
			state = "applied after the series, in this order"
		}
		b.WriteString("\n")
		line("", "", fmt.Sprintf("fixups from review replies (%s):", state))
		for _, p := range s.Fixups {
			line("  "+p.ID().String()+"  ", "      ", fmt.Sprintf("fixup of %s by %s, %s (%s:%d)", ofPatch(p), p.AuthorName(), dateOf(p), p.Source, p.Line))
			line("      ", "      ", fmt.Sprintf("%s %s", filesList(p), changesCol(p)))
			if p.Note != "" {
				line("      ", "       ", fmt.Sprintf("%q", p.Note))
			}
		}
	}
	if lines := s.RevisionLines(); len(lines) > 0 {
		fmt.Fprintf(&b, "\nrevisions (which posting of each patch is applied):\n")
		for _, l := range lines {
			line("  - ", "    ", l)
		}
	}
	if len(s.Revisions) > 0 {
		fmt.Fprintf(&b, "\nnot applied (superseded, or newer than the version asked for):\n")
		for _, p := range s.Revisions {
			line("  "+p.ID().String()+"  ", "      ", fmt.Sprintf("%q by %s, %s (%s:%d) %s",
				p.Subject, p.AuthorName(), dateOf(p), p.Source, p.Line, changesCol(p)))
		}
	}
	if len(s.Notes) > 0 {
		fmt.Fprintf(&b, "\nnotes:\n")
		for _, n := range s.Notes {
			line("  - ", "    ", n)
		}
	}
	if len(s.Warnings) > 0 {
		fmt.Fprintf(&b, "\nwarnings:\n")
		for _, w := range s.Warnings {
			line("  ! ", "    ", w)
		}
	}
	_, err := io.WriteString(out, b.String())
	return err
}

// versionField is "v5", with the versions the input holds besides.
func versionField(s *series.Series) string {
	v := fmt.Sprintf("v%d", s.Version)
	if len(s.Versions) > 1 {
		vs := make([]string, len(s.Versions))
		for i, x := range s.Versions {
			vs[i] = fmt.Sprintf("v%d", x)
		}
		how := "the newest"
		if s.VersionAsked {
			how = "as asked"
		}
		v += fmt.Sprintf(" (%s; the input holds %s)", how, strings.Join(vs, ", "))
	}
	return v
}

func ofPatch(p *series.Patch) string {
	if p.RevisionOf == 0 {
		return "the cover letter"
	}
	return fmt.Sprintf("patch %d", p.RevisionOf)
}

func dateOf(p *series.Patch) string {
	if p.Date.IsZero() {
		return "date unknown"
	}
	return p.Date.UTC().Format("2006-01-02 15:04 UTC")
}

func filesCol(p *series.Patch) string {
	st := p.Diffstat()
	switch len(st) {
	case 0:
		return "-"
	case 1:
		return st[0].Path
	}
	return fmt.Sprintf("%s +%d", st[0].Path, len(st)-1)
}

func filesList(p *series.Patch) string {
	var names []string
	for _, st := range p.Diffstat() {
		names = append(names, st.Path)
	}
	return strings.Join(names, ", ")
}

func changesCol(p *series.Patch) string {
	a, d := p.Changes()
	return fmt.Sprintf("+%d/-%d", a, d)
}

var trailerAbbrev = map[string]string{
	"signed-off-by": "SoB", "acked-by": "Ack", "reviewed-by": "Rev", "tested-by": "Test",
	"reported-by": "Rep", "suggested-by": "Sug", "co-developed-by": "Co-dev",
}

func trailersCol(p *series.Patch) string {
	var parts []string
	for _, t := range p.Trailers {
		k := trailerAbbrev[strings.ToLower(t.Key)]
		if k == "" {
			k = t.Key
		}
		name := t.Value
		if i := strings.Index(name, " <"); i > 0 {
			name = name[:i]
		}
		s := k + ": " + name
		if t.FromReply {
			s += " (reply)"
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, "; ")
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
