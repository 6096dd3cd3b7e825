package tap

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tap-jira/tap-jira/internal/jira"
	"github.com/tap-jira/tap-jira/internal/schema"
	"github.com/tap-jira/tap-jira/internal/singer"
	"github.com/tap-jira/tap-jira/internal/streams"
)

// siteFields is a /field answer with custom fields of several types, two
// of one name, and a system field.
const siteFields = `[
 {"id": "summary", "name": "Summary", "custom": false, "schema": {"type": "string", "system": "summary"}},
 {"id": "customfield_10016", "name": "Story Points", "custom": true, "schema": {"type": "number", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:float", "customId": 10016}},
 {"id": "customfield_10030", "name": "Story Points", "custom": true, "schema": {"type": "number", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:float", "customId": 10030}},
 {"id": "customfield_10040", "name": "Team", "custom": true, "schema": {"type": "option", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:select", "customId": 10040}},
 {"id": "customfield_10050", "name": "Go-live", "custom": true, "schema": {"type": "datetime", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:datetime", "customId": 10050}},
 {"id": "customfield_10060", "name": "Rank", "custom": true, "schema": {"type": "any", "custom": "com.pyxis.greenhopper.jira:gh-lexo-rank", "customId": 10060}},
 {"id": "customfield_10070", "name": "Sprint", "custom": true, "schema": {"type": "array", "items": "json", "custom": "com.pyxis.greenhopper.jira:gh-sprint", "customId": 10070}},
 {"id": "customfield_10080", "name": "Äußere Größe", "custom": true, "schema": {"type": "string", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:textfield", "customId": 10080}}
]`

func parseFieldsJSON(t testing.TB, data string) []jira.Field {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader([]byte(data)))
	dec.UseNumber()
	var raw []jira.Record
	require.NoError(t, dec.Decode(&raw))
	return jira.ParseFields(raw)
}

// discoveredWith discovers with the site's fields, selects issues and round
// trips the catalog through its JSON, as a user's file does.
func discoveredWith(t *testing.T, fields []jira.Field, flatten bool) *singer.Catalog {
	t.Helper()
	cat, err := Discover(bundled(t), fields, flatten)
	require.NoError(t, err)
	cat.Stream("issues").Root().Selected = new(true)
	var buf bytes.Buffer
	require.NoError(t, singer.WriteCatalog(&buf, cat))
	out, err := singer.ParseCatalog(&buf)
	require.NoError(t, err)
	return out
}

func issuePlan(t *testing.T, cat *singer.Catalog) *Selected {
	t.Helper()
	plan, err := Plan(cat, bundled(t), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	for _, p := range plan {
		if p.Stream.Name == "issues" {
			return p
		}
	}
	t.Fatal("issues not planned")
	return nil
}

func TestColumnNames(t *testing.T) {
	t.Parallel()
	cases := []struct{ id, name, want string }{
		{"customfield_10016", "Story Points", "story_points_10016"},
		{"customfield_10021", "Équipe — notes 📝", "equipe_notes_10021"},
		{"customfield_10080", "Äußere Größe", "aussere_grosse_10080"},
		{"customfield_10028", `顧客名 "Customer" & Co`, "customer_co_10028"},
		{"customfield_10029", "顧客名", "customfield_10029"},
		{"customfield_10030", "", "customfield_10030"},
		{"customfield_10031", "  Epic--Link__ ", "epic_link_10031"},
		{"customfield_10032", "CPU%/RAM (GB) 2", "cpu_ram_gb_2_10032"},
		{"com.app:field", "App Field", "app_field_com_app_field"},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, columnName(jira.Field{ID: tc.id, Name: tc.name}, map[string]any{}))
		})
	}
	// A name already taken gets a suffix rather than a clash.
	assert.Equal(t, "a_1_2", columnName(jira.Field{ID: "customfield_1", Name: "A"}, map[string]any{"a_1": map[string]any{}}))
}

