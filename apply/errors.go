package apply

import (
	"fmt"
	"strings"
)

// Conflict is a hunk (or a whole file) that does not apply. For a hunk it
// carries the nearest candidate region of the file, so a reader can see
// why: Expected is the patch's pre-image, Found the region of the file at
// NearestLine that best aligns with it (not necessarily as long). A
// file-level conflict (file missing, already exists, ...) has Hunk 0 and
// only Reason.
type Conflict struct {
	Patch  string `json:"patch"`
	File   string `json:"file"`
	Hunk   int    `json:"hunk"`   // 1-based; 0 for a file-level conflict
	Reason string `json:"reason"` // e.g. "hunk does not match", "file does not exist"

	OldStart    int      `json:"old_start,omitempty"`    // line the hunk header names
	NearestLine int      `json:"nearest_line,omitempty"` // 1-based start of the best candidate region, 0 if none
	Matched     int      `json:"matched"`                // lines of Expected found, in order, in Found
	Expected    []string `json:"expected,omitempty"`     // pre-image lines from the patch, without "\n"
	Found       []string `json:"found,omitempty"`        // the candidate region of the file, without "\n"
	// Candidates are the places the hunk fits when there are several, or
	// when the one place it fits is not to be trusted (Reason says why).
	Candidates []Candidate `json:"candidates,omitempty"`
}

func (c *Conflict) Error() string {
	if c.Hunk == 0 {
		return fmt.Sprintf("%s: %s: %s", c.Patch, c.File, c.Reason)
	}
	s := fmt.Sprintf("%s: %s: hunk #%d (line %d): %s", c.Patch, c.File, c.Hunk, c.OldStart, c.Reason)
	if len(c.Candidates) > 0 {
		return s + "; it fits at " + c.places()
	}
	if c.NearestLine > 0 {
		s += "; nearest candidate at line " + c.candidate()
	}
	return s
}

// candidate describes the nearest region: "40 (6 of 7 lines match)".
func (c *Conflict) candidate() string {
	if c.Matched == len(c.Expected) && len(c.Found) > c.Matched {
		extra, s := len(c.Found)-c.Matched, "s"
		if extra == 1 {
			s = ""
		}
		return fmt.Sprintf("%d (all %d lines, with %d other line%s between them)", c.NearestLine, c.Matched, extra, s)
	}
	return fmt.Sprintf("%d (%d of %d lines match)", c.NearestLine, c.Matched, len(c.Expected))
}

// places lists the candidates: "line 120 (fuzz 1), line 314 (exact),
// line 400 (its result, exact)".
func (c *Conflict) places() string {
	var parts []string
	for _, p := range c.Candidates {
		how := "exact"
		if p.Fuzz > 0 {
			how = fmt.Sprintf("fuzz %d", p.Fuzz)
		}
		if p.Post {
			how = "its result, " + how
		}
		parts = append(parts, fmt.Sprintf("line %d (%s)", p.Line, how))
	}
	return strings.Join(parts, ", ")
}

// Excerpt renders Expected against Found as a line diff: "  " lines
// both have, "- " a line the patch expects that the tree lacks there,
// "+ " a line the tree has instead.
func (c *Conflict) Excerpt() string {
	if c.Hunk == 0 || len(c.Expected) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s hunk #%d: ", c.File, c.Hunk)
	if c.Reason != "hunk does not match" {
		b.WriteString(c.Reason)
		if len(c.Candidates) > 0 {
			b.WriteString("; it fits at " + c.places())
		}
		b.WriteString("; ")
	}
	if c.NearestLine > 0 {
		fmt.Fprintf(&b, "expected at line %d, nearest candidate at line %s\n", c.OldStart, c.candidate())
	} else {
		fmt.Fprintf(&b, "expected at line %d; no distinctive line of it occurs in the file\n", c.OldStart)
	}
	b.WriteString("  (- expected by the patch, + found in the tree)\n")
	i, j := 0, 0
	emit := func(ii, jj int) {
		for ; i < ii; i++ {
			fmt.Fprintf(&b, "- %s\n", c.Expected[i])
		}
		for ; j < jj; j++ {
			fmt.Fprintf(&b, "+ %s\n", c.Found[j])
		}
	}
	for _, p := range align(c.Expected, c.Found) {
		emit(p[0], p[1])
		fmt.Fprintf(&b, "  %s\n", c.Expected[i])
		i, j = i+1, j+1
	}
	emit(len(c.Expected), len(c.Found))
	return b.String()
}

// PathError is a path in a diff that ktest refuses to touch: absolute,
// with a ".." or ".git" component, or leaving the tree through a symlink.
// It is bad input, not a conflict.
type PathError struct {
	Patch  string
	File   string // the name as written in the diff
	Reason string
}

func (e *PathError) Error() string {
	return fmt.Sprintf("%s: %q: unsafe path: %s", e.Patch, e.File, e.Reason)
}

// UnsupportedError is a change the engine cannot apply at all, such as a
// binary patch or a symlink; bad input rather than a conflict.
type UnsupportedError struct {
	Patch  string
	File   string
	Reason string
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("%s: %s: cannot apply: %s", e.Patch, e.File, e.Reason)
}
