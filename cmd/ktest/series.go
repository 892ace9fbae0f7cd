package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/ktest-dev/ktest/pipeline"
	"github.com/ktest-dev/ktest/series"
)

func init() {
	register(&command{
		name: "series",
		summary: "inspect a patch series (show, split)\n\n" +
			"  show   lists its cover letter, patches, review fixups, later revisions and warnings\n" +
			"  split  writes it as format-patch files (0000-cover-letter.patch, 0001-...)\n\n" +
			"SERIES is an mbox, a lore thread dump, a mail, a diff, a directory of .patch files or - for stdin.\n" +
			"Damaged input (stripped whitespace, flattened newlines, truncation, CRLF, ...) exits 2 naming file:line.",
		usage: "show [--json] [--with-fixups] SERIES | split [--force] SERIES DIR",
		run:   runSeries,
	})
}

func runSeries(ctx context.Context, args []string) error {
	c := commands["series"]
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		fmt.Fprintf(os.Stderr, "usage: ktest series %s\n\n%s\n", c.usage, c.summary)
		if len(args) == 0 {
			return usageErrorf("missing subcommand (show or split)")
		}
		return errHelp
	}
	switch args[0] {
	case "show":
		return seriesShow(args[1:], os.Stdout)
	case "split":
		return seriesSplit(args[1:], os.Stdout)
	}
	return usageErrorf("unknown subcommand %q (want show or split)", args[0])
}

// loadSeries maps damaged input to exit 2; a file that cannot be read is
// the user's input too.
func loadSeries(path string) (*series.Series, error) {
	var s *series.Series
	var err error
	if strings.HasPrefix(path, "embedded:") {
		// A series shipped inside ktest (patches/): read it from a
		// scratch copy, which can go once it is parsed.
		scratch, terr := os.MkdirTemp("", "ktest-series-")
		if terr != nil {
			return nil, infraFailure(terr)
		}
		defer os.RemoveAll(scratch)
		if s, err = pipeline.LoadSource(path, scratch); err == nil {
			s.Source = path
		}
	} else {
		s, err = series.Load(path)
	}
	if err != nil {
		var de *series.DamageError
		if errors.As(err, &de) || errors.Is(err, os.ErrNotExist) || errors.Is(err, os.ErrPermission) {
			return nil, badInput(err)
		}
		return nil, infraFailure(err)
	}
	return s, nil
}

func seriesShow(args []string, out io.Writer) error {
	fs := newFlagSet(&command{name: "series show", summary: "List the patches of a series, its fixups, revisions and warnings.",
		usage: "[--json] [--with-fixups] SERIES"})
	asJSON := fs.Bool("json", false, "print the ktest.series/v1 JSON schema (documented in package series)")
	withFixups := fs.Bool("with-fixups", false, "count the fixup diffs from review replies as applied, after the series")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageErrorf("series show: want exactly one SERIES, got %d arguments", fs.NArg())
	}
	s, err := loadSeries(fs.Arg(0))
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

func printSeries(out io.Writer, s *series.Series, withFixups bool) error {
	var b strings.Builder
	fmt.Fprintf(&b, "series:   %s\n", s.Title)
	fmt.Fprintf(&b, "version:  v%d\n", s.Version)
	fmt.Fprintf(&b, "source:   %s (%s)\n", s.Source, s.Format)
	switch {
	case s.Base != "":
		fmt.Fprintf(&b, "base:     %s\n", s.Base)
	default:
		fmt.Fprintf(&b, "base:     not stated by the series\n")
	}
	if s.Tree != "" {
		fmt.Fprintf(&b, "tree:     %s (the cover letter's pull address)\n", s.Tree)
	}
	if c := s.Cover; c != nil {
		fmt.Fprintf(&b, "cover:    %s, %s, %s:%d\n", c.Author, dateOf(c), c.Source, c.Line)
	}
	b.WriteString("\n")
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "N/M\tSUBJECT\tAUTHOR\tFILES\t+/-\tTRAILERS")
	rows := s.Patches
	for _, p := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", p.ID(), clipText(p.Subject, 60), p.AuthorName(),
			filesCol(p), changesCol(p), trailersCol(p))
	}
	if withFixups {
		for _, p := range s.Fixups {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", series.FixupID(p), clipText("fixup of "+ofPatch(p)+": "+p.Subject, 60),
				p.AuthorName(), filesCol(p), changesCol(p), trailersCol(p))
		}
	}
	tw.Flush()

	if len(s.Fixups) > 0 {
		state := "not applied; --with-fixups applies them after the series"
		if withFixups {
			state = "applied after the series, in this order"
		}
		fmt.Fprintf(&b, "\nfixups from review replies (%s):\n", state)
		for _, p := range s.Fixups {
			fmt.Fprintf(&b, "  %s  fixup of %s by %s, %s (%s:%d)\n", series.FixupID(p), ofPatch(p), p.AuthorName(), dateOf(p), p.Source, p.Line)
			fmt.Fprintf(&b, "      %s %s\n", filesList(p), changesCol(p))
			if p.Note != "" {
				fmt.Fprintf(&b, "      %q\n", p.Note)
			}
		}
	}
	if len(s.Revisions) > 0 {
		fmt.Fprintf(&b, "\nlater revisions (not applied):\n")
		for _, p := range s.Revisions {
			fmt.Fprintf(&b, "  %s  v%d of %s %q by %s, %s (%s:%d) %s\n", series.RevisionID(p), p.Version, p.ID(),
				p.Subject, p.AuthorName(), dateOf(p), p.Source, p.Line, changesCol(p))
		}
	}
	if len(s.Notes) > 0 {
		fmt.Fprintf(&b, "\nnotes:\n")
		for _, n := range s.Notes {
			fmt.Fprintf(&b, "  - %s\n", n)
		}
	}
	if len(s.Warnings) > 0 {
		fmt.Fprintf(&b, "\nwarnings:\n")
		for _, w := range s.Warnings {
			fmt.Fprintf(&b, "  ! %s\n", w)
		}
	}
	_, err := io.WriteString(out, b.String())
	return err
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

func clipText(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

func seriesSplit(args []string, out io.Writer) error {
	fs := newFlagSet(&command{name: "series split", summary: "Write the cover letter and patches of a series as format-patch files\n" +
		"(0000-cover-letter.patch, 0001-....patch) that `ktest series show DIR` reads back. Fixups and revisions are not written.",
		usage: "[--force] SERIES DIR"})
	force := fs.Bool("force", false, "remove other .patch files already in DIR instead of refusing")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return usageErrorf("series split: want SERIES and DIR, got %d arguments", fs.NArg())
	}
	s, err := loadSeries(fs.Arg(0))
	if err != nil {
		return err
	}
	paths, err := series.WriteDir(s, fs.Arg(1), *force)
	if err != nil {
		return badInput(err)
	}
	for _, p := range paths {
		fmt.Fprintln(out, p)
	}
	if n := len(s.Fixups) + len(s.Revisions); n > 0 {
		fmt.Fprintf(os.Stderr, "ktest series split: %d fixup(s) and %d revision(s) from the thread were not written\n", len(s.Fixups), len(s.Revisions))
	}
	return nil
}
