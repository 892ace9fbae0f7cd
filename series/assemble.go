package series

import (
	"cmp"
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// item is one analysed message on its way into a Series.
type item struct {
	m      *message
	c      *content
	err    error // damage in this message's diff
	patch  *Patch
	target *item // replies: the cover or patch replied to
	seen   bool  // target resolution in progress (cycle guard)
}

func (it *item) reply() bool { return it.m.pfx.reply }

// versionCorrection finds an author's "this one is v3, obviously, not v2".
var versionCorrection = []*regexp.Regexp{
	regexp.MustCompile(`(?i)\b(?:this|it)(?: one)? (?:is|was|should be|should have been|is really|is actually) v(\d+)\b`),
	regexp.MustCompile(`(?i)\bshould (?:say|read|have said) v(\d+)\b`),
	regexp.MustCompile(`(?i)\bs/v\d+/v(\d+)/`),
}

// assemble sorts analysed messages into a Series: the cover letter, the
// patches of the primary version in order, fixups from replies, later
// revisions, trailers from replies, and warnings for what is missing.
// Each step is a method of assembler, in this order.
func assemble(source, format string, msgs []*message) (*Series, error) {
	a := newAssembler(source, format, msgs)
	if err := a.findPrimary(); err != nil {
		return nil, err
	}
	if err := a.classify(); err != nil {
		return nil, err
	}
	a.numberPatches()
	a.addRevisions()
	a.addReplies()
	a.settleVersion()
	a.settleTitle()
	completeAuthors(a.s, a.items)
	return a.s, nil
}

// assembler is the state of one assemble.
type assembler struct {
	s          *Series
	items      []*item
	byID       map[string]*item
	primary    *item // the thread root, or the first patch
	primaryVer int
	cover      *item
	taken      map[int]bool // patch numbers of the primary version seen
	patches    []*item      // the primary version's, in order
	revisions  []*item
	total      int // the series' patch count
}

// newAssembler analyses every message.
func newAssembler(source, format string, msgs []*message) *assembler {
	a := &assembler{s: &Series{Source: source, Format: format}, byID: map[string]*item{}, taken: map[int]bool{}}
	for _, m := range msgs {
		it := &item{m: m}
		it.c, it.err = analyse(m, m.pfx.reply)
		if m.subject == "" && !m.pfx.reply {
			m.subject = strings.TrimSuffix(filepath.Base(m.source), filepath.Ext(m.source))
		}
		a.items = append(a.items, it)
		if m.msgID != "" {
			a.byID[m.msgID] = it
		}
	}
	return a
}

// findPrimary picks the version the series is about: the thread
// root's, or the first patch's.
func (a *assembler) findPrimary() error {
	for _, it := range a.items {
		if !it.reply() {
			a.primary = it
			break
		}
	}
	if a.primary == nil {
		if len(a.items) > 0 && a.items[0].err != nil {
			return a.items[0].err
		}
		return &DamageError{File: a.s.Source, Line: firstLine(a.items), Kind: NotAPatch,
			Reason: "no patch found: every message is a reply and none carries a diff"}
	}
	a.primaryVer = version(a.primary.m, a.byID)
	return nil
}

// classify sorts the messages that are not replies into the cover
// letter, the primary version's patches and later revisions.
func (a *assembler) classify() error {
	s := a.s
	for _, it := range a.items {
		m := it.m
		switch {
		case it.reply():
			continue
		case it.err == nil && !it.c.hasDiff:
			if a.cover == nil && (m.pfx.numbered && m.pfx.number == 0 || it == a.primary) {
				a.cover = it
				continue
			}
			if m.pfx.numbered && m.pfx.number > 0 && m.lastInFile {
				return &DamageError{File: m.source, Line: m.line, Patch: m.subject, Kind: TruncatedHunk,
					Reason: fmt.Sprintf("patch %d/%d has no diff and ends the file (the mbox was cut off)", m.pfx.number, m.pfx.total)}
			}
			s.Warnings = append(s.Warnings, fmt.Sprintf("%s:%d: message %q has no diff; ignored", m.source, m.line, m.rawSubject))
			continue
		case m.pfx.numbered && m.pfx.number == 0:
			if a.cover == nil {
				a.cover = it
				s.Notes = append(s.Notes, "the cover letter carries a diff; it is not applied")
				continue
			}
		}
		v := version(m, a.byID)
		if sameVersion(v, a.primaryVer) && !(m.pfx.numbered && a.taken[m.pfx.number]) {
			if it.err != nil {
				return it.err
			}
			if m.pfx.numbered {
				a.taken[m.pfx.number] = true
			}
			a.patches = append(a.patches, it)
			continue
		}
		if it.err != nil {
			s.Warnings = append(s.Warnings, fmt.Sprintf("later revision is damaged and ignored: %v", it.err))
			continue
		}
		a.revisions = append(a.revisions, it)
	}
	if len(a.patches) == 0 {
		if a.cover != nil {
			return &DamageError{File: a.cover.m.source, Line: a.cover.m.line, Patch: a.cover.m.subject, Kind: NotAPatch,
				Reason: notAPatchReason(a.cover)}
		}
		return &DamageError{File: s.Source, Line: firstLine(a.items), Kind: NotAPatch, Reason: "no patch found"}
	}
	return nil
}

// numberPatches orders the patches by N/M (input order among equals,
// unnumbered ones last), numbers them, and warns about gaps.
func (a *assembler) numberPatches() {
	s, patches := a.s, a.patches
	sort.SliceStable(patches, func(i, j int) bool {
		x, y := patches[i].m.pfx, patches[j].m.pfx
		if x.numbered != y.numbered {
			return x.numbered
		}
		return x.number < y.number
	})
	s.Version = max(a.primaryVer, 1)
	if a.cover != nil {
		s.Cover = newPatch(a.cover.m, a.cover.c)
		s.Cover.Kind = KindCover
		a.cover.patch = s.Cover
		s.Tree = a.cover.c.tree
		s.Base = a.cover.c.base
	}
	total := 0
	for _, it := range patches {
		total = max(total, it.m.pfx.total)
	}
	if a.cover != nil {
		total = max(total, a.cover.m.pfx.total)
	}
	numbered := 0
	for _, it := range patches {
		if it.m.pfx.numbered {
			numbered++
		}
	}
	if numbered > 0 && numbered < len(patches) {
		s.Warnings = append(s.Warnings, fmt.Sprintf("%d of %d patches carry no N/M number; they are applied last, in input order", len(patches)-numbered, len(patches)))
	}
	next := 0
	for _, it := range patches {
		p := newPatch(it.m, it.c)
		if !it.m.pfx.numbered {
			next = max(next, numberedMax(patches)) + 1
			p.Number = next
		}
		it.patch = p
		s.Patches = append(s.Patches, p)
		if s.Base == "" {
			s.Base = it.c.base
		}
	}
	if total == 0 || total < len(s.Patches) && numbered == 0 {
		total = len(s.Patches)
	}
	for _, p := range s.Patches {
		p.Total = total
	}
	for n := 1; n <= total; n++ {
		if !a.taken[n] && numbered > 0 {
			s.Warnings = append(s.Warnings, fmt.Sprintf("patch %d/%d missing", n, total))
		}
	}
	for _, p := range s.Patches {
		if p.Number > total {
			s.Warnings = append(s.Warnings, fmt.Sprintf("patch %s numbers beyond the series' %d patches", p.ID(), total))
		}
	}
	a.total = total
}

// addRevisions lists later versions of patches, which are not applied.
func (a *assembler) addRevisions() {
	for _, it := range a.revisions {
		p := newPatch(it.m, it.c)
		p.Version = max(version(it.m, a.byID), 1)
		p.RevisionOf = it.m.pfx.number
		p.Kind = KindRevision
		it.patch = p
		a.s.Revisions = append(a.s.Revisions, p)
	}
	for _, it := range append(append([]*item{}, a.patches...), a.revisions...) {
		a.s.Notes = append(a.s.Notes, it.c.notes...)
	}
}

// addReplies takes fixup diffs and trailers from review replies.
func (a *assembler) addReplies() {
	s := a.s
	var fixups []*item
	for _, it := range a.items {
		if !it.reply() {
			continue
		}
		t := resolveTarget(it, a.items, a.byID)
		it.target = t
		if it.err != nil {
			s.Warnings = append(s.Warnings, fmt.Sprintf("a reply's diff is damaged and ignored: %v", it.err))
			continue
		}
		if it.c.hasDiff {
			fixups = append(fixups, it)
			continue
		}
		if len(it.c.trailers) == 0 {
			continue
		}
		switch {
		case t == nil:
			s.Warnings = append(s.Warnings, fmt.Sprintf("%s:%d: trailers in a reply to %q that is not in the input are ignored", it.m.source, it.m.line, it.m.rawSubject))
		case t == a.cover:
			for _, p := range s.Patches {
				addTrailers(p, it.c.trailers)
			}
		case t.patch != nil:
			addTrailers(t.patch, it.c.trailers)
		}
	}
	for i, it := range fixups {
		p := newPatch(it.m, it.c)
		p.Number = i + 1
		p.Total = 0
		p.Body = joinText(it.c.commentary)
		p.Note = it.c.note
		if t := it.target; t != nil && t.patch != nil {
			p.Subject = t.patch.Subject
			p.RevisionOf = t.patch.Number
			if t.patch.RevisionOf != 0 {
				p.RevisionOf = t.patch.RevisionOf
			}
			p.Version = t.patch.Version
		}
		p.Kind = KindFixup
		it.patch = p
		s.Fixups = append(s.Fixups, p)
	}
}

// settleVersion applies the author's own correction of the version and
// gives every patch the series' version.
func (a *assembler) settleVersion() {
	s := a.s
	if v, why := correctedVersion(a.cover, a.items); v != 0 && !sameVersion(v, a.primaryVer) {
		s.Notes = append(s.Notes, fmt.Sprintf("version v%d, not v%d as the subject says: %s", v, max(a.primaryVer, 1), why))
		s.Version = v
	}
	for _, p := range s.Patches {
		p.Version = s.Version
	}
	if s.Cover != nil {
		s.Cover.Version = s.Version
		s.Cover.Total = a.total
	}
	for _, p := range s.Fixups {
		if p.Version == 0 {
			p.Version = s.Version
		}
	}
}

// settleTitle titles the series by its cover letter, unless that is
// format-patch's placeholder, else by its first patch.
func (a *assembler) settleTitle() {
	s := a.s
	switch {
	case s.Cover != nil && !isPlaceholderSubject(s.Cover.Subject):
		s.Title = s.Cover.Subject
	case s.Cover != nil:
		s.Title = s.Patches[0].Subject
		s.Notes = append(s.Notes, fmt.Sprintf("the cover letter's subject is git format-patch's placeholder %q; the series is titled by its first patch", s.Cover.Subject))
	default:
		s.Title = s.Patches[0].Subject
	}
	if len(s.Revisions) > 0 {
		s.Notes = append(s.Notes, fmt.Sprintf("%d later revision(s) of patches in this series are listed, not applied", len(s.Revisions)))
	}
}

// isPlaceholderSubject recognises the subject `git format-patch
// --cover-letter` writes for the author to replace.
func isPlaceholderSubject(subject string) bool {
	return strings.Contains(subject, "*** SUBJECT HERE ***")
}

func numberedMax(patches []*item) int {
	n := 0
	for _, it := range patches {
		if it.m.pfx.numbered {
			n = max(n, it.m.pfx.number)
		}
	}
	return n
}

func firstLine(items []*item) int {
	if len(items) == 0 {
		return 0
	}
	return items[0].m.line
}

func notAPatchReason(cover *item) string {
	if cover.m.pfx.numbered || cover.m.subject != "" && cover.m.format() != "text" {
		return "no diff found: the input holds a cover letter or message but no patch"
	}
	return "no diff found: expected a unified diff (diff --git, or ---/+++ and @@ lines), an mbox, format-patch files or a lore thread dump"
}

func (m *message) format() string {
	if m.rawSubject == "" {
		return "diff"
	}
	if m.msgID != "" {
		return "mail"
	}
	return "text"
}

// version is the vN a message belongs to: its subject's, else the lore
// thread root's, else its In-Reply-To parent's; 0 if nothing says.
func version(m *message, byID map[string]*item) int {
	if m.pfx.version > 0 {
		return m.pfx.version
	}
	if m.loreRootVersion > 0 {
		return m.loreRootVersion
	}
	seen := map[string]bool{}
	for id := m.inReplyTo; id != "" && !seen[id]; {
		seen[id] = true
		p := byID[id]
		if p == nil {
			break
		}
		if p.m.pfx.version > 0 {
			return p.m.pfx.version
		}
		id = p.m.inReplyTo
	}
	return 0
}

func sameVersion(a, b int) bool { return max(a, 1) == max(b, 1) }

// resolveTarget finds the cover or patch a reply belongs to: through
// In-Reply-To/References, else by subject (lore dumps have no ids).
func resolveTarget(it *item, items []*item, byID map[string]*item) *item {
	if it.target != nil || it.seen {
		return it.target
	}
	it.seen = true
	ids := append([]string{it.m.inReplyTo}, reversed(it.m.references)...)
	for _, id := range ids {
		p := byID[id]
		if p == nil || p == it {
			continue
		}
		if !p.reply() {
			return p
		}
		if t := resolveTarget(p, items, byID); t != nil {
			return t
		}
	}
	v := max(it.m.loreRootVersion, it.m.pfx.version)
	var best *item
	for _, c := range items {
		if c.reply() || c.patch == nil || !sameSubject(c.m.subject, it.m.subject) {
			continue
		}
		if it.m.pfx.numbered && c.m.pfx.numbered && c.m.pfx.number != it.m.pfx.number {
			continue
		}
		if best == nil || (v > 0 && version(c.m, byID) == v && version(best.m, byID) != v) {
			best = c
		}
	}
	return best
}

func reversed(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[len(s)-1-i] = v
	}
	return out
}

