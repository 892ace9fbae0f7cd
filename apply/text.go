package apply

import (
	"fmt"
	"io"
	"strings"

	"github.com/ktest-dev/ktest/internal/termfmt"
)

// TextContext is what the text report says beyond the Report: how the
// tree was chosen, the series' revisions and missing patches, and what
// --out wrote.
type TextContext struct {
	// TreeHow says how the tree was chosen: "--tree", "the kernel
	// checkout you are in".
	TreeHow string
	// Revisions are the series' lines about its versions.
	Revisions []string
	// Missing names the patches missing from the series, applied
	// without them (--allow-missing); "" when none is.
	Missing string
	// Copy says what a worktree write wrote into: "a git worktree of
	// TREE holding ..."; "" says "a copy of TREE".
	Copy string
}

// WriteText writes the report as `ktest apply` prints it: the tree and
// series, a table of every hunk of res fitted to w's width, the counts,
// the conflicts with the nearest region of their file, and what was
// written.
func (doc *Report) WriteText(w io.Writer, res *Result, c TextContext) error {
	t := &textWriter{width: termfmt.Width(w)}
	t.header(doc, c)
	excerpts, fileConflicts, err := t.hunkTable(res)
	if err != nil {
		return err
	}
	t.summary(doc, excerpts, fileConflicts)
	if doc.OK {
		t.written(doc, c)
	}
	_, err = io.WriteString(w, t.b.String())
	return err
}

// textWriter builds the text report, wrapped to width.
type textWriter struct {
	b     strings.Builder
	width int
}

func (t *textWriter) para(prefix, indent, text string) {
	t.b.WriteString(termfmt.Wrap(text, t.width, prefix, indent) + "\n")
}

func (t *textWriter) field(label, value string) {
	t.para(fmt.Sprintf("%-11s", label+":"), strings.Repeat(" ", 11), value)
}

// header is the tree and what of it was read, which is what the rest is
// about, then the series and how it was applied.
func (t *textWriter) header(doc *Report, c TextContext) {
	// Says what was attempted, not that it worked: the result is below.
	order := "in order"
	if doc.Options.Reverse {
		order = "un-applied, last to first"
	}
	t.field("tree", fmt.Sprintf("%s (%s); read: %s", doc.Tree, c.TreeHow, doc.Read))
	if doc.BaseCommit != "" {
		t.field("base", doc.BaseCommit)
	}
	t.field("series", fmt.Sprintf("%s (v%d, %s)", doc.Series.Title, doc.Series.Version, doc.Series.Source))
	t.field("patches", fmt.Sprintf("%d (%s; fuzz up to %d)", len(doc.Patches), order, doc.Options.MaxFuzz))
	for _, l := range c.Revisions {
		t.para(strings.Repeat(" ", 11)+"- ", strings.Repeat(" ", 13), l)
	}
	if c.Missing != "" {
		t.para("         ! ", "           ", c.Missing+": applied without them, as --allow-missing asks")
	}
	t.b.WriteString("\n")
}

// hunkTable writes a row for every hunk (and every file without one) of
// res, and returns the conflicts' excerpts and the files that conflict
// as a whole, which the summary shows.
func (t *textWriter) hunkTable(res *Result) (excerpts, fileConflicts []string, err error) {
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
	if res != nil {
		for _, p := range res.Patches {
			name := p.Name
			if len(p.Files) == 0 {
				tb.Row(name, "(no diff)")
			}
			for _, f := range p.Files {
				file := fileLabel(f)
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
					if h.Status != StatusConflict {
						at, off, fuzz = fmt.Sprint(h.AppliedAt), fmt.Sprintf("%+d", h.Offset), fmt.Sprint(h.Fuzz)
					} else if h.Conflict != nil {
						excerpts = append(excerpts, t.excerpt(p.Name, h.Conflict))
					}
					tb.Row(name, file, fmt.Sprint(h.Index), h.Status.String(), at, off, fuzz)
					name, file = "", ""
				}
			}
		}
	}
	return excerpts, fileConflicts, tb.Write(&t.b, t.width)
}

