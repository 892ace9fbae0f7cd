package series

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"regexp"
	"strings"
	"time"
)

// message is one mail (or mail-like chunk) of the input, before it is
// known whether it is a patch, a cover letter or a reply.
type message struct {
	source     string
	line       int // 1-based line in source where the message starts
	rawSubject string
	// sentSubject is the Subject header as sent, before in-body headers
	// (which describe the patch, not the mail) replace rawSubject.
	sentSubject string
	subject     string // without prefixes
	pfx         prefix
	author      string
	date        time.Time
	msgID       string
	inReplyTo   string
	references  []string
	to, cc      []string
	flowed      bool // Content-Type says format=flowed
	decoded     bool // body was decoded (QP, base64, MIME): line numbers are approximate
	body        []line
	// loreRootVersion is the vN of the thread root a lore dump shows
	// above the message, 0 if none.
	loreRootVersion int
	lastInFile      bool
	order           int // position in the input, for stable ordering
	// fileNumber is the N of a format-patch file name ("0005-..."), for
	// the only message of a file in a directory; 0 if none.
	fileNumber int
}

// maxGunzip bounds decompressed input: a patch series is text, and a
// bomb should fail rather than fill memory.
const maxGunzip = 256 << 20

// readMessages checks data for whole-file damage, detects its format and
// splits it into messages.
func readMessages(name string, data []byte) ([]*message, string, error) {
	if len(data) > 2 && data[0] == 0x1f && data[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, "", &DamageError{File: name, Line: 1, Kind: Binary, Reason: fmt.Sprintf("gzip header: %v", err)}
		}
		out, err := io.ReadAll(io.LimitReader(zr, maxGunzip+1))
		if err != nil {
			return nil, "", &DamageError{File: name, Kind: TruncatedHunk, Reason: fmt.Sprintf("gzip data is damaged or cut off: %v", err)}
		}
		if len(out) > maxGunzip {
			return nil, "", &DamageError{File: name, Kind: Binary, Reason: "gzip data expands beyond 256 MiB: not a patch series"}
		}
		data = out
	}
	if err := checkWhole(name, data); err != nil {
		return nil, "", err
	}
	lines := splitLines(string(data), 1)
	first := 0
	for first < len(lines) && strings.TrimSpace(lines[first].text) == "" {
		first++
	}
	var (
		msgs   []*message
		format string
		err    error
	)
	switch rest := lines[first:]; {
	case strings.HasPrefix(rest[0].text, "* ") && strings.Contains(string(data), "\n^ permalink raw reply"):
		format = "lore-thread"
		msgs, err = splitLore(name, rest)
	case mboxFrom.MatchString(rest[0].text):
		format = "mbox"
		msgs, err = splitMbox(name, rest)
	case gitCommitLine.MatchString(rest[0].text):
		format = "git-show"
		msgs = splitGitLog(name, rest)
	case looksLikeHeaders(rest):
		format = "mail"
		var m *message
		m, err = parseMail(name, rest)
		msgs = []*message{m}
	default:
		format = "text"
		if diffStartAt(rest, 0) {
			format = "diff"
		}
		msgs = []*message{parseText(name, rest)}
	}
	if err != nil {
		return nil, "", err
	}
	for i, m := range msgs {
		m.order = i
	}
	if len(msgs) > 0 {
		msgs[len(msgs)-1].lastInFile = true
	}
	return msgs, format, nil
}

var (
	// mboxFrom matches the separator line of an mbox: git format-patch
	// writes "From <sha> Mon Sep 17 00:00:00 2001", b4 "From git@z Thu
	// Jan  1 00:00:00 1970", mail clients "From addr <asctime>".
	mboxFrom      = regexp.MustCompile(`^From \S+\s+\w{3} \w{3} [ \d]?\d \d\d:\d\d(:\d\d)? `)
	mboxrdEscaped = regexp.MustCompile(`^>(>*From )`)
	gitCommitLine = regexp.MustCompile(`^commit [0-9a-f]{7,64}\b`)
	headerLine    = regexp.MustCompile(`^([!-9;-~]+):[ \t]?(.*)$`)
	knownHeader   = regexp.MustCompile(`(?i)^(from|subject|date|message-id|return-path|received|delivered-to|to|cc|mime-version|content-[\w-]+|reply-to|in-reply-to|references|sender|x-[\w-]+|list-[\w-]+|dkim-signature|arc-[\w-]+|authentication-results|envelope-to|precedence|user-agent):`)
)

