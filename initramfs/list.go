package initramfs

import (
	"errors"
	"fmt"
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
