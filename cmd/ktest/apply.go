package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/ktest-dev/ktest/apply"
	"github.com/ktest-dev/ktest/gitrepo"
	"github.com/ktest-dev/ktest/internal/termfmt"
	"github.com/ktest-dev/ktest/kbuild"
	"github.com/ktest-dev/ktest/series"
	"github.com/ktest-dev/ktest/worktree"
)

func init() {
	register(&command{
		name: "apply",
		summary: "Apply a patch series to a tree and report every hunk.\n\n" +
			"Each hunk applies exactly, at an offset or with fuzz, merged three-way, is\n" +
			"found already applied, or conflicts. The series is applied in memory first;\n" +
			"nothing is written unless every hunk applies. The tree is --tree, else the\n" +
			"kernel checkout the working directory is in (as git am and b4 shazam), else\n" +
			"ktest's cached Debian 6.1 tree. Its working tree is read: for a git checkout,\n" +
			"HEAD plus what is not committed; the report's first line says which.\n" +
			"Without --out or --in-place it is a dry run: it prints what would change and\n" +
			"writes nothing.\n" +
			"  --out DIR   writes into a new private copy of the tree at DIR (for a git\n" +
			"              checkout a git worktree of HEAD carrying the uncommitted\n" +
			"              changes and untracked files, else a copy of every file,\n" +
			"              reflinked where the filesystem can); the copy shares no\n" +
			"              writable file with the tree\n" +
			"  --in-place  writes into the tree itself, all or nothing\n" +
			"A hunk is applied only where the file leaves no doubt (README, \"What apply\n" +
			"guarantees\"); in a git tree, a file whose hunks do not all apply is merged\n" +
			"three-way from the blob its diff was made against, as git am -3 does. On a\n" +
			"conflict the reason and the places the hunk fits are named, and the nearest\n" +
			"region of the file is shown against what the hunk expected. Of a patch\n" +
			"posted in several versions the newest is applied (--use-version N applies\n" +
			"vN); a series with missing patches (N/M) is refused unless --allow-missing.\n\n" +
			"Exit codes: 0 applied (or would apply, or already applied), 1 conflict (as\n" +
			"git apply and patch), 2 bad input (damaged series, unsafe path, binary\n" +
			"patch), 3 the host failed (a copy, a write). --json prints the\n" +
			"ktest.apply/v1 schema documented in apply/report.go.",
		usage: "[--tree DIR] [--out DIR | --in-place] [--reverse] [--with-fixups] [--use-version N] [--allow-missing] [--no-3way] [--fuzz N] [--json] SERIES",
		examples: []string{
			"ktest apply ../thread.mbox        # in a kernel checkout: a dry run on it",
			"ktest apply --tree ~/src/linux thread.mbox      # the same, from anywhere",
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
	no3way             bool
	fuzz               int
	useVersion         int
	allowMissing       bool
}

func runApply(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := commands["apply"]
	fset := newFlagSet(c)
	fset.SetOutput(stdout)
	var f applyFlags
	fset.StringVar(&f.tree, "tree", "", "apply to the tree in `DIR` (default: the kernel checkout you are in, else the cached Debian linux-source-6.1 tree)")
	fset.StringVar(&f.out, "out", "", "write the result into a new private copy of the tree at `DIR` (must not exist)")
	fset.BoolVar(&f.inPlace, "in-place", false, "write the result into --tree itself, all or nothing")
	fset.BoolVar(&f.reverse, "reverse", false, "un-apply: invert every hunk and take the patches last to first")
	fset.BoolVar(&f.withFixups, "with-fixups", false, "also apply the incremental diffs posted in review replies, after the series")
	fset.IntVar(&f.fuzz, "fuzz", apply.DefaultMaxFuzz, "a hunk may ignore up to `N` outer context lines at each end (0 = strict)")
	fset.BoolVar(&f.asJSON, "json", false, "print the ktest.apply/v1 JSON document instead of the table")
	fset.BoolVar(&f.no3way, "no-3way", false, "never merge three-way, even in a git tree whose repository has the patch's blobs")
	fset.IntVar(&f.useVersion, "use-version", 0, "apply version `N` of the series (b4's -v) instead of the newest the input holds")
	fset.BoolVar(&f.allowMissing, "allow-missing", false, "apply the patches present even when some of the series (N/M) are missing")
	pos, err := parseArgsAnywhere(fset, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) != 1:
		return usageErrorf("want exactly one SERIES, got %d arguments", len(pos))
	case f.out != "" && f.inPlace:
		return usageErrorf("--out and --in-place exclude each other")
	case f.fuzz < 0:
		return usageErrorf("--fuzz must be 0 or more, got %d", f.fuzz)
	}

	if f.inPlace && f.tree == "" {
		if _, ok, _ := checkoutTree(""); !ok {
			return usageErrorf("--in-place needs a tree of yours: --tree DIR, or run it inside a kernel checkout (the default tree is ktest's shared read-only cache)")
		}
	}
	tc, err := applyTree(ctx, f.tree, stderr)
	if err != nil {
		return err
	}
	tree := tc.Dir
	if tree, err = filepath.Abs(tree); err != nil {
		return badInput(err)
	}

	s, err := loadSeries(pos[0], series.Options{Version: f.useVersion})
	if err != nil {
		return err
	}
	if f.tree != "" {
		// Not a kernel tree: say so, rather than report every file of
		// the series missing.
		if _, err := kbuild.CheckTree(tree); kbuild.IsBadSpec(err) {
			return err
		}
	}
	for _, w := range s.Warnings {
		say(stderr, "warning: %s\n", w)
	}
	if err := s.Complete(); err != nil && !f.allowMissing {
		return badInput(err)
	}
	base, err := worktree.ReadBase(ctx, tree)
	if err != nil {
		return infraFailure(fmt.Errorf("reading the state of %s: %w", tree, err))
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
			if errors.Is(err, worktree.ErrExists) || errors.Is(err, worktree.ErrInsideSource) || errors.Is(err, worktree.ErrCannotCarry) {
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
	defer func() { _ = root.Close() }() // read-only: a close error loses nothing
	opts := apply.Options{Reverse: f.reverse, MaxFuzz: f.fuzz}
	repo, isGit := gitrepo.Open(ctx, tree)
	if isGit && !f.no3way {
		opts.Ancestors = repo.Ancestors(ctx)
	}
	res, applyErr := apply.ApplySeries(root.FS(), patches, opts)
	since := baseLine(ctx, s.Base, repo, isGit)

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
				say(stderr, "warning: removing %s: %v\n", wt.Dir, rerr)
			}
		}
		written = apply.ReportWritten{Mode: "none"}
	}

	doc := apply.NewReport(res, applyErr, apply.ReportSeries{Source: s.Source, Title: s.Title, Version: s.Version, BaseCommit: s.Base}, tree,
		apply.ReportOptions{Reverse: opts.Reverse, WithFixups: f.withFixups, MaxFuzz: opts.MaxFuzz, ThreeWay: opts.Ancestors != nil}, origins, written)
	doc.Read, doc.BaseCommit = base.String(), since
	if f.asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(doc); err != nil {
			return infraFailure(err)
		}
	} else if err := printApply(stdout, s, doc, res, wt, tc.How, base); err != nil {
		return infraFailure(err)
	}
	return applyExit(applyErr, doc)
}

