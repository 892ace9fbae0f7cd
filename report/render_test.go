package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net/mail"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ktest-dev/ktest/results"
	"github.com/ktest-dev/ktest/verdict"
)

func render(t *testing.T, rd Renderer, r *results.Run, format string) string {
	t.Helper()
	var b bytes.Buffer
	if err := rd.Render(&b, r, format); err != nil {
		t.Fatalf("Render(%s): %v", format, err)
	}
	return b.String()
}

// section returns the text from the heading line to the next heading of
// the same or higher level.
func section(t *testing.T, doc, heading string) string {
	t.Helper()
	i := strings.Index(doc, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("no section %q in:\n%s", heading, doc)
	}
	rest := doc[i+1+len(heading):]
	level := strings.SplitN(heading, " ", 2)[0]
	for _, h := range []string{"\n" + level + " ", "\n" + level[:len(level)-1] + " "} {
		if j := strings.Index(rest, h); j >= 0 && len(level) > 1 {
			rest = rest[:j]
		}
	}
	return rest
}

// TestCompareMetric checks the adapter to package verdict (where the
// rule and its tests live): a metric is judged by its samples.
func TestCompareMetric(t *testing.T) {
	tests := []struct {
		name   string
		a, b   results.Metric
		want   verdict.Outcome
		change float64
	}{
		{"three boots, apart", results.NewMetric([]float64{100, 101, 102}), results.NewMetric([]float64{40, 41, 42}), verdict.Changed, -0.594},
		{"three boots, overlapping", results.NewMetric([]float64{100, 105, 110}), results.NewMetric([]float64{90, 95, 101}), verdict.Same, -0.095},
		{"one boot", results.NewMetric([]float64{100}), results.NewMetric([]float64{50}), verdict.TooFew, -0.5},
		{"no samples, ranges only", results.Metric{Median: 10, Min: 9, Max: 11}, results.Metric{Median: 20, Min: 19, Max: 21}, verdict.TooFew, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := results.CompareMetric(tc.a, tc.b)
			if d.Outcome != tc.want {
				t.Errorf("outcome %v, want %v", d.Outcome, tc.want)
			}
			if diff := d.Change - tc.change; diff > 0.001 || diff < -0.001 {
				t.Errorf("Change=%.4f, want %.4f", d.Change, tc.change)
			}
		})
	}
}

func TestMarkdownABTables(t *testing.T) {
	md := render(t, Renderer{}, fixtureRun(3), "md")
	for _, target := range fixtureTargets {
		t.Run(target, func(t *testing.T) {
			sec := section(t, md, "### "+target)
			for _, row := range []string{
				"| preadv | baseline |", "| io_uring offload | baseline |", "| io_uring async | baseline |",
			} {
				if !strings.Contains(sec, row) {
					t.Errorf("missing row %q", row)
				}
			}
			if n := strings.Count(sec, "|  | patched |"); n != 3 {
				t.Errorf("%d patched rows, want 3", n)
			}
			// Only io_uring async differs beyond noise: exactly one
			// change row, right after its patched row.
			if n := strings.Count(sec, "| *change* |"); n != 1 {
				t.Fatalf("%d change rows, want 1:\n%s", n, sec)
			}
			lines := strings.Split(sec, "\n")
			for i, l := range lines {
				if strings.Contains(l, "*change*") && !strings.HasPrefix(lines[i-2], "| io_uring async |") {
					t.Errorf("change row follows %q, want the io_uring async pair", lines[i-2])
				}
			}
			for _, want := range []string{"−86% ctx switches", "io-wq workers 4 → 0", "17% faster", "+21% IOPS"} {
				if !strings.Contains(sec, want) {
					t.Errorf("missing verdict %q", want)
				}
			}
		})
	}
	// Figures: medians with their min–max range.
	ext4 := section(t, md, "### ext4")
	for _, want := range []string{"| io_uring async | baseline | 4.11 s (4.06–4.15) |", "| 4 (4–4) |", "31.2k (30.8k–31.9k)", "4300 (4210–4390)"} {
		if !strings.Contains(ext4, want) {
			t.Errorf("ext4 table lacks %q:\n%s", want, ext4)
		}
	}
	for _, unwanted := range []string{"slower", "preadv:", "io_uring offload:", "INCOMPLETE"} {
		if strings.Contains(md, unwanted) {
			t.Errorf("md contains %q, which is within noise or wrong", unwanted)
		}
	}
	for _, want := range []string{
		"# ktest: Add support for async buffered reads", "(v2), base `v6.1`", "TCG (/dev/kvm: no such file or directory)",
		"| 2/3 | mm: add support for async page locking | applied-with-offset | 5 hunks, 2 offset |",
		"| baseline | 6.1 + ktest patch removing FMODE_BUF_RASYNC (6.1.129-ktest) | built in 1290 s, 2913 objects compiled | booted in 9.1 s |",
		"**baseline**: 40 passed, 0 failed, 0 hung, 0 skipped", "median of 3 boots",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("md lacks %q", want)
		}
	}
	// Signature, then the reproduce command, at the end.
	tail := md[strings.LastIndex(md, NoIdentitySignature):]
	if !strings.Contains(tail, "```\n"+fixtureRun(3).Command+"\n```") {
		t.Errorf("md does not end with the signature and the command:\n%s", tail)
	}
}

