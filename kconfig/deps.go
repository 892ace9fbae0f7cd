package kconfig

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Deps is what ktest knows of a tree's Kconfig language: for each
// symbol, the dependency clauses of each definition, whether it has a
// prompt, and who selects it. It is enough to explain why olddefconfig
// dropped an option; it is not a full Kconfig implementation.
type Deps struct {
	defs    map[string][]*symbolDef
	selects map[string][]selectBy
}

type symbolDef struct {
	file    string
	line    int
	prompt  bool
	clauses []clause // all must hold for the symbol to be settable
	typ     string
}

type clause struct {
	expr   string
	origin string // "depends on" or e.g. `if BLOCK (fs/Kconfig:12)`
}

type selectBy struct {
	by, cond string
}

type frame struct {
	clauses []clause
}

// ScanDeps reads srctree's Kconfig files, starting at srctree/Kconfig
// and following source statements for arch.
func ScanDeps(srctree, arch string) (*Deps, error) {
	d := &Deps{defs: map[string][]*symbolDef{}, selects: map[string][]selectBy{}}
	s := &scanner{d: d, root: srctree, arch: arch, seen: map[string]bool{}}
	if err := s.file("Kconfig", nil); err != nil {
		return nil, err
	}
	return d, nil
}

type scanner struct {
	d    *Deps
	root string
	arch string
	seen map[string]bool
}

var (
	sourceRE = regexp.MustCompile(`^\s*(o?r?source)\s+"([^"]+)"`)
	configRE = regexp.MustCompile(`^(?:menu)?config\s+([A-Za-z0-9_]+)\s*$`)
	typeRE   = regexp.MustCompile(`^(bool|tristate|string|int|hex|prompt)(\s+"[^"]*")?`)
	defRE    = regexp.MustCompile(`^def_(bool|tristate)\b`)
	selectRE = regexp.MustCompile(`^(?:select|imply)\s+([A-Za-z0-9_]+)(?:\s+if\s+(.*))?$`)
)

// file scans one Kconfig file. stack holds the clauses of enclosing
// if/menu/choice blocks, which apply to every symbol inside.
func (s *scanner) file(rel string, stack []frame) error {
	rel = strings.NewReplacer("$(SRCARCH)", s.arch, "$SRCARCH", s.arch, "$(ARCH)", s.arch).Replace(rel)
	full := filepath.Join(s.root, rel)
	if s.seen[full] {
		return nil
	}
	s.seen[full] = true
	f, err := os.Open(full)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }() // read-only: a close error loses nothing

	var (
		cur       *symbolDef // entry whose attributes we are reading
		curSym    string     // cur's symbol
		curFrame  *frame     // menu/choice whose "depends on" we are reading
		helpLevel = -1       // indentation of help text being skipped
		lineNo    int
		pending   string
	)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		lineNo++
		raw := sc.Text()
		if strings.HasSuffix(raw, "\\") {
			pending += strings.TrimSuffix(raw, "\\") + " "
			continue
		}
		raw, pending = pending+raw, ""
		trimmed := strings.TrimSpace(raw)
		indent := len(raw) - len(strings.TrimLeft(raw, " \t"))
		if helpLevel >= 0 {
			if trimmed == "" {
				continue
			}
			if helpLevel == 0 {
				helpLevel = indent
			}
			if indent >= helpLevel && indent > 0 {
				continue
			}
			helpLevel = -1
		}
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if i := strings.Index(trimmed, " #"); i > 0 && !strings.Contains(trimmed[:i], `"`) {
			trimmed = strings.TrimSpace(trimmed[:i])
		}
		origin := fmt.Sprintf("%s:%d", rel, lineNo)
		switch {
		case sourceRE.MatchString(trimmed):
			m := sourceRE.FindStringSubmatch(trimmed)
			target := m[2]
			if m[1] == "rsource" || m[1] == "orsource" {
				target = filepath.Join(filepath.Dir(rel), target)
			}
			err := s.file(target, stack)
			if err != nil && !(strings.HasPrefix(m[1], "o") && os.IsNotExist(err)) {
				if os.IsNotExist(err) {
					continue // Kconfig of a tree variant we do not model
				}
				return err
			}
			cur, curFrame = nil, nil
		case configRE.MatchString(trimmed):
			sym := configRE.FindStringSubmatch(trimmed)[1]
			def := &symbolDef{file: rel, line: lineNo}
			for _, fr := range stack {
				def.clauses = append(def.clauses, fr.clauses...)
			}
			s.d.defs[sym] = append(s.d.defs[sym], def)
			cur, curSym, curFrame = def, sym, nil
		case strings.HasPrefix(trimmed, "menu ") || trimmed == "choice" || strings.HasPrefix(trimmed, "choice "):
			stack = append(stack, frame{})
			curFrame, cur = &stack[len(stack)-1], nil
		case strings.HasPrefix(trimmed, "if "):
			expr := strings.Join(strings.Fields(strings.TrimPrefix(trimmed, "if ")), " ")
			stack = append(stack, frame{clauses: []clause{{expr: expr, origin: "inside \"if " + expr + "\" at " + origin}}})
			cur, curFrame = nil, nil
		case trimmed == "endif" || trimmed == "endmenu" || trimmed == "endchoice":
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			cur, curFrame = nil, nil
		case strings.HasPrefix(trimmed, "comment ") || strings.HasPrefix(trimmed, "mainmenu "):
			cur, curFrame = nil, nil
		case trimmed == "help" || trimmed == "---help---":
			helpLevel = 0
		case strings.HasPrefix(trimmed, "depends on "):
			expr := strings.Join(strings.Fields(strings.TrimPrefix(trimmed, "depends on ")), " ")
			if cur != nil {
				cur.clauses = append(cur.clauses, clause{expr: expr, origin: "depends on"})
			} else if curFrame != nil {
				// A menu's or choice's dependency; curFrame points into stack.
				curFrame.clauses = append(curFrame.clauses, clause{expr: expr, origin: "inside a menu that depends on " + expr + " at " + origin})
			}
		case cur != nil && typeRE.MatchString(trimmed):
			m := typeRE.FindStringSubmatch(trimmed)
			if m[1] != "prompt" {
				cur.typ = m[1]
			}
			if m[2] != "" {
				cur.prompt = true
			}
		case cur != nil && defRE.MatchString(trimmed):
			cur.typ = defRE.FindStringSubmatch(trimmed)[1]
		case cur != nil && selectRE.MatchString(trimmed):
			m := selectRE.FindStringSubmatch(trimmed)
			if strings.HasPrefix(trimmed, "select") {
				s.d.selects[m[1]] = append(s.d.selects[m[1]], selectBy{by: curSym, cond: m[2]})
			}
		}
	}
	return sc.Err()
}

