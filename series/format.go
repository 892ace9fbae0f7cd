package series

import (
	"errors"
	"fmt"
	"mime"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ktest-dev/ktest/internal/termfmt"
)

// Signature ends every mail FormatMail writes, as git's version does in
// format-patch output.
const Signature = "ktest"

// CoverFileName is the file WriteDir writes the cover letter to. It does
// not end in .patch, so that `git am DIR/*.patch` takes the patches only
// (a cover letter has no diff: git am stops at it, "Patch is empty"),
// as b4 writes its cover letter to a .cover file.
const CoverFileName = "0000-cover-letter.cover"

// FileName returns the format-patch style file name of p in s:
// CoverFileName for the cover, "0003-mm-abstract-out-....patch" for
// patch 3.
func FileName(s *Series, p *Patch) string {
	if p == s.Cover {
		return CoverFileName
	}
	return fmt.Sprintf("%04d-%s.patch", p.Number, slug(p.Subject))
}

var slugRun = regexp.MustCompile(`[^A-Za-z0-9._]+`)

// slug sanitises a subject as git format-patch does for file names.
func slug(subject string) string {
	s := slugRun.ReplaceAllString(subject, "-")
	s = strings.Trim(s, "-.")
	if len(s) > 52 {
		s = strings.TrimRight(s[:52], "-.")
	}
	if s == "" {
		s = "patch"
	}
	return s
}

// FormatMail renders p as one git format-patch mail: mbox From line,
// From/Date/Subject headers with a "[PATCH vN NN/MM]" prefix, the body,
// the trailers (including those given in replies), "---", a diffstat,
// the diff and a "-- " signature. Load reads it back to the same subject,
// trailers and diff.
func FormatMail(s *Series, p *Patch) []byte {
	var b strings.Builder
	b.WriteString("From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001\n")
	if p.Author != "" {
		fmt.Fprintf(&b, "From: %s\n", encodeAddress(p.Author))
	}
	if !p.Date.IsZero() {
		fmt.Fprintf(&b, "Date: %s\n", p.Date.Format(time.RFC1123Z))
	}
	fmt.Fprintf(&b, "Subject: %s %s\n", subjectPrefix(s, p), encodeWord(p.Subject))
	if p.MessageID != "" {
		fmt.Fprintf(&b, "Message-ID: <%s>\n", p.MessageID)
	}
	body := p.Body
	if !isASCII(body) || !isASCII(p.Diff) || !isASCII(trailerText(p.Trailers)) {
		b.WriteString("MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n")
	}
	b.WriteString("\n")
	if body != "" {
		b.WriteString(escapeFromLines(body))
		b.WriteString("\n")
	}
	if len(p.Trailers) > 0 {
		if body != "" {
			b.WriteString("\n")
		}
		b.WriteString(trailerText(p.Trailers))
	}
	if p.Diff != "" {
		b.WriteString("---\n")
		b.WriteString(diffstat(p.Diffstat()))
		b.WriteString("\n")
		b.WriteString(p.Diff)
	}
	b.WriteString("-- \n" + Signature + "\n\n")
	return []byte(b.String())
}

func subjectPrefix(s *Series, p *Patch) string {
	words := []string{"PATCH"}
	for _, t := range p.Tags {
		if strings.EqualFold(t, "RFC") || strings.EqualFold(t, "RESEND") {
			words = append(words, t)
		}
	}
	if v := p.Version; v > 1 {
		words = append(words, fmt.Sprintf("v%d", v))
	}
	total := len(s.Patches)
	if total > 1 || s.Cover != nil {
		w := len(fmt.Sprint(total))
		n := p.Number
		if p == s.Cover {
			n = 0
		}
		words = append(words, fmt.Sprintf("%0*d/%d", w, n, total))
	}
	return "[" + strings.Join(words, " ") + "]"
}

func trailerText(ts []Trailer) string {
	var b strings.Builder
	for _, t := range ts {
		fmt.Fprintf(&b, "%s: %s\n", t.Key, t.Value)
	}
	return b.String()
}

// escapeFromLines keeps a body line from reading as an mbox separator:
// a line that looks like one ("From <x> Mon May 25 ...") gets a ">", as
// does a line already quoted so (">From "), which reading unquotes
// (mboxrd). Other "From " lines are written as they are, as git
// format-patch writes them, so that git am keeps them unchanged.
func escapeFromLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		bare := strings.TrimLeft(l, ">")
		if mboxFrom.MatchString(bare) || bare != l && strings.HasPrefix(bare, "From ") {
			lines[i] = ">" + l
		}
	}
	return strings.Join(lines, "\n")
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func encodeWord(s string) string {
	if isASCII(s) || !utf8.ValidString(s) {
		return s
	}
	return mime.QEncoding.Encode("utf-8", s)
}

func encodeAddress(a string) string {
	if isASCII(a) {
		return a
	}
	if i := strings.Index(a, " <"); i > 0 {
		return encodeWord(a[:i]) + a[i:]
	}
	return encodeWord(a)
}

