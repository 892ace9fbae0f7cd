package series

import (
	"fmt"
	"slices"
	"strings"
)

// RevisionLines say in words which version is applied and, patch by
// patch, which posting superseded which and why; patches with the same
// story share a line ("01–05, 07–12/12: not in v5; ..."). Nothing is
// said of a patch posted once in the version applied.
func (s *Series) RevisionLines() []string {
	var out []string
	if others := slices.DeleteFunc(slices.Clone(s.Versions), func(v int) bool { return v == s.Version }); len(others) > 0 {
		if s.VersionAsked {
			out = append(out, fmt.Sprintf("v%d is applied, as asked (--use-version %d); the input also has %s", s.Version, s.Version, versionList(others)))
		} else {
			out = append(out, fmt.Sprintf("v%d is applied: the newest of %s in the input (--use-version N applies another)", s.Version, versionList(s.Versions)))
		}
	}
	total := 0
	if len(s.Patches) > 0 {
		total = s.Patches[0].Total
	}
	if n := s.backfilled(); n > 0 {
		taken := fmt.Sprintf("%d are taken from earlier versions as posted (a partial resend); a change v%d made to those", n, s.Version)
		if n == 1 {
			taken = fmt.Sprintf("1 is taken from an earlier version as posted (a partial resend); a change v%d made to it", s.Version)
		}
		line := fmt.Sprintf("v%d is partial here: the input holds %d of its %d patches, and %s is not in the input",
			s.Version, len(s.Patches)-n, total, taken)
		if w := s.newestWhole(); w != 0 {
			line += fmt.Sprintf(" (--use-version %d applies v%d, whole, as posted)", w, w)
		}
		out = append(out, line)
	}
	var texts []string
	nums := map[string][]int{}
	subjects := map[string]string{}
	for _, ch := range s.Choices {
		t := ch.describe(s.Version)
		if t == "" {
			continue
		}
		if ch.Number == 0 {
			t = fmt.Sprintf("%q: %s", ch.Subject, t)
			subjects[t] = t
		}
		if _, ok := nums[t]; !ok {
			texts = append(texts, t)
		}
		nums[t] = append(nums[t], ch.Number)
	}
	for _, t := range texts {
		if subjects[t] != "" {
			out = append(out, t)
			continue
		}
		out = append(out, numberRange(nums[t], total)+": "+t)
	}
	return out
}

func (s *Series) backfilled() int {
	n := 0
	for _, ch := range s.Choices {
		if ch.Backfilled {
			n++
		}
	}
	return n
}

// newestWhole is the newest version other than the applied one whose
// patches are all in the input, 0 if none.
func (s *Series) newestWhole() int {
	for i := len(s.Versions) - 1; i >= 0; i-- {
		v := s.Versions[i]
		if v == s.Version {
			continue
		}
		whole := len(s.Choices) > 0
		for _, ch := range s.Choices {
			if !slices.ContainsFunc(ch.postings(), func(p *Patch) bool { return p.Version == v }) {
				whole = false
				break
			}
		}
		if whole {
			return v
		}
	}
	return 0
}

// postings are every posting of the patch.
func (ch *Choice) postings() []*Patch {
	var ps []*Patch
	if ch.Applied != nil {
		ps = append(ps, ch.Applied)
	}
	ps = append(ps, ch.Superseded...)
	ps = append(ps, ch.Later...)
	return append(ps, ch.Unfit...)
}

// describe says what happened to this patch's postings, "" when there
// is nothing to say (one posting, of the version applied).
func (ch *Choice) describe(applied int) string {
	var parts []string
	switch {
	case ch.Applied != nil && ch.Backfilled:
		t := fmt.Sprintf("not in v%d; %s is applied, the newest earlier version that has it", applied, dated(ch.Applied))
		if len(ch.Superseded) > 0 {
			t += ", superseding " + datedList(ch.Superseded)
		}
		parts = append(parts, t)
	case ch.Applied != nil && len(ch.Superseded) > 0:
		if allVersion(ch.Superseded, ch.Applied.Version) {
			parts = append(parts, fmt.Sprintf("the v%d sent %s supersedes the one sent %s (a resend of the same version)",
				ch.Applied.Version, day(ch.Applied), strings.Join(uniq(mapPatches(ch.Superseded, day)), ", ")))
		} else {
			parts = append(parts, fmt.Sprintf("%s supersedes %s", dated(ch.Applied), datedList(ch.Superseded)))
		}
	}
	for _, p := range ch.Unfit {
		if ch.Total > 0 && ch.Number > ch.Total {
			parts = append(parts, fmt.Sprintf("%s is not applied: v%d has only %d patches", dated(p), applied, ch.Total))
		} else {
			parts = append(parts, fmt.Sprintf("%s is not taken: v%d counts %d patches and v%d %d, so its numbers may name other patches",
				dated(p), p.Version, p.Total, applied, ch.Total))
		}
	}
	if len(ch.Later) > 0 {
		parts = append(parts, fmt.Sprintf("%s not applied: v%d was asked for", datedList(ch.Later), applied))
	}
	return strings.Join(parts, "; ")
}

func allVersion(ps []*Patch, v int) bool {
	for _, p := range ps {
		if p.Version != v {
			return false
		}
	}
	return true
}

// dated is "v5 (2020-05-26)", or "v5" without a date.
func dated(p *Patch) string {
	if p.Date.IsZero() {
		return fmt.Sprintf("v%d", p.Version)
	}
	return fmt.Sprintf("v%d (%s)", p.Version, day(p))
}

func day(p *Patch) string {
	if p.Date.IsZero() {
		return "undated"
	}
	return p.Date.UTC().Format("2006-01-02")
}

// datedList is "v3 (2020-05-23) and v4 (2020-05-24)".
func datedList(ps []*Patch) string {
	items := uniq(mapPatches(ps, dated))
	if len(items) == 1 {
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

func mapPatches(ps []*Patch, f func(*Patch) string) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = f(p)
	}
	return out
}

func uniq(ss []string) []string {
	var out []string
	for _, s := range ss {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// versionList is "v3, v4 and v5".
func versionList(vs []int) string {
	items := make([]string, len(vs))
	for i, v := range vs {
		items[i] = fmt.Sprintf("v%d", v)
	}
	if len(items) == 1 {
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}
