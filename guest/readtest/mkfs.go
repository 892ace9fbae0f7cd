package readtest

import (
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strings"

	"github.com/ktest-dev/ktest/guest/proto"
)

// The guest's mkfs tools come from the host (Debian bookworm) and by
// default enable on-disk features newer than old kernels know: a 5.8
// kernel refuses bookworm's XFS ("unknown incompatible features (0x8)",
// bigtime). So every filesystem is made from a Profile chosen for the
// kernel under test, with each feature switched on or off explicitly,
// and the superblock is read back to check what mkfs really wrote.

// Profile is the on-disk feature set a filesystem is made with.
type Profile struct {
	FS   string // FSExt4, FSXFS or FSBtrfs: the target's proto.TargetSpec.FS
	Name string // e.g. "xfs/lts_5.4"
	// For is the oldest kernel the profile is meant for: ProfileFor
	// picks the newest profile whose For is not newer than the kernel.
	For KernelVersion
	// On and Off are the features switched explicitly, by the names
	// ReadFeatures reports; the superblock must agree.
	On, Off []string
	// Args are mkfs's options before the device.
	Args []string
}

// feature is an on-disk feature and the first kernel that mounts it.
type feature struct {
	name  string
	since KernelVersion
	what  string
}

// Which kernel mounts which feature: xfs(5) and the XFS changelogs,
// ext4(5), and `mkfs.btrfs -O list-all` (its compat= versions).
var featureSince = map[string][]feature{
	FSXFS: {
		{"crc", kv(3, 15), "v5 superblock with metadata checksums"},
		{"finobt", kv(3, 16), "free inode btree"},
		{"sparse", kv(4, 2), "sparse inode chunks"},
		{"rmapbt", kv(4, 8), "reverse mapping btree"},
		{"reflink", kv(4, 9), "shared data extents"},
		{"bigtime", kv(5, 10), "timestamps beyond 2038"},
		{"inobtcount", kv(5, 10), "inode btree counters"},
		{"nrext64", kv(5, 19), "64-bit extent counters"},
	},
	FSExt4: {
		{"extent", kv(2, 6), "extent-mapped files"},
		{"flex_bg", kv(2, 6), "flexible block groups"},
		{"huge_file", kv(2, 6), "files over 2 TiB"},
		{"64bit", kv(2, 6), "64-bit block numbers"},
		{"metadata_csum", kv(3, 18), "metadata checksums"},
		{"metadata_csum_seed", kv(4, 4), "checksum seed in the superblock"},
		{"large_dir", kv(4, 13), "3-level htree directories"},
		{"orphan_file", kv(5, 15), "orphan file"},
	},
	FSBtrfs: {
		{"extref", kv(3, 7), "extended inode refs"},
		{"skinny-metadata", kv(3, 10), "skinny metadata extent refs"},
		{"no-holes", kv(3, 14), "no explicit hole extents"},
		{"free-space-tree", kv(4, 5), "free space tree (space_cache=v2)"},
		{"block-group-tree", kv(6, 1), "block group tree"},
	},
}

func kv(major, minor int) KernelVersion { return KernelVersion{major, minor} }

// ext4Base is every feature of Debian's ext4 defaults that any ext4
// kernel mounts; the profiles add to it.
var ext4Base = []string{"has_journal", "ext_attr", "resize_inode", "dir_index", "filetype",
	"sparse_super", "large_file", "extent", "flex_bg", "huge_file", "dir_nlink", "extra_isize", "64bit"}

// ext4Newer are features no profile enables, checked absent.
var ext4Newer = []string{"metadata_csum_seed", "large_dir", "orphan_file", "inline_data", "casefold", "encrypt", "verity", "fast_commit"}

// xfsLTS returns the XFS profile of an LTS kernel. The feature sets are
// those of xfsprogs' /usr/share/xfsprogs/mkfs/lts_*.conf, passed as
// options because bookworm's mkfs.xfs rejects some of its own files
// ("invalid config file option: [metadata]: nrext64=0").
func xfsLTS(major, minor int, reflink, bigtime bool) Profile {
	return xfsProfile(fmt.Sprintf("xfs/lts_%d.%d", major, minor), kv(major, minor), reflink, bigtime, false)
}

