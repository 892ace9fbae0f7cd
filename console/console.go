// Package console watches a kernel's serial console as it is written and
// turns crash reports (oops, BUG, WARNING, panic, hung task, soft lockup,
// RCU stall, lockdep, KASAN, general protection fault, ...) into typed
// *Crash errors.
//
// The watcher is an io.Writer: feed it the console bytes as they arrive
// (vm tees QEMU's serial output into it) and it publishes each report once
// the report is complete. Parse does the same for a whole log at once.
package console

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Kind classifies a crash report.
type Kind int

// Report kinds. The zero Kind is not a valid report.
const (
	KindOops       Kind = iota + 1 // "Oops: 0002 [#1]" and other die() headers
	KindBug                        // "BUG: ...", "kernel BUG at ..."
	KindWarning                    // "WARNING: CPU: 0 PID: 1 at ..."
	KindPanic                      // "Kernel panic - not syncing: ..." on its own
	KindHungTask                   // "INFO: task X:1 blocked for more than N seconds."
	KindSoftLockup                 // "watchdog: BUG: soft lockup - CPU#0 stuck for 22s!"
	KindHardLockup                 // "Watchdog detected hard LOCKUP on cpu 1"
	KindRCUStall                   // "rcu: INFO: rcu_preempt self-detected stall on CPU"
	KindLockdep                    // "WARNING: possible circular locking dependency detected", ...
	KindKASAN                      // "BUG: KASAN: use-after-free in ..."
	KindUBSAN                      // "UBSAN: shift-out-of-bounds in ..."
	KindGPF                        // "general protection fault, probably for non-canonical address ..."
)

var kindNames = map[Kind]string{
	KindOops:       "oops",
	KindBug:        "BUG",
	KindWarning:    "WARNING",
	KindPanic:      "panic",
	KindHungTask:   "hung task",
	KindSoftLockup: "soft lockup",
	KindHardLockup: "hard lockup",
	KindRCUStall:   "RCU stall",
	KindLockdep:    "lockdep",
	KindKASAN:      "KASAN",
	KindUBSAN:      "UBSAN",
	KindGPF:        "general protection fault",
}

func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Crash is a kernel crash report found on the console. It is an error so
// that the operation running when the kernel crashed can fail with it.
type Crash struct {
	Kind Kind
	// Title is the report's first line without its printk timestamp,
	// e.g. "BUG: KASAN: use-after-free in io_read+0x1c/0x30".
	Title string
	// Excerpt is the report's lines (timestamps stripped), joined by
	// newlines and bounded to MaxExcerptLines.
	Excerpt string
}

func (c *Crash) Error() string {
	return fmt.Sprintf("kernel %s: %s", c.Kind, c.Title)
}

// MaxExcerptLines bounds a report's excerpt; a report reaching it is
// considered complete.
const MaxExcerptLines = 200

// startPattern recognises the first line of a report. Order matters: the
// first match wins, so specific patterns come before general ones (a
// lockdep "WARNING: possible circular locking ..." is lockdep, not a
// WARNING; "BUG: KASAN:" is KASAN, not BUG).
type startPattern struct {
	kind Kind
	re   *regexp.Regexp
	// endsWithRule: the report's last line is a rule of '=' (KASAN, UBSAN),
	// so the report is complete at the next such line.
	endsWithRule bool
}

