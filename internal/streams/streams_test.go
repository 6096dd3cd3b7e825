package streams

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tap-jira/tap-jira/internal/jira"
)

func TestIssuesJQL(t *testing.T) {
	t.Parallel()
	la, _ := time.LoadLocation("America/Los_Angeles")
	kolkata, _ := time.LoadLocation("Asia/Kolkata")
	at := func(s string) time.Time {
		ts, err := time.Parse(time.RFC3339Nano, s)
		require.NoError(t, err)
		return ts
	}
	cases := []struct {
		name     string
		bookmark time.Time
		loc      *time.Location
		projects []string
		extra    string
		want     string
	}{
		{"utc, seconds dropped", at("2026-03-08T09:59:59.999Z"), time.UTC, nil, "",
			`updated >= "2026-03-08 09:59" ORDER BY updated ASC, id ASC`},
		{"los angeles before spring-forward", at("2026-03-08T09:59:59Z"), la, nil, "",
			`updated >= "2026-03-08 01:59" ORDER BY updated ASC, id ASC`},
		{"los angeles after spring-forward", at("2026-03-08T10:00:30Z"), la, nil, "",
			`updated >= "2026-03-08 03:00" ORDER BY updated ASC, id ASC`},
		{"los angeles, second 01:30 of fall-back", at("2026-11-01T09:30:10Z"), la, nil, "",
			`updated >= "2026-11-01 01:30" ORDER BY updated ASC, id ASC`},
		{"kolkata half-hour offset", at("2026-01-01T00:00:00Z"), kolkata, nil, "",
			`updated >= "2026-01-01 05:30" ORDER BY updated ASC, id ASC`},
		{"projects and extra jql", at("2026-01-01T00:00:00Z"), time.UTC, []string{"ALPHA", "BETA"}, "issuetype != Epic",
			`updated >= "2026-01-01 00:00" AND project in (ALPHA, BETA) AND (issuetype != Epic) ORDER BY updated ASC, id ASC`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, IssuesJQL(tc.bookmark, tc.loc, tc.projects, tc.extra))
		})
	}
}

func TestNormalizeVersion(t *testing.T) {
	t.Parallel()
	v := jira.Record{"id": "1", "releaseDate": "2026-01-12", "userReleaseDate": "12/Jan/26", "userStartDate": "01/Jan/26"}
	normalizeVersion(v)
	assert.Equal(t, "2026-01-12T00:00:00.000Z", v["releaseDate"])
	assert.Equal(t, "2026-01-12T00:00:00.000Z", v["userReleaseDate"])
	assert.NotContains(t, v, "userStartDate", "a display date without its plain date cannot be trusted")
}

func TestEmbedded(t *testing.T) {
	t.Parallel()
	dec := func(s string) any {
		d := json.NewDecoder(bytes.NewReader([]byte(s)))
		d.UseNumber()
		var v any
		require.NoError(t, d.Decode(&v))
		return v
	}
	items, complete := embedded(dec(`{"comments":[{"id":"1"}],"total":1}`), "comments")
	assert.Len(t, items, 1)
	assert.True(t, complete)
	_, complete = embedded(dec(`{"comments":[{"id":"1"}],"total":21}`), "comments")
	assert.False(t, complete, "total above what was sent: fetch the rest")
	_, complete = embedded(dec(`{"comments":[]}`), "comments")
	assert.False(t, complete, "no total: do not trust it")
	_, complete = embedded(nil, "comments")
	assert.False(t, complete)
}

type recorder struct{ n map[string]int }

func (r *recorder) Wants(string) bool { return true }
func (r *recorder) Record(stream string, _ jira.Record) error {
	r.n[stream]++
	return nil
}
func (r *recorder) Checkpoint() error { return nil }
func (r *recorder) Prepare(stream string, rec jira.Record) (Prepared, error) {
	return Prepared{Stream: stream}, nil
}
func (r *recorder) Write(p Prepared) error { return r.Record(p.Stream, nil) }

// FuzzIssueShape runs the per-issue shaping on arbitrary JSON: whatever Jira
// sends, it errors or succeeds, never panics.
func FuzzIssueShape(f *testing.F) {
	f.Add([]byte(`{"id":"1","fields":{"updated":"2026-01-02T03:04:05.000+0000","comment":{"comments":[{"id":"2"}],"total":1}},"transitions":[{"id":"11"}],"changelog":{"histories":[],"total":0}}`))
	f.Add([]byte(`{"id":1,"fields":null,"transitions":"x"}`))
	f.Add([]byte(`{"releaseDate":"2026-01-12","userReleaseDate":5}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d := json.NewDecoder(bytes.NewReader(data))
		d.UseNumber()
		var is jira.Record
		if d.Decode(&is) != nil || is == nil {
			return
		}
		fields, _ := is["fields"].(map[string]any)
		embedded(fields["comment"], "comments")
		embedded(is["changelog"], "histories")
		items, _ := is["transitions"].([]any)
		_, _ = prepareAll(&recorder{n: map[string]int{}}, nil, "issue_transitions", "1", items)
		if updated, err := issueUpdated(is); err == nil {
			rec := issueRecord(is, updated)
			if rec["updated"] != jira.FormatTime(updated) {
				t.Fatalf("updated not copied to the top level")
			}
		}
		normalizeVersion(is)
		jira.NormalizeTimes(is)
	})
}
