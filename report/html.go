package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strings"

	"github.com/ktest-dev/ktest/internal/termfmt"
	"github.com/ktest-dev/ktest/results"
)

//go:embed report.html.tmpl
var htmlSource string

// htmlTemplate is parsed once; html/template escapes every value by
// context, so hostile test names and console excerpts stay text.
var htmlTemplate = template.Must(template.New("report").Parse(htmlSource))

type htmlPage struct {
	Title, Incomplete, Series, Tree, RunLine, Accel string
	Patches                                         []patchRow
	Kernels                                         []kernelRow
	Crashes                                         []crashRow
	Correctness                                     []htmlTests
	Failures                                        []string
	Bench                                           []htmlBench
	NoiseRule, Legend, Signature, Command           string
}

type htmlTests struct {
	Variant, Counts string
	Targets         []string
	Rows            []htmlTestRow
}

type htmlTestRow struct {
	Name  string
	Cells []htmlMark
}

type htmlMark struct{ Text, Class, Title string }

type htmlBench struct {
	A, B, Intro string
	// Verdicts counts the comparisons and what came of them, or says
	// that none could be judged.
	Verdicts string
	Targets  []htmlTarget
}

type htmlTarget struct {
	Name, Error, Summary string
	Header               []string
	Rows                 []htmlRow
	Charts               []htmlChart
}

type htmlRow struct {
	Engine, Variant string // Engine is empty on continuation rows
	Cells           []string
	Change          bool
}

// Chart geometry, in SVG user units.
const (
	chartW, chartH          = 330, 220
	chartLeft, chartRight   = 52, 8
	chartTop, chartBottom   = 34, 30
	chartPlotW, chartPlotH  = chartW - chartLeft - chartRight, chartH - chartTop - chartBottom
	chartBarFrac, chartGapX = 0.3, 2
)

type htmlChart struct {
	Title string
	// Legend: variant names and where their keys start.
	A, B         string
	KeyAX, KeyBX float64
	W, H         int
	Bars         []htmlBar
	Groups       []htmlLabel
	Ticks        []htmlTick
	// Plot area, for the axis lines.
	X0, X1, Y0, Y1 float64
}

type htmlBar struct {
	X, Y, W, H     float64
	Class, Tip     string
	Whisker        bool
	WX, WTop, WBot float64 // whisker x, y of max, y of min
	CapL, CapR     float64
	Label          string
	LX, LY         float64
}

type htmlLabel struct {
	X, Y float64
	Text string
}

type htmlTick struct {
	Y, X0, X1, LX float64
	Text          string
}

// chartColumns are the A/B metrics drawn as charts.
var chartColumns = []string{results.MetricWallMS, results.MetricCPU, results.MetricCtxSwitches, results.MetricWorkers}

func (rd Renderer) html(w io.Writer, r *results.Run) error {
	o := rd.outline(r)
	// The page shows the outline's title, series line, tree, run and
	// acceleration; not yet the series' source, warnings and notes, the
	// tree's origin, the era or the extra kernel arguments.
	pg := htmlPage{
		Title:      o.Title,
		Incomplete: o.Incomplete,
		Tree:       strings.TrimSpace(o.Tree.Kind + " " + o.Tree.Name),
		RunLine:    fmt.Sprintf("%s, status %s, plan %s", results.OrDefault(o.Run.ID, "?"), o.Run.Status, o.Run.Plan),
		Accel:      o.Accel,
		Patches:    o.Patches,
		Kernels:    o.Kernels,
		Crashes:    o.Crashes,
		NoiseRule:  noiseRule,
		Legend:     engineLegend,
		Signature:  o.Trailer,
		Command:    o.Command,
	}
	if s := o.Series; s != nil {
		pg.Series = s.Title
		if s.Version > 0 {
			pg.Series += fmt.Sprintf(" (v%d)", s.Version)
		}
		if s.Base != "" {
			pg.Series += ", base " + s.Base
		}
	}
	for _, v := range o.Correctness {
		ht := htmlTests{Variant: v.Variant, Targets: v.Targets, Counts: v.Counts}
		for _, name := range v.Tests {
			row := htmlTestRow{Name: name}
			for _, t := range v.Targets {
				tc, ok := v.Cell[t][name]
				m := htmlMark{Text: statusMark(tc.Status, ok), Class: string(tc.Status), Title: tc.Message}
				m.Text = strings.Trim(m.Text, "*")
				row.Cells = append(row.Cells, m)
				if ok && tc.Status.Failing() {
					pg.Failures = append(pg.Failures, fmt.Sprintf("%s/%s/%s: %s %s", v.Variant, t, name, tc.Status, termfmt.FirstLine(tc.Message)))
				}
			}
			ht.Rows = append(ht.Rows, row)
		}
		pg.Correctness = append(pg.Correctness, ht)
	}

	for _, pair := range o.Bench {
		tables := pair.Tables
		b := htmlBench{A: pair.A, B: pair.B,
			Intro: pair.workload() + " " + pair.figuresText("–") + " Chart whiskers span min–max."}
		for _, t := range tables {
			b.Targets = append(b.Targets, htmlTargetOf(t))
		}
		b.Verdicts = verdictCount(tables)
		pg.Bench = append(pg.Bench, b)
	}
	return htmlTemplate.Execute(w, pg)
}

