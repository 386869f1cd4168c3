// Package model holds the AWS service models madang's AWS-compatible
// endpoint speaks: metadata, operations and shapes in the form of the
// official api-2.json models, trimmed of documentation and embedded as
// compact gzipped JSON (see modelgen; regenerate with `go generate`).
// Load parses a model once and resolves every shape reference, so the
// protocol codecs walk *Shape pointers.
package model

//go:generate go run ./gen

import (
	"bytes"
	"compress/gzip"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"sync"

	"github.com/madang-dev/madang/internal/awsapi/model/modelgen"
)

//go:embed data/*.json.gz
var data embed.FS

// Shape types, as named by the models.
const (
	TypeStructure = "structure"
	TypeList      = "list"
	TypeMap       = "map"
	TypeString    = "string"
	TypeInteger   = "integer"
	TypeLong      = "long"
	TypeFloat     = "float"
	TypeDouble    = "double"
	TypeBoolean   = "boolean"
	TypeTimestamp = "timestamp"
	TypeBlob      = "blob"
)

// Service is one parsed service model. It is shared and must not be
// modified.
type Service struct {
	// Name is the model's name, e.g. "monitoring" or "elasticloadbalancingv2".
	Name       string
	Metadata   Metadata
	Operations map[string]*Operation
	Shapes     map[string]*Shape

	errorsByCode map[string]*Shape
}

// Metadata is the part of a model's metadata the wire protocols use.
type Metadata struct {
	APIVersion      string
	EndpointPrefix  string
	JSONVersion     string
	Protocol        string
	Protocols       []string
	ServiceFullName string
	ServiceID       string
	// SigningName is the SigV4 service name when it differs from
	// EndpointPrefix; see Service.SigningName.
	SigningName  string
	TargetPrefix string
	UID          string
	XMLNamespace string
	// AWSQueryCompatible is set for services that moved from the query
	// protocol to JSON/CBOR and still report their legacy error codes
	// through the x-amzn-query-error header.
	AWSQueryCompatible bool
}

// Operation is one operation of a service.
type Operation struct {
	Name string
	// Input and Output are nil for operations without one.
	Input, Output *Shape
	// ResultWrapper names the XML element wrapping the output in the query
	// protocol, e.g. "DescribeLoadBalancersResult".
	ResultWrapper string
	Errors        []*Shape
	Deprecated    bool
}

// Ref is a use of a shape together with the serialization traits of the
// place that uses it (a member, a list member, a map key or value).
type Ref struct {
	Shape           *Shape
	LocationName    string
	QueryName       string
	Flattened       bool
	XMLNamespace    string
	XMLAttribute    bool
	TimestampFormat string
	Deprecated      bool
}

// Member is a member of a structure shape.
type Member struct {
	Name string
	// Index is the member's position in its structure's Members.
	Index    int
	Required bool
	Ref
}

// ErrorInfo is the error trait of an exception shape.
type ErrorInfo struct {
	// Code is the error code of the query protocols (and of the
	// x-amzn-query-error header); when empty the shape name is the code.
	Code           string
	HTTPStatusCode int
	SenderFault    bool
}

// Shape is a type of the model.
type Shape struct {
	Name string
	Type string
	// Members lists a structure's members in declaration order.
	Members []*Member
	// Member is a list's member; Key and Value a map's.
	Member, Key, Value *Ref
	Flattened          bool
	Enum               []string
	// Min and Max are length, size or value limits; nil when absent.
	Min, Max        *float64
	Error           *ErrorInfo
	Exception       bool
	Fault           bool
	TimestampFormat string
	LocationName    string
	XMLNamespace    string
	Deprecated      bool
	// EventStream marks a structure whose members are the events and
	// exceptions of an event stream (an operation's streaming output
	// member, e.g. CloudWatch Logs' StartLiveTailResponseStream).
	EventStream bool
	// Event marks a structure sent as one event of an event stream.
	Event bool

	memberIndex map[string]*Member
}

