package modelgen

// File is the compact form of one service model, as embedded by package
// model. Keys are short but readable; empty fields are omitted.
type File struct {
	Metadata   Metadata    `json:"metadata"`
	Operations []Operation `json:"operations"`
	Shapes     []Shape     `json:"shapes"`
}

// Metadata is the service metadata the codecs use.
type Metadata struct {
	APIVersion         string   `json:"apiVersion,omitempty"`
	EndpointPrefix     string   `json:"endpointPrefix,omitempty"`
	JSONVersion        string   `json:"jsonVersion,omitempty"`
	Protocol           string   `json:"protocol,omitempty"`
	Protocols          []string `json:"protocols,omitempty"`
	ServiceFullName    string   `json:"serviceFullName,omitempty"`
	ServiceID          string   `json:"serviceId,omitempty"`
	SigningName        string   `json:"signingName,omitempty"`
	TargetPrefix       string   `json:"targetPrefix,omitempty"`
	UID                string   `json:"uid,omitempty"`
	XMLNamespace       string   `json:"xmlNamespace,omitempty"`
	AWSQueryCompatible bool     `json:"awsQueryCompatible,omitempty"`
}

// Operation is one operation: its input and output shape names, the XML
// result wrapper and the error shapes it lists.
type Operation struct {
	Name          string   `json:"name"`
	Input         string   `json:"input,omitempty"`
	Output        string   `json:"output,omitempty"`
	ResultWrapper string   `json:"resultWrapper,omitempty"`
	Errors        []string `json:"errors,omitempty"`
	Deprecated    bool     `json:"deprecated,omitempty"`
}

// Ref is a reference to a shape with the serialization traits of the place
// that references it.
type Ref struct {
	Shape           string `json:"shape"`
	LocationName    string `json:"locationName,omitempty"`
	QueryName       string `json:"queryName,omitempty"`
	Flattened       bool   `json:"flattened,omitempty"`
	XMLNamespace    string `json:"xmlNamespace,omitempty"`
	XMLAttribute    bool   `json:"xmlAttribute,omitempty"`
	TimestampFormat string `json:"timestampFormat,omitempty"`
	Deprecated      bool   `json:"deprecated,omitempty"`
}

// Member is a named member of a structure.
type Member struct {
	Name string `json:"name"`
	Ref
}

// ErrorInfo is the error trait of an exception shape.
type ErrorInfo struct {
	Code           string `json:"code,omitempty"`
	HTTPStatusCode int    `json:"httpStatusCode,omitempty"`
	SenderFault    bool   `json:"senderFault,omitempty"`
}

// Shape is one shape of the model.
type Shape struct {
	Name            string     `json:"name"`
	Type            string     `json:"type"`
	Members         []Member   `json:"members,omitempty"`
	Required        []string   `json:"required,omitempty"`
	Member          *Ref       `json:"member,omitempty"`
	Key             *Ref       `json:"key,omitempty"`
	Value           *Ref       `json:"value,omitempty"`
	Flattened       bool       `json:"flattened,omitempty"`
	Enum            []string   `json:"enum,omitempty"`
	Min             *float64   `json:"min,omitempty"`
	Max             *float64   `json:"max,omitempty"`
	Error           *ErrorInfo `json:"error,omitempty"`
	Exception       bool       `json:"exception,omitempty"`
	Fault           bool       `json:"fault,omitempty"`
	TimestampFormat string     `json:"timestampFormat,omitempty"`
	LocationName    string     `json:"locationName,omitempty"`
	XMLNamespace    string     `json:"xmlNamespace,omitempty"`
	Deprecated      bool       `json:"deprecated,omitempty"`
	// EventStream marks a structure whose members are the events and
	// exceptions of an event stream (the eventstream trait); Event marks
	// a structure sent as one of those events (the event trait).
	EventStream bool `json:"eventstream,omitempty"`
	Event       bool `json:"event,omitempty"`
}
