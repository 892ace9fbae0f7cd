// Package difftest is the corpus of the differential apply suite: cases
// generated from real kernel sources (see gen/), each a base file, a
// patch and the right answer, and the rule that scores what a tool did
// with them as right, refused or wrong.
//
// A case is a txtar archive. Its comment holds "key: value" lines (kind,
// want, why, source, diff); its files are the base (named by its path in
// the tree), "patch" (the diff, as git writes it) and, when the right
// answer is a change, "want.diff": the intended result as a -U0 diff
// against the base, applied at its exact lines by Intended, so the
// corpus stays small and the intent is readable.
package difftest

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Want is the right answer of a case.
type Want string

const (
	// WantApply: the change, at its true place. A refusal is safe but
	// not right.
	WantApply Want = "apply"
	// WantApplyOrRefuse: the change at its true place, or a refusal; the
	// tree holds a second candidate that only the @@ heading (or nothing)
	// tells apart, so refusing is as right as applying.
	WantApplyOrRefuse Want = "apply-or-refuse"
	// WantConflict: no right place exists; only a refusal is right.
	WantConflict Want = "conflict"
	// WantUnchanged: the change is already there. Success leaving the
	// base as it is, or a refusal saying "already applied" (or
	// "reversed"), is right; another refusal is safe but not right.
	WantUnchanged Want = "unchanged"
	// WantUnchangedOrRefuse: the change is there in a later, modified
	// form; leaving the base unchanged and any refusal are right.
	WantUnchangedOrRefuse Want = "unchanged-or-refuse"
)

var wants = []Want{WantApply, WantApplyOrRefuse, WantConflict, WantUnchanged, WantUnchangedOrRefuse}

// Case is one differential case.
type Case struct {
	Name   string // file name without ".txtar"
	Kind   string // one of Kinds' names
	Want   Want
	Why    string // how the base drifted, in a sentence
	Source string // where the base was cut from
	Diff   string // how the patch was made
	Path   string // the base's path in the tree, as the patch names it
	Base   []byte
	Patch  []byte
	// WantDiff is the intended result as a diff against Base (-U0),
	// present exactly when Want is WantApply or WantApplyOrRefuse.
	WantDiff []byte
}

const (
	patchFile = "patch"
	wantFile  = "want.diff"
)

// Marshal renders c as a txtar archive.
func (c *Case) Marshal() ([]byte, error) {
	var comment bytes.Buffer
	for _, kv := range [][2]string{{"kind", c.Kind}, {"want", string(c.Want)}, {"why", c.Why}, {"source", c.Source}, {"diff", c.Diff}} {
		if strings.Contains(kv[1], "\n") {
			return nil, fmt.Errorf("case %s: %s spans lines", c.Name, kv[0])
		}
		fmt.Fprintf(&comment, "%s: %s\n", kv[0], kv[1])
	}
	files := []archiveFile{{c.Path, c.Base}, {patchFile, c.Patch}}
	if len(c.WantDiff) > 0 {
		files = append(files, archiveFile{wantFile, c.WantDiff})
	}
	b, err := formatArchive(comment.Bytes(), files)
	if err != nil {
		return nil, fmt.Errorf("case %s: %w", c.Name, err)
	}
	return b, nil
}

// Parse reads a case archive; name is used in errors and as Case.Name.
func Parse(name string, data []byte) (*Case, error) {
	comment, files := parseArchive(data)
	c := &Case{Name: name}
	for i, line := range strings.Split(strings.TrimSuffix(string(comment), "\n"), "\n") {
		k, v, ok := strings.Cut(line, ": ")
		if !ok {
			return nil, fmt.Errorf("%s:%d: want \"key: value\", got %q", name, i+1, line)
		}
		switch k {
		case "kind":
			c.Kind = v
		case "want":
			c.Want = Want(v)
		case "why":
			c.Why = v
		case "source":
			c.Source = v
		case "diff":
			c.Diff = v
		default:
			return nil, fmt.Errorf("%s:%d: unknown key %q", name, i+1, k)
		}
	}
	for _, f := range files {
		switch f.name {
		case patchFile:
			c.Patch = f.data
		case wantFile:
			c.WantDiff = f.data
		default:
			if c.Path != "" {
				return nil, fmt.Errorf("%s: two base files, %s and %s", name, c.Path, f.name)
			}
			c.Path, c.Base = f.name, f.data
		}
	}
	switch {
	case !slices.Contains(wants, c.Want):
		return nil, fmt.Errorf("%s: want %q is not one of %v", name, c.Want, wants)
	case KindByName(c.Kind) == nil:
		return nil, fmt.Errorf("%s: unknown kind %q", name, c.Kind)
	case c.Path == "" || len(c.Patch) == 0:
		return nil, fmt.Errorf("%s: needs a base file and a patch", name)
	case c.changes() != (len(c.WantDiff) > 0):
		return nil, fmt.Errorf("%s: want %s with%s a %s", name, c.Want, map[bool]string{true: "", false: "out"}[len(c.WantDiff) > 0], wantFile)
	}
	return c, nil
}

// changes reports whether the right answer includes changing the base.
func (c *Case) changes() bool { return c.Want == WantApply || c.Want == WantApplyOrRefuse }

// Intended is the right result for a case whose answer is a change.
func (c *Case) Intended() ([]byte, error) {
	if !c.changes() {
		return nil, fmt.Errorf("%s: want %s has no intended content", c.Name, c.Want)
	}
	out, err := ApplyExact(c.Base, c.WantDiff)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", c.Name, wantFile, err)
	}
	return out, nil
}

// Load reads every *.txtar in dir, in name order.
func Load(dir string) ([]*Case, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.txtar"))
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no *.txtar cases in %s", dir)
	}
	var cases []*Case
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			return nil, err
		}
		c, err := Parse(strings.TrimSuffix(filepath.Base(n), ".txtar"), b)
		if err != nil {
			return nil, err
		}
		if c.changes() {
			if _, err := c.Intended(); err != nil {
				return nil, err
			}
		}
		cases = append(cases, c)
	}
	return cases, nil
}