// MemberNamed returns the structure member called name, or nil.
func (s *Shape) MemberNamed(name string) *Member {
	return s.memberIndex[name]
}

// ErrorCode is the code an exception shape is reported with by the query
// protocols: its error trait's code, or the shape name.
func (s *Shape) ErrorCode() string {
	if s.Error != nil && s.Error.Code != "" {
		return s.Error.Code
	}
	return s.Name
}

// Operation returns the named operation, or nil.
func (s *Service) Operation(name string) *Operation {
	return s.Operations[name]
}

// OperationNames returns the names of all operations, sorted.
func (s *Service) OperationNames() []string {
	names := make([]string, 0, len(s.Operations))
	for n := range s.Operations {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// SigningName is the SigV4 credential-scope service name of the service.
func (s *Service) SigningName() string {
	if s.Metadata.SigningName != "" {
		return s.Metadata.SigningName
	}
	return s.Metadata.EndpointPrefix
}

// HasProtocol reports whether the service speaks the named protocol
// ("query", "ec2", "json", "smithy-rpc-v2-cbor").
func (s *Service) HasProtocol(p string) bool {
	for _, q := range s.Metadata.Protocols {
		if q == p {
			return true
		}
	}
	return false
}

// ErrorShape returns the exception shape for an error code: the shape of
// that name, else the shape whose error trait has that code. It returns nil
// for codes the model does not describe.
func (s *Service) ErrorShape(code string) *Shape {
	if sh, ok := s.Shapes[code]; ok && sh.Exception {
		return sh
	}
	return s.errorsByCode[code]
}

// Names lists the models Load accepts.
func Names() []string {
	names := make([]string, 0, len(modelgen.Sources))
	for _, src := range modelgen.Sources {
		names = append(names, src.Name)
	}
	return names
}

// loaders parses each embedded model at most once. It is filled before
// main runs and never changed afterwards.
var loaders = func() map[string]func() (*Service, error) {
	m := map[string]func() (*Service, error){}
	for _, src := range modelgen.Sources {
		name := src.Name
		m[name] = sync.OnceValues(func() (*Service, error) { return parse(name) })
	}
	return m
}()

// Load returns the named service model (one of Names), parsed on first use.
// Every caller gets the same *Service.
func Load(name string) (*Service, error) {
	load, ok := loaders[name]
	if !ok {
		return nil, fmt.Errorf("model: no service model %q (have %v)", name, Names())
	}
	return load()
}

// Embedded returns the raw embedded file of a model, as written by the
// generator.
func Embedded(name string) ([]byte, error) {
	b, err := data.ReadFile("data/" + name + ".json.gz")
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	return b, nil
}

// FromAPI2 parses a service model in the api-2.json format (as shipped
// in aws-sdk-go's models/apis directory), e.g. for a service not embedded
// here or a test model.
func FromAPI2(name string, raw []byte) (*Service, error) {
	f, err := modelgen.Compact(raw, modelgen.Source{Name: name})
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", name, err)
	}
	return resolve(name, f)
}

func parse(name string) (*Service, error) {
	gz, err := Embedded(name)
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", name, err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", name, err)
	}
	var f modelgen.File
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, fmt.Errorf("model %s: %w", name, err)
	}
	return resolve(name, &f)
}

