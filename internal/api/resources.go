package api

import (
	"context"
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
