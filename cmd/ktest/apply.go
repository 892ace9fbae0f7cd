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
	"github.com/ktest-dev/ktest/internal/termfmt"
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
	f, src, err := parseApplyFlags(e, args)
	if err != nil {
		return err
	}
	tc, tree, err := f.resolveTree(ctx, e)
	if err != nil {
		return err
	}
	s, err := f.readSeries(e, src, tree)
	if err != nil {
		return err
	}
	base, err := worktree.ReadBase(ctx, tree)
	if err != nil {
		return fmt.Errorf("reading the state of %s: %w", tree, err)
	}
	patches, origins := seriesPatches(s, f.withFixups)
	if len(patches) == 0 {
		return badInput(fmt.Errorf("%s: no patches to apply", s.Source))
	}
	out, err := f.applyTo(ctx, e, tree, s.Base, patches)
	if err != nil {
		return err
	}
	defer out.close()

	doc := apply.NewReport(out.res, out.err, apply.ReportSeries{Source: s.Source, Title: s.Title, Version: s.Version, BaseCommit: s.Base}, tree,
		apply.ReportOptions{Reverse: out.opts.Reverse, WithFixups: f.withFixups, MaxFuzz: out.opts.MaxFuzz, ThreeWay: out.opts.Ancestors != nil}, origins, out.written)
	doc.Read, doc.BaseCommit = base.String(), out.since
	if f.asJSON {
		enc := json.NewEncoder(e.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(doc); err != nil {
			return err
		}
	} else if err := doc.WriteText(e.Stdout, out.res, applyText(s, tree, tc.How, out.wt)); err != nil {
		return err
	}
	return applyExit(out.err, doc)
}

// parseApplyFlags parses apply's flags and its one SERIES.
func parseApplyFlags(e env, args []string) (*applyFlags, string, error) {
	fset := newFlagSet(commands["apply"], e.Stdout)
	var f applyFlags
	fset.StringVar(&f.tree, "tree", "", "apply to the tree in `DIR`, or debian:X for Debian's linux-source-X (default: the kernel checkout you are in, else the cached Debian linux-source-6.1 tree)")
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
		return nil, "", err
	}
	switch {
	case len(pos) != 1:
		return nil, "", usageErrorf("want exactly one SERIES, got %d arguments", len(pos))
	case f.out != "" && f.inPlace:
		return nil, "", usageErrorf("--out and --in-place exclude each other")
	case f.fuzz < 0:
		return nil, "", usageErrorf("--fuzz must be 0 or more, got %d", f.fuzz)
	}
	return &f, pos[0], nil
}

// resolveTree is the tree to apply to, and its absolute path.
func (f *applyFlags) resolveTree(ctx context.Context, e env) (treeChoice, string, error) {
	if f.inPlace && f.tree == "" {
		if _, ok, _ := checkoutTree(""); !ok {
			return treeChoice{}, "", usageErrorf("--in-place needs a tree of yours: --tree DIR, or run it inside a kernel checkout (the default tree is ktest's shared read-only cache)")
		}
	}
	tc, err := applyTree(ctx, f.tree, e.Stderr)
	if err != nil {
		return treeChoice{}, "", err
	}
	if f.inPlace && !tc.Mine {
		return treeChoice{}, "", usageErrorf("--in-place needs a tree of yours: %s is ktest's shared read-only cache (--out DIR writes a copy)", f.tree)
	}
	tree, err := filepath.Abs(tc.Dir)
	if err != nil {
		return treeChoice{}, "", badInput(err)
	}
	return tc, tree, nil
}

