package state

import (
	"fmt"
	"strings"
)

// exampleKey is shown in error messages about bad keys.
const exampleKey = "/compute/instances/i-0abc"

// validateKey reports a bad key with the field name and the fix.
func validateKey(field, key string) error {
	if key == "" {
		return fmt.Errorf("state: %s is empty; keys are slash-separated paths such as %q", field, exampleKey)
	}
	if strings.IndexByte(key, 0) >= 0 {
		return fmt.Errorf("state: %s %q contains a NUL byte; keys are slash-separated paths such as %q", field, key, exampleKey)
	}
	return nil
}

// validateTxn checks compares and ops before anything is written: every
// key is valid, every op type is known, and no key is written twice.
func validateTxn(cmps []Compare, ops []Op) error {
	for i, c := range cmps {
		if err := validateKey(fmt.Sprintf("compare %d key", i), c.Key); err != nil {
			return err
		}
		if c.ModRevision < 0 {
			return fmt.Errorf("state: compare %d (key %q) ModRevision = %d is negative; use 0 for \"must not exist\" or the revision read with Get/List", i, c.Key, c.ModRevision)
		}
	}
	seen := make(map[string]int, len(ops))
	for i, op := range ops {
		if err := validateKey(fmt.Sprintf("op %d key", i), op.Key); err != nil {
			return err
		}
		if op.Type != OpPut && op.Type != OpDelete {
			return fmt.Errorf("state: op %d (key %q) has type %d; build ops with state.Put or state.Delete", i, op.Key, op.Type)
		}
		if j, ok := seen[op.Key]; ok {
			return fmt.Errorf("state: ops %d and %d both write key %q; write each key at most once per transaction", j, i, op.Key)
		}
		seen[op.Key] = i
	}
	return nil
}

// cloneBytes returns a copy of b that shares no memory with it. The copy
// is never nil, so a stored empty value reads back as an empty slice.
func cloneBytes(b []byte) []byte {
	return append(make([]byte, 0, len(b)), b...)
}
