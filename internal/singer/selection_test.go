package singer

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tap-jira/tap-jira/internal/jsonscan"
)

func TestSelection(t *testing.T) {
	t.Parallel()
	record := `{
		"id": "1", "updated": "2026-01-01T00:00:00.000Z", "key": "P-1",
		"fields": {"summary": "s", "description": "d", "labels": ["a"], "customfield_1": {"value": "x", "id": "9"}},
		"items": [{"field": "status", "from": "1"}, {"field": "labels", "from": null}],
		"self": "https://x"
	}`
	cases := []struct {
		name     string
		metadata string
		want     string
	}{
		{
			name:     "no metadata keeps everything",
			metadata: `[]`,
			want:     record,
		},
		{
			name:     "deselected top-level field is dropped",
			metadata: `[{"breadcrumb":["properties","self"],"metadata":{"selected":false,"inclusion":"available"}}]`,
			want:     `{"id":"1","updated":"2026-01-01T00:00:00.000Z","key":"P-1","fields":{"summary":"s","description":"d","labels":["a"],"customfield_1":{"value":"x","id":"9"}},"items":[{"field":"status","from":"1"},{"field":"labels","from":null}]}`,
		},
		{
			name: "automatic field survives selected false",
			metadata: `[{"breadcrumb":["properties","id"],"metadata":{"selected":false,"inclusion":"automatic"}},
			            {"breadcrumb":["properties","updated"],"metadata":{"selected":false,"inclusion":"automatic"}}]`,
			want: record,
		},
		{
			name:     "unsupported field is dropped even if selected",
			metadata: `[{"breadcrumb":["properties","key"],"metadata":{"selected":true,"inclusion":"unsupported"}}]`,
			want:     `{"id":"1","updated":"2026-01-01T00:00:00.000Z","fields":{"summary":"s","description":"d","labels":["a"],"customfield_1":{"value":"x","id":"9"}},"items":[{"field":"status","from":"1"},{"field":"labels","from":null}],"self":"https://x"}`,
		},
		{
			name: "nested fields inside objects and arrays",
			metadata: `[{"breadcrumb":["properties","fields","properties","description"],"metadata":{"selected":false}},
			            {"breadcrumb":["properties","fields","properties","customfield_1","properties","id"],"metadata":{"selected":false}},
			            {"breadcrumb":["properties","items","items","properties","from"],"metadata":{"selected":false}}]`,
			want: `{"id":"1","updated":"2026-01-01T00:00:00.000Z","key":"P-1","fields":{"summary":"s","labels":["a"],"customfield_1":{"value":"x"}},"items":[{"field":"status"},{"field":"labels"}],"self":"https://x"}`,
		},
		{
			name:     "selected true and unspecified fields are kept",
			metadata: `[{"breadcrumb":["properties","key"],"metadata":{"selected":true}},{"breadcrumb":["properties","self"],"metadata":{"inclusion":"available"}}]`,
			want:     record,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var md []MetadataEntry
			require.NoError(t, json.Unmarshal([]byte(tc.metadata), &md))
			rec := decode(t, record)
			NewSelection(md).Apply(rec)
			assert.Equal(t, decode(t, tc.want), rec)
		})
	}
}

func TestSelectionApplySchema(t *testing.T) {
	t.Parallel()
	schema := decode(t, `{"type":"object","properties":{
		"id":{"type":"string"},"self":{"type":["null","string"]},
		"fields":{"type":["null","object"],"properties":{"summary":{"type":["null","string"]},"description":{"type":["null","string"]}}},
		"items":{"type":["null","array"],"items":{"type":"object","properties":{"field":{"type":"string"},"from":{"type":["null","string"]}}}}}}`)
	var md []MetadataEntry
	require.NoError(t, json.Unmarshal([]byte(`[
		{"breadcrumb":["properties","self"],"metadata":{"selected":false}},
		{"breadcrumb":["properties","id"],"metadata":{"selected":false,"inclusion":"automatic"}},
		{"breadcrumb":["properties","fields","properties","description"],"metadata":{"selected":false}},
		{"breadcrumb":["properties","items","items","properties","from"],"metadata":{"selected":false}}]`), &md))
	NewSelection(md).ApplySchema(schema)
	want := decode(t, `{"type":"object","properties":{
		"id":{"type":"string"},
		"fields":{"type":["null","object"],"properties":{"summary":{"type":["null","string"]}}},
		"items":{"type":["null","array"],"items":{"type":"object","properties":{"field":{"type":"string"}}}}}}`)
	assert.Equal(t, want, schema)
}

func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var m map[string]any
	require.NoError(t, dec.Decode(&m))
	return m
}

func TestSelectionKeeps(t *testing.T) {
	t.Parallel()
	sel := NewSelection([]MetadataEntry{
		{Breadcrumb: PropertyBreadcrumb("gone"), Metadata: Metadata{Selected: new(false)}},
		{Breadcrumb: PropertyBreadcrumb("auto"), Metadata: Metadata{Selected: new(false), Inclusion: InclusionAutomatic}},
		{Breadcrumb: PropertyBreadcrumb("kept"), Metadata: Metadata{Selected: new(true)}},
	})
	for field, want := range map[string]bool{"gone": false, "auto": true, "kept": true, "undeclared": true} {
		assert.Equal(t, want, sel.Keeps(field), field)
	}
}

