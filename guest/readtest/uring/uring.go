// Package uring is a minimal io_uring built on raw syscalls, enough to issue
// buffered reads (IORING_OP_READ, IORING_OP_READV) with or without
// IOSQE_ASYNC. It relies on nothing newer than Linux 5.8.
//
// A Ring is not safe for concurrent use: one goroutine submits and reaps.
// Addresses handed to the kernel (read buffers, iovec arrays) must not be
// moved by the Go garbage collector while a request is in flight, so they
// must come from Alloc (anonymous mmap), never from the Go heap.
//
// Blocking waits (SubmitAndWait, WaitCQE) cannot be cancelled: a request
// that never completes keeps the calling thread in io_uring_enter. Callers
// that need a bound run the wait in a goroutine and give up on it after a
// timeout (see readtest), abandoning the ring.
package uring

import (
	"errors"
	"fmt"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Opcodes (include/uapi/linux/io_uring.h).
const (
	OpNop   uint8 = 0
	OpReadv uint8 = 1
	OpRead  uint8 = 22 // Linux 5.6+
)

// SQE flags.
const (
	// SQEAsync forces the request to io-wq instead of trying a non-blocking
	// issue first (IOSQE_ASYNC, Linux 5.6+).
	SQEAsync uint8 = 1 << 4
)

// Feature bits returned by io_uring_setup.
const (
	FeatSingleMmap = 1 << 0 // SQ and CQ rings share one mmap (5.4+)
	FeatNoDrop     = 1 << 1 // CQ overflow is buffered, not dropped (5.5+)
	FeatFastPoll   = 1 << 5 // 5.7+
)

const (
	offSQRing = 0
	offCQRing = 0x8000000
	offSQEs   = 0x10000000

	enterGetEvents = 1 << 0

	sqeSize = 64
	cqeSize = 16
)

// params mirrors struct io_uring_params (120 bytes, unchanged since 5.1 apart
// from reserved fields gaining names).
type params struct {
	sqEntries    uint32
	cqEntries    uint32
	flags        uint32
	sqThreadCPU  uint32
	sqThreadIdle uint32
	features     uint32
	wqFD         uint32
	resv         [3]uint32
	sqOff        sqringOffsets
	cqOff        cqringOffsets
}

type sqringOffsets struct {
	head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
	resv2                                                           uint64
}

type cqringOffsets struct {
	head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
	resv2                                                           uint64
}

// sqe mirrors struct io_uring_sqe (64 bytes).
type sqe struct {
	opcode   uint8
	flags    uint8
	ioprio   uint16
	fd       int32
	off      uint64
	addr     uint64
	len      uint32
	rwFlags  uint32
	userData uint64
	pad      [3]uint64
}

// Compile-time checks that the mirrored structs match the kernel ABI sizes.
var (
	_ [unsafe.Sizeof(params{}) - 120]struct{}
	_ [120 - unsafe.Sizeof(params{})]struct{}
	_ [unsafe.Sizeof(sqe{}) - sqeSize]struct{}
	_ [sqeSize - unsafe.Sizeof(sqe{})]struct{}
	_ [unsafe.Sizeof(CQE{}) - cqeSize]struct{}
	_ [cqeSize - unsafe.Sizeof(CQE{})]struct{}
)

// CQE is a completion: the request's UserData and its result (a byte count,
// or a negative errno).
type CQE struct {
	UserData uint64
	Res      int32
	Flags    uint32
}

// Err returns the CQE's error, or nil when Res is a count.
func (c CQE) Err() error {
	if c.Res < 0 {
		return unix.Errno(-c.Res)
	}
	return nil
}

// SQE describes one request to queue.
type SQE struct {
	Opcode   uint8
	Flags    uint8 // e.g. SQEAsync
	FD       int
	Off      uint64
	Addr     uintptr // buffer (OpRead) or iovec array (OpReadv), from Alloc
	Len      uint32  // bytes (OpRead) or number of iovecs (OpReadv)
	UserData uint64
}

// ErrSQFull is returned by Queue when every SQE slot holds an unsubmitted
// request.
var ErrSQFull = errors.New("io_uring: submission queue full")

// Ring is one io_uring instance with its mapped rings.
type Ring struct {
	fd       int
	features uint32
	single   bool // one mapping serves both rings

	sqMap, cqMap, sqeMap []byte // cqMap aliases sqMap with FeatSingleMmap

	sqHead, sqTail *uint32
	sqMask         uint32
	sqEntries      uint32
	sqArray        []uint32
	sqes           []sqe
	sqeTail        uint32 // SQEs filled locally; published by SubmitAndWait

	cqHead, cqTail *uint32
	cqMask         uint32
	cqes           []CQE
	cqOverflow     *uint32
}

// New sets up a ring with room for entries submissions (rounded up to a
// power of two by the kernel; the CQ gets twice as many).
func New(entries uint32) (*Ring, error) { return newRing(entries, false) }

// newRing is New; separate forces one mmap per ring even when the kernel
// offers IORING_FEAT_SINGLE_MMAP (kernels keep the separate offsets), so
// tests on new kernels cover the pre-5.4 path too.
func newRing(entries uint32, separate bool) (*Ring, error) {
	var p params
	fd, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, uintptr(entries), uintptr(unsafe.Pointer(&p)), 0)
	if errno != 0 {
		return nil, fmt.Errorf("io_uring_setup(%d): %w", entries, errno)
	}
	r := &Ring{fd: int(fd), features: p.features, single: p.features&FeatSingleMmap != 0 && !separate}
	if err := r.mapRings(&p); err != nil {
		// Error path: the setup already failed, and this undoes it.
		_ = r.unmap()
		_ = unix.Close(r.fd)
		return nil, err
	}
	return r, nil
}

