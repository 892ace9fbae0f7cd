package readtest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ktest-dev/ktest/guest/readtest/uring"
	"golang.org/x/sys/unix"
)

// truncateRace races io_uring reads against ftruncate on a scratch copy of
// the pattern file.
//
// The file is `full` bytes, with a `small` shrink point in the middle of a
// page. Generation 0 is the pattern with the run's seed. Round g >= 1 of
// the writer does:
//
//	ftruncate(small)            shrink: removes generation g-1 past small
//	shrinks = g                 (published after ftruncate returned)
//	ftruncate(full)             regrow: [small, full) reads as zeros
//	write gen g over [small, full), gen g = pattern with seed+g
//	every 4th round: fdatasync + fadvise(DONTNEED), so reads go cold
//
// Readers (4 threads, one ring each, QD8) read random ranges around
// [small-64K, full+8K) and load shrinks before queueing a read (T0) and
// after reaping it (T1). The invariant checked for each completion:
//
//   - res >= 0, res <= len, and off+res <= full (never past the largest size);
//   - bytes below small are generation 0 (never modified);
//   - each byte at or past small is 0 or the byte of a generation g with
//     T0 <= g <= T1. A generation older than T0 was truncated away by a
//     shrink that completed before the read was submitted, so seeing it is
//     stale data; a generation newer than T1 had not been started yet.
//
// Short counts are allowed (the file may have been small at any moment).
// Torn reads mixing generations and zeros are allowed byte by byte: reads
// and writes of the page cache are not atomic with respect to each other.
// Afterwards the file must read as generation 0 below small and the last
// generation above it.
func truncateRace(ctx context.Context, t *Target, o *Options) (string, error) {
	if t.Dir == "" {
		return "", &SkipError{Reason: "raw device: cannot be truncated"}
	}
	full := min(t.DataEnd, 2<<20)&^(BlockSize-1) + 1234
	small := (full/2)&^(BlockSize-1) + 1000
	path := filepath.Join(t.Dir, "readtest-truncate.dat")
	if err := CreateFile(path, full, t.Pattern); err != nil {
		return "", err
	}
	defer func() { _ = os.Remove(path) }() // best effort: the test disk is scratch
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return "", err
	}
	defer func() { _ = f.Close() }() // the test's verdict is in its reads; the file is removed

	rc := &raceCheck{seed: t.Pattern.Seed, small: small, full: full}
	rounds, total, err := rc.race(ctx, f, o.RaceDuration)
	if err != nil {
		return "", err
	}
	if err := rc.final(f, rounds); err != nil {
		return "", fmt.Errorf("after %d rounds: %w", rounds, err)
	}
	if total == 0 {
		return "", errors.New("no read completed during the race")
	}
	return fmt.Sprintf("%d shrink/regrow rounds (size %d <-> %d), %d racing reads checked, final contents verified",
		rounds, small, full, total), nil
}

type raceCheck struct {
	seed        uint64
	small, full int64
	shrinks     atomic.Int64
	// brokenShrink makes the writer skip the shrinking ftruncate while
	// still counting it, imitating a kernel that leaves stale data: tests
	// use it to show the readers catch that.
	brokenShrink bool
}

// race runs the writer against 4 reader threads on f (a file of rc.full
// bytes holding generation 0) for about d, returning the rounds written and
// the reads checked.
func (rc *raceCheck) race(ctx context.Context, f *os.File, d time.Duration) (rounds int64, reads int, err error) {
	var stop atomic.Bool
	const readers = 4
	var wg sync.WaitGroup
	errs := make([]error, readers+1)
	counts := make([]int, readers)
	for w := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			counts[w], errs[w] = rc.reader(f.Name(), rand.New(rand.NewPCG(rc.seed, uint64(w))), &stop)
			if errs[w] != nil {
				stop.Store(true) // one failure is enough; end the race
			}
		}()
	}
	rounds, errs[readers] = rc.writer(ctx, f, d, &stop)
	stop.Store(true)
	wg.Wait()
	for _, n := range counts {
		reads += n
	}
	return rounds, reads, errors.Join(errs...)
}

func (rc *raceCheck) gen(g int64) Pattern { return Pattern{Seed: rc.seed + uint64(g)} }

// writer runs shrink/regrow rounds for d (at least 8 rounds), returning how
// many completed.
func (rc *raceCheck) writer(ctx context.Context, f *os.File, d time.Duration, stop *atomic.Bool) (int64, error) {
	fd := int(f.Fd())
	deadline := time.Now().Add(d)
	var g int64
	for g = 1; g <= 8 || time.Now().Before(deadline); g++ {
		if ctx.Err() != nil || stop.Load() {
			return g - 1, ctx.Err()
		}
		if !rc.brokenShrink {
			if err := unix.Ftruncate(fd, rc.small); err != nil {
				return g - 1, fmt.Errorf("ftruncate(%d): %w", rc.small, err)
			}
		}
		rc.shrinks.Store(g)
		if err := unix.Ftruncate(fd, rc.full); err != nil {
			return g - 1, fmt.Errorf("ftruncate(%d): %w", rc.full, err)
		}
		if err := writePattern(f, rc.gen(g), rc.small, rc.full); err != nil {
			return g - 1, fmt.Errorf("writing generation %d: %w", g, err)
		}
		if g%4 == 0 {
			if err := unix.Fdatasync(fd); err != nil {
				return g, fmt.Errorf("fdatasync: %w", err)
			}
			if err := unix.Fadvise(fd, 0, 0, unix.FADV_DONTNEED); err != nil {
				return g, fmt.Errorf("fadvise: %w", err)
			}
		}
	}
	return g - 1, nil
}

