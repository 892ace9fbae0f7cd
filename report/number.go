package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/ktest-dev/ktest/results"
)

// pct formats a fraction as a percentage: one decimal under 10%.
func pct(f float64, sign string) string {
	p := f * 100
	if math.Abs(p) < 10 {
		return fmt.Sprintf("%s%.1f%%", sign, p)
	}
	return fmt.Sprintf("%s%.0f%%", sign, p)
}

func signedPct(f float64, minus string) string {
	if f < 0 {
		return pct(-f, minus)
	}
	return pct(f, "+")
}

// scale picks how a metric is shown: divisor, number suffix (k, M)
// attached to every number, and unit shown after the median only.
func scale(metric string, median float64) (div float64, suffix, unit string) {
	switch metric {
	case results.MetricWallMS:
		return 1000, "", " s"
	case results.MetricLatP50US, results.MetricLatP99US:
		switch {
		case median >= 1e6:
			return 1e6, "", " s"
		case median >= 1000:
			return 1000, "", " ms"
		}
		return 1, "", " µs"
	case results.MetricUserCPU, results.MetricSysCPU, results.MetricCPU:
		return 1, "", "%"
	}
	switch a := math.Abs(median); {
	case a >= 1e6:
		return 1e6, "M", ""
	case a >= 1e4:
		return 1000, "k", ""
	}
	return 1, "", ""
}

// sig3 prints about three significant digits: "3.41", "10.1", "1290".
// The decimals are chosen after rounding, so 9.996 prints "10.0".
func sig3(v float64) string {
	if v == 0 {
		return "0"
	}
	for _, d := range []int{2, 1} {
		s := strconv.FormatFloat(v, 'f', d, 64)
		if f, _ := strconv.ParseFloat(s, 64); math.Abs(f) < math.Pow(10, float64(3-d)) {
			return s
		}
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}

// num prints a value already divided into its display scale: counts
// (context switches, workers, IOPS) below the k threshold as integers,
// everything else to three significant digits.
func num(metric string, v float64, div float64) string {
	if div == 1 && isCount(metric) {
		return fmt.Sprintf("%.0f", v)
	}
	return sig3(v / div)
}

func isCount(metric string) bool {
	return metric == results.MetricCtxSwitches || metric == results.MetricWorkers || metric == results.MetricIOPS
}

// figure prints a median with its spread, "3.41 s (3.38–3.46)", or the
// median alone for a single sample.
func figure(metric string, m results.Metric, dash string) string {
	div, suffix, unit := scale(metric, m.Median)
	s := num(metric, m.Median, div) + suffix + unit
	if results.HasSpread(m) {
		s += fmt.Sprintf(" (%s%s%s%s%s)", num(metric, m.Min, div), suffix, dash, num(metric, m.Max, div), suffix)
	}
	return s
}

// plainNumber prints a value in its metric's scale, with suffix and unit.
func plainNumber(metric string, v float64) string {
	div, suffix, unit := scale(metric, v)
	return num(metric, v, div) + suffix + unit
}

// shortFigure prints a median compactly for fixed-width plain text:
// "3.41s", "12%", "31.2k", "850us".
func shortFigure(metric string, m results.Metric) string {
	div, suffix, unit := scale(metric, m.Median)
	unit = strings.TrimSpace(strings.ReplaceAll(unit, "µs", "us"))
	return num(metric, m.Median, div) + suffix + unit
}
