package difftest

import (
	"bytes"
	"fmt"
	"strings"
)

// A minimal txtar (golang.org/x/tools/txtar): a comment, then files,
// each introduced by a line "-- NAME --". Kept here rather than imported
// so go.mod's build list (which keys the guest's busybox) stays as it is.

type archiveFile struct {
	name string
	data []byte
}

// formatArchive writes comment and files; every part must end in "\n"
// (or be empty) and no line of any part may look like a file marker.
func formatArchive(comment []byte, files []archiveFile) ([]byte, error) {
	var b bytes.Buffer
	parts := append([]archiveFile{{"(comment)", comment}}, files...)
	for i, f := range parts {
		if len(f.data) > 0 && f.data[len(f.data)-1] != '\n' {
			return nil, fmt.Errorf("%s: does not end in a newline", f.name)
		}
		if n, ok := markerLine(f.data); ok {
			return nil, fmt.Errorf("%s: line %d looks like a txtar file marker", f.name, n)
		}
		if i > 0 {
			fmt.Fprintf(&b, "-- %s --\n", f.name)
		}
		b.Write(f.data)
	}
	return b.Bytes(), nil
}

// parseArchive splits data at its file markers.
func parseArchive(data []byte) (comment []byte, files []archiveFile) {
	cur := &comment
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i+1], data[i+1:]
		} else {
			data = nil
		}
		if name, ok := marker(line); ok {
			files = append(files, archiveFile{name: name})
			cur = &files[len(files)-1].data
			continue
		}
		*cur = append(*cur, line...)
	}
	return comment, files
}

func marker(line []byte) (string, bool) {
	s := strings.TrimSuffix(string(line), "\n")
	if !strings.HasPrefix(s, "-- ") || !strings.HasSuffix(s, " --") || len(s) < 7 {
		return "", false
	}
	return strings.TrimSpace(s[3 : len(s)-3]), true
}

// markerLine reports the first line (1-based) of data that parses as a
// marker.
func markerLine(data []byte) (int, bool) {
	for i, l := range bytes.SplitAfter(data, []byte("\n")) {
		if _, ok := marker(l); ok {
			return i + 1, true
		}
	}
	return 0, false
}
