package metricstore

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/metric"
)

func TestReset(t *testing.T) {
	mem := metric.ID{Namespace: "App", Name: "Requests"}
	tests := []struct {
		name string
		// put stores data before the reset (with the clock at t0).
		put      []metric.Datum
		maintain bool // seal and compact before the reset
		want     int  // series Reset reports
	}{
		{name: "empty store", want: 0},
		{name: "hot data", put: []metric.Datum{hiRes(cpu, t0, 1), hiRes(mem, t0, 2)}, want: 2},
		{name: "sealed data", put: []metric.Datum{hiRes(cpu, t0, 1)}, maintain: true, want: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			c := newClock(t0)
			s := openTest(t, dir, c)
			defer s.Close()
			if err := os.WriteFile(filepath.Join(dir, "other.txt"), []byte("kept"), 0o644); err != nil {
				t.Fatal(err)
			}
			if len(tc.put) > 0 {
				if err := s.Put(tc.put); err != nil {
					t.Fatal(err)
				}
			}
			if tc.maintain {
				c.Add(2 * time.Hour)
				if err := s.Maintain(); err != nil {
					t.Fatal(err)
				}
			}
			n, err := s.Reset()
			if err != nil {
				t.Fatalf("Reset: %v", err)
			}
			if n != tc.want {
				t.Errorf("Reset removed %d series, want %d", n, tc.want)
			}
			if got := s.SeriesCount(); got != 0 {
				t.Errorf("SeriesCount after Reset = %d, want 0", got)
			}
			if ids := s.List(Filter{}); len(ids) != 0 {
				t.Errorf("List after Reset = %v, want none", ids)
			}
			ents, _ := os.ReadDir(dir)
			for _, e := range ents {
				if e.Name() != lockFile && e.Name() != "other.txt" {
					t.Errorf("file %s left after Reset", e.Name())
				}
			}
			// The store is usable: new data is stored, and survives a
			// reopen without the old data coming back.
			if err := s.Put([]metric.Datum{hiRes(mem, c.Now(), 5)}); err != nil {
				t.Fatalf("Put after Reset: %v", err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s2 := openTest(t, dir, c)
			defer s2.Close()
			ids := s2.List(Filter{})
			if len(ids) != 1 || ids[0].Key() != mem.Key() {
				t.Errorf("after reopen: series %v, want only %s", ids, mem.Key())
			}
		})
	}
}
