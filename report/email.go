package report

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/ktest-dev/ktest/internal/termfmt"
	"github.com/ktest-dev/ktest/results"
)

// EmailWidth is the column limit of the email rendering. Every line
// fits, except the reproduce command, which stays on one line so it can
// be pasted into a shell.
const EmailWidth = 72

// email writes a plain-text reply: no Markdown, fixed-width tables,
// prose wrapped at EmailWidth, ending with the signature line and then
// the reproduce command as the last two lines.
func (rd Renderer) email(w io.Writer, r *results.Run) error {
	var e emailText
	o := rd.outline(r)
	emailAbout(&e, o)
	for _, s := range o.Sections {
		switch s {
		case sectionApply:
			emailApply(&e, o.Patches)
		case sectionKernels:
			emailKernels(&e, o.Kernels)
		case sectionCrashes:
			emailCrashes(&e, o.Crashes)
		case sectionPerPatch:
			emailPerPatch(&e, o.PerPatch)
		case sectionFilesystems:
			// A reply leaves how each filesystem was made (mkfs
			// commands, superblock features) to the md and html
			// pages: too wide for 72 columns.
		case sectionCorrectness:
			emailCorrectness(&e, o.Correctness)
		case sectionBench:
			emailBench(&e, o.Bench)
		}
	}

	e.blank()
	// The trailer stays on one line (a wrapped one is no trailer); the
	// sentence saying why there is none is prose, wrapped.
	if o.Earned {
		e.out = append(e.out, o.Trailer)
	} else {
		e.para(o.Trailer)
	}
	e.out = append(e.out, o.Command)
	_, err := io.WriteString(w, strings.Join(e.out, "\n")+"\n")
	return err
}

// emailAbout writes the title and the lines about the run, the tree,
// run and acceleration in one sentence.
func emailAbout(e *emailText, o outline) {
	e.para("ktest results for " + o.Title)
	if o.Incomplete != "" {
		e.blank()
		e.para("INCOMPLETE: " + o.Incomplete + ". The results below are partial.")
	}
	e.blank()
	if s := o.Series; s != nil {
		line := "Series: " + s.Title
		if s.Version > 0 {
			line += fmt.Sprintf(" (v%d)", s.Version)
		}
		if s.Base != "" {
			line += ", base " + s.Base
		}
		if s.Source != "" {
			line += ", from " + s.Source
		}
		e.para(line)
		for _, w := range s.Warnings {
			e.para("Warning: " + w)
		}
		for _, n := range s.Notes {
			e.para("Note: " + n)
		}
	}
	// Not yet shown here, though markdown shows them: the tree's
	// origin, the plan and the extra kernel arguments.
	e.para(fmt.Sprintf("Tree: %s %s. Run %s, status %s, on %s.",
		o.Tree.Kind, o.Tree.Name, results.OrDefault(o.Run.ID, "?"), o.Run.Status, o.Accel))
	if o.Era != "" {
		e.para("Era: " + o.Era + ".")
	}
}

// emailApply lists every patch's outcome, with the detail of those
// that did not apply cleanly.
func emailApply(e *emailText, patches []patchRow) {
	e.blank()
	e.line("Apply:")
	for _, p := range patches {
		e.hang("  "+padRight(p.Label, 6)+" ", fmt.Sprintf("%s: %s (%s)", p.Subject, p.Status, p.Hunks))
		if p.Detail != "" {
			e.verbatim("         ", p.Detail)
		}
	}
}

// emailKernels says how each variant built and booted.
func emailKernels(e *emailText, kernels []kernelRow) {
	e.blank()
	e.line("Kernels:")
	width := 0
	for _, k := range kernels {
		width = max(width, utf8.RuneCountInString(k.Name))
	}
	for _, k := range kernels {
		e.hang("  "+padRight(k.Name+":", width+2), k.Build+"; "+k.Boot+".")
	}
}

// emailCrashes is every crash the console caught, with its excerpt.
func emailCrashes(e *emailText, crashes []crashRow) {
	for _, c := range crashes {
		e.blank()
		head := fmt.Sprintf("CRASH on %s: %s %s", c.Variant, c.Kind, c.Title)
		if c.During != "" {
			head += " (during " + c.During + ")"
		}
		e.para(head)
		e.verbatim("    ", c.Excerpt)
	}
}

// emailCorrectness is each variant's counts, then its setup failures
// and failing tests, target by target.
func emailCorrectness(e *emailText, variants []testMatrixRows) {
	e.blank()
	e.line("Correctness:")
	for _, v := range variants {
		e.hang("  ", fmt.Sprintf("%s: %s (%d tests x %d targets)", v.Variant, v.Counts, len(v.Tests), len(v.Targets)))
		for _, t := range v.Targets {
			if msg, ok := v.SetupError[t]; ok {
				e.hang("    ", fmt.Sprintf("SETUP FAILED %s/%s: %s", v.Variant, t, msg))
			}
			for _, name := range v.Tests {
				tc, ok := v.Cell[t][name]
				if !ok || !tc.Status.Failing() {
					continue
				}
				e.hang("    ", fmt.Sprintf("%s %s/%s/%s: %s", strings.ToUpper(string(tc.Status)), v.Variant, t, name, termfmt.FirstLine(tc.Message)))
			}
		}
	}
}

// emailColumn is the fixed width of each figure in the email table;
// the label column takes the rest: 14 + 7*8 = 70 <= EmailWidth.
const (
	emailLabel  = 14
	emailColumn = 8
)

