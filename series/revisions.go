package series

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ktest-dev/ktest/patches"
)

// Choice says, for one patch of a series (one N/M, or one unnumbered
// subject), which posting of it is applied and why the others are not.
//
// The rule is b4's: the version applied (V) is the newest present, or
// the one asked for. A patch V lacks is taken from the newest earlier
// version that has it and numbers the series alike (a partial resend);
// a version newer than V is never applied. Within one version, a later
// send of a different diff supersedes an earlier one; two different
// diffs nothing orders are an *AmbiguousError.
type Choice struct {
	Number, Total int    // the slot; Number 0 for an unnumbered patch
	Subject       string // the applied posting's subject, else the first posting's
	// Applied is the posting applied, nil for a hole; From is its
	// version, Backfilled true when it is older than the series'.
	Applied    *Patch
	From       int
	Backfilled bool
	Superseded []*Patch // earlier versions and earlier sends, oldest first
	Later      []*Patch // versions newer than the one asked for
	// Unfit are earlier versions that count the series' patches
	// differently: their numbers may name other patches, so they are
	// not taken to fill a hole.
	Unfit []*Patch
}

// AmbiguousError is two different diffs for the same patch and version
// that nothing orders (no dates, or the same date): ktest will not pick
// one silently.
type AmbiguousError struct {
	Patch   string // "06/12", or the subject of an unnumbered patch
	Version int
	A, B    Posting
}

// Posting locates one message of the input.
type Posting struct {
	File string
	Line int
	Date time.Time
}

func (p Posting) String() string { return fmt.Sprintf("%s:%d", p.File, p.Line) }

func (e *AmbiguousError) Error() string {
	why := "neither has a date"
	switch {
	case !e.A.Date.IsZero() && !e.B.Date.IsZero():
		why = "both are dated " + e.A.Date.UTC().Format("2006-01-02 15:04")
	case !e.A.Date.IsZero() || !e.B.Date.IsZero():
		why = "only one has a date"
	}
	return fmt.Sprintf("%s and %s: two different diffs of patch %s, both v%d, and nothing says which is newer (%s); "+
		"keep one of them in the input, or label the newer one with its version ([PATCH vN ...])",
		e.A, e.B, e.Patch, e.Version, why)
}

// VersionError is a version asked for that the input does not hold.
type VersionError struct {
	Source  string
	Asked   int
	Present []int
	// Posted is a version the author corrected (posted as v2, really
	// v3): Posted[i] is how Present[i] was labelled, 0 if not relabelled.
	Posted map[int]int
}

func (e *VersionError) Error() string {
	var vs []string
	for _, v := range e.Present {
		s := fmt.Sprintf("v%d", v)
		if p := e.Posted[v]; p != 0 {
			s += fmt.Sprintf(" (posted as v%d)", p)
		}
		vs = append(vs, s)
	}
	return fmt.Sprintf("%s: no v%d in the input; it holds %s", e.Source, e.Asked, strings.Join(vs, ", "))
}

// MissingError is a series with holes: patches of the applied version
// that no posting in the input fills, even from an earlier version.
type MissingError struct {
	Source         string
	Version, Total int
	Missing        []int
	Present        int
}

func (e *MissingError) Error() string {
	return fmt.Sprintf("%s: %s: a series with missing patches is applied only when asked (--allow-missing)", e.Source, e.What())
}

// What is "patches 06–12/12 missing (v3; 5 of 12 present)".
func (e *MissingError) What() string {
	return fmt.Sprintf("%s missing (v%d; %d of %d present)", numberList(e.Missing, e.Total), e.Version, e.Present, e.Total)
}

// Complete returns a *MissingError when patches of the series are
// missing: apply and run refuse such a series unless told otherwise.
func (s *Series) Complete() error {
	if len(s.Missing) == 0 {
		return nil
	}
	return s.missing()
}

func (s *Series) missing() *MissingError {
	return &MissingError{Source: s.Source, Version: s.Version, Total: s.Patches[0].Total, Missing: s.Missing, Present: len(s.Patches)}
}

// slot gathers the postings of one patch.
type slot struct {
	num     int
	subject string
	posts   []*item // input order
}

// vkey is the version a message counts as: no version is v1.
func vkey(it *item) int { return max(it.ver, 1) }