var startPatterns = []startPattern{
	{kind: KindKASAN, re: regexp.MustCompile(`^BUG: KASAN: `), endsWithRule: true},
	{kind: KindSoftLockup, re: regexp.MustCompile(`^(watchdog: )?BUG: soft lockup - CPU#\d+ stuck for`)},
	{kind: KindHardLockup, re: regexp.MustCompile(`^(NMI watchdog: )?Watchdog detected hard LOCKUP on cpu \d+`)},
	{kind: KindLockdep, re: regexp.MustCompile(`^WARNING: (` +
		`possible circular locking dependency detected|` +
		`possible recursive locking detected|` +
		`inconsistent lock state|` +
		`possible irq lock inversion dependency detected|` +
		`\S+-safe -> \S+-unsafe lock order detected|` +
		`bad unlock balance detected!|` +
		`bad contention detected!|` +
		`held lock freed!|` +
		`\S+/\d+ still has locks held!|` +
		`lock held when returning to user space!|` +
		`Nested lock was not taken|` +
		`chain_key collision|` +
		`suspicious RCU usage)`)},
	{kind: KindLockdep, re: regexp.MustCompile(`^\[ BUG: Invalid wait context \]|^INFO: trying to register non-static key\.|^BUG: MAX_\w+ too low!`)},
	{kind: KindHungTask, re: regexp.MustCompile(`^INFO: task \S.*:\d+ blocked for more than \d+ seconds\.`)},
	{kind: KindRCUStall, re: regexp.MustCompile(`^(rcu: )?INFO: rcu_\w+ (self-)?detected (expedited )?stalls?`)},
	// Since 6.x, __die_header() prefixes every die() header with
	// "Oops: " ("Oops: general protection fault, ...: 0000 [#1]",
	// "Oops: Oops: 0002 [#1]", "Oops: invalid opcode: 0000 [#1]").
	{kind: KindGPF, re: regexp.MustCompile(`^(Oops: )?(segment-related )?general protection fault`)},
	{kind: KindUBSAN, re: regexp.MustCompile(`^UBSAN: `), endsWithRule: true},
	{kind: KindWarning, re: regexp.MustCompile(`^WARNING: CPU: \d+ PID: \d+ at `)},
	{kind: KindBug, re: regexp.MustCompile(`^BUG: |^[Kk]ernel BUG at `)},
	{kind: KindPanic, re: regexp.MustCompile(`^Kernel panic - not syncing: `)},
	// die() headers ("Oops: 0002 [#1] PREEMPT SMP", "invalid opcode: 0000
	// [#1] ..."): a report of their own, or the second line of a BUG.
	{kind: KindOops, re: regexp.MustCompile(`^(Oops: )?[a-zA-Z][a-zA-Z0-9 -]*: [0-9a-f]{4} \[#\d+\]`)},
}

// title is a report's title from its first line: a die() header loses
// the "Oops: " newer kernels prefix it with, so the same crash has the
// same title on every kernel (nightly compares titles).
func title(sp startPattern, line string) string {
	if sp.kind == KindOops || sp.kind == KindGPF {
		if rest, ok := strings.CutPrefix(line, "Oops: "); ok && sp.re.MatchString(rest) {
			return rest
		}
	}
	return line
}

var (
	// printk prefixes: "[   12.345678] " and, with CONFIG_PRINTK_CALLER,
	// "[    T1] " or "[  C0] ".
	timestampRE = regexp.MustCompile(`^\[\s*\d+\.\d+\]\s?`)
	callerRE    = regexp.MustCompile(`^\[\s*[TC]\d+\]\s?`)
	// End markers of oops/WARNING and of panic.
	endTraceRE = regexp.MustCompile(`^---\[ end (trace|Kernel panic)`)
	ruleRE     = regexp.MustCompile(`^={30,}$`)
	cutHere    = "------------[ cut here ]------------"
	// A BUG that is only the first line of an oops (page fault).
	faultBugRE = regexp.MustCompile(`^BUG: (unable to handle|kernel NULL pointer dereference)`)
)

// ReportGap is the pause in printk timestamps that ends a report without
// an end marker (lockdep, hung task, RCU stall) in a log read as a whole.
const ReportGap = time.Second

// printkTime returns the printk timestamp of a raw console line in seconds.
func printkTime(raw string) (float64, bool) {
	m := timestampRE.FindString(raw)
	if m == "" {
		return 0, false
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(strings.Trim(strings.TrimSpace(m), "[]")), 64)
	return v, err == nil
}

// StripPrefix removes the printk timestamp and caller id from a console
// line and trims trailing whitespace and carriage returns.
func StripPrefix(line string) string {
	line = strings.TrimRight(line, " \t\r\n")
	line = timestampRE.ReplaceAllString(line, "")
	line = callerRE.ReplaceAllString(line, "")
	return line
}

func matchStart(line string) (startPattern, bool) {
	for _, p := range startPatterns {
		if p.re.MatchString(line) {
			return p, true
		}
	}
	return startPattern{}, false
}

// parser is the line-level state machine shared by Parse and Watcher.
// Reports are published in order through emit.
// maxPreamble bounds the lines kept between "cut here" and the report
// start; a WARN message is one or a few lines.
const maxPreamble = 6