// htmlTargetOf is one target's A/B table, verdicts and charts.
func htmlTargetOf(t results.ABTarget) htmlTarget {
	ht := htmlTarget{Name: t.Target, Error: t.Error, Header: []string{"engine", "kernel"}}
	for _, c := range abColumns {
		ht.Header = append(ht.Header, c.Title)
	}
	var summary []string
	for _, e := range t.Engines {
		ra := htmlRow{Engine: label(e), Variant: t.A}
		rb := htmlRow{Variant: t.B}
		for i, c := range abColumns {
			ra.Cells = append(ra.Cells, cellText(c, e.A[i]))
			rb.Cells = append(rb.Cells, cellText(c, e.B[i]))
		}
		ht.Rows = append(ht.Rows, ra)
		if t.B != "" {
			ht.Rows = append(ht.Rows, rb)
		}
		if len(e.Verdicts) > 0 {
			rc := htmlRow{Variant: "change", Change: true}
			var words []string
			for _, v := range e.ByColumn {
				if v == nil {
					rc.Cells = append(rc.Cells, "")
					continue
				}
				s := verdictText(*v, false)
				rc.Cells = append(rc.Cells, s)
				words = append(words, s)
			}
			ht.Rows = append(ht.Rows, rc)
			if e.Control {
				continue // drift, told by driftNote
			}
			summary = append(summary, engineLabel(e.Engine)+": "+strings.Join(words, ", "))
		}
	}
	if len(summary) > 0 {
		ht.Summary = t.B + " on " + t.Target + ": " + strings.Join(summary, "; ") + "."
	} else if len(t.Engines) > 0 && t.B != "" {
		ht.Summary = nothingCalled(t)
	}
	if n := driftNote(t, false); n != "" {
		ht.Summary += " " + n
	}
	if n := openNote(t, false); n != "" {
		ht.Summary += " " + n
	}
	if len(t.Engines) > 0 {
		for _, m := range chartColumns {
			ht.Charts = append(ht.Charts, barChart(t, m))
		}
	}
	return ht
}

func nameOrEmpty(v *results.Variant) string {
	if v == nil {
		return ""
	}
	return v.Name
}

// barChart draws one metric of a target: a group per engine, a bar per
// variant at its median, a whisker from min to max.
func barChart(t results.ABTarget, metric string) htmlChart {
	col := 0
	for i, c := range abColumns {
		if c.Metric == metric {
			col = i
		}
	}
	ch := htmlChart{Title: abColumns[col].Title, W: chartW, H: chartH, A: termfmt.Clip(t.A, 12), B: termfmt.Clip(t.B, 12),
		KeyAX: chartW - chartRight - 140, KeyBX: chartW - chartRight - 70,
		X0: chartLeft, X1: chartLeft + chartPlotW, Y0: chartTop, Y1: chartTop + chartPlotH}
	if metric == results.MetricCPU {
		ch.Title = "CPU % (user+sys)"
	}
	top := 0.0
	for _, e := range t.Engines {
		for _, c := range []results.ABCell{e.A[col], e.B[col]} {
			if c.OK {
				top = max(top, c.M.Max, c.M.Median)
			}
		}
	}
	top = niceCeil(top * 1.1)
	y := func(v float64) float64 { return chartTop + chartPlotH*(1-v/top) }
	for i := 0; i <= 2; i++ {
		v := top * float64(i) / 2
		ch.Ticks = append(ch.Ticks, htmlTick{Y: y(v), X0: chartLeft, X1: chartLeft + chartPlotW, LX: chartLeft - 4,
			Text: plainNumber(metric, v)})
	}
	groupW := float64(chartPlotW) / float64(max(1, len(t.Engines)))
	barW := groupW * chartBarFrac
	for gi, e := range t.Engines {
		center := chartLeft + groupW*(float64(gi)+0.5)
		ch.Groups = append(ch.Groups, htmlLabel{X: center, Y: chartTop + chartPlotH + 16, Text: engineLabel(e.Engine)})
		for si, side := range []struct {
			name, class string
			cell        results.ABCell
		}{{t.A, "a", e.A[col]}, {t.B, "b", e.B[col]}} {
			if !side.cell.OK {
				continue
			}
			m := side.cell.M
			x := center - barW - chartGapX
			if si == 1 {
				x = center + chartGapX
			}
			bar := htmlBar{X: round1(x), W: round1(barW), Y: round1(y(m.Median)), H: round1(chartPlotH * m.Median / top),
				Class: side.class, Tip: side.name + " " + engineLabel(e.Engine) + ": " + figure(metric, m, "–"),
				Label: shortFigure(metric, m)}
			labelY := y(m.Median)
			if results.HasSpread(m) {
				bar.Whisker = true
				bar.WX = round1(x + barW/2)
				bar.WTop, bar.WBot = round1(y(m.Max)), round1(y(m.Min))
				bar.CapL, bar.CapR = round1(x+barW/2-barW/4), round1(x+barW/2+barW/4)
				labelY = y(m.Max)
			}
			bar.LX, bar.LY = round1(x+barW/2), round1(labelY-4)
			ch.Bars = append(ch.Bars, bar)
		}
	}
	return ch
}

// niceCeil rounds v up to a round number (1, 1.2, 1.5, 2, 2.5, 3, 4,
// 5, 6 or 8 times a power of ten) so axis labels are round without
// wasting half the chart; 0 becomes 1 to keep the scale finite.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := 1.0
	for p*10 <= v {
		p *= 10
	}
	for p > v {
		p /= 10
	}
	for _, m := range []float64{1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func round1(v float64) float64 { return float64(int(v*10+0.5)) / 10 }
