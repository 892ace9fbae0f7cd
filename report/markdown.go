package report

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/ktest-dev/ktest/internal/termfmt"
	"github.com/ktest-dev/ktest/results"
)

// markdown writes the review summary a reviewer pastes into a reply.
func (rd Renderer) markdown(w io.Writer, r *results.Run) error {
	p := &printer{w: w}
	o := rd.outline(r)
	mdAbout(p, o)
	for _, s := range o.Sections {
		switch s {
		case sectionApply:
			mdApply(p, o.Patches)
		case sectionKernels:
			mdKernels(p, o.Kernels)
		case sectionCrashes:
			mdCrashes(p, o.Crashes)
		case sectionPerPatch:
			mdPerPatch(p, o.PerPatch)
		case sectionFilesystems:
			mdFilesystems(p, o.Filesystems)
		case sectionCorrectness:
			mdCorrectness(p, o.Correctness)
		case sectionBench:
			mdBench(p, o.Bench)
		}
	}
	p.f("%s\n\nReproduce:\n", o.Trailer)
	p.fence(o.Command)
	return p.err
}

// mdAbout writes the title and the labelled lines about the run.
func mdAbout(p *printer, o outline) {
	p.f("# ktest: %s\n\n", mdText(o.Title))
	if o.Incomplete != "" {
		p.f("> **INCOMPLETE: %s** — the results below are partial.\n\n", mdText(o.Incomplete))
	}
	if s := o.Series; s != nil {
		line := "**Series:** " + mdText(s.Title)
		if s.Version > 0 {
			line += fmt.Sprintf(" (v%d)", s.Version)
		}
		if s.Base != "" {
			line += ", base " + mdCode(s.Base)
		}
		if s.Source != "" {
			line += ", from " + mdCode(s.Source)
		}
		p.f("%s  \n", line)
		for _, w := range s.Warnings {
			p.f("**Warning:** %s  \n", mdText(w))
		}
		for _, n := range s.Notes {
			p.f("**Note:** %s  \n", mdText(n))
		}
	}
	p.f("**Tree:** %s %s", mdText(o.Tree.Kind), mdText(o.Tree.Name))
	if o.Tree.Origin != "" {
		p.f(" from %s", mdCode(o.Tree.Origin))
	}
	p.f("  \n")
	if o.Era != "" {
		p.f("**Era:** %s  \n", mdText(o.Era))
	}
	p.f("**Run:** %s, status **%s**, plan %s  \n", mdCode(o.Run.ID), mdText(o.Run.Status), mdText(o.Run.Plan))
	if len(o.KernelArgs) > 0 {
		p.f("**Extra kernel arguments:** %s  \n", mdCode(strings.Join(o.KernelArgs, " ")))
	}
	p.f("**Acceleration:** %s\n\n", mdText(o.Accel))
}

// mdApply is the per-patch apply table, checkpatch's findings and
// the detail of every patch that did not apply cleanly.
func mdApply(p *printer, patches []patchRow) {
	p.f("## Apply\n\n| # | patch | status | hunks | checkpatch |\n|---|---|---|---|---|\n")
	for _, pt := range patches {
		st := pt.Status
		if pt.Conflict {
			st = "**" + st + "**"
		}
		p.f("| %s | %s | %s | %s | %s |\n", pt.Label, mdCell(pt.Subject), st, pt.Hunks, mdCell(pt.Checkpatch))
	}
	for _, pt := range patches {
		if len(pt.Findings) > 0 {
			p.f("\n<details><summary>%s checkpatch: %s</summary>\n\n", pt.Label, mdText(pt.Checkpatch))
			p.fence(strings.Join(pt.Findings, "\n"))
			p.f("\n</details>\n")
		}
	}
	for _, pt := range patches {
		if pt.Detail != "" {
			p.f("\n%s %s:\n", pt.Label, mdText(pt.Subject))
			p.fence(pt.Detail)
		}
	}
	p.f("\n")
}

