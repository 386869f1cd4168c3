// Package modelgen turns AWS service models in the api-2.json format (as
// shipped in the Go module github.com/aws/aws-sdk-go) into the compact,
// gzipped JSON files that package model embeds. It keeps what the wire codecs
// need (metadata, operations, shapes with their serialization traits), drops
// the documentation, trims EC2 to the operations madang serves, and keeps
// member declaration order by storing members as a list.
package modelgen

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
)

// Module and Version name the Go module whose models/apis directory is read.
const (
	Module  = "github.com/aws/aws-sdk-go"
	Version = "v1.55.8"
)

// Source is one service model to generate.
type Source struct {
	// Name is the model directory under models/apis and the name
	// model.Load accepts, e.g. "monitoring".
	Name string
	// APIVersion is the model's version directory, e.g. "2010-08-01".
	APIVersion string
	// Operations, when not empty, trims the model to these operations and
	// the shapes they reach.
	Operations []string
}

// Sources lists the services madang's AWS endpoint serves.
var Sources = []Source{
	{Name: "ec2", APIVersion: "2016-11-15", Operations: EC2Operations},
	{Name: "elasticloadbalancingv2", APIVersion: "2015-12-01"},
	{Name: "autoscaling", APIVersion: "2011-01-01"},
	{Name: "monitoring", APIVersion: "2010-08-01"},
	{Name: "logs", APIVersion: "2014-03-28"},
	{Name: "sts", APIVersion: "2011-06-15"},
}

// EC2Operations are the EC2 operations kept in the trimmed EC2 model.
var EC2Operations = []string{
	"RunInstances", "DescribeInstances", "DescribeInstanceStatus", "StartInstances", "StopInstances",
	"RebootInstances", "TerminateInstances", "CreateTags", "DeleteTags", "DescribeTags",
	"DescribeImages", "CreateImage", "DeregisterImage", "CreateLaunchTemplate",
	"CreateLaunchTemplateVersion", "DescribeLaunchTemplates", "DescribeLaunchTemplateVersions",
	"ModifyLaunchTemplate", "DeleteLaunchTemplate", "DeleteLaunchTemplateVersions",
	"DescribeInstanceTypes", "DescribeRegions", "DescribeAvailabilityZones",
	"DescribeAccountAttributes", "DescribeVpcs", "CreateVpc", "DeleteVpc", "DescribeSubnets",
	"CreateSubnet", "DeleteSubnet", "DescribeSecurityGroups", "CreateSecurityGroup",
	"DeleteSecurityGroup", "AuthorizeSecurityGroupIngress", "AuthorizeSecurityGroupEgress",
	"RevokeSecurityGroupIngress", "RevokeSecurityGroupEgress", "DescribeSecurityGroupRules", "DescribeKeyPairs", "CreateKeyPair",
	"ImportKeyPair", "DeleteKeyPair", "GetConsoleOutput", "DescribeInstanceAttribute",
	"ModifyInstanceAttribute",
}

// ModuleDir returns the directory of the pinned aws-sdk-go module in the
// module cache, downloading it through `go mod download` when needed.
func ModuleDir() (string, error) {
	cmd := exec.Command("go", "mod", "download", "-json", Module+"@"+Version)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go mod download %s@%s: %w: %s", Module, Version, err, bytes.TrimSpace(stderr.Bytes()))
	}
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(out, &info); err != nil {
		return "", fmt.Errorf("go mod download %s@%s: read output: %w", Module, Version, err)
	}
	if info.Error != "" || info.Dir == "" {
		return "", fmt.Errorf("go mod download %s@%s: %s", Module, Version, info.Error)
	}
	return info.Dir, nil
}

// Generate reads every source from the module at moduleDir and returns the
// compact files by file name ("<name>.json.gz").
func Generate(moduleDir string) (map[string][]byte, error) {
	files := make(map[string][]byte, len(Sources))
	for _, src := range Sources {
		path := filepath.Join(moduleDir, "models", "apis", src.Name, src.APIVersion, "api-2.json")
		raw, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read model %s: %w", src.Name, err)
		}
		svc, err := Compact(raw, src)
		if err != nil {
			return nil, fmt.Errorf("model %s: %w", src.Name, err)
		}
		gz, err := encode(svc)
		if err != nil {
			return nil, fmt.Errorf("model %s: %w", src.Name, err)
		}
		files[src.Name+".json.gz"] = gz
	}
	return files, nil
}

