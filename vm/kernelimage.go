package vm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// KernelImageError is a --kernel file QEMU cannot boot as ktest boots
// it: a bzImage with an initramfs.
type KernelImageError struct {
	Path   string
	Reason string
}

func (e *KernelImageError) Error() string {
	return fmt.Sprintf("%s: not a bzImage: %s", e.Path, e.Reason)
}

// x86 boot protocol (Documentation/x86/boot.rst): the real-mode header
// of a bzImage starts at 0x1f1; "HdrS" at 0x202 marks protocol 2.00+,
// whose version is at 0x206. Initramfs loading needs 2.00; QEMU takes an
// image without the magic for an ancient zImage and fails with "linux
// kernel too old to load a ram disk".
const (
	bootFlagOffset  = 0x1fe
	headerOffset    = 0x202
	versionOffset   = 0x206
	headerEnd       = 0x208
	minBootProtocol = 0x0200
)

// CheckKernelImage reports, before QEMU is started, whether path is an
// x86 bzImage that can boot with an initramfs. Its errors are a
// *KernelImageError, or the error opening the file.
func CheckKernelImage(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }() // teardown: nothing is written through it any more
	if fi, err := f.Stat(); err != nil {
		return err
	} else if fi.IsDir() {
		return &KernelImageError{path, "it is a directory"}
	}
	hdr := make([]byte, headerEnd)
	n, err := io.ReadFull(f, hdr)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read %s: %w", path, err)
	}
	hdr = hdr[:n]
	switch {
	case bytes.HasPrefix(hdr, []byte("\x7fELF")):
		return &KernelImageError{path, "it is an ELF file (vmlinux?); boot arch/x86/boot/bzImage from the same build"}
	case n < headerEnd:
		return &KernelImageError{path, fmt.Sprintf("only %d bytes, too short for the x86 boot header", n)}
	case string(hdr[headerOffset:headerOffset+4]) != "HdrS":
		return &KernelImageError{path, `no x86 boot header ("HdrS" at offset 0x202)`}
	case binary.LittleEndian.Uint16(hdr[bootFlagOffset:]) != 0xaa55:
		return &KernelImageError{path, "no boot sector signature 0xAA55 at offset 0x1fe"}
	}
	if v := binary.LittleEndian.Uint16(hdr[versionOffset:]); v < minBootProtocol {
		return &KernelImageError{path, fmt.Sprintf("boot protocol %d.%02d is too old to load an initramfs (needs 2.00)", v>>8, v&0xff)}
	}
	return nil
}
