package kbuild

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/ktest-dev/ktest/internal/atomicfile"

	"golang.org/x/sys/unix"
)

// A plain tree's key, and the default tree's, is a hash of its content:
// every path below the root, sorted, with its type and the sha256 of a
// file's content or a symlink's target. Where the tree lies and its
// mtimes do not count, so a byte-identical copy shares kernels. Nothing
// is excluded: a slot is a copy of the whole tree, so anything in it can
// reach a build.
//
// Hashing an ~80k-file kernel tree takes seconds, so a per-tree index in
// the cache remembers each file's stat and digest; a file is rehashed
// only when its stat changed.

// contentFormat is hashed into every content key and names the index
// layout; change it whenever either changes.
const contentFormat = "ktest-content-1"

// Entry types a content key records. Only the executable bit of a
// mode counts: the default tree is read-only and a user's copy is not,
// and both build the same kernel.
const (
	typeFile  = 'f'
	typeExec  = 'x' // a regular file with an executable bit
	typeLink  = 'l'
	typeDir   = 'd'
	typeOther = 'o' // fifo, socket, device: recorded by type only
)

// entry is what a content key records of one path: its type, and the
// sha256 of a file's content or a symlink's target.
type entry struct {
	Type   byte
	Digest string // raw sha256 bytes for a file, the target for a symlink
}

// typeOf classifies a raw st_mode.
func typeOf(mode uint32) byte {
	switch mode & syscall.S_IFMT {
	case syscall.S_IFREG:
		if mode&0o111 != 0 {
			return typeExec
		}
		return typeFile
	case syscall.S_IFLNK:
		return typeLink
	case syscall.S_IFDIR:
		return typeDir
	}
	return typeOther
}

func (e entry) isFile() bool { return e.Type == typeFile || e.Type == typeExec }

// write adds the entry for rel to a key's hash. Lengths prefix the
// variable parts, so no two different lists hash the same bytes.
func (e entry) write(h hash.Hash, rel string) {
	hashf(h, "%d:%s%c%d:%s", len(rel), rel, e.Type, len(e.Digest), e.Digest)
}

// fileDigest is the raw sha256 of a file's content.
func fileDigest(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer func() { _ = f.Close() }() // read-only: a close error loses nothing
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	return string(h.Sum(nil)), nil
}

// stamp is what the index trusts a file's digest by. The ctime catches
// a rewrite that kept size and mtime; the inode, a file replaced by
// rename.
type stamp struct {
	Size, Mtime, Ctime int64
	Ino                uint64
	Mode               uint32
}

// node is one path below a tree's root as a scan finds it.
type node struct {
	rel   string
	entry entry
	stamp stamp // regular files only
}

// walkTree lists every path below dir (not dir itself), unsorted. A
// kernel tree has ~5k directories: they are read in parallel, and
// entries are stat'ed relative to their directory, so the kernel does
// not resolve every full path again.
func walkTree(dir string) ([]node, error) {
	var (
		mu    sync.Mutex
		nodes []node
		first error
		wg    sync.WaitGroup
	)
	// Directory reads block in the kernel more than they compute.
	sem := make(chan struct{}, 2*runtime.NumCPU())
	var visit func(rel string)
	visit = func(rel string) {
		defer wg.Done()
		sem <- struct{}{}
		found, subdirs, err := readDirNodes(dir, rel)
		<-sem
		mu.Lock()
		nodes = append(nodes, found...)
		if err != nil && first == nil {
			first = err
		}
		mu.Unlock()
		if err != nil {
			return
		}
		for _, sub := range subdirs {
			wg.Add(1)
			go visit(sub)
		}
	}
	wg.Add(1)
	visit("")
	wg.Wait()
	return nodes, first
}

// readDirNodes lists the directory rel below root, and its subdirectories.
func readDirNodes(root, rel string) ([]node, []string, error) {
	path := filepath.Join(root, rel)
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer func() { _ = f.Close() }() // read-only: a close error loses nothing
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, nil, fmt.Errorf("reading %s: %w", path, err)
	}
	fd := int(f.Fd())
	nodes := make([]node, 0, len(names))
	var subdirs []string
	for _, name := range names {
		var st unix.Stat_t
		if err := unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return nil, nil, &fs.PathError{Op: "lstat", Path: filepath.Join(path, name), Err: err}
		}
		n := node{rel: name, entry: entry{Type: typeOf(st.Mode)}}
		if rel != "" {
			n.rel = rel + "/" + name
		}
		switch n.entry.Type {
		case typeFile, typeExec:
			n.stamp = stamp{Size: st.Size, Mtime: st.Mtim.Nano(), Ctime: st.Ctim.Nano(), Ino: st.Ino, Mode: st.Mode}
		case typeLink:
			if n.entry.Digest, err = os.Readlink(filepath.Join(path, name)); err != nil {
				return nil, nil, err
			}
		case typeDir:
			subdirs = append(subdirs, n.rel)
		}
		nodes = append(nodes, n)
	}
	return nodes, subdirs, nil
}

// indexHeader starts an index file, so GC can tell whose it is without
// decoding the entries.
type indexHeader struct {
	Format string
	Dir    string
}

// indexRecord is a file's stamp and digest; an empty Digest is unknown.
type indexRecord struct {
	Rel    string
	Stamp  stamp
	Digest string
}

// racyWindow: a file changed this close to the scan may change again
// within one timestamp tick without its stamp moving, so its digest is
// not remembered (git's "racily clean" entries). Two seconds also cover
// filesystems with coarse timestamps.
const racyWindow = 2 * time.Second

