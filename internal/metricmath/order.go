package metricmath

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrCycle is wrapped by Order's error when expressions reference each
// other in a cycle.
var ErrCycle = errors.New("expressions reference each other in a cycle")

// ValidID returns an error unless id is a valid query id: a lowercase
// letter, then letters, digits and underscores, as CloudWatch requires.
// The error says what is wrong, at which offset, and how to fix it.
func ValidID(id string) error {
	if id == "" {
		return errors.New("the id is empty: give the query an id such as m1")
	}
	if c := id[0]; c < 'a' || c > 'z' {
		return fmt.Errorf("id %q, offset 0: ids start with a lowercase letter: write one such as m1", id)
	}
	for i := 0; i < len(id); i++ {
		if !isNameByte(id[i]) {
			return fmt.Errorf("id %q, offset %d: ids hold only letters, digits and underscores: remove or replace %q", id, i, id[i])
		}
	}
	return nil
}

// Order returns the request's ids in an order to evaluate them: the metric
// queries first, in metricIDs' order, then every expression after the ids
// it references. Expressions that do not depend on each other come in the
// order of their ids, so the result is the same for the same request.
// METRICS() adds no dependency: it returns metric queries only, which come
// first.
//
// An invalid id (see ValidID), an id given twice, a reference to an id no query has (wrapping
// ErrUnknownID) and a cycle (wrapping ErrCycle) are errors naming the ids.
func Order(exprs map[string]*Expr, metricIDs []string) ([]string, error) {
	order := make([]string, 0, len(metricIDs)+len(exprs))
	known := map[string]bool{}
	for _, id := range metricIDs {
		if err := ValidID(id); err != nil {
			return nil, fmt.Errorf("metric query: %w", err)
		}
		if known[id] {
			return nil, fmt.Errorf("metric query id %s is given twice: give each query its own id", id)
		}
		known[id] = true
		order = append(order, id)
	}
	ids := make([]string, 0, len(exprs))
	for id, e := range exprs {
		if err := ValidID(id); err != nil {
			return nil, fmt.Errorf("expression: %w", err)
		}
		if known[id] {
			return nil, fmt.Errorf("id %s is both a metric query and an expression: give each query its own id", id)
		}
		if e == nil {
			return nil, fmt.Errorf("expression %s is nil: parse it with Parse first", id)
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		offs := exprs[id].refOffsets()
		for _, r := range exprs[id].Refs() {
			if _, isExpr := exprs[r]; !isExpr && !known[r] {
				return nil, fmt.Errorf("expression %s, offset %d: %w %s: add a query with id %s or correct the reference", id, offs[r], ErrUnknownID, r, r)
			}
		}
	}
	const (
		unvisited = iota
		visiting
		done
	)
	state := map[string]int{}
	var path []string
	var visit func(id string) error
	visit = func(id string) error {
		switch state[id] {
		case done:
			return nil
		case visiting:
			start := slices.Index(path, id)
			cycle := append(slices.Clone(path[start:]), id)
			return fmt.Errorf("%w: %s; remove one of these references", ErrCycle, strings.Join(cycle, " -> "))
		}
		state[id] = visiting
		path = append(path, id)
		for _, r := range exprs[id].Refs() {
			if _, isExpr := exprs[r]; isExpr {
				if err := visit(r); err != nil {
					return err
				}
			}
		}
		path = path[:len(path)-1]
		state[id] = done
		order = append(order, id)
		return nil
	}
	for _, id := range ids {
		if err := visit(id); err != nil {
			return nil, err
		}
	}
	return order, nil
}
