// Package verdict decides whether a benchmark metric changed between two
// sets of samples beyond noise. It is the one place that rule lives: the
// review summary, email, HTML, `ktest compare` and nightly history all
// ask it, and it knows nothing of runs or renderings.
//
// # The rule
//
// Each sample is one boot's value of the metric (boots of the two sides
// interleaved, so that the spread of a side holds the drift between
// boots). A change from A (the baseline, or the older run) to B is
// called when all of these hold:
//
//  1. Enough samples: each side has at least MinSamples (3). With fewer,
//     nothing is called and the reader is told why ("1 boot: not enough
//     samples to call a change").
//  2. Size: the medians differ by more than Floor (3%) of A's median;
//     from a median of 0, any other median counts. Changes this small are
//     not worth a reviewer's attention even when real.
//  3. Separation: the two min–max ranges are disjoint, and the gap
//     between them is at least Gap (1.0) times the wider range. The
//     metrics are ratios (times, rates, counts), so ranges and the gap
//     are measured on a logarithmic scale when every value is positive:
//     4–8 s is as wide as 1–2 s. With a zero among the values (io-wq
//     workers) the scale is linear.
//
// Rule 3 is LKP's "distance" test made stricter: with three samples per
// side drawn from one distribution, disjoint ranges happen by chance 10%
// of the time, a gap as wide as the wider range 0.7% of the time (with
// four samples, 0.05%). Runs compare dozens of metrics, so the margin is
// what keeps an A/A run (the same kernel twice) from calling changes.
//
// A control engine (one whose code path the variants share) guards
// against drift that hit one side's boots only: where the control's
// metric changed by the rule, another engine's change of that metric is
// called only if it is larger (Hold).
package verdict

import (
	"fmt"
	"math"
	"slices"
)

// The rule's parameters; see the package documentation.
const (
	MinSamples = 3
	Floor      = 0.03
	Gap        = 1.0
)

// Outcome is what the rule concluded.
type Outcome int

const (
	TooFew  Outcome = iota // a side has fewer than MinSamples samples
	Same                   // within noise
	Changed                // beyond noise
	Held                   // beyond noise, but not beyond the control's drift
)

func (o Outcome) String() string {
	return [...]string{"too few samples", "within noise", "changed", "held back by the control"}[o]
}

// Judgement is the rule applied to one metric.
type Judgement struct {
	Outcome Outcome
	// Change is (B-A)/|A| of the medians, e.g. -0.86 for "−86%". When
	// A's median is 0, Change is +1 or -1 (the sign of B), 0 if B is 0
	// too, and FromZero is set.
	Change   float64
	FromZero bool
	NA, NB   int // samples per side
	// Why says, for a reader, why nothing was called (Outcome != Changed).
	Why string
}

// Called reports whether the change is to be reported.
func (j Judgement) Called() bool { return j.Outcome == Changed }

// Judge applies the rule to samples a (reference) and b.
func Judge(a, b []float64) Judgement {
	j := Judgement{NA: len(a), NB: len(b)}
	ma, mb := Median(a), Median(b)
	switch {
	case len(a) == 0 || len(b) == 0:
	case ma != 0:
		j.Change = (mb - ma) / math.Abs(ma)
	case mb > 0:
		j.Change, j.FromZero = 1, true
	case mb < 0:
		j.Change, j.FromZero = -1, true
	default:
		j.FromZero = true
	}
	if !Decides(len(a), len(b)) {
		j.Outcome, j.Why = TooFew, fmt.Sprintf("%s: not enough samples to call a change (%d needed)", boots(min(len(a), len(b))), MinSamples)
		return j
	}
	if j.FromZero {
		if mb == 0 {
			j.Outcome, j.Why = Same, "no change"
			return j
		}
	} else if math.Abs(j.Change) <= Floor {
		j.Outcome, j.Why = Same, fmt.Sprintf("below the %.0f%% floor", Floor*100)
		return j
	}
	scale := func(x float64) float64 { return x }
	if slices.Min(a) > 0 && slices.Min(b) > 0 {
		scale = math.Log
	}
	loA, hiA := scale(slices.Min(a)), scale(slices.Max(a))
	loB, hiB := scale(slices.Min(b)), scale(slices.Max(b))
	gap := max(loB-hiA, loA-hiB)
	if gap <= 0 {
		j.Outcome, j.Why = Same, "the ranges overlap"
		return j
	}
	if wider := max(hiA-loA, hiB-loB); gap < Gap*wider {
		j.Outcome, j.Why = Same, "the ranges are apart by less than their width"
		return j
	}
	j.Outcome = Changed
	return j
}

// Decides reports whether na and nb samples a side are enough for the
// rule to call a change at all (rule 1). Reports ask it, rather than
// restate the number, when they must say that nothing could be called.
func Decides(na, nb int) bool { return min(na, nb) >= MinSamples }

// Hold applies the control's judgement of the same metric: a change
// called where the control's changed too must be larger than the
// control's, or it is held back as drift.
func (j Judgement) Hold(control Judgement) Judgement {
	if j.Outcome != Changed || control.Outcome != Changed || j.FromZero || control.FromZero {
		return j
	}
	if math.Abs(j.Change) <= math.Abs(control.Change) {
		j.Outcome = Held
		j.Why = fmt.Sprintf("within the control's drift (%+.0f%%)", control.Change*100)
	}
	return j
}

func boots(n int) string {
	if n == 1 {
		return "1 boot"
	}
	return fmt.Sprintf("%d boots", n)
}

// Median is the middle sample (the mean of the middle two for an even
// count); 0 for none.
func Median(s []float64) float64 {
	if len(s) == 0 {
		return 0
	}
	s = slices.Sorted(slices.Values(s))
	if n := len(s); n%2 == 1 {
		return s[n/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// RelStddev is the sample standard deviation relative to the mean (the
// "±x%" shown next to a median), 0 for fewer than two samples or a mean
// of 0.
func RelStddev(s []float64) float64 {
	if len(s) < 2 {
		return 0
	}
	var mean float64
	for _, x := range s {
		mean += x
	}
	mean /= float64(len(s))
	if mean == 0 {
		return 0
	}
	var ss float64
	for _, x := range s {
		ss += (x - mean) * (x - mean)
	}
	return math.Sqrt(ss/float64(len(s)-1)) / math.Abs(mean)
}

// Rule is the rule in one sentence, for readers of reports.
var Rule = fmt.Sprintf("A change is called only with at least %d boots per side, when the medians differ by more than %.0f%% "+
	"and the min–max ranges are apart by at least their width (on a log scale); a control engine's drift raises the bar for the others.",
	MinSamples, Floor*100)
