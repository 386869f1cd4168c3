package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/madang-dev/madang/internal/api"
	"github.com/madang-dev/madang/internal/api/v1"
	"github.com/madang-dev/madang/internal/fault"
	"github.com/madang-dev/madang/internal/kind"
	"github.com/madang-dev/madang/internal/state"
)

// resources implements api.Resources over the kind registry and the
// store: every kind is listed and described the same way.
type resources struct{ d *Daemon }

var _ api.Resources = resources{}

// Kinds implements api.Resources.
func (r resources) Kinds() []v1.Kind {
	var out []v1.Kind
	for _, k := range r.d.kinds.Kinds() {
		in := k.Info()
		out = append(out, v1.Kind{Name: in.Name, Title: in.Title, StackKey: in.StackKey, Aliases: in.Aliases, Columns: headers(k)})
	}
	return out
}

func headers(k kind.Kind) []string {
	var hs []string
	for _, c := range k.Columns() {
		hs = append(hs, c.Header)
	}
	return append(hs, "AGE")
}

func (r resources) lookup(name string) (kind.Kind, error) {
	k, ok := r.d.kinds.Get(name)
	if !ok {
		return nil, fault.NotFoundf("kind", name, "no resource kind %q", name).
			WithHint("use one of " + strings.Join(r.d.kinds.Names(), ", ") + " (madang ls lists them)")
	}
	return k, nil
}

func (r resources) resource(k kind.Kind, kv state.KV) (v1.Resource, error) {
	rec, err := k.Decode(kv.Value)
	if err != nil {
		return v1.Resource{}, err
	}
	spec, owner := k.Spec(rec)
	res := v1.Resource{Kind: k.Info().Name, Name: k.Name(spec), Owner: owner, Record: json.RawMessage(kv.Value), Revision: kv.ModRevision}
	for _, c := range k.Columns() {
		res.Cells = append(res.Cells, c.Value(rec))
	}
	res.Cells = append(res.Cells, age(rec, time.Now()))
	return res, nil
}

// age renders how long ago a record was created (its createdAt), as
// kubectl's AGE column does; "" when the record has no creation time.
func age(rec any, now time.Time) string {
	b, err := json.Marshal(rec)
	if err != nil {
		return ""
	}
	var v struct {
		CreatedAt time.Time `json:"createdAt"`
	}
	if json.Unmarshal(b, &v) != nil || v.CreatedAt.IsZero() {
		return ""
	}
	d := now.Sub(v.CreatedAt)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

// List implements api.Resources.
func (r resources) List(ctx context.Context, name string) (v1.ResourceList, error) {
	k, err := r.lookup(name)
	if err != nil {
		return v1.ResourceList{}, err
	}
	kvs, _, err := r.d.store.List(ctx, k.Info().Prefix)
	if err != nil {
		return v1.ResourceList{}, fmt.Errorf("list %s: %w", k.Info().Title, err)
	}
	out := v1.ResourceList{Kind: k.Info().Name, Columns: headers(k), Items: []v1.Resource{}}
	for _, kv := range kvs {
		res, err := r.resource(k, kv)
		if err != nil {
			return v1.ResourceList{}, err
		}
		out.Items = append(out.Items, res)
	}
	slices.SortFunc(out.Items, func(a, b v1.Resource) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Get implements api.Resources.
func (r resources) Get(ctx context.Context, kindName, name string) (v1.Resource, error) {
	k, err := r.lookup(kindName)
	if err != nil {
		return v1.Resource{}, err
	}
	kv, err := r.d.store.Get(ctx, kind.Key(k, name))
	if err != nil {
		if errors.Is(err, state.ErrNotFound) {
			return v1.Resource{}, fault.NotFoundf(k.Info().Name, name, "no %s %q", k.Info().Title, name).
				WithHint("madang ls " + k.Info().Name + " lists them")
		}
		return v1.Resource{}, err
	}
	return r.resource(k, kv)
}