// slots groups the postings by N/M, else by subject (the k-th posting
// of a subject within a version is the k-th patch of that subject):
// numbered slots by number, then unnumbered ones in input order.
func (a *assembler) slots() []*slot {
	byNum := map[int]*slot{}
	bySubject := map[string]*slot{}
	var numbered, unnumbered []*slot
	seen := map[string]int{}
	for _, it := range a.posts {
		if it.numbered {
			sl := byNum[it.num]
			if sl == nil {
				sl = &slot{num: it.num}
				byNum[it.num] = sl
				numbered = append(numbered, sl)
			}
			sl.posts = append(sl.posts, it)
			continue
		}
		subj := strings.ToLower(strings.Join(strings.Fields(it.m.subject), " "))
		k := fmt.Sprintf("%d\x00%s", vkey(it), subj)
		key := fmt.Sprintf("%s\x00%d", subj, seen[k])
		seen[k]++
		sl := bySubject[key]
		if sl == nil {
			sl = &slot{subject: it.m.subject}
			bySubject[key] = sl
			unnumbered = append(unnumbered, sl)
		}
		sl.posts = append(sl.posts, it)
	}
	sort.SliceStable(numbered, func(i, j int) bool { return numbered[i].num < numbered[j].num })
	return append(numbered, unnumbered...)
}

// choose picks the version to apply and, for every patch, the posting
// applied (see Choice); it fills Patches, Revisions, Choices, Missing.
func (a *assembler) choose() error {
	s := a.s
	present := map[int]bool{}
	for _, it := range a.posts {
		present[vkey(it)] = true
	}
	for v := range present {
		s.Versions = append(s.Versions, v)
	}
	slices.Sort(s.Versions)
	a.version = s.Versions[len(s.Versions)-1]
	if want := a.opts.Version; want != 0 {
		if !present[want] {
			e := &VersionError{Source: s.Source, Asked: want, Present: s.Versions}
			if a.fixVer != 0 {
				e.Posted = map[int]int{a.fixVer: max(a.rootVer, 1)}
			}
			return e
		}
		a.version = want
		s.VersionAsked = true
	}
	a.total = a.totalOf(a.version)
	for _, sl := range a.slots() {
		ch, it, err := a.settle(sl)
		if err != nil {
			return err
		}
		if it != nil {
			a.patches = append(a.patches, it)
		}
		s.Choices = append(s.Choices, ch)
	}
	return nil
}

// totalOf is the number of patches version v says its series has.
func (a *assembler) totalOf(v int) int {
	t := 0
	for _, it := range a.posts {
		if vkey(it) == v {
			t = max(t, it.total)
		}
	}
	for _, it := range a.covers {
		if vkey(it) == v {
			t = max(t, it.m.pfx.total)
		}
	}
	return t
}

// settle decides one slot: the posting applied (nil for a hole) and
// the Choice that says why.
func (a *assembler) settle(sl *slot) (*Choice, *item, error) {
	ch := &Choice{Number: sl.num, Total: a.total, Subject: sl.posts[0].m.subject}
	byVer := map[int][]*item{}
	for _, it := range sl.posts {
		byVer[vkey(it)] = append(byVer[vkey(it)], it)
	}
	var (
		chosen  *item
		resends []*item
		err     error
	)
	beyond := sl.num > 0 && a.total > 0 && sl.num > a.total && len(byVer[a.version]) == 0
	for v := a.version; v >= 1 && chosen == nil && !beyond; v-- {
		ps := byVer[v]
		if len(ps) == 0 {
			continue
		}
		if v != a.version && sl.num > 0 && !fits(ps, a.total) {
			continue
		}
		chosen, resends, err = a.newest(ps, ch)
		if err != nil {
			return nil, nil, err
		}
		ch.From, ch.Backfilled = v, v != a.version
	}
	if chosen != nil {
		if chosen.err != nil {
			return nil, nil, chosen.err
		}
		ch.Applied = newPatch(chosen.m, chosen.c)
		ch.Applied.Version = vkey(chosen)
		ch.Applied.Number, ch.Applied.Total = sl.num, a.total
		ch.Subject = chosen.m.subject
		chosen.patch = ch.Applied
	}
	for _, it := range sl.posts {
		switch {
		case it == chosen:
			continue
		case slices.Contains(resends, it) || chosen != nil && vkey(it) < ch.From:
			ch.Superseded = append(ch.Superseded, a.revision(it, sl))
		case vkey(it) > a.version:
			ch.Later = append(ch.Later, a.revision(it, sl))
		default: // an earlier version that numbers differently, or beyond the total
			ch.Unfit = append(ch.Unfit, a.revision(it, sl))
		}
		if chosen != nil && sameChange(it, chosen) {
			it.sameAs = chosen
		}
	}
	sortPostings(ch.Superseded)
	sortPostings(ch.Later)
	return ch, chosen, nil
}