func resolve(name string, f *modelgen.File) (*Service, error) {
	md := f.Metadata
	svc := &Service{
		Name: name,
		Metadata: Metadata{
			APIVersion: md.APIVersion, EndpointPrefix: md.EndpointPrefix, JSONVersion: md.JSONVersion,
			Protocol: md.Protocol, Protocols: md.Protocols, ServiceFullName: md.ServiceFullName,
			ServiceID: md.ServiceID, SigningName: md.SigningName, TargetPrefix: md.TargetPrefix,
			UID: md.UID, XMLNamespace: md.XMLNamespace, AWSQueryCompatible: md.AWSQueryCompatible,
		},
		Operations:   make(map[string]*Operation, len(f.Operations)),
		Shapes:       make(map[string]*Shape, len(f.Shapes)),
		errorsByCode: map[string]*Shape{},
	}
	for _, rs := range f.Shapes {
		svc.Shapes[rs.Name] = &Shape{Name: rs.Name, Type: rs.Type}
	}
	ref := func(r *modelgen.Ref) (*Ref, error) {
		if r == nil {
			return nil, nil
		}
		sh, ok := svc.Shapes[r.Shape]
		if !ok {
			return nil, fmt.Errorf("model %s: unknown shape %q", name, r.Shape)
		}
		return &Ref{
			Shape: sh, LocationName: r.LocationName, QueryName: r.QueryName, Flattened: r.Flattened,
			XMLNamespace: r.XMLNamespace, XMLAttribute: r.XMLAttribute,
			TimestampFormat: r.TimestampFormat, Deprecated: r.Deprecated,
		}, nil
	}
	for _, rs := range f.Shapes {
		sh := svc.Shapes[rs.Name]
		sh.Flattened, sh.Enum, sh.Min, sh.Max = rs.Flattened, rs.Enum, rs.Min, rs.Max
		sh.Exception, sh.Fault, sh.TimestampFormat = rs.Exception, rs.Fault, rs.TimestampFormat
		sh.LocationName, sh.XMLNamespace, sh.Deprecated = rs.LocationName, rs.XMLNamespace, rs.Deprecated
		sh.EventStream, sh.Event = rs.EventStream, rs.Event
		if rs.Error != nil {
			sh.Error = &ErrorInfo{Code: rs.Error.Code, HTTPStatusCode: rs.Error.HTTPStatusCode, SenderFault: rs.Error.SenderFault}
		}
		var err error
		if sh.Member, err = ref(rs.Member); err != nil {
			return nil, err
		}
		if sh.Key, err = ref(rs.Key); err != nil {
			return nil, err
		}
		if sh.Value, err = ref(rs.Value); err != nil {
			return nil, err
		}
		if len(rs.Members) > 0 {
			required := map[string]bool{}
			for _, r := range rs.Required {
				required[r] = true
			}
			sh.memberIndex = make(map[string]*Member, len(rs.Members))
			for i := range rs.Members {
				rm := &rs.Members[i]
				r, err := ref(&rm.Ref)
				if err != nil {
					return nil, err
				}
				m := &Member{Name: rm.Name, Index: i, Required: required[rm.Name], Ref: *r}
				sh.Members = append(sh.Members, m)
				sh.memberIndex[m.Name] = m
			}
		}
		if sh.Exception {
			code := sh.ErrorCode()
			if _, dup := svc.errorsByCode[code]; !dup || sh.Name == code {
				svc.errorsByCode[code] = sh
			}
		}
	}
	for _, ro := range f.Operations {
		op := &Operation{Name: ro.Name, ResultWrapper: ro.ResultWrapper, Deprecated: ro.Deprecated}
		var ok bool
		if ro.Input != "" {
			if op.Input, ok = svc.Shapes[ro.Input]; !ok {
				return nil, fmt.Errorf("model %s: operation %s: unknown input shape %q", name, ro.Name, ro.Input)
			}
		}
		if ro.Output != "" {
			if op.Output, ok = svc.Shapes[ro.Output]; !ok {
				return nil, fmt.Errorf("model %s: operation %s: unknown output shape %q", name, ro.Name, ro.Output)
			}
		}
		for _, e := range ro.Errors {
			sh, ok := svc.Shapes[e]
			if !ok {
				return nil, fmt.Errorf("model %s: operation %s: unknown error shape %q", name, ro.Name, e)
			}
			op.Errors = append(op.Errors, sh)
		}
		svc.Operations[op.Name] = op
	}
	return svc, nil
}