// Explain says why sym did not end with value want in final.
func (d *Deps) Explain(final Config, sym, want string) string {
	defs := d.defs[sym]
	if len(defs) == 0 {
		return fmt.Sprintf("CONFIG_%s does not exist in this tree's Kconfig (misspelt, renamed or removed)", sym)
	}
	got := final.Get(sym)
	if want != "n" && want != "y" && want != "m" {
		return fmt.Sprintf("CONFIG_%s is a %s; its value was changed, probably by a range or a default that won", sym, defs[0].typ)
	}
	if want == "n" {
		var on []string
		for _, sel := range d.selects[sym] {
			if sel.by != "" && final.Get(sel.by) != "n" && (sel.cond == "" || evalExpr(sel.cond, final) > 0) {
				on = append(on, "CONFIG_"+sel.by)
			}
		}
		if len(on) > 0 {
			sort.Strings(on)
			return fmt.Sprintf("it is selected by %s, which is enabled", strings.Join(on, ", "))
		}
		return fmt.Sprintf("it could not be turned off (got %s); it has no prompt or is forced by a default", got)
	}
	if want == "m" && final.Get("MODULES") == "n" {
		return "modules are disabled (CONFIG_MODULES is not set)"
	}
	var reasons []string
	for _, def := range defs {
		var unmet []string
		for _, c := range def.clauses {
			if evalExpr(c.expr, final) != 0 {
				continue
			}
			if c.origin == "depends on" {
				unmet = append(unmet, fmt.Sprintf("unmet dependency: depends on %s (%s) at %s:%d",
					c.expr, valueList(c.expr, final), def.file, def.line))
			} else {
				unmet = append(unmet, fmt.Sprintf("unmet dependency: %s (%s)", c.origin, valueList(c.expr, final)))
			}
		}
		if len(unmet) == 0 {
			if !def.prompt {
				reasons = append(reasons, fmt.Sprintf("CONFIG_%s has no prompt (%s:%d): it is only enabled when another option selects it", sym, def.file, def.line))
				continue
			}
			return "its dependencies are met; a choice or another option's select overrode it"
		}
		reasons = append(reasons, strings.Join(unmet, "; "))
	}
	return strings.Join(reasons, "; or ")
}

