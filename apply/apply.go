// Package apply applies the diffs of a patch series to a source tree in
// memory and reports the fate of every hunk: exact, at an offset, with
// fuzz, already applied, or in conflict (with the nearest region of the
// file that resembles what the hunk expected).
//
// It is pure: the tree is read through an fs.FS and nothing is written.
// Callers write Result.Changes (package worktree) only when ApplySeries
// returns no error, which makes a series all-or-nothing.
//
// go-gitdiff parses the diffs; its own applier is strict (no offsets, no
// fuzz) and mishandles zero-context hunks, so the hunk locator is ours and
// follows GNU patch's search order.
package apply

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"sort"
	"syscall"

	"github.com/bluekeyes/go-gitdiff/gitdiff"
)

// DefaultMaxFuzz is the fuzz DefaultOptions allows, GNU patch's default.
// With the usual three lines of context, fuzz 3 would keep no context
// line, which the placement rule (place.go) never accepts anyway.
const DefaultMaxFuzz = 2

// Patch is one patch of a series: a name for reports (e.g. "03/12 mm:
// abstract out ...") and its parsed diffs.
type Patch struct {
	// ID names the patch within its series ("05/12", "fixup-1"); Name
	// is how messages show it, usually the ID and the subject.
	ID    string
	Name  string
	Files []*gitdiff.File
}

// Options tune the locator. The zero value is strict: exact positions,
// offsets (unlimited) and already-applied detection, but no fuzz.
type Options struct {
	// Reverse un-applies: every fragment is inverted and the patches are
	// taken in reverse order.
	Reverse bool
	// MaxFuzz is how many outer context lines a hunk may ignore at each
	// end; 0 allows none. A hunk never ignores more than its context.
	MaxFuzz int
	// MaxOffset bounds how far from its expected line a hunk may move;
	// 0 means unlimited.
	MaxOffset int
	// Ancestors, when set, lets a file whose hunks do not all apply be
	// merged three-way from the blob its diff's index line names (see
	// threeway.go); nil means no three-way merge.
	Ancestors Ancestors
}

// DefaultOptions are the options ktest uses unless told otherwise.
func DefaultOptions() Options { return Options{MaxFuzz: DefaultMaxFuzz} }

// Status is the fate of a hunk.
type Status int

const (
	StatusExact          Status = iota // at the line its header names
	StatusOffset                       // elsewhere, context intact
	StatusFuzz                         // some outer context ignored
	StatusMerged                       // merged three-way from the blob the diff was made against
	StatusAlreadyApplied               // the post-image is already there; nothing changed
	StatusConflict                     // not applied
)

// Statuses lists every Status, best first.
var Statuses = []Status{StatusExact, StatusOffset, StatusFuzz, StatusMerged, StatusAlreadyApplied, StatusConflict}

var statusNames = [...]string{"exact", "offset", "fuzz", "merged-3way", "already-applied", "conflict"}

func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// MarshalText makes Status a string in JSON.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses the names String returns.
func (s *Status) UnmarshalText(b []byte) error {
	for i, n := range statusNames {
		if string(b) == n {
			*s = Status(i)
			return nil
		}
	}
	return fmt.Errorf("unknown hunk status %q", b)
}

// Op is what a diff does to a file.
type Op string

const (
	OpModify Op = "modify"
	OpCreate Op = "create"
	OpDelete Op = "delete"
	OpRename Op = "rename"
	OpCopy   Op = "copy"
)

// Change is the final state of one path after the whole series, relative
// to the tree. Content and Mode are meaningless when Deleted.
type Change struct {
	Path        string      `json:"path"`
	Content     []byte      `json:"-"`
	Mode        fs.FileMode `json:"mode"` // permission bits
	Deleted     bool        `json:"deleted,omitempty"`
	RenamedFrom string      `json:"renamed_from,omitempty"`
	Created     bool        `json:"created,omitempty"` // not in the tree before
}

