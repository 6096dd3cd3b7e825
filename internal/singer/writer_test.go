package singer

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWriterExactBytes(t *testing.T) {
	t.Parallel()
	extracted := time.Date(2026, 1, 2, 4, 4, 5, 123_000_000, time.FixedZone("CET", 3600))
	schema := map[string]any{"type": "object", "properties": map[string]any{"id": map[string]any{"type": "string"}}}
	cases := []struct {
		name  string
		write func(w *Writer) error
		want  string
	}{
		{
			name:  "schema with key and bookmark properties",
			write: func(w *Writer) error { return w.WriteSchema("issues", schema, []string{"id"}, []string{"updated"}) },
			want:  `{"type":"SCHEMA","stream":"issues","schema":{"properties":{"id":{"type":"string"}},"type":"object"},"key_properties":["id"],"bookmark_properties":["updated"]}` + "\n",
		},
		{
			name:  "schema without key keeps key_properties as []",
			write: func(w *Writer) error { return w.WriteSchema("roles", schema, nil, nil) },
			want:  `{"type":"SCHEMA","stream":"roles","schema":{"properties":{"id":{"type":"string"}},"type":"object"},"key_properties":[]}` + "\n",
		},
		{
			name: "record in UTC, html not escaped, numbers kept exactly",
			write: func(w *Writer) error {
				rec := map[string]any{"id": "10001", "summary": "<b>a & b</b> — 日本 🚀", "n": json.Number("12345678901234567890.5")}
				return w.WriteRecord("issues", rec, extracted)
			},
			want: `{"type":"RECORD","stream":"issues","record":{"id":"10001","n":12345678901234567890.5,"summary":"<b>a & b</b> — 日本 🚀"},"time_extracted":"2026-01-02T03:04:05.123Z"}` + "\n",
		},
		{
			name: "versioned record",
			write: func(w *Writer) error {
				return w.WriteVersionedRecord("projects", map[string]any{"id": "1"}, 1767323045123, extracted)
			},
			want: `{"type":"RECORD","stream":"projects","record":{"id":"1"},"version":1767323045123,"time_extracted":"2026-01-02T03:04:05.123Z"}` + "\n",
		},
		{
			name: "state",
			write: func(w *Writer) error {
				return w.WriteState(map[string]any{"currently_syncing": nil, "bookmarks": map[string]any{"issues": map[string]any{"updated": "2026-01-02T03:04:05.000000Z"}}})
			},
			want: `{"type":"STATE","value":{"bookmarks":{"issues":{"updated":"2026-01-02T03:04:05.000000Z"}},"currently_syncing":null}}` + "\n",
		},
		{
			name:  "activate version",
			write: func(w *Writer) error { return w.WriteActivateVersion("projects", 1767323045123) },
			want:  `{"type":"ACTIVATE_VERSION","stream":"projects","version":1767323045123}` + "\n",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			w := NewWriter(&buf)
			require.NoError(t, tc.write(w))
			assert.Empty(t, buf.String(), "nothing reaches the output before Flush")
			require.NoError(t, w.Flush())
			assert.Equal(t, tc.want, buf.String())
		})
	}
}

type failingWriter struct{ err error }

func (f failingWriter) Write([]byte) (int, error) { return 0, f.err }

func TestWriterPropagatesOutputErrors(t *testing.T) {
	t.Parallel()
	broken := errors.New("broken pipe")
	w := NewWriter(failingWriter{err: broken})
	require.NoError(t, w.WriteState(map[string]any{}), "buffered: the failure shows at flush")
	err := w.Flush()
	require.ErrorIs(t, err, broken)
	// The failure is sticky: later messages are refused, not lost silently.
	require.ErrorIs(t, w.WriteRecord("issues", map[string]any{"id": "1"}, time.Now()), broken)
	require.ErrorIs(t, w.Flush(), broken)
}

func TestWriterErrorWhenBufferOverflows(t *testing.T) {
	t.Parallel()
	broken := errors.New("disk full")
	w := NewWriter(failingWriter{err: broken})
	big := map[string]any{"id": "1", "blob": string(bytes.Repeat([]byte("x"), 128<<10))}
	require.ErrorIs(t, w.WriteRecord("issues", big, time.Now()), broken)
}

func TestWriterEncodingErrorLeavesNoPartialLine(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	w := NewWriter(&buf)
	require.NoError(t, w.WriteState(map[string]any{"a": 1}))
	err := w.WriteRecord("issues", map[string]any{"id": "1", "bad": math.NaN()}, time.Now())
	require.Error(t, err)
	require.NoError(t, w.WriteState(map[string]any{"a": 2}), "an unencodable message does not poison the writer")
	require.NoError(t, w.Flush())
	assert.Equal(t, `{"type":"STATE","value":{"a":1}}`+"\n"+`{"type":"STATE","value":{"a":2}}`+"\n", buf.String())
}

// time_extracted is formatted once per millisecond; a record stamped in
// another millisecond, or in the same one in another zone, still gets its
// own time.
func TestWriterTimeExtractedFollowsTheClock(t *testing.T) {
	t.Parallel()
	base := time.Date(2026, 1, 2, 3, 4, 5, 123_000_000, time.UTC)
	var out bytes.Buffer
	w := NewWriter(&out)
	for _, at := range []time.Time{base, base.Add(400 * time.Microsecond), base.Add(time.Millisecond), base.Add(time.Hour).In(time.FixedZone("X", 3600)), base} {
		require.NoError(t, w.WriteEncodedRecord("s", []byte(`{}`), nil, at))
	}
	require.NoError(t, w.Flush())
	var got []string
	for line := range bytes.Lines(out.Bytes()) {
		var m struct {
			TimeExtracted string `json:"time_extracted"`
		}
		require.NoError(t, json.Unmarshal(line, &m))
		got = append(got, m.TimeExtracted)
	}
	assert.Equal(t, []string{"2026-01-02T03:04:05.123Z", "2026-01-02T03:04:05.123Z", "2026-01-02T03:04:05.124Z", "2026-01-02T04:04:05.123Z", "2026-01-02T03:04:05.123Z"}, got)
}