// readSeries reads the series from src, refusing a --tree that is no
// kernel tree and, unless --allow-missing, a series with patches missing.
func (f *applyFlags) readSeries(e env, src, tree string) (*series.Series, error) {
	s, err := loadSeries(src, series.Options{Version: f.useVersion})
	if err != nil {
		return nil, err
	}
	if f.tree != "" {
		// Not a kernel tree: say so, rather than report every file of
		// the series missing.
		if _, err := kbuild.CheckTree(tree); kbuild.IsBadSpec(err) {
			return nil, err
		}
	}
	for _, w := range s.Warnings {
		say(e.Stderr, "warning: %s\n", w)
	}
	if err := s.Complete(); err != nil && !f.allowMissing {
		return nil, badInput(err)
	}
	return s, nil
}

// seriesPatches are the patches to apply, with where each came from.
func seriesPatches(s *series.Series, withFixups bool) ([]apply.Patch, []apply.Origin) {
	var (
		patches []apply.Patch
		origins []apply.Origin
	)
	for _, p := range s.ToApply(withFixups) {
		id := p.ID().String()
		patches = append(patches, apply.Patch{ID: id, Name: id + " " + p.Subject, Files: p.Files})
		origins = append(origins, apply.Origin{Source: p.Source, Line: p.Line})
	}
	return patches, origins
}

// applied is the outcome of applying a series: its result and error,
// how and where it was applied, and what was written.
type applied struct {
	res     *apply.Result
	err     error
	opts    apply.Options
	since   string // where the series' base-commit stands (baseLine)
	wt      *worktree.Tree
	written apply.ReportWritten
	root    *os.Root
}

func (a *applied) close() { _ = a.root.Close() } // read-only: a close error loses nothing

// applyTo applies patches to the tree, or to the new copy --out makes,
// and writes the result where --out or --in-place asks, all or nothing.
// Its error is the host's failing to set up; the apply's own is a.err.
func (f *applyFlags) applyTo(ctx context.Context, e env, tree, baseCommit string, patches []apply.Patch) (*applied, error) {
	// With --out the copy is made first and the series applied to the
	// copy: a git worktree holds HEAD, which may differ from the tree's
	// uncommitted files.
	a := &applied{written: apply.ReportWritten{Mode: "dry-run"}}
	target := tree
	var err error
	if f.out != "" {
		if a.wt, err = worktree.New(ctx, tree, f.out); err != nil {
			if errors.Is(err, worktree.ErrExists) || errors.Is(err, worktree.ErrInsideSource) || errors.Is(err, worktree.ErrCannotCarry) {
				return nil, badInput(fmt.Errorf("--out: %w", err))
			}
			return nil, err
		}
		target = a.wt.Dir
		a.written = apply.ReportWritten{Mode: "worktree", Dir: a.wt.Dir, GitHead: a.wt.Head}
	} else if f.inPlace {
		a.written = apply.ReportWritten{Mode: "in-place", Dir: tree}
	}
	if a.root, err = os.OpenRoot(target); err != nil {
		return nil, err
	}
	a.opts = apply.Options{Reverse: f.reverse, MaxFuzz: f.fuzz}
	repo, isGit := gitrepo.Open(ctx, tree)
	if isGit && !f.no3way {
		a.opts.Ancestors = repo.Ancestors(ctx)
	}
	a.res, a.err = apply.ApplySeries(a.root.FS(), patches, a.opts)
	a.since = baseLine(ctx, baseCommit, repo, isGit)
	if a.err == nil {
		switch {
		case a.wt != nil:
			a.err = a.wt.Write(a.res.SortedChanges())
		case f.inPlace:
			a.err = worktree.WriteInPlace(tree, a.res.SortedChanges())
		}
	}
	if a.err != nil {
		if a.wt != nil {
			if rerr := a.wt.Remove(); rerr != nil {
				say(e.Stderr, "warning: removing %s: %v\n", a.wt.Dir, rerr)
			}
		}
		a.written = apply.ReportWritten{Mode: "none"}
	}
	return a, nil
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
		c.Copy = fmt.Sprintf("a copy of %s (%d files, %s; %d reflinked)", tree, wt.Copy.Files, termfmt.Bytes(wt.Copy.Bytes), wt.Copy.Cloned)
	}
	return c
}