// valueList renders the symbols an expression refers to with their
// final values, unmet (n) ones first: "VIRTIO_MENU=n, PCI=y".
func valueList(expr string, final Config) string {
	var off, on []string
	seen := map[string]bool{}
	for _, t := range tokenize(expr) {
		if !isSymbol(t) || seen[t] || t == "y" || t == "n" || t == "m" {
			continue
		}
		seen[t] = true
		v := final.Get(t)
		if v == "n" {
			off = append(off, t+"=n")
		} else {
			on = append(on, t+"="+v)
		}
	}
	return strings.Join(append(off, on...), ", ")
}

func isSymbol(t string) bool {
	if t == "" {
		return false
	}
	for _, r := range t {
		if !(r == '_' || r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z') {
			return false
		}
	}
	return true
}

func tokenize(expr string) []string {
	var toks []string
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == ' ' || c == '\t':
			i++
		case c == '"':
			j := i + 1
			for j < len(expr) && expr[j] != '"' {
				if expr[j] == '\\' {
					j++
				}
				j++
			}
			if j < len(expr) {
				j++
			}
			toks = append(toks, expr[i:j])
			i = j
		case strings.HasPrefix(expr[i:], "&&") || strings.HasPrefix(expr[i:], "||") ||
			strings.HasPrefix(expr[i:], "!=") || strings.HasPrefix(expr[i:], "<=") || strings.HasPrefix(expr[i:], ">="):
			toks = append(toks, expr[i:i+2])
			i += 2
		case strings.ContainsRune("!()=<>", rune(c)):
			toks = append(toks, string(c))
			i++
		default:
			j := i
			for j < len(expr) && !strings.ContainsRune(" \t\"&|!()=<>", rune(expr[j])) {
				j++
			}
			toks = append(toks, expr[i:j])
			i = j
		}
	}
	return toks
}

// evalExpr evaluates a Kconfig expression in tristate logic: 0 n, 1 m, 2 y.
func evalExpr(expr string, c Config) int {
	p := &exprParser{toks: tokenize(expr), c: c}
	return p.or()
}

type exprParser struct {
	toks []string
	pos  int
	c    Config
}

func (p *exprParser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return ""
}

func (p *exprParser) next() string { t := p.peek(); p.pos++; return t }

func (p *exprParser) or() int {
	v := p.and()
	for p.peek() == "||" {
		p.next()
		v = max(v, p.and())
	}
	return v
}

func (p *exprParser) and() int {
	v := p.unary()
	for p.peek() == "&&" {
		p.next()
		v = min(v, p.unary())
	}
	return v
}

func (p *exprParser) unary() int {
	switch p.peek() {
	case "!":
		p.next()
		return 2 - p.unary()
	case "(":
		p.next()
		v := p.or()
		if p.peek() == ")" {
			p.next()
		}
		return v
	}
	left := p.next()
	switch op := p.peek(); op {
	case "=", "!=", "<", ">", "<=", ">=":
		p.next()
		return compare(p.value(left), op, p.value(p.next()))
	}
	return tristate(p.value(left))
}

// value resolves a token to its string value: constants and quoted
// strings stand for themselves, symbols for their config value.
func (p *exprParser) value(t string) string {
	if strings.HasPrefix(t, `"`) {
		return strings.Trim(t, `"`)
	}
	switch t {
	case "y", "m", "n":
		return t
	}
	if _, err := strconv.ParseInt(t, 0, 64); err == nil {
		return t
	}
	return strings.Trim(p.c.Get(t), `"`)
}

func tristate(v string) int {
	switch v {
	case "y":
		return 2
	case "m":
		return 1
	}
	return 0
}

func compare(a, op, b string) int {
	var cmp int
	ai, aerr := strconv.ParseInt(a, 0, 64)
	bi, berr := strconv.ParseInt(b, 0, 64)
	switch {
	case aerr == nil && berr == nil:
		if ai < bi {
			cmp = -1
		} else if ai > bi {
			cmp = 1
		} else {
			cmp = 0
		}
	default:
		cmp = strings.Compare(a, b)
	}
	ok := false
	switch op {
	case "=":
		ok = cmp == 0
	case "!=":
		ok = cmp != 0
	case "<":
		ok = cmp < 0
	case ">":
		ok = cmp > 0
	case "<=":
		ok = cmp <= 0
	case ">=":
		ok = cmp >= 0
	}
	if ok {
		return 2
	}
	return 0
}