func TestMarkdownNoiseEdgeCases(t *testing.T) {
	tests := []struct {
		name     string
		repeats  int
		mutate   func(*results.Run)
		whole    bool // look in the whole document, not the ext4 section
		want     []string
		unwanted []string
	}{
		{
			name: "a single boot calls nothing and says why", repeats: 1,
			want:     []string{"No change can be called on ext4: 1 boot per side, 3 needed.", "| 4.06 s |"},
			unwanted: []string{"faster", "ctx switches**"},
		},
		{
			name: "the count keeps called, within noise and not judged apart", repeats: 3, whole: true,
			want: []string{"**Verdicts:** 84 metric comparisons, 28 changes called, 56 within noise.\n"},
		},
		{
			name: "a metric with one boot on a side is not judged, and counted so", repeats: 3, whole: true,
			mutate: func(r *results.Run) {
				setMetric(r, "patched", "ext4", "psync", results.MetricIOPS, 1650)
			},
			want:     []string{"**Verdicts:** 84 metric comparisons, 28 changes called, 55 within noise, 1 not judged (3 and 1 boots, 3 needed).\n"},
			unwanted: []string{"Figures only"},
		},
		{
			name: "a target with nothing called says what was judged and what was not", repeats: 3,
			mutate: func(r *results.Run) {
				tg := r.Variant("patched").Target("ext4")
				tg.Bench = tg.Bench[:1] // psync only: within noise
				setMetric(r, "patched", "ext4", "psync", results.MetricIOPS, 1650)
			},
			want: []string{"No difference beyond noise on ext4 in the 6 metrics judged; 1 not judged (3 and 1 boots, 3 needed)."},
		},
		{
			name: "overlapping io_uring wall: no speed verdict", repeats: 3,
			mutate: func(r *results.Run) {
				setMetric(r, "patched", "ext4", "io_uring", results.MetricWallMS, 3500, 3900, 4070)
			},
			want:     []string{"−86% ctx switches"},
			unwanted: []string{"faster"},
		},
		{
			name: "a change beyond the floor but not called is listed, with what its boots could call", repeats: 3,
			mutate: func(r *results.Run) {
				setMetric(r, "patched", "ext4", "io_uring", results.MetricWallMS, 3500, 3900, 4070)
			},
			want: []string{"*Not called on ext4 though the medians differ by more than 3%: io_uring async real −5.1% (callable from "},
		},
		{
			name: "the count says how many were left open", repeats: 3, whole: true,
			mutate: func(r *results.Run) {
				setMetric(r, "patched", "ext4", "io_uring", results.MetricWallMS, 3500, 3900, 4070)
			},
			want: []string{"(1 of them with medians more than 3% apart, listed under their targets)"},
		},
		{
			name: "a real slowdown is called", repeats: 3,
			mutate: func(r *results.Run) {
				setMetric(r, "patched", "ext4", "psync", results.MetricWallMS, 11100, 11200, 11280)
			},
			want: []string{"preadv: 13% slower (real +13%)"},
		},
		{
			name: "extra kernel arguments are stated", repeats: 3,
			mutate: func(r *results.Run) {
				r.Plan.KernelArgs = []string{"panic_on_warn=1", "loglevel=7"}
			},
			whole: true,
			want:  []string{"**Extra kernel arguments:** `panic_on_warn=1 loglevel=7`"},
		},
		{
			name: "a change smaller than the spread is not called", repeats: 3,
			mutate: func(r *results.Run) {
				setMetric(r, "patched", "ext4", "io_uring-offload", results.MetricCtxSwitches, 31500, 32000, 32300)
			},
			unwanted: []string{"io_uring offload: −6.2% ctx switches"},
		},
		{
			name: "without a control, an offload change is called", repeats: 3,
			mutate: func(r *results.Run) {
				setMetric(r, "patched", "ext4", "io_uring-offload", results.MetricCtxSwitches, 25200, 25500, 25800)
			},
			want:     []string{"io_uring offload: −25% ctx switches"},
			unwanted: []string{"(control)", "is the control"},
		},
		{
			name: "a control that did not move holds nothing back", repeats: 3,
			mutate: func(r *results.Run) {
				r.Plan.Control = "psync"
				setMetric(r, "patched", "ext4", "io_uring-offload", results.MetricCtxSwitches, 25200, 25500, 25800)
			},
			want:     []string{"| preadv (control) | baseline |", "io_uring offload: −25% ctx switches"},
			unwanted: []string{"is the control", "held back"},
		},
		{
			name: "control drift holds back smaller changes of its metric only", repeats: 3,
			mutate: func(r *results.Run) {
				r.Plan.Control = "psync"
				setMetric(r, "patched", "ext4", "psync", results.MetricCtxSwitches, 13500, 13600, 13700)
				setMetric(r, "patched", "ext4", "io_uring-offload", results.MetricCtxSwitches, 28500, 28600, 28700)
			},
			want: []string{
				"| preadv (control) | baseline |",
				"preadv is the control (both kernels run the same code for it), so its −20% ctx switches on ext4 is between-boot drift",
				"held back: io_uring offload −16% ctx switches",
				// Beyond the drift, and on other metrics, verdicts stand.
				"io_uring async: 17% faster (real −17%)", "−86% ctx switches",
			},
			unwanted: []string{"io_uring offload: −16%", "preadv: −20%"},
		},
		{
			name: "a single variant shows figures without verdicts", repeats: 3,
			mutate: func(r *results.Run) {
				r.Variants = r.Variants[1:]
				for _, f := range Formats {
					if err := (Renderer{From: testIdentity}).Render(io.Discard, r, f); err != nil {
						panic(err)
					}
				}
			},
			want:     []string{"| io_uring async | patched | 3.41 s (3.37–3.46) |"},
			unwanted: []string{"*change*", "baseline", "No difference"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := fixtureRun(tc.repeats)
			if tc.mutate != nil {
				tc.mutate(r)
			}
			sec := render(t, Renderer{}, r, "md")
			if !tc.whole {
				sec = section(t, sec, "### ext4")
			}
			for _, w := range tc.want {
				if !strings.Contains(sec, w) {
					t.Errorf("missing %q in:\n%s", w, sec)
				}
			}
			for _, w := range tc.unwanted {
				if strings.Contains(sec, w) {
					t.Errorf("unexpected %q in:\n%s", w, sec)
				}
			}
		})
	}
}