func TestCustomFieldsInTheCatalogAndRecords(t *testing.T) {
	t.Parallel()
	fields := parseFieldsJSON(t, siteFields)
	cases := []struct {
		name    string
		flatten bool
		// where each custom field's value is in the emitted record
		path func(id, column string) []string
	}{
		{"nested", false, func(id, _ string) []string { return []string{"fields", id} }},
		{"flattened", true, func(_, column string) []string { return []string{column} }},
	}
	columns := map[string]string{
		"customfield_10016": "story_points_10016", "customfield_10030": "story_points_10030", "customfield_10040": "team_10040",
		"customfield_10050": "go_live_10050", "customfield_10060": "rank_10060", "customfield_10070": "sprint_10070",
		"customfield_10080": "aussere_grosse_10080",
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cat := discoveredWith(t, fields, tc.flatten)
			is := issuePlan(t, cat)
			var got []string
			for _, c := range is.custom {
				got = append(got, c.ID)
				if tc.flatten {
					assert.Equal(t, columns[c.ID], c.Column)
				} else {
					assert.Empty(t, c.Column)
				}
			}
			assert.Equal(t, []string{"customfield_10016", "customfield_10030", "customfield_10040", "customfield_10050",
				"customfield_10060", "customfield_10070", "customfield_10080"}, got, "every custom field and no system field")

			em := NewEmitter(singer.NewWriter(&bytes.Buffer{}), slog.New(slog.DiscardHandler), fixedNow)
			good := func() map[string]any {
				rec := sample(t, "issues")
				f := rec["fields"].(map[string]any)
				f["customfield_10016"] = json.Number("5")
				f["customfield_10030"] = nil
				f["customfield_10040"] = map[string]any{"value": "Blue", "id": "1"}
				f["customfield_10050"] = "2026-01-02T03:04:05.000+0100"
				f["customfield_10060"] = "0|i0000f:"
				f["customfield_10070"] = []any{map[string]any{"id": json.Number("1")}, "legacy string form"}
				f["customfield_10080"] = "x"
				// From Jira's bytes, as the tap reads records.
				raw, err := json.Marshal(rec)
				require.NoError(t, err)
				rec, err = jira.DecodeRecord(raw)
				require.NoError(t, err)
				return rec
			}
			_, encoded, err := em.Prepare(is, good())
			require.NoError(t, err)
			var out map[string]any
			dec := json.NewDecoder(bytes.NewReader(encoded))
			dec.UseNumber()
			require.NoError(t, dec.Decode(&out))
			at := func(path []string) (any, bool) {
				var cur any = out
				for _, k := range path {
					m, ok := cur.(map[string]any)
					if !ok {
						return nil, false
					}
					if cur, ok = m[k]; !ok {
						return nil, false
					}
				}
				return cur, true
			}
			v, ok := at(tc.path("customfield_10050", columns["customfield_10050"]))
			require.True(t, ok)
			assert.Equal(t, "2026-01-02T02:04:05.000Z", v, "custom date-times come out in RFC 3339 UTC")
			v, _ = at(tc.path("customfield_10016", columns["customfield_10016"]))
			assert.Equal(t, json.Number("5"), v)
			if tc.flatten {
				for id := range columns {
					assert.NotContains(t, out["fields"], id, "a flattened value is not in fields too")
				}
			}

			wrong := []struct {
				id    string
				value any
			}{
				{"customfield_10016", "five"},
				{"customfield_10040", "Blue"},
				{"customfield_10050", "tomorrow"},
				{"customfield_10070", map[string]any{}},
				{"customfield_10080", json.Number("1")},
			}
			for _, w := range wrong {
				rec := good()
				rec["fields"].(map[string]any)[w.id] = w.value
				_, _, err := em.Prepare(is, rec)
				require.ErrorIs(t, err, ErrInvalidRecord, w.id)
				want := "/fields/" + w.id
				if tc.flatten {
					want = "/" + columns[w.id]
				}
				assert.Contains(t, err.Error(), want)
			}
		})
	}
}

