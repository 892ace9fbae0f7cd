package report

import (
	"fmt"
	"math"
	"strings"

	"github.com/ktest-dev/ktest/guest/proto"
	"github.com/ktest-dev/ktest/results"
	"github.com/ktest-dev/ktest/verdict"
)

// column is one A/B table column and its words.
type column struct {
	Metric string // one of results.ABMetrics
	Title  string // table heading
	Short  string // fixed-width heading for the email
	Noun   string // what a verdict talks about, e.g. "ctx switches"
}

// columnWords are the words of each column's metric.
var columnWords = map[string]column{
	results.MetricWallMS:      {Title: "real", Short: "real", Noun: "real"},
	results.MetricSysCPU:      {Title: "sys", Short: "sys", Noun: "sys CPU"},
	results.MetricCPU:         {Title: "CPU (user+sys)", Short: "CPU", Noun: "CPU"},
	results.MetricCtxSwitches: {Title: "ctx switches", Short: "ctxsw", Noun: "ctx switches"},
	results.MetricWorkers:     {Title: "io-wq workers", Short: "io-wq", Noun: "io-wq workers"},
	results.MetricIOPS:        {Title: "IOPS", Short: "IOPS", Noun: "IOPS"},
	results.MetricLatP99US:    {Title: "p99", Short: "p99", Noun: "p99 latency"},
}

// abColumns are results.ABMetrics with their words.
var abColumns = func() []column {
	out := make([]column, len(results.ABMetrics))
	for i, m := range results.ABMetrics {
		out[i] = columnOf(m)
	}
	return out
}()

// columnOf is metric's column; a metric without words is named by
// itself.
func columnOf(metric string) column {
	c, ok := columnWords[metric]
	if !ok {
		c = column{Title: metric, Short: metric, Noun: metric}
	}
	c.Metric = metric
	return c
}

// engineLabel names an engine as the cover letter does.
func engineLabel(e string) string {
	switch proto.Engine(e) {
	case proto.EnginePsync:
		return "preadv"
	case proto.EngineIOUringOffload:
		return "io_uring offload"
	case proto.EngineIOUring:
		return "io_uring async"
	}
	return e
}

// engineLegend explains the three rows; shown under every A/B table.
const engineLegend = "preadv = synchronous preadv(2), one job; " +
	"io_uring offload = every read forced to an io-wq worker (fio force_async=1); " +
	"io_uring async = default io_uring submission (without the series, " +
	"buffered reads are punted to io-wq; with it, they are retried on page unlock)."

// label names the engine's rows, marking the control.
func label(e results.ABEngine) string {
	if e.Control {
		return engineLabel(e.Engine) + " (control)"
	}
	return engineLabel(e.Engine)
}

// pairTitle is "baseline vs patched", or the lone variant's name.
func pairTitle(p [2]*results.Variant) string {
	if p[1] == nil {
		return p[0].Name
	}
	return p[0].Name + " vs " + p[1].Name
}

// driftNote explains the control's drift and what it held back, or is
// "" when the control did not move.
func driftNote(t results.ABTarget, ascii bool) string {
	if len(t.Drift) == 0 {
		return ""
	}
	control := ""
	for _, e := range t.Engines {
		if e.Control {
			control = engineLabel(e.Engine)
		}
	}
	words := make([]string, len(t.Drift))
	for i, v := range t.Drift {
		words[i] = verdictText(v, ascii)
	}
	verb, those := "is", "that metric"
	if len(words) > 1 {
		verb, those = "are", "those metrics"
	}
	s := fmt.Sprintf("%s is the control (both kernels run the same code for it), so its %s on %s %s between-boot drift, "+
		"not an effect of the series; other engines' changes of %s are called only beyond it",
		control, strings.Join(words, ", "), t.Target, verb, those)
	if len(t.Held) > 0 {
		held := make([]string, len(t.Held))
		for i, h := range t.Held {
			held[i] = engineLabel(h.Engine) + " " + verdictText(h.Verdict, ascii)
		}
		s += " (held back: " + strings.Join(held, ", ") + ")"
	}
	return s + "."
}