func TestMarkdownIncompleteAndFailures(t *testing.T) {
	r := fixtureRun(3)
	r.Complete, r.Status = false, results.StatusInterrupted
	r.Error = &results.StageFailure{Stage: "build", Variant: "patched", Message: "signal: interrupt"}
	setTest(r, "patched", "xfs", "truncate-race", "hung", "no completion after 60s\nsecond line")
	setTest(r, "baseline", "raw", "eof", "fail", "read past EOF returned 4096, want 0")
	r.Variants[1].Crashes = []results.Crash{{Kind: "hung-task", Title: "INFO: task fio:231 blocked for more than 30 seconds.", During: "xfs/truncate-race",
		Excerpt: "INFO: task fio:231 blocked\n```\nCall Trace:\n folio_wait_bit_common+0x11e/0x2f0"}}
	md := render(t, Renderer{}, r, "md")
	first := strings.SplitN(md, "\n\n", 3)[1]
	if !strings.Contains(first, "INCOMPLETE: interrupted during build [patched]: signal: interrupt") {
		t.Errorf("second paragraph is %q, want the INCOMPLETE marker", first)
	}
	for _, want := range []string{
		"| truncate-race | ✓ | **hung** | ✓ | ✓ |",
		"- patched/xfs/truncate-race: **hung** no completion after 60s",
		"- baseline/raw/eof: **fail** read past EOF returned 4096, want 0",
		"**patched: hung-task** INFO: task fio:231 blocked for more than 30 seconds. (during xfs/truncate-race)\n````\nINFO: task fio:231 blocked\n```\nCall Trace:",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("md lacks %q", want)
		}
	}
	tests := []struct {
		status results.RunStatus
		err    *results.StageFailure
		stages []results.Stage
		want   string
	}{
		{results.StatusError, &results.StageFailure{Stage: "boot", Variant: "baseline", Message: "no SSH after 120s\nmore"}, nil, "boot failed [baseline]: no SSH after 120s"},
		{results.StatusInterrupted, nil, []results.Stage{{Name: "build", Variant: "baseline", Status: "ok"}, {Name: "tests", Variant: "baseline", Status: "interrupted"}}, "interrupted during tests [baseline]"},
		{results.StatusRunning, nil, []results.Stage{{Name: "apply", Status: "ok"}}, "still running, at apply"},
	}
	for _, tc := range tests {
		r := &results.Run{Status: tc.status, Error: tc.err, Stages: tc.stages}
		if got := r.Incomplete(); got != tc.want {
			t.Errorf("Incomplete() = %q, want %q", got, tc.want)
		}
	}
}

