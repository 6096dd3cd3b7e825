package cli

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tap-jira/tap-jira/internal/jirasim"
)

// faultySite is newSite with injected faults: 5% 5xx, 3% 429, 1% cut.
func faultySite(t *testing.T, flavor jirasim.Flavor, issues int, seed uint64) *site {
	t.Helper()
	return startSite(t, jirasim.Options{Flavor: flavor, TZ: time.UTC,
		Faults: jirasim.Faults{Seed: seed, FailRate: 0.05, ThrottleRate: 0.03, CutRate: 0.01},
		Gen:    jirasim.GenOptions{Seed: 11, Issues: issues, Projects: 3, Users: 30}})
}

func TestFaultySiteGivesTheSameRecords(t *testing.T) {
	t.Parallel()
	for _, flavor := range []jirasim.Flavor{jirasim.Cloud, jirasim.DataCenter} {
		t.Run(string(flavor), func(t *testing.T) {
			t.Parallel()
			clean := newSite(t, flavor, "UTC", 400)
			faulty := faultySite(t, flavor, 400, 5)
			start := "2025-11-28T00:00:00Z"
			runBoth := func(stateIn map[string]any) (map[string][]string, map[string][]string, map[string]any, map[string]any) {
				got := [2]map[string][]string{}
				states := [2]map[string]any{}
				for i, s := range []*site{clean, faulty} {
					// Small pages: more requests, so more of them meet a fault.
					cfg := s.config(t, start, `, "page_size": 10`)
					args := []string{"--config", cfg, "--catalog", selectAll(t, cfg)}
					if stateIn != nil {
						args = append(args, "--state", writeFile(t, "state.json", mustJSON(t, stateIn)))
					}
					res := runTap(t, t.Context(), args...)
					require.Equal(t, ExitOK, res.code, res.stderr)
					out := parseOutput(t, res.stdout)
					got[i] = map[string][]string{}
					for stream, recs := range out.records {
						got[i][stream], _ = keysOf(recs, keyProps[stream])
					}
					states[i] = out.lastState
				}
				return got[0], got[1], states[0], states[1]
			}
			want, got, cleanState, faultyState := runBoth(nil)
			assert.Equal(t, want, got, "a full sync through faults emits what a clean one does")
			counts := faulty.sim.FaultCounts()
			assert.Positive(t, counts.Failed, "5xx were injected: %+v", counts)
			assert.Positive(t, counts.Throttled, "429s were injected: %+v", counts)

			for _, s := range []*site{clean, faulty} {
				s.sim.Advance(10 * time.Minute)
				s.sim.Mutate(6, 4)
				s.sim.Advance(2 * time.Minute)
			}
			_ = cleanState
			want2, got2, _, _ := runBoth(faultyState)
			assert.Equal(t, want2, got2, "an incremental sync through faults emits what a clean one does")
		})
	}
}

// TestStalledAnswersAreRetried: a site whose answers sometimes hang (no
// byte at all, or half a body and then silence, as a server or proxy that
// stalls does) costs request_timeout per stall and nothing else: the try
// is given up and made again, sequentially and in parallel, and the sync
// emits what a clean one does.
func TestStalledAnswersAreRetried(t *testing.T) {
	t.Parallel()
	for _, flavor := range []jirasim.Flavor{jirasim.Cloud, jirasim.DataCenter} {
		for _, conc := range []int{1, 8} {
			t.Run(fmt.Sprintf("%s/max_concurrency %d", flavor, conc), func(t *testing.T) {
				t.Parallel()
				clean := newSite(t, flavor, "UTC", 300)
				stalling := startSite(t, jirasim.Options{Flavor: flavor, TZ: time.UTC,
					Faults: jirasim.Faults{Seed: 7, StallRate: 0.04, FailRate: 0.02},
					Gen:    jirasim.GenOptions{Seed: 11, Issues: 300, Projects: 3, Users: 30}})
				var got [2]map[string][]string
				var stderr string
				for i, s := range []*site{clean, stalling} {
					cfg := s.config(t, "2025-11-28T00:00:00Z", fmt.Sprintf(`, "page_size": 10, "request_timeout": 0.5, "max_concurrency": %d`, conc))
					res := runTap(t, t.Context(), "--config", cfg, "--catalog", selectAll(t, cfg))
					require.Equal(t, ExitOK, res.code, res.stderr)
					got[i] = map[string][]string{}
					for stream, recs := range parseOutput(t, res.stdout).records {
						got[i][stream], _ = keysOf(recs, keyProps[stream])
					}
					stderr = res.stderr
				}
				assert.Equal(t, got[0], got[1], "a sync through stalls emits what a clean one does")
				assert.Positive(t, stalling.sim.FaultCounts().Stalled, "answers stalled")
				// The timeout reads "Client.Timeout exceeded" or "context
				// deadline exceeded" before the headers, "Client.Timeout or
				// context cancellation" in the body.
				assert.Regexp(t, `retrying a Jira request[^\n]*(Client\.Timeout|deadline exceeded)`, stderr, "a stall is retried as a timeout")
			})
		}
	}
}

func TestBadSitesAndQueries(t *testing.T) {
	t.Parallel()
	html := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<html><body>Welcome to our intranet</body></html>"))
	}))
	t.Cleanup(html.Close)
	notFound := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(notFound.Close)
	sim := newSite(t, jirasim.Cloud, "UTC", 30)
	cases := []struct {
		name, url, extra string
		want             []string
	}{
		{"an HTML site", html.URL, "", []string{"does not answer like a Jira site", "not JSON"}},
		{"404 everywhere", notFound.URL, "", []string{"does not answer like a Jira site", "HTTP 404"}},
		{"JQL Jira rejects", sim.url, `, "jql": "sprint in openSprints()"`, []string{"HTTP 400", "searching issues", "sprint"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := &site{url: tc.url}
			cfg := s.config(t, "2025-11-28T00:00:00Z", tc.extra)
			catalog := writeFile(t, "catalog.json", `{"streams": [{"tap_stream_id": "issues", "schema": {}, "metadata": [{"breadcrumb": [], "metadata": {"selected": true}}]}]}`)
			res := runTap(t, t.Context(), "--config", cfg, "--catalog", catalog)
			assert.Equal(t, ExitRuntime, res.code, res.stderr)
			for _, w := range tc.want {
				assert.Contains(t, res.stderr, w)
			}
			assert.Equal(t, 1, strings.Count(res.stderr, "level=ERROR"))
		})
	}
}

func TestStateFromAnotherTap(t *testing.T) {
	t.Parallel()
	cfg := writeFile(t, "config.json", goodConfig())
	state := `{"bookmarks": {"pull_requests": {"replication_key": "updated_at", "replication_key_value": "2026-01-01T00:00:00Z"}}}`
	res := runTap(t, t.Context(), "--config", cfg, "--catalog", writeFile(t, "catalog.json", `{"streams": []}`), "--state", writeFile(t, "state.json", state))
	assert.Equal(t, ExitOK, res.code, res.stderr)
	assert.Contains(t, res.stderr, "pull_requests")
	assert.Contains(t, res.stderr, "level=WARN")
}
