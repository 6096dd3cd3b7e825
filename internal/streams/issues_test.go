package streams

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tap-jira/tap-jira/internal/jira"
	"github.com/tap-jira/tap-jira/internal/state"
)

type memSink struct {
	mu      sync.Mutex
	records map[string]int
	checks  int
}

func (m *memSink) Wants(string) bool { return true }
func (m *memSink) Record(stream string, _ jira.Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.records[stream]++
	return nil
}
func (m *memSink) Prepare(stream string, rec jira.Record) (Prepared, error) {
	return Prepared{Stream: stream}, nil
}
func (m *memSink) Write(p Prepared) error { return m.Record(p.Stream, nil) }
func (m *memSink) Checkpoint() error {
	m.checks++
	return nil
}

// TestIssueErrorsAreNeverLost runs the issue paths against a Jira whose
// later pages fail for good: every concurrency and flavor must report it.
func TestIssueErrorsAreNeverLost(t *testing.T) {
	t.Parallel()
	issue := func(id int) map[string]any {
		return map[string]any{"id": fmt.Sprint(id), "transitions": []any{},
			"changelog": map[string]any{"histories": []any{}, "total": 0},
			"fields":    map[string]any{"updated": "2026-01-02T03:04:05.000+0000", "comment": map[string]any{"comments": []any{}, "total": 0}}}
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		write := func(v any) { _ = json.NewEncoder(w).Encode(v) }
		switch r.URL.Path {
		case "/rest/api/2/myself":
			write(map[string]any{"timeZone": "UTC"})
		case "/rest/api/2/search":
			if body["startAt"] == float64(0) {
				write(map[string]any{"issues": []any{issue(1), issue(2)}, "total": 6})
				return
			}
			w.WriteHeader(http.StatusBadRequest)
			write(map[string]any{"errorMessages": []string{"page gone"}})
		case "/rest/api/2/search/jql":
			if body["nextPageToken"] == nil {
				write(map[string]any{"issues": []any{issue(1), issue(2)}, "nextPageToken": "t"})
				return
			}
			w.WriteHeader(http.StatusBadRequest)
			write(map[string]any{"errorMessages": []string{"page gone"}})
		case "/rest/api/2/issue/bulkfetch":
			w.WriteHeader(http.StatusBadRequest)
			write(map[string]any{"errorMessages": []string{"page gone"}})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	base, _ := url.Parse(srv.URL)
	for _, cloud := range []bool{true, false} {
		for _, n := range []int{1, 4} {
			t.Run(fmt.Sprintf("cloud=%v/concurrency=%d", cloud, n), func(t *testing.T) {
				t.Parallel()
				c, err := jira.New(jira.Options{BaseURL: base, Username: "u", Password: "p", Retry: jira.RetryPolicy{MaxAttempts: 1}})
				require.NoError(t, err)
				env := &Env{Client: c, Cloud: cloud, Log: slog.New(slog.DiscardHandler), State: state.New(),
					StartDate: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), RunStart: time.Now(), PageSize: 2, Concurrency: n}
				err = syncIssues(t.Context(), env, &memSink{records: map[string]int{}})
				require.Error(t, err, "a failed page must fail the sync")
				assert.Contains(t, err.Error(), "page gone")
			})
		}
	}
}
