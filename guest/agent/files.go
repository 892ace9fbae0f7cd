package agent

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Put writes everything r yields to path with permission bits mode. The
// file appears complete or not at all: data goes to a temporary file in the
// same directory, is synced, and is renamed over path. The parent directory
// must exist.
func Put(r io.Reader, path string, mode fs.FileMode) (err error) {
	if path == "" {
		return fmt.Errorf("put: empty path")
	}
	dir, base := filepath.Split(filepath.Clean(path))
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".ktest-put-*")
	if err != nil {
		return fmt.Errorf("put %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close() // error path: the put already failed
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err := io.Copy(tmp, r); err != nil {
		return fmt.Errorf("put %s: write: %w", path, err)
	}
	// CreateTemp uses 0600 and the umask would trim an explicit create
	// mode, so set the bits afterwards.
	if err := tmp.Chmod(mode.Perm()); err != nil {
		return fmt.Errorf("put %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("put %s: sync: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("put %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("put %s: %w", path, err)
	}
	return nil
}

// Get copies the regular file at path to w.
func Get(w io.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("get: %w", err)
	}
	defer func() { _ = f.Close() }() // read-only: a close error loses nothing
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("get %s: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("get %s: not a regular file (%s)", path, st.Mode().Type())
	}
	if _, err := io.Copy(w, f); err != nil {
		return fmt.Errorf("get %s: %w", path, err)
	}
	return nil
}
