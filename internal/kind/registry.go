package kind

import (
	"fmt"
	"slices"
	"strings"
)

// Registry holds the resource kinds in dependency order: a kind may refer
// only to kinds registered before it. Apply creates and updates in that
// order and deletes in reverse.
type Registry struct {
	kinds []Kind
}

// NewRegistry returns a registry of kinds, in dependency order. It panics
// on a duplicate name, stack key or prefix, or on a reference to a kind
// registered later, which are programming errors.
func NewRegistry(kinds ...Kind) *Registry {
	r := &Registry{}
	seen := map[string]bool{}
	for _, k := range kinds {
		in := k.Info()
		for _, id := range append([]string{"name " + in.Name, "stack key " + in.StackKey, "prefix " + in.Prefix}, prefixed("alias ", in.Aliases)...) {
			if seen[id] {
				panic("kind: duplicate " + id)
			}
			seen[id] = true
		}
		r.kinds = append(r.kinds, k)
	}
	return r
}

func prefixed(p string, xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = p + x
	}
	return out
}

// Kinds returns the kinds in dependency order.
func (r *Registry) Kinds() []Kind { return slices.Clone(r.kinds) }

// Get returns the kind with the given name or alias.
func (r *Registry) Get(name string) (Kind, bool) {
	for _, k := range r.kinds {
		in := k.Info()
		if in.Name == name || in.StackKey == name || slices.Contains(in.Aliases, name) {
			return k, true
		}
	}
	return nil, false
}

// ByStackKey returns the kind whose stack-file key is key.
func (r *Registry) ByStackKey(key string) (Kind, bool) {
	for _, k := range r.kinds {
		if k.Info().StackKey == key {
			return k, true
		}
	}
	return nil, false
}

// StackKeys returns every kind's stack-file key, in order.
func (r *Registry) StackKeys() []string {
	out := make([]string, len(r.kinds))
	for i, k := range r.kinds {
		out[i] = k.Info().StackKey
	}
	return out
}

// Names returns every kind's name, in order.
func (r *Registry) Names() []string {
	out := make([]string, len(r.kinds))
	for i, k := range r.kinds {
		out[i] = k.Info().Name
	}
	return out
}

// Lookup is Get with an error that lists the known kinds.
func (r *Registry) Lookup(name string) (Kind, error) {
	if k, ok := r.Get(name); ok {
		return k, nil
	}
	return nil, fmt.Errorf("unknown resource kind %q; use one of %s", name, strings.Join(r.Names(), ", "))
}

// Article returns "a" or "an" for a title.
func Article(title string) string {
	if title != "" && strings.ContainsRune("aeiou", rune(title[0])) {
		return "an " + title
	}
	return "a " + title
}
