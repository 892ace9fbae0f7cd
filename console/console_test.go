package console

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Each testdata log is a console excerpt in the kernel's own format, with
// printk timestamps and unrelated lines around the report.
var parseCases = []struct {
	file      string
	kind      Kind
	title     string
	reports   int    // complete reports in the log
	firstLine string // first excerpt line
	lastLine  string // last excerpt line
}{
	{"oops_null_deref.log", KindOops, "BUG: kernel NULL pointer dereference, address: 0000000000000008", 1,
		"BUG: kernel NULL pointer dereference, address: 0000000000000008", "---[ end trace 0000000000000000 ]---"},
	// The panic that follows the GPF is a second report; the GPF is primary.
	{"panic_after_oops.log", KindGPF, "general protection fault, probably for non-canonical address 0xdead000000000122: 0000 [#1] PREEMPT SMP NOPTI", 2,
		"general protection fault, probably for non-canonical address 0xdead000000000122: 0000 [#1] PREEMPT SMP NOPTI", "---[ end trace 0000000000000000 ]---"},
	// WARNING: inside a lockdep report is lockdep, not a WARNING.
	{"lockdep_circular.log", KindLockdep, "WARNING: possible circular locking dependency detected", 1,
		"WARNING: possible circular locking dependency detected", "</TASK>"},
	{"lockdep_recursive.log", KindLockdep, "WARNING: possible recursive locking detected", 1,
		"WARNING: possible recursive locking detected", "</TASK>"},
	// BUG: KASAN is KASAN, not BUG; the report ends at its closing rule.
	{"kasan_uaf.log", KindKASAN, "BUG: KASAN: use-after-free in io_async_buf_func+0x3e/0x120", 1,
		"==================================================================", "=================================================================="},
	// WARN(cond, fmt) prints its message between "cut here" and
	// "WARNING:": the excerpt keeps both.
	{"warning.log", KindWarning, "WARNING: CPU: 0 PID: 318 at io_uring/rw.c:812 io_read+0x3f1/0x4d0", 1,
		"------------[ cut here ]------------", "---[ end trace 0000000000000000 ]---"},
	{"hung_task.log", KindHungTask, "INFO: task readtest:333 blocked for more than 122 seconds.", 1,
		"INFO: task readtest:333 blocked for more than 122 seconds.", "</TASK>"},
	{"soft_lockup.log", KindSoftLockup, "watchdog: BUG: soft lockup - CPU#1 stuck for 26s! [readtest:340]", 1,
		"watchdog: BUG: soft lockup - CPU#1 stuck for 26s! [readtest:340]", "</TASK>"},
	{"rcu_stall.log", KindRCUStall, "rcu: INFO: rcu_preempt self-detected stall on CPU", 1,
		"rcu: INFO: rcu_preempt self-detected stall on CPU", "</TASK>"},
	{"gpf_kasan.log", KindGPF, "general protection fault, probably for non-canonical address 0xdffffc0000000003: 0000 [#1] PREEMPT SMP KASAN NOPTI", 1,
		"general protection fault, probably for non-canonical address 0xdffffc0000000003: 0000 [#1] PREEMPT SMP KASAN NOPTI", "---[ end trace 0000000000000000 ]---"},
	// "kernel BUG at" followed by its die header stays a BUG; the panic
	// from the interrupt context is a second report.
	{"bug_at.log", KindBug, "kernel BUG at mm/filemap.c:1540!", 2,
		"------------[ cut here ]------------", "---[ end trace 0000000000000000 ]---"},
	{"ubsan.log", KindUBSAN, "UBSAN: shift-out-of-bounds in io_uring/io_uring.c:3301:30", 1,
		"================================================================================", "================================================================================"},
	{"panic_only.log", KindPanic, "Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)", 1,
		"Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)", "---[ end Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0) ]---"},
	{"clean_boot.log", 0, "", 0, "", ""},
	// Captured from ktest's own QEMU: a write to a frozen ext4 hangs (the
	// hung-task report has no end marker; the pause before the next
	// report ends it), then sysrq-c panics.
	{"qemu_hung_task_then_sysrq_panic.log", KindHungTask, "INFO: task sh:79 blocked for more than 2 seconds.", 2,
		"INFO: task sh:79 blocked for more than 2 seconds.", "</TASK>"},

	// Recorded from Debian's 6.12.118 under ktest (linux-6.12/README.md).
	// Its die() headers start "Oops: "; titles are those of 6.1.
	{"linux-6.12/oops_null_deref.log", KindOops, "BUG: kernel NULL pointer dereference, address: 0000000000000000", 1,
		"BUG: kernel NULL pointer dereference, address: 0000000000000000", "---[ end trace 0000000000000000 ]---"},
	{"linux-6.12/gpf.log", KindGPF, "general protection fault, probably for non-canonical address 0xdead000000000000: 0000 [#1] SMP", 1,
		"Oops: general protection fault, probably for non-canonical address 0xdead000000000000: 0000 [#1] SMP", "---[ end trace 0000000000000000 ]---"},
	{"linux-6.12/bug_at.log", KindBug, "kernel BUG at kernel/ktest_fault.c:42!", 1,
		"------------[ cut here ]------------", "---[ end trace 0000000000000000 ]---"},
	{"linux-6.12/warning.log", KindWarning, "WARNING: CPU: 1 PID: 58 at kernel/ktest_fault.c:40 ktest_fault_write+0xad/0x10a", 1,
		"------------[ cut here ]------------", "---[ end trace 0000000000000000 ]---"},
	{"linux-6.12/hung_task.log", KindHungTask, "INFO: task sh:57 blocked for more than 30 seconds.", 1,
		"INFO: task sh:57 blocked for more than 30 seconds.", "</TASK>"},
}

func readTestdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func checkCrashes(t *testing.T, crashes []*Crash, want int, kind Kind, title, first, last string) {
	t.Helper()
	if len(crashes) != want {
		for _, c := range crashes {
			t.Logf("got %s: %q", c.Kind, c.Title)
		}
		t.Fatalf("got %d reports, want %d", len(crashes), want)
	}
	if want == 0 {
		return
	}
	c := crashes[0]
	if c.Kind != kind {
		t.Errorf("kind = %v, want %v", c.Kind, kind)
	}
	if c.Title != title {
		t.Errorf("title = %q, want %q", c.Title, title)
	}
	lines := strings.Split(c.Excerpt, "\n")
	if got := strings.TrimSpace(lines[0]); got != first {
		t.Errorf("excerpt starts %q, want %q", got, first)
	}
	if got := strings.TrimSpace(lines[len(lines)-1]); got != last {
		t.Errorf("excerpt ends %q, want %q", got, last)
	}
	if strings.Contains(c.Excerpt, "] ") && strings.Contains(c.Excerpt, "[   ") {
		t.Errorf("excerpt keeps printk timestamps:\n%s", c.Excerpt)
	}
	if !strings.Contains(c.Error(), c.Kind.String()) || !strings.Contains(c.Error(), c.Title) {
		t.Errorf("Error() = %q lacks kind or title", c.Error())
	}
}

func TestParse(t *testing.T) {
	for _, tc := range parseCases {
		t.Run(tc.file, func(t *testing.T) {
			crashes := Parse(readTestdata(t, tc.file))
			checkCrashes(t, crashes, tc.reports, tc.kind, tc.title, tc.firstLine, tc.lastLine)
		})
	}
}

// TestWatcherChunks feeds each log in small, odd-sized chunks, as a pipe
// delivers them, and expects the same reports as Parse.
func TestWatcherChunks(t *testing.T) {
	for _, tc := range parseCases {
		t.Run(tc.file, func(t *testing.T) {
			log := readTestdata(t, tc.file)
			w := NewWatcher()
			for i := 0; i < len(log); i += 7 {
				_, _ = w.Write([]byte(log[i:min(i+7, len(log))]))
			}
			_ = w.Close() // teardown: nothing is written through it any more
			checkCrashes(t, w.Crashes(), tc.reports, tc.kind, tc.title, tc.firstLine, tc.lastLine)
		})
	}
}

// TestWatcherIdle: a lockdep report has no end marker; the watcher
// publishes it after the console has been silent for Idle, without Close.
func TestWatcherIdle(t *testing.T) {
	w := NewWatcher()
	w.Idle = 50 * time.Millisecond
	start := time.Now()
	_, _ = w.Write([]byte(readTestdata(t, "lockdep_circular.log")))
	n, open, changed := w.State()
	if n != 0 || !open {
		t.Fatalf("State() = %d complete, open=%v; want 0, true", n, open)
	}
	select {
	case <-changed:
	case <-time.After(5 * time.Second):
		t.Fatal("idle report never completed")
	}
	if d := time.Since(start); d < w.Idle {
		t.Errorf("completed after %v, before Idle %v", d, w.Idle)
	}
	c := w.Wait(0, nil)
	if c == nil || c.Kind != KindLockdep {
		t.Fatalf("Wait = %v, want a lockdep report", c)
	}
}

// TestWatcherWait: Wait(n) skips the first n reports, and when done fires
// while a report is still being printed it waits for that report.
func TestWatcherWait(t *testing.T) {
	w := NewWatcher()
	w.Idle = 100 * time.Millisecond
	_, _ = w.Write([]byte(readTestdata(t, "warning.log")))
	if c := w.Wait(0, nil); c == nil || c.Kind != KindWarning {
		t.Fatalf("Wait(0) = %v, want the WARNING", c)
	}

	done := make(chan struct{})
	close(done)
	if c := w.Wait(1, done); c != nil {
		t.Fatalf("Wait(1) with nothing open = %v, want nil", c)
	}

	// Half a report, then done: Wait must still return it.
	hung := readTestdata(t, "hung_task.log")
	_, _ = w.Write([]byte(hung[:len(hung)/2]))
	if c := w.Wait(1, done); c == nil || c.Kind != KindHungTask {
		t.Fatalf("Wait(1) on an open report = %v, want the hung task", c)
	}
}

