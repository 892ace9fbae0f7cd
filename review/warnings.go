// Compiler warnings in kernel build logs, and the ones a patch adds.

package review

import (
	"cmp"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Warning is one compiler warning.
type Warning struct {
	File     string // relative to the source root; absolute when outside it
	Line     int
	Col      int    // 0 when the compiler printed no column
	Message  string // without the flag
	Flag     string // e.g. -Wunused-variable; empty when none is named
	Function string // from the "In function 'f':" line before it, when about the same file
}

func (w Warning) String() string {
	pos := fmt.Sprintf("%s:%d", w.File, w.Line)
	if w.Col > 0 {
		pos += fmt.Sprintf(":%d", w.Col)
	}
	if w.Flag != "" {
		return fmt.Sprintf("%s: %s [%s]", pos, w.Message, w.Flag)
	}
	return pos + ": " + w.Message
}

var (
	// "path:line:col: warning: message [-Wflag]", column optional.
	warningRE = regexp.MustCompile(`^(.+?):(\d+):(?:(\d+):)? warning: (.*)$`)
	flagRE    = regexp.MustCompile(`^(.*?)\s*\[(-W[^\]]+)\]$`)
	// "path: In function 'f':" and "path: At top level:".
	functionRE = regexp.MustCompile(`^(.+?): In (?:static |member )?function '(.+)':$`)
	topLevelRE = regexp.MustCompile(`^(.+?): At top level:$`)
	// Lines after which the function context is unknown: a new include
	// chain, an inlined function ("In function 'memcpy'," with no path),
	// kbuild starting another file.
	contextEndRE = regexp.MustCompile(`^(?:In file included from |In function '.*',$|\s+CC(?: \[M\])?\s)`)
	// make -C and kbuild's O= re-entry name the directory that relative
	// paths in what follows are relative to.
	enterRE = regexp.MustCompile(`^make(?:\[\d+\])?: Entering directory '(.+)'$`)
	leaveRE = regexp.MustCompile(`^make(?:\[\d+\])?: Leaving directory '(.+)'$`)
	// Colours and hyperlinks, as gcc prints them on a terminal.
	escapeRE = regexp.MustCompile("\x1b\\[[0-9;]*[A-Za-z]|\x1b\\]8;[^\x07\x1b]*(?:\x07|\x1b\\\\)")
	quotes   = strings.NewReplacer("\u2018", "'", "\u2019", "'")
)

// ParseWarnings returns the compiler warnings in a build log, each
// once (a header's warning is printed for every file including it),
// sorted by file and position. Paths are made relative to srcRoot or
// to a directory make says it entered (with O=, the object directory,
// where generated headers live, and in a ktest slot <slot>/src, where
// the sources are): the longest one holding the file. A relative path
// is relative to the directory make last entered, or to srcRoot before
// any. Notes, errors and the source excerpts are not warnings.
func ParseWarnings(log []byte, srcRoot string) []Warning {
	p := &pathMap{roots: []string{filepath.Clean(srcRoot)}}
	if r, err := filepath.EvalSymlinks(srcRoot); err == nil && r != p.roots[0] {
		p.roots = append(p.roots, r) // make prints real paths
	}
	dirs := []string{filepath.Clean(srcRoot)}
	var ctxFile, ctxFunc string
	seen := map[Warning]bool{}
	var out []Warning
	for _, line := range strings.Split(string(log), "\n") {
		line = quotes.Replace(escapeRE.ReplaceAllString(strings.TrimSuffix(line, "\r"), ""))
		if m := enterRE.FindStringSubmatch(line); m != nil {
			dirs = append(dirs, filepath.Clean(m[1]))
			p.addRoot(filepath.Clean(m[1]))
			continue
		}
		if leaveRE.MatchString(line) && len(dirs) > 1 {
			dirs = dirs[:len(dirs)-1]
			continue
		}
		dir := dirs[len(dirs)-1]
		if m := functionRE.FindStringSubmatch(line); m != nil {
			ctxFile, ctxFunc = p.rel(dir, m[1]), m[2]
			continue
		}
		if topLevelRE.MatchString(line) || contextEndRE.MatchString(line) {
			ctxFile, ctxFunc = "", ""
			continue
		}
		m := warningRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		w := Warning{File: p.rel(dir, m[1]), Message: m[4]}
		w.Line, _ = strconv.Atoi(m[2])
		w.Col, _ = strconv.Atoi(m[3])
		if f := flagRE.FindStringSubmatch(w.Message); f != nil {
			w.Message, w.Flag = f[1], f[2]
		}
		if w.File == ctxFile {
			w.Function = ctxFunc
		}
		key := w
		key.Function = ""
		if !seen[key] {
			seen[key] = true
			out = append(out, w)
		}
	}
	slices.SortStableFunc(out, func(a, b Warning) int {
		return cmp.Or(strings.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col),
			strings.Compare(a.Flag, b.Flag), strings.Compare(a.Message, b.Message))
	})
	return out
}

