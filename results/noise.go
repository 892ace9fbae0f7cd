package results

import (
	"slices"

	"github.com/ktest-dev/ktest/verdict"
)

// Diff is how one metric moved from a reference measurement A (the
// baseline, or the older run) to B (patched, or the newer run), judged
// by package verdict's rule: the only one ktest has.
type Diff struct {
	verdict.Judgement
}

// CompareMetric judges a against b by their samples (one per boot). A
// metric without samples (an old document) counts as one sample, its
// median: enough to say how it moved, not to call the move.
func CompareMetric(a, b Metric) Diff {
	return Diff{verdict.Judge(a.samples(), b.samples())}
}

func (m Metric) samples() []float64 {
	if len(m.Samples) == 0 {
		return []float64{m.Median}
	}
	return m.Samples
}

// HasSpread reports whether m carries a spread: two or more samples, or
// (for documents without samples) a non-empty [Min,Max].
func HasSpread(m Metric) bool {
	if len(m.Samples) >= 2 {
		return true
	}
	return len(m.Samples) == 0 && m.Min < m.Max
}

// metricCPU is the synthetic "user + sys" metric of the A/B tables; it
// is not stored in documents but compared like the stored ones.
const MetricCPU = "cpu_pct"

// HigherIsBetter reports the good direction of a metric: true only for
// IOPS. Time, latency, CPU, context switches and io-wq workers are
// better lower.
func HigherIsBetter(metric string) bool {
	return metric == MetricIOPS
}

// Worse reports whether d, called, moved metric in its bad direction.
func (d Diff) Worse(metric string) bool {
	if !d.Called() || d.Change == 0 {
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
		return NewMetric(s)
	}
	return Metric{Median: a.Median + b.Median, Min: a.Min + b.Min, Max: a.Max + b.Max}
}

// NewMetric summarises samples: median (mean of the middle two for an
// even count), min and max.
func NewMetric(samples []float64) Metric {
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
