// Package jira talks to Jira's REST API. It is the only package that imports
// go-jira, and the only one that knows Jira's wire formats.
package jira

import (
	"errors"
	"fmt"
	"time"
	"unsafe"
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
	b, ok := appendNormalTime(nil, s)
	if !ok {
		return s, false
	}
	return unsafe.String(unsafe.SliceData(b), len(b)), true // b is ours alone
}

// appendNormalTime appends NormalizeTime's rewrite of s to dst, or returns
// dst as it was and false when s is not a timestamp with an offset. Every
// string of every record comes through here, and most timestamps have the
// one shape Jira writes: those skip time.Parse and Format.
func appendNormalTime(dst []byte, s string) ([]byte, bool) {
	if out, ok := appendJiraTime(dst, s); ok {
		return out, true
	}
	if !looksLikeTimestamp(s) {
		return dst, false // without ParseTime's error to build
	}
	t, err := ParseTime(s)
	if err != nil {
		return dst, false
	}
	return t.AppendFormat(dst, OutputLayout), true
}

// appendJiraTime is ParseTime and FormatTime for timestamps with
// milliseconds and an offset of +hhmm, +hh:mm or Z
// (2026-01-02T03:04:05.000+0000) whose every part is plainly in range.
// Anything else is false, for the general path to decide: the two agree
// wherever this one answers (FuzzNormalTime).
func appendJiraTime(dst []byte, s string) ([]byte, bool) {
	var oh, om int
	ok := true
	switch {
	case len(s) == 24 && s[23] == 'Z':
	case len(s) == 28 && (s[23] == '+' || s[23] == '-'):
		oh, om = num(s[24:26], &ok), num(s[26:28], &ok)
	case len(s) == 29 && (s[23] == '+' || s[23] == '-') && s[26] == ':':
		oh, om = num(s[24:26], &ok), num(s[27:29], &ok)
	default:
		return dst, false
	}
	if s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != '.' {
		return dst, false
	}
	year, month, day := num(s[0:4], &ok), num(s[5:7], &ok), num(s[8:10], &ok)
	hour, minute, sec, ms := num(s[11:13], &ok), num(s[14:16], &ok), num(s[17:19], &ok), num(s[20:23], &ok)
	// Days past the 28th, leap seconds and odd offsets go the long way.
	if !ok || month < 1 || month > 12 || day < 1 || day > 28 || hour > 23 || minute > 59 || sec > 59 || oh > 14 || om > 59 {
		return dst, false
	}
	offset := (oh*60 + om) * 60
	if s[23] == '-' {
		offset = -offset
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, ms*int(time.Millisecond), time.UTC).Add(-time.Duration(offset) * time.Second)
	y, mo, d := t.Date()
	if y < 0 || y > 9999 {
		return dst, false
	}
	h, mi, se := t.Clock()
	dst = appendDigits(dst, y, 4)
	dst = append(dst, '-')
	dst = appendDigits(dst, int(mo), 2)
	dst = append(dst, '-')
	dst = appendDigits(dst, d, 2)
	dst = append(dst, 'T')
	dst = appendDigits(dst, h, 2)
	dst = append(dst, ':')
	dst = appendDigits(dst, mi, 2)
	dst = append(dst, ':')
	dst = appendDigits(dst, se, 2)
	dst = append(dst, '.')
	dst = appendDigits(dst, ms, 3)
	return append(dst, 'Z'), true
}

// num reads s as decimal digits, clearing ok on anything else.
func num(s string, ok *bool) int {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			*ok = false
			return 0
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// appendDigits writes n with exactly width digits, zero-padded.
func appendDigits(dst []byte, n, width int) []byte {
	for range width {
		dst = append(dst, '0')
	}
	for i := len(dst) - 1; i >= len(dst)-width; i-- {
		dst[i] = byte('0' + n%10)
		n /= 10
	}
	return dst
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