// xfsProfile is an XFS profile with crc, finobt and sparse inodes, the
// optional features as given, and rmapbt off.
func xfsProfile(name string, since KernelVersion, reflink, bigtime, nrext64 bool) Profile {
	on := []string{"crc", "finobt", "sparse"}
	off := []string{"rmapbt"}
	onOff := func(name string, b bool) string {
		if b {
			on = append(on, name)
			return name + "=1"
		}
		off = append(off, name)
		return name + "=0"
	}
	meta := []string{"crc=1", "finobt=1", "rmapbt=0", onOff("reflink", reflink), onOff("bigtime", bigtime), onOff("inobtcount", bigtime)}
	return Profile{
		FS: FSXFS, Name: name, For: since, On: on, Off: off,
		Args: []string{"-f", "-q", "-m", strings.Join(meta, ","), "-i", "sparse=1," + onOff("nrext64", nrext64)},
	}
}

func ext4Profile(name string, since KernelVersion, csum bool, newer ...string) Profile {
	on := slices.Clone(ext4Base)
	off := slices.DeleteFunc(slices.Clone(ext4Newer), func(f string) bool { return slices.Contains(newer, f) })
	if csum {
		on = append(on, "metadata_csum")
	} else {
		off = append(off, "metadata_csum")
	}
	on = append(on, newer...)
	// "none" first clears the defaults of mke2fs.conf, so the list is
	// the whole feature set.
	return Profile{FS: FSExt4, Name: name, For: since, On: on, Off: off,
		Args: []string{"-t", "ext4", "-F", "-q", "-O", "none," + strings.Join(on, ",")}}
}

func btrfsProfile(name string, since KernelVersion, on, off []string) Profile {
	var feats []string
	runtime := "^free-space-tree"
	for _, f := range on {
		if f == "free-space-tree" {
			runtime = f
			continue
		}
		feats = append(feats, f)
	}
	for _, f := range off {
		// block-group-tree is only an option of experimental builds of
		// mkfs.btrfs 6.2; it is checked absent, not switched off.
		if f != "free-space-tree" && f != "block-group-tree" {
			feats = append(feats, "^"+f)
		}
	}
	return Profile{FS: FSBtrfs, Name: name, For: since, On: on, Off: off,
		Args: []string{"-f", "-q", "-O", strings.Join(feats, ","), "-R", runtime}}
}

// Profiles lists each filesystem target's profiles, oldest first. A
// target of proto.Targets with a filesystem needs at least one, made
// with its filesystem (TestProfilesCoverTargets).
var Profiles = map[proto.Target][]Profile{
	proto.TargetXFS: {
		xfsLTS(4, 19, false, false),
		xfsLTS(5, 4, true, false),
		xfsLTS(5, 10, true, false),
		xfsLTS(5, 15, true, true),
		xfsLTS(6, 1, true, true),
		// 6.12 LTS and later: lts_6.1 with 64-bit extent counters (5.19),
		// the newest feature this host's xfsprogs (6.1) makes that they
		// mount. Meant for 6.12 so that 6.1 keeps its LTS set.
		xfsProfile("xfs/6.12", kv(6, 12), true, true, true),
	},
	proto.TargetExt4: {
		ext4Profile("ext4/2.6", kv(2, 6), false),
		ext4Profile("ext4/3.18", kv(3, 18), true),
		// 6.12 LTS and later: with the checksum seed, 3-level htree
		// directories and the orphan file, which e2fsprogs 1.47 makes
		// and every kernel since 5.15 mounts. Meant for 6.12 so that
		// 6.1 keeps ext4/3.18.
		ext4Profile("ext4/6.12", kv(6, 12), true, "metadata_csum_seed", "large_dir", "orphan_file"),
	},
	proto.TargetBtrfs: {
		// mkfs.btrfs's own "default=" versions of `-O list-all`.
		btrfsProfile("btrfs/3.12", kv(3, 12), []string{"extref"}, []string{"skinny-metadata", "no-holes", "free-space-tree", "block-group-tree"}),
		btrfsProfile("btrfs/3.18", kv(3, 18), []string{"extref", "skinny-metadata"}, []string{"no-holes", "free-space-tree", "block-group-tree"}),
		// Also 6.12's: the block-group-tree it mounts (6.1) is only an
		// option of experimental builds of this host's mkfs.btrfs 6.2.
		btrfsProfile("btrfs/5.15", kv(5, 15), []string{"extref", "skinny-metadata", "no-holes", "free-space-tree"}, []string{"block-group-tree"}),
	},
}