func TestEmail(t *testing.T) {
	jane := &mail.Address{Name: "Jane Doe", Address: "jane@example.org"}
	tests := []struct {
		name      string
		signature string
		from      *mail.Address
		wantSig   string
		mutate    func(*results.Run)
	}{
		{"no identity", "", nil, NoIdentitySignature, nil},
		{"identity", "", jane, "Tested-by: Jane Doe <jane@example.org>", nil},
		{"custom trailer", "Tested-by: Jane Doe <jane@example.org>", nil, "Tested-by: Jane Doe <jane@example.org>", nil},
		{"signature wins over identity", "Reviewed-by: Jane Doe <jane@example.org>", &mail.Address{Address: "j@example.org"}, "Reviewed-by: Jane Doe <jane@example.org>", nil},
		{"bare name gets the key", "Jane Doe <jane@example.org>", nil, "Tested-by: Jane Doe <jane@example.org>", nil},
		// A crash: no trailer, and the reply says why, wrapped.
		{"long crash lines are broken", "", jane, "", func(r *results.Run) {
			r.Variants[1].Crashes = []results.Crash{{Kind: "warning", Title: "WARNING: CPU: 0 PID: 231 at mm/filemap.c:1385 folio_wait_bit_common+0x2f0/0x310",
				Excerpt: strings.Repeat("RIP: 0010:folio_wait_bit_common+0x2f0/0x310 Code: ", 4)}}
			r.Series.Patches[0].Subject = strings.Repeat("averyveryverylongsubjectwordwithoutspaces", 3)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := fixtureRun(3)
			if tc.mutate != nil {
				tc.mutate(r)
			}
			text := render(t, Renderer{Signature: tc.signature, From: tc.from}, r, "email")
			lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
			n := len(lines)
			switch {
			case lines[n-1] != r.Command:
				t.Fatalf("last line is %q, want the command", lines[n-1])
			case tc.wantSig == "":
				last := strings.Join(strings.Fields(text[strings.LastIndex(text, "\n\n"):]), " ")
				if !strings.HasPrefix(last, "No Tested-by from this run: patched crashed: warning WARNING:") || strings.Contains(text, "Tested-by:") {
					t.Errorf("a crashed run's email ends %q", last)
				}
			case lines[n-2] != tc.wantSig:
				t.Fatalf("last lines are %q, %q; want signature then command", lines[n-2], lines[n-1])
			}
			for i, l := range lines[:n-1] {
				if utf8.RuneCountInString(l) > EmailWidth {
					t.Errorf("line %d is %d columns: %q", i+1, utf8.RuneCountInString(l), l)
				}
				if strings.HasPrefix(l, "|") || strings.Contains(l, "**") || strings.HasPrefix(l, "#") {
					t.Errorf("line %d looks like Markdown: %q", i+1, l)
				}
			}
			for _, want := range []string{
				"ext4              real     sys     CPU   ctxsw   io-wq    IOPS     p99",
				"  io_uring async",
				"    baseline     4.11s   90.2%   92.4%   31.2k       4    3986  14.1ms",
				"    patched      3.41s   63.2%   64.8%    4300       0    4805  9.80ms",
				"    => patched: 17% faster (real -17%), -30% sys CPU, -30% CPU, -86% ctx",
				"       switches, io-wq workers 4 -> 0, +21% IOPS, -30% p99 latency",
				"    patched      3.48s   63.2%   64.8%    4386       0    4711  10.0ms",
			} {
				if !strings.Contains(text, want+"\n") {
					t.Errorf("email lacks line %q", want)
				}
			}
			if got := strings.Count(text, "=> patched:"); got != 4 {
				t.Errorf("%d verdict lines, want 4 (io_uring async on each target)", got)
			}
		})
	}
}

