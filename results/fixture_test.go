package results

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"
)

func sha256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// The fixture is shaped like a real TCG measurement of the default
// plan: baseline = 6.1 with FMODE_BUF_RASYNC removed (buffered reads
// punted to io-wq), patched = stock 6.1. Samples are per repeat.

var fixtureTests = []string{
	"rand4k-qd32-cold", "rand4k-qd32-warm", "unaligned-span", "eof", "large-read",
	"concurrent-waiters", "truncate-race", "readv-multi-iovec", "force-async", "preadv",
}

var fixtureTargets = []string{"ext4", "xfs", "btrfs", "raw"}

// benchShape is one engine's samples on one variant, before the
// per-target factor.
type benchShape struct {
	wall, iops, p50, p99, user, sys, ctx, workers []float64
}

// The three repeats of every metric. preadv and io_uring offload
// overlap between the variants (the series does not touch them); the
// default io_uring path differs by far more than the spread.
var fixtureShapes = map[string]map[string]benchShape{
	"baseline": {
		"psync": {
			wall: []float64{9850, 9920, 10010}, iops: []float64{1660, 1651, 1637},
			p50: []float64{560, 571, 566}, p99: []float64{1450, 1480, 1462},
			user: []float64{1.1, 1.2, 1.1}, sys: []float64{38.2, 39.0, 39.6},
			ctx: []float64{16800, 16950, 17100}, workers: []float64{0, 0, 0},
		},
		"io_uring-offload": {
			wall: []float64{4050, 4120, 4180}, iops: []float64{4040, 3977, 3920},
			p50: []float64{7700, 7810, 7920}, p99: []float64{14100, 14400, 14900},
			user: []float64{2.3, 2.4, 2.2}, sys: []float64{93.0, 95.1, 96.8},
			ctx: []float64{33500, 34100, 34800}, workers: []float64{8, 8, 9},
		},
		"io_uring": {
			wall: []float64{4060, 4110, 4150}, iops: []float64{4035, 3986, 3948},
			p50: []float64{7650, 7720, 7800}, p99: []float64{13900, 14050, 14300},
			user: []float64{2.0, 2.2, 2.1}, sys: []float64{88.1, 90.2, 91.0},
			ctx: []float64{30800, 31200, 31900}, workers: []float64{4, 4, 4},
		},
	},
	"patched": {
		"psync": {
			wall: []float64{9880, 9950, 10030}, iops: []float64{1658, 1646, 1633},
			p50: []float64{562, 569, 571}, p99: []float64{1455, 1470, 1490},
			user: []float64{1.1, 1.1, 1.2}, sys: []float64{38.5, 39.1, 39.4},
			ctx: []float64{16700, 16900, 17200}, workers: []float64{0, 0, 0},
		},
		"io_uring-offload": {
			wall: []float64{4030, 4100, 4200}, iops: []float64{4060, 3996, 3901},
			p50: []float64{7690, 7800, 7950}, p99: []float64{14000, 14350, 15000},
			user: []float64{2.2, 2.3, 2.4}, sys: []float64{92.7, 94.8, 97.1},
			ctx: []float64{33300, 34000, 34900}, workers: []float64{8, 8, 9},
		},
		"io_uring": {
			wall: []float64{3370, 3410, 3460}, iops: []float64{4862, 4805, 4736},
			p50: []float64{6350, 6410, 6500}, p99: []float64{9700, 9800, 9950},
			user: []float64{1.5, 1.6, 1.7}, sys: []float64{61.0, 63.2, 64.1},
			ctx: []float64{4210, 4300, 4390}, workers: []float64{0, 0, 0},
		},
	},
}

// targetFactor makes the targets differ a little, equally on both
// variants, so every target keeps the same A/B relations.
var targetFactor = map[string]float64{"ext4": 1, "xfs": 1.02, "btrfs": 1.1, "raw": 0.95}

func scaled(s []float64, f float64, repeats int) Metric {
	out := make([]float64, repeats)
	for i := range out {
		out[i] = s[i%len(s)] * f
	}
	return NewMetric(out)
}

