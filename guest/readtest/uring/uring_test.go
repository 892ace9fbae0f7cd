package uring

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// newRing skips the test where io_uring is unavailable (old kernel,
// kernel.io_uring_disabled, seccomp).
func testRing(t *testing.T, entries uint32) *Ring { return testRingMapped(t, entries, false) }

func testRingMapped(t *testing.T, entries uint32, separate bool) *Ring {
	t.Helper()
	r, err := newRing(entries, separate)
	if errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EPERM) {
		t.Skipf("io_uring unavailable: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Error(err)
		}
	})
	return r
}

func alloc(t *testing.T, n int) []byte {
	t.Helper()
	b, err := Alloc(n)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = Free(b) }) // test cleanup: best effort
	return b
}

// testFile writes n bytes where byte i is i*7+i/251 (so shifted reads
// differ) and returns the path and contents.
func testFile(t *testing.T, n int) (*os.File, []byte) {
	t.Helper()
	data := make([]byte, n)
	for i := range data {
		data[i] = byte(i*7 + i/251)
	}
	path := filepath.Join(t.TempDir(), "data")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() }) // test cleanup: best effort
	return f, data
}

func TestSetupReportsFeatures(t *testing.T) {
	r := testRing(t, 8)
	if r.Entries() != 8 {
		t.Errorf("Entries() = %d, want 8", r.Entries())
	}
	// Every kernel that has IORING_OP_READ (5.6+) has SINGLE_MMAP and
	// NODROP; both mapping paths are still handled.
	if r.Features()&FeatSingleMmap == 0 {
		t.Logf("kernel without IORING_FEAT_SINGLE_MMAP: separate CQ mapping in use")
	}
	if r.Features()&FeatNoDrop == 0 {
		t.Errorf("features %#x lack IORING_FEAT_NODROP", r.Features())
	}
}

func TestReads(t *testing.T) {
	const size = 3*4096 + 555
	f, data := testFile(t, size)
	tests := []struct {
		name    string
		op      uint8
		flags   uint8
		off     int
		iovLens []int // OpReadv segments; OpRead uses their sum
		wantRes int
	}{
		{"read aligned page", OpRead, 0, 4096, []int{4096}, 4096},
		{"read unaligned span", OpRead, 0, 4000, []int{5000}, 5000},
		{"read crossing EOF", OpRead, 0, size - 100, []int{4096}, 100},
		{"read at EOF", OpRead, 0, size, []int{4096}, 0},
		{"read beyond EOF", OpRead, 0, size + 9000, []int{10}, 0},
		{"read async", OpRead, SQEAsync, 123, []int{9000}, 9000},
		{"read async crossing EOF", OpRead, SQEAsync, size - 7, []int{64}, 7},
		{"readv odd iovecs", OpReadv, 0, 3, []int{1, 511, 4099, 17}, 4628},
		{"readv async", OpReadv, SQEAsync, 4095, []int{2, 3, 4096}, 4101},
		{"readv crossing EOF", OpReadv, 0, size - 600, []int{500, 500}, 600},
	}
	buf := alloc(t, 1<<16)
	iovs, err := NewIovecs(8)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = iovs.Free() }() // test cleanup: best effort
	for _, separate := range []bool{false, true} {
		r := testRingMapped(t, 4, separate)
		if r.SingleMmap() == separate {
			t.Fatalf("SingleMmap() = %v with separate mappings forced = %v", r.SingleMmap(), separate)
		}
		for i, tc := range tests {
			t.Run(fmt.Sprintf("%s/separate=%v", tc.name, separate), func(t *testing.T) {
				total := 0
				for _, l := range tc.iovLens {
					total += l
				}
				for j := range buf[:total] {
					buf[j] = 0xee
				}
				e := SQE{Opcode: tc.op, Flags: tc.flags, FD: int(f.Fd()), Off: uint64(tc.off), UserData: uint64(1000 + i)}
				if tc.op == OpRead {
					e.Addr, e.Len = Addr(buf), uint32(total)
				} else {
					pos := 0
					for k, l := range tc.iovLens {
						iovs.Set(k, buf[pos:pos+l])
						pos += l
					}
					e.Addr, e.Len = iovs.Addr(), uint32(len(tc.iovLens))
				}
				if err := r.Queue(e); err != nil {
					t.Fatal(err)
				}
				c, err := r.WaitCQE()
				if err != nil {
					t.Fatal(err)
				}
				if c.UserData != e.UserData {
					t.Errorf("user_data %d, want %d", c.UserData, e.UserData)
				}
				if c.Err() != nil || int(c.Res) != tc.wantRes {
					t.Fatalf("res %d (%v), want %d", c.Res, c.Err(), tc.wantRes)
				}
				if c.Res > 0 && !bytes.Equal(buf[:c.Res], data[tc.off:tc.off+int(c.Res)]) {
					t.Errorf("data differs from the file at [%d, +%d)", tc.off, c.Res)
				}
				if c.Res < int32(total) && buf[c.Res] != 0xee {
					t.Errorf("byte past the result was written: %#x", buf[c.Res])
				}
			})
		}
	}
}