// HunkReport is the fate of one hunk. AppliedAt is the 1-based line of
// the file, as it was before this patch, where the hunk landed (for an
// insertion without pre-image, the line it went after). Offset is the
// distance from where the header (adjusted for the earlier hunks of the
// same file) said it would be.
type HunkReport struct {
	Index     int       `json:"index"` // 1-based within the file
	OldStart  int       `json:"old_start"`
	Status    Status    `json:"status"`
	AppliedAt int       `json:"applied_at"`
	Offset    int       `json:"offset"`
	Fuzz      int       `json:"fuzz"`
	Conflict  *Conflict `json:"conflict,omitempty"`
}

// FileReport is the fate of one file of one patch. Status is the worst of
// its hunks' (conflict > fuzz > offset > exact), or already-applied when
// every hunk was. Conflict is set for a file-level failure (missing file,
// file already exists, ...).
type FileReport struct {
	Path     string       `json:"path"`
	OldPath  string       `json:"old_path,omitempty"`
	Op       Op           `json:"op"`
	Status   Status       `json:"status"`
	Conflict *Conflict    `json:"conflict,omitempty"`
	Hunks    []HunkReport `json:"hunks"`
}

// PatchReport is the fate of one patch. Index is the patch's position
// in the slice given to ApplySeries, so a caller finds its own record
// of the patch without parsing names.
type PatchReport struct {
	Index int          `json:"-"`
	ID    string       `json:"id"`
	Name  string       `json:"name"`
	Files []FileReport `json:"files"`
}

// Result is the outcome of ApplySeries: the final content of every path
// the series changes (an overlay over the tree) and a report per patch,
// file and hunk, in the order they were applied.
type Result struct {
	Changes map[string]*Change `json:"-"`
	Patches []PatchReport      `json:"patches"`
}

