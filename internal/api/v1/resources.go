package v1

import "encoding/json"

// Kind describes one resource kind of the registry.
type Kind struct {
	// Name is the kind's identifier: "image", "target-group", ….
	Name string `json:"name"`
	// Title is the kind in words.
	Title string `json:"title"`
	// StackKey is the stack file's key of the kind's list.
	StackKey string `json:"stackKey"`
	// Aliases are other names the API and CLI accept.
	Aliases []string `json:"aliases,omitempty"`
	// Columns are the headers of the kind's table.
	Columns []string `json:"columns"`
}

// ResourceList is every stored resource of one kind.
type ResourceList struct {
	Kind    string     `json:"kind"`
	Columns []string   `json:"columns"`
	Items   []Resource `json:"items"`
}

// Resource is one stored resource of any kind.
type Resource struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
	// Owner is the stack that manages it ("" when made by hand).
	Owner string `json:"owner,omitempty"`
	// Cells are the values of the kind's columns.
	Cells []string `json:"cells"`
	// Record is the resource's stored record, as persisted.
	Record json.RawMessage `json:"record"`
	// Revision is the store revision that last changed it.
	Revision int64 `json:"revision"`
}