// openNote lists what the rule left open on t: comparisons not called
// though their medians differ by more than the floor, each with the
// smallest change its boots could have called (verdict's Detectable:
// "callable from 46%"), so that a reader sees what the run could have
// missed. "" when there are none.
func openNote(t results.ABTarget, ascii bool) string {
	if len(t.Open) == 0 || t.B == "" {
		return ""
	}
	minus := "−"
	if ascii {
		minus = "-"
	}
	words := make([]string, len(t.Open))
	for i, o := range t.Open {
		v := o.Verdict
		w := columnOf(v.Metric).Noun + " " + signedPct(v.Diff.Change, minus)
		if v.Metric == results.MetricWorkers || v.Diff.FromZero {
			w = verdictText(v, ascii)
		}
		words[i] = engineLabel(o.Engine) + " " + w
		if d := v.Diff.Detectable(); d > 0 {
			words[i] += " (callable from " + pct(d, "") + ")"
		}
	}
	return fmt.Sprintf("Not called on %s though the medians differ by more than %.0f%%: %s.",
		t.Target, verdict.Floor*100, strings.Join(words, "; "))
}

// noiseRule is the noise definition in one sentence, for readers.
var noiseRule = verdict.Rule

// verdictText words a verdict: "17% faster", "−86% ctx switches",
// "io-wq workers 4 → 0". ascii selects "-" and "->" for plain text.
func verdictText(v results.ABVerdict, ascii bool) string {
	minus, arrow := "−", "→"
	if ascii {
		minus, arrow = "-", "->"
	}
	var s string
	switch {
	case v.Metric == results.MetricWorkers || v.Diff.FromZero:
		s = fmt.Sprintf("%s %s %s %s", columnOf(v.Metric).Noun,
			plainNumber(v.Metric, v.A.Median), arrow, plainNumber(v.Metric, v.B.Median))
	case v.Metric == results.MetricWallMS:
		word := "slower"
		if v.Diff.Change < 0 {
			word = "faster"
		}
		s = fmt.Sprintf("%s %s (real %s)", pct(math.Abs(v.Diff.Change), ""), word, signedPct(v.Diff.Change, minus))
	default:
		s = signedPct(v.Diff.Change, minus) + " " + columnOf(v.Metric).Noun
	}
	return s
}

// verdictCount says how many metric comparisons the tables made, how
// many changes they called (the figure an A/A run must keep at zero),
// how many were within noise and how many could not be judged. When
// none could be judged it says so instead: "Figures only: ...".
func verdictCount(tables []results.ABTarget) string {
	j := results.JudgedIn(tables)
	switch {
	case j.Compared == 0:
		return ""
	case j.FiguresOnly():
		return "Figures only: " + j.Few.NoCall() + "."
	}
	s := fmt.Sprintf("%d metric comparisons, %d changes called, %d within noise", j.Compared, j.Called, j.Noise)
	if j.Open > 0 {
		s += fmt.Sprintf(" (%d of them with medians more than %.0f%% apart, listed under their targets)", j.Open, verdict.Floor*100)
	}
	if j.Undecided > 0 {
		s += fmt.Sprintf(", %d not judged (%s)", j.Undecided, j.Few.TooFew())
	}
	if j.Held > 0 {
		s += fmt.Sprintf(", %d held back as the control's drift", j.Held)
	}
	return s + "."
}

// nothingCalled says why a target has no verdicts: too few samples to
// judge, nothing beyond noise, or some of each.
func nothingCalled(t results.ABTarget) string {
	switch {
	case t.Undecided > 0 && t.Undecided == t.Compared:
		return fmt.Sprintf("No change can be called on %s: %s.", t.Target, t.Few.TooFew())
	case t.Undecided > 0:
		return fmt.Sprintf("No difference beyond noise on %s in the %d metrics judged; %d not judged (%s).",
			t.Target, t.Compared-t.Undecided, t.Undecided, t.Few.TooFew())
	}
	return fmt.Sprintf("No difference beyond noise on %s.", t.Target)
}