// fileLabel is a file's path, with what the diff does to it unless it
// modifies it.
func fileLabel(f FileReport) string {
	switch {
	case f.Op == OpModify:
		return f.Path
	case f.OldPath != "":
		return fmt.Sprintf("%s (%s from %s)", f.Path, f.Op, f.OldPath)
	}
	return fmt.Sprintf("%s (%s)", f.Path, f.Op)
}

// excerpt is a conflict's excerpt under its patch's name. The heading is
// prose and is wrapped; the lines of code below it are shown as they are.
func (t *textWriter) excerpt(patch string, c *Conflict) string {
	heading, code, _ := strings.Cut(c.Excerpt(), "\n")
	return termfmt.Wrap(patch+":", t.width, "", "  ") + "\n" +
		termfmt.Wrap(heading, t.width, "", "  ") + "\n" + code
}

// summary is the counts, what is already in the tree, the conflicts and
// the other errors.
func (t *textWriter) summary(doc *Report, excerpts, fileConflicts []string) {
	t.b.WriteString("\n")
	t.field("hunks", hunkCounts(doc.Counts))
	if doc.Conflicts > 0 {
		t.field("conflicts", fmt.Sprintf("%d%s", doc.Conflicts, doc.conflictParts()))
	}
	switch n := len(doc.InTree); {
	case n > 0 && n == len(doc.Patches):
		t.field("in tree", fmt.Sprintf("all %d patches: every hunk is already in the tree, so applying the series changes nothing", n))
	case n > 0:
		t.field("in tree", fmt.Sprintf("%s (%d of %d patches): every hunk of them is already in the tree", strings.Join(doc.InTree, ", "), n, len(doc.Patches)))
	}

	if len(fileConflicts) > 0 {
		t.b.WriteString("\nfiles that conflict as a whole:\n")
		for _, fc := range fileConflicts {
			t.para("  ", "    ", fc)
		}
	}
	if len(excerpts) > 0 {
		t.b.WriteString("\nconflicts (nearest region of the file against what the hunk expected):\n\n")
		t.b.WriteString(strings.Join(excerpts, "\n"))
	}
	for _, e := range doc.Errors {
		if e.Kind != "conflict" {
			t.b.WriteString("\n")
			t.para(e.Kind+": ", "  ", e.Message)
		}
	}
}

// written says where the series was written, or that it was not, and
// every file it changes.
func (t *textWriter) written(doc *Report, c TextContext) {
	t.b.WriteString("\n")
	verb := "would change"
	switch doc.Written.Mode {
	case "worktree":
		verb = "changed"
		how := c.Copy
		if how == "" {
			how = "a copy of " + doc.Tree
		}
		t.para("", "  ", fmt.Sprintf("wrote %d files into %s, %s", len(doc.Changes), doc.Written.Dir, how))
	case "in-place":
		verb = "changed"
		t.para("", "  ", fmt.Sprintf("wrote %d files into %s in place", len(doc.Changes), doc.Tree))
	default:
		t.para("", "  ", "dry run: nothing written (use --out DIR for a private copy, or --in-place)")
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
		t.para("  ", "    ", fmt.Sprintf("%s %s (%s)", verb, ch.Path, what))
	}
	if len(doc.Changes) == 0 {
		t.b.WriteString("  no file changes: everything was already applied\n")
	}
}

// ConflictCount is the one count of conflicts every part of the output
// uses: "18 conflicts (16 hunks, 2 whole files)".
func (doc *Report) ConflictCount() string {
	return plural(doc.Conflicts, "conflict") + doc.conflictParts()
}

// conflictParts is " (16 hunks, 2 whole files)", or "" when every
// conflict is a hunk.
func (doc *Report) conflictParts() string {
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
	label := map[Status]string{StatusMerged: "merged (3-way)", StatusAlreadyApplied: "already applied"}
	var parts []string
	for _, st := range Statuses {
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
