package apply

import (
	"errors"
	"fmt"
	"strings"
)

// ReportSchema identifies the document `ktest apply --json` prints.
const ReportSchema = "ktest.apply/v1"

// Report is the ktest.apply/v1 document, stable within v1 (fields may be
// added, never renamed):
//
//	{
//	  "schema":  "ktest.apply/v1",
//	  "series":  {"source": string, "title": string, "version": int, "base_commit": string (omitted if none)},
//	  "tree":    string,                 // directory the series was applied to
//	  "read":    string,                 // what of the tree was read: "the working tree: HEAD 1a2b… + 1 uncommitted change"
//	  "base_commit": string,             // where the series' base-commit stands relative to HEAD (omitted without one)
//	  "options": {"reverse": bool, "with_fixups": bool, "max_fuzz": int, "three_way": bool},
//	  "ok":      bool,                   // every hunk applied or was already applied
//	  "counts":  {"exact": int, "offset": int, "fuzz": int, "merged-3way": int, "already-applied": int, "conflict": int},  // hunks
//	  "file_conflicts": int,             // files that failed as a whole (missing, already exists, ...)
//	  "conflicts": int,                  // counts.conflict + file_conflicts: the one number of conflicts
//	  "in_tree": [string],               // ids of the patches every hunk of which was already applied
//	  "patches": [{
//	      "id": string, "name": string, "source": string, "line": int,
//	      "files": [{
//	          "path": string, "old_path": string, "op": "modify"|"create"|"delete"|"rename"|"copy",
//	          "status": status, "conflict": conflict (omitted if none; file-level: hunk 0),
//	          "hunks": [{"index": int, "old_start": int, "status": status,
//	                     "applied_at": int (0 for conflicts), "offset": int, "fuzz": int,
//	                     "conflict": conflict (omitted unless status is conflict)}]
//	      }]
//	  }],
//	  "changes": [{"path": string, "mode": "0644" ("" if deleted), "deleted": bool, "created": bool,
//	               "renamed_from": string (omitted if none), "size": int}],   // sorted by path
//	  "errors":  [{"kind": "conflict"|"unsafe-path"|"unsupported"|"error", "message": string}],
//	  "written": {"mode": "dry-run"|"worktree"|"in-place"|"none", "dir": string, "git_head": string}
//	}
//	status   = "exact"|"offset"|"fuzz"|"merged-3way"|"already-applied"|"conflict"
//	conflict = {"patch", "file", "hunk", "reason", "old_start", "nearest_line", "matched",
//	            "expected": [string], "found": [string],   // lines without "\n"
//	            "candidates": [{"line": int, "fuzz": int, "post": bool}]}  // places it fits, when they are the reason
//
// "written.mode" is "none" when the series did not apply.
type Report struct {
	Schema     string         `json:"schema"`
	Series     ReportSeries   `json:"series"`
	Tree       string         `json:"tree"`
	Read       string         `json:"read"`
	BaseCommit string         `json:"base_commit,omitempty"`
	Options    ReportOptions  `json:"options"`
	OK         bool           `json:"ok"`
	Counts     map[string]int `json:"counts"`
	// FileConflicts are file-level conflicts, which have no hunk to
	// count; Conflicts is every conflict, hunk or file, as the summary
	// and the exit message count them.
	FileConflicts int            `json:"file_conflicts"`
	Conflicts     int            `json:"conflicts"`
	InTree        []string       `json:"in_tree"`
	Patches       []ReportPatch  `json:"patches"`
	Changes       []ReportChange `json:"changes"`
	Errors        []ReportError  `json:"errors"`
	Written       ReportWritten  `json:"written"`
}

// ReportSeries names the series applied.
type ReportSeries struct {
	Source  string `json:"source"`
	Title   string `json:"title"`
	Version int    `json:"version"`
	// BaseCommit is the series' base-commit, as it gives it.
	BaseCommit string `json:"base_commit,omitempty"`
}

// ReportOptions are how it was applied.
type ReportOptions struct {
	Reverse    bool `json:"reverse"`
	WithFixups bool `json:"with_fixups"`
	MaxFuzz    int  `json:"max_fuzz"`
	// ThreeWay is whether a file that did not apply could be merged
	// three-way (a git tree, and not --no-3way).
	ThreeWay bool `json:"three_way"`
}

// ReportPatch is one patch's report with where the patch came from.
type ReportPatch struct {
	ID     string       `json:"id"`
	Name   string       `json:"name"`
	Source string       `json:"source"`
	Line   int          `json:"line"`
	Files  []FileReport `json:"files"`
}

// ReportChange is one changed path.
type ReportChange struct {
	Path        string `json:"path"`
	Mode        string `json:"mode"`
	Deleted     bool   `json:"deleted"`
	Created     bool   `json:"created"`
	RenamedFrom string `json:"renamed_from,omitempty"`
	Size        int    `json:"size"`
}

// ReportError is one error, kind first.
type ReportError struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
}

// ReportWritten says what was written where.
type ReportWritten struct {
	Mode    string `json:"mode"`
	Dir     string `json:"dir,omitempty"`
	GitHead string `json:"git_head,omitempty"`
}

// Origin is where a patch came from, by the Index of ApplySeries.
type Origin struct {
	Source string
	Line   int
}