type parser struct {
	cur      *report
	lastTime float64 // printk time of the last timestamped line, or -1
	// pre holds the lines seen outside a report that may open the next
	// one: a "cut here" line and what follows it (WARN(cond, fmt...)
	// prints its message between "cut here" and "WARNING:"), or the last
	// line (a "=====" rule before a KASAN or lockdep report).
	pre  []string
	emit func(*Crash)
}

type report struct {
	crash        Crash
	lines        []string
	endsWithRule bool
	panicked     bool // a panic line was appended: wait for its end marker
}

// line feeds one console line (without its newline).
func (p *parser) line(raw string) {
	line := StripPrefix(raw)
	if ts, ok := printkTime(raw); ok {
		// The kernel prints a report in one burst: a pause in printk
		// time ends it, like console silence ends it for the Watcher.
		if p.cur != nil && p.lastTime >= 0 && ts-p.lastTime > ReportGap.Seconds() {
			p.finish()
		}
		p.lastTime = ts
	}
	if r := p.cur; r != nil {
		if p.continueReport(r, line) {
			return
		}
		// A new, unrelated report began: the open one is complete.
		p.finish()
	}
	sp, ok := matchStart(line)
	if !ok {
		switch {
		case line == cutHere:
			p.pre = []string{line}
		case len(p.pre) > 0 && p.pre[0] == cutHere && len(p.pre) < maxPreamble:
			p.pre = append(p.pre, line)
		default:
			p.pre = []string{line}
		}
		return
	}
	r := &report{crash: Crash{Kind: sp.kind, Title: title(sp, line)}, endsWithRule: sp.endsWithRule}
	switch last := len(p.pre) - 1; {
	case last >= 0 && p.pre[0] == cutHere && (sp.kind == KindWarning || sp.kind == KindBug):
		r.lines = append(r.lines, p.pre...)
	case last >= 0 && ruleRE.MatchString(p.pre[last]) && sp.endsWithRule:
		r.lines = append(r.lines, p.pre[last])
	}
	r.lines = append(r.lines, line)
	p.pre = nil
	p.cur = r
}

// continueReport adds line to the open report r and reports whether it
// belonged there. It completes r when the line ends it.
func (p *parser) continueReport(r *report, line string) bool {
	sp, isStart := matchStart(line)
	switch {
	case isStart && sp.kind == KindOops && r.crash.Kind == KindBug && faultBugRE.MatchString(r.crash.Title):
		// "BUG: kernel NULL pointer dereference" then "Oops: 0002 [#1]":
		// one oops whose title is the more telling BUG line.
		r.crash.Kind = KindOops
	case isStart && sp.kind == KindOops:
		// "kernel BUG at x.c:1!" then "invalid opcode: 0000 [#1]", or a
		// GPF/oops header repeated: part of the same report.
	case isStart && sp.kind == KindPanic:
		// A panic after an oops ("Fatal exception") ends that report; the
		// oops stays the primary crash.
		r.panicked = true
	case isStart:
		if r.crash.Kind == KindGPF && sp.kind == KindKASAN {
			break // "KASAN: null-ptr-deref in range" inside a GPF
		}
		return false
	}
	r.lines = append(r.lines, line)
	switch {
	case endTraceRE.MatchString(line):
		if !r.panicked || strings.HasPrefix(line, "---[ end Kernel panic") {
			p.finish()
		}
	case r.endsWithRule && ruleRE.MatchString(line):
		p.finish()
	case len(r.lines) >= MaxExcerptLines:
		p.finish()
	}
	return true
}

// finish publishes the open report, if any.
func (p *parser) finish() {
	r := p.cur
	if r == nil {
		return
	}
	p.cur = nil
	p.pre = nil
	lines := r.lines
	for len(lines) > 1 && strings.TrimSpace(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1]
	}
	c := r.crash
	c.Excerpt = strings.Join(lines, "\n")
	p.emit(&c)
}

// Parse returns every crash report in a complete console log, in order.
// The first one is the primary crash.
func Parse(log string) []*Crash {
	var out []*Crash
	p := parser{emit: func(c *Crash) { out = append(out, c) }, lastTime: -1}
	for _, l := range strings.Split(log, "\n") {
		p.line(l)
	}
	p.finish()
	return out
}
