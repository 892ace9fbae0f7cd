package verdict

import (
	"math"
	"slices"
	"sync"
)

// Adaptive boots. A run boots each variant plan.Boots times, then asks,
// for every comparison of a metric the plan gives adaptive boots to
// (plan.AdaptiveMetrics: wall time by default), whether another boot of
// each variant could decide it; it adds interleaved boots while any
// such comparison of a target answers yes, up to plan.MaxBoots a side,
// and those boots run only the engines with such a metric and the
// control. The other metrics are judged on the boots there are: the
// levels of the looks hold whatever decided the stopping.
//
// A metric is undecided when the rule did not call it, its medians
// differ by more than the floor, and the change is large enough against
// its spread that MaxBoots boots could call it: the test's t, projected
// to MaxBoots samples a side with the present spread (t grows as the
// square root of the count), reaches the critical t at MaxBoots. This is
// Pinpoint's "high threshold" in another form: a metric whose change is
// too small for the budget to settle is given up at once. In the power
// study an A/A run of the default plan stops at 3 boots in the median (8
// at worst, of the default budget of 12), and giving up that way loses
// almost no power against always going to the budget.
//
// The spread used for the projection is the test's, or, when a side has
// a boot that stands out (Outlier times farther from the side's median
// than any other, as a slow boot does), the spread without it if that is
// smaller: below 5 boots a single slow boot inflates the test's spread,
// and the point of more boots is to outvote it. This spends boots; it
// cannot raise the false-call rate, which the levels of the looks bound
// whatever the stopping.

// Undecided reports whether more boots could decide a metric that the
// rule did not call, with at most maxBoots samples a side.
func (j Judgement) Undecided(maxBoots int) bool {
	n := max(j.NA, j.NB)
	switch {
	case n >= maxBoots || min(j.NA, j.NB) == 0:
		return false
	case j.Outcome == TooFew:
		return true
	case j.Outcome != Same:
		return false // called, or held back by the control's own call
	case !j.BeyondFloor():
		return false
	case j.student.diff == 0:
		return false
	}
	se := j.student.se
	if j.outlierSE > 0 && j.outlierSE < se {
		se = j.outlierSE
	}
	if se == 0 {
		return true // no spread yet the test did not call it: cannot happen, ask for more
	}
	projected := math.Abs(j.student.diff) / se * math.Sqrt(float64(maxBoots)/float64(n))
	return projected >= criticalAt(maxBoots)
}

var criticals sync.Map // int -> float64

// criticalAt is the t Student's test needs with n samples a side: 2(n-1)
// degrees of freedom, at its share of AlphaAt(n).
func criticalAt(n int) float64 {
	if t, ok := criticals.Load(n); ok {
		return t.(float64)
	}
	alpha := AlphaAt(n)
	if trimCount(n) > 0 {
		alpha /= 2 // the plain and the trimmed test share it
	}
	t := tCritical(alpha, float64(2*(n-1)))
	criticals.Store(n, t)
	return t
}

// withoutOutlierSE is Student's standard error of the difference of
// means after dropping, from each side, a sample that stands out (see
// outlier); 0 when neither side has one.
func withoutOutlierSE(a, b []float64) float64 {
	var kept [2][]float64
	dropped := false
	for i, s := range [][]float64{a, b} {
		kept[i] = s
		if far, ok := outlier(s); ok {
			kept[i], dropped = slices.Delete(slices.Clone(s), far, far+1), true
		}
	}
	if !dropped {
		return 0
	}
	return studentTest(kept[0], kept[1]).se
}

// Outlier is how far, in multiples of the others' farthest distance from
// the median, a sample must lie to be set aside as a slow boot.
const Outlier = 4

// outlier finds the sample of s farthest from its median, if it lies
// more than Outlier times farther than any other.
func outlier(s []float64) (int, bool) {
	if len(s) < 3 {
		return 0, false
	}
	m := Median(s)
	far, next := -1, 0.0
	for i := range s {
		if far < 0 || math.Abs(s[i]-m) > math.Abs(s[far]-m) {
			far = i
		}
	}
	for i := range s {
		if i != far {
			next = max(next, math.Abs(s[i]-m))
		}
	}
	return far, math.Abs(s[far]-m) > Outlier*next
}
