package readtest

import (
	"encoding/binary"
	"fmt"
)

// BlockSize is the pattern's unit: every BlockSize-aligned block of the test
// file is self-describing.
const BlockSize = 4096

// Pattern generates and checks the test file's contents. Block b (at offset
// o = b*BlockSize) holds:
//
//	bytes 0..7    o, little endian
//	bytes 8..15   the seed, little endian
//	bytes 16..    a splitmix64 stream seeded by mix(seed, o), 8 bytes per step
//
// so the expected byte at any offset is computable without storing the file,
// and a block read from the wrong offset or a previous run is recognisable.
type Pattern struct {
	Seed uint64
}

// splitmix64 is a small, fast, well-mixed generator; the pattern needs
// reproducibility and no short cycles, not cryptographic strength.
func splitmix64(x *uint64) uint64 {
	*x += 0x9e3779b97f4a7c15
	z := *x
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// block writes the full block starting at blockOff (a multiple of
// BlockSize) into dst, which must be BlockSize long.
func (p Pattern) block(dst []byte, blockOff int64) {
	binary.LittleEndian.PutUint64(dst[0:8], uint64(blockOff))
	binary.LittleEndian.PutUint64(dst[8:16], p.Seed)
	state := p.Seed ^ (uint64(blockOff) * 0xd6e8feb86659fd93)
	for i := 16; i < BlockSize; i += 8 {
		binary.LittleEndian.PutUint64(dst[i:i+8], splitmix64(&state))
	}
}

// Fill writes the pattern bytes for [off, off+len(dst)) into dst.
func (p Pattern) Fill(dst []byte, off int64) {
	var blk [BlockSize]byte
	for len(dst) > 0 {
		blockOff := off &^ (BlockSize - 1)
		in := int(off - blockOff)
		if in == 0 && len(dst) >= BlockSize {
			p.block(dst[:BlockSize], blockOff)
			dst, off = dst[BlockSize:], off+BlockSize
			continue
		}
		p.block(blk[:], blockOff)
		n := copy(dst, blk[in:])
		dst, off = dst[n:], off+int64(n)
	}
}

// Mismatch is a verification failure: the first wrong byte of a read.
type Mismatch struct {
	Off       int64 // file offset of the first wrong byte
	Got, Want byte
	// Region names what Want came from ("pattern" or "zero").
	Region string
	// BadBytes counts wrong bytes in the checked range.
	BadBytes int
	// GotHeader is the offset/seed header found in Off's block, when the
	// buffer holds it, to tell "data from another offset" from garbage.
	GotHeader string
}

func (m *Mismatch) Error() string {
	s := fmt.Sprintf("byte at offset %d (block %d +%d) = %#02x, want %#02x (%s); %d bad bytes in range",
		m.Off, m.Off/BlockSize, m.Off%BlockSize, m.Got, m.Want, m.Region, m.BadBytes)
	if m.GotHeader != "" {
		s += "; block header " + m.GotHeader
	}
	return s
}

// Verify checks that buf holds the pattern for [off, off+len(buf)),
// returning a *Mismatch for the first wrong byte.
func (p Pattern) Verify(buf []byte, off int64) error {
	var want [BlockSize]byte
	var first *Mismatch
	pos := 0
	for pos < len(buf) {
		o := off + int64(pos)
		blockOff := o &^ (BlockSize - 1)
		in := int(o - blockOff)
		n := min(BlockSize-in, len(buf)-pos)
		p.block(want[:], blockOff)
		got := buf[pos : pos+n]
		if string(got) != string(want[in:in+n]) {
			for i := range n {
				if got[i] == want[in+i] {
					continue
				}
				if first == nil {
					first = &Mismatch{Off: o + int64(i), Got: got[i], Want: want[in+i], Region: "pattern"}
					if in == 0 && n >= 16 {
						first.GotHeader = fmt.Sprintf("(offset %d, seed %#x)",
							int64(binary.LittleEndian.Uint64(got[0:8])), binary.LittleEndian.Uint64(got[8:16]))
					}
				}
				first.BadBytes++
			}
		}
		pos += n
	}
	if first != nil {
		return first
	}
	return nil
}

// VerifyZero checks that buf is all zeros; off is the file offset of buf[0],
// used only for the error.
func VerifyZero(buf []byte, off int64) error {
	var first *Mismatch
	for i, b := range buf {
		if b == 0 {
			continue
		}
		if first == nil {
			first = &Mismatch{Off: off + int64(i), Got: b, Want: 0, Region: "zero"}
		}
		first.BadBytes++
	}
	if first != nil {
		return first
	}
	return nil
}
