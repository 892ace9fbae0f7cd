package kbuild

import (
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"os"
)

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

// statEntry classifies path from its lstat info, reading a symlink's
// target; a file's digest is left to the caller, who may know it.
func statEntry(path string, info fs.FileInfo) (entry, error) {
	m := info.Mode()
	switch {
	case m.IsRegular() && m&0o111 != 0:
		return entry{Type: typeExec}, nil
	case m.IsRegular():
		return entry{Type: typeFile}, nil
	case m&fs.ModeSymlink != 0:
		target, err := os.Readlink(path)
		if err != nil {
			return entry{}, err
		}
		return entry{Type: typeLink, Digest: target}, nil
	case m.IsDir():
		return entry{Type: typeDir}, nil
	}
	return entry{Type: typeOther}, nil
}

// write adds the entry for rel to a key's hash. Lengths prefix the
// variable parts, so no two different lists hash the same bytes.
func (e entry) write(w io.Writer, rel string) {
	fmt.Fprintf(w, "%d:%s%c%d:%s", len(rel), rel, e.Type, len(e.Digest), e.Digest)
}

// fileDigest is the raw sha256 of a file's content.
func fileDigest(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	return string(h.Sum(nil)), nil
}