// SortedChanges returns Changes ordered by path.
func (r *Result) SortedChanges() []*Change {
	out := make([]*Change, 0, len(r.Changes))
	for _, c := range r.Changes {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// Count returns how many hunks ended in each status.
func (r *Result) Count() map[Status]int {
	n := map[Status]int{}
	for _, p := range r.Patches {
		for _, f := range p.Files {
			for _, h := range f.Hunks {
				n[h.Status]++
			}
		}
	}
	return n
}

// ApplySeries applies patches, in order, each to the result of the ones
// before it, over tree (os.DirFS(root) or os.Root.FS() work; symlinks are
// checked when tree is an fs.ReadLinkFS).
//
// The error is nil only if every hunk applied or was already applied.
// Otherwise it is a *Conflict, *PathError or *UnsupportedError, or an
// errors.Join of several; the Result is still complete, every hunk's fate
// reported, and later patches are applied to the best state reached so
// their reports stay meaningful. Callers must write nothing on error.
// Only an unreadable tree ends the run early.
func ApplySeries(tree fs.FS, patches []Patch, opts Options) (*Result, error) {
	a := &applier{tree: tree, opts: opts, overlay: map[string]*entry{}, history: map[string][]revision{}}
	order := make([]int, len(patches))
	for i := range order {
		order[i] = i
	}
	if opts.Reverse {
		slices.Reverse(order)
	}
	res := &Result{}
	var errs []error
	for _, i := range order {
		rep, perrs, fatal := a.applyPatch(patches[i])
		rep.Index = i
		res.Patches = append(res.Patches, rep)
		errs = append(errs, perrs...)
		if fatal != nil {
			return res, errors.Join(append(errs, fatal)...)
		}
	}
	changes, err := a.changes()
	if err != nil {
		return res, errors.Join(append(errs, err)...)
	}
	res.Changes = changes
	switch len(errs) {
	case 0:
		return res, nil
	case 1:
		return res, errs[0]
	}
	return res, errors.Join(errs...)
}

// entry is the overlay's view of one path.
type entry struct {
	exists      bool
	content     []byte
	mode        fs.FileMode // permission bits
	renamedFrom string      // tree path the content originally came from
}

// notFileError is a path the tree has, but not as a regular file: a
// conflict between patch and tree, not a failure to read the tree.
type notFileError struct{ path, reason string }

func (e *notFileError) Error() string { return e.path + ": " + e.reason }

type applier struct {
	tree    fs.FS
	opts    Options
	overlay map[string]*entry
	// history is what the series' patches so far did to each path, for
	// deriving the blobs later patches were made against.
	history map[string][]revision
}

// read returns the current state of path: the overlay's if the series
// touched it, else the tree's.
func (a *applier) read(path string) (*entry, error) {
	if e, ok := a.overlay[path]; ok {
		return e, nil
	}
	return a.readTree(path)
}

func (a *applier) readTree(path string) (*entry, error) {
	fi, err := fs.Stat(a.tree, path)
	if errors.Is(err, fs.ErrNotExist) {
		return &entry{}, nil
	}
	if errors.Is(err, syscall.ENOTDIR) {
		return nil, &notFileError{path, "a parent directory is not a directory"}
	}
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, &notFileError{path, fmt.Sprintf("not a regular file (%v)", fi.Mode().Type())}
	}
	b, err := fs.ReadFile(a.tree, path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return &entry{exists: true, content: b, mode: fi.Mode().Perm()}, nil
}

// fileOp is a gitdiff.File normalised (and, for Reverse, inverted).
type fileOp struct {
	op               Op
	oldName, newName string // as written in the diff
	oldPath, newPath string // resolved in the tree
	newMode          fs.FileMode
	hunks            []*hunk
	uncopy           bool // reverse of a copy: delete newPath after checking it
	// oldOID and newOID are the blob ids of the diff's "index" line,
	// abbreviated as written; "" when it has none.
	oldOID, newOID string
}

// gitMode turns a git mode (0100644) into permission bits; 0 if absent.
func gitMode(m fs.FileMode) fs.FileMode { return m & 0o777 }

func (a *applier) prepare(patch string, f *gitdiff.File) (*fileOp, error) {
	name := f.NewName
	if name == "" {
		name = f.OldName
	}
	if f.IsBinary {
		return nil, &UnsupportedError{Patch: patch, File: name, Reason: "binary patch"}
	}
	for _, m := range []fs.FileMode{f.OldMode, f.NewMode} {
		switch m &^ 0o777 {
		case 0o120000:
			return nil, &UnsupportedError{Patch: patch, File: name, Reason: "symbolic link"}
		case 0o160000:
			return nil, &UnsupportedError{Patch: patch, File: name, Reason: "submodule"}
		}
	}
	// The modes on a git "index" line restate the mode; only a real mode
	// change (or a new file's mode) overrides what the tree has.
	op := &fileOp{oldName: f.OldName, newName: f.NewName, oldOID: f.OldOIDPrefix, newOID: f.NewOIDPrefix}
	if f.IsNew || f.OldMode != f.NewMode {
		op.newMode = gitMode(f.NewMode)
	}
	switch {
	case f.IsNew:
		op.op, op.oldName = OpCreate, ""
	case f.IsDelete:
		op.op, op.newName = OpDelete, ""
	case f.IsRename:
		op.op = OpRename
	case f.IsCopy:
		op.op = OpCopy
	default:
		op.op = OpModify
		if op.oldName == "" {
			op.oldName = op.newName
		}
		if op.newName == "" {
			op.newName = op.oldName
		}
	}
	if a.opts.Reverse {
		op.oldName, op.newName = op.newName, op.oldName
		op.newMode = 0
		if f.IsDelete || f.OldMode != f.NewMode {
			op.newMode = gitMode(f.OldMode)
		}
		switch op.op {
		case OpCreate:
			op.op = OpDelete
		case OpDelete:
			op.op = OpCreate
		case OpCopy:
			// Un-copying removes the copy; its hunks are checked against it.
			op.op, op.uncopy, op.newName = OpDelete, true, ""
		}
	}
	for i, frag := range f.TextFragments {
		op.hunks = append(op.hunks, newHunk(i+1, frag, a.opts.Reverse))
	}
	for _, p := range []struct {
		name string
		dst  *string
	}{{op.oldName, &op.oldPath}, {op.newName, &op.newPath}} {
		if p.name == "" {
			continue
		}
		resolved, reason := resolvePath(a.tree, p.name)
		if reason != "" {
			return nil, &PathError{Patch: patch, File: p.name, Reason: reason}
		}
		*p.dst = resolved
	}
	return op, nil
}

func (a *applier) applyPatch(p Patch) (rep PatchReport, errs []error, fatal error) {
	rep.ID, rep.Name = p.ID, p.Name
	for _, f := range p.Files {
		op, err := a.prepare(p.Name, f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		fr, err := a.applyFile(op)
		var nf *notFileError
		if errors.As(err, &nf) {
			fr.Status, fr.Conflict, err = StatusConflict, &Conflict{File: fr.Path, Reason: nf.Error()}, nil
		}
		if err != nil {
			return rep, errs, fmt.Errorf("%s: %w", p.Name, err)
		}
		if fr.Conflict != nil {
			fr.Conflict.Patch = p.Name
			errs = append(errs, fr.Conflict)
		}
		for i := range fr.Hunks {
			if c := fr.Hunks[i].Conflict; c != nil {
				c.Patch, c.File = p.Name, fr.Path
				errs = append(errs, c)
			}
		}
		rep.Files = append(rep.Files, fr)
	}
	return rep, errs, nil
}

// applyFile applies one file's diff to the overlay. Returned errors are
// tree read failures only; conflicts live in the report.
func (a *applier) applyFile(op *fileOp) (FileReport, error) {
	fr := FileReport{Op: op.op, Path: op.newName, OldPath: op.oldName}
	if op.op == OpDelete {
		fr.Path, fr.OldPath = op.oldName, ""
	}
	if op.op == OpModify {
		fr.OldPath = ""
	}
	var settled bool // the whole file's status is set: no hunk decides it
	var err error
	switch op.op {
	case OpCreate:
		settled, err = a.applyCreate(op, &fr)
	case OpDelete:
		return fr, a.applyDelete(op, &fr)
	case OpModify, OpRename, OpCopy:
		settled, err = a.applyChange(op, &fr)
	}
	if err == nil && !settled {
		fr.Status = worst(fr.Hunks)
	}
	return fr, err
}

// fileConflict marks the whole file as not applying, for reason.
func fileConflict(fr *FileReport, reason string) {
	fr.Status = StatusConflict
	fr.Conflict = &Conflict{File: fr.Path, Reason: reason}
}

// allAlready marks every hunk of the file as already in the tree.
func allAlready(op *fileOp, fr *FileReport) {
	fr.Status = StatusAlreadyApplied
	for _, h := range op.hunks {
		fr.Hunks = append(fr.Hunks, HunkReport{Index: h.index, OldStart: h.header, Status: StatusAlreadyApplied})
	}
}

// applyCreate makes a new file, or finds it made already.
func (a *applier) applyCreate(op *fileOp, fr *FileReport) (settled bool, err error) {
	cur, err := a.read(op.newPath)
	if err != nil {
		return false, err
	}
	lines, reps := patchLines(nil, op.hunks, a.facts(op.newPath, nil, op))
	if cur.exists {
		if bytes.Equal(cur.content, joinLines(lines)) {
			allAlready(op, fr)
		} else {
			fileConflict(fr, "file to be created already exists")
		}
		return true, nil
	}
	fr.Hunks = reps
	mode := op.newMode
	if mode == 0 {
		mode = 0o644
	}
	a.overlay[op.newPath] = &entry{exists: true, content: joinLines(lines), mode: mode}
	return false, nil
}

// applyDelete removes a file whose every line the patch removes; a file
// already gone is an applied deletion (but a copy to undo must exist).
func (a *applier) applyDelete(op *fileOp, fr *FileReport) error {
	cur, err := a.read(op.oldPath)
	if err != nil {
		return err
	}
	if !cur.exists {
		if op.uncopy {
			fileConflict(fr, "copy to be removed does not exist")
		} else {
			allAlready(op, fr)
		}
		return nil
	}
	lines, reps := patchLines(fileLines(cur.content), op.hunks, a.facts(op.oldPath, cur.content, op))
	fr.Hunks = reps
	if fr.Status = worst(reps); fr.Status == StatusConflict {
		return nil
	}
	if !op.uncopy && len(lines) > 0 {
		fileConflict(fr, fmt.Sprintf("file to be deleted has %d lines the patch does not remove", len(lines)))
		return nil
	}
	a.overlay[op.oldPath] = &entry{}
	return nil
}

// applyChange modifies, renames or copies a file, merging three-way when
// the hunks do not all apply directly.
func (a *applier) applyChange(op *fileOp, fr *FileReport) (settled bool, err error) {
	src := op.oldPath
	cur, err := a.read(src)
	if err != nil {
		return false, err
	}
	if !cur.exists && op.op == OpRename {
		// Renamed already? Then the hunks are checked against the target.
		if moved, err := a.read(op.newPath); err == nil && moved.exists {
			src, cur = op.newPath, moved
		}
	}
	if !cur.exists {
		fileConflict(fr, "file does not exist")
		return true, nil
	}
	if op.op != OpModify && src != op.newPath {
		dst, err := a.read(op.newPath)
		if err != nil {
			return false, err
		}
		if dst.exists {
			fileConflict(fr, fmt.Sprintf("%s target already exists", op.op))
			return true, nil
		}
	}
	lines, reps := patchLines(fileLines(cur.content), op.hunks, a.facts(src, cur.content, op))
	content := joinLines(lines)
	if worst(reps) == StatusConflict {
		merged, ok, why, err := a.merge3(op, cur.content)
		if err != nil {
			return false, err
		}
		content = mergedReports(reps, merged, ok, why, content)
	}
	fr.Hunks = reps
	a.record(op, src, cur, content)
	return false, nil
}

// record puts the changed file into the overlay under its new name (a
// rename empties the old one) and extends the file's diff history, which
// the three-way merge of later patches reads.
func (a *applier) record(op *fileOp, src string, cur *entry, content []byte) {
	mode := cur.mode
	if op.newMode != 0 {
		mode = op.newMode
	}
	next := &entry{exists: true, content: content, mode: mode, renamedFrom: cur.renamedFrom}
	switch {
	case op.op == OpRename && src != op.newPath:
		if next.renamedFrom == "" {
			next.renamedFrom = src
		}
		a.overlay[src] = &entry{}
	case op.op == OpCopy:
		next.renamedFrom = ""
	}
	a.overlay[op.newPath] = next
	a.history[op.newPath] = append(a.history[src], revision{oldOID: op.oldOID, newOID: op.newOID, hunks: op.hunks})
}

// mergedReports settles a file whose direct application left conflicts:
// after a clean three-way merge its conflicting hunks are merged and the
// merge is the content; otherwise the conflicts stand, saying why the
// merge did not help.
func mergedReports(reps []HunkReport, merged []byte, ok bool, why string, direct []byte) []byte {
	for i := range reps {
		r := &reps[i]
		if r.Status != StatusConflict {
			continue
		}
		switch {
		case ok:
			r.Status, r.Conflict, r.AppliedAt, r.Offset, r.Fuzz = StatusMerged, nil, 0, 0, 0
		case why != "" && r.Conflict != nil:
			r.Conflict.Reason += "; " + why
		}
	}
	if ok {
		return merged
	}
	return direct
}

// worst summarises hunk statuses for a file.
func worst(reps []HunkReport) Status {
	if len(reps) == 0 {
		return StatusExact
	}
	s, all := StatusExact, true
	for _, r := range reps {
		if r.Status != StatusAlreadyApplied {
			all = false
			if r.Status > s {
				s = r.Status
			}
		}
	}
	if all {
		return StatusAlreadyApplied
	}
	return s
}

// changes compares the overlay with the tree and keeps real differences.
func (a *applier) changes() (map[string]*Change, error) {
	out := map[string]*Change{}
	for path, e := range a.overlay {
		orig, err := a.readTree(path)
		if err != nil {
			return nil, err
		}
		switch {
		case !e.exists && !orig.exists:
			continue
		case !e.exists:
			out[path] = &Change{Path: path, Deleted: true}
		case orig.exists && bytes.Equal(orig.content, e.content) && orig.mode == e.mode:
			continue
		default:
			out[path] = &Change{Path: path, Content: e.content, Mode: e.mode, RenamedFrom: e.renamedFrom, Created: !orig.exists}
		}
	}
	return out, nil
}
