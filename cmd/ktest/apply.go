package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ktest-dev/ktest/apply"
	"github.com/ktest-dev/ktest/gitrepo"
	"github.com/ktest-dev/ktest/kbuild"
	"github.com/ktest-dev/ktest/series"
	"github.com/ktest-dev/ktest/worktree"
)

func applyCommand() *command {
	return &command{
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
		run: runApply,
	}
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

func runApply(ctx context.Context, e env, args []string) error {
	stdout, stderr := e.Stdout, e.Stderr
	c := commands["apply"]
	fset := newFlagSet(c, e.Stdout)
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
	} else if err := doc.WriteText(stdout, res, applyText(s, tree, tc.How, wt)); err != nil {
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
		return testsFailed(fmt.Errorf("series does not apply: %s; nothing written", doc.ConflictCount()))
	}
	return infraFailure(fmt.Errorf("%w; nothing written", applyErr))
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

// applyText is what the text report says beyond the Report: how the
// tree was chosen, the series' revisions and missing patches, and what
// --out wrote.
func applyText(s *series.Series, tree, how string, wt *worktree.Tree) apply.TextContext {
	c := apply.TextContext{TreeHow: how, Revisions: s.RevisionLines()}
	var missing *series.MissingError
	if errors.As(s.Complete(), &missing) {
		c.Missing = missing.What()
	}
	switch {
	case wt != nil && wt.Git:
		c.Copy = fmt.Sprintf("a git worktree of %s holding %s", tree, wt.Carried)
	case wt != nil:
		c.Copy = fmt.Sprintf("a copy of %s (%d files, %s; %d reflinked)", tree, wt.Copy.Files, humanBytes(wt.Copy.Bytes), wt.Copy.Cloned)
	}
	return c
}
