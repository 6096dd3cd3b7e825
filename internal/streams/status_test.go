package streams

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tap-jira/tap-jira/internal/jira"
	"github.com/tap-jira/tap-jira/internal/jirasim"
	"github.com/tap-jira/tap-jira/internal/jsonscan"
	"github.com/tap-jira/tap-jira/internal/singer"
)

func TestStatusHistory(t *testing.T) {
	t.Parallel()
	author := func() map[string]any {
		return map[string]any{"accountId": "abc", "avatarUrls": map[string]any{"16x16": "u"}}
	}
	issue := func() jira.Record {
		return jira.Record{"id": "10", "key": "A-1", "fields": map[string]any{
			"created": "2026-01-01T00:00:00.000+0000", "creator": map[string]any{"key": "JIRAUSER1"},
			"status": map[string]any{"id": "3", "name": "In Progress"},
		}}
	}
	status := func(from, to string) map[string]any {
		return map[string]any{"field": "status", "fieldtype": "jira", "fieldId": "status", "from": from, "fromString": "S" + from, "to": to, "toString": "S" + to}
	}
	type row struct{ changelog, from, to, author string }
	for _, tc := range []struct {
		name      string
		histories []any
		want      []row
	}{
		{"never changed: the current status", nil, []row{{"0", "", "3", "JIRAUSER1"}}},
		{"changes, other fields skipped", []any{
			map[string]any{"id": "100", "author": author(), "created": "2026-01-02T00:00:00.000+0000", "items": []any{
				map[string]any{"field": "assignee", "fieldtype": "jira", "fieldId": "assignee"}, status("1", "3")}},
			map[string]any{"id": "101", "author": author(), "created": "2026-01-03T00:00:00.000+0000", "items": []any{
				map[string]any{"field": "labels", "fieldtype": "jira", "fieldId": "labels"}}},
			map[string]any{"id": "102", "author": nil, "created": "2026-01-04T00:00:00.000+0000", "items": []any{status("3", "5")}},
		}, []row{{"0", "", "1", "JIRAUSER1"}, {"100", "1", "3", "abc"}, {"102", "3", "5", ""}}},
		{"newest first as received: sorted by time, then id", []any{
			map[string]any{"id": "102", "author": author(), "created": "2026-01-04T00:00:00.000Z", "items": []any{status("3", "5")}},
			map[string]any{"id": "100", "author": author(), "created": "2026-01-02T00:00:00.000Z", "items": []any{status("1", "3")}},
			map[string]any{"id": "99", "author": author(), "created": "2026-01-02T00:00:00.000Z", "items": []any{status("9", "1")}},
		}, []row{{"0", "", "9", "JIRAUSER1"}, {"99", "9", "1", "abc"}, {"100", "1", "3", "abc"}, {"102", "3", "5", "abc"}}},
		{"ids and times as numbers: text all the same", []any{
			map[string]any{"id": json.Number("9"), "author": author(), "created": "2026-01-03T00:00:00.000Z", "items": []any{status("1", "3")}},
			map[string]any{"id": json.Number("12"), "author": map[string]any{"accountId": nil, "key": "JIRAUSER2"}, "created": "2026-01-03T00:00:00.000Z", "items": []any{status("3", "5")}},
		}, []row{{"0", "", "1", "JIRAUSER1"}, {"9", "1", "3", "abc"}, {"12", "3", "5", "JIRAUSER2"}}},
		{"old Data Center without fieldId", []any{
			map[string]any{"id": "7", "author": author(), "created": "2026-01-02T00:00:00.000+0000", "items": []any{
				map[string]any{"field": "status", "fieldtype": "jira", "from": "1", "to": "2"},
				map[string]any{"field": "status", "fieldtype": "custom", "from": "x", "to": "y"}}},
		}, []row{{"0", "", "1", "JIRAUSER1"}, {"7", "1", "2", "abc"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			recs, err := statusHistory(issue(), "10", tc.histories)
			require.NoError(t, err)
			var got []row
			for _, r := range recs {
				from, _ := r["from"].(string)
				to, _ := r["to"].(string)
				who, _ := r["authorAccountId"].(string)
				got = append(got, row{r["changelogId"].(string), from, to, who})
				assert.Equal(t, "A-1", r["issueKey"])
				assert.Equal(t, r["changelogId"] == InitialChangelogID, r["initial"])
			}
			assert.Equal(t, tc.want, got)
			if len(recs) > 1 {
				// A status record shares its entry's author: field selection
				// on one must not reach the other.
				deselect := singer.NewSelection([]singer.MetadataEntry{{
					Breadcrumb: []string{"properties", "author", "properties", "avatarUrls", "properties", "16x16"},
					Metadata:   singer.Metadata{Selected: new(false)}}})
				deselect.Apply(recs[1])
				assert.NotContains(t, recs[1]["author"].(map[string]any)["avatarUrls"], "16x16")
				assert.Contains(t, tc.histories[0].(map[string]any)["author"].(map[string]any)["avatarUrls"], "16x16")
			}
		})
	}
	_, err := statusHistory(issue(), "10", []any{"not an object"})
	assert.Error(t, err)
}

// TestAccountOf: a status record's author account id, from a user decoded
// or kept raw (a changelog entry's author, an issue's creator), on Cloud
// (accountId) and Data Center (the user key).
func TestAccountOf(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		user any
		want any
	}{
		{"decoded", map[string]any{"accountId": "5b10", "key": "k"}, "5b10"},
		{"decoded, Data Center", map[string]any{"key": "JIRAUSER10100", "name": "ann"}, "JIRAUSER10100"},
		{"decoded, no id", map[string]any{"displayName": "Ann"}, nil},
		{"decoded, id not a string", map[string]any{"accountId": json.Number("1")}, nil},
		{"raw", jsonscan.Raw(`{"accountId":"5b10","active":true,"avatarUrls":{"16x16":"u"}}`), "5b10"},
		{"raw, Data Center", jsonscan.Raw(`{"active":true,"avatarUrls":{"key":"no"},"key":"JIRAUSER10100","name":"ann"}`), "JIRAUSER10100"},
		{"raw, escaped id", jsonscan.Raw(`{"accountId":"a\"b"}`), `a"b`},
		{"raw, escaped id and a key", jsonscan.Raw(`{"accountId":"a\"b","key":"k"}`), `a"b`},
		{"raw, id not a string, and a key", jsonscan.Raw(`{"accountId":null,"key":"k"}`), "k"},
		{"raw, no id", jsonscan.Raw(`{"displayName":"Ann"}`), nil},
		{"raw, not an object", jsonscan.Raw(`["accountId"]`), nil},
		{"none", nil, nil},
	} {
		assert.Equal(t, c.want, accountOf(c.user), c.name)
	}
}

