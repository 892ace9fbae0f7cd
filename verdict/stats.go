package verdict

import (
	"math"
	"slices"
)

// The statistics the rule uses: Student's t-test, its trimmed form
// (Yuen and Dixon's: trimmed means, winsorized sums of squares), and the
// Student t distribution they are referred to.
//
// Both pool the two sides' spreads. They test whether the two sides are
// one distribution, which is what an A/A run is and what a false call
// would wrongly deny; Welch's unpooled test would also allow unequal
// spreads under that hypothesis, at the price of as few as 2 degrees of
// freedom with 3 boots a side.

// tTest is a two-sample test on samples already on the rule's scale.
type tTest struct {
	diff float64 // (trimmed) mean of b minus (trimmed) mean of a
	se   float64 // standard error of diff
	df   float64 // degrees of freedom
}

// trimmed is one side's part of the trimmed t-test with g samples set
// aside at each end: the trimmed mean, the winsorized sum of squares
// (the g smallest counted as the (g+1)th, the g largest as the (g+1)th
// largest), and h, the samples kept.
func trimmed(s []float64, g int) (mean, ssw float64, h int) {
	x := slices.Sorted(slices.Values(s))
	n := len(x)
	h = n - 2*g
	for _, v := range x[g : n-g] {
		mean += v
	}
	mean /= float64(h)
	w := slices.Clone(x)
	for i := range g {
		w[i], w[n-1-i] = x[g], x[n-1-g]
	}
	var wm float64
	for _, v := range w {
		wm += v
	}
	wm /= float64(n)
	for _, v := range w {
		ssw += (v - wm) * (v - wm)
	}
	return mean, ssw, h
}

// trimCount is how many samples the trimmed test sets aside at each end
// of a side of n: Trim of them, rounded down.
func trimCount(n int) int { return int(Trim * float64(n)) }

// studentTest is Student's t-test, pooling the two sides' spreads.
func studentTest(a, b []float64) tTest {
	ma, ssa, ha := trimmed(a, 0)
	mb, ssb, hb := trimmed(b, 0)
	df := ha + hb - 2
	pooled := (ssa + ssb) / float64(df)
	return tTest{diff: mb - ma, se: math.Sqrt(pooled * (1/float64(ha) + 1/float64(hb))), df: float64(df)}
}

// trimmedTest is the trimmed t-test (Yuen and Dixon's), ga samples set
// aside at each end of a and gb of b, spreads pooled. Its statistic is
// not quite Student-distributed with the kept samples' degrees of
// freedom: set against normal samples of 5 to 20 a side it matches
// Student's t with 0.5 (5 a side) to 5 (20 a side) fewer, so it is
// referred to 2(h-1) - g·n/8 of them (per side, summed), which is that
// or fewer at every count (TestPValues). Unpooled (Yuen's form) it would
// hold too, with as few as 2 degrees of freedom.
func trimmedTest(a, b []float64, ga, gb int) tTest {
	ma, ssa, ha := trimmed(a, ga)
	mb, ssb, hb := trimmed(b, gb)
	pooled := (ssa + ssb) / float64(ha+hb-2)
	df := float64(ha+hb-2) - float64(ga*len(a)+gb*len(b))/16
	return tTest{diff: mb - ma, se: math.Sqrt(pooled * (1/float64(ha) + 1/float64(hb))), df: df}
}

// p is the two-sided p-value: 1 for no difference, 0 for a difference
// without any spread (io-wq workers 4,4,4 against 0,0,0).
func (y tTest) p() float64 {
	switch {
	case y.diff == 0:
		return 1
	case y.se == 0:
		return 0
	}
	return tTail(math.Abs(y.diff)/y.se, y.df)
}

// tTail is P(|T| >= t) for Student's t with df degrees of freedom.
func tTail(t, df float64) float64 {
	return incBeta(df/2, 0.5, df/(df+t*t))
}

// tCritical is the t with tTail(t, df) = p.
func tCritical(p, df float64) float64 {
	lo, hi := 0.0, 1.0
	for tTail(hi, df) > p {
		hi *= 2
	}
	for range 60 {
		mid := (lo + hi) / 2
		if tTail(mid, df) > p {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi
}

// incBeta is the regularized incomplete beta function I_x(a, b), by its
// continued fraction (Lentz's method).
func incBeta(a, b, x float64) float64 {
	switch {
	case x <= 0:
		return 0
	case x >= 1:
		return 1
	case x > (a+1)/(a+b+2):
		// The fraction converges fast only below this point.
		return 1 - incBeta(b, a, 1-x)
	}
	lab, _ := math.Lgamma(a + b)
	la, _ := math.Lgamma(a)
	lb, _ := math.Lgamma(b)
	front := math.Exp(lab-la-lb+a*math.Log(x)+b*math.Log(1-x)) / a
	const tiny = 1e-300
	clamp := func(v float64) float64 {
		if math.Abs(v) < tiny {
			return tiny
		}
		return v
	}
	c, d := 1.0, 1/clamp(1-(a+b)*x/(a+1))
	f := d
	for m := 1.0; m <= 300; m++ {
		// Even step, then odd step of the fraction.
		num := m * (b - m) * x / ((a + 2*m - 1) * (a + 2*m))
		d = 1 / clamp(1+num*d)
		c = clamp(1 + num/c)
		f *= c * d
		num = -(a + m) * (a + b + m) * x / ((a + 2*m) * (a + 2*m + 1))
		d = 1 / clamp(1+num*d)
		c = clamp(1 + num/c)
		f *= c * d
		if math.Abs(c*d-1) < 1e-15 {
			break
		}
	}
	return front * f
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
