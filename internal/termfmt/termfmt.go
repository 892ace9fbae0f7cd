// Package termfmt fits ktest's text output to the reader's width: which
// width that is, and tables and paragraphs that keep to it. Every command
// that prints a table or prose goes through here, so the rule is in one
// place. JSON output is never fitted: it keeps the full text. It also
// holds the small text helpers every package shares, so each is written
// once: Clip (one cut marker, "…"), FirstLine and Plural.
package termfmt

import (
	"io"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/term"
)

// DefaultWidth is the width for output that goes to a pipe or a file
// with $COLUMNS unset: the width of a mail, where such output often ends.
const DefaultWidth = 80

// Width returns the number of columns output to w should fit: $COLUMNS
// when it is a positive number, else the width of the terminal w is, else
// DefaultWidth.
func Width(w io.Writer) int {
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 0 {
		return n
	}
	if f, ok := w.(*os.File); ok {
		if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 0 {
			return cols
		}
	}
	return DefaultWidth
}

// Len is the number of columns s takes: its runes (ktest prints no wide
// characters of its own; names in mail are counted by rune).
func Len(s string) int { return utf8.RuneCountInString(s) }

// Clip shortens s to at most n columns, marking the cut with "…".
func Clip(s string, n int) string {
	if Len(s) <= n {
		return s
	}
	if n <= 0 {
		return ""
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// ClipWords shortens prose to at most n columns before the marker,
// cutting at the last space when that keeps at least half, and marking
// the cut with " …": a reviewer's sentence quoted in a note.
func ClipWords(s string, n int) string {
	if Len(s) <= n {
		return s
	}
	r := []rune(s)
	cut := strings.LastIndexByte(string(r[:n]), ' ')
	if cut < 0 || Len(s[:cut]) < n/2 {
		return string(r[:n]) + " …"
	}
	return s[:cut] + " …"
}

// FirstLine is the first line of s once the space around s is trimmed:
// an error or a log excerpt cut to one line for a table, a subject or a
// message.
func FirstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// Plural is n and the noun, pluralised with "s" unless n is 1:
// "1 conflict", "0 hunks", "3 boots".
func Plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// ClipStart is Clip cutting the start instead, for paths whose end (the
// file name) says the most: "…/linux/pagemap.h".
func ClipStart(s string, n int) string {
	if Len(s) <= n {
		return s
	}
	if n <= 0 {
		return ""
	}
	r := []rune(s)
	tail := string(r[len(r)-(n-1):])
	// Cut at a directory boundary when that keeps most of the room.
	if i := strings.IndexByte(tail, '/'); i > 0 && Len(tail[i:]) >= (n-1)/2 {
		tail = tail[i:]
	}
	return "…" + tail
}

// Wrap breaks s at spaces into lines of at most width columns, the first
// starting with prefix and the others with indent; a word too long for a
// line is split. The lines are joined with "\n", without a final one.
// width <= 0 means no limit.
func Wrap(s string, width int, prefix, indent string) string {
	words := strings.Fields(s)
	if width <= 0 || len(words) == 0 {
		return prefix + strings.Join(words, " ")
	}
	var lines []string
	line, empty := prefix, true
	flush := func() { lines, line, empty = append(lines, line), indent, true }
	for _, w := range words {
		for w != "" {
			sep := 1
			if empty {
				sep = 0
			}
			room := width - Len(line) - sep
			switch {
			case Len(w) <= room:
				if !empty {
					line += " "
				}
				line, empty, w = line+w, false, ""
			case !empty:
				flush()
			default:
				// Alone on a line and still too long: split it.
				r := []rune(w)
				n := max(room, 1)
				line, w = line+string(r[:n]), string(r[n:])
				flush()
			}
		}
	}
	if !empty {
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}

// Column is one column of a Table.
type Column struct {
	Header string
	// Shrink is 0 for a column that keeps its width. Columns that may be
	// clipped to fit have Shrink 1, 2, ...: those with 1 give way first,
	// down to Min, before those with 2 are touched; within one level the
	// widest gives way first.
	Shrink int
	Min    int
	// ClipStart clips the start of a cell rather than its end.
	ClipStart bool
	// Right aligns the column to the right (numbers).
	Right bool
}

// Table is a text table whose columns are separated by two spaces and
// clipped to fit a width.
type Table struct {
	cols []Column
	rows [][]string
}

// NewTable returns an empty table with these columns.
func NewTable(cols ...Column) *Table { return &Table{cols: cols} }

// Row adds a row; missing cells are empty, extra ones are dropped.
func (t *Table) Row(cells ...string) {
	row := make([]string, len(t.cols))
	copy(row, cells)
	t.rows = append(t.rows, row)
}

// Widths returns the width of each column once fitted to width (<= 0:
// no limit).
func (t *Table) Widths(width int) []int {
	w := make([]int, len(t.cols))
	for i, c := range t.cols {
		w[i] = Len(c.Header)
		for _, r := range t.rows {
			w[i] = max(w[i], Len(r[i]))
		}
	}
	if width <= 0 {
		return w
	}
	total := 2 * (len(w) - 1)
	for _, n := range w {
		total += n
	}
	levels := map[int]bool{}
	for _, c := range t.cols {
		if c.Shrink > 0 {
			levels[c.Shrink] = true
		}
	}
	for level := 1; len(levels) > 0 && total > width; level++ {
		if !levels[level] {
			continue
		}
		delete(levels, level)
		for total > width {
			widest := -1
			for i, c := range t.cols {
				if c.Shrink == level && w[i] > max(c.Min, 1) && (widest < 0 || w[i] > w[widest]) {
					widest = i
				}
			}
			if widest < 0 {
				break
			}
			w[widest]--
			total--
		}
	}
	return w
}

// Write prints the table fitted to width (<= 0: no limit). A table that
// cannot fit even with every shrinkable column at its Min is printed at
// that size.
func (t *Table) Write(out io.Writer, width int) error {
	w := t.Widths(width)
	var b strings.Builder
	line := func(cells []string) {
		var l strings.Builder
		for i, c := range t.cols {
			cell := cells[i]
			if c.ClipStart {
				cell = ClipStart(cell, w[i])
			} else {
				cell = Clip(cell, w[i])
			}
			pad := strings.Repeat(" ", w[i]-Len(cell))
			if i > 0 {
				l.WriteString("  ")
			}
			if c.Right {
				l.WriteString(pad + cell)
			} else {
				l.WriteString(cell + pad)
			}
		}
		b.WriteString(strings.TrimRight(l.String(), " ") + "\n")
	}
	headers := make([]string, len(t.cols))
	for i, c := range t.cols {
		headers[i] = c.Header
	}
	line(headers)
	for _, r := range t.rows {
		line(r)
	}
	_, err := io.WriteString(out, b.String())
	return err
}
