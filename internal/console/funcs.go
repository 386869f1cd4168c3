package console

import (
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"sort"
	"strings"
	"time"
)

// funcs are the template functions; t translates in l's language.
func funcs(l lang) template.FuncMap {
	return template.FuncMap{
		"t":          l.T,
		"lang":       func() string { return l.code },
		"asset":      assetURL,
		"stateClass": stateClass,
		"ago":        func(t time.Time) string { return ago(l, time.Since(t), t) },
		"stamp":      stamp,
		"dur":        durText,
		"bytes":      bytesText,
		"pct":        func(v float64) string { return fmt.Sprintf("%.1f%%", v) },
		"spark":      spark,
		"json":       jsonText,
		"join":       strings.Join,
		"sortedKeys": sortedKeys,
		"dict":       dict,
		"add":        func(a, b int) int { return a + b },
		"default": func(def string, v string) string {
			if v == "" {
				return def
			}
			return v
		},
	}
}

// stateClass is the CSS class of a state badge: "InService" →
// "state-inservice", "Pending:Wait" → "state-pending-wait",
// "INSUFFICIENT_DATA" → "state-insufficient-data".
func stateClass(state string) string {
	var b strings.Builder
	b.WriteString("state-")
	dash := false
	for _, r := range strings.ToLower(state) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > len("state-") {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

// ago says how long ago t was, in l's words; zero times are "—".
func ago(l lang, d time.Duration, t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	switch {
	case d < 0:
		return stamp(t)
	case d < time.Minute:
		return fmt.Sprintf(l.T("time.secondsago"), int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf(l.T("time.minutesago"), int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf(l.T("time.hoursago"), int(d.Hours()))
	}
	return stamp(t)
}

// stamp is a time as AWS's console shows it, in UTC.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// durText is a duration in seconds as "1h02m", "3m05s" or "12s".
func durText(seconds float64) string {
	d := time.Duration(seconds * float64(time.Second)).Round(time.Second)
	switch {
	case d >= time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	case d >= time.Minute:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%ds", int(d.Seconds()))
}

// bytesText is a size in binary units.
func bytesText(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// spark draws values as an inline SVG sparkline (120×24); NaNs are gaps.
func spark(values []float64) template.HTML {
	const w, h = 120.0, 24.0
	if len(values) < 2 {
		return template.HTML(`<svg class="spark" viewBox="0 0 120 24" width="120" height="24" aria-hidden="true"></svg>`)
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range values {
		if !math.IsNaN(v) {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	if math.IsInf(lo, 1) {
		lo, hi = 0, 1
	}
	if hi-lo < 1e-9 {
		hi = lo + 1
	}
	var pts strings.Builder
	for i, v := range values {
		if math.IsNaN(v) {
			continue
		}
		x := float64(i) * w / float64(len(values)-1)
		y := h - 1 - (v-lo)/(hi-lo)*(h-2)
		fmt.Fprintf(&pts, "%.1f,%.1f ", x, y)
	}
	return template.HTML(fmt.Sprintf(`<svg class="spark" viewBox="0 0 120 24" width="120" height="24" aria-hidden="true"><polyline points="%s"/></svg>`,
		strings.TrimSpace(pts.String())))
}

func jsonText(v any) (string, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	return string(b), err
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// dict builds a map from key, value pairs, for passing several values to
// a partial template.
func dict(kv ...any) (map[string]any, error) {
	if len(kv)%2 != 0 {
		return nil, fmt.Errorf("dict needs key, value pairs; got %d arguments", len(kv))
	}
	m := make(map[string]any, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		k, ok := kv[i].(string)
		if !ok {
			return nil, fmt.Errorf("dict key %v is not a string", kv[i])
		}
		m[k] = kv[i+1]
	}
	return m, nil
}