func addTrailers(p *Patch, ts []Trailer) {
	for _, t := range ts {
		dup := false
		for _, have := range p.Trailers {
			if strings.EqualFold(have.Key, t.Key) && have.Value == t.Value {
				dup = true
				break
			}
		}
		if !dup {
			p.Trailers = append(p.Trailers, t)
		}
	}
}

// correctedVersion looks for the cover letter's author correcting the
// version, in the cover itself or in their replies to it.
func correctedVersion(cover *item, items []*item) (int, string) {
	if cover == nil {
		return 0, ""
	}
	author := cover.patch.AuthorName()
	texts := [][]line{cover.c.message}
	for _, it := range items {
		if it.reply() && it.target == cover && sameSubject(authorName(it.m.author), author) {
			texts = append(texts, it.c.commentary)
		}
	}
	for _, lines := range texts {
		for _, l := range lines {
			for _, re := range versionCorrection {
				if mm := re.FindStringSubmatch(l.text); mm != nil {
					v, _ := strconv.Atoi(mm[1])
					return v, fmt.Sprintf("%s wrote %q (%s:%d)", author, strings.TrimSpace(l.text), cover.m.source, l.num)
				}
			}
		}
	}
	return 0, ""
}

func authorName(a string) string {
	if i := strings.Index(a, " <"); i > 0 {
		return a[:i]
	}
	return a
}

