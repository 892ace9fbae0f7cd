package results

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ktest-dev/ktest/guest/proto"
	"github.com/ktest-dev/ktest/internal/termfmt"
	"github.com/ktest-dev/ktest/verdict"
)

// EngineOrder is the A/B table's row order, the cover letter's, which
// is the guest's run order.
var EngineOrder = proto.EngineNames()

// ABMetrics are the A/B table's columns, in order: Metric* names and
// MetricCPU.
var ABMetrics = []string{
	MetricWallMS, MetricSysCPU, MetricCPU, MetricCtxSwitches, MetricWorkers, MetricIOPS, MetricLatP99US,
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

// ABCell is one metric of one engine on one variant.
type ABCell struct {
	M  Metric
	OK bool // false: not measured
}

// ABVerdict is one column's verdict, present only beyond noise.
type ABVerdict struct {
	Metric string // the column's
	A, B   Metric
	Diff   Diff
}

// ABEngine is one engine's rows: reference, other, verdicts.
type ABEngine struct {
	Engine   string
	A, B     []ABCell    // per abColumns
	Verdicts []ABVerdict // beyond noise only, column order
	ByColumn []*ABVerdict
	// Control: the plan's control engine, whose verdicts are drift,
	// not effects of the series.
	Control bool
	// Repeats is the most samples (boots) of its metrics: adaptive
	// boots run only the undecided engines and the control, so an
	// engine may have fewer than its target.
	Repeats int
}

// ABTarget is the A/B table of one target.
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
	Held []EngineVerdict
	// Open are the comparisons judged within noise although their
	// medians differ beyond the floor (verdict.Judgement.BeyondFloor),
	// IOPS left out where wall time is there: what the run could have
	// missed, each with the change its boots could have called
	// (Diff.Detectable).
	Open []EngineVerdict
}

// EngineVerdict is one engine's verdict on a metric.
type EngineVerdict struct {
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

// BenchPairs lists the (reference, compared) variant pairs to tabulate.
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

// ABTables builds the A/B table for every target that has a benchmark
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
			row := ABEngine{Engine: en, ByColumn: make([]*ABVerdict, len(ABMetrics))}
			for _, m := range ABMetrics {
				ma, oka := ea.metric(m)
				mb, okb := eb.metric(m)
				row.A = append(row.A, ABCell{ma, oka})
				row.B = append(row.B, ABCell{mb, okb})
				row.Repeats = max(row.Repeats, len(ma.Samples), len(mb.Samples))
			}
			for i, m := range ABMetrics {
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
					if d.BeyondFloor() && !(m == MetricIOPS && row.has(MetricWallMS)) {
						t.Open = append(t.Open, EngineVerdict{en, ABVerdict{m, row.A[i].M, row.B[i].M, d}})
					}
				}
				if d.Called() {
					row.Verdicts = append(row.Verdicts, ABVerdict{m, row.A[i].M, row.B[i].M, d})
				}
			}
			t.Repeats = max(t.Repeats, row.Repeats)
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
	i := slices.IndexFunc(t.Engines, func(e ABEngine) bool { return e.Control })
	if i < 0 {
		return
	}
	control := t.Engines[i]
	for i := range t.Engines {
		e := &t.Engines[i]
		if e.Control {
			continue
		}
		var kept []ABVerdict
		for _, v := range e.Verdicts {
			if c := slices.Index(ABMetrics, v.Metric); c >= 0 && control.A[c].OK && control.B[c].OK {
				v.Diff = Diff{v.Diff.HoldBy(control.A[c].M.samples(), control.B[c].M.samples())}
			}
			if v.Diff.Outcome == verdict.Held {
				t.Held = append(t.Held, EngineVerdict{e.Engine, v})
				continue
			}
			kept = append(kept, v)
		}
		e.Verdicts = kept
	}
}

// has reports whether both sides of the row have metric.
func (e ABEngine) has(metric string) bool {
	c := slices.Index(ABMetrics, metric)
	return c >= 0 && c < len(e.A) && e.A[c].OK && e.B[c].OK
}

// indexVerdicts fills ByColumn from Verdicts.
func (e *ABEngine) indexVerdicts() {
	for i := range e.Verdicts {
		for j, m := range ABMetrics {
			if m == e.Verdicts[i].Metric {
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

// Judged adds up what the rule concluded over tables.
type Judged struct {
	// Open counts the Noise verdicts whose medians differ beyond the
	// floor (ABTarget.Open).
	Compared, Called, Noise, Undecided, Held, Open int
	Few                                            sampleCounts
}

// JudgedIn adds up what the rule concluded over tables.
func JudgedIn(tables []ABTarget) Judged {
	var j Judged
	for _, t := range tables {
		j.Compared += t.Compared
		j.Called += t.Called
		j.Noise += t.WithinNoise
		j.Undecided += t.Undecided
		j.Held += len(t.Held)
		j.Open += len(t.Open)
		j.Few = j.Few.fewer(t.Few.a, t.Few.b)
	}
	return j
}

// FiguresOnly reports whether no comparison could be judged.
func (j Judged) FiguresOnly() bool { return j.Compared > 0 && j.Undecided == j.Compared }

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
		return termfmt.Plural(c.a, "boot") + " per side"
	}
	return fmt.Sprintf("%d and %d boots", c.a, c.b)
}

// TooFew is "1 boot per side, 3 needed": why the rule could not judge.
func (c sampleCounts) TooFew() string {
	return fmt.Sprintf("%s, %d needed", c.perSide(), verdict.MinSamples)
}

// NoCall is "1 boot per side, no change can be called (3 needed)".
func (c sampleCounts) NoCall() string {
	return fmt.Sprintf("%s, no change can be called (%d needed)", c.perSide(), verdict.MinSamples)
}
