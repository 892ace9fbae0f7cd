package readtest

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"runtime"
	"sync"
	"time"

	"github.com/ktest-dev/ktest/guest/proto"
	"github.com/ktest-dev/ktest/guest/readtest/uring"
)

// Options tune the correctness tests. Zero values get defaults.
type Options struct {
	Timeout   time.Duration // per test; default 60s
	RandReads int           // reads in each random test; default 4096
	Waiters   int           // rings/threads in concurrent-waiters; default 8
	// RaceDuration bounds truncate-race's racing phase; default 2s.
	RaceDuration time.Duration
	// Only, if set, runs just the named tests (the rest are not reported).
	Only []string
	Log  io.Writer // progress; nil for none
	// DumpBlocked, if set, is called after a test hangs and returns the
	// kernel's account of the blocked tasks (DumpBlockedTasks in the
	// guest); nil in unit tests on the host.
	DumpBlocked func() (string, error)
}

func (o *Options) defaults() {
	if o.Timeout <= 0 {
		o.Timeout = 60 * time.Second
	}
	if o.RandReads <= 0 {
		o.RandReads = 4096
	}
	if o.Waiters <= 0 {
		o.Waiters = 8
	}
	if o.RaceDuration <= 0 {
		o.RaceDuration = 2 * time.Second
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
}

// Case is one named correctness test. Run returns a short summary of what
// it checked, or an error describing the first failure. It should honour
// ctx where it can, but a read stuck in the kernel cannot be interrupted;
// RunCase bounds it.
type Case struct {
	Name string
	Run  func(ctx context.Context, t *Target, o *Options) (string, error)
}

// SkipError marks a test as not applicable to the target.
type SkipError struct{ Reason string }

func (e *SkipError) Error() string { return "skipped: " + e.Reason }

// HungError is a test that did not finish within its timeout. Its goroutine
// is abandoned, still blocked (typically in io_uring_enter).
type HungError struct {
	Test    string
	Timeout time.Duration
}

func (e *HungError) Error() string {
	return fmt.Sprintf("test %s did not finish within %v (hung; its thread is abandoned)", e.Test, e.Timeout)
}

// Cases returns the correctness tests in run order.
func Cases() []Case {
	return []Case{
		{"rand4k-qd32-cold", randCold},
		{"rand4k-qd32-warm", randWarm},
		{"unaligned-span", unalignedSpan},
		{"eof", eofCase},
		{"large-read", largeRead},
		{"concurrent-waiters", concurrentWaiters},
		{"truncate-race", truncateRace},
		{"readv-multi-iovec", readvMulti},
		{"force-async", forceAsync},
		{"preadv", preadvCase},
	}
}

// RunCases runs every case (or Options.Only) against t. hung reports
// whether a test hung, in which case the process has stuck threads and
// should exit once results are out. After the first hang the kernel is
// wedged: the blocked tasks are dumped into that test's Evidence and the
// remaining tests are not run (each would only wait out its timeout).
func RunCases(ctx context.Context, t *Target, o Options) (results []proto.TestResult, hung bool) {
	return runCases(ctx, Cases(), t, o)
}

func runCases(ctx context.Context, cases []Case, t *Target, o Options) (results []proto.TestResult, hung bool) {
	o.defaults()
	var hungIn string
	for _, c := range cases {
		if len(o.Only) > 0 && !contains(o.Only, c.Name) {
			continue
		}
		switch {
		case hungIn != "":
			results = append(results, proto.TestResult{Name: c.Name, Status: proto.StatusNotRun, Message: "not run: the kernel hung in " + hungIn})
			continue
		case ctx.Err() != nil:
			results = append(results, proto.TestResult{Name: c.Name, Status: proto.StatusSkip, Message: "run cancelled: " + ctx.Err().Error()})
			continue
		}
		_, _ = fmt.Fprintln(o.Log, proto.RunningLine(c.Name, o.Timeout)) // a progress line: losing one must not fail the run
		r := RunCase(ctx, c, t, &o)
		_, _ = fmt.Fprintln(o.Log, proto.FinishedLine(r)) // a progress line: losing one must not fail the run
		if r.Status == proto.StatusHung {
			hung, hungIn = true, c.Name
			if o.DumpBlocked != nil {
				ev, err := o.DumpBlocked()
				if err != nil {
					ev = "no dump of the blocked tasks: " + err.Error()
				}
				r.Evidence = ev
			}
		}
		results = append(results, r)
	}
	return results, hung
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// RunCase runs c in its own goroutine with o.Timeout. A case still running
// at the deadline is reported as hung and abandoned.
func RunCase(ctx context.Context, c Case, t *Target, o *Options) proto.TestResult {
	o.defaults()
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	type outcome struct {
		msg string
		err error
	}
	done := make(chan outcome, 1)
	start := time.Now()
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- outcome{err: fmt.Errorf("panic: %v", p)}
			}
		}()
		msg, err := c.Run(ctx, t, o)
		done <- outcome{msg, err}
	}()
	res := proto.TestResult{Name: c.Name}
	var out outcome
	select {
	case out = <-done:
	case <-ctx.Done():
		out.err = &HungError{Test: c.Name, Timeout: o.Timeout}
	}
	res.DurationMS = time.Since(start).Milliseconds()
	var skip *SkipError
	var hung *HungError
	switch {
	case out.err == nil:
		res.Status, res.Message = proto.StatusPass, out.msg
	case errors.As(out.err, &skip):
		res.Status, res.Message = proto.StatusSkip, skip.Reason
	case errors.As(out.err, &hung):
		res.Status, res.Message = proto.StatusHung, hung.Error()
	default:
		res.Status, res.Message = proto.StatusFail, out.err.Error()
	}
	return res
}

