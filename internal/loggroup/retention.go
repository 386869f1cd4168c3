package loggroup

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// retentionDays are the retention periods AWS allows (RetentionInDays);
// no retention (0) keeps events forever.
var retentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// RetentionDays returns the retention periods AWS allows, in days.
func RetentionDays() []int { return slices.Clone(retentionDays) }

// ValidateRetention checks a log group's RetentionInDays; 0 means never
// expire.
func ValidateRetention(days int) error {
	if days == 0 || slices.Contains(retentionDays, days) {
		return nil
	}
	s := make([]string, len(retentionDays))
	for i, d := range retentionDays {
		s[i] = strconv.Itoa(d)
	}
	return fmt.Errorf("loggroup: RetentionInDays %d is not one AWS allows; use one of %s, or 0 to never expire", days, strings.Join(s, ", "))
}

// Expire removes the rotated files of group's streams whose events are
// all older than days days before now: files last written before then.
// It never removes a stream's current file (the last of its Paths), so
// retention is as fine-grained as rotation. days 0 removes nothing. It
// returns the removed files.
func Expire(src Source, group string, days int, now time.Time) ([]string, error) {
	if err := ValidateRetention(days); err != nil {
		return nil, err
	}
	if days == 0 {
		return nil, nil
	}
	cutoff := now.Add(-time.Duration(days) * 24 * time.Hour)
	var removed []string
	var errs []error
	for _, s := range src.Streams() {
		if s.Group != group || len(s.Paths) < 2 {
			continue
		}
		// Oldest first, so a failure leaves no gap behind a kept file.
		for _, p := range s.Paths[:len(s.Paths)-1] {
			fi, err := os.Stat(p)
			if err != nil {
				continue
			}
			if !fi.ModTime().Before(cutoff) {
				break
			}
			if err := os.Remove(p); err != nil {
				if !errors.Is(err, os.ErrNotExist) {
					errs = append(errs, fmt.Errorf("loggroup: expire %s of log group %s: %w", p, group, err))
				}
				continue
			}
			removed = append(removed, p)
		}
	}
	return removed, errors.Join(errs...)
}
