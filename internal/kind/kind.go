// Package kind is the registry of madang's resource kinds. Each kind
// (image, launch template, instance group, target group, load balancer,
// and every kind added later) is described once, by a Def: its names, its
// store prefix, its stack-file key, how its specs are defaulted, validated
// and cross-referenced, how a spec becomes a stored record and back. The
// stack file (parse, check, diff), apply (one transaction with revision
// compares), the API's generic listing and the CLI iterate over the
// registry instead of naming kinds.
//
// Adding a kind is one Def (in the package that owns the kind's records
// and controller) plus one line in package kinds.
package kind

import (
	"context"
	"log/slog"
	"reflect"
	"time"

	"github.com/madang-dev/madang/internal/event"
	"github.com/madang-dev/madang/internal/fielderr"
	"github.com/madang-dev/madang/internal/state"
)

// Info names a kind and places it in the store and the stack file.
type Info struct {
	// Name is the kind's identifier in plans, events, the API and the CLI,
	// singular and hyphenated: "image", "target-group".
	Name string
	// Title is the kind in words, singular: "image", "target group".
	Title string
	// StackKey is the stack file's top-level key of the kind's list:
	// "images", "targetGroups".
	StackKey string
	// Prefix is the store prefix of the kind's records; a record's key is
	// Prefix + its name.
	Prefix string
	// Aliases are other names the CLI and API accept for the kind
	// ("tg", "target-groups").
	Aliases []string
}

// Ref is a reference from one resource to another by name.
type Ref struct {
	// Path is the referring field, relative to the referring spec
	// ("image", "targets[0].instances").
	Path string
	// Kind is the referenced kind's Name.
	Kind string
	// Name is the referenced resource's name ("" refers to nothing).
	Name string
	// AllowUnstored says Name may also be a resource that exists without
	// a stored record of the kind (a VPC's default subnet or security
	// group, which the EC2 service synthesizes): a name no stored
	// resource has is no error. A stored resource it names is still used
	// by the referrer, which keeps it from being deleted.
	AllowUnstored bool
}

// Env is what building a record may use: the data directory, the clock,
// the event log and the logger.
type Env struct {
	// Home is the data directory.
	Home   string
	Now    func() time.Time
	Events *event.Log
	Logger *slog.Logger
	// StackFile is the path of the stack file being applied ("" when
	// the change does not come from one).
	StackFile string
	// Region and AccountID are what the ARNs of new records name; empty
	// means madang's defaults (see ARN).
	Region, AccountID string
}

// Default region and account of ARNs when an Env names none.
const (
	DefaultRegion    = "local"
	DefaultAccountID = "000000000000"
)

// ARN returns an AWS ARN of service in the Env's region and account:
// "arn:aws:SERVICE:REGION:ACCOUNT:RESOURCE".
func (e Env) ARN(service, resource string) string {
	region, account := e.Region, e.AccountID
	if region == "" {
		region = DefaultRegion
	}
	if account == "" {
		account = DefaultAccountID
	}
	return "arn:aws:" + service + ":" + region + ":" + account + ":" + resource
}

// Column is one column of the CLI's table of a kind.
type Column struct {
	Header string
	// Value renders the column for one stored record.
	Value func(record any) string
}

// Kind is a resource kind as the registry holds it; Def implements it.
// Specs are passed as pointers to the kind's spec type (*S) and records as
// pointers to its record type (*R).
type Kind interface {
	// Info names the kind.
	Info() Info
	// SpecType is the kind's spec type S; a stack file's section of the
	// kind decodes into a []S.
	SpecType() reflect.Type
	// Name returns a spec's name (its identity for diff and storage).
	Name(spec any) string
	// Check applies defaults to spec, resolves its relative paths against
	// dir, validates it, and returns its problems (paths relative to the
	// spec) and its references to other resources.
	Check(spec any, dir string) (fielderr.List, []Ref)
	// CheckAll checks the kind's specs of one stack together (specs is a
	// []S); paths are relative to the stack file's section.
	CheckAll(specs any) fielderr.List
	// Normalize makes spec comparable for diff: defaults applied and
	// attributes made effective, so spelling out a default is no change.
	Normalize(spec any)
	// Decode decodes a stored record.
	Decode(value []byte) (record any, err error)
	// Spec returns the spec and the owning stack ("" when made by hand) of
	// a decoded record.
	Spec(record any) (spec any, owner string)
	// Pending returns changes that applying spec over the stored record
	// (nil when there is none) would make that its spec does not show,
	// such as a changed source directory; it changes nothing.
	Pending(ctx context.Context, env Env, spec any, record any) ([]string, error)
	// Preflight checks, before anything is committed, that spec can be
	// served on this machine (all holds every stored record of the kind).
	Preflight(ctx context.Context, spec any, all []any) fielderr.List
	// Build returns the record to store for spec owned by owner, given
	// the stored record (nil when new), and whether it differs. It may do
	// slow work (building an image version) but must leave nothing that a
	// failed apply would have to undo, beyond files no record names.
	Build(ctx context.Context, env Env, spec any, owner string, record any) (out any, changed bool, err error)
	// Columns are the CLI's table columns.
	Columns() []Column
}

// Key returns the store key of the resource of kind k named name.
func Key(k Kind, name string) string { return k.Info().Prefix + name }

// Load lists and decodes every stored record of kind k.
func Load(ctx context.Context, st state.Store, k Kind) (records []any, kvs []state.KV, rev int64, err error) {
	kvs, rev, err = st.List(ctx, k.Info().Prefix)
	if err != nil {
		return nil, nil, 0, err
	}
	records = make([]any, 0, len(kvs))
	for _, kv := range kvs {
		r, err := k.Decode(kv.Value)
		if err != nil {
			return nil, nil, 0, err
		}
		records = append(records, r)
	}
	return records, kvs, rev, nil
}
