package apply

// nearest finds the region of buf most like pat, for a conflict report.
// Every line of pat votes for the region starts its occurrences in buf
// imply (lines with letters or digits weigh more than blank or brace
// lines, and only regions one of them voted for count; lines too common
// to say anything do not vote); nearby starts pool their votes so a
// region with a few inserted or deleted lines still wins.
// Ties go to the start nearest expected. The region is then trimmed or
// widened by aligning pat against it, so Found shows what stands where
// the hunk should go. matched is the number of pat lines in the region.
func nearest(buf, pat []string, expected int) (start, end, matched int, found bool) {
	if len(pat) == 0 || len(buf) == 0 {
		return 0, 0, 0, false
	}
	want := make(map[string][]int, len(pat))
	for _, l := range pat {
		want[l] = nil
	}
	for j, l := range buf {
		if occ, ok := want[l]; ok && len(occ) <= maxVotesPerLine {
			want[l] = append(occ, j)
		}
	}
	// votes[p] counts line matches implying start p; only starts that a
	// significant line voted for are candidates.
	votes, candidates := map[int]int{}, map[int]bool{}
	for i, l := range pat {
		occ := want[l]
		if len(occ) > maxVotesPerLine {
			continue
		}
		w := 1
		if significant(l) {
			w = 3
		}
		for _, j := range occ {
			votes[j-i] += w
			if w > 1 {
				candidates[j-i] = true
			}
		}
	}
	best, bestPos := 0, 0
	for p := range candidates {
		score := 0
		for q := p - voteRadius; q <= p+voteRadius; q++ {
			score += votes[q]
		}
		if score > best || score == best && abs(p-expected) < abs(bestPos-expected) {
			best, bestPos = score, p
		}
	}
	if best == 0 {
		return 0, 0, 0, false
	}

	// Align pat with a window around the winner and keep the span from
	// its first to its last matching line, extended by the pat lines
	// before and after that have no match.
	start, end = max(bestPos, 0), min(bestPos+len(pat), len(buf))
	if len(pat) <= maxAlignLines {
		lo, hi := max(bestPos-voteRadius, 0), min(bestPos+len(pat)+2*voteRadius, len(buf))
		pairs := align(pat, buf[lo:hi])
		if len(pairs) > 0 {
			first, last := pairs[0], pairs[len(pairs)-1]
			start = max(lo+first[1]-first[0], 0)
			end = min(lo+last[1]+1+(len(pat)-1-last[0]), len(buf))
		}
	}
	matched = len(align(pat, buf[start:end]))
	return start, end, matched, true
}

const (
	maxVotesPerLine = 64   // a line found more often than this says nothing about place
	voteRadius      = 4    // starts this close pool their votes
	maxAlignLines   = 1000 // beyond this, report the region unaligned
)

// align returns the index pairs (i in a, j in b) of a longest common
// subsequence of a and b, in order.
func align(a, b []string) [][2]int {
	if len(a) == 0 || len(b) == 0 || len(a)*len(b) > maxAlignLines*maxAlignLines {
		return nil
	}
	// lcs[i][j] is the LCS length of a[i:] and b[j:].
	w := len(b) + 1
	lcs := make([]int32, (len(a)+1)*w)
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			switch {
			case a[i] == b[j]:
				lcs[i*w+j] = lcs[(i+1)*w+j+1] + 1
			case lcs[(i+1)*w+j] >= lcs[i*w+j+1]:
				lcs[i*w+j] = lcs[(i+1)*w+j]
			default:
				lcs[i*w+j] = lcs[i*w+j+1]
			}
		}
	}
	var pairs [][2]int
	for i, j := 0, 0; i < len(a) && j < len(b); {
		switch {
		case a[i] == b[j]:
			pairs = append(pairs, [2]int{i, j})
			i++
			j++
		case lcs[(i+1)*w+j] >= lcs[i*w+j+1]:
			i++
		default:
			j++
		}
	}
	return pairs
}