// TooOldError is a kernel that cannot mount even the oldest profile of
// a filesystem.
type TooOldError struct {
	FS      string
	Kernel  KernelVersion
	Feature string // the feature it lacks
	What    string
	Since   KernelVersion
}

func (e *TooOldError) Error() string {
	return fmt.Sprintf("kernel %s is too old for every known %s profile: it cannot mount %s (%s, since %s)",
		e.Kernel, e.FS, e.Feature, e.What, e.Since)
}

// ProfileFor returns the profile for making target's filesystem for
// kernel k: the newest one meant for k or older. A kernel older than
// every profile gets the oldest if it mounts all of that profile's
// features, else a *TooOldError naming the feature it lacks.
func ProfileFor(target proto.Target, k KernelVersion) (Profile, error) {
	ps, ok := Profiles[target]
	if !ok || len(ps) == 0 {
		var known []string
		for _, t := range proto.Targets {
			if len(Profiles[t.Name]) > 0 {
				known = append(known, string(t.Name))
			}
		}
		return Profile{}, fmt.Errorf("no mkfs profile for target %q (want %s)", target, strings.Join(known, ", "))
	}
	for i := len(ps) - 1; i >= 0; i-- {
		if !k.Less(ps[i].For) {
			return ps[i], nil
		}
	}
	oldest := ps[0]
	for _, f := range featureSince[oldest.FS] {
		if slices.Contains(oldest.On, f.name) && k.Less(f.since) {
			return Profile{}, &TooOldError{FS: oldest.FS, Kernel: k, Feature: f.name, What: f.what, Since: f.since}
		}
	}
	return oldest, nil
}

// ProfileNamed returns the profile called name ("xfs/lts_5.4").
func ProfileNamed(name string) (Profile, error) {
	var names []string
	for _, t := range proto.Targets {
		for _, p := range Profiles[t.Name] {
			if p.Name == name {
				return p, nil
			}
			names = append(names, p.Name)
		}
	}
	return Profile{}, fmt.Errorf("unknown mkfs profile %q (known: %s)", name, strings.Join(names, ", "))
}

// Command returns mkfs's argv for formatting dev with the profile.
func (p Profile) Command(dev string) []string {
	argv := append([]string{"mkfs." + p.FS}, p.Args...)
	return append(argv, dev)
}

// MkfsResult says how a filesystem was made.
type MkfsResult struct {
	Profile  string
	Command  []string
	Features []string // read back from the superblock
}

// Mkfs formats dev (a block device or, for tests, an image file) with
// the profile, then reads the superblock back and checks that the
// profile's features are exactly what mkfs wrote.
func Mkfs(ctx context.Context, p Profile, dev string) (*MkfsResult, error) {
	argv := p.Command(dev)
	res := &MkfsResult{Profile: p.Name, Command: argv}
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		return res, &SetupError{Step: "mkfs", Output: string(out), Err: fmt.Errorf("%s: %w", strings.Join(argv, " "), err)}
	}
	res.Features, err = ReadFeatures(p.FS, dev)
	if err != nil {
		return res, &SetupError{Step: "mkfs", Err: fmt.Errorf("reading back the superblock: %w", err)}
	}
	var wrong []string
	for _, f := range p.On {
		if !slices.Contains(res.Features, f) {
			wrong = append(wrong, f+" missing")
		}
	}
	for _, f := range p.Off {
		if slices.Contains(res.Features, f) {
			wrong = append(wrong, f+" present")
		}
	}
	if len(wrong) > 0 {
		return res, &SetupError{Step: "mkfs", Err: fmt.Errorf("%s made a filesystem that is not profile %s: %s (superblock: %s)",
			argv[0], p.Name, strings.Join(wrong, ", "), strings.Join(res.Features, ","))}
	}
	return res, nil
}
