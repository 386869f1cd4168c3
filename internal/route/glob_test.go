package route

import (
	"regexp"
	"strings"
	"testing"
)

var globCases = []struct {
	name    string
	pattern string
	fold    bool
	escapes bool
	in      string
	want    bool
}{
	{name: "exact", pattern: "/api", in: "/api", want: true},
	{name: "exact longer input", pattern: "/api", in: "/api/", want: false},
	{name: "exact shorter input", pattern: "/api", in: "/ap", want: false},
	{name: "exact is case-sensitive", pattern: "/API", in: "/api", want: false},
	{name: "exact folded", pattern: "Example.COM", fold: true, in: "example.com", want: true},
	{name: "empty pattern empty input", pattern: "", in: "", want: true},
	{name: "empty pattern", pattern: "", in: "a", want: false},
	{name: "star alone", pattern: "*", in: "", want: true},
	{name: "star alone long", pattern: "*", in: "/anything/at/all?x", want: true},
	{name: "stars alone", pattern: "***", in: "abc", want: true},
	{name: "prefix", pattern: "/api/*", in: "/api/v1/users", want: true},
	{name: "prefix empty rest", pattern: "/api/*", in: "/api/", want: true},
	{name: "prefix without slash", pattern: "/api/*", in: "/api", want: false},
	{name: "prefix case-sensitive", pattern: "/api/*", in: "/API/x", want: false},
	{name: "prefix folded", pattern: "API.*", fold: true, in: "api.example.com", want: true},
	{name: "suffix", pattern: "*.png", in: "/img/cat.png", want: true},
	{name: "suffix miss", pattern: "*.png", in: "/img/cat.png.txt", want: false},
	{name: "suffix folded", pattern: "*.EXAMPLE.com", fold: true, in: "www.example.COM", want: true},
	{name: "suffix needs the dot", pattern: "*.example.com", fold: true, in: "example.com", want: false},
	{name: "infix star", pattern: "/img/*/thumb", in: "/img/a/b/thumb", want: true},
	{name: "infix star empty", pattern: "/a*b", in: "/ab", want: true},
	{name: "two stars", pattern: "*/api/*", in: "/v2/api/x", want: true},
	{name: "two stars miss", pattern: "*/api/*", in: "/v2/apix", want: false},
	{name: "question", pattern: "/v?/x", in: "/v1/x", want: true},
	{name: "question needs one", pattern: "/v?/x", in: "/v/x", want: false},
	{name: "question only one", pattern: "/v?/x", in: "/v12/x", want: false},
	{name: "question at end", pattern: "ab?", in: "abc", want: true},
	{name: "question at end empty", pattern: "ab?", in: "ab", want: false},
	{name: "question matches a rune", pattern: "caf?", in: "café", want: true},
	{name: "question matches one rune only", pattern: "caf??", in: "café", want: false},
	{name: "question matches invalid byte", pattern: "a?b", in: "a\xffb", want: true},
	{name: "star then question", pattern: "*?", in: "é", want: true},
	{name: "star question needs two runes", pattern: "*??", in: "é", want: false},
	{name: "backtracking", pattern: "*aab", in: "aaaaaaab", want: true},
	{name: "backtracking miss", pattern: "*aab", in: "aaaaaaa", want: false},
	{name: "pathological", pattern: "a*a*a*a*a*b", in: strings.Repeat("a", 200), want: false},
	{name: "mixed", pattern: "*.ex?mple.*", fold: true, in: "API.Example.ORG", want: true},
	{name: "fold keeps non-letters", pattern: "a-b_c", fold: true, in: "A-B_C", want: true},
	{name: "fold is ASCII only", pattern: "k", fold: true, in: "\u212a", want: false}, // Kelvin sign
	{name: "literal star with escape", pattern: `a\*b`, escapes: true, in: "a*b", want: true},
	{name: "escaped star is not a wildcard", pattern: `a\*b`, escapes: true, in: "axb", want: false},
	{name: "literal question with escape", pattern: `why\?`, escapes: true, in: "why?", want: true},
	{name: "escaped backslash", pattern: `a\\*`, escapes: true, in: `a\bc`, want: true},
	{name: "backslash without escapes", pattern: `a\b`, in: `a\b`, want: true},
}

