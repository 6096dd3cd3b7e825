package jira

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fastRetry keeps the tests quick while exercising every retry path.
var fastRetry = RetryPolicy{MaxAttempts: 4, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, MaxRetryAfter: 50 * time.Millisecond, MaxElapsed: 10 * time.Second}

// scripted answers the n-th request with steps[n] (the last one repeats).
func scripted(t *testing.T, steps ...func(w http.ResponseWriter, r *http.Request)) (*Client, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		steps[min(i, len(steps)-1)](w, r)
	})
	return c, &n
}

func status(code int, headers ...string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.WriteHeader(code)
		_, _ = w.Write([]byte(`{"errorMessages":["transient"],"errors":{}}`))
	}
}

func ok(body string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(body)) }
}

// cut sends half a body, then closes the connection.
func cut(w http.ResponseWriter, _ *http.Request) {
	body := `{"values":[{"id":"1"},{"id":"2"}],"isLast":true}`
	w.Header().Set("Content-Length", "48")
	w.WriteHeader(200)
	_, _ = w.Write([]byte(body[:20]))
	w.(http.Flusher).Flush()
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err == nil {
		_ = buf.Flush()
		_ = conn.Close()
	}
}

func TestRetries(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		steps    []func(http.ResponseWriter, *http.Request)
		requests int64
		wantErr  string
	}{
		{"503 then ok", []func(http.ResponseWriter, *http.Request){status(503), status(502), ok(`{"a":1}`)}, 3, ""},
		{"500 and 504", []func(http.ResponseWriter, *http.Request){status(500), status(504), ok(`{"a":1}`)}, 3, ""},
		{"429 with Retry-After", []func(http.ResponseWriter, *http.Request){status(429, "Retry-After", "1"), ok(`{"a":1}`)}, 2, ""},
		{"cut body", []func(http.ResponseWriter, *http.Request){cut, ok(`{"a":1}`)}, 2, ""},
		{"always 500", []func(http.ResponseWriter, *http.Request){status(500)}, 4, "GET /rest/api/2/x: HTTP 500 Internal Server Error: transient (gave up after 4 attempts)"},
		{"400 is not retried", []func(http.ResponseWriter, *http.Request){status(400), ok(`{}`)}, 1, "HTTP 400"},
		{"401 is not retried", []func(http.ResponseWriter, *http.Request){status(401), ok(`{}`)}, 1, "HTTP 401"},
		{"404 is not retried", []func(http.ResponseWriter, *http.Request){status(404), ok(`{}`)}, 1, "HTTP 404"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, n := scripted(t, tc.steps...)
			var v map[string]any
			start := time.Now()
			err := c.Get(t.Context(), "rest/api/2/x", nil, &v)
			assert.Equal(t, tc.requests, n.Load())
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, json.Number("1"), v["a"])
			if strings.Contains(tc.name, "Retry-After") {
				// Honoured, but capped by MaxRetryAfter (50ms here).
				assert.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond)
				assert.Less(t, time.Since(start), 900*time.Millisecond)
			}
			assert.Equal(t, tc.requests-1, c.Stats().Retries)
		})
	}
}

func TestPostBodyIsReplayed(t *testing.T) {
	t.Parallel()
	var bodies []string
	c, _ := scripted(t,
		func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			bodies = append(bodies, string(b))
			status(502)(w, r)
		},
		func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			bodies = append(bodies, string(b))
			ok(`[]`)(w, r)
		})
	var out []any
	require.NoError(t, c.Post(t.Context(), "rest/api/2/worklog/list", map[string]any{"ids": []int{1, 2}}, &out))
	require.Len(t, bodies, 2)
	assert.JSONEq(t, `{"ids":[1,2]}`, bodies[0])
	assert.Equal(t, bodies[0], bodies[1], "the retried POST carries the same body")
}

func TestCancelStopsRetrying(t *testing.T) {
	t.Parallel()
	slow := RetryPolicy{MaxAttempts: 5, BaseDelay: time.Hour, MaxDelay: time.Hour, MaxRetryAfter: time.Hour, MaxElapsed: 2 * time.Hour}
	srv := httptest.NewServer(http.HandlerFunc(status(503)))
	defer srv.Close()
	base, _ := url.Parse(srv.URL)
	c, err := New(Options{BaseURL: base, Username: "u", Password: "p", Retry: slow})
	require.NoError(t, err)
	ctx, cancel := context.WithCancelCause(t.Context())
	go func() { time.Sleep(50 * time.Millisecond); cancel(errors.New("SIGTERM")) }()
	start := time.Now()
	var v any
	err = c.Get(ctx, "rest/api/2/x", nil, &v)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "SIGTERM")
	assert.Less(t, time.Since(start), 5*time.Second, "a cancelled run does not sit out its backoff")
}

func TestRetryAfterParsing(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"3", 3 * time.Second, true},
		{"0", 0, true},
		{" 1.5 ", 1500 * time.Millisecond, true},
		{"Sat, 28 Nov 2026 12:00:30 GMT", 30 * time.Second, true},
		{"Sat, 28 Nov 2026 11:00:00 GMT", 0, true},
		{"", 0, false},
		{"-4", 0, false},
		{"soon", 0, false},
	}
	for _, tc := range cases {
		got, ok := retryAfter(tc.in, now)
		assert.Equal(t, tc.ok, ok, tc.in)
		assert.Equal(t, tc.want, got, tc.in)
	}
}

