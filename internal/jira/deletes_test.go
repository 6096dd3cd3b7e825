package jira

import (
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestIssueExists: only a 404 means the issue is gone; any other failure is
// an error, never a deletion.
func TestIssueExists(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		status  int
		want    bool
		wantErr bool
	}{
		{"found", http.StatusOK, true, false},
		{"deleted", http.StatusNotFound, false, false},
		{"forbidden", http.StatusForbidden, false, true},
		{"bad request", http.StatusBadRequest, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
				assert.Equal(t, "/jira/rest/api/2/issue/10001", r.URL.Path)
				assert.Equal(t, "id", r.URL.Query().Get("fields"))
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(`{"id": "10001", "errorMessages": []}`))
			})
			got, err := c.IssueExists(t.Context(), "10001")
			if tc.wantErr {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestExistingIssues(t *testing.T) {
	t.Parallel()
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			IDs    []string `json:"issueIdsOrKeys"`
			Fields []string `json:"fields"`
		}
		assert.NoError(t, json.NewDecoder(r.Body).Decode(&body))
		assert.Equal(t, []string{"id"}, body.Fields)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"issues": [{"id": "1"}, {"id": "3"}], "issueErrors": [{"issueIdOrKey": "2"}]}`))
	})
	got, err := c.ExistingIssues(t.Context(), []string{"1", "2", "3"})
	require.NoError(t, err)
	assert.Equal(t, map[string]bool{"1": true, "3": true}, got)
}

func TestDeletedWorklogFeed(t *testing.T) {
	t.Parallel()
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "/jira/rest/api/2/worklog/deleted", r.URL.Path)
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Query().Get("since") == "1000" {
			_, _ = w.Write([]byte(`{"values": [{"worklogId": 7, "updatedTime": 1500}, {"worklogId": 8, "updatedTime": 2000}], "since": 1000, "until": 2000, "lastPage": false}`))
			return
		}
		assert.Equal(t, "2000", r.URL.Query().Get("since"))
		_, _ = w.Write([]byte(`{"values": [{"worklogId": 8, "updatedTime": 2000}], "since": 2000, "until": 2000, "lastPage": true}`))
	})
	var ids []string
	var times []time.Time
	var untils []int64
	for page, err := range c.DeletedWorklogFeed(t.Context(), time.UnixMilli(1000)) {
		require.NoError(t, err)
		for i, id := range page.IDs {
			ids = append(ids, id.String())
			times = append(times, page.Times[i])
		}
		untils = append(untils, page.Until.UnixMilli())
	}
	assert.Equal(t, []string{"7", "8", "8"}, ids)
	assert.Equal(t, time.UnixMilli(1500).UTC(), times[0])
	assert.Equal(t, []int64{2000, 2000}, untils)
}

// TestIssuesIn: on Cloud the issues' project fields, an issue not found
// only left out; on Data Center one search of the ids in the projects,
// paged, that warns rather than fails on an id that does not exist.
func TestIssuesIn(t *testing.T) {
	t.Parallel()
	t.Run("cloud", func(t *testing.T) {
		t.Parallel()
		c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
			assert.Equal(t, "/jira/rest/api/2/issue/bulkfetch", r.URL.Path)
			var body struct {
				IDs    []string `json:"issueIdsOrKeys"`
				Fields []string `json:"fields"`
			}
			assert.NoError(t, json.NewDecoder(r.Body).Decode(&body))
			assert.Equal(t, []string{"project"}, body.Fields)
			assert.Equal(t, []string{"1", "2", "3", "4"}, body.IDs)
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"issues": [{"id": "1", "fields": {"project": {"key": "BETA"}}}, {"id": "3", "fields": {"project": {"key": "ALPHA"}}},
				{"id": "4", "fields": {"project": {"key": "GAMMA"}}}], "issueErrors": [{"issueIdOrKey": "2"}]}`))
		})
		got, err := c.IssuesIn(t.Context(), true, []string{"1", "2", "3", "4"}, []string{"BETA", "GAMMA"})
		require.NoError(t, err)
		assert.Equal(t, map[string]bool{"1": true, "4": true}, got)
	})
	t.Run("datacenter", func(t *testing.T) {
		t.Parallel()
		var mu sync.Mutex
		var starts []float64
		c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
			assert.Equal(t, "/jira/rest/api/2/search", r.URL.Path)
			var body map[string]any
			assert.NoError(t, json.NewDecoder(r.Body).Decode(&body))
			assert.Equal(t, "id in (1, 2, 3) AND project in (BETA, GAMMA)", body["jql"])
			assert.Equal(t, false, body["validateQuery"])
			mu.Lock()
			starts = append(starts, body["startAt"].(float64))
			mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			if body["startAt"].(float64) == 0 {
				_, _ = w.Write([]byte(`{"startAt": 0, "total": 2, "issues": [{"id": "1"}], "warningMessages": ["An issue with key '2' does not exist for field 'id'."]}`))
				return
			}
			_, _ = w.Write([]byte(`{"startAt": 1, "total": 2, "issues": [{"id": "3"}]}`))
		})
		got, err := c.IssuesIn(t.Context(), false, []string{"1", "2", "3"}, []string{"BETA", "GAMMA"})
		require.NoError(t, err)
		assert.Equal(t, map[string]bool{"1": true, "3": true}, got)
		mu.Lock()
		defer mu.Unlock()
		assert.Equal(t, []float64{0, 1}, starts, "paged")
	})
}
