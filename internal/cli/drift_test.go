package cli

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tap-jira/tap-jira/internal/jirasim"
)

// TestUpdatesDuringTheSyncLoseNothing updates issues while a sync pages
// through the search: an issue updated after its page was read moves to
// the end of `ORDER BY updated`, and every issue behind it moves one place
// up. A page requested by its offset afterwards would start one issue too
// late, and that issue, not updated, would never come back. The run and
// the next one together must emit every issue.
func TestUpdatesDuringTheSyncLoseNothing(t *testing.T) {
	t.Parallel()
	for _, flavor := range []jirasim.Flavor{jirasim.Cloud, jirasim.DataCenter} {
		for _, conc := range []int{1, 4} {
			t.Run(fmt.Sprintf("%s/concurrency=%d", flavor, conc), func(t *testing.T) {
				t.Parallel()
				s := newSite(t, flavor, "UTC", 400)
				// After every few issue pages, update a few issues: some
				// already read, some not yet.
				var pages atomic.Int64
				var mu sync.Mutex
				mutated := map[string]bool{}
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					p := r.URL.Path
					if strings.HasSuffix(p, "/search") || strings.HasSuffix(p, "/search/jql") || strings.HasSuffix(p, "/issue/bulkfetch") {
						if pages.Add(1)%3 == 0 {
							// A minute passes between edits, as on a busy site.
							s.sim.Advance(time.Minute)
							m := s.sim.Mutate(4, 0)
							mu.Lock()
							for _, id := range m.Issues {
								mutated[id] = true
							}
							mu.Unlock()
						}
					}
					s.sim.ServeHTTP(w, r)
				}))
				t.Cleanup(srv.Close)
				start := "2024-11-28T00:00:00Z"
				cfg := configAt(t, srv.URL, start, `, "page_size": 10, "max_concurrency": `+fmt.Sprint(conc))
				catalog := selectAll(t, cfg, "issues")
				first := runTap(t, t.Context(), "--config", cfg, "--catalog", catalog)
				require.Equal(t, ExitOK, first.code, first.stderr)
				out1 := parseOutput(t, first.stdout)
				require.Positive(t, pages.Load())

				// The next run, with nothing updated meanwhile.
				s.sim.Advance(10 * time.Minute)
				second := runTap(t, t.Context(), "--config", configAt(t, s.url, start, `, "page_size": 10`), "--catalog", catalog,
					"--state", writeFile(t, "state.json", mustJSON(t, out1.lastState)))
				require.Equal(t, ExitOK, second.code, second.stderr)
				out2 := parseOutput(t, second.stdout)

				got := map[string]bool{}
				for _, out := range []output{out1, out2} {
					ids, _ := keysOf(out.records["issues"], []string{"id"})
					for _, id := range ids {
						got[id] = true
					}
				}
				startT, err := time.Parse(time.RFC3339, start)
				require.NoError(t, err)
				var missing []string
				for _, id := range s.sim.Truth().Expected(startT)["issues"] {
					if !got[id] {
						missing = append(missing, id)
					}
				}
				var mutatedMissing int
				for _, id := range missing {
					if mutated[id] {
						mutatedMissing++
					}
				}
				t.Logf("%d updated during the run; %d missing, %d of them updated", len(mutated), len(missing), mutatedMissing)
				assert.Empty(t, missing, "issues neither run emitted")
			})
		}
	}
}
