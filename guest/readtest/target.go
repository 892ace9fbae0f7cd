package readtest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Filesystem types, as mkfs.FS and mount -t FS name them; a target's
// is its proto.TargetSpec.FS.
const (
	FSExt4  = "ext4"
	FSXFS   = "xfs"
	FSBtrfs = "btrfs"
)

// RawTail is how many bytes at the end of a raw device also carry the
// pattern, so EOF semantics can be checked at the device's end.
const RawTail = 16 << 10

// Target is pattern data ready to read: a test file on a mounted
// filesystem, or a raw block device.
type Target struct {
	FS      string // the filesystem holding the file; "" for a raw device
	Path    string // the file, or the raw device
	Size    int64  // readable bytes: file size, or the raw device's size
	Pattern Pattern
	// Regions are the [start, end) ranges holding the pattern: [0, Size)
	// for a file; [0, DataEnd) and [Size-RawTail, Size) for a raw device.
	Regions [][2]int64
	// DataEnd bounds the random-read tests: every offset below it holds
	// the pattern.
	DataEnd int64
	// Dir holds scratch files (truncate-race); "" for raw devices.
	Dir string
	// ReadAheadKB is the device's read-ahead window.
	ReadAheadKB int
	// GlobalDrop also drops the whole page cache (needs root; meant for
	// the guest). Without it DropCaches only evicts this target's pages.
	GlobalDrop bool
}

// SetupError is a failure preparing a target (mkfs, mount, writing the
// file); ktest-readtest exits 3 on it.
type SetupError struct {
	Step   string // "mkfs", "mount", "write", ...
	Output string // tool output, if any
	Err    error
}

func (e *SetupError) Error() string {
	s := e.Step + ": " + e.Err.Error()
	if out := strings.TrimSpace(e.Output); out != "" {
		s += "\n" + out
	}
	return s
}

func (e *SetupError) Unwrap() error { return e.Err }

// Mount mounts dev with fs at dir, creating dir.
func Mount(fs, dev, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return &SetupError{Step: "mount", Err: err}
	}
	if err := unix.Mount(dev, dir, fs, 0, ""); err != nil {
		return &SetupError{Step: "mount", Err: fmt.Errorf("mount -t %s %s %s: %w", fs, dev, dir, err)}
	}
	return nil
}

// Unmount unmounts dir.
func Unmount(dir string) error {
	if err := unix.Unmount(dir, 0); err != nil {
		return fmt.Errorf("umount %s: %w", dir, err)
	}
	return nil
}

// FileSizeFor returns the test file size used for a requested size: the
// size rounded down to a block plus 1234 bytes, so EOF falls mid-page.
func FileSizeFor(size int64) int64 {
	return size&^(BlockSize-1) + 1234
}

// writePattern writes the pattern over [start, end) of f.
func writePattern(f io.WriterAt, p Pattern, start, end int64) error {
	buf := make([]byte, 1<<20)
	for off := start; off < end; {
		n := min(int64(len(buf)), end-off)
		p.Fill(buf[:n], off)
		if _, err := f.WriteAt(buf[:n], off); err != nil {
			return err
		}
		off += n
	}
	return nil
}

// CreateFile writes a pattern file of exactly size bytes at path, fsynced.
func CreateFile(path string, size int64, p Pattern) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return &SetupError{Step: "write", Err: err}
	}
	err = writePattern(f, p, 0, size)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return &SetupError{Step: "write", Err: fmt.Errorf("write %s: %w", path, err)}
	}
	return nil
}

// NewFileTarget creates the pattern file at path (size bytes) on a
// filesystem of type fs and describes it.
func NewFileTarget(fs, path string, size int64, p Pattern) (*Target, error) {
	if size <= 2*BlockSize {
		return nil, &SetupError{Step: "write", Err: fmt.Errorf("file size %d too small", size)}
	}
	if err := CreateFile(path, size, p); err != nil {
		return nil, err
	}
	return &Target{
		FS: fs, Path: path, Size: size, Pattern: p,
		Regions: [][2]int64{{0, size}}, DataEnd: size,
		Dir: filepath.Dir(path), ReadAheadKB: ReadAheadKB(path),
	}, nil
}