func TestCatalogCustomFieldMistakes(t *testing.T) {
	t.Parallel()
	fields := parseFieldsJSON(t, siteFields)
	cases := []struct {
		name string
		edit func(cs *singer.CatalogStream)
		want string
	}{
		{"a field mapped twice", func(cs *singer.CatalogStream) {
			cs.Metadata = append(cs.Metadata, singer.MetadataEntry{Breadcrumb: []string{"properties", "extra"},
				Metadata: singer.Metadata{Extra: map[string]any{MetaFieldID: "customfield_10016"}}})
		}, "mapped twice"},
		{"a column tap-jira has", func(cs *singer.CatalogStream) {
			for i := range cs.Metadata {
				if cs.Metadata[i].Metadata.Extra[MetaFieldID] == "customfield_10016" {
					cs.Metadata[i].Breadcrumb = []string{"properties", "key"}
				}
			}
		}, `column "key"`},
		{"a breadcrumb elsewhere", func(cs *singer.CatalogStream) {
			for i := range cs.Metadata {
				if cs.Metadata[i].Metadata.Extra[MetaFieldID] == "customfield_10016" {
					cs.Metadata[i].Breadcrumb = []string{"properties", "fields", "properties", "summary"}
				}
			}
		}, "customfield_10016 at breadcrumb"},
		{"a schema a target cannot read", func(cs *singer.CatalogStream) {
			cs.Schema["properties"].(map[string]any)["story_points_10016"] = map[string]any{"$ref": "#/definitions/x"}
		}, "custom fields"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cat := discoveredWith(t, fields, true)
			tc.edit(cat.Stream("issues"))
			_, err := Plan(cat, bundled(t), slog.New(slog.DiscardHandler))
			var ue *UsageError
			require.True(t, errors.As(err, &ue), "want a UsageError, got %v", err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestIssueFields(t *testing.T) {
	t.Parallel()
	fields := parseFieldsJSON(t, siteFields)
	deselect := func(cs *singer.CatalogStream, bc ...string) {
		cs.Metadata = append(cs.Metadata, singer.MetadataEntry{Breadcrumb: bc, Metadata: singer.Metadata{Selected: new(false)}})
	}
	cases := []struct {
		name     string
		flatten  bool
		children []string
		issues   bool
		drop     [][]string
		want     []string // the list, or else these must be in and out of it
		in, out  []string
	}{
		{name: "nothing deselected", issues: true, children: []string{"issue_comments"}, want: []string{"*all", "-worklog"}},
		{name: "nothing deselected, flattened", issues: true, flatten: true, want: []string{"*all", "-worklog", "-comment"}},
		{name: "a top-level property that is not a field", issues: true, drop: [][]string{{"properties", "self"}}, want: []string{"*all", "-worklog", "-comment"}},
		{name: "a nested field", issues: true, children: []string{"issue_comments"}, drop: [][]string{{"properties", "fields", "properties", "summary"}},
			in: []string{"updated", "comment", "description", "customfield_10016"}, out: []string{"summary", "worklog"}},
		{name: "a property inside a field keeps the field", issues: true, drop: [][]string{{"properties", "fields", "properties", "assignee", "properties", "avatarUrls"}},
			in: []string{"assignee", "updated"}, out: []string{"comment"}},
		{name: "updated is read even when deselected", issues: true, drop: [][]string{{"properties", "fields", "properties", "updated"}},
			in: []string{"updated"}},
		{name: "a flattened column", issues: true, flatten: true, drop: [][]string{{"properties", "team_10040"}},
			in: []string{"customfield_10016", "summary"}, out: []string{"customfield_10040"}},
		{name: "fields deselected", issues: true, flatten: true, children: []string{"issue_comments"}, drop: [][]string{{"properties", "fields"}},
			want: []string{"comment", "customfield_10016", "customfield_10030", "customfield_10040", "customfield_10050", "customfield_10060",
				"customfield_10070", "customfield_10080", "updated"}},
		{name: "issues only for comments", children: []string{"issue_comments", "changelogs"}, want: []string{"updated", "comment"}},
		{name: "issues only for transitions", children: []string{"issue_transitions"}, want: []string{"updated"}},
		{name: "issues only for status history", children: []string{"issue_status_history"}, want: []string{"created", "creator", "status", "updated"}},
		{name: "status history needs fields the catalog leaves out", issues: true, children: []string{"issue_status_history"},
			drop: [][]string{{"properties", "fields", "properties", "status"}, {"properties", "fields", "properties", "creator"}},
			in:   []string{"status", "creator", "created", "updated", "summary"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cat, err := Discover(bundled(t), fields, tc.flatten)
			require.NoError(t, err)
			cs := cat.Stream("issues")
			if tc.issues {
				cs.Root().Selected = new(true)
			}
			for _, c := range tc.children {
				cat.Stream(c).Root().Selected = new(true)
			}
			for _, bc := range tc.drop {
				deselect(cs, bc...)
			}
			plan, err := Plan(cat, bundled(t), slog.New(slog.DiscardHandler))
			require.NoError(t, err)
			selected := map[string]*Selected{}
			for _, p := range plan {
				selected[p.Stream.Name] = p
			}
			got := issueFields(selected)
			switch {
			case tc.want != nil:
				assert.ElementsMatch(t, tc.want, got)
			default:
				require.NotNil(t, got)
				for _, f := range tc.in {
					assert.Contains(t, got, f)
				}
				for _, f := range tc.out {
					assert.NotContains(t, got, f)
				}
				assert.True(t, slices.IsSorted(got))
			}
		})
	}
}

// TestDiscoverIsStable discovers the same fields listed in other orders:
// the catalog must not change.
func TestDiscoverIsStable(t *testing.T) {
	t.Parallel()
	fields := parseFieldsJSON(t, siteFields)
	for _, flatten := range []bool{false, true} {
		first := catalogJSON(t, fields, flatten)
		rng := rand.New(rand.NewPCG(3, 4))
		for range 5 {
			shuffled := slices.Clone(fields)
			rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			assert.Equal(t, first, catalogJSON(t, shuffled, flatten))
		}
	}
}

func catalogJSON(t *testing.T, fields []jira.Field, flatten bool) string {
	t.Helper()
	cat, err := Discover(bundled(t), fields, flatten)
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, singer.WriteCatalog(&buf, cat))
	return buf.String()
}

// FuzzCustomFields feeds discovery arbitrary /field answers (Jira's apps
// define their own types and names): discovery must succeed, its catalog
// must plan, and a record whose custom fields are all null must validate.
func FuzzCustomFields(f *testing.F) {
	f.Add([]byte(siteFields), false)
	f.Add([]byte(`[{"id": "customfield_1", "name": "\u0000", "custom": true, "schema": {"type": "array", "items": "array", "customId": "x"}}]`), true)
	f.Add([]byte(`[{"id": "customfield_2", "schema": {"type": 5}}, {"id": "customfield_2", "name": "dup"}, {"id": 3}, {}]`), true)
	f.Add([]byte(`[{"id": "key", "custom": true}, {"id": "fields", "custom": true, "name": "fields"}, {"id": "customfield_", "custom": true}]`), true)
	schemas, err := smallSchemas()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte, flatten bool) {
		if len(data) > 4<<10 {
			return // each run compiles the issues schema: keep inputs small
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var raw []jira.Record
		if dec.Decode(&raw) != nil {
			return
		}
		fields := jira.ParseFields(raw)
		cat, err := Discover(schemas, fields, flatten)
		if err != nil {
			t.Fatalf("discovery failed: %v", err)
		}
		cat.Stream("issues").Root().Selected = new(true)
		var buf bytes.Buffer
		if err := singer.WriteCatalog(&buf, cat); err != nil {
			t.Fatal(err)
		}
		parsed, err := singer.ParseCatalog(&buf)
		if err != nil {
			t.Fatalf("the catalog does not parse back: %v", err)
		}
		plan, err := Plan(parsed, schemas, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatalf("the discovered catalog does not plan: %v", err)
		}
		is := plan[0]
		rec := map[string]any{"id": "1", "updated": "2026-01-02T03:04:05.000Z", "fields": map[string]any{}}
		for _, c := range is.custom {
			rec["fields"].(map[string]any)[c.ID] = nil
		}
		encoded, err := json.Marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		if rec, err = jira.DecodeRecord(encoded); err != nil {
			t.Fatal(err)
		}
		em := NewEmitter(singer.NewWriter(&bytes.Buffer{}), slog.New(slog.DiscardHandler), fixedNow)
		if _, _, err := em.Prepare(is, rec); err != nil {
			t.Fatalf("a record of null custom fields is refused: %v", err)
		}
	})
}

// smallSchemas are minimal schemas of every stream, so that a fuzz run,
// which compiles the issues schema, is quick.
func smallSchemas() (map[string]*schema.Schema, error) {
	out := map[string]*schema.Schema{}
	str := map[string]any{"type": []any{"null", "string"}}
	for _, st := range streams.All() {
		props := map[string]any{}
		for _, k := range append(slices.Clone(st.KeyProperties), st.ReplicationKey) {
			if k != "" {
				props[k] = str
			}
		}
		if st.Name == "issues" {
			props["fields"] = map[string]any{"type": []any{"null", "object"}, "properties": map[string]any{"summary": str, "updated": str}}
		}
		s, err := schema.Compile(st.Name, map[string]any{"type": "object", "properties": props})
		if err != nil {
			return nil, err
		}
		out[st.Name] = s
	}
	return out, nil
}
