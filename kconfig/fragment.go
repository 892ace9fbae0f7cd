// Package kconfig holds ktest's kernel config fragments and merges them
// the way scripts/kconfig/merge_config.sh does, then verifies that every
// option a fragment asked for survived olddefconfig. A dropped option is
// reported with the fragment file and line that asked for it and the
// Kconfig dependency that was not met.
package kconfig

import (
	"bufio"
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

//go:embed fragments
var embedded embed.FS

// Assignment is one option a fragment requests. Value is "n" for
// "# CONFIG_X is not set".
type Assignment struct {
	Symbol string // without the CONFIG_ prefix
	Value  string
	File   string // where it was requested, for error messages
	Line   int
}

func (a Assignment) String() string {
	if a.Value == "n" {
		return "# CONFIG_" + a.Symbol + " is not set"
	}
	return "CONFIG_" + a.Symbol + "=" + a.Value
}

// Fragment is a parsed merge_config.sh style fragment.
type Fragment struct {
	Name        string // short name, e.g. "base" or a file name
	File        string // path shown in errors
	Assignments []Assignment
}

// SyntaxError is a fragment line that is neither an assignment, a
// "not set" comment, a comment nor blank.
type SyntaxError struct {
	File   string
	Line   int
	Text   string
	Reason string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s:%d: %s: %q", e.File, e.Line, e.Reason, e.Text)
}

var (
	assignRE = regexp.MustCompile(`^CONFIG_([A-Za-z0-9_]+)=(.*)$`)
	notSetRE = regexp.MustCompile(`^# CONFIG_([A-Za-z0-9_]+) is not set\s*$`)
	valueRE  = regexp.MustCompile(`^(y|m|n|-?[0-9]+|0x[0-9a-fA-F]+|"([^"\\]|\\.)*")$`)
)

// ParseFragment parses fragment data; file names it in errors.
func ParseFragment(file string, data []byte) (*Fragment, error) {
	f := &Fragment{Name: strings.TrimSuffix(path.Base(file), ".config"), File: file}
	if bytes.IndexByte(data, 0) >= 0 {
		return nil, &SyntaxError{File: file, Line: 1, Reason: "binary data, not a config fragment"}
	}
	seen := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), " \t\r")
		var a Assignment
		switch {
		case strings.TrimSpace(line) == "":
			continue
		case notSetRE.MatchString(line):
			a = Assignment{Symbol: notSetRE.FindStringSubmatch(line)[1], Value: "n"}
		case strings.HasPrefix(strings.TrimSpace(line), "#"):
			continue
		case assignRE.MatchString(line):
			m := assignRE.FindStringSubmatch(line)
			if !valueRE.MatchString(m[2]) {
				return nil, &SyntaxError{File: file, Line: n, Text: line,
					Reason: "value must be y, m, n, a number or a double-quoted string"}
			}
			a = Assignment{Symbol: m[1], Value: m[2]}
		default:
			return nil, &SyntaxError{File: file, Line: n, Text: line,
				Reason: `expected CONFIG_NAME=value or "# CONFIG_NAME is not set"`}
		}
		a.File, a.Line = file, n
		if prev, ok := seen[a.Symbol]; ok {
			return nil, &SyntaxError{File: file, Line: n, Text: line,
				Reason: fmt.Sprintf("CONFIG_%s already set on line %d", a.Symbol, prev)}
		}
		seen[a.Symbol] = n
		f.Assignments = append(f.Assignments, a)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", file, err)
	}
	return f, nil
}

// LoadFragment reads a user's fragment file.
func LoadFragment(file string) (*Fragment, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("config fragment: %w", err)
	}
	return ParseFragment(file, data)
}

// Builtin names the fragments shipped with ktest.
var Builtin = []string{"base", "debug", "lockdep", "kasan"}

// DefaultFragments are applied unless the user says otherwise.
var DefaultFragments = []string{"base", "debug"}