// looksLikeHeaders reports whether lines start with an RFC 5322 header
// block that has a Subject.
func looksLikeHeaders(lines []line) bool {
	if !knownHeader.MatchString(lines[0].text) {
		return false
	}
	for _, l := range lines {
		if l.text == "" {
			return false
		}
		if strings.HasPrefix(strings.ToLower(l.text), "subject:") {
			return true
		}
		if !headerLine.MatchString(l.text) && l.text[0] != ' ' && l.text[0] != '\t' {
			return false
		}
	}
	return false
}

func splitMbox(name string, lines []line) ([]*message, error) {
	var starts []int
	for i, l := range lines {
		// The separator is matched strictly (date and all) but anywhere:
		// concatenated files do not always leave the blank line before
		// it, and body lines that look like one are >From-escaped.
		if mboxFrom.MatchString(l.text) {
			starts = append(starts, i)
		}
	}
	var msgs []*message
	for k, s := range starts {
		end := len(lines)
		if k+1 < len(starts) {
			end = starts[k+1]
		}
		chunk := make([]line, 0, end-s-1)
		for _, l := range lines[s+1 : end] {
			l.text = mboxrdEscaped.ReplaceAllString(l.text, "$1")
			chunk = append(chunk, l)
		}
		if len(chunk) == 0 {
			return nil, &DamageError{File: name, Line: lines[s].num, Kind: TruncatedHunk,
				Reason: "mbox ends right after a message separator (the mbox was cut off)"}
		}
		m, err := parseMail(name, chunk)
		if err != nil {
			return nil, err
		}
		m.line = lines[s].num
		msgs = append(msgs, m)
	}
	return msgs, nil
}

var wordDecoder = &mime.WordDecoder{}

func decodeHeader(v string) string {
	if d, err := wordDecoder.DecodeHeader(v); err == nil {
		return d
	}
	return v
}

// formatAddress renders a From header as "Name <email>".
func formatAddress(v string) string {
	v = decodeHeader(strings.TrimSpace(v))
	a, err := mail.ParseAddress(v)
	if err != nil {
		return v
	}
	if a.Name == "" {
		return a.Address
	}
	return a.Name + " <" + a.Address + ">"
}

var messageIDs = regexp.MustCompile(`<[^<>\s]+>`)

// recipients reads a To or Cc header into "Name <addr>" strings. A list
// net/mail cannot parse is split at commas and kept as written.
func recipients(v string) []string {
	if strings.TrimSpace(v) == "" {
		return nil
	}
	var out []string
	if list, err := (&mail.AddressParser{WordDecoder: wordDecoder}).ParseList(v); err == nil {
		for _, a := range list {
			out = append(out, formatAddress(a.String()))
		}
		return out
	}
	return appendNames(out, decodeHeader(v))
}

// appendNames adds the comma-separated entries of list, as written.
func appendNames(dst []string, list string) []string {
	for _, a := range strings.Split(list, ",") {
		if a = strings.TrimSpace(a); a != "" {
			dst = append(dst, formatAddress(a))
		}
	}
	return dst
}