// fixtureRun builds a complete, passing run with two variants, four
// targets, ten tests and three engines over repeats repeats (1..3).
func fixtureRun(repeats int) *Run {
	started := time.Date(2025, 3, 14, 2, 0, 0, 0, time.UTC)
	r := &Run{
		Schema: Schema, ID: "20250314-020000-ab12", Started: started,
		Finished: started.Add(47 * time.Minute), Complete: true, Status: StatusPass,
		Command: "ktest run --plan default --repeats 3 --series testdata/seeds/002_001cfc21aac17572.txt",
		Host:    Host{Hostname: "bench1", CPUs: 2, Kernel: "6.1.0-28-amd64", QEMU: "7.2.15", Compiler: "gcc 12.2.0"},
		Accel:   "tcg", AccelReason: "/dev/kvm: no such file or directory",
		Tree: Tree{Origin: "linux-source-6.1", Key: "sha256:9f1c", Version: "6.1.129", Kind: "tarball"},
		Series: &Series{
			Title: "Add support for async buffered reads", Version: 2, Source: "002_001cfc21aac17572.txt", Base: "v6.1",
			Patches: []Patch{
				{Number: 1, Total: 3, Subject: "mm: allow read-ahead with IOCB_NOWAIT set", Status: "applied", Hunks: 2},
				{Number: 2, Total: 3, Subject: "mm: add support for async page locking", Status: "applied-with-offset", Hunks: 5, Offset: 2, Detail: "hunk 3 applied at offset +14"},
				{Number: 3, Total: 3, Subject: "io_uring: support true async buffered reads, if file provides it", Status: "applied-with-fuzz", Hunks: 4, Fuzz: 1, Detail: "hunk 2 applied with fuzz 1"},
			},
			ReplyTo: &ReplyTo{
				MessageID: "20200523185755.8494-1-axboe@kernel.dk", Subject: "[PATCHSET v2 0/3] Add support for async buffered reads",
				From: "Jens Axboe <axboe@kernel.dk>", To: []string{"io-uring@vger.kernel.org"},
				Cc: []string{"linux-fsdevel@vger.kernel.org", "linux-kernel@vger.kernel.org", "linux-mm@kvack.org"},
			},
		},
		Plan: Plan{Name: "default", Targets: fixtureTargets, Suites: []string{"correctness", "bench"}, FileSize: "64M", Repeats: repeats},
		Stages: []Stage{
			{Name: "apply", Status: "ok", Seconds: 0.4},
			{Name: "config", Status: "ok", Seconds: 11.8},
			{Name: "build", Variant: "baseline", Status: "ok", Seconds: 1290},
			{Name: "boot", Variant: "baseline", Status: "ok", Seconds: 9.1},
			{Name: "tests", Variant: "baseline", Status: "ok", Seconds: 610},
			{Name: "build", Variant: "patched", Status: "ok", Seconds: 48},
			{Name: "boot", Variant: "patched", Status: "ok", Seconds: 8.7},
			{Name: "tests", Variant: "patched", Status: "ok", Seconds: 590},
		},
	}
	for i := range r.Series.Patches {
		r.Series.Patches[i].SHA256 = sha256Hex(r.Series.Patches[i].Subject)
	}
	for _, vn := range []string{"baseline", "patched"} {
		v := &Variant{Name: vn}
		if vn == "baseline" {
			v.Description = "6.1 + ktest patch removing FMODE_BUF_RASYNC"
			v.Patches = []string{"embedded:baseline-6.1"}
			v.Applied = []AppliedPatch{{Source: "embedded:baseline-6.1", ID: "1/1",
				Subject: "fs: remove FMODE_BUF_RASYNC", SHA256: sha256Hex("baseline-6.1 diff")}}
			v.Kernel = Kernel{Key: "k-base", Release: "6.1.129-ktest", Status: "ok", BuildSeconds: 1290, Objects: 2913}
		} else {
			v.Description = "stock 6.1"
			v.Kernel = Kernel{Key: "k-patched", Release: "6.1.129-ktest", Status: "ok", BuildSeconds: 48, Objects: 7}
		}
		v.Boot = Boot{Status: "ok", Seconds: 9.1}
		for _, tn := range fixtureTargets {
			t := &Target{Name: tn}
			for i, name := range fixtureTests {
				t.Tests = append(t.Tests, Test{Name: name, Status: "pass", DurationMS: float64(100 * (i + 1))})
			}
			f := targetFactor[tn]
			for _, en := range EngineOrder {
				s := fixtureShapes[vn][en]
				t.Bench = append(t.Bench, Engine{Engine: en, Repeats: repeats, Metrics: map[string]Metric{
					MetricWallMS:      scaled(s.wall, f, repeats),
					MetricIOPS:        scaled(s.iops, 1/f, repeats),
					MetricLatP50US:    scaled(s.p50, f, repeats),
					MetricLatP99US:    scaled(s.p99, f, repeats),
					MetricUserCPU:     scaled(s.user, 1, repeats),
					MetricSysCPU:      scaled(s.sys, 1, repeats),
					MetricCtxSwitches: scaled(s.ctx, f, repeats),
					MetricWorkers:     scaled(s.workers, 1, repeats),
				}})
			}
			v.Targets = append(v.Targets, t)
		}
		r.Variants = append(r.Variants, v)
	}
	return r
}

// setTest changes one test's status; it panics on a fixture typo.
func setTest(r *Run, variant, target, test, status, msg string) {
	t := r.Variant(variant).Target(target)
	for i := range t.Tests {
		if t.Tests[i].Name == test {
			t.Tests[i].Status, t.Tests[i].Message = TestStatus(status), msg
			return
		}
	}
	panic(fmt.Sprintf("fixture: no test %s/%s/%s", variant, target, test))
}

// setMetric replaces one metric's samples.
func setMetric(r *Run, variant, target, engine, metric string, samples ...float64) {
	r.Variant(variant).Target(target).Engine(engine).Metrics[metric] = NewMetric(samples)
}
