package alarm

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestParseRule(t *testing.T) {
	tests := []struct {
		name string
		rule string
		want string // canonical String()
		refs []string
	}{
		{"quoted", `ALARM("cpu-high")`, `ALARM("cpu-high")`, []string{"cpu-high"}},
		{"unquoted", `ALARM(cpu-high)`, `ALARM("cpu-high")`, []string{"cpu-high"}},
		{"quoted with spaces", `OK("my alarm (prod)")`, `OK("my alarm (prod)")`, []string{"my alarm (prod)"}},
		{"insufficient data", `INSUFFICIENT_DATA(a)`, `INSUFFICIENT_DATA("a")`, []string{"a"}},
		{"true", `TRUE`, `TRUE`, []string{}},
		{"false in parentheses", `((FALSE))`, `FALSE`, []string{}},
		{"AWS example 1", `ALARM(CPUUtilizationTooHigh) AND ALARM(DiskReadOpsTooHigh)`, `ALARM("CPUUtilizationTooHigh") AND ALARM("DiskReadOpsTooHigh")`, []string{"CPUUtilizationTooHigh", "DiskReadOpsTooHigh"}},
		{"AWS example 2", `ALARM(CPUUtilizationTooHigh) AND NOT ALARM(DeploymentInProgress)`, `ALARM("CPUUtilizationTooHigh") AND NOT ALARM("DeploymentInProgress")`, []string{"CPUUtilizationTooHigh", "DeploymentInProgress"}},
		{"AWS example 3", "(ALARM(\"CPUUtilizationTooHigh\") OR \nALARM(\"DiskReadOpsTooHigh\")) AND \nOK(\"NetworkOutTooHigh\")", `(ALARM("CPUUtilizationTooHigh") OR ALARM("DiskReadOpsTooHigh")) AND OK("NetworkOutTooHigh")`, []string{"CPUUtilizationTooHigh", "DiskReadOpsTooHigh", "NetworkOutTooHigh"}},
		{"AND binds tighter than OR", `ALARM(a) OR ALARM(b) AND ALARM(c)`, `ALARM("a") OR ALARM("b") AND ALARM("c")`, []string{"a", "b", "c"}},
		{"parentheses kept where needed", `(ALARM(a) OR ALARM(b)) AND ALARM(c)`, `(ALARM("a") OR ALARM("b")) AND ALARM("c")`, []string{"a", "b", "c"}},
		{"NOT binds tightest", `NOT ALARM(a) AND ALARM(b)`, `NOT ALARM("a") AND ALARM("b")`, []string{"a", "b"}},
		{"NOT of a group", `NOT (ALARM(a) OR ALARM(b))`, `NOT (ALARM("a") OR ALARM("b"))`, []string{"a", "b"}},
		{"double NOT", `NOT NOT TRUE`, `NOT NOT TRUE`, []string{}},
		{"refs deduplicated", `ALARM(a) OR OK(a)`, `ALARM("a") OR OK("a")`, []string{"a"}},
		{"keyword as a quoted name", `ALARM("AND")`, `ALARM("AND")`, []string{"AND"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := ParseRule(tt.rule)
			if err != nil {
				t.Fatalf("ParseRule: %v", err)
			}
			if got := e.String(); got != tt.want {
				t.Errorf("String() = %s, want %s", got, tt.want)
			}
			if got := e.Refs(); !reflect.DeepEqual(got, tt.refs) {
				t.Errorf("Refs() = %q, want %q", got, tt.refs)
			}
			again, err := ParseRule(e.String())
			if err != nil || again.String() != e.String() {
				t.Errorf("String() does not parse back: %v %v", again, err)
			}
		})
	}
}

