package state_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tap-jira/tap-jira/internal/state"
)

var streams = []string{"projects", "users", "issues", "worklogs"}

const singerIOSample = `{"currently_syncing": "issues",
 "bookmarks": {"issues":   {"updated": "2026-10-21T12:00:23.738000Z", "offset": {"page_num": "CAEaAggD"}},
               "worklogs": {"updated": "2026-10-20T10:00:23.738000Z"}}}`

func parse(t *testing.T, doc string) (*state.State, []string) {
	t.Helper()
	s, warnings, err := state.Parse(strings.NewReader(doc), streams)
	require.NoError(t, err)
	require.NotNil(t, s)
	require.NotNil(t, s.Bookmarks)
	return s, warnings
}

func toJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		doc  string
	}{
		{"singer-io sample", singerIOSample},
		{"page_num null", `{"currently_syncing": null, "bookmarks": {"issues": {"updated": "2026-10-21T12:00:23.738000Z", "offset": {"page_num": null}}}}`},
		{"page_num number", `{"currently_syncing": "worklogs", "bookmarks": {"issues": {"updated": "2026-10-21T12:00:23.738000Z", "offset": {"page_num": 150}}}}`},
		{"big and fractional numbers kept verbatim", `{"currently_syncing": null, "bookmarks": {"issues": {"updated": "2026-10-21T12:00:23.738000Z", "n": 12345678901234567890, "f": 1.50}}}`},
		{"no bookmarks", `{"currently_syncing": null, "bookmarks": {}}`},
		{"offset without updated", `{"currently_syncing": "issues", "bookmarks": {"issues": {"offset": {"page_num": "tok"}}}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, warnings := parse(t, tc.doc)
			assert.Empty(t, warnings)
			got := toJSON(t, s.Value())
			assert.JSONEq(t, tc.doc, got)
			if strings.Contains(tc.doc, "12345678901234567890") {
				assert.Contains(t, got, "12345678901234567890")
				assert.Contains(t, got, "1.50")
			}
		})
	}
}

func TestParseSample(t *testing.T) {
	t.Parallel()
	s, warnings := parse(t, singerIOSample)
	assert.Empty(t, warnings)
	assert.Equal(t, "issues", s.CurrentlySyncing)
	assert.Equal(t, time.Date(2026, 10, 21, 12, 0, 23, 738_000_000, time.UTC), s.Updated("issues"))
	assert.Equal(t, time.Date(2026, 10, 20, 10, 0, 23, 738_000_000, time.UTC), s.Updated("worklogs"))
	assert.True(t, s.Updated("users").IsZero())
	assert.Equal(t, map[string]any{"offset": map[string]any{"page_num": "CAEaAggD"}}, s.Bookmarks["issues"].Extra)
}

func TestParseTimestamps(t *testing.T) {
	t.Parallel()
	want := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
		out  string
	}{
		{"2026-01-02T03:04:05Z", want, "2026-01-02T03:04:05.000000Z"},
		{"2026-01-02T03:04:05.000000Z", want, "2026-01-02T03:04:05.000000Z"},
		{"2026-01-02T03:04:05.123Z", want.Add(123 * time.Millisecond), "2026-01-02T03:04:05.123000Z"},
		{"2026-01-02T05:04:05+02:00", want, "2026-01-02T03:04:05.000000Z"},
		{"2026-01-01T22:04:05.5-05:00", want.Add(500 * time.Millisecond), "2026-01-02T03:04:05.500000Z"},
		{"2026-01-02T03:04:05.000+0000", want, "2026-01-02T03:04:05.000000Z"},
		{"2026-01-02T13:04:05.250+1000", want.Add(250 * time.Millisecond), "2026-01-02T03:04:05.250000Z"},
		{"2026-01-02T03:04:05", want, "2026-01-02T03:04:05.000000Z"},
		{"2026-01-02T03:04:05.1234567Z", want.Add(123456700), "2026-01-02T03:04:05.123456Z"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			s, _ := parse(t, `{"bookmarks": {"issues": {"updated": "`+tc.in+`"}}}`)
			got := s.Updated("issues")
			assert.Equal(t, tc.want, got)
			assert.Equal(t, time.UTC, got.Location())
			assert.Equal(t, tc.out, s.Value()["bookmarks"].(map[string]any)["issues"].(map[string]any)["updated"])
		})
	}
}

func TestParseCorrupt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		doc  string
		want string
	}{
		{"malformed", "{\n  \"bookmarks\": {\n    \"issues\": {\"updated\": 2026-10-21}\n  }\n}", "malformed JSON at line 3, column 31"},
		{"missing comma", `{"currently_syncing": null "bookmarks": {}}`, "malformed JSON at line 1, column 28"},
		{"truncated", "{\"bookmarks\": {\"issues\": {\"updated\": \"2026-10-21", "unexpected end of JSON at line 1, column 49"},
		{"truncated multiline", "{\"bookmarks\": {\n  \"issues\": {}\n", "unexpected end of JSON at line 2, column 15"},
		{"trailing data", `{"bookmarks": {}} {"bookmarks": {}}`, "unexpected data after the top-level object"},
		{"top level array", `[{"bookmarks": {}}]`, "must be a JSON object, got array"},
		{"top level string", `"issues"`, "must be a JSON object, got string"},
		{"top level null", `null`, "must be a JSON object, got null"},
		{"bookmarks array", `{"bookmarks": []}`, "bookmarks: must be an object of stream bookmarks, got array"},
		{"bookmarks string", `{"bookmarks": "issues"}`, "bookmarks: must be an object of stream bookmarks, got string"},
		{"bookmark string", `{"bookmarks": {"issues": "2026-10-21T12:00:23Z"}}`, "bookmarks.issues: must be an object, got string"},
		{"bookmark number", `{"bookmarks": {"worklogs": 5}}`, "bookmarks.worklogs: must be an object, got number"},
		{"updated number", `{"bookmarks": {"issues": {"updated": 1700000000000}}}`, "bookmarks.issues.updated: must be a timestamp string, got number"},
		{"updated object", `{"bookmarks": {"issues": {"updated": {}}}}`, "bookmarks.issues.updated: must be a timestamp string, got object"},
		{"updated unparsable", `{"bookmarks": {"issues": {"updated": "last tuesday"}}}`, `bookmarks.issues.updated: "last tuesday" is not a timestamp`},
		{"updated date only", `{"bookmarks": {"issues": {"updated": "2026-10-21"}}}`, `"2026-10-21" is not a timestamp`},
		{"updated out of range", `{"bookmarks": {"issues": {"updated": "9999-12-31T23:00:00-02:00"}}}`, "is not a timestamp"},
		{"unknown stream still checked", `{"bookmarks": {"sprints": {"updated": "x"}}}`, `bookmarks.sprints.updated: "x" is not a timestamp`},
		{"scope not a string", `{"bookmarks": {"issues": {"scope": 5}}}`, "bookmarks.issues.scope: must be a string"},
		{"streams not a list", `{"bookmarks": {"issues": {"streams": "issues"}}}`, "bookmarks.issues.streams: must be a list of stream names"},
		{"streams of numbers", `{"bookmarks": {"issues": {"streams": [1]}}}`, "bookmarks.issues.streams: must be a list of stream names"},
		{"backfill a list", `{"bookmarks": {"issues": {"backfill": []}}}`, `bookmarks.issues.backfill: must be an object {"streams": [...], "updated": ...}`},
		{"backfill without streams", `{"bookmarks": {"issues": {"backfill": {"updated": "2026-10-21T12:00:00Z"}}}}`, "bookmarks.issues.backfill: streams: must be a list of stream names"},
		{"backfill without updated", `{"bookmarks": {"issues": {"backfill": {"streams": ["changelogs"]}}}}`, "bookmarks.issues.backfill: updated: must be a timestamp string"},
		{"backfill updated unparsable", `{"bookmarks": {"issues": {"backfill": {"streams": [], "updated": "soon"}}}}`, `bookmarks.issues.backfill: updated: "soon" is not a timestamp`},
		{"currently_syncing number", `{"currently_syncing": 7, "bookmarks": {}}`, "currently_syncing: must be a stream name or null, got number"},
		{"currently_syncing object", `{"currently_syncing": {}, "bookmarks": {}}`, "currently_syncing: must be a stream name or null, got object"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, warnings, err := state.Parse(strings.NewReader(tc.doc), streams)
			require.Error(t, err)
			assert.Nil(t, s)
			assert.Nil(t, warnings)
			var serr *state.Error
			require.ErrorAs(t, err, &serr)
			assert.True(t, strings.HasPrefix(err.Error(), "state: "), err.Error())
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestParseReadError(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	_, _, err := state.Parse(iotest.ErrReader(boom), streams)
	require.ErrorIs(t, err, boom)
	assert.Contains(t, err.Error(), "reading state")
}

func TestParseBestEffort(t *testing.T) {
	t.Parallel()
	issues := time.Date(2026, 10, 21, 12, 0, 23, 738_000_000, time.UTC)
	tests := []struct {
		name     string
		doc      string
		issues   time.Time // expected Updated("issues")
		warnings []string  // phrases, one per expected warning, in order
		value    string    // expected Value as JSON; "" to skip
	}{
		{
			name:     "empty document",
			doc:      "",
			warnings: []string{"state document is empty"},
			value:    `{"currently_syncing": null, "bookmarks": {}}`,
		},
		{
			name:     "whitespace document",
			doc:      " \n\t\r\n",
			warnings: []string{"state document is empty"},
		},
		{
			name: "empty object",
			doc:  `{}`,
		},
		{
			name:  "null bookmarks and bookmark",
			doc:   `{"bookmarks": {"issues": null}, "currently_syncing": null}`,
			value: `{"currently_syncing": null, "bookmarks": {}}`,
		},
		{
			name:     "unknown top-level key",
			doc:      `{"bookmarks": {"issues": {"updated": "2026-10-21T12:00:23.738Z"}}, "version": 2}`,
			issues:   issues,
			warnings: []string{`ignoring unknown state key "version"`},
		},
		{
			name:     "unknown stream",
			doc:      `{"bookmarks": {"issues": {"updated": "2026-10-21T12:00:23.738Z"}, "sprints": {"updated": "2026-01-01T00:00:00Z"}}}`,
			issues:   issues,
			warnings: []string{`bookmark for stream "sprints", which tap-jira does not have`},
			value:    `{"currently_syncing": null, "bookmarks": {"issues": {"updated": "2026-10-21T12:00:23.738000Z"}, "sprints": {"updated": "2026-01-01T00:00:00.000000Z"}}}`,
		},
		{
			name:     "meltano sdk shape",
			doc:      `{"bookmarks": {"issues": {"replication_key": "updated", "replication_key_value": "2026-10-21T12:00:23.738+0000"}}}`,
			issues:   issues,
			warnings: []string{`bookmark for "issues" is in the Meltano SDK shape`},
			value:    `{"currently_syncing": null, "bookmarks": {"issues": {"updated": "2026-10-21T12:00:23.738000Z"}}}`,
		},
		{
			name:     "meltano sdk shape keeps other keys",
			doc:      `{"bookmarks": {"issues": {"replication_key": "updated", "replication_key_value": "2026-10-21T12:00:23.738Z", "partitions": []}}}`,
			issues:   issues,
			warnings: []string{"Meltano SDK shape"},
			value:    `{"currently_syncing": null, "bookmarks": {"issues": {"updated": "2026-10-21T12:00:23.738000Z", "partitions": []}}}`,
		},
		{
			name:     "meltano sdk shape with another key",
			doc:      `{"bookmarks": {"issues": {"replication_key": "id", "replication_key_value": "10042"}}}`,
			warnings: []string{`uses replication key "id", not "updated"`},
			value:    `{"currently_syncing": null, "bookmarks": {"issues": {"replication_key": "id", "replication_key_value": "10042"}}}`,
		},
		{
			name:     "meltano sdk shape with a bad value",
			doc:      `{"bookmarks": {"issues": {"replication_key": "updated", "replication_key_value": "soon"}}}`,
			warnings: []string{`replication_key_value "soon", which is not a timestamp`},
		},
		{
			name:     "meltano sdk shape with a number",
			doc:      `{"bookmarks": {"issues": {"replication_key_value": 1700000000}}}`,
			warnings: []string{"non-string replication_key_value"},
		},
		{
			name:     "flat singer shape",
			doc:      `{"issues": {"updated": "2026-10-21T12:00:23.738Z"}, "worklogs": "2026-10-20T10:00:23.738Z", "currently_syncing": "issues"}`,
			issues:   issues,
			warnings: []string{`no "bookmarks" object; read top-level keys issues, worklogs as stream bookmarks`},
			value:    `{"currently_syncing": "issues", "bookmarks": {"issues": {"updated": "2026-10-21T12:00:23.738000Z"}, "worklogs": {"updated": "2026-10-20T10:00:23.738000Z"}}}`,
		},
		{
			name:   "flat singer shape with leftovers",
			doc:    `{"issues": {"updated": "2026-10-21T12:00:23.738Z"}, "users": 2, "worklogs": "later", "foo": 1}`,
			issues: issues,
			warnings: []string{
				`ignoring unknown state key "foo"`,
				`ignoring top-level state key "users": expected a bookmark object or timestamp, got number`,
				`ignoring top-level state key "worklogs": "later" is not a timestamp`,
				"read top-level keys issues as stream bookmarks",
			},
			value: `{"currently_syncing": null, "bookmarks": {"issues": {"updated": "2026-10-21T12:00:23.738000Z"}}}`,
		},
		{
			name:   "byte order mark",
			doc:    "\uFEFF" + `{"bookmarks": {"issues": {"updated": "2026-10-21T12:00:23.738Z"}}}`,
			issues: issues,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, warnings := parse(t, tc.doc)
			assert.Equal(t, tc.issues, s.Updated("issues"))
			require.Len(t, warnings, len(tc.warnings), "%q", warnings)
			for i, phrase := range tc.warnings {
				assert.Contains(t, warnings[i], phrase)
			}
			if tc.value != "" {
				assert.JSONEq(t, tc.value, toJSON(t, s.Value()))
			}
		})
	}
}

func TestParseNilKnownStreams(t *testing.T) {
	t.Parallel()
	s, warnings, err := state.Parse(strings.NewReader(`{"bookmarks": {"anything": {"updated": "2026-01-01T00:00:00Z"}}}`), nil)
	require.NoError(t, err)
	assert.Empty(t, warnings)
	assert.Equal(t, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), s.Updated("anything"))
}

func TestAdvance(t *testing.T) {
	t.Parallel()
	base := time.Date(2026, 10, 21, 12, 0, 23, 738_000_000, time.UTC)
	tests := []struct {
		name  string
		start time.Time // zero: no bookmark yet
		to    time.Time
		moved bool
		want  time.Time
	}{
		{"earlier", base, base.Add(-time.Hour), false, base},
		{"equal", base, base, false, base},
		{"equal in another zone", base, base.In(time.FixedZone("X", 3600)), false, base},
		{"later", base, base.Add(time.Millisecond), true, base.Add(time.Millisecond)},
		{"zero", base, time.Time{}, false, base},
		{"first bookmark", time.Time{}, base, true, base},
		{"zero without bookmark", time.Time{}, time.Time{}, false, time.Time{}},
		{"later in another zone is stored as UTC", base, base.Add(time.Hour).In(time.FixedZone("X", -7200)), true, base.Add(time.Hour)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := state.New()
			if !tc.start.IsZero() {
				require.True(t, s.Advance("issues", tc.start))
			}
			assert.Equal(t, tc.moved, s.Advance("issues", tc.to))
			got := s.Updated("issues")
			assert.Equal(t, tc.want, got)
			if !got.IsZero() {
				assert.Equal(t, time.UTC, got.Location())
			}
		})
	}
}

func TestAdvanceKeepsExtra(t *testing.T) {
	t.Parallel()
	s, _ := parse(t, singerIOSample)
	require.True(t, s.Advance("issues", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)))
	assert.JSONEq(t, `{"currently_syncing": "issues", "bookmarks": {
		"issues": {"updated": "2026-11-01T00:00:00.000000Z", "offset": {"page_num": "CAEaAggD"}},
		"worklogs": {"updated": "2026-10-20T10:00:23.738000Z"}}}`, toJSON(t, s.Value()))

	zero := &state.State{} // a literal without a map must not panic
	assert.True(t, zero.Advance("worklogs", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)))
	assert.False(t, zero.Updated("worklogs").IsZero())
}

func TestValueDeepCopy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(s *state.State)
	}{
		{"advance", func(s *state.State) { s.Advance("issues", time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)) }},
		{"nested extra", func(s *state.State) {
			s.Bookmarks["issues"].Extra["offset"].(map[string]any)["page_num"] = "changed"
		}},
		{"new bookmark", func(s *state.State) { s.Advance("users", time.Now()) }},
		{"currently syncing", func(s *state.State) { s.CurrentlySyncing = "worklogs" }},
		{"delete bookmark", func(s *state.State) { delete(s.Bookmarks, "worklogs") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, _ := parse(t, singerIOSample)
			v := s.Value()
			before := toJSON(t, v)
			tc.mutate(s)
			assert.JSONEq(t, before, toJSON(t, v))
			assert.NotEqual(t, before, toJSON(t, s.Value()), "the mutation should show in a new Value")

			// And the other way round: changing a Value leaves s alone.
			v2 := s.Value()
			after := toJSON(t, v2)
			v2["bookmarks"].(map[string]any)["issues"].(map[string]any)["offset"].(map[string]any)["page_num"] = "x"
			assert.JSONEq(t, after, toJSON(t, s.Value()))
		})
	}
}

func TestClone(t *testing.T) {
	t.Parallel()
	s, _ := parse(t, singerIOSample)
	c := s.Clone()
	assert.Equal(t, s.Value(), c.Value())

	c.CurrentlySyncing = "worklogs"
	c.Advance("issues", time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	c.Bookmarks["issues"].Extra["offset"].(map[string]any)["page_num"] = "changed"
	assert.JSONEq(t, singerIOSample, toJSON(t, s.Value()))
}

func TestNew(t *testing.T) {
	t.Parallel()
	s := state.New()
	require.NotNil(t, s.Bookmarks)
	assert.JSONEq(t, `{"currently_syncing": null, "bookmarks": {}}`, toJSON(t, s.Value()))
}

func TestStreamsAndBackfill(t *testing.T) {
	t.Parallel()
	s := state.New()
	_, ok := s.Streams("issues")
	assert.False(t, ok, "no bookmark says nothing of its streams")
	names, at := s.Backfill("issues")
	assert.Nil(t, names)
	assert.True(t, at.IsZero())

	s.SetStreams("issues", []string{"issues", "changelogs"})
	at0 := time.Date(2026, 3, 4, 5, 6, 7, 8000000, time.FixedZone("x", 3600))
	s.SetBackfill("issues", []string{"issue_status_history", "issue_comments"}, at0)
	var out bytes.Buffer
	require.NoError(t, json.NewEncoder(&out).Encode(s.Value()))
	assert.JSONEq(t, `{"currently_syncing": null, "bookmarks": {"issues": {"streams": ["changelogs", "issues"],
		"backfill": {"streams": ["issue_comments", "issue_status_history"], "updated": "2026-03-04T04:06:07.008000Z"}}}}`, out.String(), "sorted names, the time in UTC")

	// What a run wrote, the next reads.
	back, _, err := state.Parse(&out, streams)
	require.NoError(t, err)
	covered, ok := back.Streams("issues")
	require.True(t, ok)
	assert.Equal(t, []string{"changelogs", "issues"}, covered)
	names, at = back.Backfill("issues")
	assert.Equal(t, []string{"issue_comments", "issue_status_history"}, names)
	assert.True(t, at.Equal(at0))
	assert.True(t, back.Updated("issues").IsZero(), "neither moves the bookmark")

	_, ok = back.Scope("issues")
	assert.False(t, ok)
	back.SetScope("issues", "sha256:0123")
	scope, ok := back.Scope("issues")
	assert.True(t, ok)
	assert.Equal(t, "sha256:0123", scope)

	back.SetBackfill("issues", nil, time.Time{})
	names, _ = back.Backfill("issues")
	assert.Nil(t, names, "no streams ends the pass")
	assert.NotContains(t, back.Value()["bookmarks"].(map[string]any)["issues"], "backfill")
	back.SetStreams("issues", nil)
	covered, ok = back.Streams("issues")
	assert.True(t, ok, "an empty list says none is covered")
	assert.Empty(t, covered)
}
