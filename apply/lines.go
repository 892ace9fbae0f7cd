package apply

import "strings"

// significant reports whether a line says something about where it is:
// it has a letter or digit, unlike "}", "" or "/**".
func significant(l string) bool { return strings.ContainsFunc(l, isWordRune) }

func isWordRune(r rune) bool {
	return r == '_' || ('0' <= r && r <= '9') || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || r > 127
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// fileLines splits content into lines that keep their "\n"; the last line
// lacks it when the file does not end in a newline.
func fileLines(b []byte) []string {
	s := string(b)
	n := strings.Count(s, "\n")
	lines := make([]string, 0, n+1)
	for len(s) > 0 {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			lines = append(lines, s)
			break
		}
		lines = append(lines, s[:i+1])
		s = s[i+1:]
	}
	return lines
}

func joinLines(lines []string) []byte {
	n := 0
	for _, l := range lines {
		n += len(l)
	}
	b := make([]byte, 0, n)
	for _, l := range lines {
		b = append(b, l...)
	}
	return b
}

func trimNL(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = strings.TrimSuffix(l, "\n")
	}
	return out
}