func TestParseRuleErrors(t *testing.T) {
	many := make([]string, MaxRuleAlarms+1)
	for i := range many {
		many[i] = fmt.Sprintf("ALARM(a%d)", i)
	}
	tests := []struct {
		name   string
		rule   string
		offset int
		inMsg  string
	}{
		{"empty", "", 0, "the rule is empty"},
		{"blank", "   ", 0, "the rule is empty"},
		{"lower-case operator", `ALARM(a) and ALARM(b)`, 9, "write AND"},
		{"lower-case function", `alarm(a)`, 0, "write ALARM"},
		{"unclosed quote", `ALARM("cpu`, 6, "not closed"},
		{"missing paren after function", `ALARM a`, 6, `"(" after ALARM`},
		{"no name", `ALARM()`, 6, "an alarm name"},
		{"empty name", `ALARM("")`, 6, "is empty"},
		{"name with a space unquoted", `ALARM(my alarm)`, 9, `quote a name with spaces`},
		{"unclosed group", `(ALARM(a) OR ALARM(b)`, 21, `close the "(" at offset 0`},
		{"stray close", `ALARM(a))`, 8, "AND, OR or the end of the rule"},
		{"dangling AND", `ALARM(a) AND`, 12, "ends early"},
		{"two operands", `ALARM(a) ALARM(b)`, 9, "AND, OR or the end"},
		{"unknown word", `MAYBE`, 0, "expected ALARM(name)"},
		{"operator first", `OR ALARM(a)`, 0, `unexpected "OR"`},
		{"too many alarms", strings.Join(many, " OR "), 0, "references 101 alarms, over the 100 limit"},
		{"too many elements", strings.Repeat("TRUE OR ", 500) + "TRUE", 0, "501 elements"},
		{"too long", `ALARM("` + strings.Repeat("x", MaxRuleLength) + `")`, MaxRuleLength, "characters, over the 10240 limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseRule(tt.rule)
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("ParseRule = %v, want a *ParseError", err)
			}
			if pe.Offset != tt.offset || !strings.Contains(pe.Msg, tt.inMsg) {
				t.Fatalf("got offset %d %q, want offset %d and %q", pe.Offset, pe.Msg, tt.offset, tt.inMsg)
			}
			if prefix := fmt.Sprintf("alarm rule: offset %d: ", tt.offset); !strings.HasPrefix(err.Error(), prefix) {
				t.Errorf("Error() = %q, want it to start %q", err, prefix)
			}
		})
	}
}

