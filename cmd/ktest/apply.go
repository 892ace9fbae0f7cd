package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/ktest-dev/ktest/apply"
	"github.com/ktest-dev/ktest/internal/termfmt"
	"github.com/ktest-dev/ktest/kbuild"
	"github.com/ktest-dev/ktest/series"
	"github.com/ktest-dev/ktest/worktree"
)

func init() {
	register(&command{
		name: "apply",
		summary: "Apply a patch series to a tree and report every hunk.\n\n" +
			"Each hunk applies exactly, at an offset or with fuzz, is found already applied, or\n" +
			"conflicts. The series is applied in memory first; nothing is written unless every\n" +
			"hunk applies. Without --out or --in-place it is a dry run: it prints what would\n" +
			"change and writes nothing.\n" +
			"  --out DIR   writes into a new private copy of the tree at DIR (a git worktree of\n" +
			"              HEAD when the tree is a git repository, else a copy of every file,\n" +
			"              reflinked where the filesystem can); the copy shares no writable\n" +
			"              file with the tree\n" +
			"  --in-place  writes into the tree itself, all or nothing\n" +
			"On a conflict the nearest region of the file is shown against what the hunk\n" +
			"expected.\n\n" +
			"Exit codes: 0 applied (or would apply), 2 bad input (damaged series, unsafe path,\n" +
			"binary patch), 3 conflict. --json prints the ktest.apply/v1 schema documented in\n" +
			"cmd/ktest/apply.go.",
		usage: "[--tree DIR] [--out DIR | --in-place] [--reverse] [--with-fixups] [--fuzz N] [--json] SERIES",
		examples: []string{
			"ktest apply --tree ~/src/linux thread.mbox      # a dry run: writes nothing",
			"ktest apply --out /tmp/linux-rasync embedded:baseline-6.1   # a patched copy",
			"ktest apply --tree ~/src/linux --in-place --reverse thread.mbox",
		},
		run: func(ctx context.Context, args []string) error { return runApply(ctx, args, resultsStdout, os.Stderr) },
	})
}

type applyFlags struct {
	tree, out          string
	inPlace, reverse   bool
	withFixups, asJSON bool
	fuzz               int
}

func runApply(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := commands["apply"]
	fset := newFlagSet(c)
	fset.SetOutput(stdout)
	var f applyFlags
	fset.StringVar(&f.tree, "tree", "", "apply to the tree in `DIR` (default: the cached Debian linux-source-6.1 tree, extracted on first use)")
	fset.StringVar(&f.out, "out", "", "write the result into a new private copy of the tree at `DIR` (must not exist)")
	fset.BoolVar(&f.inPlace, "in-place", false, "write the result into --tree itself, all or nothing")
	fset.BoolVar(&f.reverse, "reverse", false, "un-apply: invert every hunk and take the patches last to first")
	fset.BoolVar(&f.withFixups, "with-fixups", false, "also apply the incremental diffs posted in review replies, after the series")
	fset.IntVar(&f.fuzz, "fuzz", apply.DefaultMaxFuzz, "a hunk may ignore up to `N` outer context lines at each end (0 = strict)")
	fset.BoolVar(&f.asJSON, "json", false, "print the ktest.apply/v1 JSON document instead of the table")
	pos, err := parseInterspersed(fset, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) != 1:
		return usageErrorf("want exactly one SERIES, got %d arguments", len(pos))
	case f.out != "" && f.inPlace:
		return usageErrorf("--out and --in-place exclude each other")
	case f.inPlace && f.tree == "":
		return usageErrorf("--in-place needs an explicit --tree: the default tree is ktest's shared read-only cache")
	case f.fuzz < 0:
		return usageErrorf("--fuzz must be 0 or more, got %d", f.fuzz)
	}

	tree := f.tree
	if tree == "" {
		cache, err := kbuild.OpenCache("")
		if err != nil {
			return infraFailure(err)
		}
		t, err := kbuild.DefaultTree(ctx, cache, stderr)
		if err != nil {
			return infraFailure(fmt.Errorf("default tree: %w", err))
		}
		tree = t.Dir
	}
	if tree, err = filepath.Abs(tree); err != nil {
		return badInput(err)
	}

	s, err := loadSeries(pos[0])
	if err != nil {
		return err
	}
	if f.tree != "" {
		// Not a kernel tree: say so, rather than report every file of
		// the series missing.
		var nt *kbuild.NotATreeError
		if _, err := kbuild.CheckTree(tree); errors.As(err, &nt) {
			return badInput(err)
		}
	}
	for _, w := range s.Warnings {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	isFixup := map[*series.Patch]bool{}
	for _, p := range s.Fixups {
		isFixup[p] = true
	}
	var (
		patches []apply.Patch
		origins []apply.Origin
	)
	for _, p := range s.ToApply(f.withFixups) {
		id := p.ID().String()
		patches = append(patches, apply.Patch{ID: id, Name: id + " " + p.Subject, Files: p.Files})
		origins = append(origins, apply.Origin{Source: p.Source, Line: p.Line})
	}
	if len(patches) == 0 {
		return badInput(fmt.Errorf("%s: no patches to apply", s.Source))
	}

	// With --out the copy is made first and the series applied to the
	// copy: a git worktree holds HEAD, which may differ from the tree's
	// uncommitted files.
	written := apply.ReportWritten{Mode: "dry-run"}
	target := tree
	var wt *worktree.Tree
	if f.out != "" {
		if wt, err = worktree.New(ctx, tree, f.out); err != nil {
			if errors.Is(err, worktree.ErrExists) || errors.Is(err, worktree.ErrInsideSource) {
				return badInput(fmt.Errorf("--out: %w", err))
			}
			return infraFailure(err)
		}
		target = wt.Dir
		written = apply.ReportWritten{Mode: "worktree", Dir: wt.Dir, GitHead: wt.Head}
	} else if f.inPlace {
		written = apply.ReportWritten{Mode: "in-place", Dir: tree}
	}
	root, err := os.OpenRoot(target)
	if err != nil {
		return infraFailure(err)
	}
	defer root.Close()
	opts := apply.Options{Reverse: f.reverse, MaxFuzz: f.fuzz}
	res, applyErr := apply.ApplySeries(root.FS(), patches, opts)

	if applyErr == nil {
		switch {
		case wt != nil:
			err = wt.Write(res.SortedChanges())
		case f.inPlace:
			err = worktree.WriteInPlace(tree, res.SortedChanges())
		}
		if err != nil {
			applyErr = err
		}
	}
	if applyErr != nil {
		if wt != nil {
			if rerr := wt.Remove(); rerr != nil {
				fmt.Fprintf(stderr, "warning: removing %s: %v\n", wt.Dir, rerr)
			}
		}
		written = apply.ReportWritten{Mode: "none"}
	}

	doc := apply.NewReport(res, applyErr, apply.ReportSeries{Source: s.Source, Title: s.Title, Version: s.Version}, tree,
		apply.ReportOptions{Reverse: opts.Reverse, WithFixups: f.withFixups, MaxFuzz: opts.MaxFuzz}, origins, written)
	if f.asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(doc); err != nil {
			return infraFailure(err)
		}
	} else if err := printApply(stdout, s, doc, res, wt); err != nil {
		return infraFailure(err)
	}
	return applyExit(applyErr, doc)
}

