package series

import (
	"cmp"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
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
	// ver is the version the message was posted as (0: none given),
	// after the author's correction; num and total its N/M, or the
	// number its file name or subject gives it (numbered then).
	ver, num, total int
	numbered        bool
	// sameAs is, for a posting not applied, the applied posting of the
	// same patch when it carries the same diff (a resend, or a version
	// that did not change this patch).
	sameAs *item
}

func (it *item) reply() bool { return it.m.pfx.reply }

// versionCorrection finds an author's "this one is v3, obviously, not v2".
var versionCorrection = []*regexp.Regexp{
	regexp.MustCompile(`(?i)\b(?:this|it)(?: one)? (?:is|was|should be|should have been|is really|is actually) v(\d+)\b`),
	regexp.MustCompile(`(?i)\bshould (?:say|read|have said) v(\d+)\b`),
	regexp.MustCompile(`(?i)\bs/v\d+/v(\d+)/`),
}

// assemble sorts analysed messages into a Series: the cover letter, the
// patches to apply in order (the newest version of each, see Choice),
// fixups from replies, postings not applied, trailers from replies, and
// warnings for what is missing. Each step is a method of assembler, in
// this order.
func assemble(source, format string, msgs []*message, opts Options) (*Series, error) {
	a := newAssembler(source, format, msgs)
	a.opts = opts
	if err := a.findRoot(); err != nil {
		return nil, err
	}
	a.correctVersion()
	if err := a.classify(); err != nil {
		return nil, err
	}
	a.numberPostings()
	if err := a.choose(); err != nil {
		return nil, err
	}
	a.numberPatches()
	a.settleCover()
	a.addNotes()
	a.addReplies()
	a.settleTitle()
	completeAuthors(a.s, a.items)
	return a.s, nil
}

// assembler is the state of one assemble.
type assembler struct {
	s     *Series
	opts  Options
	items []*item
	byID  map[string]*item
	root  *item // the thread root, or the first message that is not a reply
	// rootVer is the root's version as posted; fixVer the author's
	// correction of it (0 if none).
	rootVer, fixVer int
	covers          []*item // cover letters of any version, input order
	posts           []*item // messages with a diff that are not replies, input order
	version         int     // the version applied
	total           int     // its series' patch count
	patches         []*item // applied, in order
	revisions       []*item // postings not applied
}

