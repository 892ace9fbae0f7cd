package main

import (
	"math/rand/v2"
	"regexp"
	"strings"
)

// source is one C file of the tree, split into lines that keep "\n".
type source struct {
	path  string
	lines []string
	funcs []fn
	sites []fn // functions an edit can go in
}

// An edit goes in a function of minFuncLen to maxFuncLen lines: room for
// its hunk inside the body, and a window of at most a few hundred lines.
const minFuncLen, maxFuncLen = 14, 200

// fn is a function definition in kernel style: a signature starting in
// column 0, "{" alone on a line, "}" alone on a line.
type fn struct {
	sig, open, close int // line indices
	name             string
}

func (f fn) len() int { return f.close - f.sig + 1 }

var (
	identRe  = regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]*`)
	typeLine = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_ \t*]*\n$`)
)

// parseFuncs finds the function definitions of lines.
func parseFuncs(lines []string) []fn {
	var out []fn
	for i, l := range lines {
		if l != "{\n" {
			continue
		}
		j := i - 1
		for j >= 0 && (strings.HasPrefix(lines[j], "\t") || strings.HasPrefix(lines[j], " ")) {
			j--
		}
		if j < 0 || !strings.Contains(lines[j], "(") || !isIdentStart(lines[j][0]) || strings.HasSuffix(lines[j], ";\n") {
			continue
		}
		name := funcName(lines[j])
		if name == "" {
			continue
		}
		// "static int\nfoo(...)": the return type on a line of its own.
		for j > 0 && typeLine.MatchString(lines[j-1]) {
			j--
		}
		k := i + 1
		for k < len(lines) && lines[k] != "}\n" && lines[k] != "{\n" {
			k++
		}
		if k == len(lines) || lines[k] != "}\n" {
			continue
		}
		out = append(out, fn{sig: j, open: i, close: k, name: name})
	}
	return out
}

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

// funcName is the identifier just before the first "(" of a signature.
func funcName(sig string) string {
	i := strings.Index(sig, "(")
	ids := identRe.FindAllString(sig[:i], -1)
	if len(ids) == 0 {
		return ""
	}
	return ids[len(ids)-1]
}

// significant lines have a letter or digit; the others ("}", "", "{")
// match all over a C file.
func significant(l string) bool {
	return strings.ContainsFunc(l, func(r rune) bool {
		return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
	})
}

// code is an indented line of C that is not a comment or a directive.
func code(l string) bool {
	t := strings.TrimSpace(l)
	if !strings.HasPrefix(l, "\t") || !significant(l) {
		return false
	}
	for _, p := range []string{"/*", "*", "//", "#"} {
		if strings.HasPrefix(t, p) {
			return false
		}
	}
	return true
}

// statement is a code line that is a whole statement on its own: it
// ends in ";", follows a line that ended one (or opened or closed a
// block), and is not a bare jump whose removal would read oddly.
func statement(lines []string, i int) bool {
	if i <= 0 || !code(lines[i]) || !strings.HasSuffix(lines[i], ";\n") {
		return false
	}
	t := strings.TrimSpace(lines[i])
	if strings.Count(t, "(") != strings.Count(t, ")") {
		return false
	}
	for _, p := range []string{"return", "break;", "continue;", "goto ", "case ", "default:", "else"} {
		if strings.HasPrefix(t, p) {
			return false
		}
	}
	prev := strings.TrimSpace(lines[i-1])
	if prev == "" {
		return true
	}
	for _, s := range []string{";", "{", "}", "*/"} {
		if strings.HasSuffix(prev, s) {
			return true
		}
	}
	return false
}

func indent(l string) string {
	return l[:len(l)-len(strings.TrimLeft(l, "\t "))]
}

var keywords = map[string]bool{}

func init() {
	for _, k := range strings.Fields(`if else for while do switch case return goto break continue sizeof
		struct union enum static const unsigned signed int long short char void bool inline volatile
		typeof default extern register true false NULL u8 u16 u32 u64 s8 s16 s32 s64 size_t ssize_t
		loff_t gfp_t __u32 __u64 __be32 __le32 likely unlikely`) {
		keywords[k] = true
	}
}

