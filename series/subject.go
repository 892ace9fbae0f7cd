package series

import (
	"regexp"
	"strconv"
	"strings"
)

// prefix is what a subject's leading "Re:" and "[...]" groups say.
type prefix struct {
	reply         bool
	version       int // 0 if the subject gives none
	number, total int
	numbered      bool
	tags          []string
}

var (
	replyMark    = regexp.MustCompile(`(?i)^(re|aw|sv|antw)\s*:\s*`)
	forwardMark  = regexp.MustCompile(`(?i)^(fwd?)\s*:\s*`)
	versionTok   = regexp.MustCompile(`(?i)^(?:patch(?:set|es)?[-_]?)?v(\d+)$`)
	numberTok    = regexp.MustCompile(`^(\d+)/(\d+)$`)
	patchWordTok = regexp.MustCompile(`(?i)^patch(?:set|es)?$`)
	// versionInBracket finds vN in a possibly unterminated leading
	// bracket, as lore abbreviates thread lines: `[PATCHSET v4 "`.
	versionInBracket = regexp.MustCompile(`(?i)^\s*(?:re:\s*)*\[(?:[^\]]*?[\s,])?(?:patch(?:set|es)?[-_]?)?v(\d+)(?:[\s,\]"]|$)`)
)

// parseSubject splits a raw subject into its prefix and the subject text.
func parseSubject(raw string) (prefix, string) {
	var p prefix
	s := strings.Join(strings.Fields(raw), " ")
	for {
		switch {
		case replyMark.MatchString(s):
			p.reply = true
			s = replyMark.ReplaceAllString(s, "")
			continue
		case forwardMark.MatchString(s):
			s = forwardMark.ReplaceAllString(s, "")
			continue
		case strings.HasPrefix(s, "["):
			end := strings.IndexByte(s, ']')
			if end < 0 {
				return p, s
			}
			p.parseBracket(s[1:end])
			s = strings.TrimSpace(s[end+1:])
			continue
		}
		return p, s
	}
}

func (p *prefix) parseBracket(in string) {
	for _, tok := range strings.FieldsFunc(in, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' }) {
		switch {
		case patchWordTok.MatchString(tok):
		case versionTok.MatchString(tok):
			p.version, _ = strconv.Atoi(versionTok.FindStringSubmatch(tok)[1])
		case numberTok.MatchString(tok):
			m := numberTok.FindStringSubmatch(tok)
			p.number, _ = strconv.Atoi(m[1])
			p.total, _ = strconv.Atoi(m[2])
			p.numbered = true
		default:
			p.tags = append(p.tags, tok)
		}
	}
}

// stripPrefixes returns the subject text without Re: and [...] groups.
func stripPrefixes(raw string) string {
	_, s := parseSubject(raw)
	return s
}

// versionOf returns the vN in the leading bracket of s, 0 if none. s may
// be a lore thread line whose bracket was cut short.
func versionOf(s string) int {
	m := versionInBracket.FindStringSubmatch(s)
	if m == nil {
		return 0
	}
	v, _ := strconv.Atoi(m[1])
	return v
}

// sameSubject compares subjects the way a reader would: ignoring case,
// spacing and a trailing ellipsis of an abbreviated subject.
func sameSubject(a, b string) bool {
	norm := func(s string) string { return strings.ToLower(strings.Join(strings.Fields(s), " ")) }
	return norm(a) == norm(b)
}