// NewRawTarget writes the pattern over the first dataSize bytes of dev
// (clamped to leave RawTail bytes) and over its last RawTail bytes.
func NewRawTarget(dev string, dataSize int64, p Pattern) (*Target, error) {
	return openRaw(dev, dataSize, p, true)
}

// OpenRawTarget describes a raw device a previous boot's NewRawTarget
// wrote with the same size and pattern, without writing it again: the
// benchmark boots after the first read what the first boot laid down.
func OpenRawTarget(dev string, dataSize int64, p Pattern) (*Target, error) {
	return openRaw(dev, dataSize, p, false)
}

func openRaw(dev string, dataSize int64, p Pattern, write bool) (*Target, error) {
	f, err := os.OpenFile(dev, os.O_RDWR, 0)
	if err != nil {
		return nil, &SetupError{Step: "write", Err: err}
	}
	defer func() { _ = f.Close() }() // writeRaw synced what it wrote; the rest was reads
	devSize, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, &SetupError{Step: "write", Err: fmt.Errorf("size of %s: %w", dev, err)}
	}
	if devSize < 4*RawTail {
		return nil, &SetupError{Step: "write", Err: fmt.Errorf("%s is %d bytes, too small", dev, devSize)}
	}
	dataSize = min(dataSize&^(BlockSize-1), (devSize-RawTail)&^(BlockSize-1))
	tail := devSize - RawTail
	if write {
		if err := writeRaw(f, p, dataSize, tail, devSize); err != nil {
			return nil, &SetupError{Step: "write", Err: fmt.Errorf("write %s: %w", dev, err)}
		}
	}
	return &Target{
		Path: dev, Size: devSize, Pattern: p,
		Regions: [][2]int64{{0, dataSize}, {tail, devSize}}, DataEnd: dataSize,
		ReadAheadKB: ReadAheadKB(dev),
	}, nil
}

// OpenFileTarget describes the pattern file a previous boot's
// NewFileTarget wrote at path; it must have exactly size bytes.
func OpenFileTarget(fs, path string, size int64, p Pattern) (*Target, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, &SetupError{Step: "reuse", Err: err}
	}
	if st.Size() != size {
		return nil, &SetupError{Step: "reuse", Err: fmt.Errorf("%s is %d bytes, want %d: not this run's file", path, st.Size(), size)}
	}
	return &Target{
		FS: fs, Path: path, Size: size, Pattern: p,
		Regions: [][2]int64{{0, size}}, DataEnd: size,
		Dir: filepath.Dir(path), ReadAheadKB: ReadAheadKB(path),
	}, nil
}

// rawDevice is what writing a raw target needs of its device.
type rawDevice interface {
	io.WriterAt
	Sync() error
}

// writeRaw writes the pattern over [0, dataSize) and [tail, devSize) and
// syncs; the first failure is the result.
func writeRaw(d rawDevice, p Pattern, dataSize, tail, devSize int64) error {
	if err := writePattern(d, p, 0, dataSize); err != nil {
		return err
	}
	if err := writePattern(d, p, tail, devSize); err != nil {
		return fmt.Errorf("tail: %w", err)
	}
	return d.Sync()
}

// Verify checks a read of [off, off+len(buf)) against the pattern regions.
// Bytes outside every region cannot be checked and are an error: tests
// must only read where the pattern is.
func (t *Target) Verify(buf []byte, off int64) error {
	end := off + int64(len(buf))
	covered := int64(0)
	for _, r := range t.Regions {
		lo, hi := max(off, r[0]), min(end, r[1])
		if lo >= hi {
			continue
		}
		if err := t.Pattern.Verify(buf[lo-off:hi-off], lo); err != nil {
			return err
		}
		covered += hi - lo
	}
	if covered != int64(len(buf)) {
		return fmt.Errorf("read [%d, %d) leaves the pattern regions %v", off, end, t.Regions)
	}
	return nil
}