// rng returns a generator reproducible from the seed and the test name.
func rng(t *Target, name string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(name))
	return rand.New(rand.NewPCG(t.Pattern.Seed, h.Sum64()))
}

// randBlocks returns n distinct random block-aligned 4 KiB reads below
// DataEnd (fewer if the data is smaller).
func randBlocks(r *rand.Rand, dataEnd int64, n int) []req {
	blocks := int(dataEnd / BlockSize)
	perm := r.Perm(blocks)
	reqs := make([]req, 0, min(n, blocks))
	for _, b := range perm[:min(n, blocks)] {
		reqs = append(reqs, req{Off: int64(b) * BlockSize, Len: BlockSize})
	}
	return reqs
}

// unalignedReqs returns n reads that start at an unaligned offset inside a
// page and cross at least one page boundary, up to maxSpan bytes long.
func unalignedReqs(r *rand.Rand, dataEnd int64, n, maxSpan int) []req {
	var reqs []req
	blocks := dataEnd / BlockSize
	for range n {
		b := r.Int64N(blocks - 1)
		k := 1 + r.IntN(BlockSize-1) // bytes before the boundary
		off := b*BlockSize + BlockSize - int64(k)
		l := k + 1 + r.IntN(maxSpan-k)
		l = int(min(int64(l), dataEnd-off))
		reqs = append(reqs, req{Off: off, Len: l})
	}
	return reqs
}

func drop(t *Target) error {
	if err := t.DropCaches(); err != nil {
		return fmt.Errorf("dropping caches: %w", err)
	}
	return nil
}

func randCold(ctx context.Context, t *Target, o *Options) (string, error) {
	if err := drop(t); err != nil {
		return "", err
	}
	st, err := uringRead(t, randBlocks(rng(t, "rand4k"), t.DataEnd, o.RandReads), 32, 0, nil)
	return "cold: " + st.String(), err
}

func randWarm(ctx context.Context, t *Target, o *Options) (string, error) {
	reqs := randBlocks(rng(t, "rand4k"), t.DataEnd, o.RandReads)
	// The first pass makes the pages resident (whatever the previous test
	// left); the second is the warm one.
	if _, err := uringRead(t, reqs, 32, 0, nil); err != nil {
		return "", fmt.Errorf("populating pass: %w", err)
	}
	st, err := uringRead(t, reqs, 32, 0, nil)
	return "warm: " + st.String(), err
}

func unalignedSpan(ctx context.Context, t *Target, o *Options) (string, error) {
	if err := drop(t); err != nil {
		return "", err
	}
	st, err := uringRead(t, unalignedReqs(rng(t, "unaligned"), t.DataEnd, 1024, 3*BlockSize+100), 32, 0, nil)
	return st.String(), err
}

// eofReqs are reads around the end of t, all inside its last pattern region.
func eofReqs(t *Target) []req {
	s := t.Size
	return []req{
		{s - 100, BlockSize},         // crosses EOF: 100 bytes
		{s - 5000, 2 * BlockSize},    // two pages, crosses EOF: 5000
		{s &^ (BlockSize - 1), 8192}, // aligned start of the last page: s%4096 (0 if aligned)
		{s - 1, 1},                   // last byte
		{s - 4321, 4321},             // ends exactly at EOF
		{s, BlockSize},               // at EOF: 0
		{s, 1},                       // at EOF: 0
		{s + 5000, BlockSize},        // beyond EOF: 0
		{s + 1<<20, 1},               // far beyond EOF: 0
	}
}

func eofCase(ctx context.Context, t *Target, o *Options) (string, error) {
	if err := drop(t); err != nil {
		return "", err
	}
	// One at a time, so each is a fresh read of its range.
	st, err := uringRead(t, eofReqs(t), 1, 0, nil)
	return fmt.Sprintf("file size %d (%%4096 = %d): %s", t.Size, t.Size%BlockSize, st), err
}

func largeRead(ctx context.Context, t *Target, o *Options) (string, error) {
	n := int64(max(4*t.ReadAheadKB<<10, 1<<20))
	off := int64(BlockSize + 512)
	n = min(n, t.DataEnd-off)
	if err := drop(t); err != nil {
		return "", err
	}
	st, err := uringRead(t, []req{{off, int(n)}}, 1, 0, nil)
	return fmt.Sprintf("one %d-byte read at %d (read_ahead_kb %d): %s", n, off, t.ReadAheadKB, st), err
}

