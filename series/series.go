package series

import (
	"fmt"
	"strings"
	"time"

	"github.com/bluekeyes/go-gitdiff/gitdiff"
)

// Series is a patch series: an optional cover letter, the patches to apply
// in order, and what the review thread added around them.
type Series struct {
	Source string // the file or directory given to Load, or Parse's name
	Format string // "lore-thread", "mbox", "mail", "git-show", "text", "diff" or "directory"
	Title  string // cover letter subject without prefix, else first patch subject
	// Version is the vN applied. It honours a correction by the cover
	// letter's author such as "this one is v3, obviously, not v2".
	// A patch that version lacks may come from an earlier one (see
	// Choices): each Patch has its own Version.
	Version int
	Base    string   // base-commit given by the series (format-patch --base); "" if none
	Tree    string   // "url branch" the cover letter says the series can be pulled from
	Cover   *Patch   // nil if none
	Patches []*Patch // ordered, the ones to apply
	Fixups  []*Patch // diffs carried by replies (review incremental diffs); applied only with --with-fixups
	// Revisions are the postings not applied: earlier versions and
	// earlier sends of an applied patch, and versions newer than the
	// one asked for (see Choices for why each).
	Revisions []*Patch
	// Versions are the versions the input holds patches of, ascending;
	// Version is the one applied: the newest, or the one asked for
	// (VersionAsked).
	Versions     []int
	VersionAsked bool
	// Choices say, for every patch, which posting of it is applied and
	// why the others are not.
	Choices []*Choice
	// Missing are the patch numbers of the applied version that no
	// posting fills, even from an earlier version (holes); see Complete.
	Missing  []int
	Warnings []string // e.g. "patch 3/5 missing"
	Notes    []string // facts worth knowing that are not problems, e.g. a version correction
}

// Patch is one message of a series: a patch, the cover letter, a fixup
// diff from a reply or a later revision.
type Patch struct {
	Subject                string // without [PATCH ...] prefix and Re:
	Author                 string // "Name <email>" when known
	Date                   time.Time
	Version, Number, Total int
	MessageID              string
	// RawSubject is the Subject as sent, prefixes and all; a reply
	// quotes it.
	RawSubject string
	InReplyTo  string   // the Message-Id this message answers, without <>
	References []string // its References chain, oldest first, without <>
	// To and Cc are the recipients as "Name <addr>", or as the bare name
	// a lore thread dump shows when no address for it was found.
	To, Cc []string
	// Trailers are Signed-off-by, Acked-by, Reviewed-by, Tested-by (and
	// others) in message order, followed by trailers given in replies.
	Trailers []Trailer
	Files    []*gitdiff.File // paths normalised to -p1-relative names
	Source   string          // input file
	Line     int             // 1-based line in Source where this patch's message starts
	// RevisionOf is, for Revisions and Fixups, the Number of the patch
	// revised or fixed (0 if unknown or the cover letter).
	RevisionOf int

	Body string   // commit message without subject and trailers; for fixups the reply's own (unquoted) text
	Diff string   // the diff text Files was parsed from, "\n"-terminated lines; "" for a cover letter
	Note string   // fixups: the reviewer's sentence introducing the diff
	Tags []string // other subject prefix words, e.g. RFC, RESEND, net-next
	Kind Kind     // patch, cover letter, fixup or revision
}

// Trailer is one "Key: Value" line such as "Acked-by: Name <email>".
type Trailer struct {
	Key, Value string
	FromReply  bool // given in a reply rather than in the patch itself
}

// FileStat is one diffstat row.
type FileStat struct {
	Path    string // new path ("" never: the old path for deletions)
	OldPath string // set for renames and copies
	Status  string // "modified", "new", "deleted", "renamed", "copied"
	Added   int
	Deleted int
	Binary  bool
}

// Diffstat returns per-file added and deleted line counts in diff order.
func (p *Patch) Diffstat() []FileStat {
	stats := make([]FileStat, 0, len(p.Files))
	for _, f := range p.Files {
		st := FileStat{Path: f.NewName, Status: "modified", Binary: f.IsBinary}
		switch {
		case f.IsNew:
			st.Status = "new"
		case f.IsDelete:
			st.Status, st.Path = "deleted", f.OldName
		case f.IsRename:
			st.Status, st.OldPath = "renamed", f.OldName
		case f.IsCopy:
			st.Status, st.OldPath = "copied", f.OldName
		}
		for _, frag := range f.TextFragments {
			st.Added += int(frag.LinesAdded)
			st.Deleted += int(frag.LinesDeleted)
		}
		stats = append(stats, st)
	}
	return stats
}

// Changes returns the total added and deleted lines of p.
func (p *Patch) Changes() (added, deleted int) {
	for _, st := range p.Diffstat() {
		added += st.Added
		deleted += st.Deleted
	}
	return added, deleted
}

// AuthorName returns the name part of Author ("Jens Axboe" for
// "Jens Axboe <axboe@kernel.dk>").
func (p *Patch) AuthorName() string {
	if i := strings.Index(p.Author, " <"); i > 0 {
		return p.Author[:i]
	}
	return p.Author
}

// ID names p within its series as "05/12" (or "5" for an unnumbered
// series of one).
func (p *Patch) ID() PatchID {
	return PatchID{Kind: p.Kind, Number: p.Number, Total: p.Total, Version: p.Version}
}

// Kind is the role a message plays in its series.
type Kind int

const (
	KindPatch    Kind = iota // one of the series' numbered patches
	KindCover                // the cover letter
	KindFixup                // a diff posted in a review reply
	KindRevision             // a later version of one patch
)

// PatchID names a patch within its series, the one way ktest names
// one: "05/12" (or "5" without a total), a fixup "fixup-1", a later
// revision "rev-06/12-v4".
type PatchID struct {
	Kind                   Kind
	Number, Total, Version int
}

func (id PatchID) String() string {
	n := fmt.Sprint(id.Number)
	if id.Total > 0 {
		n = fmt.Sprintf("%0*d/%d", len(fmt.Sprint(id.Total)), id.Number, id.Total)
	}
	switch id.Kind {
	case KindFixup:
		return fmt.Sprintf("fixup-%d", id.Number)
	case KindRevision:
		return fmt.Sprintf("rev-%s-v%d", n, max(id.Version, 1))
	}
	return n
}

// Root is the message a reply to the whole series answers: the cover
// letter, else the first patch.
func (s *Series) Root() *Patch {
	if s.Cover != nil {
		return s.Cover
	}
	if len(s.Patches) > 0 {
		return s.Patches[0]
	}
	return nil
}

// ToApply returns the patches to apply in order: Patches, then, if
// withFixups, the Fixups in the order they were posted. Fixups go after
// the whole series because a review diff is written against the series
// as posted and may touch lines that later patches introduce.
func (s *Series) ToApply(withFixups bool) []*Patch {
	out := append([]*Patch(nil), s.Patches...)
	if withFixups {
		out = append(out, s.Fixups...)
	}
	return out
}
