package readtest

import (
	"errors"
	"fmt"
	"os"

	"github.com/ktest-dev/ktest/guest/readtest/uring"
	"golang.org/x/sys/unix"
)

// poison fills read buffers before each read, so bytes the kernel claims to
// have read but did not write are caught by verification.
const poison = 0xa5

// req is one logical read of [Off, Off+Len).
type req struct {
	Off int64
	Len int
}

// readStats summarises a batch of reads for a test's message.
type readStats struct {
	Reads  int   // logical reads completed
	Bytes  int64 // bytes verified
	Shorts int   // completions shorter than asked that were not at EOF (continued)
	Subs   int   // SQEs (or syscalls) issued
}

func (s *readStats) add(o readStats) {
	s.Reads += o.Reads
	s.Bytes += o.Bytes
	s.Shorts += o.Shorts
	s.Subs += o.Subs
}

func (s readStats) String() string {
	return fmt.Sprintf("%d reads, %d bytes verified, %d submissions, %d short completions continued",
		s.Reads, s.Bytes, s.Subs, s.Shorts)
}

// ReadError is a read that failed or returned wrong data.
type ReadError struct {
	Op   string // "io_uring READ", "io_uring READV+ASYNC", "preadv", ...
	Off  int64  // logical read's offset and length
	Len  int
	Done int // bytes already read when it failed
	Err  error
}

func (e *ReadError) Error() string {
	return fmt.Sprintf("%s [%d, +%d) after %d bytes: %v", e.Op, e.Off, e.Len, e.Done, e.Err)
}

func (e *ReadError) Unwrap() error { return e.Err }

// expected returns how many bytes a read of r must return from a file of
// size bytes.
func expected(r req, size int64) int {
	return int(max(0, min(int64(r.Len), size-r.Off)))
}

// uringReader issues reads on one ring at a fixed queue depth, continuing
// short reads the way applications must (io_uring may return fewer bytes
// than asked before EOF, e.g. when only part of a range was cached on 5.8),
// and verifying every completed logical read against the target.
type uringReader struct {
	ring  *uring.Ring
	fd    int
	t     *Target
	qd    int
	flags uint8 // uring.SQEAsync or 0
	// iovSizes, when set, makes every read an OpReadv whose iovecs cycle
	// through these sizes, placed in the slot buffer in reverse order.
	iovSizes []int

	maxLen int
	bufs   []byte // qd slots of maxLen
	gather []byte // scratch for readv verification
	iovs   *uring.Iovecs
	maxIov int
}

func (u *uringReader) op() string {
	s := "io_uring READ"
	if u.iovSizes != nil {
		s = "io_uring READV"
	}
	if u.flags&uring.SQEAsync != 0 {
		s += "+ASYNC"
	}
	return s
}

// newUringReader sets up a ring and qd buffers of maxLen bytes.
func newUringReader(t *Target, f *os.File, qd, maxLen int, flags uint8, iovSizes []int) (*uringReader, error) {
	ring, err := uring.New(uint32(qd))
	if err != nil {
		return nil, err
	}
	u := &uringReader{ring: ring, fd: int(f.Fd()), t: t, qd: qd, flags: flags, iovSizes: iovSizes, maxLen: maxLen}
	u.bufs, err = uring.Alloc(qd * maxLen)
	if err == nil && iovSizes != nil {
		// Segment counts only grow with the length, so the longest read
		// needs the most iovecs.
		u.maxIov = len(u.layout(maxLen))
		if u.maxIov > 1024 {
			err = fmt.Errorf("internal: %d iovecs exceed UIO_MAXIOV", u.maxIov)
		} else {
			u.iovs, err = uring.NewIovecs(qd * u.maxIov)
		}
		u.gather = make([]byte, maxLen)
	}
	if err != nil {
		_ = u.close() // error path: the setup already failed
		return nil, err
	}
	return u, nil
}

func (u *uringReader) close() error {
	var errs []error
	if u.ring != nil {
		errs = append(errs, u.ring.Close())
	}
	errs = append(errs, uring.Free(u.bufs))
	if u.iovs != nil {
		errs = append(errs, u.iovs.Free())
	}
	return errors.Join(errs...)
}