func TestJUnit(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*results.Run)
		// root counts
		tests, failures, errors, skipped int
		suite                            string // a suite to check
		suiteFailures, suiteErrors       int
	}{
		{name: "all pass", tests: 3 + 2 + 3*2 + 80, suite: "patched/xfs"},
		{
			name: "failures, hang, skip, crash",
			mutate: func(r *results.Run) {
				setTest(r, "patched", "xfs", "truncate-race", "hung", "no completion after 60s")
				setTest(r, "patched", "xfs", "eof", "fail", "short read")
				setTest(r, "baseline", "raw", "large-read", "skip", "raw: no filesystem read-ahead")
				r.Variants[1].Crashes = []results.Crash{{Kind: "hung-task", Title: "task fio:231 blocked", Excerpt: "Call Trace:"}}
			},
			tests: 3 + 2 + 3*2 + 80 + 1, failures: 3, skipped: 1, suite: "patched/xfs", suiteFailures: 2,
		},
		{
			name: "build failed: infra error, no tests",
			mutate: func(r *results.Run) {
				r.Complete, r.Status = false, results.StatusError
				r.Stages = r.Stages[:6]
				r.Stages[5].Status, r.Stages[5].Detail = "failed", "make: *** [bzImage] Error 2"
				r.Variants[1].Targets = nil
				r.Series.Patches[2].Status, r.Series.Patches[2].Failed = "conflict", 1
				r.Finished = time.Time{}
			},
			tests: 3 + 2 + 3 + 1 + 40, failures: 1, errors: 1, suite: "patched/stages", suiteErrors: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := fixtureRun(3)
			if tc.mutate != nil {
				tc.mutate(r)
			}
			out := render(t, Renderer{}, r, "junit")
			if !strings.HasPrefix(out, xml.Header) {
				t.Errorf("no XML header")
			}
			var got JUnitSuites
			if err := xml.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("junit does not parse: %v\n%s", err, out)
			}
			if got.Tests != tc.tests || got.Failures != tc.failures || got.Errors != tc.errors || got.Skipped != tc.skipped {
				t.Errorf("root tests=%d failures=%d errors=%d skipped=%d, want %d %d %d %d",
					got.Tests, got.Failures, got.Errors, got.Skipped, tc.tests, tc.failures, tc.errors, tc.skipped)
			}
			// Every suite's counts match its cases, and the root sums them.
			var sum JUnitSuite
			var secs float64
			found := false
			for _, s := range got.Suites {
				var c JUnitSuite
				for _, k := range s.Cases {
					c.Tests++
					if k.Failure != nil {
						c.Failures++
					}
					if k.Error != nil {
						c.Errors++
					}
					if k.Skipped != nil {
						c.Skipped++
					}
				}
				if c.Tests != s.Tests || c.Failures != s.Failures || c.Errors != s.Errors || c.Skipped != s.Skipped {
					t.Errorf("suite %s counts %d/%d/%d/%d, cases say %d/%d/%d/%d", s.Name,
						s.Tests, s.Failures, s.Errors, s.Skipped, c.Tests, c.Failures, c.Errors, c.Skipped)
				}
				sum.Tests += s.Tests
				f, err := strconv.ParseFloat(s.Time, 64)
				if err != nil {
					t.Errorf("suite %s time %q: %v", s.Name, s.Time, err)
				}
				secs += f
				if s.Name == tc.suite {
					found = true
					if s.Failures != tc.suiteFailures || s.Errors != tc.suiteErrors {
						t.Errorf("suite %s failures=%d errors=%d, want %d %d", s.Name, s.Failures, s.Errors, tc.suiteFailures, tc.suiteErrors)
					}
				}
			}
			if !found {
				t.Errorf("no suite %q", tc.suite)
			}
			if sum.Tests != got.Tests {
				t.Errorf("root tests %d, suites sum to %d", got.Tests, sum.Tests)
			}
			// The root time is the run's wall time, or the suites' sum
			// while unfinished.
			want := r.Finished.Sub(r.Started).Seconds()
			if r.Finished.IsZero() {
				want = secs
			}
			if root, _ := strconv.ParseFloat(got.Time, 64); root < want-0.01 || root > want+0.01 {
				t.Errorf("root time %s, want %.3f", got.Time, want)
			}
		})
	}
	// Test durations come through in seconds.
	var got JUnitSuites
	if err := xml.Unmarshal([]byte(render(t, Renderer{}, fixtureRun(3), "junit")), &got); err != nil {
		t.Fatal(err)
	}
	for _, s := range got.Suites {
		if s.Name == "baseline/ext4" {
			if s.Time != "5.500" || s.Cases[2].Time != "0.300" || s.Cases[2].Classname != "ktest.baseline.ext4" {
				t.Errorf("baseline/ext4 time %s, case 3 time %s class %s", s.Time, s.Cases[2].Time, s.Cases[2].Classname)
			}
		}
	}
}