func (r *Ring) mapRings(p *params) error {
	sqSize := int(p.sqOff.array + p.sqEntries*4)
	cqSize := int(p.cqOff.cqes + p.cqEntries*cqeSize)
	single := r.single
	if single {
		// One mapping serves both rings; it must cover the larger.
		sqSize = max(sqSize, cqSize)
		cqSize = sqSize
	}
	var err error
	r.sqMap, err = unix.Mmap(r.fd, offSQRing, sqSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return fmt.Errorf("mmap io_uring SQ ring: %w", err)
	}
	if single {
		r.cqMap = r.sqMap
	} else {
		r.cqMap, err = unix.Mmap(r.fd, offCQRing, cqSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
		if err != nil {
			return fmt.Errorf("mmap io_uring CQ ring: %w", err)
		}
	}
	r.sqeMap, err = unix.Mmap(r.fd, offSQEs, int(p.sqEntries)*sqeSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return fmt.Errorf("mmap io_uring SQEs: %w", err)
	}

	sq, cq := r.sqMap, r.cqMap
	r.sqHead = (*uint32)(unsafe.Pointer(&sq[p.sqOff.head]))
	r.sqTail = (*uint32)(unsafe.Pointer(&sq[p.sqOff.tail]))
	r.sqMask = *(*uint32)(unsafe.Pointer(&sq[p.sqOff.ringMask]))
	r.sqEntries = *(*uint32)(unsafe.Pointer(&sq[p.sqOff.ringEntries]))
	r.sqArray = unsafe.Slice((*uint32)(unsafe.Pointer(&sq[p.sqOff.array])), p.sqEntries)
	r.sqes = unsafe.Slice((*sqe)(unsafe.Pointer(&r.sqeMap[0])), p.sqEntries)

	r.cqHead = (*uint32)(unsafe.Pointer(&cq[p.cqOff.head]))
	r.cqTail = (*uint32)(unsafe.Pointer(&cq[p.cqOff.tail]))
	r.cqMask = *(*uint32)(unsafe.Pointer(&cq[p.cqOff.ringMask]))
	r.cqOverflow = (*uint32)(unsafe.Pointer(&cq[p.cqOff.overflow]))
	r.cqes = unsafe.Slice((*CQE)(unsafe.Pointer(&cq[p.cqOff.cqes])), p.cqEntries)

	// The kernel's SQ tail is where our local bookkeeping starts (0 on a
	// fresh ring, but read it rather than assume).
	r.sqeTail = atomic.LoadUint32(r.sqTail)
	return nil
}

func (r *Ring) unmap() error {
	var errs []error
	if r.sqeMap != nil {
		errs = append(errs, unix.Munmap(r.sqeMap))
	}
	if r.cqMap != nil && !r.SingleMmap() {
		errs = append(errs, unix.Munmap(r.cqMap))
	}
	if r.sqMap != nil {
		errs = append(errs, unix.Munmap(r.sqMap))
	}
	r.sqMap, r.cqMap, r.sqeMap = nil, nil, nil
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("munmap io_uring: %w", err)
	}
	return nil
}