// slot is one in-flight logical read.
type slot struct {
	r     req
	want  int      // expected total
	done  int      // bytes read so far
	segs  [][2]int // readv: (buffer offset, length) of each logical segment, in file order
	inUse bool
}

// layout returns, for a readv of n bytes, the buffer offset and length of
// each segment in file order, placing segment i at the opposite end of the
// buffer from segment i-1's neighbour (reverse order), so a kernel that
// treated the iovecs as one contiguous range would be caught.
func (u *uringReader) layout(n int) [][2]int {
	var lens []int
	for left, i := n, 0; left > 0; i++ {
		l := min(u.iovSizes[i%len(u.iovSizes)], left)
		lens = append(lens, l)
		left -= l
	}
	segs := make([][2]int, len(lens))
	pos := n
	for i, l := range lens {
		pos -= l
		segs[i] = [2]int{pos, l}
	}
	return segs
}

// submit queues the remaining part of slot i.
func (u *uringReader) queue(i int, s *slot) error {
	buf := u.bufs[i*u.maxLen : (i+1)*u.maxLen]
	off := uint64(s.r.Off) + uint64(s.done)
	left := s.r.Len - s.done
	e := uring.SQE{FD: u.fd, Off: off, Flags: u.flags, UserData: uint64(i)}
	if u.iovSizes == nil {
		e.Opcode = uring.OpRead
		e.Addr = uring.Addr(buf[s.done:])
		e.Len = uint32(left)
	} else {
		// Point iovecs at the not-yet-read parts of the segments.
		base := i * u.maxIov
		k, skip := 0, s.done
		for _, sg := range s.segs {
			if skip >= sg[1] {
				skip -= sg[1]
				continue
			}
			u.iovs.Set(base+k, buf[sg[0]+skip:sg[0]+sg[1]])
			skip = 0
			k++
		}
		e.Opcode = uring.OpReadv
		e.Addr = u.iovs.AddrOf(base)
		e.Len = uint32(k)
	}
	return u.ring.Queue(e)
}

// contents returns slot i's data in file order.
func (u *uringReader) contents(i int, s *slot) []byte {
	buf := u.bufs[i*u.maxLen : (i+1)*u.maxLen]
	if u.iovSizes == nil {
		return buf[:s.done]
	}
	g := u.gather[:0]
	for _, sg := range s.segs {
		g = append(g, buf[sg[0]:sg[0]+sg[1]]...)
	}
	return g[:s.done]
}

// run performs reqs (each Len <= maxLen) with up to qd in flight. Every
// logical read must return exactly expected(r, Target.Size) bytes in total,
// each completion must be >= 0, a zero completion before that is a
// premature EOF, and the bytes must match the pattern.
func (u *uringReader) run(reqs []req) (readStats, error) {
	var st readStats
	slots := make([]slot, u.qd)
	next, inflight := 0, 0
	for next < len(reqs) || inflight > 0 {
		for i := range slots {
			if next >= len(reqs) {
				break
			}
			if slots[i].inUse {
				continue
			}
			r := reqs[next]
			if r.Len > u.maxLen || r.Len <= 0 {
				return st, fmt.Errorf("internal: read length %d outside 1..%d", r.Len, u.maxLen)
			}
			next++
			s := &slots[i]
			*s = slot{r: r, want: expected(r, u.t.Size), inUse: true}
			if u.iovSizes != nil {
				s.segs = u.layout(r.Len)
			}
			buf := u.bufs[i*u.maxLen : i*u.maxLen+r.Len]
			for j := range buf {
				buf[j] = poison
			}
			if err := u.queue(i, s); err != nil {
				return st, err
			}
			st.Subs++
			inflight++
		}
		if _, err := u.ring.SubmitAndWait(1); err != nil {
			return st, err
		}
		for {
			c, ok := u.ring.PeekCQE()
			if !ok {
				break
			}
			i := int(c.UserData)
			if i < 0 || i >= len(slots) || !slots[i].inUse {
				return st, fmt.Errorf("completion for unknown request %d (res %d)", c.UserData, c.Res)
			}
			s := &slots[i]
			fail := func(err error) error {
				return &ReadError{Op: u.op(), Off: s.r.Off, Len: s.r.Len, Done: s.done, Err: err}
			}
			if err := c.Err(); err != nil {
				return st, fail(err)
			}
			n := int(c.Res)
			if s.done+n > s.want {
				return st, fail(fmt.Errorf("completion of %d bytes goes past the %d expected (file size %d)", n, s.want, u.t.Size))
			}
			if n == 0 && s.done < s.want {
				return st, fail(fmt.Errorf("premature EOF: 0 bytes with %d expected (file size %d)", s.want-s.done, u.t.Size))
			}
			s.done += n
			if s.done < s.want {
				st.Shorts++
				st.Subs++
				if err := u.queue(i, s); err != nil {
					return st, err
				}
				continue
			}
			if err := u.t.Verify(u.contents(i, s), s.r.Off); err != nil {
				return st, fail(err)
			}
			st.Reads++
			st.Bytes += int64(s.done)
			s.inUse = false
			inflight--
		}
		if ov := u.ring.Overflow(); ov != 0 {
			return st, fmt.Errorf("io_uring CQ overflow: %d completions dropped", ov)
		}
	}
	return st, nil
}

