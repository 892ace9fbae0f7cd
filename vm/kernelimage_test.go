package vm

import (
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeBzImage is the start of an x86 bzImage with boot protocol version.
func fakeBzImage(version uint16) []byte {
	b := make([]byte, 4096)
	binary.LittleEndian.PutUint16(b[bootFlagOffset:], 0xaa55)
	copy(b[headerOffset:], "HdrS")
	binary.LittleEndian.PutUint16(b[versionOffset:], version)
	return b
}

func TestCheckKernelImage(t *testing.T) {
	noFlag := fakeBzImage(0x020f)
	noFlag[bootFlagOffset] = 0
	tests := []struct {
		name    string
		content []byte // nil: the path does not exist
		dir     bool
		want    string // "" for a bootable image
	}{
		{"bzImage, protocol 2.15", fakeBzImage(0x020f), false, ""},
		{"bzImage, protocol 2.00", fakeBzImage(0x0200), false, ""},
		{"text file", []byte(strings.Repeat("my notes about the boot\n", 40)), false, `not a bzImage: no x86 boot header ("HdrS" at offset 0x202)`},
		{"vmlinux", append([]byte("\x7fELF\x02\x01\x01"), make([]byte, 1024)...), false, "not a bzImage: it is an ELF file (vmlinux?)"},
		{"short file", []byte("hello\n"), false, "not a bzImage: only 6 bytes"},
		{"empty file", []byte{}, false, "not a bzImage: only 0 bytes"},
		{"no boot sector signature", noFlag, false, "not a bzImage: no boot sector signature"},
		{"protocol 1.05", fakeBzImage(0x0105), false, "not a bzImage: boot protocol 1.05 is too old to load an initramfs"},
		{"directory", nil, true, "not a bzImage: it is a directory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "kernel")
			if tc.dir {
				if err := os.Mkdir(path, 0o755); err != nil {
					t.Fatal(err)
				}
			} else if err := os.WriteFile(path, tc.content, 0o644); err != nil {
				t.Fatal(err)
			}
			err := CheckKernelImage(path)
			if tc.want == "" {
				if err != nil {
					t.Errorf("CheckKernelImage = %v, want a bootable image", err)
				}
				return
			}
			var ke *KernelImageError
			if !errors.As(err, &ke) || !strings.Contains(err.Error(), path+": "+tc.want) {
				t.Errorf("CheckKernelImage = %v, want a KernelImageError %q", err, tc.want)
			}
		})
	}
	if err := CheckKernelImage(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	// A real kernel from the cache, when one was built.
	if real, _ := filepath.Glob(filepath.Join(os.Getenv("HOME"), ".cache/ktest/kernels/*/bzImage")); len(real) > 0 {
		if err := CheckKernelImage(real[0]); err != nil {
			t.Errorf("cached kernel %s: %v", real[0], err)
		}
	}
}