func TestStripPrefix(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"[   41.310442] BUG: kernel NULL pointer dereference\r", "BUG: kernel NULL pointer dereference"},
		{"[   41.310442][    T1] Oops: 0000 [#1] SMP", "Oops: 0000 [#1] SMP"},
		{"[   41.310442] [  C0] rcu: INFO: rcu_sched detected stalls on CPUs/tasks:", "rcu: INFO: rcu_sched detected stalls on CPUs/tasks:"},
		{"no timestamp  ", "no timestamp"},
		{"[12345.000001]  <TASK>", " <TASK>"},
	} {
		if got := StripPrefix(tc.in); got != tc.want {
			t.Errorf("StripPrefix(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestStartPatterns checks single report lines against their kind; the
// order of startPatterns decides the ambiguous ones.
func TestStartPatterns(t *testing.T) {
	for _, tc := range []struct {
		line string
		kind Kind // 0: not a report start
	}{
		{"WARNING: possible circular locking dependency detected", KindLockdep},
		{"WARNING: inconsistent lock state", KindLockdep},
		{"WARNING: HARDIRQ-safe -> HARDIRQ-unsafe lock order detected", KindLockdep},
		{"WARNING: kworker/0:1/12 still has locks held!", KindLockdep},
		{"WARNING: suspicious RCU usage", KindLockdep},
		{"[ BUG: Invalid wait context ]", KindLockdep},
		{"WARNING: CPU: 3 PID: 1 at fs/ext4/inode.c:3321 ext4_iomap_begin+0x1/0x2", KindWarning},
		{"BUG: KASAN: slab-out-of-bounds in io_read+0x1/0x2", KindKASAN},
		{"BUG: sleeping function called from invalid context at mm/slab.h:723", KindBug},
		{"BUG: scheduling while atomic: readtest/301/0x00000002", KindBug},
		{"watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [sh:1]", KindSoftLockup},
		{"NMI watchdog: Watchdog detected hard LOCKUP on cpu 1", KindHardLockup},
		{"rcu: INFO: rcu_sched detected stalls on CPUs/tasks:", KindRCUStall},
		{"rcu: INFO: rcu_preempt detected expedited stalls on CPUs/tasks: { 1-... } 21002 jiffies s: 301 root: 0x2/.", KindRCUStall},
		{"INFO: task kworker/u4:0:9 blocked for more than 143 seconds.", KindHungTask},
		{"general protection fault: 0000 [#1] SMP", KindGPF},
		{"Oops: 0002 [#1] PREEMPT SMP NOPTI", KindOops},
		{"divide error: 0000 [#1] PREEMPT SMP NOPTI", KindOops},
		{"Kernel panic - not syncing: sysrq triggered crash", KindPanic},
		{"UBSAN: array-index-out-of-bounds in fs/btrfs/ctree.c:12:3", KindUBSAN},
		{"Spectre V2 : WARNING: Unprivileged eBPF is enabled", 0},
		{"INFO: lockdep is turned off.", 0},
		{"hung_task: watchdog enabled, timeout 120 s", 0},
		{"KASAN: null-ptr-deref in range [0x18-0x1f]", 0},
	} {
		sp, ok := matchStart(tc.line)
		got := Kind(0)
		if ok {
			got = sp.kind
		}
		if got != tc.kind {
			t.Errorf("%q: kind %v, want %v", tc.line, got, tc.kind)
		}
	}
}

func TestKindString(t *testing.T) {
	for k := KindOops; k <= KindGPF; k++ {
		if s := k.String(); s == "" || strings.HasPrefix(s, "Kind(") {
			t.Errorf("Kind %d has no name", int(k))
		}
	}
	if s := Kind(99).String(); s != "Kind(99)" {
		t.Errorf("Kind(99).String() = %q", s)
	}
}

// TestParseRealQEMULog checks the second report of the captured log: the
// sysrq panic, whose last console line is "Kernel Offset" because
// panic=-1 restarts before the end marker is printed.
func TestParseRealQEMULog(t *testing.T) {
	crashes := Parse(readTestdata(t, "qemu_hung_task_then_sysrq_panic.log"))
	if len(crashes) != 2 {
		t.Fatalf("got %d reports, want 2", len(crashes))
	}
	c := crashes[1]
	if c.Kind != KindPanic || c.Title != "Kernel panic - not syncing: sysrq triggered crash" {
		t.Errorf("second report = %v %q", c.Kind, c.Title)
	}
	if !strings.HasSuffix(c.Excerpt, "Kernel Offset: disabled") || strings.Contains(crashes[0].Excerpt, "sysrq") {
		t.Errorf("reports not split at the pause:\n%s\n---\n%s", crashes[0].Excerpt, c.Excerpt)
	}
}

func TestWarnMessageKept(t *testing.T) {
	crashes := Parse(readTestdata(t, "warning.log"))
	if len(crashes) != 1 || !strings.Contains(crashes[0].Excerpt, "io_uring: unexpected -EAGAIN for buffered read on non-RASYNC file") {
		t.Fatalf("WARN message missing from the excerpt: %+v", crashes)
	}
}
