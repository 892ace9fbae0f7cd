package series

import (
	"fmt"
	"io"
	"strings"

	"github.com/ktest-dev/ktest/internal/termfmt"
)

// WriteText writes what `ktest series show` prints, fitted to width
// columns: fields and notes are wrapped, table cells clipped (the JSON
// of Summarize has the full text).
func (s *Series) WriteText(out io.Writer, width int, withFixups bool) error {
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
func versionField(s *Series) string {
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

func ofPatch(p *Patch) string {
	if p.RevisionOf == 0 {
		return "the cover letter"
	}
	return fmt.Sprintf("patch %d", p.RevisionOf)
}

func dateOf(p *Patch) string {
	if p.Date.IsZero() {
		return "date unknown"
	}
	return p.Date.UTC().Format("2006-01-02 15:04 UTC")
}

func filesCol(p *Patch) string {
	st := p.Diffstat()
	switch len(st) {
	case 0:
		return "-"
	case 1:
		return st[0].Path
	}
	return fmt.Sprintf("%s +%d", st[0].Path, len(st)-1)
}

func filesList(p *Patch) string {
	var names []string
	for _, st := range p.Diffstat() {
		names = append(names, st.Path)
	}
	return strings.Join(names, ", ")
}

func changesCol(p *Patch) string {
	a, d := p.Changes()
	return fmt.Sprintf("+%d/-%d", a, d)
}

var trailerAbbrev = map[string]string{
	"signed-off-by": "SoB", "acked-by": "Ack", "reviewed-by": "Rev", "tested-by": "Test",
	"reported-by": "Rep", "suggested-by": "Sug", "co-developed-by": "Co-dev",
}

func trailersCol(p *Patch) string {
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
