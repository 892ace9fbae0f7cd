package readtest

import (
	"encoding/binary"
	"errors"
	"testing"
)

func TestPatternFillIsOffsetIndependent(t *testing.T) {
	p := Pattern{Seed: 42}
	whole := make([]byte, 5*BlockSize)
	p.Fill(whole, 0)
	// The header says where each block is and which run wrote it.
	for b := range 5 {
		blk := whole[b*BlockSize:]
		if off := binary.LittleEndian.Uint64(blk[0:8]); off != uint64(b*BlockSize) {
			t.Errorf("block %d header offset %d", b, off)
		}
		if seed := binary.LittleEndian.Uint64(blk[8:16]); seed != 42 {
			t.Errorf("block %d header seed %d", b, seed)
		}
	}
	tests := []struct {
		name string
		off  int64
		n    int
	}{
		{"one byte", 17, 1},
		{"inside a block", 100, 1000},
		{"across one boundary", 4000, 200},
		{"across several boundaries", 1, 3*BlockSize + 7},
		{"aligned whole blocks", BlockSize, 2 * BlockSize},
		{"ending at a boundary", 2*BlockSize - 300, 300},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			part := make([]byte, tc.n)
			p.Fill(part, tc.off)
			if string(part) != string(whole[tc.off:tc.off+int64(tc.n)]) {
				t.Fatal("Fill of a range differs from the same range of a whole fill")
			}
			if err := p.Verify(part, tc.off); err != nil {
				t.Fatalf("Verify of correct data: %v", err)
			}
		})
	}
}

func TestPatternVerifyCatches(t *testing.T) {
	p := Pattern{Seed: 7}
	good := make([]byte, 3*BlockSize)
	p.Fill(good, BlockSize)
	tests := []struct {
		name       string
		mutate     func(b []byte) []byte
		off        int64
		wantOff    int64
		wantHeader bool
	}{
		// The header is shown when the bad block's start is in the buffer.
		{"flipped byte", func(b []byte) []byte { b[5000] ^= 1; return b }, BlockSize, BlockSize + 5000, true},
		{"last byte", func(b []byte) []byte { b[len(b)-1]++; return b }, BlockSize, 4*BlockSize - 1, true},
		{"flipped byte, block start not in buffer", func(b []byte) []byte { b = b[100:]; b[200] ^= 1; return b }, BlockSize + 100, BlockSize + 300, false},
		// 4096 and 8192 share their low byte (0), so the first bad byte
		// is the offset's second byte.
		{"checked at the wrong offset", func(b []byte) []byte { return b }, 2 * BlockSize, 2*BlockSize + 1, true},
		{"other seed", func(b []byte) []byte { Pattern{Seed: 8}.Fill(b, BlockSize); return b }, BlockSize, BlockSize + 8, true},
		{"zeroed page", func(b []byte) []byte { clear(b[BlockSize : 2*BlockSize]); return b }, BlockSize, 2*BlockSize + 1, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			buf := tc.mutate(append([]byte(nil), good...))
			err := p.Verify(buf, tc.off)
			var m *Mismatch
			if !errors.As(err, &m) {
				t.Fatalf("Verify = %v, want *Mismatch", err)
			}
			if m.Off != tc.wantOff {
				t.Errorf("mismatch at %d, want %d (%v)", m.Off, tc.wantOff, m)
			}
			if (m.GotHeader != "") != tc.wantHeader {
				t.Errorf("GotHeader %q, want present=%v", m.GotHeader, tc.wantHeader)
			}
		})
	}
}

func TestVerifyZero(t *testing.T) {
	b := make([]byte, 100)
	if err := VerifyZero(b, 10); err != nil {
		t.Fatal(err)
	}
	b[50], b[60] = 1, 2
	var m *Mismatch
	if err := VerifyZero(b, 10); !errors.As(err, &m) || m.Off != 60 || m.BadBytes != 2 {
		t.Fatalf("VerifyZero = %v, want mismatch at 60 with 2 bad bytes", err)
	}
}