// DropCaches evicts the target's pages from the page cache so the next read
// is cold: fadvise(DONTNEED) on the file (plus BLKFLSBUF for a block
// device), and with GlobalDrop also sync + drop_caches=3.
func (t *Target) DropCaches() error {
	return DropCaches(t.Path, t.GlobalDrop)
}

// DropCaches is Target.DropCaches for any path.
func DropCaches(path string, global bool) error {
	var errs []error
	if global {
		unix.Sync()
		if err := os.WriteFile("/proc/sys/vm/drop_caches", []byte("3\n"), 0); err != nil {
			errs = append(errs, fmt.Errorf("drop_caches: %w", err))
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	defer func() { _ = f.Close() }() // read-only: a close error loses nothing
	fd := int(f.Fd())
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return errors.Join(append(errs, fmt.Errorf("stat %s: %w", path, err))...)
	}
	blockDev := st.Mode&unix.S_IFMT == unix.S_IFBLK
	// DONTNEED skips dirty pages; the file was fsynced, but be sure.
	if err := unix.Fdatasync(fd); err != nil && !blockDev {
		errs = append(errs, fmt.Errorf("fdatasync %s: %w", path, err))
	}
	if err := unix.Fadvise(fd, 0, 0, unix.FADV_DONTNEED); err != nil {
		errs = append(errs, fmt.Errorf("fadvise DONTNEED %s: %w", path, err))
	}
	if blockDev {
		if err := unix.IoctlSetInt(fd, unix.BLKFLSBUF, 0); err != nil {
			errs = append(errs, fmt.Errorf("BLKFLSBUF %s: %w", path, err))
		}
	}
	return errors.Join(errs...)
}

// DefaultReadAheadKB is assumed when sysfs does not say (e.g. btrfs's
// anonymous device numbers, overlay filesystems).
const DefaultReadAheadKB = 128

// ReadAheadKB returns read_ahead_kb of the block device backing path (the
// device itself if path is one), or DefaultReadAheadKB.
func ReadAheadKB(path string) int {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return DefaultReadAheadKB
	}
	dev := st.Dev
	if st.Mode&unix.S_IFMT == unix.S_IFBLK {
		dev = st.Rdev
	}
	base := fmt.Sprintf("/sys/dev/block/%d:%d", unix.Major(dev), unix.Minor(dev))
	// A partition has no queue/ of its own; its parent does.
	for _, p := range []string{base + "/queue/read_ahead_kb", base + "/../queue/read_ahead_kb"} {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if kb, err := strconv.Atoi(string(bytes.TrimSpace(b))); err == nil && kb > 0 {
			return kb
		}
	}
	return DefaultReadAheadKB
}

// KernelRelease returns uname -r.
func KernelRelease() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:])
}

// DeviceBySerial finds the block device whose virtio serial is serial,
// by /sys/block/*/serial (the guest has no udev, so no
// /dev/disk/by-id). Devices are matched by serial rather than by
// /dev/vdX order, which depends on PCI enumeration.
func DeviceBySerial(sysBlock, serial string) (string, error) {
	entries, err := os.ReadDir(sysBlock)
	if err != nil {
		return "", fmt.Errorf("looking for the disk with serial %q: %w", serial, err)
	}
	var seen []string
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(sysBlock, e.Name(), "serial"))
		if err != nil {
			continue
		}
		s := strings.TrimSpace(string(b))
		if s == serial {
			return "/dev/" + e.Name(), nil
		}
		seen = append(seen, e.Name()+"="+s)
	}
	return "", fmt.Errorf("no block device has serial %q (serials: %s)", serial, strings.Join(seen, ", "))
}
