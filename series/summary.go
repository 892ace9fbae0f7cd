package series

import (
	"time"
)

// SchemaVersion names the JSON form of a Summary.
const SchemaVersion = "ktest.series/v1"

// Summary is the stable JSON form of a Series (see the package doc for
// the schema). It carries no diff text.
type Summary struct {
	Schema    string         `json:"schema"`
	Source    string         `json:"source"`
	Format    string         `json:"format"`
	Title     string         `json:"title"`
	Version   int            `json:"version"`
	Base      string         `json:"base"`
	Tree      string         `json:"tree"`
	Cover     *PatchSummary  `json:"cover"`
	Patches   []PatchSummary `json:"patches"`
	Fixups    []PatchSummary `json:"fixups"`
	Revisions []PatchSummary `json:"revisions"`
	Versions  []int          `json:"versions"`
	Choices   []string       `json:"choices"`
	Missing   []int          `json:"missing"`
	Apply     []string       `json:"apply"`
	Warnings  []string       `json:"warnings"`
	Notes     []string       `json:"notes"`
}

// PatchSummary is one patch of a Summary.
type PatchSummary struct {
	ID         string           `json:"id"`
	Kind       string           `json:"kind"`
	Number     int              `json:"number"`
	Total      int              `json:"total"`
	Version    int              `json:"version"`
	RevisionOf int              `json:"revision_of"`
	Subject    string           `json:"subject"`
	Author     string           `json:"author"`
	Date       string           `json:"date"`
	MessageID  string           `json:"message_id"`
	Source     string           `json:"source"`
	Line       int              `json:"line"`
	Note       string           `json:"note"`
	Files      []FileSummary    `json:"files"`
	Added      int              `json:"added"`
	Deleted    int              `json:"deleted"`
	Trailers   []TrailerSummary `json:"trailers"`
}

// FileSummary is one diffstat row of a PatchSummary.
type FileSummary struct {
	Path    string `json:"path"`
	OldPath string `json:"old_path"`
	Status  string `json:"status"`
	Added   int    `json:"added"`
	Deleted int    `json:"deleted"`
	Binary  bool   `json:"binary"`
}

// TrailerSummary is one trailer of a PatchSummary.
type TrailerSummary struct {
	Key       string `json:"key"`
	Value     string `json:"value"`
	FromReply bool   `json:"from_reply"`
}

// Summarize returns the JSON form of s; withFixups decides Apply.
func Summarize(s *Series, withFixups bool) Summary {
	sum := Summary{
		Schema: SchemaVersion, Source: s.Source, Format: s.Format, Title: s.Title,
		Version: s.Version, Base: s.Base, Tree: s.Tree,
		Patches: []PatchSummary{}, Fixups: []PatchSummary{}, Revisions: []PatchSummary{},
		Versions: append([]int{}, s.Versions...), Choices: append([]string{}, s.RevisionLines()...), Missing: append([]int{}, s.Missing...),
		Apply: []string{}, Warnings: append([]string{}, s.Warnings...), Notes: append([]string{}, s.Notes...),
	}
	if s.Cover != nil {
		c := summarizePatch(s.Cover, "cover", "cover")
		sum.Cover = &c
	}
	for _, p := range s.Patches {
		sum.Patches = append(sum.Patches, summarizePatch(p, "patch", p.ID().String()))
	}
	for _, p := range s.Fixups {
		sum.Fixups = append(sum.Fixups, summarizePatch(p, "fixup", p.ID().String()))
	}
	for _, p := range s.Revisions {
		sum.Revisions = append(sum.Revisions, summarizePatch(p, "revision", p.ID().String()))
	}
	for _, p := range s.ToApply(withFixups) {
		if isFixup(s, p) {
			sum.Apply = append(sum.Apply, p.ID().String())
		} else {
			sum.Apply = append(sum.Apply, p.ID().String())
		}
	}
	return sum
}

func isFixup(s *Series, p *Patch) bool {
	for _, f := range s.Fixups {
		if f == p {
			return true
		}
	}
	return false
}

func summarizePatch(p *Patch, kind, id string) PatchSummary {
	ps := PatchSummary{
		ID: id, Kind: kind, Number: p.Number, Total: p.Total, Version: p.Version,
		RevisionOf: p.RevisionOf, Subject: p.Subject, Author: p.Author, MessageID: p.MessageID,
		Source: p.Source, Line: p.Line, Note: p.Note,
		Files: []FileSummary{}, Trailers: []TrailerSummary{},
	}
	if !p.Date.IsZero() {
		ps.Date = p.Date.UTC().Format(time.RFC3339)
	}
	for _, st := range p.Diffstat() {
		// A conversion, not a literal: a field added to one type and not
		// the other stops the build instead of vanishing from the JSON.
		ps.Files = append(ps.Files, FileSummary(st))
		ps.Added += st.Added
		ps.Deleted += st.Deleted
	}
	for _, t := range p.Trailers {
		ps.Trailers = append(ps.Trailers, TrailerSummary(t))
	}
	return ps
}
