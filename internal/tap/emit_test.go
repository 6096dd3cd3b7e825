package tap

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tap-jira/tap-jira/internal/jira"
	"github.com/tap-jira/tap-jira/internal/schema"
	"github.com/tap-jira/tap-jira/internal/singer"
	"github.com/tap-jira/tap-jira/internal/singer/singertest"
	"github.com/tap-jira/tap-jira/internal/streams"
)

var fixedNow = func() time.Time { return time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC) }

func bundled(t *testing.T) map[string]*schema.Schema {
	t.Helper()
	s, err := schema.Bundled()
	require.NoError(t, err)
	return s
}

// sample returns the realistic sample record of a stream, decoded as the
// tap decodes Jira pages.
func sample(t *testing.T, stream string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "schema", "testdata", "samples", stream+".json"))
	require.NoError(t, err)
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var rec map[string]any
	require.NoError(t, dec.Decode(&rec))
	return rec
}

// discovered returns the discovery catalog with the given streams selected.
func discovered(t *testing.T, selected ...string) *singer.Catalog {
	t.Helper()
	cat, err := Discover(bundled(t), nil, false)
	require.NoError(t, err)
	for _, name := range selected {
		s := cat.Stream(name)
		require.NotNil(t, s, name)
		s.Root().Selected = new(true)
	}
	return cat
}

func deselect(t *testing.T, cat *singer.Catalog, stream string, field ...string) {
	t.Helper()
	s := cat.Stream(stream)
	for i := range s.Metadata {
		bc := s.Metadata[i].Breadcrumb
		if len(bc) == 2 && bc[1] == field[0] && len(field) == 1 {
			s.Metadata[i].Metadata.Selected = new(false)
			return
		}
	}
	// A nested field: add an entry as a user's catalog tool would.
	bc := []string{}
	for _, f := range field {
		bc = append(bc, "properties", f)
	}
	s.Metadata = append(s.Metadata, singer.MetadataEntry{Breadcrumb: bc, Metadata: singer.Metadata{Selected: new(false)}})
}

func TestPlan(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))

	cat := discovered(t, "worklogs", "projects", "issue_comments")
	cat.Streams = append(cat.Streams, &singer.CatalogStream{TapStreamID: "sprints", Metadata: []singer.MetadataEntry{}})
	plan, err := Plan(cat, bundled(t), log)
	require.NoError(t, err)
	var names []string
	for _, p := range plan {
		names = append(names, p.Stream.Name)
	}
	assert.Equal(t, []string{"projects", "issue_comments", "worklogs"}, names, "selected streams only, in sync order")
	assert.Contains(t, logs.String(), "sprints")

	cat.Stream("sprints").Metadata = []singer.MetadataEntry{{Breadcrumb: []string{}, Metadata: singer.Metadata{Selected: new(true)}}}
	_, err = Plan(cat, bundled(t), log)
	var ue *UsageError
	require.ErrorAs(t, err, &ue)
	assert.Contains(t, err.Error(), "sprints")

	plan, err = Plan(discovered(t), bundled(t), log)
	require.NoError(t, err)
	assert.Empty(t, plan, "discovery selects nothing")
}

// TestEmitSelection syncs one sample record of every stream through the
// emitter with some streams and fields deselected, then checks the output
// field by field and with singer-check.
func TestEmitSelection(t *testing.T) {
	t.Parallel()
	all := streams.Names()
	selected := []string{}
	for _, n := range all {
		if n != "roles" && n != "project_types" {
			selected = append(selected, n)
		}
	}
	cat := discovered(t, selected...)
	deselect(t, cat, "issues", "self")
	deselect(t, cat, "issues", "fields", "description")
	deselect(t, cat, "issues", "id") // automatic: stays
	deselect(t, cat, "worklogs", "comment")
	deselect(t, cat, "worklogs", "updated") // replication key: automatic, stays
	deselect(t, cat, "users", "emailAddress")

	var logs, out bytes.Buffer
	plan, err := Plan(cat, bundled(t), slog.New(slog.NewTextHandler(&logs, nil)))
	require.NoError(t, err)
	w := singer.NewWriter(&out)
	em := NewEmitter(w, slog.New(slog.NewTextHandler(&logs, nil)), fixedNow)
	for _, p := range plan {
		require.NoError(t, em.Schema(p))
		rec := sample(t, p.Stream.Name)
		require.NoError(t, em.Record(p, rec), p.Stream.Name)
	}
	require.NoError(t, w.WriteState(map[string]any{"bookmarks": map[string]any{}}))
	require.NoError(t, w.Flush())

	records := map[string]map[string]any{}
	schemas := map[string]map[string]any{}
	for line := range strings.SplitSeq(strings.TrimSuffix(out.String(), "\n"), "\n") {
		var msg struct {
			Type   string         `json:"type"`
			Stream string         `json:"stream"`
			Record map[string]any `json:"record"`
			Schema map[string]any `json:"schema"`
		}
		require.NoError(t, json.Unmarshal([]byte(line), &msg))
		switch msg.Type {
		case "RECORD":
			records[msg.Stream] = msg.Record
		case "SCHEMA":
			schemas[msg.Stream] = msg.Schema["properties"].(map[string]any)
		}
	}
	assert.NotContains(t, records, "roles", "deselected stream")
	assert.NotContains(t, records, "project_types", "deselected stream")
	assert.NotContains(t, schemas, "roles")
	assert.Len(t, records, len(selected))

	issue := records["issues"]
	assert.NotContains(t, issue, "self")
	assert.NotContains(t, schemas["issues"], "self")
	assert.Contains(t, issue, "id", "automatic field is always emitted")
	assert.Contains(t, issue, "updated", "replication key is always emitted")
	assert.Contains(t, issue, "key")
	fields := issue["fields"].(map[string]any)
	assert.NotContains(t, fields, "description")
	assert.Contains(t, fields, "summary")
	assert.NotContains(t, schemas["issues"]["fields"].(map[string]any)["properties"], "description")

	assert.NotContains(t, records["worklogs"], "comment")
	assert.Contains(t, records["worklogs"], "updated")
	assert.NotContains(t, records["users"], "emailAddress")
	assert.Contains(t, records["users"], "accountId")

	singertest.Check(t, "sync", "--messages", writeTemp(t, "out.jsonl", out.Bytes()), "--catalog", writeCatalog(t, cat))
}