func TestErrorCompletion(t *testing.T) {
	r := testRing(t, 2)
	buf := alloc(t, 4096)
	if err := r.Queue(SQE{Opcode: OpRead, FD: 1 << 20, Addr: Addr(buf), Len: 4096}); err != nil {
		t.Fatal(err)
	}
	c, err := r.WaitCQE()
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(c.Err(), unix.EBADF) {
		t.Errorf("read on a bad fd: res %d (%v), want EBADF", c.Res, c.Err())
	}
}

// TestQueueFullAndWrap fills the SQ, checks ErrSQFull, and cycles the rings
// many times so head/tail wrap past the mask.
func TestQueueFullAndWrap(t *testing.T) {
	r := testRing(t, 4)
	n := int(r.Entries())
	for round := range 100 {
		for i := range n {
			if err := r.Queue(SQE{Opcode: OpNop, UserData: uint64(round*n + i)}); err != nil {
				t.Fatalf("round %d: queue %d: %v", round, i, err)
			}
		}
		if round == 0 {
			if err := r.Queue(SQE{Opcode: OpNop}); !errors.Is(err, ErrSQFull) {
				t.Fatalf("queue on a full SQ: %v, want ErrSQFull", err)
			}
		}
		if got, err := r.SubmitAndWait(uint32(n)); err != nil || got != n {
			t.Fatalf("round %d: submitted %d (%v), want %d", round, got, err, n)
		}
		for i := range n {
			c, err := r.WaitCQE()
			if err != nil {
				t.Fatal(err)
			}
			if want := uint64(round*n + i); c.UserData != want || c.Res != 0 {
				t.Fatalf("round %d: cqe %+v, want user_data %d res 0", round, c, want)
			}
		}
		if _, ok := r.PeekCQE(); ok {
			t.Fatalf("round %d: extra completion", round)
		}
	}
	if r.Overflow() != 0 {
		t.Errorf("overflow %d", r.Overflow())
	}
}

// TestWaitBlocksUntilData shows WaitCQE blocks while a read has no data (a
// pipe stands in for a hung page) and returns once it does.
func TestWaitBlocksUntilData(t *testing.T) {
	r := testRing(t, 2)
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = unix.Close(p[0]) }() // test cleanup: best effort
	defer func() { _ = unix.Close(p[1]) }() // test cleanup: best effort
	buf := alloc(t, 64)
	if err := r.Queue(SQE{Opcode: OpRead, FD: p[0], Addr: Addr(buf), Len: 64, UserData: 7}); err != nil {
		t.Fatal(err)
	}
	type result struct {
		c   CQE
		err error
	}
	done := make(chan result, 1)
	go func() {
		c, err := r.WaitCQE()
		done <- result{c, err}
	}()
	select {
	case res := <-done:
		t.Fatalf("read on an empty pipe completed: %+v", res)
	case <-time.After(200 * time.Millisecond):
	}
	if _, err := unix.Write(p[1], []byte("hello")); err != nil {
		t.Fatal(err)
	}
	select {
	case res := <-done:
		if res.err != nil || res.c.Res != 5 || string(buf[:5]) != "hello" {
			t.Fatalf("got %+v %q, want 5 bytes \"hello\"", res, buf[:5])
		}
	case <-time.After(10 * time.Second):
		t.Fatal("read did not complete after data arrived")
	}
}

func TestAllocRejectsBadSize(t *testing.T) {
	if _, err := Alloc(0); err == nil {
		t.Error("Alloc(0) succeeded")
	}
}
