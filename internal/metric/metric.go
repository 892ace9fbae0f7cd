// Package metric names the benchmark metrics a run stores and judges:
// the words a plan (adaptive_metrics), results and reports share. It
// sits below every layer so that a plan can name them without importing
// the results it will produce.
package metric

// The stored metrics' names, as in results.json.
const (
	WallMS      = "wall_ms"
	IOPS        = "iops"
	LatP50US    = "lat_p50_us"
	LatP99US    = "lat_p99_us"
	UserCPU     = "user_cpu_pct"      // system-wide, io-wq workers included
	SysCPU      = "sys_cpu_pct"       // system+irq+softirq
	CtxSwitches = "ctx_switches"      // system-wide /proc/stat ctxt delta
	Workers     = "iowq_workers_peak" // most io-wq workers seen at once
)

// Compared are the stored metrics a comparison judges, in report order.
func Compared() []string {
	return []string{WallMS, IOPS, LatP50US, LatP99US, UserCPU, SysCPU, CtxSwitches, Workers}
}