// mdKernels is one row per variant: its kernel, build and boot.
func mdKernels(p *printer, kernels []kernelRow) {
	p.f("## Kernels\n\n| variant | kernel | build | boot |\n|---|---|---|---|\n")
	for _, k := range kernels {
		p.f("| %s | %s | %s | %s |\n", mdCell(k.Name), mdCell(k.Desc), k.Build, k.Boot)
	}
	p.f("\n")
}

// mdCrashes is every crash the console caught, with its excerpt.
func mdCrashes(p *printer, crashes []crashRow) {
	p.f("## Crashes (%d)\n\n", len(crashes))
	for _, c := range crashes {
		p.f("**%s: %s** %s", mdText(c.Variant), mdText(c.Kind), mdText(c.Title))
		if c.During != "" {
			p.f(" (during %s)", mdText(c.During))
		}
		p.f("\n")
		p.fence(c.Excerpt)
		p.f("\n")
	}
}

// mdFilesystems says how each target's filesystem was made: the feature
// profile chosen for the kernel and the exact mkfs command. Variants
// that made a target the same way share a row.
func mdFilesystems(p *printer, rows []fsRow) {
	p.f("## Filesystems\n\nMade with the feature profile of the kernel under test; the features are read back from the superblock.\n\n")
	p.f("| target | variants | profile | mkfs | features |\n|---|---|---|---|---|\n")
	for _, x := range rows {
		p.f("| %s | %s | %s | %s | %s |\n", mdCell(x.Target), mdCell(x.Variants), mdCell(x.Profile), mdCode(x.Command), mdCell(x.Features))
	}
	p.f("\n")
}

// mdCorrectness is each variant's test matrix, then the failures and
// the blocked tasks of every hung test.
func mdCorrectness(p *printer, variants []testMatrixRows) {
	p.f("## Correctness\n\n")
	var failures []string
	type evidence struct{ id, text string }
	var blocked []evidence
	for _, v := range variants {
		p.f("**%s**: %s\n\n", mdText(v.Variant), v.Counts)
		p.f("| test |")
		for _, t := range v.Targets {
			p.f(" %s |", mdCell(t))
		}
		p.f("\n|---|%s\n", strings.Repeat(":-:|", len(v.Targets)))
		for _, name := range v.Tests {
			p.f("| %s |", mdCell(name))
			for _, t := range v.Targets {
				tc, ok := v.Cell[t][name]
				p.f(" %s |", statusMark(tc.Status, ok))
				if ok && tc.Status.Failing() {
					failures = append(failures, fmt.Sprintf("- %s/%s/%s: **%s** %s", mdText(v.Variant), mdText(t), mdText(name), tc.Status, mdText(termfmt.FirstLine(tc.Message))))
				}
				if ok && tc.Evidence != "" {
					blocked = append(blocked, evidence{v.Variant + "/" + t + "/" + name, tc.Evidence})
				}
			}
			p.f("\n")
		}
		for _, t := range v.Targets {
			if msg, ok := v.SetupError[t]; ok {
				failures = append(failures, fmt.Sprintf("- %s/%s: **setup failed** %s", mdText(v.Variant), mdText(t), mdText(msg)))
			}
		}
		p.f("\n")
	}
	if len(failures) > 0 {
		p.f("Failures:\n\n%s\n\n", strings.Join(failures, "\n"))
	}
	for _, b := range blocked {
		p.f("Blocked tasks when %s hung (sysrq w):\n\n", mdText(b.id))
		p.fence(b.text)
		p.f("\n")
	}
}

// statusMark is the correctness table's cell for a test status.
func statusMark(status results.TestStatus, ok bool) string {
	switch {
	case !ok:
		return "·"
	case status == results.TestPass:
		return "✓"
	case status == results.TestFail:
		return "✗"
	case status == results.TestHung:
		return "**hung**"
	case status == results.TestSkip:
		return "skip"
	case status == results.TestNotRun:
		return "not run"
	}
	return string(status)
}

