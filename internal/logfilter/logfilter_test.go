package logfilter

import (
	"errors"
	"strings"
	"testing"
)

const (
	accessLine = `127.0.0.1 - frank [13/Oct/2026:10:00:00 +0000] "GET /index.html HTTP/1.1" 404 1534`
	jsonLine   = `{"eventType":"UpdateTrail","level":"error","status":500,"latency":120.5,"user":{"id":2,"email":"John.Doe@example.com","tags":["a","b"]},"actions":["GET","PUT","DELETE"],"flag":true,"off":false,"nothing":null,"bandwidth":80,"ip":"123.123.0.7"}`
)

func TestMatch(t *testing.T) {
	tests := []struct {
		name    string
		pattern string
		line    string
		want    bool
	}{
		// empty
		{name: "empty matches all", pattern: "", line: "anything", want: true},
		{name: "spaces match all", pattern: "   ", line: "", want: true},

		// unstructured terms
		{name: "term", pattern: "ERROR", line: "[ERROR] disk full", want: true},
		{name: "term is case-sensitive", pattern: "ERROR", line: "error: disk full", want: false},
		{name: "terms are ANDed", pattern: "ERROR ARGUMENTEXCEPTION", line: "ERROR ARGUMENTEXCEPTION at x", want: true},
		{name: "terms are ANDed, one missing", pattern: "ERROR ARGUMENTEXCEPTION", line: "ERROR at x", want: false},
		{name: "or terms, first", pattern: "?ERROR ?WARN", line: "WARN low disk", want: true},
		{name: "or terms, none", pattern: "?ERROR ?WARN", line: "INFO ok", want: false},
		{name: "exclusion", pattern: "ERROR -Exiting", line: "ERROR Exiting now", want: false},
		{name: "exclusion absent", pattern: "ERROR -Exiting", line: "ERROR retrying", want: true},
		{name: "excluded phrase", pattern: `ERROR -"Exiting now"`, line: "ERROR Exiting soon", want: true},
		{name: "exact phrase", pattern: `"INTERNAL SERVER ERROR"`, line: "500 INTERNAL SERVER ERROR", want: true},
		{name: "exact phrase, words apart", pattern: `"INTERNAL SERVER ERROR"`, line: "INTERNAL ERROR SERVER", want: false},
		{name: "phrase with escaped quote", pattern: `"say \"hi\""`, line: `they say "hi"`, want: true},
		{name: "lone dash is a term", pattern: "a - b", line: "a - b", want: true},
		{name: "regex term", pattern: `%ERROR [0-9]+%`, line: "ERROR 42 happened", want: true},
		{name: "regex term no match", pattern: `%^ERROR%`, line: "an ERROR", want: false},
		{name: "regex and term", pattern: `%time=[0-9]+ms% slow`, line: "time=12ms slow", want: true},
		{name: "aws regex example", pattern: `%AUTHORIZED%`, line: "[ERROR 401] UNAUTHORIZED REQUEST", want: true},
		{name: "three regexes in text", pattern: `%a% %b% %c%`, line: "abc", want: true},
		{name: "or with plain", pattern: "api ?ERROR ?WARN", line: "db ERROR", want: false},

		// JSON
		{name: "json string equal", pattern: `{ $.eventType = "UpdateTrail" }`, line: jsonLine, want: true},
		{name: "json bare string", pattern: `{ $.eventType = UpdateTrail }`, line: jsonLine, want: true},
		{name: "json string not equal", pattern: `{ $.level != "error" }`, line: jsonLine, want: false},
		{name: "json number equal", pattern: `{ $.status = 500 }`, line: jsonLine, want: true},
		{name: "json number not equal", pattern: `{ $.status != 200 }`, line: jsonLine, want: true},
		{name: "json greater", pattern: `{ $.latency > 100 }`, line: jsonLine, want: true},
		{name: "json greater equal", pattern: `{ $.bandwidth >= 80 }`, line: jsonLine, want: true},
		{name: "json less", pattern: `{ $.latency < 100 }`, line: jsonLine, want: false},
		{name: "json less equal", pattern: `{ $.latency <= 120.5 }`, line: jsonLine, want: true},
		{name: "json exponent", pattern: `{ $.latency < 1e3 }`, line: jsonLine, want: true},
		{name: "json number field as written", pattern: `{ $.status = 5.0e2 }`, line: jsonLine, want: true},
		{name: "json nested", pattern: `{ $.user.id = 2 }`, line: jsonLine, want: true},
		{name: "json array index", pattern: `{ $.actions[2] = "DELETE" }`, line: jsonLine, want: true},
		{name: "json nested array", pattern: `{ $.user.tags[1] = "b" }`, line: jsonLine, want: true},
		{name: "json index out of range", pattern: `{ $.actions[9] = "GET" }`, line: jsonLine, want: false},
		{name: "json wildcard suffix", pattern: `{ $.user.email = "*@example.com" }`, line: jsonLine, want: true},
		{name: "json wildcard bare", pattern: `{ $.ip = 123.123.* }`, line: jsonLine, want: true},
		{name: "json wildcard not equal", pattern: `{ $.ip != 123.123.* }`, line: jsonLine, want: false},
		{name: "json star is any value", pattern: `{ $.user = * }`, line: jsonLine, want: true},
		{name: "json regex", pattern: `{ $.eventType = %Update.*% }`, line: jsonLine, want: true},
		{name: "json regex not equal", pattern: `{ $.eventType != %^Delete% }`, line: jsonLine, want: true},
		{name: "json and", pattern: `{ $.level = "error" && $.latency > 100 }`, line: jsonLine, want: true},
		{name: "json and false", pattern: `{ $.level = "error" && $.latency > 200 }`, line: jsonLine, want: false},
		{name: "json or", pattern: `{ $.level = "info" || $.latency > 100 }`, line: jsonLine, want: true},
		{name: "aws parenthesized example", pattern: `{ ($.user.id = 2 && $.user.email = "John.Doe@example.com") || $.actions[2] = "GET" }`, line: jsonLine, want: true},
		{name: "and binds tighter than or", pattern: `{ $.level = "info" && $.status = 1 || $.flag IS TRUE }`, line: jsonLine, want: true},
		{name: "parentheses change grouping", pattern: `{ $.level = "info" && ($.status = 1 || $.flag IS TRUE) }`, line: jsonLine, want: false},
		{name: "is null", pattern: `{ $.nothing IS NULL }`, line: jsonLine, want: true},
		{name: "is null on a value", pattern: `{ $.level IS NULL }`, line: jsonLine, want: false},
		{name: "not exists", pattern: `{ $.missing NOT EXISTS }`, line: jsonLine, want: true},
		{name: "not exists on a null", pattern: `{ $.nothing NOT EXISTS }`, line: jsonLine, want: false},
		{name: "is true", pattern: `{ $.flag IS TRUE }`, line: jsonLine, want: true},
		{name: "is false", pattern: `{ $.off IS FALSE }`, line: jsonLine, want: true},
		{name: "is true on false", pattern: `{ $.off IS TRUE }`, line: jsonLine, want: false},
		{name: "bool compared as text", pattern: `{ $.flag = true }`, line: jsonLine, want: true},
		{name: "missing field compares false", pattern: `{ $.missing != 1 }`, line: jsonLine, want: false},
		{name: "string field equals number text", pattern: `{ $.code = 200 }`, line: `{"code":"200"}`, want: true},
		{name: "ordering on string field", pattern: `{ $.code > 100 }`, line: `{"code":"200"}`, want: false},
		{name: "not json", pattern: `{ $.a = 1 }`, line: "plain text", want: false},
		{name: "json array line", pattern: `{ $.a = 1 }`, line: `[1]`, want: false},
		{name: "keywords any case", pattern: `{ $.missing not exists }`, line: jsonLine, want: true},

		// space-delimited
		{name: "fields bind", pattern: `[ip, user, username, timestamp, request, status_code, bytes]`, line: accessLine, want: true},
		{name: "field count must agree", pattern: `[ip, user, username, timestamp, request, status_code]`, line: accessLine, want: false},
		{name: "wildcard number", pattern: `[ip, user, username, timestamp, request, status_code = 4*, bytes]`, line: accessLine, want: true},
		{name: "wildcard number no match", pattern: `[ip, user, username, timestamp, request, status_code = 5*, bytes]`, line: accessLine, want: false},
		{name: "numeric greater", pattern: `[ip, user, username, timestamp, request, status_code = 4*, bytes > 1000]`, line: accessLine, want: true},
		{name: "numeric greater false", pattern: `[ip, user, username, timestamp, request, status_code, bytes > 2000]`, line: accessLine, want: false},
		{name: "ellipsis leading", pattern: `[..., status_code = 404, bytes]`, line: accessLine, want: true},
		{name: "ellipsis middle", pattern: `[ip, user, ..., status_code = 404, bytes]`, line: accessLine, want: true},
		{name: "ellipsis trailing", pattern: `[ip = 127.0.0.1, ...]`, line: accessLine, want: true},
		{name: "ellipsis matches none", pattern: `[a, ..., b]`, line: "x y", want: true},
		{name: "quoted field is one", pattern: `[ip, user, username, timestamp, request = "GET /index.html HTTP/1.1", ...]`, line: accessLine, want: true},
		{name: "bracketed field is one", pattern: `[ip, user, username, timestamp = "13/Oct/2026:10:00:00 +0000", ...]`, line: accessLine, want: true},
		{name: "quoted value wildcard", pattern: `[ip, user, username, timestamp, request = "*html*", status_code = 4*, bytes]`, line: accessLine, want: true},
		{name: "or on a field", pattern: `[..., status_code = 410 || status_code = 404, bytes]`, line: accessLine, want: true},
		{name: "and on a field", pattern: `[..., status_code >= 400 && status_code < 500, bytes]`, line: accessLine, want: true},
		{name: "and on a field false", pattern: `[..., status_code >= 400 && status_code < 404, bytes]`, line: accessLine, want: false},
		{name: "and before or", pattern: `[..., status_code > 500 && status_code < 600 || status_code = 404, bytes]`, line: accessLine, want: true},
		{name: "not equal", pattern: `[..., status_code != 200, bytes]`, line: accessLine, want: true},
		{name: "regex field", pattern: `[ip = %^127\.%, ...]`, line: accessLine, want: true},
		{name: "numeric on dash", pattern: `[a, b > 1]`, line: "x -", want: false},
		{name: "multiple spaces", pattern: `[a, b = 2]`, line: "1    2", want: true},
		{name: "aws component example", pattern: `[time, component = HttpServer, ..., result_code != 200, latency]`, line: "2026-01-01T00:00:00Z HttpServer GET / 500 12", want: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse(tc.pattern)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.pattern, err)
			}
			if _, got := p.Match(tc.line); got != tc.want {
				t.Errorf("Parse(%q).Match(%q) = %v, want %v", tc.pattern, tc.line, got, tc.want)
			}
			if p.String() != tc.pattern {
				t.Errorf("String() = %q, want %q", p.String(), tc.pattern)
			}
		})
	}
}

