package readtest

import (
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// KernelVersion is a kernel's major.minor: enough to know which on-disk
// features it mounts.
type KernelVersion struct{ Major, Minor int }

// ParseKernelVersion reads the leading "major.minor" of a release such
// as "6.1.192", "5.8.0-rc7" or "6.12-ktest".
func ParseKernelVersion(s string) (KernelVersion, error) {
	fields := strings.SplitN(s, ".", 3)
	if len(fields) < 2 {
		return KernelVersion{}, fmt.Errorf("kernel release %q: want major.minor", s)
	}
	major, err := strconv.Atoi(fields[0])
	if err != nil {
		return KernelVersion{}, fmt.Errorf("kernel release %q: bad major", s)
	}
	minorDigits := fields[1]
	if i := strings.IndexFunc(minorDigits, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		minorDigits = minorDigits[:i]
	}
	minor, err := strconv.Atoi(minorDigits)
	if err != nil {
		return KernelVersion{}, fmt.Errorf("kernel release %q: bad minor", s)
	}
	return KernelVersion{major, minor}, nil
}

func (v KernelVersion) String() string { return fmt.Sprintf("%d.%d", v.Major, v.Minor) }

// Less reports whether v is older than o.
func (v KernelVersion) Less(o KernelVersion) bool {
	return v.Major < o.Major || v.Major == o.Major && v.Minor < o.Minor
}

// flagName names one bit of a superblock feature word.
type flagName struct {
	bit  uint64
	name string
}

// superblockLayout is where a filesystem keeps its feature words.
type superblockLayout struct {
	magicOff int64
	magic    []byte
	words    []featureWord
}

type featureWord struct {
	off   int64 // absolute byte offset on the device
	size  int   // 4 or 8
	big   bool  // big-endian
	flags []flagName
}

// The feature bits of each superblock: fs/xfs/libxfs/xfs_format.h,
// fs/ext4/ext4.h and include/uapi/linux/btrfs.h.
var layouts = map[string]superblockLayout{
	FSXFS: {magicOff: 0, magic: []byte("XFSB"), words: []featureWord{
		{off: 0xD4, size: 4, big: true, flags: []flagName{{1, "finobt"}, {2, "rmapbt"}, {4, "reflink"}, {8, "inobtcount"}}},
		{off: 0xD8, size: 4, big: true, flags: []flagName{{1, "ftype"}, {2, "sparse"}, {4, "meta_uuid"}, {8, "bigtime"}, {0x10, "needsrepair"}, {0x20, "nrext64"}}},
	}},
	FSExt4: {magicOff: 1024 + 0x38, magic: []byte{0x53, 0xef}, words: []featureWord{
		{off: 1024 + 0x5C, size: 4, flags: []flagName{{4, "has_journal"}, {8, "ext_attr"}, {0x10, "resize_inode"}, {0x20, "dir_index"},
			{0x200, "sparse_super2"}, {0x400, "fast_commit"}, {0x800, "stable_inodes"}, {0x1000, "orphan_file"}}},
		{off: 1024 + 0x60, size: 4, flags: []flagName{{2, "filetype"}, {4, "needs_recovery"}, {8, "journal_dev"}, {0x10, "meta_bg"},
			{0x40, "extent"}, {0x80, "64bit"}, {0x100, "mmp"}, {0x200, "flex_bg"}, {0x400, "ea_inode"}, {0x1000, "dirdata"},
			{0x2000, "metadata_csum_seed"}, {0x4000, "large_dir"}, {0x8000, "inline_data"}, {0x10000, "encrypt"}, {0x20000, "casefold"}}},
		{off: 1024 + 0x64, size: 4, flags: []flagName{{1, "sparse_super"}, {2, "large_file"}, {8, "huge_file"}, {0x10, "uninit_bg"},
			{0x20, "dir_nlink"}, {0x40, "extra_isize"}, {0x100, "quota"}, {0x200, "bigalloc"}, {0x400, "metadata_csum"},
			{0x1000, "read-only"}, {0x2000, "project"}, {0x4000, "shared_blocks"}, {0x8000, "verity"}, {0x10000, "orphan_present"}}},
	}},
	FSBtrfs: {magicOff: 0x10000 + 0x40, magic: []byte("_BHRfS_M"), words: []featureWord{
		{off: 0x10000 + 0xB4, size: 8, flags: []flagName{{1, "free-space-tree"}, {2, "free-space-tree-valid"}, {4, "verity"}, {8, "block-group-tree"}}},
		{off: 0x10000 + 0xBC, size: 8, flags: []flagName{{1, "mixed-backref"}, {2, "default-subvol"}, {4, "mixed-bg"}, {8, "compress-lzo"},
			{0x10, "compress-zstd"}, {0x20, "big-metadata"}, {0x40, "extref"}, {0x80, "raid56"}, {0x100, "skinny-metadata"},
			{0x200, "no-holes"}, {0x400, "metadata-uuid"}, {0x800, "raid1c34"}, {0x1000, "zoned"}, {0x2000, "extent-tree-v2"}}},
	}},
}

// ReadFeatures reads the on-disk feature names of the fs filesystem on
// dev from its superblock. Bits this table does not know are reported
// as "unknown:<word>:0x<bit>". XFS's v5 format is reported as "crc".
func ReadFeatures(fs, dev string) ([]string, error) {
	l, ok := layouts[fs]
	if !ok {
		return nil, fmt.Errorf("no superblock layout for %q", fs)
	}
	f, err := os.Open(dev)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }() // read-only: a close error loses nothing
	magic := make([]byte, len(l.magic))
	if _, err := f.ReadAt(magic, l.magicOff); err != nil {
		return nil, fmt.Errorf("%s: reading the %s superblock: %w", dev, fs, err)
	}
	if string(magic) != string(l.magic) {
		return nil, fmt.Errorf("%s: no %s superblock (magic %q at %#x)", dev, fs, magic, l.magicOff)
	}
	var names []string
	if fs == FSXFS {
		var ver [2]byte
		if _, err := f.ReadAt(ver[:], 0x64); err != nil {
			return nil, fmt.Errorf("%s: %w", dev, err)
		}
		if binary.BigEndian.Uint16(ver[:])&0xf == 5 {
			names = append(names, "crc")
		}
	}
	for i, w := range l.words {
		buf := make([]byte, w.size)
		if _, err := f.ReadAt(buf, w.off); err != nil {
			return nil, fmt.Errorf("%s: %w", dev, err)
		}
		var v uint64
		switch {
		case w.size == 4 && w.big:
			v = uint64(binary.BigEndian.Uint32(buf))
		case w.size == 4:
			v = uint64(binary.LittleEndian.Uint32(buf))
		default:
			v = binary.LittleEndian.Uint64(buf)
		}
		for _, fl := range w.flags {
			if v&fl.bit != 0 {
				names = append(names, fl.name)
				v &^= fl.bit
			}
		}
		for bit := uint64(1); v != 0; bit <<= 1 {
			if v&bit != 0 {
				names = append(names, fmt.Sprintf("unknown:%d:%#x", i, bit))
				v &^= bit
			}
		}
	}
	return names, nil
}
