package loggroup

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestValidateRetention(t *testing.T) {
	tests := []struct {
		name    string
		days    int
		wantErr string
	}{
		{name: "never expire", days: 0},
		{name: "one day", days: 1},
		{name: "ten years", days: 3653},
		{name: "not allowed", days: 2, wantErr: "RetentionInDays 2 is not one AWS allows"},
		{name: "negative", days: -1, wantErr: "RetentionInDays -1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateRetention(tc.days)
			if tc.wantErr == "" {
				if err != nil {
					t.Errorf("ValidateRetention(%d) = %v", tc.days, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ValidateRetention(%d) = %v, want %q", tc.days, err, tc.wantErr)
			}
		})
	}
	if got := RetentionDays(); len(got) != 22 || got[0] != 1 || got[21] != 3653 {
		t.Errorf("RetentionDays = %v", got)
	}
}

func TestExpire(t *testing.T) {
	now := time.Date(2026, 10, 13, 0, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	tests := []struct {
		name  string
		days  int
		ages  []time.Duration // of instance.log.3, .2, .1 and instance.log
		group string
		want  []string // removed, by base name
	}{
		{name: "rotated files past retention", days: 7, ages: []time.Duration{30 * day, 8 * day, 2 * day, 10 * day}, group: "/madang/instances/web",
			want: []string{"instance.log.3", "instance.log.2"}},
		{name: "current file never", days: 1, ages: []time.Duration{30 * day, 30 * day, 30 * day, 30 * day}, group: "/madang/instances/web",
			want: []string{"instance.log.3", "instance.log.2", "instance.log.1"}},
		{name: "nothing old enough", days: 30, ages: []time.Duration{29 * day, 2 * day, day, 0}, group: "/madang/instances/web"},
		{name: "never expire", days: 0, ages: []time.Duration{300 * day, 300 * day, 300 * day, 0}, group: "/madang/instances/web"},
		{name: "other group untouched", days: 1, ages: []time.Duration{30 * day, 30 * day, 30 * day, 0}, group: "/madang/instances/api"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "instance.log")
			names := []string{p + ".3", p + ".2", p + ".1", p}
			for i, n := range names {
				appendFile(t, n, instLine(float64(i), "out", "x"))
				mt := now.Add(-tc.ages[i])
				if err := os.Chtimes(n, mt, mt); err != nil {
					t.Fatal(err)
				}
			}
			src := &testSource{instances: map[string][2]string{"i-1": {"web", p}}}
			removed, err := Expire(src, tc.group, tc.days, now)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range removed {
				got = append(got, filepath.Base(r))
				if _, err := os.Stat(r); err == nil {
					t.Errorf("%s still exists", r)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("removed %q, want %q", got, tc.want)
			}
			if _, err := os.Stat(p); err != nil {
				t.Errorf("current file: %v", err)
			}
		})
	}
	if _, err := Expire(&testSource{}, "g", 2, now); err == nil {
		t.Error("Expire accepted 2 days")
	}
}