func TestMatchFields(t *testing.T) {
	tests := []struct {
		name    string
		pattern string
		line    string
		want    map[string]string
	}{
		{name: "json selectors", pattern: `{ $.latency > 0 && $.user.email = * && $.user.tags = * }`, line: jsonLine,
			want: map[string]string{"$.latency": "120.5", "$.user.email": "John.Doe@example.com", "$.user.tags": `["a","b"]`}},
		{name: "json missing field left out", pattern: `{ $.level = "error" || $.nope = 1 }`, line: jsonLine,
			want: map[string]string{"$.level": "error"}},
		{name: "space-delimited", pattern: `[ip, user, username, timestamp, request, status_code, bytes]`, line: accessLine,
			want: map[string]string{"$ip": "127.0.0.1", "$user": "-", "$username": "frank", "$timestamp": "13/Oct/2026:10:00:00 +0000",
				"$request": "GET /index.html HTTP/1.1", "$status_code": "404", "$bytes": "1534"}},
		{name: "space-delimited with ellipsis", pattern: `[ip, ..., bytes]`, line: accessLine,
			want: map[string]string{"$ip": "127.0.0.1", "$bytes": "1534"}},
		{name: "text has none", pattern: `ERROR`, line: "ERROR", want: map[string]string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, ok := MustParse(tc.pattern).Match(tc.line)
			if !ok {
				t.Fatalf("no match")
			}
			if len(m.Fields) != len(tc.want) {
				t.Errorf("Fields = %v, want %v", m.Fields, tc.want)
			}
			for k, v := range tc.want {
				if got, ok := m.Field(k); !ok || got != v {
					t.Errorf("Field(%q) = %q, %v; want %q", k, got, ok, v)
				}
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name    string
		pattern string
		offset  int
		msg     string
	}{
		{name: "too long", pattern: strings.Repeat("a", MaxPatternLength+1), offset: MaxPatternLength, msg: "at most 1024"},
		{name: "unclosed quote", pattern: `ERROR "disk`, offset: 6, msg: "not closed"},
		{name: "unclosed regex", pattern: `%abc`, offset: 0, msg: "end it with %"},
		{name: "bad regex", pattern: `%a(%`, offset: 1, msg: "regular expression"},
		{name: "empty regex", pattern: `a %%`, offset: 2, msg: "empty"},
		{name: "bare question mark", pattern: `ERROR ?`, offset: 6, msg: "no term after it"},
		{name: "quote inside term", pattern: `ab"c"`, offset: 2, msg: "quote inside"},
		{name: "text after phrase", pattern: `"a"b`, offset: 3, msg: "separate terms"},
		{name: "json unclosed", pattern: `{ $.a = 1`, offset: 0, msg: "end it with }"},
		{name: "json no selector", pattern: `{ a = 1 }`, offset: 2, msg: "start with $."},
		{name: "json bare dollar", pattern: `{ $ = 1 }`, offset: 2, msg: "names no field"},
		{name: "json missing name", pattern: `{ $. = 1 }`, offset: 4, msg: "missing field name"},
		{name: "json bad index", pattern: `{ $.a[x] = 1 }`, offset: 6, msg: "array index"},
		{name: "json missing operator", pattern: `{ $.a 1 }`, offset: 6, msg: "expected an operator"},
		{name: "json missing value", pattern: `{ $.a = }`, offset: 8, msg: "missing value"},
		{name: "json ordering on string", pattern: `{ $.a > "x" }`, offset: 6, msg: "needs a number"},
		{name: "json bad IS", pattern: `{ $.a IS MAYBE }`, offset: 9, msg: "NULL, TRUE or FALSE"},
		{name: "json bad NOT", pattern: `{ $.a NOT THERE }`, offset: 10, msg: "EXISTS"},
		{name: "json unclosed paren", pattern: `{ ($.a = 1 }`, offset: 2, msg: "add the matching )"},
		{name: "json junk between", pattern: `{ $.a = 1 $.b = 2 }`, offset: 10, msg: "join conditions"},
		{name: "json text after", pattern: `{ $.a = 1 } x`, offset: 12, msg: "text after"},
		{name: "delimited unclosed", pattern: `[a, b`, offset: 0, msg: "end it with ]"},
		{name: "delimited empty", pattern: `[ ]`, offset: 2, msg: "names no fields"},
		{name: "delimited no name", pattern: `[a, = 3]`, offset: 4, msg: "field name"},
		{name: "delimited missing comma", pattern: `[a b]`, offset: 3, msg: "expected an operator"},
		{name: "delimited other field in or", pattern: `[a = 1 || b = 2]`, offset: 10, msg: "repeat its name"},
		{name: "delimited ordering on string", pattern: `[a > x]`, offset: 3, msg: "needs a number"},
		{name: "delimited text after", pattern: `[a] b`, offset: 4, msg: "text after"},
		{name: "three regexes in json", pattern: `{ $.a = %x% && $.b = %y% && $.c = %z% }`, offset: 34, msg: "at most 2"},
		{name: "three regexes in delimited", pattern: `[a = %x%, b = %y%, c = %z%]`, offset: 23, msg: "at most 2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.pattern)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) error = %v, want a *SyntaxError", tc.pattern, err)
			}
			if se.Offset != tc.offset || !strings.Contains(se.Msg, tc.msg) {
				t.Errorf("Parse(%q) = offset %d %q, want offset %d and a message containing %q", tc.pattern, se.Offset, se.Msg, tc.offset, tc.msg)
			}
		})
	}
}