// Close unmaps the rings and closes the ring fd. The kernel cancels
// in-flight requests; their buffers must stay mapped until Close returns.
func (r *Ring) Close() error {
	if r.fd < 0 {
		return nil
	}
	uerr := r.unmap()
	err := unix.Close(r.fd)
	r.fd = -1
	if err != nil {
		err = fmt.Errorf("close io_uring: %w", err)
	}
	return errors.Join(uerr, err)
}

// Features returns the IORING_FEAT_* bits the kernel reported.
func (r *Ring) Features() uint32 { return r.features }

// SingleMmap reports whether SQ and CQ rings share one mapping.
func (r *Ring) SingleMmap() bool { return r.single }

// Entries returns the SQ size.
func (r *Ring) Entries() uint32 { return r.sqEntries }

// Queue fills the next SQE. It is not visible to the kernel until Submit or
// SubmitAndWait.
func (r *Ring) Queue(e SQE) error {
	head := atomic.LoadUint32(r.sqHead)
	if r.sqeTail-head >= r.sqEntries {
		return ErrSQFull
	}
	idx := r.sqeTail & r.sqMask
	r.sqes[idx] = sqe{
		opcode:   e.Opcode,
		flags:    e.Flags,
		fd:       int32(e.FD),
		off:      e.Off,
		addr:     uint64(e.Addr),
		len:      e.Len,
		userData: e.UserData,
	}
	r.sqArray[idx] = idx
	r.sqeTail++
	return nil
}

// Submit publishes queued SQEs and enters the kernel without waiting.
func (r *Ring) Submit() (int, error) { return r.SubmitAndWait(0) }

// SubmitAndWait publishes queued SQEs and blocks until at least wait
// completions are available in the CQ (counting ones already there). It
// returns how many SQEs the kernel consumed. A signal can end the wait early
// once SQEs were consumed (the kernel then reports the count, not EINTR), so
// callers that need a completion loop on PeekCQE, as WaitCQE does.
func (r *Ring) SubmitAndWait(wait uint32) (int, error) {
	// Release: the SQE and array writes in Queue must be visible before the
	// kernel sees the new tail. Go atomics are sequentially consistent,
	// which is at least that strong.
	atomic.StoreUint32(r.sqTail, r.sqeTail)
	// Count from the kernel's head, so SQEs a previous call left unconsumed
	// (e.g. -EBUSY on CQ overflow) are offered again.
	toSubmit := r.Pending()
	if toSubmit == 0 && wait == 0 {
		return 0, nil
	}
	var flags uintptr
	if wait > 0 {
		flags = enterGetEvents
	}
	for {
		n, _, errno := unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), uintptr(toSubmit), uintptr(wait), flags, 0, 0)
		if errno == unix.EINTR {
			// Go's runtime signals (async preemption) interrupt the wait.
			// The kernel returns EINTR only when it consumed no SQE, so
			// offering the same ones again is right.
			toSubmit = r.Pending()
			continue
		}
		if errno != 0 {
			return int(n), fmt.Errorf("io_uring_enter: %w", errno)
		}
		return int(n), nil
	}
}

// PeekCQE returns the oldest completion without blocking, consuming it.
func (r *Ring) PeekCQE() (CQE, bool) {
	head := *r.cqHead // only we write the head
	// Acquire: the CQE contents must be read after the tail that covers it.
	if head == atomic.LoadUint32(r.cqTail) {
		return CQE{}, false
	}
	c := r.cqes[head&r.cqMask]
	atomic.StoreUint32(r.cqHead, head+1)
	return c, true
}

// WaitCQE blocks until a completion is available and consumes it.
func (r *Ring) WaitCQE() (CQE, error) {
	for {
		if c, ok := r.PeekCQE(); ok {
			return c, nil
		}
		if _, err := r.SubmitAndWait(1); err != nil {
			return CQE{}, err
		}
	}
}

// Overflow returns how many completions the kernel dropped because the CQ
// was full (always 0 with FeatNoDrop unless memory ran out).
func (r *Ring) Overflow() uint32 { return atomic.LoadUint32(r.cqOverflow) }

// Pending returns how many queued SQEs the kernel has not consumed yet.
func (r *Ring) Pending() uint32 { return r.sqeTail - atomic.LoadUint32(r.sqHead) }
