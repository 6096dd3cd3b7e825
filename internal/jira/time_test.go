package jira

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseTime(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		want string // RFC 3339 UTC, or "" for an error
	}{
		{"2026-01-02T03:04:05.000+0000", "2026-01-02T03:04:05.000Z"},
		{"2026-11-27T10:15:30.123-0800", "2026-11-27T18:15:30.123Z"},
		{"2026-03-29T02:30:00.000+0530", "2026-03-28T21:00:00.000Z"},
		{"2026-01-02T03:04:05+0100", "2026-01-02T02:04:05.000Z"},
		{"2026-01-02T03:04:05.123456+0000", "2026-01-02T03:04:05.123Z"},
		{"2026-01-02T03:04:05Z", "2026-01-02T03:04:05.000Z"},
		{"2026-01-02T03:04:05.5-02:00", "2026-01-02T05:04:05.500Z"},
		{"2025-12-31T23:59:59.999-1200", "2026-01-01T11:59:59.999Z"},
		{"2026-01-02", ""},
		{"2026-01-02T03:04:05", ""},          // no offset: zone unknown
		{"2026-01-02 03:04:05.000+0000", ""}, // space instead of T
		{"2026-13-02T03:04:05.000+0000", ""}, // month 13
		{"2026-01-02T03:04:05.000+00", ""},   // short offset
		{"not a timestamp at all, not at all", ""},
		{"", ""},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseTime(tc.in)
			if tc.want == "" {
				require.Error(t, err)
				assert.True(t, errors.Is(err, ErrNotTimestamp))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, time.UTC, got.Location())
			assert.Equal(t, tc.want, FormatTime(got))
		})
	}
}

func TestNormalizeTimes(t *testing.T) {
	t.Parallel()
	in := `{"id":"1","created":"2026-01-02T03:04:05.000+0100","fields":{"updated":"2026-01-02T03:04:05.000-0800",
		"duedate":"2026-01-05","summary":"due 2026-01-02T03:04:05.000+0000 or later",
		"customfield_1":["2026-01-02T03:04:05.000+0000",{"when":"2026-01-02T03:04:05.000+0000"}],"n":5}}`
	dec := json.NewDecoder(strings.NewReader(in))
	dec.UseNumber()
	var rec map[string]any
	require.NoError(t, dec.Decode(&rec))
	NormalizeTimes(rec)
	want := map[string]any{"id": "1", "created": "2026-01-02T02:04:05.000Z", "fields": map[string]any{
		"updated": "2026-01-02T11:04:05.000Z", "duedate": "2026-01-05",
		"summary":       "due 2026-01-02T03:04:05.000+0000 or later",
		"customfield_1": []any{"2026-01-02T03:04:05.000Z", map[string]any{"when": "2026-01-02T03:04:05.000Z"}},
		"n":             json.Number("5"),
	}}
	assert.Equal(t, want, rec)
}

func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2026-01-02T03:04:05.000+0000", "2026-01-02T03:04:05Z", "2026-01-02T03:04:05.5-02:00", "2026-01-02", "9999-99-99T99:99:99.999+9999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseTime(s)
		if err != nil {
			return
		}
		// Whatever parses must come out as RFC 3339 UTC that parses back to
		// the same instant at millisecond precision.
		out := FormatTime(got)
		back, err := time.Parse(time.RFC3339Nano, out)
		if err != nil {
			t.Fatalf("%q formatted as %q, which is not RFC 3339: %v", s, out, err)
		}
		if !back.Equal(got.Truncate(time.Millisecond)) {
			t.Fatalf("%q: round trip %v != %v", s, back, got)
		}
		if n, ok := NormalizeTime(s); !ok || n != out {
			t.Fatalf("NormalizeTime(%q) = %q, %v; want %q", s, n, ok, out)
		}
	})
}

// slowNormal is NormalizeTime as the general path gives it.
func slowNormal(s string) (string, bool) {
	t, err := ParseTime(s)
	if err != nil {
		return s, false
	}
	return FormatTime(t), true
}

func TestNormalTimeFastPath(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in, want string
		fast     bool // taken without time.Parse
	}{
		{"2026-01-02T03:04:05.000+0000", "2026-01-02T03:04:05.000Z", true},
		{"2026-01-01T01:04:05.123+0200", "2025-12-31T23:04:05.123Z", true},
		{"2026-02-28T20:30:00.999-0800", "2026-03-01T04:30:00.999Z", true},
		{"2024-02-28T20:30:00.999-0800", "2024-02-29T04:30:00.999Z", true},
		{"2026-03-04T05:06:07.123Z", "2026-03-04T05:06:07.123Z", true},
		{"2026-03-04T05:06:07.123+05:30", "2026-03-03T23:36:07.123Z", true},
		{"0000-01-01T00:30:00.000+0100", "", true}, // before year 0 in UTC: not a timestamp
		{"2026-01-31T03:04:05.000+0000", "2026-01-31T03:04:05.000Z", false},
		{"2026-02-31T03:04:05.000+0000", "", false},
		{"2026-01-02T03:04:05+0000", "2026-01-02T03:04:05.000Z", false},
		{"2026-01-02T03:04:05.1234567-0700", "2026-01-02T10:04:05.123Z", false},
		{"2026-01-02t03:04:05.000z", "", false}, // time.Parse wants upper case
		{"2026-01-02T24:04:05.000+0000", "", false},
		{"2026-01-02T03:04:05.000+1500", "2026-01-01T12:04:05.000Z", false},
		{"2026-01-02T03:04:05.000", "", false},
	} {
		got, ok := NormalizeTime(c.in)
		if c.want == "" {
			assert.False(t, ok, c.in)
			assert.Equal(t, c.in, got)
		} else {
			assert.True(t, ok, c.in)
			assert.Equal(t, c.want, got, c.in)
		}
		_, fast := appendJiraTime(nil, c.in)
		assert.Equal(t, c.fast && c.want != "", fast, "fast path taken for %q", c.in)
	}
}

// FuzzNormalTime holds the fast path to the general one: wherever it
// answers, it answers what time.Parse and Format give.
func FuzzNormalTime(f *testing.F) {
	for _, s := range []string{"2026-01-02T03:04:05.000+0000", "2026-03-04T05:06:07.123Z", "2026-03-04T05:06:07.123+05:30", "0000-01-01T00:30:00.000+0100", "9999-12-31T23:59:59.999-1400", "2026-12-28T23:59:59.999-0059"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, wantOK := slowNormal(s)
		got, ok := NormalizeTime(s)
		if ok != wantOK || got != want {
			t.Fatalf("NormalizeTime(%q) = %q, %v; the general path gives %q, %v", s, got, ok, want, wantOK)
		}
		if b, fast := appendJiraTime([]byte("x"), s); fast && (!wantOK || string(b) != "x"+want) {
			t.Fatalf("fast path on %q gave %q; the general path gives %q, %v", s, b, want, wantOK)
		}
	})
}
