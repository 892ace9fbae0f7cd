package kbuild

import (
	"context"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/ktest-dev/ktest/internal/cachedir"

	"golang.org/x/sys/unix"
)

// Cache is ktest's cache directory, outside any repository, so CI runs
// on the same machine reuse kernels. Layout: see DESIGN.md.
type Cache struct {
	Dir string
}

// OpenCache creates the cache directory if needed, and drops request
// indexes whose kernel is gone.
func OpenCache(dir string) (*Cache, error) {
	if dir == "" {
		dir = cachedir.Dir()
	}
	for _, sub := range []string{"trees", "slots", "kernels", "requests", "locks"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, fmt.Errorf("creating cache %s: %w", dir, err)
		}
	}
	c := &Cache{Dir: dir}
	// Indexes of kernels removed by hand would otherwise linger as
	// misses forever; dropping them is cheap (one small file each).
	if _, err := c.pruneIndexes(); err != nil {
		return nil, fmt.Errorf("cache %s: %w", dir, err)
	}
	return c, nil
}

// lock takes an exclusive flock named name, waiting (and saying so on
// log) while another ktest holds it. The lock dies with the process, so
// a killed build never leaves a stale lock.
func (c *Cache) lock(ctx context.Context, name string, log io.Writer) (unlock func(), err error) {
	said := false
	for {
		unlock, err := c.tryLock(name)
		if unlock != nil || err != nil {
			return unlock, err
		}
		if !said {
			logf(log, "ktest: waiting for another ktest holding %s\n", c.lockPath(name))
			said = true
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// tryLock takes the flock named name if it is free; unlock is nil when
// another process holds it.
func (c *Cache) tryLock(name string) (unlock func(), err error) {
	path := c.lockPath(name)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening lock %s: %w", path, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		_ = f.Close() // an empty lock file: nothing to lose
		if err == unix.EWOULDBLOCK {
			return nil, nil
		}
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	// Closing the file releases the lock too: an unlock error changes
	// nothing, and the lock file holds no data.
	return func() { _ = unix.Flock(int(f.Fd()), unix.LOCK_UN); _ = f.Close() }, nil
}

func (c *Cache) lockPath(name string) string { return filepath.Join(c.Dir, "locks", name+".lock") }

// logf writes a progress line to log. Best effort: progress is for the
// reader, and a log that cannot be written must not stop a build.
func logf(log io.Writer, format string, a ...any) { _, _ = fmt.Fprintf(log, format, a...) }

// hashf writes to a key's hash; a hash.Hash never returns an error.
func hashf(h hash.Hash, format string, a ...any) { _, _ = fmt.Fprintf(h, format, a...) }