// parseMail reads one RFC 5322 message: headers, then the body decoded
// as its Content-Type and Content-Transfer-Encoding say.
func parseMail(name string, lines []line) (*message, error) {
	m := &message{source: name, line: lines[0].num}
	hdr := map[string]string{}
	var key string
	i := 0
	for ; i < len(lines); i++ {
		t := strings.TrimSuffix(lines[i].text, "\r")
		if t == "" {
			i++
			break
		}
		if (t[0] == ' ' || t[0] == '\t') && key != "" {
			hdr[key] += t
			continue
		}
		mm := headerLine.FindStringSubmatch(t)
		if mm == nil {
			// Not a header: the header block ended without a blank line.
			break
		}
		key = strings.ToLower(mm[1])
		if _, dup := hdr[key]; dup && key != "references" {
			key = "" // keep the first of repeated headers (Received, ...)
			continue
		}
		hdr[key] += mm[2]
	}
	bodyLines := lines[i:]

	m.rawSubject = decodeHeader(hdr["subject"])
	m.sentSubject = m.rawSubject
	m.pfx, m.subject = parseSubject(m.rawSubject)
	if v, ok := hdr["from"]; ok {
		m.author = formatAddress(v)
	}
	if v, ok := hdr["date"]; ok {
		m.date = parseDate(v)
	}
	m.msgID = strings.Trim(strings.TrimSpace(hdr["message-id"]), "<>")
	if ids := messageIDs.FindAllString(hdr["in-reply-to"], -1); len(ids) > 0 {
		m.inReplyTo = strings.Trim(ids[0], "<>")
	}
	for _, id := range messageIDs.FindAllString(hdr["references"], -1) {
		m.references = append(m.references, strings.Trim(id, "<>"))
	}
	m.to, m.cc = recipients(hdr["to"]), recipients(hdr["cc"])

	body, err := decodeBody(name, hdr, bodyLines, m)
	if err != nil {
		return nil, err
	}
	m.body = inBodyHeaders(m, body)
	if m.subject == "" && m.rawSubject == "" {
		return nil, &DamageError{File: name, Line: m.line, Kind: Malformed, Reason: "mail has no Subject header"}
	}
	return m, nil
}

// decodeBody undoes the transfer encoding the headers declare. A body
// decoded here is not damaged; QP artefacts in a body that claims to be
// plain are diagnosed later, on the diff lines.
func decodeBody(name string, hdr map[string]string, lines []line, m *message) ([]line, error) {
	if len(lines) == 0 {
		return nil, nil
	}
	mediaType, params, err := mime.ParseMediaType(hdr["content-type"])
	if err != nil {
		mediaType, params = "text/plain", nil
	}
	m.flowed = strings.EqualFold(params["format"], "flowed")
	first := lines[0].num
	raw := joinLines(lines)
	if strings.HasPrefix(mediaType, "multipart/") && params["boundary"] != "" {
		text, err := multipartText(raw, params["boundary"])
		if err != nil {
			return nil, &DamageError{File: name, Line: first, Kind: Malformed, Patch: m.subject,
				Reason: fmt.Sprintf("MIME multipart body: %v", err)}
		}
		m.decoded = true
		return splitLines(text, first), nil
	}
	text, changed, err := decodeTransfer(hdr["content-transfer-encoding"], raw)
	if err != nil {
		kind := Malformed
		if strings.Contains(strings.ToLower(hdr["content-transfer-encoding"]), "quoted") {
			kind = QuotedPrintable
		}
		return nil, &DamageError{File: name, Line: first, Kind: kind, Patch: m.subject,
			Reason: fmt.Sprintf("body declared %q does not decode: %v", hdr["content-transfer-encoding"], err)}
	}
	if !changed {
		return lines, nil
	}
	m.decoded = true
	return splitLines(text, first), nil
}

func decodeTransfer(cte, raw string) (string, bool, error) {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "quoted-printable":
		out, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(raw)))
		return string(out), true, err
	case "base64":
		clean := strings.Map(func(r rune) rune {
			if r == '\n' || r == '\r' || r == ' ' || r == '\t' {
				return -1
			}
			return r
		}, raw)
		out, err := base64.StdEncoding.DecodeString(clean)
		return string(out), true, err
	}
	return raw, false, nil
}

// multipartText concatenates the text and patch parts of a MIME body:
// `git format-patch --attach` puts the message in one part and the patch
// in another.
func multipartText(raw, boundary string) (string, error) {
	mr := multipart.NewReader(strings.NewReader(raw), boundary)
	var parts []string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", err
		}
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if ct == "" {
			ct = "text/plain"
		}
		fname := strings.ToLower(p.FileName())
		patchy := strings.HasSuffix(fname, ".patch") || strings.HasSuffix(fname, ".diff")
		if !strings.HasPrefix(ct, "text/plain") && !strings.HasPrefix(ct, "text/x-patch") &&
			!strings.HasPrefix(ct, "text/x-diff") && !(ct == "application/octet-stream" && patchy) {
			continue
		}
		data, err := io.ReadAll(p)
		if err != nil {
			return "", err
		}
		// multipart hides and undoes quoted-printable itself; base64 is ours.
		text, _, err := decodeTransfer(p.Header.Get("Content-Transfer-Encoding"), string(data))
		if err != nil {
			return "", err
		}
		parts = append(parts, strings.TrimSuffix(text, "\n"))
	}
	if len(parts) == 0 {
		return "", fmt.Errorf("no text or patch part")
	}
	return strings.Join(parts, "\n") + "\n", nil
}

