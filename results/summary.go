package results

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/ktest-dev/ktest/verdict"
)

// Incomplete returns "" for a complete run, and otherwise a one-line
// reason naming the stage and variant, e.g. "interrupted during build
// [patched]" or "build failed [patched]: make: *** [bzImage] Error 2".
func (r *Run) Incomplete() string {
	if r.Complete {
		return ""
	}
	at := r.stopPoint()
	var out string
	switch {
	case at.where() == "":
		out = OrDefault(string(r.Status), "unknown status")
	case r.Status == StatusInterrupted:
		out = "interrupted during " + at.where()
	case r.Status == StatusRunning:
		out = "still running, at " + at.where()
	case r.Status == StatusError:
		out = at.where()
		if at.stage != "" {
			out = at.stage + " failed"
			if at.variant != "" {
				out += " [" + at.variant + "]"
			}
		}
	default:
		out = "stopped during " + at.where()
	}
	return out + at.detail()
}

// Stopped says, for a run that did not finish, how it ended, as a
// sentence's predicate: "stopped at apply: patch 2/3 does not apply",
// "was interrupted during build [patched]", "is still running, at boot
// [baseline]". "" for a complete run.
func (r *Run) Stopped() string {
	if r.Complete {
		return ""
	}
	at := r.stopPoint()
	where := OrDefault(at.where(), "an unknown stage")
	switch r.Status {
	case StatusInterrupted:
		return "was interrupted during " + where + at.detail()
	case StatusRunning:
		return "is still running, at " + where + at.detail()
	case StatusError:
		return "stopped at " + where + at.detail()
	}
	return "did not finish (status " + OrDefault(string(r.Status), "unknown") + ")" + at.detail()
}

// stop is where a run that did not finish stopped.
type stop struct{ stage, variant, msg string }

// stopPoint finds the stage that stopped the run: its recorded error,
// else the last stage that did not finish, else the last one recorded.
func (r *Run) stopPoint() stop {
	if e := r.Error; e != nil {
		return stop{e.Stage, e.Variant, e.Message}
	}
	for i := len(r.Stages) - 1; i >= 0; i-- {
		if s := r.Stages[i]; s.Status.Stopped() {
			return stop{s.Name, s.Variant, s.Detail}
		}
	}
	if len(r.Stages) > 0 {
		s := r.Stages[len(r.Stages)-1]
		return stop{stage: s.Name, variant: s.Variant}
	}
	return stop{}
}

// where is "build [patched]", "apply", or "" when no stage is known.
func (s stop) where() string {
	if s.variant != "" && s.stage != "" {
		return s.stage + " [" + s.variant + "]"
	}
	return s.stage
}

// detail is ": " and the first line of the message, if there is one.
func (s stop) detail() string {
	if s.msg == "" {
		return ""
	}
	return ": " + FirstLineOf(s.msg)
}

// engineOrder is the A/B table's row order, the cover letter's.
var EngineOrder = []string{"psync", "io_uring-offload", "io_uring"}

// column is one A/B table column.
type Column struct {
	Metric string // a Metric* name or metricCPU
	Title  string // table heading
	Short  string // fixed-width heading for the email
	Noun   string // what a verdict talks about, e.g. "ctx switches"
}

var ABColumns = []Column{
	{MetricWallMS, "real", "real", "real"},
	{MetricSysCPU, "sys", "sys", "sys CPU"},
	{MetricCPU, "CPU (user+sys)", "CPU", "CPU"},
	{MetricCtxSwitches, "ctx switches", "ctxsw", "ctx switches"},
	{MetricWorkers, "io-wq workers", "io-wq", "io-wq workers"},
	{MetricIOPS, "IOPS", "IOPS", "IOPS"},
	{MetricLatP99US, "p99", "p99", "p99 latency"},
}

// metric returns an engine's value for a column, false if missing.
func (e *Engine) metric(name string) (Metric, bool) {
	if e == nil {
		return Metric{}, false
	}
	if name == MetricCPU {
		u, ok1 := e.Metrics[MetricUserCPU]
		s, ok2 := e.Metrics[MetricSysCPU]
		if !ok1 || !ok2 {
			return Metric{}, false
		}
		return sumMetric(u, s), true
	}
	m, ok := e.Metrics[name]
	return m, ok
}

// abCell is one metric of one engine on one variant.
type ABCell struct {
	M  Metric
	OK bool // false: not measured
}

// abVerdict is one column's verdict, present only beyond noise.
type ABVerdict struct {
	Column Column
	A, B   Metric
	Diff   Diff
}

