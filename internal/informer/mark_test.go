package informer

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

func TestMark(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var m Mark
		if err := m.Wait(t.Context(), 0); err != nil {
			t.Fatalf("Wait(0) on a zero mark: %v", err)
		}
		done := make(chan error, 1)
		go func() { done <- m.Wait(t.Context(), 3) }()
		m.Advance(2)
		synctest.Wait()
		select {
		case err := <-done:
			t.Fatalf("Wait(3) returned at revision 2: %v", err)
		default:
		}
		m.Advance(5)
		if err := <-done; err != nil {
			t.Fatalf("Wait(3) after Advance(5): %v", err)
		}
		m.Advance(4) // never backwards
		if got := m.Rev(); got != 5 {
			t.Fatalf("Rev = %d after Advance(4) at 5, want 5", got)
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if err := m.Wait(ctx, 9); err != context.DeadlineExceeded {
			t.Fatalf("Wait(9) never reached: %v, want the context's deadline", err)
		}
	})
}