// completeAuthors gives an email address to authors and recipients known
// only by name (lore dumps show "From: Name @ date" and "To: io-uring"),
// from addresses the input gives elsewhere: headers, To/Cc lines and
// trailers.
func completeAuthors(s *Series, items []*item) {
	book := addressBook{}
	for _, it := range items {
		book.learn(it.m.author)
		for _, v := range append(append([]string(nil), it.m.to...), it.m.cc...) {
			book.learn(v)
		}
		for _, t := range it.c.trailers {
			book.learn(t.Value)
		}
	}
	all := append(append(append([]*Patch{s.Cover}, s.Patches...), s.Fixups...), s.Revisions...)
	for _, p := range all {
		if p == nil {
			continue
		}
		if p.Author != "" && !strings.Contains(p.Author, "<") {
			p.Author = book.resolve(p.Author)
		}
		p.To, p.Cc = book.resolveAll(p.To), book.resolveAll(p.Cc)
	}
	// Header-less commits (git show pasted, web archives) name their
	// author nowhere else: the first Signed-off-by is the author by
	// kernel convention.
	for _, p := range s.Patches {
		if p.Author != "" {
			continue
		}
		for _, t := range p.Trailers {
			if strings.EqualFold(t.Key, "Signed-off-by") {
				p.Author = t.Value
				break
			}
		}
	}
}