// abEngine is one engine's rows: reference, other, verdicts.
type ABEngine struct {
	Engine   string
	A, B     []ABCell    // per abColumns
	Verdicts []ABVerdict // beyond noise only, column order
	ByColumn []*ABVerdict
	// Control: the plan's control engine, whose verdicts are drift,
	// not effects of the series.
	Control bool
}

// abTarget is the A/B table of one target.
type ABTarget struct {
	Target  string
	A, B    string // variant names: reference and compared
	Engines []ABEngine
	Repeats int // most samples (boots) seen; 1 means no spread
	// Compared and Called count the metric comparisons made and the
	// changes called (the control's drift included); WithinNoise those
	// the rule judged unchanged, and Undecided those it could not judge
	// (too few samples a side, few holds the counts), kept apart.
	Compared, Called, WithinNoise, Undecided int
	Few                                      sampleCounts
	Error                                    string // target setup errors, "variant: message"
	// Drift is the control engine's verdicts: how far the variants
	// moved on a code path that is the same in both.
	Drift []ABVerdict
	// Held are the other engines' changes beyond the usual noise rule
	// but not beyond Drift, so not called.
	Held []heldVerdict
}

type heldVerdict struct {
	Engine  string
	Verdict ABVerdict
}

// abPair picks the reference variant (named "baseline", else the first)
// and the variants compared against it.
func (r *Run) abPair() (ref *Variant, others []*Variant) {
	ref = r.Variant("baseline")
	if ref == nil && len(r.Variants) > 0 {
		ref = r.Variants[0]
	}
	for _, v := range r.Variants {
		if v != ref {
			others = append(others, v)
		}
	}
	return ref, others
}

// benchPairs lists the (reference, compared) variant pairs to tabulate.
// A run with a single variant yields one pair with a nil second
// variant, so its figures are still shown, without verdicts.
func (r *Run) BenchPairs() [][2]*Variant {
	ref, others := r.abPair()
	if ref == nil {
		return nil
	}
	if len(others) == 0 {
		return [][2]*Variant{{ref, nil}}
	}
	var out [][2]*Variant
	for _, o := range others {
		out = append(out, [2]*Variant{ref, o})
	}
	return out
}

// targetNames lists targets in plan order, then any others the
// variants report, in first-seen order.
func (r *Run) targetNames() []string {
	names := slices.Clone(r.Plan.Targets)
	for _, v := range r.Variants {
		for _, t := range v.Targets {
			if !slices.Contains(names, t.Name) {
				names = append(names, t.Name)
			}
		}
	}
	return names
}

// abTables builds the A/B table for every target that has a benchmark
// on either side, comparing ref with other. With a nil other, the B
// side is empty (B == "") and there are no verdicts.
func (r *Run) ABTables(ref, other *Variant) []ABTarget {
	var out []ABTarget
	for _, name := range r.targetNames() {
		ta := ref.Target(name)
		var tb *Target
		t := ABTarget{Target: name, A: ref.Name}
		if other != nil {
			tb, t.B = other.Target(name), other.Name
		}
		var errs []string
		for _, p := range []struct {
			v *Variant
			t *Target
		}{{ref, ta}, {other, tb}} {
			if p.v != nil && p.t != nil && p.t.Error != "" {
				errs = append(errs, p.v.Name+": "+p.t.Error)
			}
		}
		t.Error = strings.Join(errs, "; ")
		engines := benchEngines(ta, tb)
		if len(engines) == 0 && t.Error == "" {
			continue
		}
		for _, en := range engines {
			ea, eb := engineOf(ta, en), engineOf(tb, en)
			row := ABEngine{Engine: en, ByColumn: make([]*ABVerdict, len(ABColumns))}
			for _, c := range ABColumns {
				ma, oka := ea.metric(c.Metric)
				mb, okb := eb.metric(c.Metric)
				row.A = append(row.A, ABCell{ma, oka})
				row.B = append(row.B, ABCell{mb, okb})
				t.Repeats = max(t.Repeats, len(ma.Samples), len(mb.Samples))
			}
			for i, c := range ABColumns {
				if !row.A[i].OK || !row.B[i].OK {
					continue
				}
				d := CompareMetric(row.A[i].M, row.B[i].M)
				t.Compared++
				switch d.Outcome {
				case verdict.TooFew:
					t.Undecided++
					t.Few = t.Few.fewer(d.NA, d.NB)
				case verdict.Same:
					t.WithinNoise++
				}
				if d.Called() {
					row.Verdicts = append(row.Verdicts, ABVerdict{c, row.A[i].M, row.B[i].M, d})
				}
			}
			row.Control = other != nil && en == r.Plan.Control
			if row.Control {
				t.Drift = row.Verdicts
			}
			t.Engines = append(t.Engines, row)
		}
		t.holdDrift()
		for i := range t.Engines {
			t.Engines[i].indexVerdicts()
			t.Called += len(t.Engines[i].Verdicts)
		}
		out = append(out, t)
	}
	return out
}