func TestHTML(t *testing.T) {
	r := fixtureRun(3)
	hostile := `<script>alert("x")</script>`
	r.Variants[1].Targets[0].Tests[0].Name = hostile
	r.Variants[1].Targets[0].Tests[0].Status = "fail"
	r.Variants[1].Targets[0].Tests[0].Message = `</pre><img src=x onerror=alert(1)>`
	r.Series.Title = `Title & <b>bold</b>`
	out := render(t, Renderer{From: &mail.Address{Name: "Jane Doe", Address: "jane@example.org"}}, r, "html")

	if strings.Contains(strings.ToLower(out), "<script") || strings.Contains(out, "<img") || strings.Contains(out, "<b>bold") {
		t.Errorf("hostile input was not escaped")
	}
	if !strings.Contains(out, "&lt;script&gt;") {
		t.Errorf("escaped test name missing")
	}
	// 4 targets x 4 charts; no scripts or external assets.
	if n := strings.Count(out, "<svg "); n != 16 {
		t.Errorf("%d charts, want 16", n)
	}
	for _, bad := range []string{`src="`, `href="`, "@import", "url("} {
		if strings.Contains(out, bad) {
			t.Errorf("html references an external asset: %q", bad)
		}
	}
	// Well-formed: a strict XML parse of the whole page succeeds, and
	// every bar has its whiskers.
	dec := xml.NewDecoder(strings.NewReader(out))
	counts := map[string]int{}
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("html is not well-formed: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			for _, a := range se.Attr {
				if a.Name.Local == "class" {
					counts[se.Name.Local+"."+a.Value]++
				}
			}
		}
	}
	// 16 charts x 3 engines x 2 variants bars (plus 16x2 legend keys),
	// 3 whisker lines per bar.
	if counts["rect.a"] != 16*3+16 || counts["rect.b"] != 16*3+16 || counts["line.whisker"] != 16*3*2*3 {
		t.Errorf("bars a=%d b=%d whiskers=%d", counts["rect.a"], counts["rect.b"], counts["line.whisker"])
	}
	// A failed test: no trailer, and the page says why.
	for _, want := range []string{"<p>No Tested-by from this run: 1 test failed or hung: patched/ext4/&lt;script&gt;", "io-wq workers 4 → 0", "tr class=\"change\""} {
		if !strings.Contains(out, want) {
			t.Errorf("html lacks %q", want)
		}
	}
}