func TestKindAndNames(t *testing.T) {
	tests := []struct {
		name    string
		pattern string
		kind    Kind
		names   []string
	}{
		{name: "empty", pattern: "", kind: KindAll},
		{name: "text", pattern: "ERROR", kind: KindText},
		{name: "json", pattern: `{ $.a = 1 && ($.b[0].c = 2 || $.a = 3) }`, kind: KindJSON, names: []string{"$.a", "$.b[0].c"}},
		{name: "delimited", pattern: `[x, ..., y = 1]`, kind: KindDelimited, names: []string{"$x", "$y"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := MustParse(tc.pattern)
			if p.Kind() != tc.kind {
				t.Errorf("Kind = %v, want %v", p.Kind(), tc.kind)
			}
			if got := p.Names(); strings.Join(got, ",") != strings.Join(tc.names, ",") {
				t.Errorf("Names = %v, want %v", got, tc.names)
			}
		})
	}
}

func TestGlob(t *testing.T) {
	tests := []struct {
		name, pattern, s string
		want             bool
	}{
		{name: "exact", pattern: "abc", s: "abc", want: true},
		{name: "exact differs", pattern: "abc", s: "abcd", want: false},
		{name: "prefix", pattern: "ab*", s: "abcd", want: true},
		{name: "suffix", pattern: "*cd", s: "abcd", want: true},
		{name: "middle", pattern: "a*c*e", s: "abcde", want: true},
		{name: "overlap", pattern: "ab*ba", s: "aba", want: false},
		{name: "star", pattern: "*", s: "", want: true},
		{name: "order", pattern: "*b*a*", s: "ab", want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := glob(tc.pattern, tc.s); got != tc.want {
				t.Errorf("glob(%q, %q) = %v, want %v", tc.pattern, tc.s, got, tc.want)
			}
		})
	}
}

func TestNilPatternMatchesAll(t *testing.T) {
	var p *Pattern
	if _, ok := p.Match("x"); !ok {
		t.Error("nil pattern did not match")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "ERROR", `?a ?b -c "d e" %f+%`, `{ $.a = 1 && ($.b[0] > 2 || $.c IS NULL) }`,
		`{ $.x NOT EXISTS }`, `[ip, ..., status = 4* || status = 5*, bytes > 10]`, `[a = %x%]`, `{ $.a = "*b*" }`} {
		f.Add(s, accessLine)
		f.Add(s, jsonLine)
	}
	f.Fuzz(func(t *testing.T, pattern, line string) {
		p, err := Parse(pattern)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || se.Offset < 0 || se.Offset > len(pattern) {
				t.Fatalf("Parse(%q) error %v: not a *SyntaxError within the pattern", pattern, err)
			}
			return
		}
		m, ok := p.Match(line)
		if !ok && len(m.Fields) != 0 {
			t.Fatalf("no match but fields %v", m.Fields)
		}
		if _, err := Parse(p.String()); err != nil {
			t.Fatalf("String() %q does not parse again: %v", p.String(), err)
		}
	})
}