// NewReport is the v1 report of an ApplySeries call: res and err are
// its results, origins the patches' origins by index.
func NewReport(res *Result, err error, series ReportSeries, tree string, opts ReportOptions, origins []Origin, written ReportWritten) *Report {
	doc := &Report{
		Schema: ReportSchema, Series: series, Tree: tree, Options: opts, OK: err == nil,
		Counts: map[string]int{}, InTree: []string{}, Patches: []ReportPatch{}, Changes: []ReportChange{}, Errors: []ReportError{},
		Written: written,
	}
	for _, st := range Statuses {
		doc.Counts[st.String()] = 0
	}
	if res != nil {
		for st, n := range res.Count() {
			doc.Counts[st.String()] = n
		}
		if ids, _ := res.InTree(); ids != nil {
			doc.InTree = ids
		}
		for _, pr := range res.Patches {
			pj := ReportPatch{ID: pr.ID, Name: pr.Name, Files: pr.Files}
			if pj.Files == nil {
				pj.Files = []FileReport{}
			}
			if pr.Index < len(origins) {
				pj.Source, pj.Line = origins[pr.Index].Source, origins[pr.Index].Line
			}
			for _, fr := range pr.Files {
				if fr.Conflict != nil {
					doc.FileConflicts++
				}
			}
			doc.Patches = append(doc.Patches, pj)
		}
		for _, c := range res.SortedChanges() {
			cj := ReportChange{Path: c.Path, Deleted: c.Deleted, Created: c.Created, RenamedFrom: c.RenamedFrom, Size: len(c.Content)}
			if !c.Deleted {
				cj.Mode = fmt.Sprintf("%04o", uint32(c.Mode.Perm()))
			}
			doc.Changes = append(doc.Changes, cj)
		}
	}
	doc.Conflicts = doc.Counts[StatusConflict.String()] + doc.FileConflicts
	for _, e := range flatten(err) {
		kind := "error"
		var (
			c  *Conflict
			pe *PathError
			ue *UnsupportedError
		)
		switch {
		case errors.As(e, &c):
			kind = "conflict"
		case errors.As(e, &pe):
			kind = "unsafe-path"
		case errors.As(e, &ue):
			kind = "unsupported"
		}
		doc.Errors = append(doc.Errors, ReportError{Kind: kind, Message: e.Error()})
	}
	return doc
}

func flatten(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

// PatchStatus is a patch's apply outcome in one word, the worst of its
// hunks'. The strings are what results.json and every report show.
type PatchStatus string

const (
	PatchApplied           PatchStatus = "applied"             // every hunk where the diff says
	PatchAppliedWithOffset PatchStatus = "applied-with-offset" // some hunk at another line
	PatchAppliedWithFuzz   PatchStatus = "applied-with-fuzz"   // some hunk with context lines ignored
	PatchMerged3Way        PatchStatus = "merged-3way"         // some file merged three-way
	PatchAlreadyApplied    PatchStatus = "already-applied"     // every hunk was already in the tree
	PatchConflict          PatchStatus = "conflict"            // some hunk or file did not apply
	// PatchInTree is never an outcome of applying: a run records it for
	// the patches of a series its tree already holds, which it does not
	// apply.
	PatchInTree PatchStatus = "in-tree"
)

// PatchOutcome is one patch's fate in a few numbers: what a run records
// per patch and the per-patch table shows.
type PatchOutcome struct {
	Status                      PatchStatus
	Hunks, Offset, Fuzz, Failed int
	// Detail holds the conflicts, one per line.
	Detail string
}

// Outcome summarises the patch's report.
func (r PatchReport) Outcome() PatchOutcome {
	o := PatchOutcome{Status: PatchApplied}
	var details []string
	already, merged := 0, 0
	for _, f := range r.Files {
		if f.Conflict != nil {
			o.Failed++
			details = append(details, f.Conflict.Error())
		}
		for _, h := range f.Hunks {
			o.Hunks++
			switch h.Status {
			case StatusOffset:
				o.Offset++
			case StatusFuzz:
				o.Fuzz++
			case StatusMerged:
				merged++
			case StatusAlreadyApplied:
				already++
			case StatusConflict:
				o.Failed++
				if h.Conflict != nil {
					details = append(details, h.Conflict.Error())
				}
			}
		}
	}
	switch {
	case o.Failed > 0:
		o.Status = PatchConflict
	case o.Hunks > 0 && already == o.Hunks:
		o.Status = PatchAlreadyApplied
	case merged > 0:
		o.Status = PatchMerged3Way
	case o.Fuzz > 0:
		o.Status = PatchAppliedWithFuzz
	case o.Offset > 0:
		o.Status = PatchAppliedWithOffset
	}
	o.Detail = strings.Join(details, "\n")
	return o
}

// InTree says which patches of a result are already in the tree, every
// hunk of them found applied: "all 12 patches are already in the tree",
// "03/12 and 05/12 are already in the tree", or "" when none is.
func (r *Result) InTree() (ids []string, all bool) {
	for _, p := range r.Patches {
		if p.Outcome().Status == PatchAlreadyApplied {
			ids = append(ids, p.ID)
		}
	}
	return ids, len(ids) > 0 && len(ids) == len(r.Patches)
}

// InTreeError is a series whose every patch is already in the tree:
// applied, it changes nothing, so a kernel "with the series" would be
// the tree itself, and testing it would say nothing about the series.
type InTreeError struct {
	Series  string
	Patches int
}

func (e *InTreeError) Error() string {
	return fmt.Sprintf("%s: all %d patches are already in the tree (every hunk found applied): a kernel with the series would be the tree itself; test a tree without it", e.Series, e.Patches)
}
