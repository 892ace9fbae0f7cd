package pipeline

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/ktest-dev/ktest/apply"
	"github.com/ktest-dev/ktest/results"
	"github.com/ktest-dev/ktest/series"
)

// seriesRecord is what the run keeps of a series: its patches as they
// will apply (apply.PatchInTree if the tree has them already), each with
// the sha256 of its diff, and the message a reply answers.
func seriesRecord(s *series.Series, src string, withFixups, applied bool) *results.Series {
	// What superseded what goes first: it says which patches these are.
	notes := append(s.RevisionLines(), s.Notes...)
	rs := &results.Series{Title: s.Title, Version: s.Version, Source: src, Base: s.Base, Warnings: s.Warnings, Notes: notes}
	if rs.Base == "" && s.Tree != "" {
		rs.Base = s.Tree
	}
	for _, p := range s.ToApply(withFixups) {
		st := apply.PatchApplied
		if !applied {
			st = apply.PatchInTree
		}
		rs.Patches = append(rs.Patches, results.Patch{Number: p.Number, Total: p.Total, Subject: p.Subject,
			Author: p.Author, Status: st, Hunks: countHunks(p), SHA256: diffSHA256(p)})
	}
	// A plain diff has no subject: there is no message to answer.
	if root := s.Root(); root != nil && root.RawSubject != "" {
		rs.ReplyTo = &results.ReplyTo{MessageID: root.MessageID, References: root.References, Subject: root.RawSubject,
			From: root.Author, To: root.To, Cc: root.Cc}
	}
	return rs
}

// diffSHA256 is the hex sha256 of a patch's diff text, what is applied:
// KCIDB's patchset hashes are made of these.
func diffSHA256(p *series.Patch) string {
	sum := sha256.Sum256([]byte(p.Diff))
	return hex.EncodeToString(sum[:])
}
