package worktree

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// CopyStats says how a plain (non-git) copy was made.
type CopyStats struct {
	Files  int   // regular files copied
	Cloned int   // of which reflinked (FICLONE): shared blocks, copy on write
	Bytes  int64 // bytes in regular files
}

// clone makes dst share src's blocks copy-on-write (FICLONE); tests
// replace it to exercise the fallback.
var clone = func(dst, src *os.File) error {
	return unix.IoctlFileClone(int(dst.Fd()), int(src.Fd()))
}

// cloneUnsupported reports errors meaning this filesystem pair cannot
// reflink at all, so trying again for the next file is wasted work.
func cloneUnsupported(err error) bool {
	return errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EXDEV) ||
		errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOTTY) || errors.Is(err, unix.ENOSYS)
}

// copyWorkers copy files in parallel, so that reads of a cold source
// overlap. With the source cached and no reflinks, the kernel copying the
// data dominates whatever the number (about cp -a's time).
var copyWorkers = min(max(runtime.NumCPU()*2, 4), 16)

// copyTree copies src into the existing directory dst so that the copy
// shares nothing writable with src: each regular file is a reflink where
// the filesystem supports it (the blocks are shared copy-on-write, so a
// write to either side is private) and a real copy (copy_file_range)
// otherwise. Modes, symlinks and mtimes are kept; files gain u+w and
// directories u+rwx, because the copy is a private writable tree even when
// the source is read-only (ktest's cached default tree is). Sockets,
// devices and fifos are skipped.
func copyTree(ctx context.Context, src, dst string) (CopyStats, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	type job struct {
		from, to string
		info     fs.FileInfo
	}
	jobs := make(chan job, 256)
	var (
		files, cloned, bytes atomic.Int64
		canClone             atomic.Bool
		wg                   sync.WaitGroup
		firstErr             error
		errOnce              sync.Once
		dirTimes             []dirTime
	)
	fail := func(err error) { errOnce.Do(func() { firstErr = err; cancel(err) }) }
	canClone.Store(true)
	for range copyWorkers {
		wg.Go(func() {
			for j := range jobs {
				if ctx.Err() != nil {
					continue // drain
				}
				c, err := copyFile(j.from, j.to, j.info, &canClone)
				if err != nil {
					fail(fmt.Errorf("copy %s: %w", j.from, err))
					continue
				}
				files.Add(1)
				bytes.Add(j.info.Size())
				if c {
					cloned.Add(1)
				}
			}
		})
	}

	walkErr := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch t := d.Type(); {
		case t.IsDir():
			fi, err := d.Info()
			if err != nil {
				return err
			}
			if rel != "." {
				if err := os.Mkdir(target, 0o700); err != nil {
					return err
				}
			}
			// Mode and mtime are set once the directory is filled:
			// creating entries moves its mtime.
			dirTimes = append(dirTimes, dirTime{target, fi.Mode().Perm() | 0o700, fi.ModTime()})
		case t.IsRegular():
			fi, err := d.Info()
			if err != nil {
				return err
			}
			select {
			case jobs <- job{path, target, fi}:
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		case t&fs.ModeSymlink != 0:
			return copySymlink(path, target, d)
		}
		return nil
	})
	close(jobs)
	wg.Wait()
	if walkErr != nil {
		fail(walkErr)
	}
	// A worker's error caused the walk's cancellation: report the cause,
	// unless the caller's context ended first.
	if firstErr != nil {
		if err := context.Cause(ctx); errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return CopyStats{}, err
		}
		return CopyStats{}, firstErr
	}
	if err := restoreDirTimes(dirTimes); err != nil {
		return CopyStats{}, err
	}
	return CopyStats{Files: int(files.Load()), Cloned: int(cloned.Load()), Bytes: bytes.Load()}, nil
}

// copySymlink makes the link at target as it is at path, with its mtime.
func copySymlink(path, target string, d fs.DirEntry) error {
	link, err := os.Readlink(path)
	if err != nil {
		return err
	}
	if err := os.Symlink(link, target); err != nil {
		return err
	}
	fi, err := d.Info()
	if err != nil {
		return err
	}
	return lchtimes(target, fi.ModTime())
}

// restoreDirTimes sets the copied directories' modes and mtimes, deepest
// first, so setting a child's mode cannot move its parent's mtime.
func restoreDirTimes(dirTimes []dirTime) error {
	for i := len(dirTimes) - 1; i >= 0; i-- {
		d := dirTimes[i]
		if err := os.Chmod(d.path, d.mode); err != nil {
			return err
		}
		if err := os.Chtimes(d.path, d.mtime, d.mtime); err != nil {
			return err
		}
	}
	return nil
}

type dirTime struct {
	path  string
	mode  fs.FileMode
	mtime time.Time
}

// copyFile writes a private copy of the regular file src at dst, keeping
// its mode (plus u+w) and mtime, and reports whether it was reflinked.
// canClone is cleared when the filesystem turns out not to reflink.
func copyFile(src, dst string, fi fs.FileInfo, canClone *atomic.Bool) (cloned bool, err error) {
	in, err := os.Open(src)
	if err != nil {
		return false, err
	}
	defer func() { _ = in.Close() }() // read-only: a close error loses nothing
	// 0600 until written; the final mode is set after, free of the umask.
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return false, err
	}
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
	}()
	if fi.Size() > 0 && canClone.Load() {
		cerr := clone(out, in)
		switch {
		case cerr == nil:
			cloned = true
		case cloneUnsupported(cerr):
			canClone.Store(false)
		}
	}
	if !cloned && fi.Size() > 0 {
		// *os.File to *os.File: copy_file_range, done in the kernel.
		if _, err := io.Copy(out, in); err != nil {
			return false, err
		}
	}
	if err := out.Chmod(fi.Mode().Perm() | 0o200); err != nil {
		return false, err
	}
	mt := fi.ModTime()
	ts := []unix.Timespec{unix.NsecToTimespec(mt.UnixNano()), unix.NsecToTimespec(mt.UnixNano())}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, dst, ts, 0); err != nil {
		return false, &os.PathError{Op: "utimes", Path: dst, Err: err}
	}
	return cloned, nil
}

// lchtimes sets a symlink's own mtime (os.Chtimes would follow it).
func lchtimes(path string, mt time.Time) error {
	ts := []unix.Timespec{unix.NsecToTimespec(mt.UnixNano()), unix.NsecToTimespec(mt.UnixNano())}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, path, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &os.PathError{Op: "lutimes", Path: path, Err: err}
	}
	return nil
}
