package results

// BenchComparison is one metric a run's A/B compares: a variant against
// the reference variant on one target and engine, as the summary and
// `ktest compare` judge it.
type BenchComparison struct {
	Variant, Target, Engine, Metric string
	A, B                            Metric
}

// BenchComparisons lists the stored metrics the run's A/B compares:
// every variant against the reference (named "baseline", else the
// first), on every target and engine both measured. The pipeline asks
// package verdict about each to decide on adaptive boots.
func (r *Run) BenchComparisons() []BenchComparison {
	var out []BenchComparison
	for _, pair := range r.BenchPairs() {
		ref, other := pair[0], pair[1]
		if other == nil {
			continue
		}
		for _, ta := range ref.Targets {
			tb := other.Target(ta.Name)
			if tb == nil {
				continue
			}
			for _, ea := range ta.Bench {
				eb := tb.Engine(ea.Engine)
				if eb == nil {
					continue
				}
				for _, m := range comparedMetrics {
					ma, ok1 := ea.Metrics[m]
					mb, ok2 := eb.Metrics[m]
					if ok1 && ok2 {
						out = append(out, BenchComparison{other.Name, ta.Name, ea.Engine, m, ma, mb})
					}
				}
			}
		}
	}
	return out
}
