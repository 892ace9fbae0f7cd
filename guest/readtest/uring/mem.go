package uring

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Alloc returns n bytes of anonymous mmap memory: page aligned, zeroed, and
// never moved by the Go garbage collector, so its address may be handed to
// the kernel for asynchronous I/O. Release it with Free.
func Alloc(n int) ([]byte, error) {
	if n <= 0 {
		return nil, fmt.Errorf("uring.Alloc(%d): size must be positive", n)
	}
	b, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		return nil, fmt.Errorf("mmap %d anonymous bytes: %w", n, err)
	}
	return b, nil
}

// Free releases memory from Alloc. The memory must not be in use by an
// in-flight request.
func Free(b []byte) error {
	if b == nil {
		return nil
	}
	if err := unix.Munmap(b); err != nil {
		return fmt.Errorf("munmap: %w", err)
	}
	return nil
}

// Addr returns the address of b's first byte for an SQE. b must come from
// Alloc (or be a subslice of such memory).
func Addr(b []byte) uintptr {
	if len(b) == 0 {
		return 0
	}
	return uintptr(unsafe.Pointer(&b[0]))
}

// Iovecs is an iovec array in Alloc memory, for OpReadv.
type Iovecs struct {
	mem []byte
	vec []unix.Iovec
}

// NewIovecs allocates an array of n iovecs.
func NewIovecs(n int) (*Iovecs, error) {
	mem, err := Alloc(n * int(unsafe.Sizeof(unix.Iovec{})))
	if err != nil {
		return nil, err
	}
	return &Iovecs{mem: mem, vec: unsafe.Slice((*unix.Iovec)(unsafe.Pointer(&mem[0])), n)}, nil
}

// Set points iovec i at buf, which must be Alloc memory.
func (v *Iovecs) Set(i int, buf []byte) {
	v.vec[i].Base = nil
	if len(buf) > 0 {
		v.vec[i].Base = &buf[0]
	}
	v.vec[i].SetLen(len(buf))
}

// Len returns the number of iovecs.
func (v *Iovecs) Len() int { return len(v.vec) }

// Addr returns the array's address for an SQE.
func (v *Iovecs) Addr() uintptr { return Addr(v.mem) }

// AddrOf returns the address of iovec i, for an OpReadv using the array
// from i on.
func (v *Iovecs) AddrOf(i int) uintptr {
	return uintptr(unsafe.Pointer(&v.vec[i]))
}

// Free releases the array.
func (v *Iovecs) Free() error { return Free(v.mem) }
