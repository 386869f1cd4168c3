package protocol

import (
	"sync"

	"github.com/madang-dev/madang/internal/awsapi/model"
)

// Frozen is a structure value its maker promises never to change again,
// such as an instance's shape kept from one DescribeInstances to the next.
// A codec may then keep the value's encoding and write those bytes again
// instead of walking the value: a listing of a thousand unchanged
// instances is mostly a copy. Everywhere else a *Frozen is the structure
// its Fields hold.
type Frozen struct {
	fields map[string]any
	kept
}

// Freeze returns fields as a Frozen value; fields (and everything in it)
// must not change afterwards.
func Freeze(fields map[string]any) *Frozen { return &Frozen{fields: fields} }

// Fields returns the structure's members.
func (f *Frozen) Fields() map[string]any { return f.fields }

// FrozenList is a list value its maker promises never to change again,
// such as a whole DescribeInstances answer kept while no instance
// changes. Like Frozen, the XML codecs keep its encoding and write it
// again as one copy; everywhere else a *FrozenList is the list its Items
// hold.
type FrozenList struct {
	items []any
	kept
}

// FreezeList returns items as a FrozenList; items (and everything in
// them) must not change afterwards.
func FreezeList(items []any) *FrozenList { return &FrozenList{items: items} }

// Items returns the list's items.
func (l *FrozenList) Items() []any { return l.items }

// kept holds the encodings kept of a frozen value.
type kept struct {
	mu  sync.Mutex
	enc []frozenEncoding
}

// frozenEncoding is one kept encoding: of the value as a shape, written
// under an element name (flattened or not, for a list) in one XML
// dialect.
type frozenEncoding struct {
	shape *model.Shape
	name  string
	ec2   bool
	flat  bool
	bytes []byte
}

// encoded returns the kept XML of the value as shape under name, or nil.
func (k *kept) encoded(shape *model.Shape, name string, ec2, flat bool) []byte {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, e := range k.enc {
		if e.shape == shape && e.name == name && e.ec2 == ec2 && e.flat == flat {
			return e.bytes
		}
	}
	return nil
}

// keep records an XML encoding of the value.
func (k *kept) keep(shape *model.Shape, name string, ec2, flat bool, b []byte) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.enc = append(k.enc, frozenEncoding{shape: shape, name: name, ec2: ec2, flat: flat, bytes: b})
}