// newAssembler analyses every message.
func newAssembler(source, format string, msgs []*message) *assembler {
	a := &assembler{s: &Series{Source: source, Format: format}, byID: map[string]*item{}}
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

// findRoot finds the message the thread starts with: the first that is
// not a reply.
func (a *assembler) findRoot() error {
	for _, it := range a.items {
		if !it.reply() {
			a.root = it
			break
		}
	}
	if a.root == nil {
		if len(a.items) > 0 && a.items[0].err != nil {
			return a.items[0].err
		}
		return &DamageError{File: a.s.Source, Line: firstLine(a.items), Kind: NotAPatch,
			Reason: "no patch found: every message is a reply and none carries a diff"}
	}
	a.rootVer = version(a.root.m, a.byID)
	return nil
}

// correctVersion reads the cover letter's author correcting the
// version ("this one is v3, obviously, not v2"): every message posted
// as the root's version counts as the corrected one.
func (a *assembler) correctVersion() {
	if a.root.err != nil || a.root.c.hasDiff {
		return
	}
	if v, why := correctedVersion(a.root, a.items); v != 0 && !sameVersion(v, a.rootVer) {
		a.s.Notes = append(a.s.Notes, fmt.Sprintf("version v%d, not v%d as the subject says: %s", v, max(a.rootVer, 1), why))
		a.fixVer = v
	}
}

// classify sorts the messages that are not replies into cover letters
// and postings (messages with a diff), and gives each its version.
func (a *assembler) classify() error {
	s := a.s
	for _, it := range a.items {
		m := it.m
		if it.reply() {
			continue
		}
		it.ver = version(m, a.byID)
		if a.fixVer != 0 && sameVersion(it.ver, a.rootVer) {
			it.ver = a.fixVer
		}
		switch {
		case it.err == nil && !it.c.hasDiff:
			if m.pfx.numbered && m.pfx.number == 0 || it == a.root {
				a.covers = append(a.covers, it)
				continue
			}
			if m.pfx.numbered && m.pfx.number > 0 && m.lastInFile {
				return &DamageError{File: m.source, Line: m.line, Patch: m.subject, Kind: TruncatedHunk,
					Reason: fmt.Sprintf("patch %d/%d has no diff and ends the file (the mbox was cut off)", m.pfx.number, m.pfx.total)}
			}
			s.Warnings = append(s.Warnings, fmt.Sprintf("%s:%d: message %q has no diff; ignored", m.source, m.line, m.rawSubject))
			continue
		case m.pfx.numbered && m.pfx.number == 0:
			a.covers = append(a.covers, it)
			s.Notes = append(s.Notes, fmt.Sprintf("%s:%d: the cover letter carries a diff; it is not applied", m.source, m.line))
			continue
		}
		a.posts = append(a.posts, it)
	}
	if len(a.posts) == 0 {
		if len(a.covers) > 0 {
			c := a.covers[0]
			if c.err != nil {
				return c.err
			}
			return &DamageError{File: c.m.source, Line: c.m.line, Patch: c.m.subject, Kind: NotAPatch,
				Reason: notAPatchReason(c)}
		}
		return &DamageError{File: s.Source, Line: firstLine(a.items), Kind: NotAPatch, Reason: "no patch found"}
	}
	return nil
}

// numberPostings gives every posting its N/M: its subject's; else, in a
// directory of several patches, its file name's ("0005-..." is 5);
// else that of a numbered posting with the same subject (a resend
// without N/M). The rest stay unnumbered.
func (a *assembler) numberPostings() {
	bySubject := map[string]*item{}
	for _, it := range a.posts {
		if p := it.m.pfx; p.numbered {
			it.num, it.total, it.numbered = p.number, p.total, true
			if _, ok := bySubject[strings.ToLower(it.m.subject)]; !ok {
				bySubject[strings.ToLower(it.m.subject)] = it
			}
		}
	}
	for _, it := range a.posts {
		switch {
		case it.numbered:
		case it.m.fileNumber > 0 && len(a.posts) > 1:
			it.num, it.numbered = it.m.fileNumber, true
			a.s.Notes = append(a.s.Notes, fmt.Sprintf("%s: no N/M in its subject; it is patch %d by its file name", it.m.source, it.num))
		case bySubject[strings.ToLower(it.m.subject)] != nil:
			o := bySubject[strings.ToLower(it.m.subject)]
			it.num, it.total, it.numbered = o.num, o.total, true
			a.s.Notes = append(a.s.Notes, fmt.Sprintf("%s:%d: no N/M in its subject; it is patch %d/%d by its subject", it.m.source, it.m.line, o.num, o.total))
		}
	}
}

// numberPatches numbers the applied patches (unnumbered ones after the
// numbered), gives them the series' total, and warns about holes.
func (a *assembler) numberPatches() {
	s := a.s
	numbered := 0
	for _, it := range a.patches {
		if it.numbered {
			numbered++
		}
	}
	if numbered > 0 && numbered < len(a.patches) {
		s.Warnings = append(s.Warnings, fmt.Sprintf("%d of %d patches carry no N/M number; they are applied last, in input order", len(a.patches)-numbered, len(a.patches)))
	}
	next := numberedMax(a.patches)
	for _, it := range a.patches {
		if !it.numbered {
			next++
			it.patch.Number = next
		}
		s.Patches = append(s.Patches, it.patch)
	}
	total := a.total
	if total == 0 && numbered > 0 && numbered == len(a.patches) {
		// File names number the patches but nothing gives the count:
		// a gap below the highest number is still a hole.
		total = numberedMax(a.patches)
	}
	if total == 0 || total < len(s.Patches) && numbered == 0 {
		total = len(s.Patches)
	}
	for _, p := range s.Patches {
		p.Total = total
	}
	have := map[int]bool{}
	for _, it := range a.patches {
		if it.numbered {
			have[it.num] = true
		}
	}
	for n := 1; n <= total && numbered > 0; n++ {
		if !have[n] {
			s.Missing = append(s.Missing, n)
		}
	}
	if len(s.Missing) > 0 {
		s.Warnings = append(s.Warnings, numberList(s.Missing, total)+" missing")
	}
	for _, p := range s.Patches {
		if p.Number > total {
			s.Warnings = append(s.Warnings, fmt.Sprintf("patch %s numbers beyond the series' %d patches", p.ID(), total))
		}
	}
	a.total = total
	for _, ch := range s.Choices {
		ch.Total = total
	}
	for _, it := range a.revisions {
		s.Revisions = append(s.Revisions, it.patch)
	}
	sort.SliceStable(s.Revisions, func(i, j int) bool {
		x, y := s.Revisions[i], s.Revisions[j]
		if x.RevisionOf != y.RevisionOf {
			return x.RevisionOf < y.RevisionOf
		}
		return x.Version < y.Version
	})
}

// settleCover takes the applied version's cover letter, else the
// newest earlier one, else the first; the series' version is the one
// applied, and the base and pull address come from that cover.
func (a *assembler) settleCover() {
	s := a.s
	s.Version = a.version
	var cover *item
	for _, c := range a.covers {
		switch {
		case vkey(c) > a.version:
		case cover == nil || vkey(c) > vkey(cover):
			cover = c
		}
	}
	if cover == nil && len(a.covers) > 0 {
		cover = a.covers[0]
	}
	for _, c := range a.covers {
		if c != cover {
			s.Notes = append(s.Notes, fmt.Sprintf("%s:%d: the cover letter of v%d is not the one used (v%d's is)", c.m.source, c.m.line, vkey(c), vkey(cover)))
		}
	}
	if cover != nil {
		s.Cover = newPatch(cover.m, cover.c)
		s.Cover.Kind = KindCover
		s.Cover.Version = vkey(cover)
		s.Cover.Total = a.total
		cover.patch = s.Cover
		s.Tree = cover.c.tree
		s.Base = cover.c.base
		if vkey(cover) != a.version {
			s.Notes = append(s.Notes, fmt.Sprintf("the cover letter is v%d's: v%d's is not in the input", vkey(cover), a.version))
		}
	}
	for _, it := range a.patches {
		if s.Base == "" {
			s.Base = it.c.base
		}
	}
}

// addNotes keeps the repairs analyse noted, of what is applied and not.
func (a *assembler) addNotes() {
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
		case t.patch != nil && t.patch == s.Cover:
			for _, p := range s.Patches {
				addTrailers(p, it.c.trailers)
			}
		case t.patch != nil:
			addTrailers(t.patch, it.c.trailers)
			// As b4 does: a trailer given to an earlier posting holds
			// for a later one that did not change the patch.
			if t.sameAs != nil {
				addTrailers(t.sameAs.patch, it.c.trailers)
			}
		}
	}
	for i, it := range fixups {
		p := newPatch(it.m, it.c)
		p.Number = i + 1
		p.Total = 0
		p.Body = joinText(it.c.commentary)
		p.Note = it.c.note
		p.Version = s.Version
		if t := it.target; t != nil && t.patch != nil {
			p.Subject = t.patch.Subject
			p.RevisionOf = t.patch.Number
			if t.patch.RevisionOf != 0 {
				p.RevisionOf = t.patch.RevisionOf
			}
			p.Version = t.patch.Version
		}
		p.Kind = KindFixup
		if t := it.target; t != nil && t.patch != nil && t.patch.Kind == KindRevision && t.sameAs == nil {
			s.Warnings = append(s.Warnings, fmt.Sprintf("%s (%s:%d) answers v%d of patch %d, which is not applied: written against it, it may not apply",
				p.ID(), it.m.source, it.m.line, t.patch.Version, p.RevisionOf))
		}
		it.patch = p
		s.Fixups = append(s.Fixups, p)
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
}

// isPlaceholderSubject recognises the subject `git format-patch
// --cover-letter` writes for the author to replace.
func isPlaceholderSubject(subject string) bool {
	return strings.Contains(subject, "*** SUBJECT HERE ***")
}

func numberedMax(patches []*item) int {
	n := 0
	for _, it := range patches {
		if it.numbered {
			n = max(n, it.num)
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
	author := authorName(cover.m.author)
	texts := [][]line{cover.c.message}
	for _, it := range items {
		if it.reply() && answers(it, cover) && sameSubject(authorName(it.m.author), author) {
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

// answers reports whether reply it is in the thread below msg: by
// In-Reply-To or References, else (lore dumps keep no ids) by subject.
func answers(it, msg *item) bool {
	if id := msg.m.msgID; id != "" && (it.m.inReplyTo != "" || len(it.m.references) > 0) {
		return it.m.inReplyTo == id || slices.Contains(it.m.references, id)
	}
	return sameSubject(it.m.subject, msg.m.subject)
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
