package series

import (
	"bytes"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// patchExts are the file names a directory is read for without looking
// inside: format-patch output, mail and b4's cover letter (.cover).
var patchExts = map[string]bool{".patch": true, ".diff": true, ".mbox": true, ".mbx": true, ".eml": true, ".cover": true}

// docExts name documentation and metadata: skipped even when they quote
// a diff, since a README showing a diff is not a patch to apply.
var docExts = map[string]bool{".md": true, ".rst": true, ".html": true, ".htm": true, ".adoc": true, ".org": true}

// maxProbe bounds the size of a file without a patch extension that a
// directory read looks into.
const maxProbe = 64 << 20

var (
	// fileNumber is format-patch's "0005-" file name prefix.
	fileNumber = regexp.MustCompile(`^(\d{1,4})-`)
	// diffMarker finds a diff a file without a patch extension holds:
	// a git header, or ---/+++ file headers followed by a hunk.
	diffMarker = regexp.MustCompile(`(?m)^diff --git \S|^--- \S.*\n\+\+\+ \S.*\n@@ -\d`)
)

// loadDir reads a directory of patch files from fsys (a directory on
// disk, or a series embedded in the binary); name is how messages and
// Source name the directory, and each file is name/file.
//
// Every entry of the directory is either read or named in a note saying
// why not: files with a patch extension are read; another file is read
// (with a note) when it holds a diff, else skipped; hidden files,
// subdirectories, documentation and a quilt series file are skipped.
// A message without N/M in a file whose name starts "0005-" is patch 5.
func (o Options) loadDir(fsys fs.FS, dir, name string) (*Series, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, &SourceError{Source: name, Err: err}
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	var (
		all     []*message
		notes   []string
		skipped []string
		read    int
	)
	skip := func(file, why string) {
		skipped = append(skipped, file)
		notes = append(notes, fmt.Sprintf("%s/%s: skipped: %s", name, file, why))
	}
	for _, e := range entries {
		file := e.Name()
		p := name + "/" + file
		data, why, note := readEntry(fsys, path.Join(dir, file), e)
		if why != "" {
			skip(file, why)
			continue
		}
		if data == nil {
			return nil, &SourceError{Source: p, Err: fmt.Errorf("%s", note)}
		}
		msgs, _, err := readMessages(p, data)
		if err != nil {
			return nil, err
		}
		if note != "" {
			notes = append(notes, fmt.Sprintf("%s: %s", p, note))
		}
		if m := fileNumber.FindStringSubmatch(file); m != nil && len(msgs) == 1 {
			msgs[0].fileNumber, _ = strconv.Atoi(m[1])
		}
		all = append(all, msgs...)
		read++
	}
	if read == 0 {
		reason := "directory holds no .patch, .diff, .mbox or .eml files, and no other file holding a diff"
		if len(skipped) > 0 {
			reason += " (skipped: " + strings.Join(skipped, ", ") + ")"
		}
		return nil, &DamageError{File: name, Kind: NotAPatch, Reason: reason}
	}
	s, err := assemble(name, "directory", all, o)
	if err != nil {
		return nil, err
	}
	s.Notes = append(notes, s.Notes...)
	return s, nil
}

// readEntry returns the content of a directory entry to read as part of
// the series, or why it is skipped; note says why a file without a
// patch extension is read. A read error is returned as nil data with the
// error's text in note.
func readEntry(fsys fs.FS, p string, e fs.DirEntry) (data []byte, why, note string) {
	file := e.Name()
	ext := strings.ToLower(path.Ext(file))
	switch {
	case strings.HasPrefix(file, "."):
		return nil, "a hidden file", ""
	case e.IsDir():
		return nil, "a subdirectory (only the directory's own files are read)", ""
	case file == "series" || file == "series.txt":
		return nil, "a quilt series file (patches are ordered by N/M, then by file name, not by it)", ""
	case strings.HasPrefix(strings.ToUpper(file), "README") || docExts[ext]:
		return nil, "documentation, not a patch", ""
	}
	st, err := fs.Stat(fsys, p)
	switch {
	case err != nil:
		return nil, "", err.Error()
	case st.IsDir():
		return nil, "a link to a directory (only the directory's own files are read)", ""
	case !st.Mode().IsRegular():
		return nil, "not a regular file", ""
	case !patchExts[ext] && st.Size() > maxProbe:
		return nil, fmt.Sprintf("%d MiB without a patch extension: too large to be a patch", st.Size()>>20), ""
	}
	data, err = fs.ReadFile(fsys, p)
	if err != nil {
		return nil, "", err.Error()
	}
	if patchExts[ext] {
		return data, "", ""
	}
	if len(data) > 2 && data[0] == 0x1f && data[1] == 0x8b {
		return data, "", "read as a patch: gzip-compressed"
	}
	if bytes.IndexByte(data, 0) >= 0 {
		return nil, "binary, not a patch", ""
	}
	if !diffMarker.Match(data) {
		return nil, "no diff in it (patch files end in .patch, .diff, .mbox, .mbx, .eml or .cover)", ""
	}
	return data, "", "read as a patch: it holds a diff, though its name does not end in .patch"
}
