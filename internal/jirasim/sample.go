package jirasim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"
)

// SamplePage is the /issue/bulkfetch page of the n-th 100 issues (from 0)
// a one-year sync finds on a generated 2000-issue site (seed 42), with
// their changelogs and transitions, as the tap requests them: what the
// benchmarks of a page's work decode and prepare. The 1135 issues updated
// within the year fill 11 pages, and they share the site's users,
// projects and statuses, as a sync's pages do.
func SamplePage(n int) ([]byte, error) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	sim := New(Options{TZ: time.UTC, Email: "e@example.com", Token: "t",
		Gen: GenOptions{Seed: 42, Issues: 2000, Projects: 10, Users: 200, Now: now}})
	post := func(path, body string) ([]byte, error) {
		req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1"+path, strings.NewReader(body))
		req.SetBasicAuth("e@example.com", "t")
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		sim.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			return nil, fmt.Errorf("%s: %d %s", path, rec.Code, rec.Body.String())
		}
		return rec.Body.Bytes(), nil
	}
	ids, err := post("/rest/api/2/search/jql",
		`{"jql":"updated >= \"2025-11-28\" ORDER BY updated ASC","maxResults":5000,"fields":["id"]}`)
	if err != nil {
		return nil, err
	}
	var found struct {
		Issues []struct{ ID string } `json:"issues"`
	}
	if err := json.Unmarshal(ids, &found); err != nil {
		return nil, fmt.Errorf("reading the ids: %w", err)
	}
	if n < 0 || 100*n >= len(found.Issues) {
		return nil, fmt.Errorf("no page %d: the site has %d issues", n, len(found.Issues))
	}
	page := found.Issues[100*n : min(100*n+100, len(found.Issues))]
	keys := make([]string, len(page))
	for i, is := range page {
		keys[i] = is.ID
	}
	body, err := json.Marshal(map[string]any{"issueIdsOrKeys": keys, "fields": []string{"*all", "-worklog", "-comment"}, "expand": []string{"changelog", "transitions"}})
	if err != nil {
		return nil, err
	}
	return post("/rest/api/2/issue/bulkfetch", string(body))
}