func TestSelectionKeepsAtAndNarrows(t *testing.T) {
	t.Parallel()
	var entries []MetadataEntry
	require.NoError(t, json.Unmarshal([]byte(`[
		{"breadcrumb": ["properties", "self"], "metadata": {"selected": false}},
		{"breadcrumb": ["properties", "fields", "properties", "assignee", "properties", "avatarUrls"], "metadata": {"selected": false}},
		{"breadcrumb": ["properties", "fields", "properties", "labels"], "metadata": {"inclusion": "unsupported"}},
		{"breadcrumb": ["properties", "id"], "metadata": {"selected": false, "inclusion": "automatic"}},
		{"breadcrumb": ["properties", "key"], "metadata": {"selected": true}}]`), &entries))
	s := NewSelection(entries)
	cases := []struct {
		bc             []string
		keeps, narrows bool
	}{
		{[]string{"properties", "self"}, false, true},
		{[]string{"properties", "self", "properties", "x"}, false, false},
		{[]string{"properties", "fields"}, true, true},
		{[]string{"properties", "fields", "properties", "assignee"}, true, true},
		{[]string{"properties", "fields", "properties", "labels"}, false, true},
		{[]string{"properties", "fields", "properties", "summary"}, true, false},
		{[]string{"properties", "id"}, true, false},
		{[]string{"properties", "key"}, true, false},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.bc, "/"), func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.keeps, s.KeepsAt(tc.bc), "KeepsAt")
			assert.Equal(t, tc.narrows, s.Narrows(tc.bc), "Narrows")
		})
	}
}

// TestSelectionLooksInsideRaw: a deselected field inside a value the
// decoder kept raw is dropped as it is from the tree.
func TestSelectionLooksInsideRaw(t *testing.T) {
	t.Parallel()
	var entries []MetadataEntry
	require.NoError(t, json.Unmarshal([]byte(`[
		{"breadcrumb": ["properties", "fields", "properties", "assignee", "properties", "avatarUrls"], "metadata": {"selected": false}},
		{"breadcrumb": ["properties", "items", "items", "properties", "b"], "metadata": {"selected": false}}]`), &entries))
	sel := NewSelection(entries)
	tree := `{"fields":{"assignee":{"avatarUrls":{"x":"y"},"name":"n"},"reporter":{"avatarUrls":{}}},"items":[{"a":1,"b":2},{"b":3}],"other":{"b":1}}`
	want := decode(t, tree)
	sel.Apply(want)
	wantJSON, err := EncodeRecord(want)
	require.NoError(t, err)
	require.Equal(t, `{"fields":{"assignee":{"name":"n"},"reporter":{"avatarUrls":{}}},"items":[{"a":1},{}],"other":{"b":1}}`, string(wantJSON))

	raw := func(v any) jsonscan.Raw {
		b, err := EncodeRecord(v)
		require.NoError(t, err)
		return jsonscan.Raw(b)
	}
	full := decode(t, tree)
	fields := full["fields"].(map[string]any)
	items := full["items"].([]any)
	for name, rec := range map[string]map[string]any{
		"members raw":  {"fields": raw(fields), "items": raw(items), "other": raw(full["other"])},
		"elements raw": {"fields": map[string]any{"assignee": raw(fields["assignee"]), "reporter": raw(fields["reporter"])}, "items": []any{raw(items[0]), raw(items[1])}, "other": full["other"]},
	} {
		sel.Apply(rec)
		got, err := EncodeRecord(rec)
		require.NoError(t, err)
		assert.Equal(t, string(wantJSON), string(got), name)
	}
}

// TestSelectionLeavesNestedValuesAlone: Apply edits the record it is given
// but none of the objects and arrays nested in it, which other records may
// share: what it must change below the top level it replaces by a copy.
func TestSelectionLeavesNestedValuesAlone(t *testing.T) {
	t.Parallel()
	author := map[string]any{"accountId": "a", "avatarUrls": map[string]any{"16x16": "u", "48x48": "v"}}
	items := []any{map[string]any{"field": "status", "from": "1"}, map[string]any{"field": "labels", "from": nil}}
	matrix := []any{[]any{map[string]any{"x": 1, "y": 2}}}
	other := map[string]any{"author": author, "items": items, "matrix": matrix}
	rec := map[string]any{"id": "1", "author": author, "items": items, "matrix": matrix}
	var md []MetadataEntry
	require.NoError(t, json.Unmarshal([]byte(`[
		{"breadcrumb":["properties","author","properties","avatarUrls","properties","16x16"],"metadata":{"selected":false}},
		{"breadcrumb":["properties","items","items","properties","from"],"metadata":{"selected":false}},
		{"breadcrumb":["properties","matrix","items","items","properties","y"],"metadata":{"selected":false}},
		{"breadcrumb":["properties","id"],"metadata":{"selected":false}}]`), &md))
	NewSelection(md).Apply(rec)
	assert.Equal(t, map[string]any{
		"author": map[string]any{"accountId": "a", "avatarUrls": map[string]any{"48x48": "v"}},
		"items":  []any{map[string]any{"field": "status"}, map[string]any{"field": "labels"}},
		"matrix": []any{[]any{map[string]any{"x": 1}}},
	}, rec, "the record edited")
	assert.Equal(t, map[string]any{
		"author": map[string]any{"accountId": "a", "avatarUrls": map[string]any{"16x16": "u", "48x48": "v"}},
		"items":  []any{map[string]any{"field": "status", "from": "1"}, map[string]any{"field": "labels", "from": nil}},
		"matrix": []any{[]any{map[string]any{"x": 1, "y": 2}}},
	}, other, "what it shared left alone")
}