func encode(svc *File) ([]byte, error) {
	js, err := json.Marshal(svc)
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(js); err != nil {
		return nil, fmt.Errorf("compress: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("compress: %w", err)
	}
	return buf.Bytes(), nil
}

// Compact parses one api-2.json document and returns its compact form.
func Compact(raw []byte, src Source) (*File, error) {
	var doc struct {
		Metadata   map[string]any             `json:"metadata"`
		Operations map[string]json.RawMessage `json:"operations"`
		Shapes     map[string]json.RawMessage `json:"shapes"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	f := &File{Metadata: compactMetadata(doc.Metadata, src.Name)}

	opNames := src.Operations
	if len(opNames) == 0 {
		for name := range doc.Operations {
			opNames = append(opNames, name)
		}
	}
	opNames = slices.Clone(opNames)
	sort.Strings(opNames)

	reach := map[string]bool{}
	var queue []string
	want := func(name string) {
		if name != "" && !reach[name] {
			reach[name] = true
			queue = append(queue, name)
		}
	}
	for _, name := range opNames {
		rawOp, ok := doc.Operations[name]
		if !ok {
			return nil, fmt.Errorf("operation %s is not in the model", name)
		}
		var op rawOperation
		if err := json.Unmarshal(rawOp, &op); err != nil {
			return nil, fmt.Errorf("operation %s: %w", name, err)
		}
		o := Operation{Name: name, Deprecated: op.Deprecated}
		if op.Input != nil {
			o.Input = op.Input.Shape
			want(op.Input.Shape)
		}
		if op.Output != nil {
			o.Output = op.Output.Shape
			o.ResultWrapper = op.Output.ResultWrapper
			want(op.Output.Shape)
		}
		for _, e := range op.Errors {
			o.Errors = append(o.Errors, e.Shape)
			want(e.Shape)
		}
		f.Operations = append(f.Operations, o)
	}
	if len(src.Operations) == 0 {
		// Whole services keep every shape, also error shapes no
		// operation lists.
		for name := range doc.Shapes {
			want(name)
		}
	}
	shapes := map[string]Shape{}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		rawShape, ok := doc.Shapes[name]
		if !ok {
			return nil, fmt.Errorf("shape %s is referenced but not defined", name)
		}
		s, refs, err := compactShape(name, rawShape)
		if err != nil {
			return nil, fmt.Errorf("shape %s: %w", name, err)
		}
		shapes[name] = s
		for _, r := range refs {
			want(r)
		}
	}
	names := make([]string, 0, len(shapes))
	for name := range shapes {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		f.Shapes = append(f.Shapes, shapes[name])
	}
	return f, nil
}

// compactMetadata keeps the wire-relevant metadata. CloudWatch's metadata is
// replaced by what the current model says: the aws-sdk-go v1 model predates
// CloudWatch's move to AWS JSON 1.0 and Smithy RPC v2 CBOR (December 2025);
// the values below are those of botocore 1.43.11
// data/cloudwatch/2010-08-01/service-2.json.gz and of aws-sdk-go-v2
// service/cloudwatch v1.53.0 and later.
func compactMetadata(md map[string]any, name string) Metadata {
	str := func(k string) string { s, _ := md[k].(string); return s }
	m := Metadata{
		APIVersion:      str("apiVersion"),
		EndpointPrefix:  str("endpointPrefix"),
		JSONVersion:     str("jsonVersion"),
		Protocol:        str("protocol"),
		ServiceFullName: str("serviceFullName"),
		ServiceID:       str("serviceId"),
		SigningName:     str("signingName"),
		TargetPrefix:    str("targetPrefix"),
		UID:             str("uid"),
		XMLNamespace:    str("xmlNamespace"),
	}
	if ps, ok := md["protocols"].([]any); ok {
		for _, p := range ps {
			if s, ok := p.(string); ok {
				m.Protocols = append(m.Protocols, s)
			}
		}
	}
	if _, ok := md["awsQueryCompatible"]; ok {
		m.AWSQueryCompatible = true
	}
	if name == "monitoring" {
		m.Protocol = "smithy-rpc-v2-cbor"
		m.Protocols = []string{"smithy-rpc-v2-cbor", "json", "query"}
		m.TargetPrefix = "GraniteServiceVersion20100801"
		m.JSONVersion = "1.0"
		m.AWSQueryCompatible = true
	}
	if len(m.Protocols) == 0 {
		m.Protocols = []string{m.Protocol}
	}
	return m
}

type rawRef struct {
	Shape           string          `json:"shape"`
	LocationName    string          `json:"locationName"`
	QueryName       string          `json:"queryName"`
	Flattened       bool            `json:"flattened"`
	XMLNamespace    json.RawMessage `json:"xmlNamespace"`
	XMLAttribute    bool            `json:"xmlAttribute"`
	TimestampFormat string          `json:"timestampFormat"`
	Deprecated      bool            `json:"deprecated"`
	ResultWrapper   string          `json:"resultWrapper"`
}

type rawOperation struct {
	Input      *rawRef  `json:"input"`
	Output     *rawRef  `json:"output"`
	Errors     []rawRef `json:"errors"`
	Deprecated bool     `json:"deprecated"`
}

type rawShape struct {
	Type            string          `json:"type"`
	Members         json.RawMessage `json:"members"`
	Required        []string        `json:"required"`
	Member          *rawRef         `json:"member"`
	Key             *rawRef         `json:"key"`
	Value           *rawRef         `json:"value"`
	Flattened       bool            `json:"flattened"`
	Enum            []string        `json:"enum"`
	Min             *float64        `json:"min"`
	Max             *float64        `json:"max"`
	Error           *ErrorInfo      `json:"error"`
	Exception       bool            `json:"exception"`
	Fault           bool            `json:"fault"`
	TimestampFormat string          `json:"timestampFormat"`
	LocationName    string          `json:"locationName"`
	XMLNamespace    json.RawMessage `json:"xmlNamespace"`
	Deprecated      bool            `json:"deprecated"`
	EventStream     bool            `json:"eventstream"`
	Event           bool            `json:"event"`
}

func compactShape(name string, raw json.RawMessage) (Shape, []string, error) {
	var rs rawShape
	if err := json.Unmarshal(raw, &rs); err != nil {
		return Shape{}, nil, err
	}
	s := Shape{
		Name: name, Type: rs.Type, Required: rs.Required, Flattened: rs.Flattened,
		Enum: rs.Enum, Min: rs.Min, Max: rs.Max, Error: rs.Error, Exception: rs.Exception,
		Fault: rs.Fault, TimestampFormat: rs.TimestampFormat, LocationName: rs.LocationName,
		XMLNamespace: namespaceURI(rs.XMLNamespace), Deprecated: rs.Deprecated,
		EventStream: rs.EventStream, Event: rs.Event,
	}
	var refs []string
	conv := func(r *rawRef) *Ref {
		if r == nil {
			return nil
		}
		refs = append(refs, r.Shape)
		return &Ref{
			Shape: r.Shape, LocationName: r.LocationName, QueryName: r.QueryName,
			Flattened: r.Flattened, XMLNamespace: namespaceURI(r.XMLNamespace),
			XMLAttribute: r.XMLAttribute, TimestampFormat: r.TimestampFormat, Deprecated: r.Deprecated,
		}
	}
	s.Member, s.Key, s.Value = conv(rs.Member), conv(rs.Key), conv(rs.Value)
	if len(rs.Members) > 0 {
		members, err := orderedMembers(rs.Members)
		if err != nil {
			return Shape{}, nil, err
		}
		for _, m := range members {
			r := conv(&m.ref)
			s.Members = append(s.Members, Member{Name: m.name, Ref: *r})
		}
	}
	return s, refs, nil
}

// namespaceURI reads an xmlNamespace trait, which is either a string or an
// object with a "uri" (and a "prefix").
func namespaceURI(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var obj struct {
		URI string `json:"uri"`
	}
	_ = json.Unmarshal(raw, &obj)
	return obj.URI
}

type namedRef struct {
	name string
	ref  rawRef
}

// orderedMembers decodes a "members" object keeping the declaration order,
// which the XML and query encodings follow.
func orderedMembers(raw json.RawMessage) ([]namedRef, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("members: want an object")
	}
	var out []namedRef
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("members: %w", err)
		}
		name, _ := tok.(string)
		var r rawRef
		if err := dec.Decode(&r); err != nil {
			return nil, fmt.Errorf("member %s: %w", name, err)
		}
		out = append(out, namedRef{name: name, ref: r})
	}
	return out, nil
}