// parseInterspersed lets flags follow SERIES (`ktest apply s.mbox --tree x`).
func parseInterspersed(fset *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parseFlags(fset, args); err != nil {
			return nil, err
		}
		rest := fset.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
}

// applyExit maps the outcome to the exit code: bad input (unsafe path,
// binary patch) wins over conflicts, which are exit 3.
func applyExit(applyErr error, doc *apply.Report) error {
	if applyErr == nil {
		return nil
	}
	var bad, conflicts, other int
	for _, e := range doc.Errors {
		switch e.Kind {
		case "unsafe-path", "unsupported":
			bad++
		case "conflict":
			conflicts++
		default:
			other++
		}
	}
	switch {
	case bad > 0:
		return badInput(fmt.Errorf("%s; nothing written", firstError(doc)))
	case conflicts > 0 && other == 0:
		return infraFailure(fmt.Errorf("series does not apply: %s; nothing written", conflictCount(doc)))
	}
	return infraFailure(fmt.Errorf("%w; nothing written", applyErr))
}

// conflictCount is the one count of conflicts every part of the output
// uses: "18 conflicts (16 hunks, 2 whole files)".
func conflictCount(doc *apply.Report) string {
	return plural(doc.Conflicts, "conflict") + conflictParts(doc)
}

// conflictParts is " (16 hunks, 2 whole files)", or "" when every
// conflict is a hunk.
func conflictParts(doc *apply.Report) string {
	if doc.FileConflicts == 0 {
		return ""
	}
	return fmt.Sprintf(" (%s, %s)", plural(doc.Conflicts-doc.FileConflicts, "hunk"), plural(doc.FileConflicts, "whole file"))
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// firstError is the report's first error, and how many more there are.
func firstError(doc *apply.Report) string {
	switch n := len(doc.Errors); n {
	case 0:
		return "no error"
	case 1:
		return doc.Errors[0].Message
	default:
		return fmt.Sprintf("%s (and %d more errors)", doc.Errors[0].Message, n-1)
	}
}

func printApply(w io.Writer, s *series.Series, doc *apply.Report, res *apply.Result, wt *worktree.Tree) error {
	var b strings.Builder
	// Says what was attempted, not that it worked: the result is below.
	order := "in order"
	if doc.Options.Reverse {
		order = "un-applied, last to first"
	}
	width := termfmt.Width(w)
	para := func(prefix, indent, text string) { b.WriteString(termfmt.Wrap(text, width, prefix, indent) + "\n") }
	field := func(label, value string) { para(fmt.Sprintf("%-9s", label+":"), "         ", value) }
	field("series", fmt.Sprintf("%s (v%d, %s)", s.Title, s.Version, s.Source))
	field("tree", doc.Tree)
	field("patches", fmt.Sprintf("%d (%s; fuzz up to %d)", len(doc.Patches), order, doc.Options.MaxFuzz))
	b.WriteString("\n")

	// Patch names and paths give way first, so the table fits the width.
	tb := termfmt.NewTable(
		termfmt.Column{Header: "PATCH", Shrink: 1, Min: 16},
		termfmt.Column{Header: "FILE", Shrink: 1, Min: 16, ClipStart: true},
		termfmt.Column{Header: "HUNK", Right: true},
		termfmt.Column{Header: "STATUS", Shrink: 2, Min: 15},
		termfmt.Column{Header: "LINE", Right: true},
		termfmt.Column{Header: "OFFSET", Right: true},
		termfmt.Column{Header: "FUZZ", Right: true},
	)
	var excerpts, fileConflicts []string
	if res != nil {
		for _, p := range res.Patches {
			name := p.Name
			if len(p.Files) == 0 {
				tb.Row(name, "(no diff)")
			}
			for _, f := range p.Files {
				file := f.Path
				if f.Op != apply.OpModify {
					file = fmt.Sprintf("%s (%s)", f.Path, f.Op)
					if f.OldPath != "" {
						file = fmt.Sprintf("%s (%s from %s)", f.Path, f.Op, f.OldPath)
					}
				}
				if f.Conflict != nil || len(f.Hunks) == 0 {
					status := f.Status.String()
					if f.Conflict != nil {
						status += ": " + f.Conflict.Reason
						fileConflicts = append(fileConflicts, fmt.Sprintf("%s: %s: %s", p.Name, file, f.Conflict.Reason))
					}
					tb.Row(name, file, "-", status)
					name = ""
				}
				for _, h := range f.Hunks {
					at, off, fuzz := "-", "-", "-"
					if h.Status != apply.StatusConflict {
						at, off, fuzz = fmt.Sprint(h.AppliedAt), fmt.Sprintf("%+d", h.Offset), fmt.Sprint(h.Fuzz)
					} else if h.Conflict != nil {
						// The heading is prose and is wrapped; the lines of
						// code below it are shown as they are.
						heading, code, _ := strings.Cut(h.Conflict.Excerpt(), "\n")
						excerpts = append(excerpts, termfmt.Wrap(p.Name+":", width, "", "  ")+"\n"+
							termfmt.Wrap(heading, width, "", "  ")+"\n"+code)
					}
					tb.Row(name, file, fmt.Sprint(h.Index), h.Status.String(), at, off, fuzz)
					name, file = "", ""
				}
			}
		}
	}
	if err := tb.Write(&b, width); err != nil {
		return err
	}
	c := doc.Counts
	fmt.Fprintf(&b, "\nhunks:     %d exact, %d offset, %d fuzz, %d already applied, %d conflict\n",
		c["exact"], c["offset"], c["fuzz"], c["already-applied"], c["conflict"])
	if doc.Conflicts > 0 {
		fmt.Fprintf(&b, "conflicts: %d%s\n", doc.Conflicts, conflictParts(doc))
	}

	if len(fileConflicts) > 0 {
		b.WriteString("\nfiles that conflict as a whole:\n")
		for _, fc := range fileConflicts {
			para("  ", "    ", fc)
		}
	}
	if len(excerpts) > 0 {
		b.WriteString("\nconflicts (nearest region of the file against what the hunk expected):\n\n")
		b.WriteString(strings.Join(excerpts, "\n"))
	}
	for _, e := range doc.Errors {
		if e.Kind != "conflict" {
			b.WriteString("\n")
			para(e.Kind+": ", "  ", e.Message)
		}
	}

	if doc.OK {
		b.WriteString("\n")
		verb := "would change"
		switch doc.Written.Mode {
		case "worktree":
			verb = "changed"
			how := "a copy of " + doc.Tree
			if wt != nil && wt.Git {
				how = fmt.Sprintf("a git worktree of %s at HEAD %.12s (uncommitted changes of the tree are not in it)", doc.Tree, wt.Head)
			} else if wt != nil {
				how = fmt.Sprintf("a copy of %s (%d files, %s; %d reflinked)", doc.Tree, wt.Copy.Files, humanBytes(wt.Copy.Bytes), wt.Copy.Cloned)
			}
			para("", "  ", fmt.Sprintf("wrote %d files into %s, %s", len(doc.Changes), doc.Written.Dir, how))
		case "in-place":
			verb = "changed"
			para("", "  ", fmt.Sprintf("wrote %d files into %s in place", len(doc.Changes), doc.Tree))
		default:
			para("", "  ", "dry run: nothing written (use --out DIR for a private copy, or --in-place)")
		}
		for _, ch := range doc.Changes {
			what := "modified"
			switch {
			case ch.Deleted:
				what = "deleted"
			case ch.RenamedFrom != "":
				what = "renamed from " + ch.RenamedFrom
			case ch.Created:
				what = "created"
			}
			if !ch.Deleted {
				what += ", mode " + ch.Mode
			}
			para("  ", "    ", fmt.Sprintf("%s %s (%s)", verb, ch.Path, what))
		}
		if len(doc.Changes) == 0 {
			b.WriteString("  no file changes: everything was already applied\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
