package difftest

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
)

// Kind is a way the base can differ from the tree the patch was made on.
type Kind struct {
	Name  string
	Want  Want
	Title string // what the base is, for the table
}

// Kinds, in the order of the table: every drift issue 18 names, and the
// real case it started from.
var Kinds = []Kind{
	{"clean", WantApply, "base as the patch expects"},
	{"shifted", WantApply, "lines added or removed above the site"},
	{"outer-context", WantApply, "outermost context line changed"},
	{"inner-context", WantApply, "context line next to the change changed"},
	{"rewritten", WantConflict, "region rewritten; a removed line occurs elsewhere"},
	{"reworded", WantConflict, "removed lines reworded in the tree"},
	{"applied", WantUnchanged, "already applied"},
	{"applied-drifted", WantUnchanged, "already applied, then drifted"},
	{"applied-evolved", WantUnchangedOrRefuse, "already applied, added lines since modified"},
	{"twin-functions", WantApplyOrRefuse, "site needs fuzz 1; exact pre-image in a twin function"},
	{"duplicate-region", WantApplyOrRefuse, "region duplicated nearer the expected line"},
	{"renamed-function", WantApply, "enclosing function renamed, plus an offset"},
	{"trivial-context", WantConflict, "insertion whose remaining context is blank lines and braces"},
	{"seed-003", WantConflict, "seed 003 hunk 8 on 6.1 fs/direct-io.c"},
}

// KindByName returns the kind called name, or nil.
func KindByName(name string) *Kind {
	for i := range Kinds {
		if Kinds[i].Name == name {
			return &Kinds[i]
		}
	}
	return nil
}

// Outcome is what one tool did with a case.
type Outcome struct {
	Applied bool   // the tool reported success
	Content []byte // the file afterwards (the base if it did not touch it)
	Message string // what it said (stderr, error), for refusals
}

// Verdict scores an Outcome.
type Verdict int

const (
	Right   Verdict = iota // the intended result, or the refusal the case calls for
	Refused                // a refusal where a change was intended: safe, not helpful
	Wrong                  // success with anything but the intended result
)

func (v Verdict) String() string {
	return [...]string{"right", "refused", "wrong"}[v]
}

// alreadyApplied is how the tools word a refusal of a change that is
// already there: GNU patch "Reversed (or previously applied) patch
// detected", ktest "already applied".
var alreadyApplied = regexp.MustCompile(`(?i)already applied|previously applied|reversed`)

// Score judges o for c. intended is c.Intended() (nil unless c wants a
// change).
func Score(c *Case, intended []byte, o Outcome) Verdict {
	switch c.Want {
	case WantApply, WantApplyOrRefuse:
		switch {
		case o.Applied && bytes.Equal(o.Content, intended):
			return Right
		case o.Applied:
			return Wrong
		case c.Want == WantApplyOrRefuse:
			return Right
		}
		return Refused
	case WantConflict:
		if o.Applied {
			return Wrong
		}
		return Right
	case WantUnchanged, WantUnchangedOrRefuse:
		switch {
		case o.Applied && bytes.Equal(o.Content, c.Base):
			return Right
		case o.Applied:
			return Wrong
		case c.Want == WantUnchangedOrRefuse || alreadyApplied.MatchString(o.Message):
			return Right
		}
		return Refused
	}
	panic("difftest: unknown want " + string(c.Want))
}

// Table counts verdicts per kind and tool.
type Table struct {
	Tools  []string
	counts map[string]map[string]*[3]int // kind -> tool -> verdicts
	cases  map[string]int                // kind -> cases
}

// NewTable makes a table with columns for tools, in that order.
func NewTable(tools ...string) *Table {
	return &Table{Tools: tools, counts: map[string]map[string]*[3]int{}, cases: map[string]int{}}
}

// AddCase counts a case of kind; call it once per case.
func (t *Table) AddCase(kind string) { t.cases[kind]++ }

// Add records tool's verdict on a case of kind.
func (t *Table) Add(kind, tool string, v Verdict) {
	if t.counts[kind] == nil {
		t.counts[kind] = map[string]*[3]int{}
	}
	if t.counts[kind][tool] == nil {
		t.counts[kind][tool] = &[3]int{}
	}
	t.counts[kind][tool][v]++
}

// Count is how many cases of kind ("" for all) tool got verdict v.
func (t *Table) Count(kind, tool string, v Verdict) int {
	n := 0
	for k, byTool := range t.counts {
		if kind == "" || k == kind {
			if c := byTool[tool]; c != nil {
				n += c[v]
			}
		}
	}
	return n
}

// Cases is how many cases of kind ("" for all) were counted.
func (t *Table) Cases(kind string) int {
	if kind != "" {
		return t.cases[kind]
	}
	n := 0
	for _, c := range t.cases {
		n += c
	}
	return n
}

// Markdown renders the table: one row per kind (in Kinds order) and a
// total, and per tool its right, refused and wrong counts.
func (t *Table) Markdown() string {
	var b strings.Builder
	b.WriteString("| kind | right answer | cases |")
	for _, tool := range t.Tools {
		fmt.Fprintf(&b, " %s right / refused / **wrong** |", tool)
	}
	b.WriteString("\n|---|---|--:|")
	for range t.Tools {
		b.WriteString("--:|")
	}
	b.WriteString("\n")
	row := func(label, want, kind string) {
		fmt.Fprintf(&b, "| %s | %s | %d |", label, want, t.Cases(kind))
		for _, tool := range t.Tools {
			fmt.Fprintf(&b, " %d / %d / **%d** |", t.Count(kind, tool, Right), t.Count(kind, tool, Refused), t.Count(kind, tool, Wrong))
		}
		b.WriteString("\n")
	}
	for _, k := range Kinds {
		if t.cases[k.Name] > 0 {
			row(k.Name+": "+k.Title, string(k.Want), k.Name)
		}
	}
	row("**total**", "", "")
	return b.String()
}