// diffstat renders stats the way git's --stat does.
func diffstat(stats []FileStat) string {
	if len(stats) == 0 {
		return ""
	}
	width, maxChange := 0, 0
	for _, st := range stats {
		width = max(width, len(statName(st)))
		maxChange = max(maxChange, st.Added+st.Deleted)
	}
	numWidth := len(fmt.Sprint(maxChange))
	const graph = 50
	var b strings.Builder
	added, deleted := 0, 0
	for _, st := range stats {
		added += st.Added
		deleted += st.Deleted
		if st.Binary {
			fmt.Fprintf(&b, " %-*s | Bin\n", width, statName(st))
			continue
		}
		plus, minus := st.Added, st.Deleted
		if maxChange > graph {
			plus = scale(st.Added, maxChange, graph)
			minus = scale(st.Deleted, maxChange, graph)
		}
		fmt.Fprintf(&b, " %-*s | %*d %s%s\n", width, statName(st), numWidth, st.Added+st.Deleted,
			strings.Repeat("+", plus), strings.Repeat("-", minus))
	}
	fmt.Fprintf(&b, " %s changed", termfmt.Plural(len(stats), "file"))
	if added > 0 || deleted == 0 {
		fmt.Fprintf(&b, ", %s(+)", termfmt.Plural(added, "insertion"))
	}
	if deleted > 0 {
		fmt.Fprintf(&b, ", %s(-)", termfmt.Plural(deleted, "deletion"))
	}
	b.WriteString("\n")
	return b.String()
}

func statName(st FileStat) string {
	if st.OldPath != "" && st.OldPath != st.Path {
		return st.OldPath + " => " + st.Path
	}
	return st.Path
}

func scale(n, total, width int) int {
	if n == 0 {
		return 0
	}
	return max(1, n*width/total)
}

// ExistsError is a directory WriteDir will not write into without
// force: it holds files of the names it would write, or other patch
// files, which a read of the directory would take as part of the series.
type ExistsError struct {
	Dir         string
	Same, Other []string // file names
}

func (e *ExistsError) Error() string {
	var parts []string
	if len(e.Same) > 0 {
		parts = append(parts, fmt.Sprintf("files of the names it would write (%s)", strings.Join(e.Same, ", ")))
	}
	if len(e.Other) > 0 {
		parts = append(parts, fmt.Sprintf("other patch files, which a read of it would mix in (%s)", strings.Join(e.Other, ", ")))
	}
	return fmt.Sprintf("write series: %s already holds %s; nothing written (--force overwrites and removes them)", e.Dir, strings.Join(parts, " and "))
}

// WriteDir writes the cover letter and patches of s into dir as
// format-patch files (see FileName and FormatMail) and returns their
// paths in order. It refuses, writing nothing, a dir that holds files of
// those names or other patch files (an *ExistsError), unless force is
// set: then it overwrites the first and removes the others. Every file
// is written to a temporary name first and renamed into place only when
// all are written.
func WriteDir(s *Series, dir string, force bool) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("write series: %w", err)
	}
	all := s.Patches
	if s.Cover != nil {
		all = append([]*Patch{s.Cover}, all...)
	}
	want := map[string]bool{}
	for _, p := range all {
		want[FileName(s, p)] = true
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("write series: %w", err)
	}
	exists := &ExistsError{Dir: dir}
	for _, e := range entries {
		switch {
		case want[e.Name()]:
			exists.Same = append(exists.Same, e.Name())
		case patchExts[strings.ToLower(filepath.Ext(e.Name()))]:
			exists.Other = append(exists.Other, e.Name())
		}
	}
	if (len(exists.Same) > 0 || len(exists.Other) > 0) && !force {
		return nil, exists
	}
	var temps, paths []string
	defer func() {
		for _, t := range temps {
			_ = os.Remove(t) // a no-op once renamed
		}
	}()
	for _, p := range all {
		tmp, err := writeTemp(dir, FileName(s, p), FormatMail(s, p))
		if err != nil {
			return nil, err
		}
		temps = append(temps, tmp)
	}
	for i, p := range all {
		dst := filepath.Join(dir, FileName(s, p))
		if err := os.Rename(temps[i], dst); err != nil {
			return paths, fmt.Errorf("write series: %w", err)
		}
		paths = append(paths, dst)
	}
	var errs []error
	for _, f := range exists.Other {
		if err := os.Remove(filepath.Join(dir, f)); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return paths, fmt.Errorf("write series: remove other patch files: %w", err)
	}
	return paths, nil
}

// writeTemp writes data, synced, to a temporary file in dir named after
// name, and returns its path.
func writeTemp(dir, name string, data []byte) (string, error) {
	f, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return "", fmt.Errorf("write series: %w", err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(f.Name()) // best-effort cleanup: the error that brought us here is the one to report
		return "", fmt.Errorf("write series: %s: %w", name, err)
	}
	return f.Name(), nil
}