// addressBook maps what a lore dump shows for an address, a person's
// name or a bare address's local part (lower-cased), to the first full
// address the input gives for it.
type addressBook map[string]string

func (b addressBook) learn(v string) {
	v = strings.TrimSpace(v)
	key := ""
	switch i := strings.Index(v, " <"); {
	case i > 0 && strings.HasSuffix(v, ">"):
		key = v[:i]
	case !strings.ContainsAny(v, " <>") && strings.Count(v, "@") == 1:
		key, _, _ = strings.Cut(v, "@")
	}
	key = strings.ToLower(strings.TrimSpace(key))
	if _, ok := b[key]; key != "" && !ok {
		b[key] = v
	}
}

// resolve returns the full address for a bare name, else v.
func (b addressBook) resolve(v string) string {
	if full, ok := b[strings.ToLower(strings.TrimSpace(v))]; ok && !strings.Contains(v, "@") {
		return full
	}
	return v
}

func (b addressBook) resolveAll(vs []string) []string {
	out := make([]string, 0, len(vs))
	for _, v := range vs {
		out = append(out, b.resolve(v))
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func newPatch(m *message, c *content) *Patch {
	p := &Patch{
		Subject:    m.subject,
		Author:     m.author,
		Date:       m.date,
		Version:    m.pfx.version,
		Number:     m.pfx.number,
		Total:      m.pfx.total,
		MessageID:  m.msgID,
		RawSubject: cmp.Or(m.sentSubject, m.rawSubject),
		InReplyTo:  m.inReplyTo,
		References: m.references,
		To:         m.to,
		Cc:         m.cc,
		Trailers:   append([]Trailer(nil), c.trailers...),
		Files:      c.files,
		Source:     m.source,
		Line:       m.line,
		Body:       joinText(c.message),
		Diff:       c.diff,
		Tags:       m.pfx.tags,
	}
	return p
}

func joinText(lines []line) string {
	parts := make([]string, len(lines))
	for i, l := range lines {
		parts[i] = l.text
	}
	return strings.Join(parts, "\n")
}
