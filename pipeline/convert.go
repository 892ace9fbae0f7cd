package pipeline

import (
	"github.com/ktest-dev/ktest/guest/proto"
	"github.com/ktest-dev/ktest/results"
)

// Converting ktest-readtest's documents into the run's results. A
// benchmark metric keeps one sample per boot: the median of that boot's
// repeats, so that the spread of the samples is the spread between boots,
// which is what verdicts must see.

// benchMetrics names the results metric of each readtest sample field.
var benchMetrics = []struct {
	name string
	get  func(proto.RunSample) float64
}{
	{results.MetricWallMS, func(s proto.RunSample) float64 { return s.WallMS }},
	{results.MetricIOPS, func(s proto.RunSample) float64 { return s.IOPS }},
	{results.MetricLatP50US, func(s proto.RunSample) float64 { return s.LatP50US }},
	{results.MetricLatP99US, func(s proto.RunSample) float64 { return s.LatP99US }},
	{results.MetricUserCPU, func(s proto.RunSample) float64 { return s.UserCPUPct }},
	{results.MetricSysCPU, func(s proto.RunSample) float64 { return s.SysCPUPct }},
	{results.MetricCtxSwitches, func(s proto.RunSample) float64 { return s.CtxSwitches }},
	{results.MetricWorkers, func(s proto.RunSample) float64 { return s.PeakWorkers }},
}

// convertTarget records the first boot's document: setup, mkfs, the
// correctness tests and the benchmark's first samples.
func convertTarget(doc *proto.TargetResult, rt *results.Target) {
	if doc.Error != "" {
		rt.Error = doc.Error
	}
	if m := doc.Mkfs; m != nil {
		rt.Mkfs = &results.Mkfs{Profile: m.Profile, Command: m.Command, Features: m.Features}
	}
	for _, t := range doc.Tests {
		rt.Tests = append(rt.Tests, convertTest(t))
	}
	mergeBench(doc, rt)
}

func convertTest(t proto.TestResult) results.Test {
	return results.Test{Name: t.Name, Status: results.TestStatus(t.Status), Message: t.Message,
		DurationMS: float64(t.DurationMS), Evidence: t.Evidence}
}

// mergeBench adds a boot's benchmark to rt: one sample per engine and
// metric. A failed engine becomes a failing "bench-<engine>" test, once.
func mergeBench(doc *proto.TargetResult, rt *results.Target) {
	for _, e := range doc.Bench {
		if e.Error != "" {
			if _, seen := rt.Test("bench-" + string(e.Engine)); !seen {
				rt.Tests = append(rt.Tests, results.Test{Name: "bench-" + string(e.Engine), Status: results.TestFail, Message: e.Error})
			}
		}
		if len(e.Runs) == 0 {
			continue
		}
		eng := rt.Engine(string(e.Engine))
		if eng == nil {
			rt.Bench = append(rt.Bench, results.Engine{Engine: string(e.Engine), Repeats: e.Repeats, Metrics: map[string]results.Metric{}})
			eng = &rt.Bench[len(rt.Bench)-1]
		}
		for _, m := range benchMetrics {
			samples := append(eng.Metrics[m.name].Samples, m.get(e.Median))
			eng.Metrics[m.name] = results.NewMetric(samples)
		}
	}
}
