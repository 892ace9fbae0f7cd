package difftest

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// SplitLines splits b after each "\n"; a last line without one is kept.
func SplitLines(b []byte) []string {
	var out []string
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			out = append(out, string(b))
			break
		}
		out = append(out, string(b[:i+1]))
		b = b[i+1:]
	}
	return out
}

// FormatExact writes the -U0 diff that replaces the n lines of base
// starting at index at (0-based) with repl. Every line must end in "\n".
func FormatExact(path string, base []string, at, n int, repl []string) []byte {
	// Lines the replacement keeps as they are need not be in the diff.
	for n > 0 && len(repl) > 0 && base[at] == repl[0] {
		at, n, repl = at+1, n-1, repl[1:]
	}
	for n > 0 && len(repl) > 0 && base[at+n-1] == repl[len(repl)-1] {
		n, repl = n-1, repl[:len(repl)-1]
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "--- a/%s\n+++ b/%s\n", path, path)
	oldStart := at + 1
	if n == 0 {
		oldStart = at // -U0 names the line an insertion goes after
	}
	newStart := at + 1
	if len(repl) == 0 {
		newStart = at
	}
	fmt.Fprintf(&b, "@@ -%d,%d +%d,%d @@\n", oldStart, n, newStart, len(repl))
	for _, l := range base[at : at+n] {
		b.WriteString("-" + l)
	}
	for _, l := range repl {
		b.WriteString("+" + l)
	}
	return b.Bytes()
}

// ApplyExact applies a -U0 unified diff (as FormatExact writes) to base:
// every hunk at exactly the line its header names, its removed lines
// checked. It is the corpus's own statement of intent, not a locator.
func ApplyExact(base, diff []byte) ([]byte, error) {
	src := SplitLines(base)
	lines := SplitLines(diff)
	var out []string
	next := 0 // index in src of the first line not yet copied
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if !strings.HasPrefix(l, "@@ ") {
			if strings.HasPrefix(l, "--- ") || strings.HasPrefix(l, "+++ ") {
				continue
			}
			return nil, fmt.Errorf("line %d: want a hunk header, got %q", i+1, l)
		}
		oldStart, oldN, newN, err := hunkHeader(l)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		at := oldStart - 1
		if oldN == 0 {
			at = oldStart
		}
		if at < next || at+oldN > len(src) {
			return nil, fmt.Errorf("line %d: hunk at %d overlaps an earlier one or runs past the end (%d lines)", i+1, oldStart, len(src))
		}
		out = append(out, src[next:at]...)
		body := lines[i+1:]
		if len(body) < oldN+newN {
			return nil, fmt.Errorf("line %d: hunk is cut short", i+1)
		}
		for k := range oldN {
			if body[k] != "-"+src[at+k] {
				return nil, fmt.Errorf("line %d: removes %q but line %d is %q", i+2+k, body[k], at+k+1, src[at+k])
			}
		}
		for k := range newN {
			l := body[oldN+k]
			if !strings.HasPrefix(l, "+") {
				return nil, fmt.Errorf("line %d: want an added line, got %q", i+2+oldN+k, l)
			}
			out = append(out, l[1:])
		}
		next = at + oldN
		i += oldN + newN
	}
	out = append(out, src[next:]...)
	return []byte(strings.Join(out, "")), nil
}

// hunkHeader parses "@@ -a,b +c,d @@" (counts default to 1).
func hunkHeader(l string) (oldStart, oldN, newN int, err error) {
	f := strings.Fields(l)
	if len(f) < 4 || f[3] != "@@" || !strings.HasPrefix(f[1], "-") || !strings.HasPrefix(f[2], "+") {
		return 0, 0, 0, fmt.Errorf("bad hunk header %q", strings.TrimSpace(l))
	}
	rng := func(s string) (int, int, error) {
		a, b, ok := strings.Cut(s, ",")
		start, err := strconv.Atoi(a)
		if err != nil {
			return 0, 0, err
		}
		n := 1
		if ok {
			if n, err = strconv.Atoi(b); err != nil {
				return 0, 0, err
			}
		}
		return start, n, nil
	}
	if oldStart, oldN, err = rng(f[1][1:]); err != nil {
		return 0, 0, 0, fmt.Errorf("bad hunk header %q: %w", strings.TrimSpace(l), err)
	}
	if _, newN, err = rng(f[2][1:]); err != nil {
		return 0, 0, 0, fmt.Errorf("bad hunk header %q: %w", strings.TrimSpace(l), err)
	}
	return oldStart, oldN, newN, nil
}
