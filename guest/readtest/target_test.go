package readtest

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

func TestTargetErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := NewFileTarget(FSExt4, filepath.Join(dir, "f"), 100, Pattern{}); err == nil {
		t.Error("tiny file target accepted")
	}
	if _, err := NewFileTarget(FSExt4, filepath.Join(dir, "no", "f"), 1<<20, Pattern{}); err == nil {
		t.Error("file target in a missing directory accepted")
	}
	small := filepath.Join(dir, "small.img")
	if err := os.WriteFile(small, make([]byte, 4096), 0o644); err != nil {
		t.Fatal(err)
	}
	var se *SetupError
	if _, err := NewRawTarget(small, 1<<20, Pattern{}); !errors.As(err, &se) {
		t.Errorf("tiny raw device: %v, want SetupError", err)
	}
	if FileSizeFor(64<<20)%BlockSize == 0 || FileSizeFor(64<<20) < 64<<20 {
		t.Errorf("FileSizeFor(64M) = %d", FileSizeFor(64<<20))
	}
}

func TestRawTargetRegions(t *testing.T) {
	tg := rawTarget(t, 1<<20, 512<<10)
	if tg.Size != 1<<20 || tg.DataEnd != 512<<10 {
		t.Fatalf("size %d data end %d", tg.Size, tg.DataEnd)
	}
	b := make([]byte, 1000)
	f, _ := os.Open(tg.Path)
	defer func() { _ = f.Close() }() // test cleanup: best effort
	if _, err := f.ReadAt(b, tg.Size-1000); err != nil {
		t.Fatal(err)
	}
	if err := tg.Verify(b, tg.Size-1000); err != nil {
		t.Errorf("tail: %v", err)
	}
	if _, err := f.ReadAt(b, 600<<10); err != nil {
		t.Fatal(err)
	}
	if err := tg.Verify(b, 600<<10); err == nil || !strings.Contains(err.Error(), "leaves the pattern regions") {
		t.Errorf("read in the unwritten gap: %v, want an error", err)
	}
}

// TestDropCachesEvicts checks the cold phases are cold: after DropCaches
// no page of the file is resident (mincore).
func TestDropCachesEvicts(t *testing.T) {
	tg := fileTarget(t, 1<<20)
	if _, err := os.ReadFile(tg.Path); err != nil {
		t.Fatal(err)
	}
	resident := func() int {
		f, err := os.Open(tg.Path)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = f.Close() }() // test cleanup: best effort
		m, err := unix.Mmap(int(f.Fd()), 0, int(tg.Size), unix.PROT_READ, unix.MAP_SHARED)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = unix.Munmap(m) }() // test cleanup: best effort
		vec := make([]byte, (len(m)+os.Getpagesize()-1)/os.Getpagesize())
		if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
			t.Fatal(errno)
		}
		n := 0
		for _, v := range vec {
			n += int(v & 1)
		}
		return n
	}
	if n := resident(); n == 0 {
		t.Skip("pages not resident after a read (filesystem without page cache?)")
	}
	if err := tg.DropCaches(); err != nil {
		t.Fatal(err)
	}
	if n := resident(); n != 0 {
		t.Errorf("%d pages still resident after DropCaches", n)
	}
}

func TestReadAheadKB(t *testing.T) {
	if kb := ReadAheadKB(t.TempDir()); kb <= 0 {
		t.Errorf("ReadAheadKB = %d", kb)
	}
	if kb := ReadAheadKB("/no/such/file"); kb != DefaultReadAheadKB {
		t.Errorf("missing file: %d, want default", kb)
	}
}

// faultyDevice fails every write that reaches failFrom, and Sync when
// syncErr is set.
type faultyDevice struct {
	failFrom int64
	syncErr  error
	written  int64
}

func (d *faultyDevice) WriteAt(b []byte, off int64) (int, error) {
	if off+int64(len(b)) > d.failFrom {
		return 0, errors.New("injected write error")
	}
	d.written += int64(len(b))
	return len(b), nil
}

func (d *faultyDevice) Sync() error { return d.syncErr }

// Every failing step of a raw target's write is reported: the tail
// write's error used to be dropped.
func TestWriteRawReportsEveryFailure(t *testing.T) {
	const data, tail, size = 64 << 10, 1<<20 - RawTail, 1 << 20
	for _, tc := range []struct {
		name     string
		dev      *faultyDevice
		wantErr  string
		wantData int64
	}{
		{"ok", &faultyDevice{failFrom: size}, "", data + RawTail},
		{"data region", &faultyDevice{failFrom: data / 2}, "injected write error", 0},
		{"tail region", &faultyDevice{failFrom: tail + 1}, "tail: injected write error", data},
		{"sync", &faultyDevice{failFrom: size, syncErr: errors.New("injected sync error")}, "injected sync error", data + RawTail},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := writeRaw(tc.dev, Pattern{Seed: 1}, data, tail, size)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || err.Error() != tc.wantErr) {
				t.Errorf("writeRaw = %v, want error %q", err, tc.wantErr)
			}
			if tc.dev.written != tc.wantData {
				t.Errorf("wrote %d bytes, want %d", tc.dev.written, tc.wantData)
			}
		})
	}
}
