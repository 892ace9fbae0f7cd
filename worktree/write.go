package worktree

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/ktest-dev/ktest/apply"
)

// commitRename is the rename of the commit phase; tests replace it to
// make a rename fail half way.
var commitRename = func(r *os.Root, from, to string) error { return r.Rename(from, to) }

// WriteInPlace writes changes into the tree at root, all or nothing.
//
// Every new file is first staged as a temp file next to its target (with
// its final mode), and every file to be replaced or deleted gets a
// hardlink backup; only then are the temps renamed over their targets and
// the deletions done. If anything fails, the temps are removed, the
// targets already replaced get their original file back (same inode,
// same mtime), directories created for new files are removed, and the
// tree is as it was. All access goes through os.Root, so a change can
// never write outside root, even through a symlink.
//
// Content is always written to a new inode, never into an existing file:
// a file hardlinked elsewhere is replaced, not written through. Written files get the current time as mtime, as a build needs.
func WriteInPlace(root string, changes []*apply.Change) (err error) {
	r, err := os.OpenRoot(root)
	if err != nil {
		return fmt.Errorf("write %s: %w", root, err)
	}
	defer func() { _ = r.Close() }() // a directory handle: closing it loses nothing

	changes = slices.Clone(changes)
	slices.SortFunc(changes, func(a, b *apply.Change) int { return strings.Compare(a.Path, b.Path) })
	tx := &txn{r: r}
	defer func() {
		if err != nil {
			err = errors.Join(fmt.Errorf("write %s: %w", root, err), tx.rollback())
		} else {
			tx.cleanup()
		}
	}()
	for _, c := range changes {
		if !fs.ValidPath(c.Path) || c.Path == "." {
			return fmt.Errorf("invalid path %q", c.Path)
		}
		if err := tx.stage(c); err != nil {
			return err
		}
	}
	return tx.commit()
}

// step is one target of a transaction.
type step struct {
	path    string
	temp    string // staged new content; "" for a deletion
	backup  string // hardlink to the original; "" if there was none
	delete  bool
	applied bool
}

type txn struct {
	r     *os.Root
	steps []*step
	dirs  []string // directories created, parents first
}

func (tx *txn) stage(c *apply.Change) error {
	s := &step{path: c.Path, delete: c.Deleted}
	tx.steps = append(tx.steps, s)
	fi, err := tx.r.Lstat(c.Path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if c.Deleted {
			return nil // already gone
		}
		if err := tx.mkdirs(path.Dir(c.Path)); err != nil {
			return err
		}
	case err != nil:
		return err
	case fi.IsDir():
		return fmt.Errorf("%s: is a directory", c.Path)
	default:
		s.backup = tempName(c.Path, "orig")
		if err := tx.r.Link(c.Path, s.backup); err != nil {
			s.backup = ""
			return fmt.Errorf("back up %s: %w", c.Path, err)
		}
	}
	if c.Deleted {
		return nil
	}
	mode := c.Mode.Perm()
	if mode == 0 {
		mode = 0o644
	}
	s.temp = tempName(c.Path, "new")
	f, err := tx.r.OpenFile(s.temp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		s.temp = ""
		return fmt.Errorf("stage %s: %w", c.Path, err)
	}
	_, err = f.Write(c.Content)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = tx.r.Chmod(s.temp, mode) // after create: the umask must not apply
	}
	if err != nil {
		return fmt.Errorf("stage %s: %w", c.Path, err)
	}
	return nil
}

// mkdirs creates dir and missing parents, remembering which it made.
func (tx *txn) mkdirs(dir string) error {
	var missing []string
	for d := dir; d != "."; d = path.Dir(d) {
		fi, err := tx.r.Lstat(d)
		if err == nil {
			if !fi.IsDir() {
				return fmt.Errorf("%s: not a directory", d)
			}
			break
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		missing = append(missing, d)
	}
	for i := len(missing) - 1; i >= 0; i-- {
		if err := tx.r.Mkdir(missing[i], 0o755); err != nil {
			return err
		}
		tx.dirs = append(tx.dirs, missing[i])
	}
	return nil
}

func (tx *txn) commit() error {
	for _, s := range tx.steps {
		var err error
		switch {
		case s.temp != "":
			err = commitRename(tx.r, s.temp, s.path)
		case s.backup != "":
			err = tx.r.Remove(s.path)
		default:
			continue
		}
		if err != nil {
			return fmt.Errorf("commit %s: %w", s.path, err)
		}
		s.applied, s.temp = true, ""
	}
	return nil
}

// rollback undoes a failed transaction, newest step first.
func (tx *txn) rollback() error {
	var errs []error
	for i := len(tx.steps) - 1; i >= 0; i-- {
		s := tx.steps[i]
		if s.temp != "" {
			if err := tx.r.Remove(s.temp); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
		}
		switch {
		case s.applied && s.backup != "":
			if err := tx.r.Rename(s.backup, s.path); err != nil {
				errs = append(errs, fmt.Errorf("restore %s: %w", s.path, err))
			}
		case s.applied:
			if err := tx.r.Remove(s.path); err != nil {
				errs = append(errs, fmt.Errorf("remove new %s: %w", s.path, err))
			}
		case s.backup != "":
			if err := tx.r.Remove(s.backup); err != nil {
				errs = append(errs, err)
			}
		}
	}
	for i := len(tx.dirs) - 1; i >= 0; i-- {
		if err := tx.r.Remove(tx.dirs[i]); err != nil {
			errs = append(errs, fmt.Errorf("remove created dir: %w", err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("rollback incomplete: %w", errors.Join(errs...))
	}
	return nil
}

// cleanup drops the backups of a committed transaction and directories
// that deletions left empty (as git apply does). Failures leave only
// hidden .ktest-* files behind, never a wrong tree, so they are ignored.
func (tx *txn) cleanup() {
	for _, s := range tx.steps {
		if s.backup != "" {
			_ = tx.r.Remove(s.backup) // ignored, as the doc says
		}
		if s.delete && s.applied {
			for d := path.Dir(s.path); d != "."; d = path.Dir(d) {
				if tx.r.Remove(d) != nil { // not empty
					break
				}
			}
		}
	}
}

// tempName is a hidden name in p's directory for a staged file.
func tempName(p, kind string) string {
	var b [6]byte
	rand.Read(b[:])
	return path.Join(path.Dir(p), fmt.Sprintf(".ktest-%s.%s.%s", path.Base(p), hex.EncodeToString(b[:]), kind))
}
