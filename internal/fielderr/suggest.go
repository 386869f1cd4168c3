package fielderr

import (
	"strings"
)

// Suggest returns the candidate closest to word, for a "did you mean …?"
// hint, or "" when none is close enough. It tries, in order: equality
// ignoring case, "-" and "_" ("health_check" suggests "healthCheck"); a
// unique candidate that extends the word or that the word extends ("path"
// suggests "path-pattern"); the smallest edit distance, which must be at
// most a third of the word's length (at least 1, at most 3).
func Suggest(word string, candidates []string) string {
	norm := normalize(word)
	for _, c := range candidates {
		if normalize(c) == norm {
			return c
		}
	}
	if len(norm) >= 3 {
		// A unique candidate that starts with the word, or that the word
		// starts with: "path" suggests "path-pattern".
		match := ""
		for _, c := range candidates {
			nc := normalize(c)
			if strings.HasPrefix(nc, norm) || len(nc) >= 3 && strings.HasPrefix(norm, nc) {
				if match != "" {
					match = ""
					break
				}
				match = c
			}
		}
		if match != "" {
			return match
		}
	}
	limit := min(max(len(word)/3, 1), 3)
	best, bestDist := "", limit+1
	for _, c := range candidates {
		if d := distance(strings.ToLower(word), strings.ToLower(c)); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// DidYouMean returns ` did you mean "x"?`-style advice for word among
// candidates, or "" when Suggest finds nothing.
func DidYouMean(word string, candidates []string) string {
	if s := Suggest(word, candidates); s != "" {
		return "did you mean " + `"` + s + `"?`
	}
	return ""
}

func normalize(s string) string {
	s = strings.ToLower(s)
	s = strings.ReplaceAll(s, "_", "")
	return strings.ReplaceAll(s, "-", "")
}

// distance is the Damerau–Levenshtein (optimal string alignment) distance
// between a and b, counting bytes.
func distance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		// Long words are never typos of field names; skip the quadratic
		// work.
		if a == b {
			return 0
		}
		return max(len(a), len(b))
	}
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
