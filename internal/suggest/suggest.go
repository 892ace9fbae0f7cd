// Package suggest finds what a mistyped word was probably meant to be,
// for "did you mean" hints.
package suggest

// Closest returns the candidate nearest to word, if one is near enough to
// be a typo of it: within one edit for short candidates and two for
// longer ones (an adjacent transposition is one edit: "buidl" -> "build"),
// or a prefix of exactly one candidate ("comp" -> "compare").
func Closest(word string, candidates []string) (string, bool) {
	best, bestDist := "", -1
	for _, c := range candidates {
		d := distance(word, c)
		if d <= limit(c) && (bestDist < 0 || d < bestDist) {
			best, bestDist = c, d
		}
	}
	if bestDist >= 0 {
		return best, true
	}
	var prefixOf []string
	for _, c := range candidates {
		if len(word) >= 2 && len(word) < len(c) && c[:len(word)] == word {
			prefixOf = append(prefixOf, c)
		}
	}
	if len(prefixOf) == 1 {
		return prefixOf[0], true
	}
	return "", false
}

// limit is how many edits still look like a typo of c rather than
// another word.
func limit(c string) int {
	if len([]rune(c)) <= 3 {
		return 1
	}
	return 2
}

// distance is the optimal string alignment distance between a and b:
// insertions, deletions, substitutions and adjacent transpositions.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