// Embedded returns a fragment shipped with ktest by name ("base", ...).
// Errors name the fragment as kconfig/fragments/NAME.config, which is
// where it lives in the source tree.
func Embedded(name string) (*Fragment, error) {
	p := "fragments/" + name + ".config"
	data, err := embedded.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("no built-in config fragment %q (have %s)", name, strings.Join(Builtin, ", "))
	}
	return ParseFragment("kconfig/"+p, data)
}

// Resolve turns a list of names or paths into fragments: a name of a
// built-in fragment, or a path to a file.
func Resolve(specs []string) ([]*Fragment, error) {
	var out []*Fragment
	for _, s := range specs {
		var f *Fragment
		var err error
		if strings.ContainsAny(s, "/.") {
			f, err = LoadFragment(s)
		} else {
			f, err = Embedded(s)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

// Quirk is a fragment that applies to a range of kernel versions,
// declared on its "# ktest-quirk: versions >= A < B" line.
type Quirk struct {
	*Fragment
	Min, Max Version // Min inclusive, Max exclusive; zero means unbounded
}

// Quirks returns the built-in quirk fragments that apply to version v.
func Quirks(v Version) ([]*Quirk, error) {
	all, err := allQuirks()
	if err != nil {
		return nil, err
	}
	var out []*Quirk
	for _, q := range all {
		if (q.Min.IsZero() || !v.Less(q.Min)) && (q.Max.IsZero() || v.Less(q.Max)) {
			out = append(out, q)
		}
	}
	return out, nil
}

// AllQuirks returns every built-in quirk fragment, whatever version it
// applies to, sorted by name: what a key must cover when the tree's
// version is not known yet.
func AllQuirks() ([]*Quirk, error) { return allQuirks() }

var quirkRE = regexp.MustCompile(`(?m)^# ktest-quirk: versions((?:\s*(?:>=|<)\s*[0-9.]+)+)\s*$`)
var boundRE = regexp.MustCompile(`(>=|<)\s*([0-9.]+)`)

func allQuirks() ([]*Quirk, error) {
	entries, err := fs.ReadDir(embedded, "fragments/quirks")
	if err != nil {
		return nil, err
	}
	var out []*Quirk
	for _, e := range entries {
		p := "fragments/quirks/" + e.Name()
		data, err := embedded.ReadFile(p)
		if err != nil {
			return nil, err
		}
		f, err := ParseFragment("kconfig/"+p, data)
		if err != nil {
			return nil, err
		}
		m := quirkRE.FindSubmatch(data)
		if m == nil {
			return nil, fmt.Errorf("kconfig/%s: missing \"# ktest-quirk: versions >= A < B\" line", p)
		}
		q := &Quirk{Fragment: f}
		for _, b := range boundRE.FindAllStringSubmatch(string(m[1]), -1) {
			v, err := ParseVersion(b[2])
			if err != nil {
				return nil, fmt.Errorf("kconfig/%s: %w", p, err)
			}
			if b[1] == ">=" {
				q.Min = v
			} else {
				q.Max = v
			}
		}
		out = append(out, q)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Version is a kernel version, e.g. 6.1.192.
type Version struct{ Major, Minor, Patch int }

func (v Version) IsZero() bool { return v == Version{} }
func (v Version) String() string {
	return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch)
}

// Less reports whether v sorts before w.
func (v Version) Less(w Version) bool {
	if v.Major != w.Major {
		return v.Major < w.Major
	}
	if v.Minor != w.Minor {
		return v.Minor < w.Minor
	}
	return v.Patch < w.Patch
}

// ParseVersion parses "5.8", "5.8.0" or "6.1.192".
func ParseVersion(s string) (Version, error) {
	parts := strings.Split(s, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return Version{}, fmt.Errorf("bad kernel version %q", s)
	}
	var n [3]int
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 {
			return Version{}, fmt.Errorf("bad kernel version %q", s)
		}
		n[i] = v
	}
	return Version{n[0], n[1], n[2]}, nil
}