// holdDrift withdraws the verdicts of non-control engines that do not
// exceed the control's movement on the same metric (verdict.Hold): a
// code path both variants share shows how far the boots drifted.
func (t *ABTarget) holdDrift() {
	for i := range t.Engines {
		e := &t.Engines[i]
		if e.Control {
			continue
		}
		var kept []ABVerdict
		for _, v := range e.Verdicts {
			for _, d := range t.Drift {
				if d.Column.Metric == v.Column.Metric {
					v.Diff = Diff{v.Diff.Hold(d.Diff.Judgement)}
				}
			}
			if v.Diff.Outcome == verdict.Held {
				t.Held = append(t.Held, heldVerdict{e.Engine, v})
				continue
			}
			kept = append(kept, v)
		}
		e.Verdicts = kept
	}
}

// indexVerdicts fills ByColumn from Verdicts.
func (e *ABEngine) indexVerdicts() {
	for i := range e.Verdicts {
		for j, c := range ABColumns {
			if c.Metric == e.Verdicts[i].Column.Metric {
				e.ByColumn[j] = &e.Verdicts[i]
			}
		}
	}
}

func engineOf(t *Target, name string) *Engine {
	if t == nil {
		return nil
	}
	return t.Engine(name)
}

// benchEngines lists the engines either side measured: the cover
// letter's three first, then any others.
func benchEngines(ts ...*Target) []string {
	var seen []string
	for _, t := range ts {
		if t == nil {
			continue
		}
		for _, e := range t.Bench {
			if !slices.Contains(seen, e.Engine) {
				seen = append(seen, e.Engine)
			}
		}
	}
	var out []string
	for _, e := range EngineOrder {
		if slices.Contains(seen, e) {
			out = append(out, e)
		}
	}
	for _, e := range seen {
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	return out
}

// judged adds up what the rule concluded over tables.
type judged struct {
	Compared, Called, Noise, Undecided, Held int
	Few                                      sampleCounts
}

func JudgedIn(tables []ABTarget) judged {
	var j judged
	for _, t := range tables {
		j.Compared += t.Compared
		j.Called += t.Called
		j.Noise += t.WithinNoise
		j.Undecided += t.Undecided
		j.Held += len(t.Held)
		j.Few = j.Few.fewer(t.Few.a, t.Few.b)
	}
	return j
}

// figuresOnly reports whether no comparison could be judged.
func (j judged) FiguresOnly() bool { return j.Compared > 0 && j.Undecided == j.Compared }

// sampleCounts are the samples (boots) a side of a comparison had; the
// zero value is "none seen yet".
type sampleCounts struct{ a, b int }

// fewer keeps the comparison with the fewest samples on its smaller
// side: the one that says most about why nothing could be judged.
func (c sampleCounts) fewer(a, b int) sampleCounts {
	if a == 0 && b == 0 {
		return c
	}
	if (c.a == 0 && c.b == 0) || min(a, b) < min(c.a, c.b) {
		return sampleCounts{a, b}
	}
	return c
}

// perSide is "1 boot per side", or "1 and 3 boots" when they differ.
func (c sampleCounts) perSide() string {
	if c.a == c.b {
		return Count(c.a, "boot") + " per side"
	}
	return fmt.Sprintf("%d and %d boots", c.a, c.b)
}

// tooFew is "1 boot per side, 3 needed": why the rule could not judge.
func (c sampleCounts) TooFew() string {
	return fmt.Sprintf("%s, %d needed", c.perSide(), verdict.MinSamples)
}

// noCall is "1 boot per side, no change can be called (3 needed)".
func (c sampleCounts) NoCall() string {
	return fmt.Sprintf("%s, no change can be called (%d needed)", c.perSide(), verdict.MinSamples)
}

// pct formats a fraction as a percentage: one decimal under 10%.
func Pct(f float64, sign string) string {
	p := f * 100
	if math.Abs(p) < 10 {
		return fmt.Sprintf("%s%.1f%%", sign, p)
	}
	return fmt.Sprintf("%s%.0f%%", sign, p)
}

func SignedPct(f float64, minus string) string {
	if f < 0 {
		return Pct(-f, minus)
	}
	return Pct(f, "+")
}

// scale picks how a metric is shown: divisor, number suffix (k, M)
// attached to every number, and unit shown after the median only.
func Scale(metric string, median float64) (div float64, suffix, unit string) {
	switch metric {
	case MetricWallMS:
		return 1000, "", " s"
	case MetricLatP50US, MetricLatP99US:
		switch {
		case median >= 1e6:
			return 1e6, "", " s"
		case median >= 1000:
			return 1000, "", " ms"
		}
		return 1, "", " µs"
	case MetricUserCPU, MetricSysCPU, MetricCPU:
		return 1, "", "%"
	}
	switch a := math.Abs(median); {
	case a >= 1e6:
		return 1e6, "M", ""
	case a >= 1e4:
		return 1000, "k", ""
	}
	return 1, "", ""
}

// sig3 prints about three significant digits: "3.41", "10.1", "1290".
// The decimals are chosen after rounding, so 9.996 prints "10.0".
func sig3(v float64) string {
	if v == 0 {
		return "0"
	}
	for _, d := range []int{2, 1} {
		s := strconv.FormatFloat(v, 'f', d, 64)
		if f, _ := strconv.ParseFloat(s, 64); math.Abs(f) < math.Pow(10, float64(3-d)) {
			return s
		}
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}

// num prints a value already divided into its display scale: counts
// (context switches, workers, IOPS) below the k threshold as integers,
// everything else to three significant digits.
func Num(metric string, v float64, div float64) string {
	if div == 1 && isCount(metric) {
		return fmt.Sprintf("%.0f", v)
	}
	return sig3(v / div)
}

func isCount(metric string) bool {
	return metric == MetricCtxSwitches || metric == MetricWorkers || metric == MetricIOPS
}

// figure prints a median with its spread, "3.41 s (3.38–3.46)", or the
// median alone for a single sample.
func Figure(metric string, m Metric, dash string) string {
	div, suffix, unit := Scale(metric, m.Median)
	s := Num(metric, m.Median, div) + suffix + unit
	if HasSpread(m) {
		s += fmt.Sprintf(" (%s%s%s%s%s)", Num(metric, m.Min, div), suffix, dash, Num(metric, m.Max, div), suffix)
	}
	return s
}

// seconds prints a duration in seconds: "9.1", "1290".
func Seconds(v float64) string {
	if v >= 100 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

// tally counts a variant's tests by status.
type tally struct{ pass, fail, hung, skip, notRun int }

func TestCounts(v *Variant) tally {
	var n tally
	for _, t := range v.Targets {
		for _, tc := range t.Tests {
			switch tc.Status {
			case TestPass:
				n.pass++
			case TestHung:
				n.hung++
			case TestSkip:
				n.skip++
			case TestNotRun:
				n.notRun++
			default:
				n.fail++
			}
		}
	}
	return n
}

// String is "38 passed, 0 failed, 1 hung, 1 skipped", plus "9 not run
// (the kernel hung)" when a hang left tests out.
func (n tally) String() string {
	s := fmt.Sprintf("%d passed, %d failed, %d hung, %d skipped", n.pass, n.fail, n.hung, n.skip)
	if n.notRun > 0 {
		s += fmt.Sprintf(", %d not run (the kernel hung)", n.notRun)
	}
	return s
}

// buildText describes a variant's build: "cached", "built in 412 s,
// 2345 objects compiled", "build FAILED after 37 s".
func BuildText(k Kernel) string {
	switch {
	case k.Status == StepFailed:
		return fmt.Sprintf("build FAILED after %s s", Seconds(k.BuildSeconds))
	case k.Status != StepOK:
		return "not built"
	case k.Cached:
		return "cached"
	}
	return fmt.Sprintf("built in %s s, %d objects compiled", Seconds(k.BuildSeconds), k.Objects)
}

// bootText describes a variant's boot.
func BootText(b Boot) string {
	switch b.Status {
	case StepOK:
		return fmt.Sprintf("booted in %s s", Seconds(b.Seconds))
	case StepFailed:
		return fmt.Sprintf("boot FAILED after %s s", Seconds(b.Seconds))
	}
	return "not booted"
}

// patchLabel is "01/12" or "" for a patch without numbering.
func PatchLabel(p Patch) string {
	if p.Total > 0 {
		w := len(fmt.Sprint(p.Total))
		return fmt.Sprintf("%0*d/%d", w, p.Number, p.Total)
	}
	if p.Number > 0 {
		return fmt.Sprint(p.Number)
	}
	return ""
}

func OrDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func FirstLineOf(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
