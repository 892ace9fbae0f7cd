package report

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/ktest-dev/ktest/results"
)

// KCIDB tests: what ran on a variant's kernel.

// kcidbTestsOf maps a variant's boot, tests, setup failures, crashes and
// benchmark medians; the caller sets origin, build and environment.
func kcidbTestsOf(r *results.Run, v *results.Variant, id string) []*kcidbTest {
	var out []*kcidbTest
	if st := stepTestStatus(v.Boot.Status); st != "" {
		t := &kcidbTest{ID: id + "/boot", Path: "ktest.boot", Status: st, Duration: v.Boot.Seconds}
		if e := r.Error; e != nil && e.Stage == "boot" && e.Variant == v.Name {
			t.LogExcerpt = kcidbExcerpt(e.Message)
		}
		out = append(out, t)
	}
	for _, tg := range v.Targets {
		tid := id + "/" + tg.Name
		if tg.Error != "" {
			out = append(out, &kcidbTest{ID: tid, Path: "ktest.setup." + pathWord(tg.Name), Status: "ERROR",
				Comment: "the target could not be set up (mkfs, mount or the test file)", LogExcerpt: kcidbExcerpt(tg.Error)})
		}
		for _, tc := range tg.Tests {
			t := &kcidbTest{ID: tid + "/" + tc.Name, Path: "ktest.correctness." + pathWord(tg.Name) + "." + pathWord(tc.Name),
				Status: testStatus(tc.Status), Duration: tc.DurationMS / 1000}
			if tc.Status != results.TestPass && tc.Status != results.TestFail && tc.Status != results.TestSkip {
				t.Misc = map[string]any{"ktest_status": string(tc.Status)}
			}
			if tc.Message != "" {
				t.LogExcerpt = kcidbExcerpt(tc.Message)
			}
			out = append(out, t)
		}
		for _, en := range tg.Bench {
			for _, name := range slices.Sorted(maps.Keys(en.Metrics)) {
				m := en.Metrics[name]
				n := metricNumber(name, m.Median)
				out = append(out, &kcidbTest{ID: tid + "/bench/" + en.Engine + "/" + name,
					Path:   "ktest.bench." + pathWord(tg.Name) + "." + pathWord(en.Engine) + "." + pathWord(name),
					Status: "DONE", Number: &n, Comment: "median of " + fmt.Sprint(len(m.Samples)) + " samples",
					Misc: map[string]any{"min": m.Min, "max": m.Max, "samples": m.Samples, "repeats": en.Repeats}})
			}
		}
	}
	for i, c := range v.Crashes {
		out = append(out, &kcidbTest{ID: fmt.Sprintf("%s/crash/%d", id, i+1), Path: "ktest.crash." + pathWord(results.OrDefault(c.During, "unknown")),
			Status: "FAIL", Comment: kcidbText(c.Kind + ": " + c.Title), LogExcerpt: kcidbExcerpt(c.Title + "\n" + c.Excerpt),
			Misc: map[string]any{"kind": c.Kind, "during": c.During}})
	}
	return out
}

// testStatus maps a correctness test. A hang is FAIL: the test's own
// timeout is its verdict that the kernel never completed a read, which
// is the tested code being faulty, not the test failing to run (ERROR).
// A status this ktest does not know is ERROR: the outcome is unknown.
func testStatus(s results.TestStatus) string {
	switch s {
	case results.TestPass:
		return "PASS"
	case results.TestFail, results.TestHung:
		return "FAIL"
	case results.TestSkip:
		return "SKIP"
	}
	return "ERROR"
}

// stepTestStatus maps a boot; "" for one not attempted.
func stepTestStatus(s results.StepStatus) string {
	switch s {
	case results.StepOK:
		return "PASS"
	case results.StepFailed:
		return "FAIL"
	case results.StepSkipped:
		return "SKIP"
	}
	return ""
}

// metricNumber gives a median its unit. Units follow the metric's name
// (ms stays ms) so a value reads the same in ktest and in KCIDB.
func metricNumber(name string, v float64) kcidbNumber {
	n := kcidbNumber{Value: v}
	switch name {
	case results.MetricWallMS:
		n.Unit = "ms"
	case results.MetricLatP50US, results.MetricLatP99US:
		n.Unit = "us"
	case results.MetricIOPS:
		n.Unit, n.Prefix = "IOPS", "metric"
	case results.MetricUserCPU, results.MetricSysCPU:
		n.Unit = "%"
	case results.MetricCtxSwitches:
		n.Prefix = "metric"
	}
	return n
}

func kcidbEnv(r *results.Run) *kcidbEnvironment {
	e := &kcidbEnvironment{Misc: map[string]any{}}
	words := []string{"QEMU"}
	if r.Host.QEMU != "" {
		words = append(words, r.Host.QEMU)
	}
	if r.Accel != "" {
		words = append(words, "("+r.Accel+")")
	}
	if r.Host.Hostname != "" {
		words = append(words, "on", r.Host.Hostname)
	}
	e.Comment = kcidbText(strings.Join(words, " "))
	for name, val := range map[string]string{"accel": r.Accel, "accel_reason": r.AccelReason, "host_kernel": r.Host.Kernel, "qemu": r.Host.QEMU} {
		if val != "" {
			e.Misc[name] = val
		}
	}
	if r.Host.CPUs > 0 {
		e.Misc["host_cpus"] = r.Host.CPUs
	}
	return e
}