func TestRenderJSONAndUnknown(t *testing.T) {
	r := fixtureRun(2)
	var back results.Run
	if err := json.Unmarshal([]byte(render(t, Renderer{}, r, "json")), &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.Variants[1].Targets[2].Bench[2].Metrics, r.Variants[1].Targets[2].Bench[2].Metrics) || back.ID != r.ID {
		t.Errorf("json does not round-trip")
	}
	var ufe *UnknownFormatError
	if err := Render(io.Discard, r, "pdf"); !errors.As(err, &ufe) {
		t.Errorf("Render(pdf) = %v, want UnknownFormatError", err)
	}
	// A run that stopped before any variant still renders everywhere.
	bare := &results.Run{Schema: results.Schema, ID: "x", Status: results.StatusError, Error: &results.StageFailure{Stage: "apply", Message: "patch 2/3 conflicts"}}
	for _, f := range Formats {
		switch f {
		case "mbox":
			// No series: nothing to answer.
			if err := (Renderer{From: testIdentity}).Render(io.Discard, bare, f); !errors.Is(err, ErrNoMessage) {
				t.Errorf("mbox of a run without a series: %v, want ErrNoMessage", err)
			}
		case "kcidb":
			// No variant: a document with nothing but its version.
			if out := render(t, Renderer{}, bare, f); strings.TrimSpace(out) != "{\n  \"version\": {\n    \"major\": 5,\n    \"minor\": 3\n  }\n}" {
				t.Errorf("kcidb of a run without variants:\n%s", out)
			}
		default:
			if out := render(t, Renderer{}, bare, f); !strings.Contains(out, "apply") {
				t.Errorf("%s rendering of a failed apply does not mention it", f)
			}
		}
	}
}

func TestSeriesWarningsRendered(t *testing.T) {
	r := &results.Run{Schema: results.Schema, ID: "w", Series: &results.Series{Title: "t", Warnings: []string{"patch 3/5 missing"}}}
	for _, format := range []string{"md", "email"} {
		var b strings.Builder
		if err := Render(&b, r, format); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), "patch 3/5 missing") {
			t.Errorf("%s does not show the series warning:\n%s", format, b.String())
		}
	}
}

// A wedged kernel: the hung test carries the blocked tasks, the rest of
// the target is not run; reports show the stack and count the not-run
// tests apart from failures.
func TestRenderWedgedKernel(t *testing.T) {
	r := fixtureRun(3)
	r.Status = results.StatusFail
	setTest(r, "patched", "ext4", "concurrent-waiters", "hung", "test concurrent-waiters did not finish within 20s")
	tg := r.Variant("patched").Target("ext4")
	for i := range tg.Tests {
		switch tg.Tests[i].Name {
		case "concurrent-waiters":
			tg.Tests[i].Evidence = "sysrq: Show Blocked State\ntask:ktest-readtest state:D\n io_cqring_wait+0x3b8/0x5a0"
		case "truncate-race", "readv-multi-iovec", "force-async", "preadv":
			tg.Tests[i].Status, tg.Tests[i].Message = results.TestNotRun, "not run: the kernel hung in concurrent-waiters"
		}
	}
	if f := r.Failed(); len(f) != 1 {
		t.Errorf("failed %v: not-run tests are not failures", f)
	}
	md := render(t, Renderer{}, r, "md")
	for _, want := range []string{
		"**patched**: 35 passed, 0 failed, 1 hung, 0 skipped, 4 not run (the kernel hung)",
		"Blocked tasks when patched/ext4/concurrent-waiters hung (sysrq w):\n\n```\nsysrq: Show Blocked State",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("md lacks %q", want)
		}
	}
	if !strings.Contains(section(t, md, "## Correctness"), "| preadv | not run |") {
		t.Errorf("patched preadv is not marked not run:\n%s", section(t, md, "## Correctness"))
	}
	var b strings.Builder
	if err := Render(&b, r, "junit"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<skipped message="not run: the kernel hung in concurrent-waiters">`, "io_cqring_wait+0x3b8"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("junit lacks %q", want)
		}
	}
}

// TestQuickRunSaysFiguresOnly: one boot a side: every rendering says no
// change could be called, and never counts "0 changes called".
func TestQuickRunSaysFiguresOnly(t *testing.T) {
	r := loadFixture(t, "run-quick1.results.json")
	for _, f := range []string{"md", "email", "html"} {
		out := strings.Join(strings.Fields(render(t, Renderer{}, r, f)), " ")
		if !strings.Contains(out, "Figures only: 1 boot per side, no change can be called (3 needed).") {
			t.Errorf("%s does not say figures only", f)
		}
		if !strings.Contains(out, "No change can be called on ext4: 1 boot per side, 3 needed.") {
			t.Errorf("%s does not say why nothing is called on ext4", f)
		}
		for _, bad := range []string{"changes called", "No difference beyond noise", "within noise"} {
			if strings.Contains(out, bad) {
				t.Errorf("%s says %q of a run that could judge nothing", f, bad)
			}
		}
	}
}
