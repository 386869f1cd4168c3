package route

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Compiled wildcards. Pattern literals are visible ASCII (checked at
// compile time), so these bytes cannot collide with them.
const (
	anyRun = 0x00 // '*': zero or more characters
	anyOne = 0x01 // '?': exactly one character
)

// globKind selects a fast path for common pattern shapes.
type globKind uint8

const (
	globGeneral globKind = iota
	globExact            // no wildcards
	globPrefix           // literal then one trailing '*'
	globSuffix           // one leading '*' then literal
	globAll              // only '*'s: matches everything
)

// glob is a compiled wildcard pattern: '*' matches zero or more
// characters, '?' exactly one (a UTF-8 sequence or a single invalid byte).
// With fold set, ASCII letters match regardless of case.
type glob struct {
	pat  string // wildcards as anyRun/anyOne; lowered when fold
	lit  string // the literal part for exact, prefix and suffix kinds
	kind globKind
	fold bool
}

// compileGlob compiles pattern. With escapes set, `\*`, `\?` and `\\`
// stand for literal characters, as in AWS query-string conditions.
func compileGlob(pattern string, fold, escapes bool) (glob, error) {
	var b strings.Builder
	b.Grow(len(pattern))
	stars, wild := 0, 0
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		if err := checkVisible(pattern, i); err != nil {
			return glob{}, err
		}
		switch {
		case c == '\\' && escapes:
			if i+1 == len(pattern) {
				return glob{}, fmt.Errorf("it ends in a lone backslash: write \\\\ for a literal backslash")
			}
			i++
			if err := checkVisible(pattern, i); err != nil {
				return glob{}, err
			}
			c = pattern[i]
		case c == '*':
			b.WriteByte(anyRun)
			stars++
			wild++
			continue
		case c == '?':
			b.WriteByte(anyOne)
			wild++
			continue
		}
		if fold {
			c = lower(c)
		}
		b.WriteByte(c)
	}
	g := glob{pat: b.String(), fold: fold}
	p := g.pat
	switch {
	case wild == 0:
		g.kind, g.lit = globExact, p
	case stars == wild && strings.Count(p, string(rune(anyRun))) == len(p):
		g.kind = globAll
	case wild == 1 && stars == 1 && p[len(p)-1] == anyRun:
		g.kind, g.lit = globPrefix, p[:len(p)-1]
	case wild == 1 && stars == 1 && p[0] == anyRun:
		g.kind, g.lit = globSuffix, p[1:]
	}
	return g, nil
}

// checkVisible rejects pattern[i] unless it is visible ASCII or a space,
// the characters AWS allows in rule conditions.
func checkVisible(pattern string, i int) error {
	if c := pattern[i]; c < 0x20 || c > 0x7e {
		return fmt.Errorf("byte %#02x at offset %d is not visible ASCII: percent-encode it or remove it", c, i)
	}
	return nil
}

// match reports whether s matches the whole pattern.
func (g *glob) match(s string) bool {
	switch g.kind {
	case globExact:
		return len(s) == len(g.lit) && equal(s, g.lit, g.fold)
	case globPrefix:
		return len(s) >= len(g.lit) && equal(s[:len(g.lit)], g.lit, g.fold)
	case globSuffix:
		return len(s) >= len(g.lit) && equal(s[len(s)-len(g.lit):], g.lit, g.fold)
	case globAll:
		return true
	}
	return g.matchGeneral(s)
}

// matchGeneral is the classic linear-backtracking wildcard match: on a
// mismatch it retries from the last '*', letting that star absorb one more
// character. It runs in O(len(pattern)×len(s)) at worst, without
// recursion or allocation.
func (g *glob) matchGeneral(s string) bool {
	p := g.pat
	pi, si := 0, 0
	starP, starS := -1, 0
	for si < len(s) {
		if pi < len(p) {
			switch c := p[pi]; c {
			case anyRun:
				starP, starS = pi, si
				pi++
				continue
			case anyOne:
				pi++
				si += runeLen(s[si:])
				continue
			default:
				sc := s[si]
				if g.fold {
					sc = lower(sc)
				}
				if sc == c {
					pi++
					si++
					continue
				}
			}
		}
		if starP < 0 {
			return false
		}
		starS += runeLen(s[starS:])
		pi, si = starP+1, starS
	}
	for pi < len(p) && p[pi] == anyRun {
		pi++
	}
	return pi == len(p)
}

// runeLen is the length of the first UTF-8 sequence of a non-empty s, or
// 1 for an invalid byte.
func runeLen(s string) int {
	if s[0] < utf8.RuneSelf {
		return 1
	}
	_, n := utf8.DecodeRuneInString(s)
	return n
}

// equal compares a with the already-lowered b when fold is set.
func equal(a, b string, fold bool) bool {
	if !fold {
		return a == b
	}
	for i := 0; i < len(a); i++ {
		if lower(a[i]) != b[i] {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}
