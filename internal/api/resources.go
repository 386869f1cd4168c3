package api

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/madang-dev/madang/internal/api/v1"
)

// Resources lists the stored resources of every registered kind; the
// daemon implements it over the kind registry and the store. An unknown
// kind or name is a NotFound fault whose hint names what exists.
type Resources interface {
	// Kinds lists the registry's kinds, in dependency order.
	Kinds() []v1.Kind
	// List returns every stored resource of a kind (by name or alias).
	List(ctx context.Context, kind string) (v1.ResourceList, error)
	// Get returns one stored resource.
	Get(ctx context.Context, kind, name string) (v1.Resource, error)
}

// ResourceWriter creates, replaces and deletes resources made outside stack
// files (they belong to no stack); the daemon's Resources implement it. A
// resource of a stack is refused with a Conflict, a resource others refer
// to with InUse, a bad spec with Invalid naming the field.
type ResourceWriter interface {
	// Put creates or replaces kind/name from its spec as JSON (the stack
	// file's fields), returning the stored resource and the controllers'
	// warnings.
	Put(ctx context.Context, kind, name string, spec []byte) (v1.Resource, []string, error)
	// Delete deletes kind/name.
	Delete(ctx context.Context, kind, name string) error
}

// ResourcePut is the answer to a PUT of a resource.
type ResourcePut struct {
	Resource v1.Resource `json:"resource"`
	Warnings []string    `json:"warnings,omitempty"`
}

// mountResources registers the generic per-kind routes.
func (s *Server) mountResources(mux *http.ServeMux) {
	if s.Resources == nil {
		return
	}
	mux.HandleFunc("GET /v1/kinds", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, s.Resources.Kinds())
	})
	mux.HandleFunc("GET /v1/resources/{kind}", func(w http.ResponseWriter, r *http.Request) {
		l, err := s.Resources.List(r.Context(), r.PathValue("kind"))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, l)
	})
	mux.HandleFunc("GET /v1/resources/{kind}/{name}", func(w http.ResponseWriter, r *http.Request) {
		res, err := s.Resources.Get(r.Context(), r.PathValue("kind"), r.PathValue("name"))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, res)
	})
	rw, ok := s.Resources.(ResourceWriter)
	if !ok {
		return
	}
	mux.HandleFunc("PUT /v1/resources/{kind}/{name}", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
		if err != nil {
			s.fail(w, r, fmt.Errorf("%w: read body: %w", ErrValidation, err))
			return
		}
		res, warnings, err := rw.Put(r.Context(), r.PathValue("kind"), r.PathValue("name"), body)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, ResourcePut{Resource: res, Warnings: warnings})
	})
	mux.HandleFunc("DELETE /v1/resources/{kind}/{name}", func(w http.ResponseWriter, r *http.Request) {
		if err := rw.Delete(r.Context(), r.PathValue("kind"), r.PathValue("name")); err != nil {
			s.fail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// Kinds lists the resource kinds.
func (c *Client) Kinds(ctx context.Context) ([]v1.Kind, error) {
	var v []v1.Kind
	return v, c.do(ctx, "GET", "/v1/kinds", nil, &v)
}

// Resources lists the stored resources of a kind.
func (c *Client) Resources(ctx context.Context, kind string) (v1.ResourceList, error) {
	var v v1.ResourceList
	return v, c.do(ctx, "GET", "/v1/resources/"+url.PathEscape(kind), nil, &v)
}

// Resource returns one stored resource.
func (c *Client) Resource(ctx context.Context, kind, name string) (v1.Resource, error) {
	var v v1.Resource
	return v, c.do(ctx, "GET", "/v1/resources/"+url.PathEscape(kind)+"/"+url.PathEscape(name), nil, &v)
}

// PutResource creates or replaces a resource made outside stack files.
func (c *Client) PutResource(ctx context.Context, kind, name string, spec any) (ResourcePut, error) {
	var v ResourcePut
	return v, c.do(ctx, "PUT", "/v1/resources/"+url.PathEscape(kind)+"/"+url.PathEscape(name), spec, &v)
}

// DeleteResource deletes a resource made outside stack files.
func (c *Client) DeleteResource(ctx context.Context, kind, name string) error {
	return c.do(ctx, "DELETE", "/v1/resources/"+url.PathEscape(kind)+"/"+url.PathEscape(name), nil, nil)
}
