package verdict_test

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/ktest-dev/ktest/plan"
	"github.com/ktest-dev/ktest/verdict"
)

// The power study: how often the rule, with adaptive boots, calls a
// change planted in software into resampled real boots, and how often it
// calls anything when nothing was planted (A/A). See the README's
// "Verdicts" section, which quotes its table.
//
// A trial is a whole run: every target's boots are drawn, with
// replacement, from the boots of a recorded run in which both variants
// ran the same kernel (so every difference is noise), a boot being all
// engines' and metrics' values of one target in one real boot, so that
// what moves together in a real boot moves together here. Each drawn
// value is jittered (a smoothed bootstrap whose kernel keeps the pool's
// variance), so that boots drawn twice are not identical copies. The
// planted change multiplies the patched side's values of the io_uring
// engines (the planted patches' engines; psync stays the control) by
// 1+size, wall time and IOPS together. Then the run proceeds as
// `ktest run` does: plan.Boots rounds, then one more round for every
// target with an undecided comparison of a metric the design gives
// adaptive boots to (the plan's adaptive_metrics), up to MaxBoots, each
// such round adding only those engines and the control.

// boot is one boot's values of one target: "engine/metric" -> value.
type boot map[string]float64

// pool is the boots of one recorded A/A run, per target, and the
// smoothing of each value.
type pool struct {
	name    string
	targets []string
	boots   map[string][]boot // target -> boots
	smooth  map[string]smoothing
}

// smoothing is the jitter of one target/engine/metric: on the log scale
// for positive values, mean mu, spread sd, kernel width h.
type smoothing struct {
	log       bool
	mu, sd, h float64
}