// pathMap makes the paths in a build log relative to its roots.
type pathMap struct{ roots []string }

func (p *pathMap) addRoot(dir string) {
	if !slices.Contains(p.roots, dir) {
		p.roots = append(p.roots, dir)
	}
}

// rel is path (relative to dir when not absolute) relative to the
// longest root holding it, or absolute when none does.
func (p *pathMap) rel(dir, path string) string {
	if !filepath.IsAbs(path) {
		path = filepath.Join(dir, path)
	}
	path = filepath.Clean(path)
	best := ""
	for _, r := range p.roots {
		if len(r) > len(best) && (r == "/" || strings.HasPrefix(path, r+"/")) {
			best = r
		}
	}
	if best == "" {
		return path
	}
	rel, err := filepath.Rel(best, path)
	if err != nil {
		return path
	}
	return filepath.ToSlash(rel)
}

// NewWarnings returns the warnings of after, in the files touched (paths
// relative to the tree, as in the patch), that before does not have.
// Warnings match by file, flag and message, not by line: a patch that
// adds lines moves the warnings below them. When a file has the same
// warning more often after than before, the extra ones are new; old and
// new are paired on the same function and line first, then on the same
// function, so the one reported is the one in code the patch added
// when the function tells them apart.
func NewWarnings(before, after []Warning, touched []string) []Warning {
	files := map[string]bool{}
	for _, f := range touched {
		files[filepath.ToSlash(filepath.Clean(f))] = true
	}
	type key struct{ file, flag, msg string }
	old := map[key][]Warning{}
	for _, w := range before {
		if files[w.File] {
			k := key{w.File, w.Flag, w.Message}
			old[k] = append(old[k], w)
		}
	}
	groups := map[key][]int{} // indexes into after
	var keys []key
	for i, w := range after {
		if !files[w.File] {
			continue
		}
		k := key{w.File, w.Flag, w.Message}
		if groups[k] == nil {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], i)
	}
	isNew := map[int]bool{}
	for _, k := range keys {
		for _, i := range unpaired(old[k], after, groups[k]) {
			isNew[i] = true
		}
	}
	var out []Warning
	for i, w := range after {
		if isNew[i] {
			out = append(out, w)
		}
	}
	return out
}

// unpaired pairs the old warnings with the new ones at idx (indexes
// into after), in passes from the closest match to any, and returns the
// indexes left over.
func unpaired(old, after []Warning, idx []int) []int {
	used := make([]bool, len(old))
	paired := make([]bool, len(idx))
	for _, same := range []func(a, b Warning) bool{
		func(a, b Warning) bool { return a.Function == b.Function && a.Line == b.Line },
		func(a, b Warning) bool { return a.Function == b.Function },
		func(a, b Warning) bool { return true },
	} {
		for i, ai := range idx {
			if paired[i] {
				continue
			}
			for j := range old {
				if !used[j] && same(after[ai], old[j]) {
					used[j], paired[i] = true, true
					break
				}
			}
		}
	}
	var left []int
	for i, ai := range idx {
		if !paired[i] {
			left = append(left, ai)
		}
	}
	return left
}