func TestEmitNormalizesJiraTimestamps(t *testing.T) {
	t.Parallel()
	plan, err := Plan(discovered(t, "issues"), bundled(t), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	var out bytes.Buffer
	w := singer.NewWriter(&out)
	em := NewEmitter(w, slog.New(slog.DiscardHandler), fixedNow)
	// From Jira's bytes, as the tap reads them: the jira package normalizes
	// while decoding and the emitter relies on it.
	rec := sample(t, "issues")
	fields := rec["fields"].(map[string]any)
	fields["updated"] = "2026-11-27T10:15:30.123-0800"
	rec["updated"] = "2026-11-27T10:15:30.123-0800"
	fields["customfield_99999"] = "2026-01-02T03:04:05.000+0100"
	raw, err := json.Marshal(rec)
	require.NoError(t, err)
	rec, err = jira.DecodeRecord(raw)
	require.NoError(t, err)
	require.NoError(t, em.Record(plan[0], rec))
	require.NoError(t, w.Flush())
	var msg struct {
		Record        map[string]any `json:"record"`
		TimeExtracted string         `json:"time_extracted"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &msg))
	assert.Equal(t, "2026-11-27T18:15:30.123Z", msg.Record["updated"])
	f := msg.Record["fields"].(map[string]any)
	assert.Equal(t, "2026-11-27T18:15:30.123Z", f["updated"])
	assert.Equal(t, "2026-01-02T02:04:05.000Z", f["customfield_99999"], "custom fields are normalized too")
	assert.Equal(t, "2026-11-28T12:00:00.000Z", msg.TimeExtracted)
}

func TestEmitRefusesBadRecords(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		stream string
		mutate func(map[string]any)
		want   []string
	}{
		{"missing key", "issues", func(r map[string]any) { delete(r, "id") }, []string{"issues", `"id"`}},
		{"null key", "issue_transitions", func(r map[string]any) { r["issueId"] = nil }, []string{"issue_transitions", `"issueId"`}},
		{"wrong type", "worklogs", func(r map[string]any) { r["timeSpentSeconds"] = "an hour" }, []string{"worklogs", "/timeSpentSeconds"}},
		{"unparsable timestamp", "issue_comments", func(r map[string]any) { r["created"] = "yesterday" }, []string{"issue_comments", "/created"}},
		{"not a number, not encodable", "worklogs", func(r map[string]any) { r["timeSpentSeconds"] = json.Number("1x") }, []string{"worklogs", "/timeSpentSeconds"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			plan, err := Plan(discovered(t, tc.stream), bundled(t), slog.New(slog.DiscardHandler))
			require.NoError(t, err)
			var out bytes.Buffer
			w := singer.NewWriter(&out)
			em := NewEmitter(w, slog.New(slog.DiscardHandler), fixedNow)
			rec := sample(t, tc.stream)
			tc.mutate(rec)
			err = em.Record(plan[0], rec)
			require.ErrorIs(t, err, ErrInvalidRecord)
			for _, want := range tc.want {
				assert.Contains(t, err.Error(), want)
			}
			require.NoError(t, w.Flush())
			assert.Empty(t, out.String(), "an invalid record is never emitted")
		})
	}
}

// TestEmitJudgesWhatItEmits: a record is judged after field selection,
// as the target gets it; a value it does not carry cannot fail it.
func TestEmitJudgesWhatItEmits(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		field []string
	}{
		{"top level", []string{"timeSpentSeconds"}},
		{"nested", []string{"author", "displayName"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cat := discovered(t, "worklogs")
			deselect(t, cat, "worklogs", tc.field...)
			plan, err := Plan(cat, bundled(t), slog.New(slog.DiscardHandler))
			require.NoError(t, err)
			var out bytes.Buffer
			w := singer.NewWriter(&out)
			em := NewEmitter(w, slog.New(slog.DiscardHandler), fixedNow)
			bad := func() map[string]any {
				rec := sample(t, "worklogs")
				parent := rec
				for _, f := range tc.field[:len(tc.field)-1] {
					parent = parent[f].(map[string]any)
				}
				parent[tc.field[len(tc.field)-1]] = []any{"not what the schema says"}
				return rec
			}
			require.NoError(t, em.Record(plan[0], bad()))
			require.NoError(t, w.Flush())
			assert.NotContains(t, out.String(), "not what the schema says")

			// Selected, the same value fails the record.
			plan, err = Plan(discovered(t, "worklogs"), bundled(t), slog.New(slog.DiscardHandler))
			require.NoError(t, err)
			require.ErrorIs(t, em.Record(plan[0], bad()), ErrInvalidRecord)
		})
	}
}

func TestEmitDropsUndeclaredFieldsLoudly(t *testing.T) {
	t.Parallel()
	plan, err := Plan(discovered(t, "resolutions"), bundled(t), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	var out, logs bytes.Buffer
	w := singer.NewWriter(&out)
	em := NewEmitter(w, slog.New(slog.NewTextHandler(&logs, nil)), fixedNow)
	for range 3 {
		rec := sample(t, "resolutions")
		rec["brandNewJiraField"] = true
		require.NoError(t, em.Record(plan[0], rec))
	}
	require.NoError(t, w.Flush())
	assert.NotContains(t, out.String(), "brandNewJiraField")
	assert.Equal(t, 1, strings.Count(logs.String(), "brandNewJiraField"), "warned once per field: %s", logs.String())
}

func TestEmitPropagatesWriteErrors(t *testing.T) {
	t.Parallel()
	plan, err := Plan(discovered(t, "projects"), bundled(t), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	broken := errors.New("broken pipe")
	w := singer.NewWriter(failing{broken})
	em := NewEmitter(w, slog.New(slog.DiscardHandler), fixedNow)
	require.NoError(t, em.Schema(plan[0]))
	require.ErrorIs(t, w.Flush(), broken)
	require.ErrorIs(t, em.Record(plan[0], sample(t, "projects")), broken)
}

type failing struct{ err error }

func (f failing) Write([]byte) (int, error) { return 0, f.err }

func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, data, 0o600))
	return p
}

func writeCatalog(t *testing.T, cat *singer.Catalog) string {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, singer.WriteCatalog(&buf, cat))
	return writeTemp(t, "catalog.json", buf.Bytes())
}

// BenchmarkRecord measures the CPU a record costs the tap from Jira's bytes
// to the RECORD line: decoding, timestamp normalization, validation,
// selection and encoding, for a sample of each issue-side stream.
func BenchmarkRecord(b *testing.B) {
	byName := everyStream(b)
	w := singer.NewWriter(discard{})
	em := NewEmitter(w, slog.New(slog.DiscardHandler), fixedNow)
	// Each record is decoded with the shape its pages are decoded with.
	shapes := map[string]*jira.Shape{"issues": jira.IssueRecord, "issue_comments": jira.ChildRecord,
		"changelogs": jira.ChangelogRecord, "issue_transitions": jira.ChildRecord, "worklogs": jira.ChildRecord}
	for _, stream := range []string{"issues", "issue_comments", "changelogs", "issue_transitions", "worklogs"} {
		indented, err := os.ReadFile(filepath.Join("..", "schema", "testdata", "samples", stream+".json"))
		require.NoError(b, err)
		// The samples are indented for reading; Jira's bodies are compact.
		var compact bytes.Buffer
		require.NoError(b, json.Compact(&compact, indented))
		data := compact.Bytes()
		b.Run(stream, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				rec, err := jira.DecodeRecordShaped(data, shapes[stream])
				if err != nil {
					b.Fatal(err)
				}
				if err := em.Record(byName[stream], rec); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func TestRecordKeyNamesTheRecord(t *testing.T) {
	t.Parallel()
	one := streams.Stream{Name: "issues", KeyProperties: []string{"id"}}
	two := streams.Stream{Name: "pairs", KeyProperties: []string{"issueId", "id"}}
	for _, c := range []struct {
		name   string
		st     streams.Stream
		record map[string]any
		want   string // "" for an error
	}{
		{"a string", one, map[string]any{"id": "10001"}, "id=10001"},
		{"a number", one, map[string]any{"id": json.Number("42")}, "id=42"},
		{"another type", one, map[string]any{"id": true}, "id=true"},
		{"two keys", two, map[string]any{"issueId": "7", "id": json.Number("9")}, "issueId=7,id=9"},
		{"missing", one, map[string]any{"key": "A-1"}, ""},
		{"null", one, map[string]any{"id": nil}, ""},
		{"one of two missing", two, map[string]any{"id": "9"}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := recordKey(c.st, c.record)
			if c.want == "" {
				require.ErrorIs(t, err, ErrInvalidRecord)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, c.want, got)
		})
	}
}
