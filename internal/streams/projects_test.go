package streams

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tap-jira/tap-jira/internal/jira"
	"github.com/tap-jira/tap-jira/internal/state"
)

// TestProjectListsSideBySide: a project's versions and components are two
// chains of pages, read side by side with concurrency (never more than
// max_concurrency requests in all) and one after the other in a sequential
// sync.
func TestProjectListsSideBySide(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, 4} {
		t.Run(fmt.Sprint("concurrency=", n), func(t *testing.T) {
			t.Parallel()
			var inFlight, most atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				write := func(v any) { _ = json.NewEncoder(w).Encode(v) }
				switch r.URL.Path {
				case "/rest/api/2/project/search":
					write(map[string]any{"values": []any{map[string]any{"id": "1", "key": "P"}, map[string]any{"id": "2", "key": "Q"},
						map[string]any{"id": "3", "key": "R"}, map[string]any{"id": "4", "key": "S"}}, "isLast": true})
				case "/rest/api/2/project/1/version", "/rest/api/2/project/1/component", "/rest/api/2/project/2/version", "/rest/api/2/project/2/component",
					"/rest/api/2/project/3/version", "/rest/api/2/project/3/component", "/rest/api/2/project/4/version", "/rest/api/2/project/4/component":
					now := inFlight.Add(1)
					for m := most.Load(); now > m && !most.CompareAndSwap(m, now); m = most.Load() {
					}
					time.Sleep(30 * time.Millisecond) // long enough for the other list to arrive
					inFlight.Add(-1)
					write(map[string]any{"values": []any{map[string]any{"id": "9", "name": "x"}}, "isLast": true})
				default:
					http.NotFound(w, r)
				}
			}))
			t.Cleanup(srv.Close)
			// The client holds the requests to max_concurrency, as the tap's
			// does; the stream reads more projects at once than that.
			base, err := url.Parse(srv.URL)
			require.NoError(t, err)
			c, err := jira.New(jira.Options{BaseURL: base, Username: "u", Password: "p", Retry: jira.RetryPolicy{MaxAttempts: 1}, MaxInFlight: n})
			require.NoError(t, err)
			env := &Env{Client: c, Cloud: true, Log: slog.New(slog.DiscardHandler), State: state.New(), Concurrency: n}
			sink := &memSink{records: map[string]int{}}
			require.NoError(t, syncProjects(t.Context(), env, sink))
			assert.Equal(t, map[string]int{"projects": 4, "versions": 4, "components": 4}, sink.records)
			if n == 1 {
				assert.EqualValues(t, 1, most.Load(), "lists in flight at once")
			} else {
				assert.GreaterOrEqual(t, most.Load(), int64(2), "lists in flight at once")
				assert.LessOrEqual(t, most.Load(), int64(n), "lists in flight at once")
			}
		})
	}
}

// TestProjectsNotHeldBehindALongOne: a project with several pages of
// versions does not hold back the projects after it. With concurrency
// twice as many projects as requests in flight are read at once, the
// earliest project's requests first; half as many read the other projects'
// lists only once its last page had come, and the issues, written after
// this group, waited for them.
func TestProjectsNotHeldBehindALongOne(t *testing.T) {
	t.Parallel()
	const long = 200 // project 1's versions: four pages
	var mu sync.Mutex
	var seen []string // project of each list request, in arrival order
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		write := func(v any) { _ = json.NewEncoder(w).Encode(v) }
		if r.URL.Path == "/rest/api/2/project/search" {
			var ps []any
			for i := 1; i <= 6; i++ {
				ps = append(ps, map[string]any{"id": fmt.Sprint(i), "key": fmt.Sprint("P", i)})
			}
			write(map[string]any{"values": ps, "isLast": true})
			return
		}
		parts := strings.Split(r.URL.Path, "/") // /rest/api/2/project/{id}/{list}
		if len(parts) != 7 || parts[4] != "project" {
			http.NotFound(w, r)
			return
		}
		mu.Lock()
		seen = append(seen, parts[5])
		mu.Unlock()
		time.Sleep(10 * time.Millisecond)
		n := 1
		if parts[5] == "1" && parts[6] == "version" {
			n = long
		}
		startAt, _ := strconv.Atoi(r.URL.Query().Get("startAt"))
		size, _ := strconv.Atoi(r.URL.Query().Get("maxResults"))
		var values []any
		for i := startAt; i < min(n, startAt+size); i++ {
			values = append(values, map[string]any{"id": fmt.Sprint(parts[5], "-", parts[6], "-", i), "name": "x"})
		}
		write(map[string]any{"values": values, "isLast": startAt+len(values) >= n})
	}))
	t.Cleanup(srv.Close)
	base, err := url.Parse(srv.URL)
	require.NoError(t, err)
	c, err := jira.New(jira.Options{BaseURL: base, Username: "u", Password: "p", Retry: jira.RetryPolicy{MaxAttempts: 1}, MaxInFlight: 2})
	require.NoError(t, err)
	env := &Env{Client: c, Cloud: true, Log: slog.New(slog.DiscardHandler), State: state.New(), Concurrency: 2}
	sink := &memSink{records: map[string]int{}}
	require.NoError(t, syncProjects(t.Context(), env, sink))
	assert.Equal(t, map[string]int{"projects": 6, "versions": long + 5, "components": 6}, sink.records)

	mu.Lock()
	defer mu.Unlock()
	lastOfLong := slices.Index(seen, "1") // project 1's last request
	for i, p := range seen {
		if p == "1" {
			lastOfLong = i
		}
	}
	others := 0
	for _, p := range seen[:lastOfLong] {
		if p != "1" {
			others++
		}
	}
	assert.GreaterOrEqual(t, others, 3, "other projects' lists read while project 1's pages were (%v)", seen)
}