func TestScanJQLKeepsTheScope(t *testing.T) {
	t.Parallel()
	env := &Env{StartDate: time.Date(2025, 11, 28, 0, 0, 0, 0, time.UTC), Projects: []string{"A", "B"}, JQL: "issuetype != Epic"}
	assert.Equal(t, `updated >= "2025-11-28 05:30" AND project in (A, B) AND (issuetype != Epic) ORDER BY id ASC`,
		scanJQL(env, time.FixedZone("IST", 5*3600+1800)))
	a := scopeFingerprint(env)
	env.JQL = "issuetype = Bug"
	assert.NotEqual(t, a, scopeFingerprint(env), "a jql change is a new scope")
	env.JQL = "issuetype != Epic"
	env.StartDate = env.StartDate.AddDate(0, 1, 0)
	assert.Equal(t, a, scopeFingerprint(env), "start_date is not part of it (rolling defaults); leaving issues are checked")
}

// BenchmarkStatusHistory derives the status records of a generated
// bulkfetch page's issues, as the issues group does for every page.
func BenchmarkStatusHistory(b *testing.B) {
	page, err := jirasim.SamplePage(0)
	require.NoError(b, err)
	decoded, err := jira.DecodeRecordShaped(page, jira.IssuePage)
	require.NoError(b, err)
	var issues []jira.Record
	for _, v := range decoded["issues"].([]any) {
		issues = append(issues, v.(map[string]any))
	}
	b.ReportAllocs()
	records := 0
	for b.Loop() {
		for _, is := range issues {
			histories, _ := embedded(is["changelog"], "histories")
			recs, err := statusHistory(is, is["id"].(string), histories)
			if err != nil {
				b.Fatal(err)
			}
			records += len(recs)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(records), "ns/record")
}