func joinLines(lines []line) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l.text)
		b.WriteByte('\n')
	}
	return b.String()
}

var inBodyHeader = regexp.MustCompile(`^(From|Date|Subject):\s+(.*)$`)

// inBodyHeaders applies "From:", "Date:" and "Subject:" lines at the top
// of a body (format-patch --from, web archives), which override the
// mail's own, and returns the body without them.
func inBodyHeaders(m *message, body []line) []line {
	i := 0
	for i < len(body) && strings.TrimSpace(body[i].text) == "" {
		i++
	}
	j := i
	for j < len(body) && inBodyHeader.MatchString(body[j].text) {
		j++
	}
	if j == i || (j < len(body) && strings.TrimSpace(body[j].text) != "") {
		return body
	}
	for _, l := range body[i:j] {
		mm := inBodyHeader.FindStringSubmatch(l.text)
		switch mm[1] {
		case "From":
			m.author = formatAddress(mm[2])
		case "Date":
			if d := parseDate(mm[2]); !d.IsZero() {
				m.date = d
			}
		case "Subject":
			m.rawSubject = mm[2]
			m.pfx, m.subject = parseSubject(mm[2])
		}
	}
	return body[j:]
}

var dateLayouts = []string{
	"Mon Jan _2 15:04:05 2006 -0700", // git log
	"Mon Jan _2 2006 - 15:04:05 MST", // lkml.iu.edu archive
	"2006-01-02 15:04:05 -0700",
	"2006-01-02 15:04 MST", // lore thread dump
	"2006-01-02 15:04",
	time.RFC3339,
}

func parseDate(s string) time.Time {
	s = strings.Join(strings.Fields(s), " ")
	if t, err := mail.ParseDate(s); err == nil {
		return t
	}
	for _, layout := range dateLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t
		}
	}
	return time.Time{}
}

// Lore flat thread dumps (https://lore.kernel.org/<list>/<msgid>/T/).
var (
	loreFrom       = regexp.MustCompile(`^From: (.+?) @ (\d{4}-\d\d-\d\d \d\d:\d\d) UTC`)
	loreThreadLine = regexp.MustCompile("^(@| ) (\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d)\\s+(` )?(.*)$")
	lorePermalink  = "^ permalink raw reply"
)