// emailBench is each A/B comparison as fixed-width tables.
func emailBench(e *emailText, pairs []benchPair) {
	for _, pair := range pairs {
		tables := pair.Tables
		e.blank()
		intro := fmt.Sprintf("Read benchmark, %s. %s ", pair.Title, pair.workload()) + strings.Replace(pair.figuresText("-"), " with its (min-max) range", "", 1) + " " + strings.ReplaceAll(noiseRule, "–", "-")
		e.para(intro)
		for _, t := range tables {
			e.blank()
			head := padRight(t.Target, emailLabel)
			for _, c := range abColumns {
				head += padLeft(c.Short, emailColumn)
			}
			e.line(strings.TrimRight(head, " "))
			if t.Error != "" {
				e.hang("  ", "setup failed: "+t.Error)
			}
			for _, en := range t.Engines {
				e.line("  " + label(en))
				for _, side := range []struct {
					name  string
					cells []results.ABCell
				}{{t.A, en.A}, {t.B, en.B}} {
					if side.name == "" {
						continue
					}
					row := padRight("    "+termfmt.Clip(side.name, emailLabel-5), emailLabel)
					for i, c := range abColumns {
						v := "-"
						if side.cells[i].OK {
							v = shortFigure(c.Metric, side.cells[i].M)
						}
						row += padLeft(v, emailColumn)
					}
					e.line(row)
				}
				if len(en.Verdicts) > 0 {
					words := make([]string, len(en.Verdicts))
					for i, v := range en.Verdicts {
						words[i] = verdictText(v, true)
					}
					line := t.B + ": " + strings.Join(words, ", ")
					if en.Control {
						line = "drift: " + strings.Join(words, ", ")
					}
					e.hang("    => ", line)
				}
			}
			if n := driftNote(t, true); n != "" {
				e.hang("  note: ", n)
			}
			if n := openNote(t, true); n != "" {
				e.hang("  note: ", n)
			}
			if t.B != "" && t.Called == 0 && len(t.Engines) > 0 {
				e.hang("  note: ", nothingCalled(t))
			}
		}
		e.blank()
		if n := verdictCount(tables); n != "" {
			e.para("Verdicts: " + n)
			e.blank()
		}
		e.para(strings.ReplaceAll(engineLegend, "–", "-"))
	}
}

// emailText accumulates lines no longer than EmailWidth.
type emailText struct{ out []string }

func (e *emailText) blank() {
	if n := len(e.out); n > 0 && e.out[n-1] != "" {
		e.out = append(e.out, "")
	}
}

// line appends s, which the caller built to fit, hard-wrapped if not.
func (e *emailText) line(s string) { e.verbatim("", s) }

// para appends s word-wrapped.
func (e *emailText) para(s string) { e.hang("", s) }

// hang word-wraps s with prefix on the first line and the prefix's
// width of spaces on the others.
func (e *emailText) hang(prefix, s string) {
	indent := strings.Repeat(" ", utf8.RuneCountInString(prefix))
	e.out = append(e.out, wrapWords(strings.Fields(s), prefix, indent, EmailWidth)...)
}

// verbatim appends every line of s with indent, hard-breaking lines
// that would pass EmailWidth (console lines often do) and marking the
// continuation so nothing is silently lost.
func (e *emailText) verbatim(indent, s string) {
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		l = strings.TrimRight(strings.ReplaceAll(l, "\t", "    "), " ")
		first := true
		for {
			prefix := indent
			if !first {
				prefix = indent + "  "
			}
			room := EmailWidth - utf8.RuneCountInString(prefix)
			rs := []rune(l)
			if len(rs) <= room {
				e.out = append(e.out, prefix+l)
				break
			}
			// Break at a space near the end if there is one, so words
			// stay whole; otherwise hard-break.
			cut := room
			for i := room; i > room*2/3; i-- {
				if rs[i] == ' ' {
					cut = i
					break
				}
			}
			e.out = append(e.out, strings.TrimRight(prefix+string(rs[:cut]), " "))
			l, first = strings.TrimLeft(string(rs[cut:]), " "), false
		}
	}
}

// wrapWords fills lines up to width; a word longer than a line is
// split.
func wrapWords(words []string, first, indent string, width int) []string {
	var out []string
	cur := first
	empty := true
	for _, w := range words {
		for utf8.RuneCountInString(w) > width-utf8.RuneCountInString(indent) {
			if !empty {
				out = append(out, cur)
				cur, empty = indent, true
			}
			room := width - utf8.RuneCountInString(cur)
			rs := []rune(w)
			out = append(out, cur+string(rs[:room]))
			cur, w = indent, string(rs[room:])
		}
		switch {
		case empty:
			cur += w
		case utf8.RuneCountInString(cur)+1+utf8.RuneCountInString(w) <= width:
			cur += " " + w
		default:
			out = append(out, cur)
			cur = indent + w
		}
		empty = false
	}
	if !empty {
		out = append(out, cur)
	}
	return out
}

func padRight(s string, n int) string {
	if k := utf8.RuneCountInString(s); k < n {
		return s + strings.Repeat(" ", n-k)
	}
	return s
}

func padLeft(s string, n int) string {
	if k := utf8.RuneCountInString(s); k < n {
		return strings.Repeat(" ", n-k) + s
	}
	return s
}