func TestEvaluateComposite(t *testing.T) {
	states := map[string]State{"cpu": Alarm, "disk": OK, "net": OK, "deploy": Alarm, "new": InsufficientData}
	tests := []struct {
		name   string
		rule   string
		prev   State
		want   State
		reason string
	}{
		{"single true", `ALARM(cpu)`, OK, Alarm, `The rule is TRUE: "cpu" is in ALARM.`},
		{"single false", `ALARM(disk)`, Alarm, OK, `The rule is FALSE: "disk" is in OK.`},
		{"AND both", `ALARM(cpu) AND OK(disk)`, OK, Alarm, `The rule is TRUE: "cpu" is in ALARM, "disk" is in OK.`},
		{"AND one false names it", `ALARM(cpu) AND ALARM(disk)`, Alarm, OK, `The rule is FALSE: "disk" is in OK.`},
		{"OR names the first true", `ALARM(disk) OR ALARM(cpu) OR ALARM(deploy)`, OK, Alarm, `The rule is TRUE: "cpu" is in ALARM.`},
		{"OR false names all", `ALARM(disk) OR ALARM(net)`, InsufficientData, OK, `The rule is FALSE: "disk" is in OK, "net" is in OK.`},
		{"NOT suppresses during deploy", `ALARM(cpu) AND NOT ALARM(deploy)`, OK, OK, `The rule is FALSE: "deploy" is in ALARM.`},
		{"precedence: OR of AND", `ALARM(disk) AND ALARM(cpu) OR ALARM(deploy)`, OK, Alarm, `The rule is TRUE: "deploy" is in ALARM.`},
		{"precedence: parentheses", `ALARM(disk) AND (ALARM(cpu) OR ALARM(deploy))`, OK, OK, `The rule is FALSE: "disk" is in OK.`},
		{"NOT before AND", `NOT ALARM(disk) AND ALARM(cpu)`, OK, Alarm, `The rule is TRUE: "disk" is in OK, "cpu" is in ALARM.`},
		{"referenced INSUFFICIENT_DATA is not ALARM", `ALARM(new)`, InsufficientData, OK, `The rule is FALSE: "new" is in INSUFFICIENT_DATA.`},
		{"INSUFFICIENT_DATA function", `INSUFFICIENT_DATA(new)`, OK, Alarm, `The rule is TRUE: "new" is in INSUFFICIENT_DATA.`},
		{"TRUE", `TRUE`, "", Alarm, `The rule is TRUE.`},
		{"FALSE", `FALSE`, "", OK, `The rule is FALSE.`},
		{"unknown alarm", `ALARM(gone)`, OK, InsufficientData, `Insufficient Data: the rule references unknown alarm "gone".`},
		{"unknown alarm in AND", `ALARM(cpu) AND ALARM(gone) AND OK(lost)`, OK, InsufficientData, `Insufficient Data: the rule references unknown alarms "gone", "lost".`},
		{"unknown alarm that does not decide", `ALARM(cpu) OR ALARM(gone)`, OK, Alarm, `The rule is TRUE: "cpu" is in ALARM.`},
		{"unknown alarm under FALSE AND", `FALSE AND ALARM(gone)`, Alarm, OK, `The rule is FALSE.`},
		{"NOT unknown is unknown", `NOT ALARM(gone)`, OK, InsufficientData, `Insufficient Data: the rule references unknown alarm "gone".`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := ParseRule(tt.rule)
			if err != nil {
				t.Fatal(err)
			}
			got := EvaluateComposite(e, states, tt.prev, now)
			if got.State != tt.want || got.Reason != tt.reason {
				t.Fatalf("got %s %q, want %s %q", got.State, got.Reason, tt.want, tt.reason)
			}
			if got.Changed != (tt.want != tt.prev.orInitial()) {
				t.Errorf("Changed = %v", got.Changed)
			}
		})
	}
}

func TestCompositeReasonData(t *testing.T) {
	e, _ := ParseRule(`ALARM(cpu) AND OK(disk)`)
	got := EvaluateComposite(e, map[string]State{"cpu": Alarm, "disk": OK}, OK, now).ReasonData.String()
	want := `{"triggeringAlarms":[{"name":"cpu","state":{"value":"ALARM"}},{"name":"disk","state":{"value":"OK"}}]}`
	if got != want {
		t.Fatalf("ReasonData\n got %s\nwant %s", got, want)
	}
}

// FuzzParseRule checks that ParseRule never panics, and that what it
// accepts prints to a rule that parses back to the same text.
func FuzzParseRule(f *testing.F) {
	for _, s := range []string{
		`ALARM("a") AND NOT (OK(b) OR INSUFFICIENT_DATA("c d"))`,
		`TRUE OR FALSE`, `((`, `ALARM(`, `"`, `NOT NOT NOT`, `ALARM(a))`, `ok(x) and`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, rule string) {
		e, err := ParseRule(rule)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Offset < 0 || pe.Offset > len(rule) {
				t.Fatalf("ParseRule(%q): bad error %v", rule, err)
			}
			return
		}
		s := e.String()
		if len(s) > MaxRuleLength {
			return // quoting names can lengthen a rule past the limit
		}
		again, err := ParseRule(s)
		if err != nil {
			t.Fatalf("String() %q of %q does not parse: %v", s, rule, err)
		}
		if again.String() != s {
			t.Fatalf("round trip %q -> %q", s, again.String())
		}
		_ = EvaluateComposite(e, map[string]State{}, OK, now)
	})
}