// reader issues racing reads until stop, checking each completion.
func (rc *raceCheck) reader(path string, r *rand.Rand, stop *atomic.Bool) (int, error) {
	const qd, maxLen = 8, 16 << 10
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer func() { _ = f.Close() }() // read-only: a close error loses nothing
	ring, err := uring.New(qd)
	if err != nil {
		return 0, err
	}
	defer func() { _ = ring.Close() }() // the ring's reads are verified; closing frees it
	bufs, err := uring.Alloc(qd * maxLen)
	if err != nil {
		return 0, err
	}
	defer func() { _ = uring.Free(bufs) }() // the reads are verified; this only returns memory

	type inflight struct {
		off int64
		len int
		t0  int64
	}
	slots := make([]*inflight, qd)
	busy, done := 0, 0
	lo := max(0, rc.small-64<<10)
	for {
		for i := range slots {
			if slots[i] != nil || stop.Load() {
				continue
			}
			s := &inflight{off: lo + r.Int64N(rc.full+8<<10-lo), len: 1 + r.IntN(maxLen)}
			buf := bufs[i*maxLen : i*maxLen+s.len]
			for j := range buf {
				buf[j] = poison
			}
			s.t0 = rc.shrinks.Load() // before the read can start
			if err := ring.Queue(uring.SQE{Opcode: uring.OpRead, FD: int(f.Fd()), Off: uint64(s.off),
				Addr: uring.Addr(buf), Len: uint32(s.len), UserData: uint64(i)}); err != nil {
				return done, err
			}
			slots[i] = s
			busy++
		}
		if busy == 0 {
			return done, nil
		}
		if _, err := ring.SubmitAndWait(1); err != nil {
			return done, err
		}
		for {
			c, ok := ring.PeekCQE()
			if !ok {
				break
			}
			s := slots[c.UserData]
			t1 := rc.shrinks.Load() // after the read completed
			if err := rc.check(s.off, s.len, c.Res, bufs[int(c.UserData)*maxLen:], s.t0, t1); err != nil {
				return done, err
			}
			slots[c.UserData] = nil
			busy--
			done++
		}
	}
}

// check applies the invariant documented on truncateRace to one completion.
func (rc *raceCheck) check(off int64, n int, res int32, buf []byte, t0, t1 int64) error {
	where := fmt.Sprintf("read [%d, +%d) submitted after %d shrinks, completed after %d", off, n, t0, t1)
	if res < 0 {
		return fmt.Errorf("%s: %w", where, unix.Errno(-res))
	}
	if int(res) > n || (res > 0 && off+int64(res) > rc.full) {
		return fmt.Errorf("%s: returned %d bytes, past the largest file size %d", where, res, rc.full)
	}
	got := buf[:res]
	// Below small: always generation 0.
	if below := min(int64(res), max(0, rc.small-off)); below > 0 {
		if err := rc.gen(0).Verify(got[:below], off); err != nil {
			return fmt.Errorf("%s: below the shrink point %d: %w", where, rc.small, err)
		}
	}
	start := max(off, rc.small)
	end := off + int64(res)
	if start >= end {
		return nil
	}
	part := got[start-off:]
	// Expected bytes of every allowed generation, and the one just before
	// the allowed range for a precise "stale" diagnosis.
	lo := max(0, t0-1)
	gens := make([][]byte, t1-lo+1)
	for g := lo; g <= t1; g++ {
		gens[g-lo] = make([]byte, len(part))
		rc.gen(g).Fill(gens[g-lo], start)
	}
	for i, b := range part {
		if b == 0 {
			continue
		}
		ok := false
		for g := t0; g <= t1; g++ {
			if gens[g-lo][i] == b {
				ok = true
				break
			}
		}
		if ok {
			continue
		}
		p := start + int64(i)
		if t0 > 0 && gens[t0-1-lo][i] == b {
			// Count the run to tell a coincidence from a stale page.
			run := 0
			for j := i; j < len(part) && gens[t0-1-lo][j] == part[j]; j++ {
				run++
			}
			if run >= 8 {
				return fmt.Errorf("%s: stale data at offset %d: %d bytes of generation %d, which a shrink to %d removed before the read was submitted",
					where, p, run, t0-1, rc.small)
			}
		}
		return fmt.Errorf("%s: byte at %d is %#02x: neither zero nor generation %d..%d", where, p, b, t0, t1)
	}
	return nil
}

// final checks the settled file: generation 0 below small, the last
// generation written above it.
func (rc *raceCheck) final(f *os.File, rounds int64) error {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return err
	}
	if st.Size != rc.full {
		return fmt.Errorf("file size %d, want %d", st.Size, rc.full)
	}
	buf := make([]byte, rc.full)
	n, err := unix.Pread(int(f.Fd()), buf, 0)
	if err != nil {
		return fmt.Errorf("pread: %w", err)
	}
	if int64(n) != rc.full {
		return fmt.Errorf("pread returned %d bytes, want %d", n, rc.full)
	}
	if err := rc.gen(0).Verify(buf[:rc.small], 0); err != nil {
		return err
	}
	return rc.gen(rounds).Verify(buf[rc.small:], rc.small)
}
