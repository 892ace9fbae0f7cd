package kconfig

import (
	"bufio"
	"bytes"
	"fmt"
	"sort"
	"strings"
)

// Config is a parsed .config: symbol (without CONFIG_) to value, with
// "n" for "# CONFIG_X is not set". Symbols absent from the file are n
// as far as kconfig is concerned.
type Config map[string]string

// ParseConfig parses a .config file's contents.
func ParseConfig(data []byte) Config {
	c := Config{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if m := notSetRE.FindStringSubmatch(line); m != nil {
			c[m[1]] = "n"
		} else if m := assignRE.FindStringSubmatch(line); m != nil {
			c[m[1]] = m[2]
		}
	}
	return c
}

// Get returns the symbol's value, "n" when unset.
func (c Config) Get(sym string) string {
	if v, ok := c[sym]; ok {
		return v
	}
	return "n"
}

// Merge applies fragments, in order, on top of a base .config, as
// merge_config.sh does: an option set by a later fragment replaces the
// earlier line. It returns the new .config text and the effective
// requests (the last assignment of each symbol), in request order.
func Merge(base []byte, frags ...*Fragment) ([]byte, []Assignment) {
	final := map[string]Assignment{}
	var order []string
	for _, f := range frags {
		for _, a := range f.Assignments {
			if _, ok := final[a.Symbol]; !ok {
				order = append(order, a.Symbol)
			}
			final[a.Symbol] = a
		}
	}
	var out bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(base))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		sym := ""
		if m := notSetRE.FindStringSubmatch(line); m != nil {
			sym = m[1]
		} else if m := assignRE.FindStringSubmatch(line); m != nil {
			sym = m[1]
		}
		if _, overridden := final[sym]; sym != "" && overridden {
			continue
		}
		out.WriteString(line)
		out.WriteByte('\n')
	}
	reqs := make([]Assignment, 0, len(order))
	for _, s := range order {
		a := final[s]
		reqs = append(reqs, a)
		out.WriteString(a.String())
		out.WriteByte('\n')
	}
	return out.Bytes(), reqs
}

// Dropped is a requested option whose final value differs.
type Dropped struct {
	Assignment
	Got string // final value, "n" when not set
	// Why explains the unmet dependency, when the tree's Kconfig was
	// available to explain it.
	Why string
}

func (d Dropped) String() string {
	s := fmt.Sprintf("%s:%d: %s requested, but the final .config has %s",
		d.File, d.Line, d.Assignment, Assignment{Symbol: d.Symbol, Value: d.Got})
	if d.Why != "" {
		s += ": " + d.Why
	}
	return s
}

// VerifyError lists every requested option that did not survive.
type VerifyError struct{ Dropped []Dropped }

func (e *VerifyError) Error() string {
	lines := make([]string, len(e.Dropped))
	for i, d := range e.Dropped {
		lines[i] = "  " + d.String()
	}
	return fmt.Sprintf("%d requested config option(s) did not survive olddefconfig:\n%s",
		len(e.Dropped), strings.Join(lines, "\n"))
}

// Verify checks every request against the final config. explain, if
// not nil, is asked why a dropped option was dropped.
func Verify(final Config, reqs []Assignment, explain func(sym, want string) string) error {
	var dropped []Dropped
	for _, a := range reqs {
		got := final.Get(a.Symbol)
		if sameValue(got, a.Value) {
			continue
		}
		d := Dropped{Assignment: a, Got: got}
		if explain != nil {
			d.Why = explain(a.Symbol, a.Value)
		}
		dropped = append(dropped, d)
	}
	if len(dropped) == 0 {
		return nil
	}
	sort.SliceStable(dropped, func(i, j int) bool {
		if dropped[i].File != dropped[j].File {
			return dropped[i].File < dropped[j].File
		}
		return dropped[i].Line < dropped[j].Line
	})
	return &VerifyError{Dropped: dropped}
}

// sameValue compares kconfig values, treating hex case and an absent
// string as kconfig does.
func sameValue(got, want string) bool {
	if got == want {
		return true
	}
	return strings.EqualFold(got, want) && strings.HasPrefix(strings.ToLower(want), "0x")
}