// mutate returns a plausible upstream rewording of a code line: a call
// gains an argument, an identifier is renamed, a constant changes, or a
// condition is marked unlikely. ok is false if none applies.
func mutate(rng *rand.Rand, l string) (string, bool) {
	var opts []func() string
	if calls := callSites(l); len(calls) > 0 {
		c := calls[rng.IntN(len(calls))]
		opts = append(opts, func() string {
			arg := []string{"0", "GFP_KERNEL", "NULL", "flags", "true"}[rng.IntN(5)]
			if l[c-1] != '(' {
				arg = ", " + arg
			}
			return l[:c] + arg + l[c:]
		})
	}
	var ids []string
	for _, id := range identRe.FindAllString(l, -1) {
		if !keywords[id] && len(id) >= 3 && strings.ToUpper(id) != id {
			ids = append(ids, id)
		}
	}
	if len(ids) > 0 {
		id := ids[rng.IntN(len(ids))]
		opts = append(opts, func() string {
			var repl string
			if rng.IntN(4) == 0 {
				repl = "__" + id
			} else {
				repl = id + []string{"_locked", "_rcu", "_safe", "_nr", "_cur", "_new"}[rng.IntN(6)]
			}
			return regexp.MustCompile(`\b`+id+`\b`).ReplaceAllString(l, repl)
		})
	}
	if m := numberRe.FindStringSubmatchIndex(l); m != nil {
		opts = append(opts, func() string {
			n := l[m[2]:m[3]]
			return l[:m[2]] + bump(n) + l[m[3]:]
		})
	}
	if t := strings.TrimSpace(l); strings.HasPrefix(t, "if (") && (strings.HasSuffix(t, ")") || strings.HasSuffix(t, ") {")) &&
		!strings.Contains(t, "likely(") {
		opts = append(opts, func() string {
			end := strings.LastIndex(l, ")")
			start := strings.Index(l, "if (") + 4
			return l[:start] + "unlikely(" + l[start:end] + ")" + l[end:]
		})
	}
	if len(opts) == 0 {
		return l, false
	}
	out := opts[rng.IntN(len(opts))]()
	return out, out != l
}

var numberRe = regexp.MustCompile(`[^A-Za-z0-9_](\d+)\b`)

func bump(n string) string {
	v := 0
	for _, c := range n {
		v = v*10 + int(c-'0')
	}
	if v == 0 {
		return "1"
	}
	return itoa(v * 2)
}

func itoa(v int) string {
	if v == 0 {
		return "0"
	}
	var b []byte
	for ; v > 0; v /= 10 {
		b = append([]byte{byte('0' + v%10)}, b...)
	}
	return string(b)
}

// callSites returns, for each call "f(...)" of l whose parentheses close
// on the line, the index of its closing parenthesis.
func callSites(l string) []int {
	var out []int
	for _, m := range regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_]*)\(`).FindAllStringSubmatchIndex(l, -1) {
		if keywords[l[m[2]:m[3]]] {
			continue
		}
		depth := 0
		for i := m[1] - 1; i < len(l); i++ {
			switch l[i] {
			case '(':
				depth++
			case ')':
				depth--
			}
			if depth == 0 {
				out = append(out, i)
				break
			}
		}
	}
	return out
}

// variables are identifiers of l used as values (followed by "->", ",",
// ")" or ";"), for templates.
func variables(l string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`([a-z_][a-z0-9_]*)\s*(->|,|\)|;)`).FindAllStringSubmatch(l, -1) {
		if !keywords[m[1]] {
			out = append(out, m[1])
		}
	}
	return out
}

// newLines makes 1 to 4 plausible added lines at indentation ind, from
// the variables near the site and the function's name.
func newLines(rng *rand.Rand, ind string, vars []string, fname string) []string {
	v := "ret"
	if len(vars) > 0 {
		v = vars[rng.IntN(len(vars))]
	}
	templates := [][]string{
		{ind + "if (WARN_ON_ONCE(!" + v + "))\n", ind + "\treturn -EINVAL;\n"},
		{ind + "might_sleep();\n"},
		{ind + "lockdep_assert_held(&" + v + "->lock);\n"},
		{ind + "pr_debug(\"%s: " + v + " %p\\n\", __func__, " + v + ");\n"},
		{ind + "trace_" + fname + "(" + v + ");\n"},
		{ind + "if (unlikely(!" + v + "))\n", ind + "\tgoto out;\n"},
		{ind + "smp_mb(); /* pairs with the barrier in " + fname + "() */\n"},
		{ind + "/* " + v + " stays valid until the caller drops its reference */\n"},
		{ind + "WRITE_ONCE(" + v + "->flags, 0);\n"},
	}
	out := append([]string(nil), templates[rng.IntN(len(templates))]...)
	if rng.IntN(3) == 0 {
		out = append(out, templates[rng.IntN(len(templates))]...)
	}
	return out
}
