package streams

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
			env := &Env{Client: clientAt(t, srv.URL), Cloud: true, Log: slog.New(slog.DiscardHandler), State: state.New(), Concurrency: n}
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