// splitLore reads a lore flat thread dump: each message starts with
// "* subject" right after the previous message's permalink line, has
// thread lines, a "From: Name @ date UTC" line, indented To/Cc lines,
// then the body up to "^ permalink raw reply".
func splitLore(name string, lines []line) ([]*message, error) {
	var msgs []*message
	i := 0
	for i < len(lines) && strings.HasPrefix(lines[i].text, "* ") {
		m := &message{source: name, line: lines[i].num}
		m.rawSubject = lines[i].text[2:]
		m.sentSubject = m.rawSubject
		m.pfx, m.subject = parseSubject(m.rawSubject)
		i++
		// Thread lines above the "@" line are ancestors, nearest last;
		// the root's subject (the first) carries the version when the
		// message's own subject does not.
		self := false
		for ; i < len(lines) && !strings.HasPrefix(lines[i].text, "From: "); i++ {
			tl := loreThreadLine.FindStringSubmatch(lines[i].text)
			if tl == nil || self {
				continue
			}
			if tl[1] == "@" {
				self = true
				continue
			}
			if v := versionOf(tl[4]); v > 0 && m.loreRootVersion == 0 {
				m.loreRootVersion = v
			}
		}
		if i == len(lines) {
			return nil, &DamageError{File: name, Line: m.line, Patch: m.subject, Kind: TruncatedHunk,
				Reason: "thread dump ends before this message's \"From:\" line (the dump was cut off)"}
		}
		if f := loreFrom.FindStringSubmatch(lines[i].text); f != nil {
			m.author = f[1]
			m.date, _ = time.Parse("2006-01-02 15:04", f[2])
		} else {
			m.author = strings.TrimPrefix(lines[i].text, "From: ")
		}
		i++
		// To:/Cc: lines are indented; a line ending in ',' continues.
		// Public-inbox writes "To: a; +Cc: b" on one line, and shows a
		// bare address by its local part ("io-uring"), a person by name.
		cont := false
		var field *[]string
		for i < len(lines) {
			t := lines[i].text
			var rest string
			switch {
			case strings.HasPrefix(t, "  To: "):
				field, rest = &m.to, t[len("  To: "):]
			case strings.HasPrefix(t, "  Cc: "):
				field, rest = &m.cc, t[len("  Cc: "):]
			case cont && (strings.HasPrefix(t, " ") || strings.HasPrefix(t, "\t")):
				rest = t
			default:
				field = nil
			}
			if field == nil {
				break
			}
			if to, cc, ok := strings.Cut(rest, "; +Cc: "); ok {
				*field = appendNames(*field, to)
				field, rest = &m.cc, cc
			}
			*field = appendNames(*field, rest)
			cont = strings.HasSuffix(strings.TrimSpace(t), ",")
			i++
		}
		start := i
		for i < len(lines) && !strings.HasPrefix(lines[i].text, lorePermalink) {
			i++
		}
		m.body = lines[start:i]
		if i == len(lines) && len(msgs) > 0 {
			return nil, &DamageError{File: name, Line: m.line, Patch: m.subject, Kind: TruncatedHunk,
				Reason: "thread dump ends inside this message, before its \"^ permalink raw reply\" line (the dump was cut off)"}
		}
		msgs = append(msgs, m)
		i++ // the permalink line
	}
	return msgs, nil
}

// splitGitLog reads `git show` / `git log -p` output: "commit <sha>",
// Author/Date lines, the message indented by four spaces, then the diff.
func splitGitLog(name string, lines []line) []*message {
	var starts []int
	for i, l := range lines {
		if gitCommitLine.MatchString(l.text) && (i == 0 || !strings.HasPrefix(lines[i-1].text, " ")) {
			starts = append(starts, i)
		}
	}
	var msgs []*message
	for k, s := range starts {
		end := len(lines)
		if k+1 < len(starts) {
			end = starts[k+1]
		}
		chunk := lines[s:end]
		m := &message{source: name, line: chunk[0].num}
		i := 1
		for ; i < len(chunk) && chunk[i].text != ""; i++ {
			key, val, ok := strings.Cut(chunk[i].text, ":")
			if !ok {
				break
			}
			val = strings.TrimSpace(val)
			switch key {
			case "Author":
				m.author = formatAddress(val)
			case "Date", "AuthorDate":
				m.date = parseDate(val)
			}
		}
		for i < len(chunk) && chunk[i].text == "" {
			i++
		}
		var body []line
		subjectSet := false
		for ; i < len(chunk); i++ {
			t := chunk[i].text
			if t != "" && !strings.HasPrefix(t, "    ") {
				break
			}
			t = strings.TrimPrefix(t, "    ")
			if !subjectSet {
				m.rawSubject = t
				m.pfx, m.subject = parseSubject(t)
				subjectSet = true
				continue
			}
			body = append(body, line{t, chunk[i].num})
		}
		m.body = append(body, chunk[i:]...)
		msgs = append(msgs, m)
	}
	return msgs
}

// parseText reads a header-less text: a commit message (first line is
// the subject, optionally followed by "From:"/"Date:" lines as web
// archives show them) and a diff, or a bare diff.
func parseText(name string, lines []line) *message {
	m := &message{source: name, line: lines[0].num}
	if diffStartAt(lines, 0) {
		m.body = lines
		return m
	}
	m.rawSubject = lines[0].text
	m.pfx, m.subject = parseSubject(m.rawSubject)
	m.body = inBodyHeaders(m, lines[1:])
	return m
}
