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

	mu  sync.Mutex
	enc []frozenEncoding
}

// frozenEncoding is one kept encoding: of the value as a shape, written
// under an element name in one XML dialect.
type frozenEncoding struct {
	shape *model.Shape
	name  string
	ec2   bool
	bytes []byte
}

// Freeze returns fields as a Frozen value; fields (and everything in it)
// must not change afterwards.
func Freeze(fields map[string]any) *Frozen { return &Frozen{fields: fields} }

// Fields returns the structure's members.
func (f *Frozen) Fields() map[string]any { return f.fields }

// encoded returns the kept XML of f as shape under name, or nil.
func (f *Frozen) encoded(shape *model.Shape, name string, ec2 bool) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, e := range f.enc {
		if e.shape == shape && e.name == name && e.ec2 == ec2 {
			return e.bytes
		}
	}
	return nil
}

// keep records an XML encoding of f.
func (f *Frozen) keep(shape *model.Shape, name string, ec2 bool, b []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.enc = append(f.enc, frozenEncoding{shape: shape, name: name, ec2: ec2, bytes: b})
}
