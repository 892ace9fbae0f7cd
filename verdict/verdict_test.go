package verdict

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestJudge(t *testing.T) {
	tests := []struct {
		name string
		a, b []float64
		want Outcome
		why  string
	}{
		{"one boot each", []float64{10}, []float64{5}, TooFew, "1 boot: not enough samples"},
		{"two boots", []float64{10, 11}, []float64{5, 5.5}, TooFew, "2 boots"},
		{"three against two", []float64{10, 11, 12}, []float64{5, 5.5}, TooFew, "2 boots"},
		{"clear drop", []float64{10, 11, 10.5}, []float64{3, 3.2, 3.1}, Changed, ""},
		{"below the floor", []float64{100, 100.5, 100.2}, []float64{102, 102.4, 102.2}, Same, "below the 3% floor"},
		{"overlapping ranges", []float64{10, 14, 12}, []float64{13, 15, 16}, Same, "overlap"},
		{"disjoint but close", []float64{10, 12, 11}, []float64{12.5, 14.5, 13}, Same, "apart by less than their width"},
		{"workers 4 to 0", []float64{4, 4, 4}, []float64{0, 0, 0}, Changed, ""},
		{"from zero", []float64{0, 0, 0}, []float64{4, 4, 4}, Changed, ""},
		{"zero to zero", []float64{0, 0, 0}, []float64{0, 0, 0}, Same, "no change"},
		{"workers 4 to 0 once", []float64{4, 4, 4}, []float64{0, 4, 0}, Same, "overlap"},
		// Log scale: 1–2 is as wide as 4–8, so 2.1–4 is not far enough
		// from 1–2 although it is in absolute terms.
		{"log scale", []float64{1, 2, 1.5}, []float64{2.1, 4, 3}, Same, "apart by less than their width"},
		{"log scale, far", []float64{1, 2, 1.5}, []float64{4.1, 8, 6}, Changed, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j := Judge(tc.a, tc.b)
			if j.Outcome != tc.want || !strings.Contains(j.Why, tc.why) {
				t.Errorf("Judge = %v (%q), want %v (%q)", j.Outcome, j.Why, tc.want, tc.why)
			}
			if j.Called() != (tc.want == Changed) {
				t.Errorf("Called() = %v", j.Called())
			}
		})
	}
}

// TestDecides: Judge calls nothing exactly when Decides says the sample
// counts cannot decide.
func TestDecides(t *testing.T) {
	for na := 0; na <= MinSamples+1; na++ {
		for nb := 0; nb <= MinSamples+1; nb++ {
			a, b := make([]float64, na), make([]float64, nb)
			for i := range a {
				a[i] = 10 + float64(i)*0.01
			}
			for i := range b {
				b[i] = 2 + float64(i)*0.01
			}
			j := Judge(a, b)
			if got := Decides(na, nb); got != (j.Outcome != TooFew) {
				t.Errorf("Decides(%d, %d) = %v, but Judge says %v", na, nb, got, j.Outcome)
			}
		}
	}
	if Decides(1, 1) || !Decides(MinSamples, MinSamples) {
		t.Errorf("Decides(1, 1) = %v, Decides(%d, %d) = %v", Decides(1, 1), MinSamples, MinSamples, Decides(MinSamples, MinSamples))
	}
}

func TestChange(t *testing.T) {
	j := Judge([]float64{10, 10, 10}, []float64{2.5, 2.5, 2.5})
	if j.Change != -0.75 || j.FromZero {
		t.Errorf("change %v from zero %v", j.Change, j.FromZero)
	}
	j = Judge([]float64{0, 0, 0}, []float64{4, 4, 4})
	if j.Change != 1 || !j.FromZero {
		t.Errorf("from zero: change %v from zero %v", j.Change, j.FromZero)
	}
}

func TestHold(t *testing.T) {
	control := Judge([]float64{10, 10.2, 10.1}, []float64{7, 7.1, 7.2}) // −30%
	if !control.Called() {
		t.Fatalf("control %+v", control)
	}
	small := Judge([]float64{10, 10.2, 10.1}, []float64{8, 8.1, 8.2}) // −20%
	big := Judge([]float64{10, 10.2, 10.1}, []float64{3, 3.1, 3.2})   // −70%
	if h := small.Hold(control); h.Outcome != Held || !strings.Contains(h.Why, "control's drift (-30%)") {
		t.Errorf("small change beside a drifting control: %+v", h)
	}
	if h := big.Hold(control); h.Outcome != Changed {
		t.Errorf("big change beside a drifting control: %+v", h)
	}
	quiet := Judge([]float64{10, 10.2, 10.1}, []float64{10.1, 10, 10.2})
	if h := small.Hold(quiet); h.Outcome != Changed {
		t.Errorf("change beside a quiet control: %+v", h)
	}
}

// TestFalseCallRate checks the claim of the package documentation: with
// both sides drawn from one distribution (an A/A run), the rule calls a
// change in well under 1% of comparisons with three boots per side.
func TestFalseCallRate(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		n    int
		max  float64
		name string
	}{{3, 0.01, "3 boots"}, {4, 0.002, "4 boots"}} {
		const trials = 200000
		called := 0
		for range trials {
			a, b := make([]float64, tc.n), make([]float64, tc.n)
			for i := range a {
				// Between-boot noise of ±10% around 100 on a log scale.
				a[i] = 100 * math.Exp(0.1*rng.NormFloat64())
				b[i] = 100 * math.Exp(0.1*rng.NormFloat64())
			}
			if Judge(a, b).Called() {
				called++
			}
		}
		rate := float64(called) / trials
		t.Logf("%s: %.3f%% of A/A comparisons called", tc.name, rate*100)
		if rate > tc.max {
			t.Errorf("%s: false call rate %.3f%%, want under %.2f%%", tc.name, rate*100, tc.max*100)
		}
	}
}

func TestStats(t *testing.T) {
	if m := Median([]float64{3, 1, 2}); m != 2 {
		t.Errorf("median %v", m)
	}
	if m := Median([]float64{4, 1, 2, 3}); m != 2.5 {
		t.Errorf("even median %v", m)
	}
	if s := RelStddev([]float64{9, 10, 11}); math.Abs(s-0.1) > 1e-9 {
		t.Errorf("relative stddev %v, want 0.1", s)
	}
	if s := RelStddev([]float64{5}); s != 0 {
		t.Errorf("one sample: %v", s)
	}
}
