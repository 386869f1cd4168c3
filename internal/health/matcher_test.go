package health

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestParseMatcher(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    string // String() of the result
		match   []int
		noMatch []int
		wantErr string
	}{
		{name: "single code", in: "200", want: "200", match: []int{200}, noMatch: []int{201, 204, 404}},
		{name: "list", in: "200,202", want: "200,202", match: []int{200, 202}, noMatch: []int{201, 204}},
		{name: "range", in: "200-299", want: "200-299", match: []int{200, 250, 299}, noMatch: []int{199, 300, 404}},
		{name: "list of codes and ranges with spaces", in: " 200 , 300-302,404", want: "200,300-302,404", match: []int{200, 301, 404}, noMatch: []int{299, 303, 500}},
		{name: "lowest and highest codes", in: "200-499", want: "200-499", match: []int{200, 499}, noMatch: []int{500, 199}},
		{name: "empty", in: "", wantErr: `matcher "" is empty`},
		{name: "code too high", in: "500", wantErr: "code 500 is outside 200–499"},
		{name: "code too low", in: "100-200", wantErr: "code 100 is outside 200–499"},
		{name: "not a number", in: "ok", wantErr: `"ok" is not an HTTP status code`},
		{name: "backwards range", in: "299-200", wantErr: `range "299-200" runs backwards`},
		{name: "empty entry", in: "200,,202", wantErr: "has an empty entry"},
		{name: "open range", in: "200-", wantErr: `"" is not an HTTP status code`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ParseMatcher(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseMatcher(%q) error = %v, want it to contain %q", tc.in, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseMatcher(%q): %v", tc.in, err)
			}
			if got := m.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
			for _, c := range tc.match {
				if !m.Match(c) {
					t.Errorf("Match(%d) = false, want true", c)
				}
			}
			for _, c := range tc.noMatch {
				if m.Match(c) {
					t.Errorf("Match(%d) = true, want false", c)
				}
			}
		})
	}
}

func TestZeroMatcherIsAWSDefault(t *testing.T) {
	var m Matcher
	if got, want := m.String(), "200"; got != want {
		t.Errorf("zero Matcher String() = %q, want %q", got, want)
	}
	if !m.Match(200) || m.Match(204) {
		t.Errorf("zero Matcher: Match(200)=%v Match(204)=%v, want true false", m.Match(200), m.Match(204))
	}
	if !m.Equal(MustParseMatcher("200")) {
		t.Errorf("zero Matcher is not Equal to \"200\"")
	}
}

func TestMatcherJSON(t *testing.T) {
	in := struct{ M Matcher }{M: MustParseMatcher("200,300-399")}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"M":"200,300-399"}`; got != want {
		t.Errorf("json = %s, want %s", got, want)
	}
	var out struct{ M Matcher }
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if !out.M.Equal(in.M) {
		t.Errorf("round trip = %q, want %q", out.M, in.M)
	}
	if err := json.Unmarshal([]byte(`{"M":"600"}`), &out); err == nil || !strings.Contains(err.Error(), "code 600") {
		t.Errorf("unmarshal of a bad matcher: error = %v, want one naming code 600", err)
	}
}

func FuzzParseMatcher(f *testing.F) {
	for _, s := range []string{"200", "200,202", "200-299", "200-", ",", "499-200", " 404 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMatcher(s)
		if err != nil {
			return
		}
		again, err := ParseMatcher(m.String())
		if err != nil {
			t.Fatalf("String() %q of a parsed matcher does not parse: %v", m.String(), err)
		}
		for c := 100; c < 600; c++ {
			if m.Match(c) != again.Match(c) {
				t.Fatalf("%q and its String %q disagree on %d", s, m.String(), c)
			}
			if m.Match(c) && (c < 200 || c > 499) {
				t.Fatalf("%q matches %d, outside 200–499", s, c)
			}
		}
	})
}