// mdBench is each A/B comparison's tables, verdicts and notes.
func mdBench(p *printer, pairs []benchPair) {
	for _, pair := range pairs {
		tables := pair.Tables
		p.f("## Read benchmark: %s\n\n", mdText(pair.Title))
		p.f("%s %s %s\n\n", mdText(pair.workload()), pair.figuresText("–"), noiseRule)
		for _, t := range tables {
			p.f("### %s\n\n", mdText(t.Target))
			if t.Error != "" {
				p.f("Setup failed: %s\n\n", mdText(t.Error))
			}
			if len(t.Engines) == 0 {
				continue
			}
			p.f("| engine | kernel |")
			for _, c := range abColumns {
				p.f(" %s |", c.Title)
			}
			p.f("\n|---|---|%s\n", strings.Repeat("--:|", len(abColumns)))
			var summary []string
			for _, e := range t.Engines {
				p.f("| %s | %s |", label(e), mdCell(t.A))
				for i, c := range abColumns {
					p.f(" %s |", cellText(c, e.A[i]))
				}
				p.f("\n")
				if t.B != "" {
					p.f("|  | %s |", mdCell(t.B))
					for i, c := range abColumns {
						p.f(" %s |", cellText(c, e.B[i]))
					}
					p.f("\n")
				}
				if len(e.Verdicts) == 0 {
					continue
				}
				p.f("|  | *change* |")
				var words []string
				for _, v := range e.ByColumn {
					if v == nil {
						p.f("  |")
						continue
					}
					w := verdictText(*v, false)
					p.f(" **%s** |", w)
					words = append(words, w)
				}
				p.f("\n")
				if e.Control {
					continue // drift, told by driftNote
				}
				summary = append(summary, engineLabel(e.Engine)+": "+strings.Join(words, ", "))
			}
			p.f("\n")
			if t.B == "" {
				continue
			}
			if len(summary) > 0 {
				p.f("**%s on %s:** %s.\n\n", mdText(t.B), mdText(t.Target), strings.Join(summary, "; "))
			} else {
				p.f("%s\n\n", mdText(nothingCalled(t)))
			}
			if n := driftNote(t, false); n != "" {
				p.f("*%s*\n\n", mdText(n))
			}
			if n := openNote(t, false); n != "" {
				p.f("*%s*\n\n", mdText(n))
			}
		}
		if n := verdictCount(tables); n != "" {
			p.f("**Verdicts:** %s\n\n", mdText(n))
		}
		p.f("*%s*\n\n", engineLegend)
	}
}

// maxRepeats is the most samples any figure in tables has.
func maxRepeats(tables []results.ABTarget) int {
	n := 0
	for _, t := range tables {
		n = max(n, t.Repeats)
	}
	return n
}

// figuresText says what a figure is: "the median of 3 boots with its
// (min–max) range", naming each target's count, and each engine's that
// differs from it, when they differ, or for one boot that there is no
// spread. It says why counts differ only as far as the plan's boots
// (p.Boots) show it: more than them are adaptive boots, fewer are runs
// that failed.
func (p benchPair) figuresText(dash string) string {
	tables := p.Tables
	n := maxRepeats(tables)
	if n <= 1 {
		return "Each figure is a single boot's, with no spread."
	}
	least := n
	var counts []string
	for _, t := range tables {
		if t.Repeats == 0 {
			continue
		}
		least = min(least, t.Repeats)
		count := fmt.Sprintf("%s %d", t.Target, t.Repeats)
		var fewer []string
		for _, e := range t.Engines {
			if e.Repeats > 0 {
				least = min(least, e.Repeats)
			}
			if e.Repeats > 0 && e.Repeats < t.Repeats {
				fewer = append(fewer, fmt.Sprintf("%s %d", e.Engine, e.Repeats))
			}
		}
		if len(fewer) > 0 {
			count += " (" + strings.Join(fewer, ", ") + ")"
		}
		counts = append(counts, count)
	}
	if least == n {
		return fmt.Sprintf("Each figure is the median of %d boots with its (min%smax) range.", n, dash)
	}
	s := fmt.Sprintf("Each figure is the median of %d to %d boots with its (min%smax) range: %s",
		least, n, dash, strings.Join(counts, ", "))
	var why []string
	if p.Boots > 0 && n > p.Boots {
		why = append(why, p.adaptiveText())
	}
	if p.Boots > 0 && least < p.Boots {
		why = append(why, fmt.Sprintf("fewer than the plan's %d boots are runs that failed", p.Boots))
	}
	if len(why) > 0 {
		s += " (" + strings.Join(why, "; ") + ")"
	}
	return s + "."
}

