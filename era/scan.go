package era

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
)

// Hit is one line of a source file that advertises the flag.
type Hit struct {
	Path string `json:"path"`
	Line int    `json:"line"`
	Text string `json:"text"`
}

func (h Hit) String() string { return fmt.Sprintf("%s:%d: %s", h.Path, h.Line, h.Text) }

// Advertising returns the lines of a C file that advertise flag: every
// mention of it outside comments except its definition, a preprocessor
// test (#ifdef, defined()), a bitwise test (`& FLAG`) and a clear
// (`~FLAG`). Counting every other mention is deliberately strict: a
// file that sets the flag in a way this does not know is reported, not
// missed, so a baseline is never called clean by mistake.
func Advertising(path string, src []byte, flag string) []Hit {
	if !bytes.Contains(src, []byte(flag)) {
		return nil
	}
	code := stripComments(src)
	lines := bytes.Split(src, []byte("\n"))
	re := regexp.MustCompile(`\b` + regexp.QuoteMeta(flag) + `\b`)
	var hits []Hit
	last := -1
	for _, loc := range re.FindAllIndex(code, -1) {
		line := bytes.Count(code[:loc[0]], []byte("\n"))
		if line == last || !advertises(code, loc[0]) {
			continue
		}
		last = line
		hits = append(hits, Hit{Path: path, Line: line + 1, Text: strings.TrimSpace(string(lines[line]))})
	}
	return hits
}

var (
	preprocessorTestRE = regexp.MustCompile(`^[ \t]*#[ \t]*(define|undef|ifdef|ifndef)[ \t]+$`)
	definedRE          = regexp.MustCompile(`defined[ \t]*\(?[ \t]*$`)
)

// advertises classifies the mention of the flag at code[at:].
func advertises(code []byte, at int) bool {
	start := bytes.LastIndexByte(code[:at], '\n') + 1
	if preprocessorTestRE.Match(code[start:at]) || definedRE.Match(code[start:at]) {
		return false
	}
	before := bytes.TrimRight(code[:at], " \t\r\n(")
	if len(before) == 0 {
		return true
	}
	// `x & FLAG` tests it and `~FLAG` clears it; `&= FLAG` ends in
	// '=' and is counted.
	last := before[len(before)-1]
	return last != '&' && last != '~'
}

// stripComments blanks C comments and the contents of string and
// character literals, keeping every byte offset and newline, so a match
// in the result has its line number in the source.
func stripComments(src []byte) []byte {
	out := slices.Clone(src)
	blank := func(i int) {
		if out[i] != '\n' {
			out[i] = ' '
		}
	}
	for i := 0; i < len(out); i++ {
		switch {
		case out[i] == '/' && i+1 < len(out) && out[i+1] == '*':
			j := bytes.Index(out[i+2:], []byte("*/"))
			end := len(out)
			if j >= 0 {
				end = i + 2 + j + 2
			}
			for k := i; k < end; k++ {
				blank(k)
			}
			i = end - 1
		case out[i] == '/' && i+1 < len(out) && out[i+1] == '/':
			for ; i < len(out) && out[i] != '\n'; i++ {
				blank(i)
			}
		case out[i] == '"' || out[i] == '\'':
			q := out[i]
			for i++; i < len(out) && out[i] != q && out[i] != '\n'; i++ {
				if out[i] == '\\' && i+1 < len(out) {
					blank(i)
					i++
				}
				blank(i)
			}
		}
	}
	return out
}

// isSource reports whether path is C source or a header, the only files
// a kernel build compiles the flag from.
func isSource(path string) bool {
	return strings.HasSuffix(path, ".c") || strings.HasSuffix(path, ".h")
}

// Scan returns every line of the tree's C sources and headers that
// advertises flag, sorted by path and line.
func Scan(ctx context.Context, tree fs.FS, flag string) ([]Hit, error) {
	paths := make(chan string, 256)
	var (
		mu       sync.Mutex
		hits     []Hit
		firstErr error
		wg       sync.WaitGroup
	)
	for range max(runtime.NumCPU(), 2) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range paths {
				data, err := fs.ReadFile(tree, p)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = fmt.Errorf("scanning for %s: %w", flag, err)
				}
				hits = append(hits, Advertising(p, data, flag)...)
				mu.Unlock()
			}
		}()
	}
	walkErr := fs.WalkDir(tree, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() && p != "." && (strings.HasPrefix(d.Name(), ".") || p == "Documentation") {
			return fs.SkipDir
		}
		if d.Type().IsRegular() && isSource(p) {
			paths <- p
		}
		return nil
	})
	close(paths)
	wg.Wait()
	if walkErr != nil {
		return nil, fmt.Errorf("scanning for %s: %w", flag, walkErr)
	}
	if firstErr != nil {
		return nil, firstErr
	}
	sortHits(hits)
	return hits, nil
}

func sortHits(hits []Hit) {
	slices.SortFunc(hits, func(a, b Hit) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return a.Line - b.Line
	})
}

// After returns what still advertises flag once overlay (changed files'
// new content; nil = deleted) is applied to a tree whose own hits are
// stock: the stock hits of files the overlay leaves alone, and the hits
// in the overlay's files.
func After(stock []Hit, overlay map[string][]byte, flag string) []Hit {
	var out []Hit
	for _, h := range stock {
		if _, changed := overlay[h.Path]; !changed {
			out = append(out, h)
		}
	}
	for p, data := range overlay {
		if isSource(p) && data != nil {
			out = append(out, Advertising(p, data, flag)...)
		}
	}
	sortHits(out)
	return out
}

// BaselineError is a baseline that cannot make the tree's baseline
// variant: it does not apply, or files still advertise the flag after
// it did.
type BaselineError struct {
	Era      Era
	Baseline string
	// Conflict is the apply failure, if the baseline did not apply.
	Conflict error
	// Left are the lines that still advertise the flag.
	Left []Hit
}

func (e *BaselineError) Error() string {
	if e.Conflict != nil {
		return fmt.Sprintf("no known baseline applies to this %s-era tree: embedded:%s: %v", e.Era.Name, e.Baseline, e.Conflict)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "embedded:%s applied, but %d line(s) still advertise %s, so the baseline would still use async buffered reads:", e.Baseline, len(e.Left), e.Era.Flag)
	for _, h := range e.Left {
		b.WriteString("\n  " + h.String())
	}
	return b.String()
}
