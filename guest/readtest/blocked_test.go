package readtest

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ktest-dev/ktest/guest/proto"
)

func TestBlockedSection(t *testing.T) {
	log, err := os.ReadFile("testdata/sysrq_w.log")
	if err != nil {
		t.Fatal(err)
	}
	sec, err := BlockedSection(log)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(sec, "<6>[  101.884123] sysrq: Show Blocked State") || !strings.Contains(sec, "io_cqring_wait+0x3b8") || strings.Contains(sec, "ktest-agent: exec") {
		t.Errorf("section:\n%s", sec)
	}
	if _, err := BlockedSection([]byte("nothing here\n")); err == nil {
		t.Error("a log without a report gave a section")
	}
	big := append([]byte("sysrq: Show Blocked State\n"), []byte(strings.Repeat("x", 2*maxEvidence))...)
	if sec, _ := BlockedSection(big); len(sec) > maxEvidence+100 || !strings.HasSuffix(sec, "[... clipped]\n") {
		t.Errorf("not clipped: %d bytes", len(sec))
	}
}

// TestRunCasesStopsAfterAHang: the first hang dumps the blocked tasks
// into its evidence and the later tests are not run, so a wedged kernel
// costs one timeout.
func TestRunCasesStopsAfterAHang(t *testing.T) {
	ran := map[string]bool{}
	mk := func(name string, run func(ctx context.Context) error) Case {
		return Case{name, func(ctx context.Context, _ *Target, _ *Options) (string, error) {
			ran[name] = true
			return "", run(ctx)
		}}
	}
	cases := []Case{
		mk("first", func(context.Context) error { return nil }),
		mk("wedged", func(ctx context.Context) error { <-ctx.Done(); select {} }),
		mk("third", func(context.Context) error { return nil }),
		mk("fourth", func(context.Context) error { return errors.New("never") }),
	}
	dumps := 0
	start := time.Now()
	res, hung := runCases(context.Background(), cases, &Target{}, Options{Timeout: 200 * time.Millisecond,
		DumpBlocked: func() (string, error) { dumps++; return "task:reader state:D", nil }})
	if !hung || dumps != 1 || time.Since(start) > 5*time.Second {
		t.Fatalf("hung %v, dumps %d, took %v", hung, dumps, time.Since(start))
	}
	want := []string{proto.StatusPass, proto.StatusHung, proto.StatusNotRun, proto.StatusNotRun}
	for i, r := range res {
		if r.Status != want[i] {
			t.Errorf("%s: %s, want %s", r.Name, r.Status, want[i])
		}
	}
	if res[1].Evidence != "task:reader state:D" || !strings.Contains(res[2].Message, "the kernel hung in wedged") || ran["third"] || ran["fourth"] {
		t.Errorf("results %+v, ran %v", res, ran)
	}
}

func TestTaskStacks(t *testing.T) {
	log, err := os.ReadFile("testdata/sysrq_t.log")
	if err != nil {
		t.Fatal(err)
	}
	got := TaskStacks(log, "ktest-readtest")
	if !strings.Contains(got, "task:ktest-readtest  state:S") || !strings.Contains(got, "io_cqring_wait+0x3b8") ||
		strings.Contains(got, "do_epoll_wait") || strings.Contains(got, "futex_wait") {
		t.Errorf("stacks:\n%s", got)
	}
}

// TestTaskStacksReal: the threads of ktest-readtest in a real dump (the
// hung step of perpatch-hang-6.1): only the one waiting in io_uring is
// kept, not the Go runtime's idle threads.
func TestTaskStacksReal(t *testing.T) {
	log, err := os.ReadFile("testdata/sysrq_readtest_threads.log")
	if err != nil {
		t.Fatal(err)
	}
	got := TaskStacks(log, "ktest-readtest")
	if strings.Count(got, "task:ktest-readtest") != 1 || !strings.Contains(got, "io_uring_enter") || strings.Contains(got, "futex_wait") {
		t.Errorf("stacks:\n%s", got)
	}
}
