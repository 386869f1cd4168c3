package fielderr

import (
	"errors"
	"testing"
	"time"
)

func TestErrorString(t *testing.T) {
	tests := []struct {
		name string
		err  *Error
		want string
	}{
		{"all parts", New("listeners[0].port", 70000, "is out of range", "use a port from 1 to 65535"),
			"listeners[0].port: is out of range (got 70000); use a port from 1 to 65535"},
		{"string value quoted", New("name", "Web", "is not a valid name", "use lowercase"),
			`name: is not a valid name (got "Web"); use lowercase`},
		{"no value", New("command", nil, "is required", "give the start command"),
			"command: is required; give the start command"},
		{"no path, no fix", New("", nil, "the file is empty", ""), "the file is empty"},
		{"duration value", New("timeout", -time.Second, "must be positive", ""), "timeout: must be positive (got -1s)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.want {
				t.Errorf("Error() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestFormatValue(t *testing.T) {
	n, b := 3, true
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"nil", nil, ""},
		{"string", "a b", `"a b"`},
		{"int", 42, "42"},
		{"*int", &n, "3"},
		{"nil *int", (*int)(nil), ""},
		{"*bool", &b, "true"},
		{"duration", 1500 * time.Millisecond, "1.5s"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := FormatValue(tc.v); got != tc.want {
				t.Errorf("FormatValue(%#v) = %q, want %q", tc.v, got, tc.want)
			}
		})
	}
}

func TestJoinAndIndex(t *testing.T) {
	tests := []struct {
		name, prefix, path, want string
	}{
		{"field", "a[0]", "b", "a[0].b"},
		{"index", "a", "[1].b", "a[1].b"},
		{"empty path", "a", "", "a"},
		{"empty prefix", "", "b", "b"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Join(tc.prefix, tc.path); got != tc.want {
				t.Errorf("Join(%q, %q) = %q, want %q", tc.prefix, tc.path, got, tc.want)
			}
		})
	}
	if got, want := Index("rules", 2), "rules[2]"; got != want {
		t.Errorf("Index = %q, want %q", got, want)
	}
}

func TestList(t *testing.T) {
	var l List
	if l.Err() != nil {
		t.Fatalf("empty List.Err() = %v, want nil", l.Err())
	}
	l.Add("port", 0, "is required", "")
	var inner List
	inner.Add("path", "x", "must start with \"/\"", "")
	l.Extend("healthCheck", inner)
	err := l.Err()
	if err == nil {
		t.Fatal("List.Err() = nil, want an error")
	}
	want := "port: is required (got 0)\nhealthCheck.path: must start with \"/\" (got \"x\")"
	if got := err.Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	var fe *Error
	if !errors.As(err, &fe) || fe.Path != "port" {
		t.Errorf("errors.As found %+v, want the port error", fe)
	}
	if inner[0].Path != "path" {
		t.Errorf("Extend modified the source list: %q", inner[0].Path)
	}
}

func TestSuggest(t *testing.T) {
	candidates := []string{"name", "source", "command", "port", "healthCheck", "path-pattern", "path-prefix-x", "loadBalancers"}
	tests := []struct {
		word, want string
	}{
		{"sorce", "source"},
		{"comand", "command"},
		{"prot", "port"},
		{"health_check", "healthCheck"},
		{"HealthCheck", "healthCheck"},
		{"loadbalancers", "loadBalancers"},
		{"path-pat", "path-pattern"},
		{"path", ""}, // two candidates extend it
		{"xyz", ""},
		{"", ""},
	}
	for _, tc := range tests {
		t.Run(tc.word, func(t *testing.T) {
			if got := Suggest(tc.word, candidates); got != tc.want {
				t.Errorf("Suggest(%q) = %q, want %q", tc.word, got, tc.want)
			}
		})
	}
}

func TestDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"abc", "abc", 0},
		{"abc", "abd", 1},
		{"abc", "acb", 1}, // transposition
		{"kitten", "sitting", 3},
		{"", "abc", 3},
	}
	for _, tc := range tests {
		t.Run(tc.a+"/"+tc.b, func(t *testing.T) {
			if got := distance(tc.a, tc.b); got != tc.want {
				t.Errorf("distance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
			}
		})
	}
}
