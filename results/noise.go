package results

import (
	"math"
	"slices"
)

// NoiseFloor is the smallest relative change of medians ktest calls a
// difference (3%). Below it, even non-overlapping ranges are treated as
// noise: cold-cache reads under QEMU wobble by a few percent run to run
// and a reviewer should not be told "faster" about 1%.
const NoiseFloor = 0.03

// Diff is how one metric moved from a reference measurement A (the
// baseline, or the older run) to B (patched, or the newer run).
//
// Noise is defined as follows. A difference is Beyond noise when both
//
//  1. the relative change of medians |B.Median-A.Median| / |A.Median|
//     exceeds NoiseFloor (if A.Median is 0, any non-zero B counts), and
//  2. the spreads do not overlap: A's [Min,Max] and B's [Min,Max] are
//     disjoint intervals (touching ends overlap).
//
// The spread of a side is known when it has at least two samples (or,
// lacking samples, Min < Max). When either side has a single sample
// there is no spread to compare, so only rule 1 applies and NoSpread is
// set: renderings then qualify the verdict "(1 repeat, no spread)".
type Diff struct {
	// Change is (B-A)/|A| of the medians, e.g. -0.86 for "−86%". When
	// A's median is 0, Change is +1 or -1 (the sign of B), 0 if B is 0
	// too: renderings show such changes as "0 → 4", not as a percentage.
	Change   float64 `json:"change"`
	Beyond   bool    `json:"beyond_noise"`
	NoSpread bool    `json:"no_spread,omitempty"`
	// FromZero is set when A's median is 0, so Change is only a sign.
	FromZero bool `json:"from_zero,omitempty"`
}

// CompareMetric applies the noise rule documented on Diff to a and b.
func CompareMetric(a, b Metric) Diff {
	var d Diff
	switch {
	case a.Median != 0:
		d.Change = (b.Median - a.Median) / math.Abs(a.Median)
	case b.Median > 0:
		d.Change, d.FromZero = 1, true
	case b.Median < 0:
		d.Change, d.FromZero = -1, true
	default:
		d.FromZero = true
	}
	aboveFloor := math.Abs(d.Change) > NoiseFloor
	if d.FromZero {
		aboveFloor = b.Median != 0
	}
	if !hasSpread(a) || !hasSpread(b) {
		d.NoSpread = true
		d.Beyond = aboveFloor
		return d
	}
	disjoint := a.Max < b.Min || b.Max < a.Min
	d.Beyond = aboveFloor && disjoint
	return d
}

// hasSpread reports whether m carries a spread: two or more samples, or
// (for documents without samples) a non-empty [Min,Max].
func hasSpread(m Metric) bool {
	if len(m.Samples) >= 2 {
		return true
	}
	return len(m.Samples) == 0 && m.Min < m.Max
}

// metricCPU is the synthetic "user + sys" metric of the A/B tables; it
// is not stored in documents but compared like the stored ones.
const metricCPU = "cpu_pct"

// HigherIsBetter reports the good direction of a metric: true only for
// IOPS. Time, latency, CPU, context switches and io-wq workers are
// better lower.
func HigherIsBetter(metric string) bool {
	return metric == MetricIOPS
}

// Worse reports whether d, beyond noise, moved metric in its bad
// direction.
func (d Diff) Worse(metric string) bool {
	if !d.Beyond || d.Change == 0 {
		return false
	}
	return (d.Change > 0) != HigherIsBetter(metric)
}

// sumMetric adds two metrics sample by sample (user + sys CPU), so the
// sum's median and spread are those of real runs. Without matching
// samples it falls back to adding medians, minima and maxima.
func sumMetric(a, b Metric) Metric {
	if len(a.Samples) > 0 && len(a.Samples) == len(b.Samples) {
		s := make([]float64, len(a.Samples))
		for i := range s {
			s[i] = a.Samples[i] + b.Samples[i]
		}
		return metricOf(s)
	}
	return Metric{Median: a.Median + b.Median, Min: a.Min + b.Min, Max: a.Max + b.Max}
}

// metricOf summarises samples: median (mean of the middle two for an
// even count), min and max.
func metricOf(samples []float64) Metric {
	if len(samples) == 0 {
		return Metric{}
	}
	s := slices.Sorted(slices.Values(samples))
	m := Metric{Min: s[0], Max: s[len(s)-1], Samples: samples}
	if n := len(s); n%2 == 1 {
		m.Median = s[n/2]
	} else {
		m.Median = (s[n/2-1] + s[n/2]) / 2
	}
	return m
}