// concurrentWaiters has o.Waiters threads, each with its own ring, read the
// same cold pages in the same order at the same moment, so many waiters
// queue on each page lock at once: the missed/exclusive wakeup bug class.
// A lost wakeup shows up as a hang (reported by RunCase).
func concurrentWaiters(ctx context.Context, t *Target, o *Options) (string, error) {
	reqs := randBlocks(rng(t, "waiters"), t.DataEnd, 256)
	const rounds = 3
	var total readStats
	for round := range rounds {
		if err := drop(t); err != nil {
			return "", err
		}
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		st, err := waitersRound(t, reqs, o.Waiters)
		total.add(st)
		if err != nil {
			return "", fmt.Errorf("round %d: %w", round+1, err)
		}
	}
	return fmt.Sprintf("%d threads x %d rounds over %d shared cold pages: %s", o.Waiters, rounds, len(reqs), total), nil
}

func waitersRound(t *Target, reqs []req, threads int) (readStats, error) {
	start := make(chan struct{})
	var ready, wg sync.WaitGroup
	errs := make([]error, threads)
	stats := make([]readStats, threads)
	for w := range threads {
		ready.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			u, f, err := openReader(t, 32, BlockSize)
			ready.Done()
			if err != nil {
				errs[w] = err
				return
			}
			defer func() { _ = f.Close() }() // read-only: a close error loses nothing
			<-start
			stats[w], errs[w] = u.run(reqs)
			errs[w] = errors.Join(errs[w], u.close())
		}()
	}
	ready.Wait() // all rings set up, so the reads start together
	close(start)
	wg.Wait()
	var total readStats
	for _, s := range stats {
		total.add(s)
	}
	for w, err := range errs {
		if err != nil {
			return total, fmt.Errorf("thread %d: %w", w, err)
		}
	}
	return total, nil
}

func readvMulti(ctx context.Context, t *Target, o *Options) (string, error) {
	sizes := []int{1, 511, 4099, 100, 8191, 17, 3}
	r := rng(t, "readv")
	reqs := unalignedReqs(r, t.DataEnd, 512, 4*BlockSize)
	reqs = append(reqs, randBlocks(r, t.DataEnd, 256)...)
	reqs = append(reqs, eofReqs(t)...)
	if err := drop(t); err != nil {
		return "", err
	}
	st, err := uringRead(t, reqs, 16, 0, sizes)
	return fmt.Sprintf("iovec sizes %v: %s", sizes, st), err
}

// forceAsync reads the same ranges cold through the default path and with
// IOSQE_ASYNC (io-wq offload); both must match the pattern, hence each other.
func forceAsync(ctx context.Context, t *Target, o *Options) (string, error) {
	r := rng(t, "async")
	reqs := randBlocks(r, t.DataEnd, min(o.RandReads, 1024))
	reqs = append(reqs, unalignedReqs(r, t.DataEnd, 256, 3*BlockSize)...)
	reqs = append(reqs, eofReqs(t)...)
	var msgs []string
	for _, mode := range []struct {
		name  string
		flags uint8
	}{{"IOSQE_ASYNC", uring.SQEAsync}, {"default", 0}} {
		if err := drop(t); err != nil {
			return "", err
		}
		st, err := uringRead(t, reqs, 32, mode.flags, nil)
		if err != nil {
			return "", fmt.Errorf("%s: %w", mode.name, err)
		}
		msgs = append(msgs, mode.name+": "+st.String())
	}
	return fmt.Sprintf("%s; %s", msgs[0], msgs[1]), nil
}

func preadvCase(ctx context.Context, t *Target, o *Options) (string, error) {
	r := rng(t, "preadv")
	sizes := []int{1000, 3096, 7, 4089}
	reqs := randBlocks(r, t.DataEnd, min(o.RandReads, 1024))
	reqs = append(reqs, unalignedReqs(r, t.DataEnd, 256, 3*BlockSize)...)
	reqs = append(reqs, req{BlockSize + 512, int(min(1<<20, t.DataEnd-BlockSize-512))})
	reqs = append(reqs, eofReqs(t)...)
	if err := drop(t); err != nil {
		return "", err
	}
	// Four threads share the work so cold pages see concurrent waiters
	// through the synchronous path too.
	const threads = 4
	var wg sync.WaitGroup
	errs := make([]error, threads)
	stats := make([]readStats, threads)
	for w := range threads {
		var part []req
		for i := w; i < len(reqs); i += threads {
			part = append(part, reqs[i])
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			stats[w], errs[w] = preadvRead(t, part, sizes)
		}()
	}
	wg.Wait()
	var total readStats
	for _, s := range stats {
		total.add(s)
	}
	return fmt.Sprintf("%d threads, iovec sizes %v: %s", threads, sizes, total), errors.Join(errs...)
}

// progress writes one progress line to log. Best effort: the results
// are returned, not logged, and a log that cannot be written has no
// one else to tell.
func progress(log io.Writer, format string, a ...any) {
	_, _ = fmt.Fprintf(log, format+"\n", a...)
}