func TestFullJitterBounds(t *testing.T) {
	t.Parallel()
	b := &fullJitter{base: 100 * time.Millisecond, max: time.Second}
	bounds := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for i, bound := range bounds {
		for range 200 {
			b.n = i
			d := b.NextBackOff()
			require.GreaterOrEqual(t, d, time.Duration(0))
			require.LessOrEqual(t, d, bound*time.Millisecond)
		}
	}
	b.Reset()
	assert.Equal(t, 0, b.n)
}

// TestPacerReadsAnswersNotRefusals: a 429 carries X-RateLimit-Remaining 0
// for the limit that refused it; Retry-After and the gate answer it, and
// it must not space every later request out. An answer that says the
// budget is nearly spent does.
func TestPacerReadsAnswersNotRefusals(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		first  int
		header http.Header
		slowed bool
	}{
		{"a burst refusal", http.StatusTooManyRequests, http.Header{
			"Retry-After": {"0"}, "X-Ratelimit-Limit": {"100"}, "X-Ratelimit-Remaining": {"0"}, "Ratelimit-Reason": {"jira-burst-based"}}, false},
		{"a quota refusal", http.StatusTooManyRequests, http.Header{
			"Retry-After": {"0"}, "X-Ratelimit-Limit": {"100"}, "X-Ratelimit-Remaining": {"0"}, "Ratelimit-Reason": {"jira-quota-based"}}, false},
		{"an answer near the limit", http.StatusOK, http.Header{"X-Ratelimit-Nearlimit": {"true"}}, true},
		{"an answer with a fifth left", http.StatusOK, http.Header{"X-Ratelimit-Limit": {"100"}, "X-Ratelimit-Remaining": {"19"}}, true},
		{"an answer with plenty left", http.StatusOK, http.Header{"X-Ratelimit-Limit": {"100"}, "X-Ratelimit-Remaining": {"20"}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var calls atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				if calls.Add(1) == 1 {
					for k, v := range tc.header {
						w.Header()[k] = v
					}
					w.WriteHeader(tc.first)
					if tc.first != http.StatusOK {
						_, _ = w.Write([]byte(`{"errorMessages":["The request has been rate-limited."],"errors":{}}`))
						return
					}
				}
				_, _ = w.Write([]byte(`{"ok":true}`))
			}))
			t.Cleanup(srv.Close)
			base, err := url.Parse(srv.URL)
			require.NoError(t, err)
			c, err := New(Options{BaseURL: base, Username: "u", Password: "p", MaxInFlight: 8,
				Retry: RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond, MaxRetryAfter: time.Second, MaxElapsed: 10 * time.Second}})
			require.NoError(t, err)
			var v map[string]any
			require.NoError(t, c.Get(t.Context(), "rest/api/2/thing", nil, &v))
			assert.Equal(t, tc.slowed, c.pacer.slowed())
		})
	}
}

func TestPacerSlowsDownNearTheLimit(t *testing.T) {
	t.Parallel()
	p := newPacer()
	p.observe(http.Header{"X-Ratelimit-Remaining": {"90"}, "X-Ratelimit-Limit": {"100"}})
	assert.False(t, p.slowed())
	p.observe(http.Header{"X-Ratelimit-Nearlimit": {"true"}})
	assert.True(t, p.slowed())
	q := newPacer()
	q.observe(http.Header{"X-Ratelimit-Remaining": {"5"}, "X-Ratelimit-Limit": {"100"}})
	assert.True(t, q.slowed())
	// Slowed means spaced: three requests take at least a second at 2/s.
	start := time.Now()
	for range 3 {
		require.NoError(t, q.wait(t.Context()))
	}
	assert.GreaterOrEqual(t, time.Since(start), 900*time.Millisecond)
}

// TestRetryWaitsAreTold: a request's waits before trying again are told to
// the function of its context and of every context around it, +1 as each
// starts and -1 as it ends, also when the caller gives up mid-wait.
func TestRetryWaitsAreTold(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var inner, outer []int
	record := func(into *[]int) func(int) {
		return func(d int) {
			mu.Lock()
			defer mu.Unlock()
			*into = append(*into, d)
		}
	}
	c, _ := scripted(t, status(http.StatusTooManyRequests, "Retry-After", "1"), status(http.StatusServiceUnavailable), ok(`{}`))
	ctx := WithRetryWaits(WithRetryWaits(t.Context(), record(&outer)), record(&inner))
	var v map[string]any
	require.NoError(t, c.Get(ctx, "rest/api/2/myself", nil, &v))
	assert.Equal(t, []int{+1, -1, +1, -1}, inner, "two waits, each ended")
	assert.Equal(t, inner, outer, "the context around is told too")

	var gaveUp []int
	cctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	wctx := WithRetryWaits(cctx, func(d int) {
		mu.Lock()
		defer mu.Unlock()
		gaveUp = append(gaveUp, d)
		if d > 0 {
			cancel() // the caller gives up as the wait starts
		}
	})
	slow, _ := scripted(t, status(http.StatusServiceUnavailable))
	slow.retry.BaseDelay, slow.retry.MaxDelay, slow.retry.MaxElapsed = time.Hour, time.Hour, 2*time.Hour
	require.ErrorIs(t, slow.Get(wctx, "rest/api/2/myself", nil, &v), context.Canceled)
	assert.Equal(t, []int{+1, -1}, gaveUp, "a wait given up is ended too")
}