// treeIndexPath is where the index of the tree at dir lives.
func (c *Cache) treeIndexPath(dir string) string {
	return filepath.Join(c.Dir, "trees", "index", hashString(dir)[:24]+".gob")
}

// readTreeIndex returns the records remembered for dir, sorted by path,
// or none when the index is missing, another format, or another tree's.
func readTreeIndex(path, dir string) []indexRecord {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer func() { _ = f.Close() }() // read-only: a close error loses nothing
	dec := gob.NewDecoder(bufio.NewReader(f))
	var h indexHeader
	if dec.Decode(&h) != nil || h.Format != contentFormat || h.Dir != dir {
		return nil
	}
	var idx []indexRecord
	if dec.Decode(&idx) != nil {
		return nil // unusable, not fatal: the files are hashed again
	}
	return idx
}

func writeTreeIndex(path, dir string, idx []indexRecord) error {
	var buf bytes.Buffer
	enc := gob.NewEncoder(&buf)
	if err := enc.Encode(indexHeader{Format: contentFormat, Dir: dir}); err != nil {
		return err
	}
	if err := enc.Encode(idx); err != nil {
		return err
	}
	return atomicfile.WriteFile(path, buf.Bytes(), 0o644)
}

// contentKey computes the content key of the tree at dir (absolute),
// rehashing only files whose stamp changed since the cache's index of
// dir was written, and updating the index.
func contentKey(ctx context.Context, c *Cache, dir string) (string, error) {
	s, err := scanContent(ctx, c, dir, time.Now())
	return s.key, err
}

// contentScan is a content key and what computing it cost.
type contentScan struct {
	key    string
	files  int // regular files in the tree
	hashed int // files read, because the index did not know them
}

// scanContent is contentKey for a scan started at start, which decides
// which digests are too recent to remember.
func scanContent(ctx context.Context, c *Cache, dir string, start time.Time) (contentScan, error) {
	idxPath := c.treeIndexPath(dir)
	old := readTreeIndex(idxPath, dir)
	nodes, err := walkTree(dir)
	if err != nil {
		return contentScan{}, fmt.Errorf("walking %s: %w", dir, err)
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].rel < nodes[j].rel })

	// Both lists are sorted by path: one merge finds each file's record.
	var todo []int
	files, j := 0, 0
	for i := range nodes {
		n := &nodes[i]
		if !n.entry.isFile() {
			continue
		}
		files++
		for j < len(old) && old[j].Rel < n.rel {
			j++
		}
		if j < len(old) && old[j].Rel == n.rel && old[j].Stamp == n.stamp && old[j].Digest != "" {
			n.entry.Digest = old[j].Digest
		} else {
			todo = append(todo, i)
		}
	}
	if err := hashFiles(ctx, dir, nodes, todo); err != nil {
		return contentScan{}, err
	}

	h := sha256.New()
	hashf(h, "%s\n", contentFormat)
	for _, n := range nodes {
		n.entry.write(h, n.rel)
	}
	key := "content-" + hex.EncodeToString(h.Sum(nil))[:24]

	// Rewritten only when something changed: a warm key writes nothing.
	if len(todo) > 0 || files != len(old) {
		racy := start.Add(-racyWindow).UnixNano()
		idx := make([]indexRecord, 0, files)
		for _, n := range nodes {
			if !n.entry.isFile() {
				continue
			}
			r := indexRecord{Rel: n.rel, Stamp: n.stamp}
			if n.stamp.Mtime < racy && n.stamp.Ctime < racy {
				r.Digest = n.entry.Digest
			}
			idx = append(idx, r)
		}
		if err := writeTreeIndex(idxPath, dir, idx); err != nil {
			return contentScan{}, fmt.Errorf("writing the tree index %s: %w", idxPath, err)
		}
	}
	return contentScan{key: key, files: files, hashed: len(todo)}, nil
}

// hashFiles fills in the digests of nodes[todo...], on every CPU.
func hashFiles(ctx context.Context, dir string, nodes []node, todo []int) error {
	work := make(chan int)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	for range runtime.NumCPU() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				d, err := fileDigest(filepath.Join(dir, nodes[i].rel))
				if err != nil {
					select {
					case errs <- err:
					default:
					}
					continue
				}
				nodes[i].entry.Digest = d
			}
		}()
	}
	var err error
feed:
	for _, i := range todo {
		select {
		case work <- i:
		case err = <-errs:
			break feed
		case <-ctx.Done():
			err = ctx.Err()
			break feed
		}
	}
	close(work)
	wg.Wait()
	if err == nil {
		select {
		case err = <-errs:
		default:
		}
	}
	if err != nil {
		return fmt.Errorf("hashing %s: %w", dir, err)
	}
	return nil
}

// pruneTreeIndexes removes the indexes of trees that no longer exist.
func (c *Cache) pruneTreeIndexes(dryRun bool) (int, error) {
	paths, err := filepath.Glob(filepath.Join(c.Dir, "trees", "index", "*.gob"))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		var h indexHeader
		herr := gob.NewDecoder(f).Decode(&h)
		_ = f.Close() // read-only: a close error loses nothing
		if herr == nil && h.Format == contentFormat {
			if _, err := os.Stat(h.Dir); !errors.Is(err, fs.ErrNotExist) {
				continue
			}
		}
		if dryRun || os.Remove(p) == nil {
			n++
		}
	}
	return n, nil
}