// adaptiveText says which boots were adaptive and which metrics earn
// them: every metric (runs that predate the choice, or a plan that names
// them all) or the plan's adaptive metrics.
func (p benchPair) adaptiveText() string {
	const runs = "and they run only the engines with such a metric and the control"
	if len(p.Adaptive) == 0 || !slices.ContainsFunc(results.ComparedMetrics(), func(m string) bool { return !slices.Contains(p.Adaptive, m) }) {
		return "a target gets more boots while a metric of it is undecided, " + runs
	}
	var nouns []string
	for _, m := range p.Adaptive {
		if n := adaptiveNoun(m); !slices.Contains(nouns, n) {
			nouns = append(nouns, n)
		}
	}
	return fmt.Sprintf("a target gets more boots while its %s is undecided, %s; the other metrics are judged on the boots there are",
		orList(nouns), runs)
}

// adaptiveNoun names an adaptive metric in adaptiveText's sentence.
func adaptiveNoun(metric string) string {
	switch metric {
	case results.MetricWallMS:
		return "wall time (real)" // "its real" does not read
	case results.MetricLatP50US:
		return "p50 latency"
	case results.MetricUserCPU:
		return "user CPU"
	}
	return columnOf(metric).Noun
}

// orList joins words as "a", "a or b", "a, b or c".
func orList(words []string) string {
	if len(words) <= 1 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

func cellText(c column, cell results.ABCell) string {
	if !cell.OK {
		return "—"
	}
	return figure(c.Metric, cell.M, "–")
}

// printer writes formatted text and keeps the first error.
type printer struct {
	w   io.Writer
	err error
}

func (p *printer) f(format string, args ...any) {
	if p.err != nil {
		return
	}
	_, p.err = fmt.Fprintf(p.w, format, args...)
}

// fence writes text in a fenced code block whose fence is longer than
// any backtick run inside the text, so excerpts cannot break out.
func (p *printer) fence(text string) {
	longest, run := 0, 0
	for _, c := range text {
		if c == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	f := strings.Repeat("`", max(3, longest+1))
	p.f("%s\n%s\n%s\n", f, strings.TrimRight(text, "\n"), f)
}

// mdText makes a one-line string safe for Markdown prose and table
// cells: newlines become spaces, and the characters that would start
// emphasis, code, raw HTML or a cell break are backslash-escaped. '_'
// and '[' are left alone: intraword underscores ("io_uring") and
// brackets without a link target render literally, and the text stays
// readable when pasted as plain text.
func mdText(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	var b strings.Builder
	for _, c := range s {
		if strings.ContainsRune("\\`*<|", c) {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// mdCell is mdText for a table cell (the same escaping covers '|').
func mdCell(s string) string { return mdText(s) }

// mdCode puts s in an inline code span, widening the delimiters when s
// contains backticks.
func mdCode(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if strings.Contains(s, "`") {
		return "`` " + s + " ``"
	}
	return "`" + s + "`"
}
