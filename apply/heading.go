package apply

import (
	"regexp"
	"strings"
)

// A hunk header's heading ("@@ -1210,6 +1210,14 @@ static int
// __wait_on_page_locked_async(struct page *page,") names the function
// or struct the hunk is in, as diff saw it: the nearest line above the
// hunk that looks like the start of a definition, cut to 80 bytes.
// Where the file agrees, that is evidence the hunk is in the right
// place; where it names another function, a fuzzy match is in the
// wrong one.
//
// Two rules make headings for C: diff's and git's default (a line that
// starts with a letter, '_' or '$') and git's "cpp" driver, which the
// kernel's .gitattributes selects (a line that starts with a letter or
// '_', not a goto label). A heading matches when either rule yields it.

var label = regexp.MustCompile(`^[A-Za-z_][A-Za-z_0-9]*:[ \t]*($|/[/*])`)

func defaultHeadingLine(l string) bool {
	return l != "" && (isLetter(l[0]) || l[0] == '_' || l[0] == '$')
}

func cppHeadingLine(l string) bool {
	return l != "" && (isLetter(l[0]) || l[0] == '_') && !label.MatchString(strings.TrimRight(l, "\r\n"))
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// maxHeadingScan bounds the walk up from a hunk: a function longer than
// this is rare, and a heading that far up says little about the place.
const maxHeadingScan = 2000

// headingAgrees reports whether the heading diff would write for a hunk
// starting at buf[start] is the hunk's own, or defines the same name (a
// function whose parameters changed is still that function). A hunk
// without a heading (a plain `diff -u`, a hunk at the top of a file)
// agrees with anything.
func headingAgrees(buf []string, start int, heading string) bool {
	if heading == "" {
		return true
	}
	name := definedName(heading)
	for _, rule := range []func(string) bool{defaultHeadingLine, cppHeadingLine} {
		for i := min(start, len(buf)) - 1; i >= 0 && i >= start-maxHeadingScan; i-- {
			if rule(buf[i]) {
				l := strings.TrimRight(buf[i], " \t\r\n")
				if strings.HasPrefix(l, heading) || name != "" && definedName(l) == name {
					return true
				}
				break
			}
		}
	}
	return false
}

// headingDisagrees reports whether the place at buf[start] is in
// another function than the heading names while the function it names
// is elsewhere in the file: a function renamed since is no evidence
// either way, a copy of it above the original is.
func headingDisagrees(buf []string, start int, heading string) bool {
	if heading == "" || headingAgrees(buf, start, heading) {
		return false
	}
	name := definedName(heading)
	for _, l := range buf {
		if cppHeadingLine(l) || defaultHeadingLine(l) {
			t := strings.TrimRight(l, " \t\r\n")
			if strings.HasPrefix(t, heading) || name != "" && definedName(t) == name {
				return true
			}
		}
	}
	return false
}

var (
	funcName   = regexp.MustCompile(`([A-Za-z_][A-Za-z_0-9]*)\s*\(`)
	structName = regexp.MustCompile(`^(?:typedef\s+)?(?:struct|union|enum)\s+([A-Za-z_][A-Za-z_0-9]*)`)
)

// definedName is the name a heading line defines: the function before
// its first "(", or the struct, union or enum; "" if neither shows.
func definedName(l string) string {
	if m := structName.FindStringSubmatch(l); m != nil && !strings.Contains(l, "(") {
		return m[1]
	}
	if m := funcName.FindStringSubmatch(l); m != nil {
		return m[1]
	}
	return ""
}
