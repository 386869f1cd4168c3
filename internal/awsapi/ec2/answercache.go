package ec2

import (
	"encoding/binary"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/madang-dev/madang/internal/awsapi/protocol"
	"github.com/madang-dev/madang/internal/compute"
)

// answerCache keeps DescribeInstances' recent answers for as long as the
// compute revision they were made at holds: a client that polls a
// thousand unchanged instances is answered with the kept answer, without
// a listing, shapes or filters. An answer asked for again has its
// reservations frozen, so that the codec keeps their encoding and
// writes it again without walking them (an answer made anew on every
// call, as while instances launch, is not copied for nothing). Answers
// are kept by their parameters (answerKey); a newer revision drops them
// all.
//
// It holds at most maxAnswers answers of at most maxAnswerItems
// reservations together; an answer of more is not kept. A kept answer is
// handed to every call with its parameters: the encoders only read it.
type answerCache struct {
	mu sync.Mutex
	// revision is the compute revision the answers were made at.
	revision uint64
	answers  []keptAnswer // the least recently used first
	items    int          // the reservations of answers
}

// keptAnswer is one kept DescribeInstances output.
type keptAnswer struct {
	key   string
	out   map[string]any
	items int
	// frozen says out's Reservations are a *protocol.FrozenList.
	frozen bool
}

const (
	// maxAnswers bounds the parameter sets kept at once.
	maxAnswers = 8
	// maxAnswerItems bounds the reservations kept (a reservation of one
	// instance is about 1.3 KB of XML, kept once more in its shape).
	maxAnswerItems = 16384
)

// get returns the answer kept for key at revision rev.
func (c *answerCache) get(rev uint64, key string) (map[string]any, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if rev != c.revision {
		return nil, false
	}
	for i, a := range c.answers {
		if a.key == key {
			if !a.frozen {
				a.out, a.frozen = frozenAnswer(a.out), true
			}
			copy(c.answers[i:], c.answers[i+1:])
			c.answers[len(c.answers)-1] = a
			return a.out, true
		}
	}
	return nil, false
}

// frozenAnswer returns a copy of out with its Reservations frozen. out is
// not changed: calls being answered with it may be reading it.
func frozenAnswer(out map[string]any) map[string]any {
	kept := make(map[string]any, len(out))
	for k, v := range out {
		kept[k] = v
	}
	kept["Reservations"] = protocol.FreezeList(out["Reservations"].([]any))
	return kept
}

// keep keeps out, an answer made from the listing at revision rev, for
// key. An answer made at an older revision than the kept ones is not
// kept. Neither out nor anything in it may change afterwards.
func (c *answerCache) keep(rev uint64, key string, out map[string]any) {
	items, ok := out["Reservations"].([]any)
	if !ok || len(items) > maxAnswerItems {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case rev < c.revision:
		return
	case rev > c.revision:
		c.revision, c.answers, c.items = rev, nil, 0
	}
	c.answers = slices.DeleteFunc(c.answers, func(a keptAnswer) bool {
		if a.key == key {
			c.items -= a.items
			return true
		}
		return false
	})
	for len(c.answers) > 0 && (len(c.answers) >= maxAnswers || c.items+len(items) > maxAnswerItems) {
		c.items -= c.answers[0].items
		c.answers = slices.Delete(c.answers, 0, 1)
	}
	c.answers = append(c.answers, keptAnswer{key: key, out: out, items: len(items)})
	c.items += len(items)
}

// kept reports how many answers and reservations the cache holds.
func (c *answerCache) kept() (answers, items int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.answers), c.items
}

// revisioner is implemented by compute services that count their changes
// (*compute.Service does): Revision changes whenever an instance record,
// an image or a launch template does.
type revisioner interface {
	Revision() uint64
}

var _ revisioner = (*compute.Service)(nil)

// revision returns the compute service's revision, or false when it
// keeps none (answers are then never kept).
func (s *Service) revision() (uint64, bool) {
	r, ok := s.compute.(revisioner)
	if !ok {
		return 0, false
	}
	return r.Revision(), true
}

// answerKey is the key of a decoded input: every member, in an encoding
// that tells every two different inputs apart. It reports false for an
// input holding a value of another type than decoded inputs have.
func answerKey(in protocol.Struct) (string, bool) {
	b, ok := appendCanonical(make([]byte, 0, 64), map[string]any(in))
	return string(b), ok
}

// appendCanonical appends v, a decoded input value, to b: tagged by type,
// lengths before contents, structure members sorted by name.
func appendCanonical(b []byte, v any) ([]byte, bool) {
	str := func(b []byte, s string) []byte {
		b = binary.AppendUvarint(b, uint64(len(s)))
		return append(b, s...)
	}
	switch x := v.(type) {
	case map[string]any:
		b = append(b, 'S')
		b = binary.AppendUvarint(b, uint64(len(x)))
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			b = str(b, k)
			var ok bool
			if b, ok = appendCanonical(b, x[k]); !ok {
				return b, false
			}
		}
	case protocol.Struct:
		return appendCanonical(b, map[string]any(x))
	case []any:
		b = append(b, 'L')
		b = binary.AppendUvarint(b, uint64(len(x)))
		for _, item := range x {
			var ok bool
			if b, ok = appendCanonical(b, item); !ok {
				return b, false
			}
		}
	case string:
		b = str(append(b, 's'), x)
	case []byte:
		b = str(append(b, 'b'), string(x))
	case int64:
		b = binary.AppendVarint(append(b, 'i'), x)
	case float64:
		b = binary.BigEndian.AppendUint64(append(b, 'f'), math.Float64bits(x))
	case bool:
		if x {
			b = append(b, 'T')
		} else {
			b = append(b, 'F')
		}
	case time.Time:
		b = binary.AppendVarint(append(b, 't'), x.UnixNano())
	case nil:
		b = append(b, 'N')
	default:
		return b, false
	}
	return b, true
}
