// Package jira talks to Jira's REST API. It is the only package that imports
// go-jira, and the only one that knows Jira's wire formats.
package jira

import (
	"errors"
	"fmt"
	"time"
)

// Layouts Jira uses. Its own timestamps carry an offset without a colon
// (2026-01-02T03:04:05.000+0000), which is not RFC 3339.
const (
	jiraLayout = "2006-01-02T15:04:05.999999999Z0700"
	rfcLayout  = time.RFC3339Nano
	// OutputLayout is RFC 3339 in UTC with milliseconds, the precision Jira
	// keeps; every emitted timestamp uses it.
	OutputLayout = "2006-01-02T15:04:05.000Z07:00"
)

// ErrNotTimestamp means a string is not a date-time with an offset.
var ErrNotTimestamp = errors.New("not a Jira timestamp")

// ParseTime parses a Jira timestamp (2026-01-02T03:04:05.000+0000) or an RFC
// 3339 one, and returns it in UTC. The offset is required: a timestamp
// without one would be read in an unknown zone.
func ParseTime(s string) (time.Time, error) {
	if !looksLikeTimestamp(s) {
		return time.Time{}, fmt.Errorf("parsing %q: %w", s, ErrNotTimestamp)
	}
	last := s[len(s)-1]
	layout := jiraLayout
	if last == 'Z' || last == 'z' || s[len(s)-3] == ':' {
		layout = rfcLayout
	}
	t, err := time.Parse(layout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("parsing %q: %w", s, ErrNotTimestamp)
	}
	t = t.UTC()
	// An offset can push year 0 or 9999 out of the four digits RFC 3339 has.
	if y := t.Year(); y < 0 || y > 9999 {
		return time.Time{}, fmt.Errorf("parsing %q: out of range in UTC: %w", s, ErrNotTimestamp)
	}
	return t, nil
}

// FormatTime writes t as the tap emits every timestamp.
func FormatTime(t time.Time) string { return t.UTC().Format(OutputLayout) }

// NormalizeTime rewrites a Jira timestamp as RFC 3339 UTC. Strings that are
// not timestamps with an offset come back unchanged, with ok false.
func NormalizeTime(s string) (out string, ok bool) {
	if !looksLikeTimestamp(s) {
		return s, false
	}
	t, err := ParseTime(s)
	if err != nil {
		return s, false
	}
	return FormatTime(t), true
}

// NormalizeTimes rewrites, in place, every string in v (a value decoded from
// JSON) that is a timestamp with an offset, so custom date-time fields come
// out in RFC 3339 UTC like the standard ones.
func NormalizeTimes(v any) {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			if s, ok := x.(string); ok {
				if n, ok := NormalizeTime(s); ok {
					t[k] = n
				}
				continue
			}
			NormalizeTimes(x)
		}
	case []any:
		for i, x := range t {
			if s, ok := x.(string); ok {
				if n, ok := NormalizeTime(s); ok {
					t[i] = n
				}
				continue
			}
			NormalizeTimes(x)
		}
	}
}

// looksLikeTimestamp is a cheap shape check run on every string of every
// record: yyyy-mm-ddThh:mm:ss, an optional fraction, then Z or an offset.
func looksLikeTimestamp(s string) bool {
	n := len(s)
	if n < 20 || n > 40 {
		return false
	}
	if s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':' {
		return false
	}
	for _, i := range [...]int{0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18} {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	switch last := s[n-1]; {
	case last == 'Z' || last == 'z':
		return true
	case n >= 24 && (s[n-5] == '+' || s[n-5] == '-'):
		return digits(s[n-4:])
	case n >= 25 && (s[n-6] == '+' || s[n-6] == '-') && s[n-3] == ':':
		return digits(s[n-5:n-3]) && digits(s[n-2:])
	}
	return false
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
