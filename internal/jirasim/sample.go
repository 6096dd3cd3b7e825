package jirasim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"
)

// SamplePage is a /issue/bulkfetch page of the first 100 issues a one-year
// sync finds on a generated 2000-issue site (seed 42), with their
// changelogs and transitions, as the tap requests them: what the
// benchmarks of a page's work decode and prepare.
func SamplePage() ([]byte, error) {
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
		`{"jql":"updated >= \"2025-11-28\" ORDER BY updated ASC","maxResults":100,"fields":["id"]}`)
	if err != nil {
		return nil, err
	}
	var found struct {
		Issues []struct{ ID string } `json:"issues"`
	}
	if err := json.Unmarshal(ids, &found); err != nil {
		return nil, fmt.Errorf("reading the ids: %w", err)
	}
	keys := make([]string, len(found.Issues))
	for i, is := range found.Issues {
		keys[i] = is.ID
	}
	body, err := json.Marshal(map[string]any{"issueIdsOrKeys": keys, "fields": []string{"*all", "-worklog", "-comment"}, "expand": []string{"changelog", "transitions"}})
	if err != nil {
		return nil, err
	}
	return post("/rest/api/2/issue/bulkfetch", string(body))
}