// baseLine says where the series' base-commit stands relative to the
// tree: how far HEAD is from it, that the repository lacks it, or that
// the tree is no repository to compare with. "" without a base-commit.
func baseLine(ctx context.Context, commit string, repo *gitrepo.Repo, isGit bool) string {
	switch {
	case commit == "":
		return ""
	case !isGit:
		return fmt.Sprintf("base-commit %.12s: the tree is not a git repository, so it cannot be compared", commit)
	}
	b, err := repo.CompareBase(ctx, commit)
	if err != nil {
		return fmt.Sprintf("base-commit %.12s: cannot compare: %v", commit, err)
	}
	return b.String()
}

// applyExit maps the outcome to the exit code: bad input (unsafe path,
// binary patch) wins over conflicts, which are a finding (exit 1, as
// git apply and patch), and anything else is the host's (exit 3).
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
		return testsFailed(fmt.Errorf("series does not apply: %s; nothing written", conflictCount(doc)))
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

// hunkCounts is "10 exact, 2 offset, 1 conflict": the statuses some hunk
// has, best first.
func hunkCounts(counts map[string]int) string {
	label := map[apply.Status]string{apply.StatusMerged: "merged (3-way)", apply.StatusAlreadyApplied: "already applied"}
	var parts []string
	for _, st := range apply.Statuses {
		if n := counts[st.String()]; n > 0 {
			name := label[st]
			if name == "" {
				name = st.String()
			}
			parts = append(parts, fmt.Sprintf("%d %s", n, name))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
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

func printApply(w io.Writer, s *series.Series, doc *apply.Report, res *apply.Result, wt *worktree.Tree, how string, base worktree.Base) error {
	var b strings.Builder
	// Says what was attempted, not that it worked: the result is below.
	order := "in order"
	if doc.Options.Reverse {
		order = "un-applied, last to first"
	}
	width := termfmt.Width(w)
	para := func(prefix, indent, text string) { b.WriteString(termfmt.Wrap(text, width, prefix, indent) + "\n") }
	field := func(label, value string) { para(fmt.Sprintf("%-11s", label+":"), strings.Repeat(" ", 11), value) }
	// First the tree and what of it was read: that is what the rest is about.
	field("tree", fmt.Sprintf("%s (%s); read: %s", doc.Tree, how, base))
	if doc.BaseCommit != "" {
		field("base", doc.BaseCommit)
	}
	field("series", fmt.Sprintf("%s (v%d, %s)", s.Title, s.Version, s.Source))
	field("patches", fmt.Sprintf("%d (%s; fuzz up to %d)", len(doc.Patches), order, doc.Options.MaxFuzz))
	for _, l := range s.RevisionLines() {
		para(strings.Repeat(" ", 11)+"- ", strings.Repeat(" ", 13), l)
	}
	var missing *series.MissingError
	if errors.As(s.Complete(), &missing) {
		para("         ! ", "           ", missing.What()+": applied without them, as --allow-missing asks")
	}
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
	b.WriteString("\n")
	field("hunks", hunkCounts(c))
	if doc.Conflicts > 0 {
		field("conflicts", fmt.Sprintf("%d%s", doc.Conflicts, conflictParts(doc)))
	}
	switch n := len(doc.InTree); {
	case n > 0 && n == len(doc.Patches):
		field("in tree", fmt.Sprintf("all %d patches: every hunk is already in the tree, so applying the series changes nothing", n))
	case n > 0:
		field("in tree", fmt.Sprintf("%s (%d of %d patches): every hunk of them is already in the tree", strings.Join(doc.InTree, ", "), n, len(doc.Patches)))
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
				how = fmt.Sprintf("a git worktree of %s holding %s", doc.Tree, wt.Carried)
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
