package protocol

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/madang-dev/madang/internal/awsapi/model"
)

type problemKind int

const (
	// missing: a required member is absent.
	missing problemKind = iota
	// malformed: a value is not of the member's type.
	malformed
	// constraint: a value breaks an enum, length or range constraint.
	constraint
)

// problem is one thing wrong with an input.
type problem struct {
	kind problemKind
	// param is the parameter as the client spelled it on the wire
	// ("Filter.1.Name", "MaxCount") for the query protocols, or the
	// member path for JSON and CBOR.
	param string
	// path is the member path in AWS's validation message style, e.g.
	// "metricData.1.member.value".
	path  string
	value string
	// want says what was expected ("an integer") or which constraint
	// failed ("Member must have length less than or equal to 255").
	want string
}

// sentence describes the problem as a sentence for EC2-style messages.
func (p problem) sentence() string {
	if p.kind == malformed {
		return "Expected " + p.want + "."
	}
	return p.want + "."
}

// problems collects the problems of one input.
type problems struct {
	list []problem
}

func (p *problems) add(pr problem) {
	if len(p.list) < 100 {
		p.list = append(p.list, pr)
	}
}

// memberPath extends an AWS-style validation path by a member name.
func memberPath(parent, member string) string {
	name := lowerFirst(member)
	if parent == "" {
		return name
	}
	return parent + "." + name
}

// itemPath extends an AWS-style validation path by a list index (1-based).
func itemPath(parent string, i int) string {
	return parent + "." + strconv.Itoa(i+1) + ".member"
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// checkConstraints adds a problem when a decoded scalar or collection
// breaks the shape's enum, length or range constraints.
func (p *problems) checkConstraints(sh *model.Shape, v any, param, path string) {
	fail := func(want string) {
		p.add(problem{kind: constraint, param: param, path: path, value: shortValue(v), want: want})
	}
	var size float64
	sized := true
	switch x := v.(type) {
	case string:
		if len(sh.Enum) > 0 && !contains(sh.Enum, x) {
			fail("Member must satisfy enum value set: [" + strings.Join(sh.Enum, ", ") + "]")
			return
		}
		size = float64(utf8.RuneCountInString(x))
	case []any:
		size = float64(len(x))
	case map[string]any:
		size = float64(len(x))
	case []byte:
		size = float64(len(x))
	case int64, float64:
		sized = false
		f, _ := asFloat(x)
		if sh.Min != nil && f < *sh.Min {
			fail("Member must have value greater than or equal to " + num(*sh.Min))
		} else if sh.Max != nil && f > *sh.Max {
			fail("Member must have value less than or equal to " + num(*sh.Max))
		}
	default:
		sized = false
	}
	if !sized {
		return
	}
	noun := "length"
	if sh.Type == model.TypeList || sh.Type == model.TypeMap {
		noun = "size"
	}
	if sh.Min != nil && size < *sh.Min {
		fail(fmt.Sprintf("Member must have %s greater than or equal to %s", noun, num(*sh.Min)))
	} else if sh.Max != nil && size > *sh.Max {
		fail(fmt.Sprintf("Member must have %s less than or equal to %s", noun, num(*sh.Max)))
	}
}

func num(f float64) string {
	return strconv.FormatFloat(f, 'f', -1, 64)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func shortValue(v any) string {
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case []any:
		s = fmt.Sprintf("%d items", len(x))
	case map[string]any:
		s = fmt.Sprintf("%d entries", len(x))
	default:
		s = fmt.Sprint(x)
	}
	if len(s) > 64 {
		s = s[:61] + "..."
	}
	return s
}

// inputError turns the problems of an input into the error the service
// answers with in protocol p.
//
//   - EC2 reports the first problem: MissingParameter ("The request must
//     contain the parameter X") or InvalidParameterValue.
//   - Services that model MissingParameter / InvalidParameterValue
//     errors (CloudWatch) report those, in every protocol.
//   - Other query services report ValidationError, JSON and CBOR services
//     ValidationException, with AWS's "N validation errors detected: …"
//     message; values that are not of the member's type are a
//     SerializationException in JSON and CBOR.
func inputError(svc *model.Service, p Protocol, ps *problems) error {
	if len(ps.list) == 0 {
		return nil
	}
	first := ps.list[0]
	if p == EC2 {
		if first.kind == missing {
			return Errorf("MissingParameter", "The request must contain the parameter %s", first.param)
		}
		return Errorf("InvalidParameterValue", "Value (%s) for parameter %s is invalid. %s", first.value, first.param, first.sentence())
	}
	if sh := svc.ErrorShape("MissingParameter"); sh != nil && first.kind == missing {
		return Errorf(sh.Name, "The parameter %s is required.", first.param)
	}
	if sh := svc.ErrorShape("InvalidParameterValue"); sh != nil && first.kind != missing {
		return Errorf(sh.Name, "The value %s for parameter %s is not valid. %s", first.value, first.param, first.sentence())
	}
	if first.kind == malformed && (p == JSON || p == CBOR) {
		return Errorf("SerializationException", "Value '%s' at '%s' cannot be read: expected %s", first.value, first.path, first.want)
	}
	code := "ValidationError"
	if p == JSON || p == CBOR {
		code = "ValidationException"
	}
	var msgs []string
	for _, pr := range ps.list {
		switch pr.kind {
		case missing:
			msgs = append(msgs, fmt.Sprintf("Value null at '%s' failed to satisfy constraint: Member must not be null", pr.path))
		case malformed:
			msgs = append(msgs, fmt.Sprintf("Value '%s' at '%s' failed to satisfy constraint: Member must be %s", pr.value, pr.path, pr.want))
		default:
			msgs = append(msgs, fmt.Sprintf("Value '%s' at '%s' failed to satisfy constraint: %s", pr.value, pr.path, pr.want))
		}
	}
	noun := "errors"
	if len(msgs) == 1 {
		noun = "error"
	}
	return Errorf(code, "%d validation %s detected: %s", len(msgs), noun, strings.Join(msgs, "; "))
}