func TestGlob(t *testing.T) {
	for _, tc := range globCases {
		t.Run(tc.name, func(t *testing.T) {
			g, err := compileGlob(tc.pattern, tc.fold, tc.escapes)
			if err != nil {
				t.Fatalf("compileGlob(%q): %v", tc.pattern, err)
			}
			if got := g.match(tc.in); got != tc.want {
				t.Errorf("%q matches %q = %v, want %v", tc.pattern, tc.in, got, tc.want)
			}
			if got := g.matchGeneral(tc.in); got != tc.want {
				t.Errorf("general: %q matches %q = %v, want %v", tc.pattern, tc.in, got, tc.want)
			}
		})
	}
}

func TestCompileGlobErrors(t *testing.T) {
	tests := []struct {
		name    string
		pattern string
		escapes bool
		wantErr string
	}{
		{name: "control byte", pattern: "a\tb", wantErr: "byte 0x09 at offset 1 is not visible ASCII"},
		{name: "delete", pattern: "a\x7f", wantErr: "byte 0x7f at offset 1"},
		{name: "non-ASCII", pattern: "café", wantErr: "not visible ASCII: percent-encode it"},
		{name: "lone backslash", pattern: `ab\`, escapes: true, wantErr: "lone backslash"},
		{name: "escaped non-ASCII", pattern: "a\\\xc8", escapes: true, wantErr: "byte 0xc8 at offset 2 is not visible ASCII"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := compileGlob(tc.pattern, false, tc.escapes)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("compileGlob(%q) error = %v, want it to contain %q", tc.pattern, err, tc.wantErr)
			}
		})
	}
}

// referenceMatch is an independent implementation over regexp: '*' is
// (?s:.*), '?' is (?s:.), a backslash escapes the next character when
// escapes is set, everything else is literal; folding lowers ASCII letters
// on both sides first. pattern is ASCII.
func referenceMatch(pattern, s string, fold, escapes bool) bool {
	if fold {
		pattern, s = asciiLower(pattern), asciiLower(s)
	}
	var re strings.Builder
	re.WriteString(`^(?s:`)
	for i := 0; i < len(pattern); i++ {
		switch c := pattern[i]; {
		case c == '\\' && escapes:
			i++
			re.WriteString(regexp.QuoteMeta(pattern[i : i+1]))
		case c == '*':
			re.WriteString(`.*`)
		case c == '?':
			re.WriteString(`.`)
		default:
			re.WriteString(regexp.QuoteMeta(pattern[i : i+1]))
		}
	}
	re.WriteString(`)$`)
	return regexp.MustCompile(re.String()).MatchString(s)
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		b[i] = lower(c)
	}
	return string(b)
}

func FuzzGlob(f *testing.F) {
	for _, tc := range globCases {
		f.Add(tc.pattern, tc.in, tc.fold, tc.escapes)
	}
	f.Fuzz(func(t *testing.T, pattern, s string, fold, escapes bool) {
		if len(pattern) > 64 || len(s) > 256 {
			return
		}
		g, err := compileGlob(pattern, fold, escapes)
		if err != nil {
			return // not visible ASCII, or a lone backslash: rejected at compile time
		}
		want := referenceMatch(pattern, s, fold, escapes)
		if got := g.match(s); got != want {
			t.Errorf("%q matches %q (fold %v, escapes %v) = %v, reference says %v", pattern, s, fold, escapes, got, want)
		}
		if got := g.matchGeneral(s); got != want {
			t.Errorf("general: %q matches %q (fold %v, escapes %v) = %v, reference says %v", pattern, s, fold, escapes, got, want)
		}
	})
}