// openReader opens t and sets up a plain-read uringReader on it. The caller
// closes both.
func openReader(t *Target, qd, maxLen int) (*uringReader, *os.File, error) {
	f, err := os.Open(t.Path)
	if err != nil {
		return nil, nil, err
	}
	u, err := newUringReader(t, f, qd, maxLen, 0, nil)
	if err != nil {
		_ = f.Close() // read-only, and the setup already failed
		return nil, nil, err
	}
	return u, f, nil
}

// uringRead runs reqs against t on a fresh ring.
func uringRead(t *Target, reqs []req, qd int, flags uint8, iovSizes []int) (readStats, error) {
	f, err := os.Open(t.Path)
	if err != nil {
		return readStats{}, err
	}
	defer func() { _ = f.Close() }() // read-only: a close error loses nothing
	maxLen := 0
	for _, r := range reqs {
		maxLen = max(maxLen, r.Len)
	}
	u, err := newUringReader(t, f, qd, maxLen, flags, iovSizes)
	if err != nil {
		return readStats{}, err
	}
	st, err := u.run(reqs)
	return st, errors.Join(err, u.close())
}

// preadvRead performs reqs one at a time with preadv(2), splitting each
// buffer into iovecs of iovSizes, continuing short reads, and verifying.
func preadvRead(t *Target, reqs []req, iovSizes []int) (readStats, error) {
	var st readStats
	f, err := os.Open(t.Path)
	if err != nil {
		return st, err
	}
	defer func() { _ = f.Close() }() // read-only: a close error loses nothing
	fd := int(f.Fd())
	for _, r := range reqs {
		want := expected(r, t.Size)
		buf := make([]byte, r.Len)
		for j := range buf {
			buf[j] = poison
		}
		done := 0
		for {
			var iovs [][]byte
			for rest, i := buf[done:], 0; len(rest) > 0; i++ {
				l := min(iovSizes[i%len(iovSizes)], len(rest))
				iovs = append(iovs, rest[:l])
				rest = rest[l:]
			}
			st.Subs++
			n, err := unix.Preadv(fd, iovs, r.Off+int64(done))
			fail := func(err error) error {
				return &ReadError{Op: "preadv", Off: r.Off, Len: r.Len, Done: done, Err: err}
			}
			if err != nil {
				return st, fail(err)
			}
			if done+n > want {
				return st, fail(fmt.Errorf("returned %d bytes, past the %d expected (file size %d)", n, want-done, t.Size))
			}
			if n == 0 && done < want {
				return st, fail(fmt.Errorf("premature EOF: 0 bytes with %d expected", want-done))
			}
			done += n
			if done == want {
				break
			}
			st.Shorts++
		}
		if err := t.Verify(buf[:done], r.Off); err != nil {
			return st, &ReadError{Op: "preadv", Off: r.Off, Len: r.Len, Done: done, Err: err}
		}
		st.Reads++
		st.Bytes += int64(done)
	}
	return st, nil
}
