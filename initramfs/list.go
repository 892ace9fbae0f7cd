package initramfs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/ktest-dev/ktest/internal/cachedir"
)

// Image is one cached guest image layer, as `ktest cache ls` lists it.
type Image struct {
	Path string `json:"path"`
	// Layer is "u-root" (the busybox and init) or "base" (the whole
	// image without keys, what `ktest run --initramfs` takes).
	Layer    string    `json:"layer"`
	LastUsed time.Time `json:"last_used"`
	Bytes    int64     `json:"bytes"`
}

// Images lists the cached images under cacheDir (empty: the ktest
// cache), most recently used first; none is not an error.
func Images(cacheDir string) ([]Image, error) {
	if cacheDir == "" {
		cacheDir = cachedir.Dir()
	}
	dir := filepath.Join(cacheDir, "initramfs")
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return []Image{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing cached guest images: %w", err)
	}
	out := []Image{}
	for _, e := range ents {
		n := e.Name()
		if !strings.HasSuffix(n, ".cpio") || strings.HasPrefix(n, ".") {
			continue // a build in progress
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		layer := "base"
		if strings.HasPrefix(n, "uroot-") {
			layer = "u-root"
		}
		out = append(out, Image{Path: filepath.Join(dir, n), Layer: layer, LastUsed: info.ModTime(), Bytes: info.Size()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].LastUsed.After(out[j].LastUsed) })
	return out, nil
}

// CheckBase checks that path holds a newc cpio archive, as a base image
// given on the command line must (one from `ktest initramfs -o`).
func CheckBase(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }() // teardown: nothing is written through it any more
	magic := make([]byte, 6)
	if _, err := io.ReadFull(f, magic); err != nil || string(magic) != "070701" {
		return fmt.Errorf("%s is not a guest image (a newc cpio archive, as 'ktest initramfs -o' writes)", path)
	}
	return nil
}

// Export copies the base image at base to path through a temporary file
// in path's directory, so path is either the old file or the whole new
// one.
func Export(base, path string) error {
	in, err := os.Open(base)
	if err != nil {
		return err
	}
	defer func() { _ = in.Close() }() // teardown: nothing is written through it any more
	out, err := os.CreateTemp(filepath.Dir(path), ".ktest-initramfs-*")
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(out.Name()) }() // a no-op once renamed
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close() // teardown: nothing is written through it any more
		return fmt.Errorf("copying %s: %w", base, err)
	}
	if err := out.Close(); err != nil {
		return err
	}
	if err := os.Chmod(out.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(out.Name(), path)
}
