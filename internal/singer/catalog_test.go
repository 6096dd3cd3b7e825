package singer

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseCatalogErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, doc, want string
	}{
		{"empty", "  \n", "the document is empty"},
		{"malformed", "{\n  \"streams\": [\n    {\"tap_stream_id\": \"issues\",}\n  ]\n}", "malformed JSON at line 3, column 32"},
		{"truncated", `{"streams": [{"tap_stream_id": "issues"`, "unexpected end of JSON at line 1"},
		{"streams not a list", `{"streams": {"issues": {}}}`, "streams must be a list"},
		{"selected not a boolean", `{"streams": [{"tap_stream_id": "issues", "metadata": [{"breadcrumb": [], "metadata": {"selected": "yes"}}]}]}`, "streams.metadata.metadata.selected must be a boolean"},
		{"no streams key", `{"version": 1}`, `missing "streams" list`},
		{"nameless stream", `{"streams": [{"schema": {}}]}`, "streams[0] has neither tap_stream_id nor stream"},
		{"duplicate stream", `{"streams": [{"stream": "issues"}, {"tap_stream_id": "issues"}]}`, `stream "issues" appears twice`},
		{"trailing data", `{"streams": []} {}`, "unexpected data after the catalog object"},
		{"not an object", `[1, 2]`, "the document must be an object"},
		{"null stream", `{"streams": [null]}`, "streams[0] is null"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseCatalog(strings.NewReader(tc.doc))
			var ce *CatalogError
			require.True(t, errors.As(err, &ce), "want *CatalogError, got %v", err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestCatalogSelected(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		stream string
		want   bool
	}{
		{"metadata selected", `{"tap_stream_id":"a","metadata":[{"breadcrumb":[],"metadata":{"selected":true}}]}`, true},
		{"metadata deselected wins over default", `{"tap_stream_id":"a","metadata":[{"breadcrumb":[],"metadata":{"selected":false,"selected-by-default":true}}]}`, false},
		{"only selected-by-default", `{"tap_stream_id":"a","metadata":[{"breadcrumb":[],"metadata":{"selected-by-default":true}}]}`, true},
		{"legacy schema-level selected", `{"tap_stream_id":"a","schema":{"selected":true},"metadata":[]}`, true},
		{"nothing says so", `{"tap_stream_id":"a","metadata":[{"breadcrumb":[],"metadata":{"inclusion":"available"}}]}`, false},
		{"field selected does not select the stream", `{"tap_stream_id":"a","metadata":[{"breadcrumb":["properties","id"],"metadata":{"selected":true}}]}`, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cat, err := ParseCatalog(strings.NewReader(`{"streams":[` + tc.stream + `]}`))
			require.NoError(t, err)
			assert.Equal(t, tc.want, cat.Streams[0].Selected())
		})
	}
}

func TestCatalogRoundTrip(t *testing.T) {
	t.Parallel()
	doc := `{"streams":[{"tap_stream_id":"issues","stream":"issues","key_properties":["id"],"schema":{"type":"object","properties":{"id":{"type":"string"}}},"metadata":[{"breadcrumb":[],"metadata":{"inclusion":"available","selected":true,"table-key-properties":["id"],"forced-replication-method":"INCREMENTAL","valid-replication-keys":["updated"]}},{"breadcrumb":["properties","id"],"metadata":{"inclusion":"automatic"}}]}]}`
	cat, err := ParseCatalog(strings.NewReader(doc))
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, WriteCatalog(&buf, cat))
	var got, want any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &got))
	require.NoError(t, json.Unmarshal([]byte(doc), &want))
	assert.Equal(t, want, got)
}

func FuzzParseCatalog(f *testing.F) {
	f.Add([]byte(`{"streams":[{"tap_stream_id":"issues","schema":{},"metadata":[{"breadcrumb":[],"metadata":{"selected":true}}]}]}`))
	f.Add([]byte(`{"streams":[`))
	f.Add([]byte(`{"streams":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		cat, err := ParseCatalog(bytes.NewReader(data))
		if err != nil {
			var ce *CatalogError
			if !errors.As(err, &ce) {
				t.Fatalf("error is not a *CatalogError: %v", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, s := range cat.Streams {
			if s == nil || s.ID() == "" || seen[s.ID()] {
				t.Fatalf("accepted a catalog with a bad stream: %+v", s)
			}
			seen[s.ID()] = true
			_ = s.Selected()
			sel := NewSelection(s.Metadata)
			rec := map[string]any{"id": "1", "a": map[string]any{"b": []any{map[string]any{"c": 1}}}}
			sel.Apply(rec)
			sel.ApplySchema(s.Schema)
		}
	})
}

func TestMetadataKeepsTapKeys(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, in, out string }{
		{"only Singer keys", `{"selected":true,"inclusion":"available"}`, `{"inclusion":"available","selected":true}`},
		{"a tap's keys after Singer's, sorted", `{"tap-jira.name":"Story <Points> & Co","inclusion":"available","tap-jira.field-id":"customfield_1","x":{"n":1.50}}`,
			`{"inclusion":"available","tap-jira.field-id":"customfield_1","tap-jira.name":"Story <Points> & Co","x":{"n":1.50}}`},
		{"only a tap's keys", `{"tap-jira.name":"A"}`, `{"tap-jira.name":"A"}`},
		{"empty", `{}`, `{}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var m Metadata
			require.NoError(t, json.Unmarshal([]byte(tc.in), &m))
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			require.NoError(t, enc.Encode(m))
			assert.Equal(t, tc.out, strings.TrimSpace(buf.String()))
		})
	}
}