// fits reports whether postings of an earlier version number the series
// as the applied one does (same total, or no total given).
func fits(ps []*item, total int) bool {
	for _, it := range ps {
		if it.total != 0 && total != 0 && it.total != total {
			return false
		}
	}
	return true
}

// newest picks, among postings of one patch in one version, the one sent
// last; the others are returned as its earlier sends. Two different
// diffs that no date orders are an *AmbiguousError.
func (a *assembler) newest(ps []*item, ch *Choice) (*item, []*item, error) {
	if len(ps) == 1 {
		return ps[0], nil, nil
	}
	sorted := slices.Clone(ps)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].m.date.Before(sorted[j].m.date) })
	last := sorted[len(sorted)-1]
	for _, o := range sorted[:len(sorted)-1] {
		if sameChange(o, last) {
			continue
		}
		if o.m.date.IsZero() || last.m.date.IsZero() || o.m.date.Equal(last.m.date) {
			id := PatchID{Number: ch.Number, Total: ch.Total}.String()
			if ch.Number == 0 {
				id = fmt.Sprintf("%q", o.m.subject)
			}
			return nil, nil, &AmbiguousError{Patch: id, Version: vkey(last),
				A: Posting{o.m.source, o.m.line, o.m.date}, B: Posting{last.m.source, last.m.line, last.m.date}}
		}
	}
	return last, sorted[:len(sorted)-1], nil
}

// sameChange reports whether two postings carry the same diff, blob
// names aside (a resend on another base changes only those).
func sameChange(x, y *item) bool {
	if x.err != nil || y.err != nil {
		return false
	}
	return stripIndex(x.c.diff) == stripIndex(y.c.diff)
}

func stripIndex(diff string) string {
	var b strings.Builder
	for _, l := range strings.Split(diff, "\n") {
		if strings.HasPrefix(l, "index ") {
			continue
		}
		b.WriteString(strings.TrimRight(l, " \t"))
		b.WriteByte('\n')
	}
	return b.String()
}

// revision makes the Patch of a posting that is not applied.
func (a *assembler) revision(it *item, sl *slot) *Patch {
	if it.err != nil {
		a.s.Warnings = append(a.s.Warnings, fmt.Sprintf("a posting that is not applied is damaged and ignored: %v", it.err))
	}
	p := newPatch(it.m, it.c)
	p.Version = vkey(it)
	p.Number, p.Total = sl.num, it.total
	p.RevisionOf = sl.num
	p.Kind = KindRevision
	it.patch = p
	a.revisions = append(a.revisions, it)
	return p
}

func sortPostings(ps []*Patch) {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].Version != ps[j].Version {
			return ps[i].Version < ps[j].Version
		}
		return ps[i].Date.Before(ps[j].Date)
	})
}

// numberList renders patch numbers as "patch 2/3" or "patches 06–12/12".
func numberList(nums []int, total int) string {
	if len(nums) == 1 {
		return "patch " + numberRange(nums, total)
	}
	return "patches " + numberRange(nums, total)
}

// numberRange renders ascending patch numbers as "01–05, 07–12/12".
func numberRange(nums []int, total int) string {
	w := len(fmt.Sprint(max(total, 1)))
	var parts []string
	for i := 0; i < len(nums); {
		j := i
		for j+1 < len(nums) && nums[j+1] == nums[j]+1 {
			j++
		}
		part := fmt.Sprintf("%0*d", w, nums[i])
		if j > i {
			part += fmt.Sprintf("–%0*d", w, nums[j])
		}
		parts = append(parts, part)
		i = j + 1
	}
	list := strings.Join(parts, ", ")
	if total > 0 {
		list += fmt.Sprintf("/%d", total)
	}
	return list
}

// IsBadInput reports whether err is the input's fault: damage, a source
// that cannot be read, an embedded series ktest does not ship, an
// ambiguous choice of revisions, a version the input lacks, or missing
// patches.
func IsBadInput(err error) bool {
	var (
		damage    *DamageError
		source    *SourceError
		ambiguous *AmbiguousError
		version   *VersionError
		missing   *MissingError
		embedded  *patches.UnknownError
	)
	return errors.As(err, &damage) || errors.As(err, &source) || errors.As(err, &ambiguous) ||
		errors.As(err, &version) || errors.As(err, &missing) || errors.As(err, &embedded)
}