// aaPools builds a pool from every recorded A/A run whose guests had
// clock, whose file had fileSize and that ran on machine ("": any of
// either): all boots of both variants that ran every engine. Sample i of
// every comparison of a side is the side's i-th boot for the boots that
// ran every engine, since the boots that ran fewer came after them.
func aaPools(t *testing.T, clock, fileSize, machine string) []*pool {
	var out []*pool
	for _, r := range loadRecorded(t).Runs {
		if !strings.HasPrefix(r.Kind, "A/A") || r.Clock != clock ||
			fileSize != "" && r.FileSize != fileSize || machine != "" && r.Machine != machine {
			continue
		}
		p := &pool{name: r.Name, boots: map[string][]boot{}, smooth: map[string]smoothing{}}
		values := map[string][]float64{}
		sides := map[string]*[2][]boot{} // target -> each side's boots
		for _, c := range r.Comparisons {
			if !slices.Contains(p.targets, c.Target) {
				p.targets = append(p.targets, c.Target)
				sides[c.Target] = &[2][]boot{}
			}
			for side, samples := range [][]float64{c.A, c.B} {
				bs := sides[c.Target][side]
				for len(bs) < len(samples) {
					bs = append(bs, boot{})
				}
				for i, v := range samples {
					bs[i][c.Engine+"/"+c.Metric] = v
				}
				sides[c.Target][side] = bs
			}
			values[c.Target+"/"+c.Engine+"/"+c.Metric] = append(slices.Clone(c.A), c.B...)
		}
		for k, v := range values {
			p.smooth[k] = smoothingOf(v)
		}
		// A run's adaptive boots ran only some engines: the pool keeps
		// the boots that ran them all.
		for target, s := range sides {
			bs := append(s[0], s[1]...)
			most := 0
			for _, b := range bs {
				most = max(most, len(b))
			}
			p.boots[target] = slices.DeleteFunc(bs, func(b boot) bool { return len(b) < most })
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		t.Fatalf("no recorded A/A run with the %s clock, file size %q and machine %q", clock, fileSize, machine)
	}
	return out
}

func smoothingOf(v []float64) smoothing {
	s := smoothing{log: slices.Min(v) > 0}
	x := slices.Clone(v)
	if s.log {
		for i := range x {
			x[i] = math.Log(x[i])
		}
	}
	for _, y := range x {
		s.mu += y
	}
	s.mu /= float64(len(x))
	for _, y := range x {
		s.sd += (y - s.mu) * (y - s.mu)
	}
	s.sd = math.Sqrt(s.sd / float64(len(x)-1))
	// Silverman's rule of thumb.
	s.h = 1.06 * s.sd * math.Pow(float64(len(x)), -0.2)
	return s
}

// draw resamples one value: the recorded one, jittered, shrunk back so
// that the pool's variance is kept.
func (s smoothing) draw(rng *rand.Rand, v float64) float64 {
	if s.sd == 0 {
		return v
	}
	y := v
	if s.log {
		y = math.Log(v)
	}
	y = s.mu + (y-s.mu+s.h*rng.NormFloat64())/math.Sqrt(1+s.h*s.h/(s.sd*s.sd))
	if s.log {
		return math.Exp(y)
	}
	return y
}

// drawBoot draws one boot of target from p, with plant applied:
// "engine/metric" -> factor.
func (p *pool) drawBoot(rng *rand.Rand, target string, plant map[string]float64) boot {
	src := p.boots[target][rng.IntN(len(p.boots[target]))]
	b := boot{}
	for _, k := range slices.Sorted(maps.Keys(src)) { // sorted: a seed gives one answer
		v := src[k]
		b[k] = p.smooth[target+"/"+k].draw(rng, v)
		if f, ok := plant[k]; ok {
			b[k] *= f
		}
	}
	return b
}

// design is a plan's boots, budget and adaptive metrics (nil: every
// metric earns boots).
type design struct {
	boots, max int
	adaptive   []string
}

// adaptiveText names the metrics that earn boots.
func (d design) adaptiveText() string {
	if d.adaptive == nil {
		return "every metric"
	}
	return strings.Join(d.adaptive, ", ")
}

// studyDesign is the default plan's design with budget max.
func studyDesign(max int) design {
	return design{boots: 3, max: max, adaptive: plan.Default().AdaptiveMetrics}
}

// runOutcome is one simulated run: the comparisons called
// ("target/engine/metric" -> judgement) and boots per variant.
type runOutcome struct {
	called map[string]verdict.Judgement
	boots  int
}

const control = "psync"

// simulate runs one trial on p: both variants drawn from p, the B side
// with plant. An adaptive round adds to a target only the values of the
// engines with an undecided metric and of the control, as the
// pipeline's rounds do.
func simulate(rng *rand.Rand, p *pool, plant map[string]float64, d design) runOutcome {
	out := runOutcome{called: map[string]verdict.Judgement{}}
	for _, target := range p.targets {
		a, b := columns{}, columns{}
		for range d.boots {
			a.add(p.drawBoot(rng, target, nil), nil)
			b.add(p.drawBoot(rng, target, plant), nil)
		}
		for {
			js := judgeTarget(a, b)
			engines := map[string]bool{}
			for k, j := range js {
				engine, metric, _ := strings.Cut(k, "/")
				if j.Undecided(d.max) && (d.adaptive == nil || slices.Contains(d.adaptive, metric)) {
					engines[engine] = true
				}
			}
			if len(engines) == 0 {
				for k, j := range js {
					if j.Called() {
						out.called[target+"/"+k] = j
					}
				}
				break
			}
			engines[control] = true
			a.add(p.drawBoot(rng, target, nil), engines)
			b.add(p.drawBoot(rng, target, plant), engines)
		}
		out.boots = max(out.boots, a.most())
	}
	return out
}

// columns are one side's samples of a target: "engine/metric" -> one
// value a boot that ran the engine.
type columns map[string][]float64

// add appends the values of bt whose engine is in engines (nil: all).
func (c columns) add(bt boot, engines map[string]bool) {
	for k, v := range bt {
		if engine, _, _ := strings.Cut(k, "/"); engines == nil || engines[engine] {
			c[k] = append(c[k], v)
		}
	}
}

// most is the largest number of samples of any engine: the boots.
func (c columns) most() int {
	n := 0
	for _, v := range c {
		n = max(n, len(v))
	}
	return n
}

// judgeTarget judges every engine/metric of one target's samples, the
// control's drift holding back the other engines' changes.
func judgeTarget(a, b columns) map[string]verdict.Judgement {
	keys := slices.Sorted(maps.Keys(a))
	js := map[string]verdict.Judgement{}
	for _, k := range keys {
		j := verdict.Judge(a[k], b[k])
		if engine, metric, _ := strings.Cut(k, "/"); engine != control {
			if ca, ok := a[control+"/"+metric]; ok {
				j = j.HoldBy(ca, b[control+"/"+metric])
			}
		}
		js[k] = j
	}
	return js
}

// plantOn is the planted change: size on metric of the io_uring
// engines; a planted wall time moves IOPS the other way.
func plantOn(metric string, size float64) map[string]float64 {
	plant := map[string]float64{}
	for _, e := range []string{"io_uring", "io_uring-offload"} {
		plant[e+"/"+metric] = 1 + size
		if metric == "wall_ms" {
			plant[e+"/iops"] = 1 / (1 + size)
		}
	}
	return plant
}

// studyRow is one line of the power table.
type studyRow struct {
	metric       string
	size         float64
	found        float64 // fraction of planted comparisons called, in the right direction
	falseRuns    float64 // fraction of runs with a call on an unplanted comparison
	medianBoots  int
	worstBoots   int
	trials, cmps int
}

func study(rng *rand.Rand, pools []*pool, metric string, size float64, d design, trials int) studyRow {
	row := studyRow{metric: metric, size: size, trials: trials}
	plant := map[string]float64{}
	if size != 0 {
		plant = plantOn(metric, size)
	}
	var bootsUsed []int
	found, planted, falseRuns := 0, 0, 0
	for i := range trials {
		p := pools[i%len(pools)]
		o := simulate(rng, p, plant, d)
		bootsUsed = append(bootsUsed, o.boots)
		falseCall := false
		for k := range o.called {
			if _, ok := plant[strings.SplitN(k, "/", 2)[1]]; !ok {
				falseCall = true
			}
		}
		if falseCall {
			falseRuns++
		}
		for _, target := range p.targets {
			for k, f := range plant {
				if strings.HasSuffix(k, "/iops") {
					continue // the same measurement as wall time
				}
				planted++
				if j, ok := o.called[target+"/"+k]; ok && (j.Change > 0) == (f > 1) {
					found++
				}
			}
		}
	}
	if planted > 0 {
		row.found = float64(found) / float64(planted)
	}
	row.cmps = planted
	row.falseRuns = float64(falseRuns) / float64(trials)
	slices.Sort(bootsUsed)
	row.medianBoots, row.worstBoots = bootsUsed[len(bootsUsed)/2], bootsUsed[len(bootsUsed)-1]
	return row
}

func (r studyRow) String() string {
	size := "A/A"
	if r.size != 0 {
		size = fmt.Sprintf("%+.0f%%", r.size*100)
	}
	found := "—"
	if r.size != 0 {
		found = fmt.Sprintf("%.1f%%", r.found*100)
	}
	metric := r.metric
	if metric == "" {
		metric = "nothing (A/A)"
	}
	return fmt.Sprintf("| %s | %s | %s | %.1f%% | %d | %d |", metric, size, found, r.falseRuns*100, r.medianBoots, r.worstBoots)
}

// TestPowerStudy prints the power table of each guest clock and checks
// the claims the README makes from it. Under the instruction clock (the
// default under TCG), with the default plan's design (max_boots 12,
// adaptive boots for wall time): an A/A run calls anything less than
// once in 20 runs; a planted +25% of wall time is called in nearly every
// trial and +10% in 9 of 10 on each machine's runs (93% over both, 96%
// on machine A's, 90% on machine B's, whose boots spread more; 81% there
// at 12M). The budget table says what each budget buys, and what giving
// every metric boots would. Under the host clock, whose recorded runs
// are the noisiest the rule has seen, wall time is noise and only large
// sys CPU changes are found when every metric earns boots; the table
// says what it missed.
func TestPowerStudy(t *testing.T) {
	trials := 2000
	if testing.Short() {
		trials = 200
	}
	for _, clock := range []string{"instructions", "host"} {
		t.Run(clock, func(t *testing.T) {
			// Under the instruction clock, the default plan's runs: the
			// spread of a boot depends on how much one reads.
			size := ""
			if clock == "instructions" {
				size = plan.Default().FileSize
			}
			pools := aaPools(t, clock, size, "")
			d := studyDesign(studyMaxBoots)
			if clock == "host" {
				// Wall time is noise under the host clock (below), so the
				// table gives every metric boots, as the README says a
				// plan run there should (at least sys CPU); the default
				// plan's wall time alone is logged beside it.
				d.adaptive = nil
				r := study(rand.New(rand.NewPCG(21, 2)), pools, "sys_cpu_pct", 0.5, studyDesign(studyMaxBoots), trials)
				t.Logf("adaptive boots for wall time alone (the default plan's): sys CPU +50%% found in %.1f%% of trials", r.found*100)
			}
			rows := powerTable(t, pools, d, trials)
			if r := rows["A/A"]; r.falseRuns >= 1.0/20 {
				t.Errorf("A/A: %.1f%% of runs called a change, want under 1 in 20", r.falseRuns*100)
			}
			if clock == "host" {
				if r := rows["sys_cpu_pct +50%"]; r.found < 0.9 {
					t.Errorf("sys CPU +50%% found in %.1f%% of trials, want at least 90%%", r.found*100)
				}
				return
			}
			if r := rows["wall_ms +25%"]; r.found < 0.99 {
				t.Errorf("wall time +25%% found in %.1f%% of trials, want at least 99%%", r.found*100)
			}
			// The issue asks for 9 in 10 on each machine: machine B's
			// floor is that claim (measured 90.3%). The others sit a
			// little under the measured figures (93.0% over both, 96.0%
			// on A, 81.4% on B at 12M), as guards against a rule that
			// calls less, from 2000 trials a row; -short's 200 have a
			// standard error of about 2%, and get 5 points of slack.
			slack := 0.0
			if trials < 2000 {
				slack = 0.05
			}
			if r := rows["wall_ms +10%"]; r.found < 0.92-slack {
				t.Errorf("max_boots %d: wall time +10%% found in %.1f%% of %d trials, want at least %.0f%%", studyMaxBoots, r.found*100, trials, (0.92-slack)*100)
			}
			for _, m := range []struct {
				size, machine string
				want          float64
			}{{"24M", "A", 0.94}, {"24M", "B", 0.90}, {"12M", "B", 0.78}} {
				if r := sizeRow(t, m.size, m.machine, trials); r.found < m.want-slack {
					t.Errorf("%s file, machine %s: wall time +10%% found in %.1f%% of %d trials, want at least %.0f%%",
						m.size, m.machine, r.found*100, trials, (m.want-slack)*100)
				}
			}
			realRunSizes(t, clock, trials)
		})
	}
}

// realRunSizes logs the study on ext4 alone at the sizes the real runs
// of plans/power-slowread.toml measured (the planted loops slowed
// io_uring async by +6-8%, +13-17% and +34-35%), for the README to set
// beside what those runs called, at that plan's budget.
func realRunSizes(t *testing.T, clock string, trials int) {
	pools := aaPools(t, clock, powerPlanFileSize, "A") // where the real runs were made
	for _, p := range pools {
		p.targets = []string{"ext4"}
	}
	rng := rand.New(rand.NewPCG(21, 6))
	for _, size := range []float64{0.06, 0.08, 0.13, 0.17, 0.34} {
		r := study(rng, pools, "wall_ms", size, design{boots: 3, max: powerPlanMaxBoots}, trials/2)
		t.Logf("ext4 alone, wall time %+.0f%%: found in %.1f%% of trials, %.1f%% of runs with a false call", size*100, r.found*100, r.falseRuns*100)
	}
}

// sizeRow logs the study's main rows on the A/A runs of one file size
// and machine, for the README to say what each buys, and returns the
// +10% row.
func sizeRow(t *testing.T, size, machine string, trials int) studyRow {
	pools := aaPools(t, "instructions", size, machine)
	rng := rand.New(rand.NewPCG(21, 1))
	d := studyDesign(studyMaxBoots)
	aa := study(rng, pools, "", 0, d, trials)
	wall := study(rng, pools, "wall_ms", 0.10, d, trials)
	t.Logf("%s file, machine %s, %d A/A runs: A/A runs with a false call %.1f%%, wall time +10%% found in %.1f%% (boots median %d, worst %d)",
		size, machine, len(pools), aa.falseRuns*100, wall.found*100, wall.medianBoots, wall.worstBoots)
	return wall
}

// powerTable logs the study's rows for pools (and, without -short, what
// more boots buy) and returns them by "metric +size%", the A/A row as
// "A/A".
func powerTable(t *testing.T, pools []*pool, d design, trials int) map[string]studyRow {
	rng := rand.New(rand.NewPCG(21, 1))
	t.Logf("%d trials a row, boots from %d recorded A/A run(s) (%d comparisons a run), boots %d, max_boots %d, adaptive metrics %s",
		trials, len(pools), comparisons(pools[0]), d.boots, d.max, d.adaptiveText())
	t.Logf("| planted on | size | called | runs with a false call | boots a variant, median | worst |")
	t.Logf("|---|--:|--:|--:|--:|--:|")
	rows := map[string]studyRow{"A/A": study(rng, pools, "", 0, d, trials)}
	t.Log(rows["A/A"])
	for _, metric := range []string{"wall_ms", "sys_cpu_pct", "ctx_switches"} {
		for _, size := range []float64{0.05, 0.10, 0.25, 0.50, 1.0} {
			r := study(rng, pools, metric, size, d, trials)
			rows[fmt.Sprintf("%s %+.0f%%", metric, size*100)] = r
			t.Log(r)
		}
	}
	if testing.Short() {
		return rows
	}
	// The budget: what more boots buy.
	t.Logf("| max_boots, adaptive metrics | wall +5%% | wall +10%% | wall +50%% | sys +10%% | sys +25%% | A/A runs with a false call | A/A boots median | worst |")
	var budgets []design
	for _, budget := range []int{3, 4, 6, 8, 12} {
		budgets = append(budgets, design{boots: 3, max: budget, adaptive: d.adaptive})
	}
	if d.adaptive != nil {
		budgets = append(budgets, design{boots: 3, max: d.max}) // what giving every metric boots buys
	}
	for _, d := range budgets {
		aa := study(rng, pools, "", 0, d, trials/2)
		line := fmt.Sprintf("| %d, %s |", d.max, d.adaptiveText())
		for _, c := range []struct {
			metric string
			size   float64
		}{{"wall_ms", 0.05}, {"wall_ms", 0.1}, {"wall_ms", 0.5}, {"sys_cpu_pct", 0.1}, {"sys_cpu_pct", 0.25}} {
			line += fmt.Sprintf(" %.1f%% |", study(rng, pools, c.metric, c.size, d, trials/2).found*100)
		}
		t.Logf("%s %.1f%% | %d | %d |", line, aa.falseRuns*100, aa.medianBoots, aa.worstBoots)
	}
	return rows
}

// studyMaxBoots is the budget the study runs with: the default plan's.
const studyMaxBoots = plan.DefaultMaxBoots

// powerPlanMaxBoots and powerPlanFileSize are plans/power-slowread.toml's
// budget and file, under which the real power runs were made; every
// metric earned adaptive boots in them.
const (
	powerPlanMaxBoots = 6
	powerPlanFileSize = "24M"
)

func comparisons(p *pool) int {
	n := 0
	for _, bs := range p.boots {
		n += len(bs[0])
	}
	return n
}
