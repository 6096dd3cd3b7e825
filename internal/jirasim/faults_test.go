package jirasim

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// faultSleeper is a fake sleep that records the requested durations.
type faultSleeper struct {
	mu sync.Mutex
	ds []time.Duration
}

func (s *faultSleeper) sleep(_ context.Context, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ds = append(s.ds, d)
}

func (s *faultSleeper) calls() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.ds...)
}

// faultTestBody is a deterministic body large enough to span several
// server write buffers.
func faultTestBody(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// faultTestHandler serves body with a marker header, flushing midway so a
// buffered (cut) response must not leak early. calls counts invocations.
func faultTestHandler(body []byte, calls *atomic.Int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("X-Sim", "real")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body[:len(body)/3])
		_ = http.NewResponseController(w).Flush()
		_, _ = w.Write(body[len(body)/3:])
	})
}

func faultServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

type faultResult struct {
	status int
	header http.Header
	body   []byte
	err    error // from the request or from reading the body
}

func faultGet(t *testing.T, c *http.Client, url string) faultResult {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		return faultResult{err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return faultResult{status: resp.StatusCode, header: resp.Header, body: body, err: err}
}

// outcome summarises a response for comparing sequences of decisions.
func (r faultResult) outcome() string {
	if r.err != nil {
		return "cut"
	}
	s := strconv.Itoa(r.status)
	if strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
		s += "/html"
	}
	// A 429 always has Retry-After; only a 503's is news.
	if r.status != http.StatusTooManyRequests && r.header.Get("Retry-After") != "" {
		s += "/retry"
	}
	if r.header.Get("X-RateLimit-NearLimit") == "true" {
		s += "/near"
	}
	return s
}

func faultOutcomes(t *testing.T, f Faults, n int, exemptEvery int) ([]string, []time.Duration) {
	t.Helper()
	var calls atomic.Int64
	sl := &faultSleeper{}
	exempt := func(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/__sim/") }
	srv := faultServer(t, f.Middleware(faultTestHandler([]byte("hello, jira"), &calls), exempt, sl.sleep))
	c := srv.Client()
	out := make([]string, 0, n)
	for i := range n {
		if exemptEvery > 0 && i%exemptEvery == 0 {
			require.Equal(t, "200", faultGet(t, c, srv.URL+"/__sim/stats").outcome())
		}
		out = append(out, faultGet(t, c, srv.URL+"/rest/api/3/myself").outcome())
	}
	return out, sl.calls()
}

func TestFaultsZeroValuePassesThrough(t *testing.T) {
	t.Parallel()
	body := faultTestBody(50_000)
	var calls atomic.Int64
	sl := &faultSleeper{}
	h := Faults{}.Middleware(faultTestHandler(body, &calls), nil, sl.sleep)
	srv := faultServer(t, h)

	for range 50 {
		res := faultGet(t, srv.Client(), srv.URL+"/rest/api/3/project")
		require.NoError(t, res.err)
		require.Equal(t, http.StatusOK, res.status)
		require.Equal(t, "real", res.header.Get("X-Sim"))
		require.Empty(t, res.header.Get("X-RateLimit-NearLimit"))
		require.Equal(t, body, res.body)
	}
	assert.Equal(t, int64(50), calls.Load())
	assert.Empty(t, sl.calls())
	assert.Equal(t, FaultCounts{}, h.Counts())
}

func TestFaultsThrottle(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 2, 10, 15, 30, 0, time.FixedZone("AEST", 10*3600)) // 00:15:30Z
	cases := []struct {
		name       string
		retryAfter time.Duration
		now        time.Time
		wantRetry  string
		wantReset  string
	}{
		{"default", 0, now, "1", "2026-03-02T00:16Z"},
		{"rounded up", 1500 * time.Millisecond, now, "2", "2026-03-02T00:16Z"},
		{"sub-second", time.Millisecond, now, "1", "2026-03-02T00:16Z"},
		{"reset on the minute", 30 * time.Second, now, "30", "2026-03-02T00:16Z"},
		{"reset next minute", 31 * time.Second, now, "31", "2026-03-02T00:17Z"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var calls atomic.Int64
			h := Faults{ThrottleRate: 1, RetryAfter: tc.retryAfter}.Middleware(faultTestHandler([]byte("x"), &calls), nil, nil)
			h.now = func() time.Time { return tc.now }
			srv := faultServer(t, h)

			for range 3 {
				res := faultGet(t, srv.Client(), srv.URL+"/rest/api/3/search/jql")
				require.NoError(t, res.err)
				require.Equal(t, http.StatusTooManyRequests, res.status)
				assert.Equal(t, tc.wantRetry, res.header.Get("Retry-After"))
				assert.Equal(t, "100", res.header.Get("X-RateLimit-Limit"))
				assert.Equal(t, "0", res.header.Get("X-RateLimit-Remaining"))
				assert.Equal(t, tc.wantReset, res.header.Get("X-RateLimit-Reset"))
				assert.Equal(t, "jira-burst-based", res.header.Get("RateLimit-Reason"))
				assert.Equal(t, "application/json;charset=UTF-8", res.header.Get("Content-Type"))
				var e struct {
					ErrorMessages []string       `json:"errorMessages"`
					Errors        map[string]any `json:"errors"`
				}
				require.NoError(t, json.Unmarshal(res.body, &e))
				assert.Len(t, e.ErrorMessages, 1)
				assert.NotNil(t, e.Errors)
			}
			assert.Zero(t, calls.Load(), "a throttled request must not reach the handler")
			assert.Equal(t, FaultCounts{Throttled: 3}, h.Counts())
		})
	}
}

// holding answers {} to every call, holding the first n until release is
// closed; arrived hears of each held call.
type holding struct {
	n                int64
	calls            atomic.Int64
	arrived, release chan struct{}
}

func newHolding(n int) *holding {
	return &holding{n: int64(n), arrived: make(chan struct{}, n), release: make(chan struct{})}
}

func (h *holding) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	if h.calls.Add(1) <= h.n {
		h.arrived <- struct{}{}
		<-h.release
	}
	_, _ = w.Write([]byte("{}"))
}

// TestFaultsMaxInFlight: past the cap, a request is answered 429, naming
// no limit, without reaching the handler; once the requests being
// answered end, requests pass again.
func TestFaultsMaxInFlight(t *testing.T) {
	t.Parallel()
	const limit = 3
	next := newHolding(limit)
	arrived, release, calls := next.arrived, next.release, &next.calls
	h := Faults{MaxInFlight: limit}.Middleware(next, nil, nil)
	srv := faultServer(t, h)

	held := make(chan faultResult, limit)
	for range limit {
		go func() { held <- faultGet(t, srv.Client(), srv.URL+"/rest/api/3/issue/bulkfetch") }()
	}
	for range limit {
		<-arrived
	}
	for range 2 {
		res := faultGet(t, srv.Client(), srv.URL+"/rest/api/3/issue/bulkfetch")
		require.NoError(t, res.err)
		assert.Equal(t, http.StatusTooManyRequests, res.status)
		assert.Empty(t, res.header.Values("RateLimit-Reason"), "a site-wide cap names no endpoint's limit")
		assert.Equal(t, "1", res.header.Get("Retry-After"))
	}
	assert.Equal(t, int64(limit), calls.Load(), "a request past the cap reached the handler")
	close(release)
	for range limit {
		assert.Equal(t, "200", (<-held).outcome())
	}
	assert.Equal(t, "200", faultGet(t, srv.Client(), srv.URL).outcome(), "the cap still counts requests that ended")
	assert.Equal(t, FaultCounts{Throttled: 2}, h.Counts())
}

// TestFaultsEndpointMaxInFlight: the cap counts each endpoint and method
// apart, ids aside, and its 429 names Jira Cloud's burst limit; a request
// it refuses holds no slot of the site-wide cap.
func TestFaultsEndpointMaxInFlight(t *testing.T) {
	t.Parallel()
	const limit = 2
	next := newHolding(limit)
	arrived, release, calls := next.arrived, next.release, &next.calls
	h := Faults{EndpointMaxInFlight: limit, MaxInFlight: limit + 1}.Middleware(next, nil, nil)
	srv := faultServer(t, h)

	held := make(chan faultResult, limit)
	for i := range limit {
		go func() {
			held <- faultGet(t, srv.Client(), fmt.Sprintf("%s/ex/jira/abc/rest/api/3/issue/1000%d/comment", srv.URL, i))
		}()
	}
	for range limit {
		<-arrived
	}
	for _, path := range []string{"/rest/api/3/issue/10009/comment", "/rest/api/3/issue/PROJ-7/comment"} {
		res := faultGet(t, srv.Client(), srv.URL+path)
		require.NoError(t, res.err)
		assert.Equal(t, http.StatusTooManyRequests, res.status, path)
		assert.Equal(t, "jira-burst-based", res.header.Get("RateLimit-Reason"), path)
		assert.Equal(t, "1", res.header.Get("Retry-After"), path)
	}
	assert.Equal(t, int64(limit), calls.Load(), "a request past the cap reached the handler")
	assert.Equal(t, "200", faultGet(t, srv.Client(), srv.URL+"/rest/api/3/issue/10001/changelog").outcome(), "another endpoint has a count of its own")
	assert.Equal(t, "200", faultGet(t, srv.Client(), srv.URL+"/rest/api/3/myself").outcome(), "the refused requests hold no slot of the site's cap")
	close(release)
	for range limit {
		assert.Equal(t, "200", (<-held).outcome())
	}
	assert.Equal(t, "200", faultGet(t, srv.Client(), srv.URL+"/rest/api/3/issue/10001/comment").outcome(), "the cap still counts requests that ended")
	assert.Equal(t, FaultCounts{Throttled: 2}, h.Counts())
}

func TestEndpointOf(t *testing.T) {
	t.Parallel()
	for path, want := range map[string]string{
		"/rest/api/3/issue/10001/comment":                "/rest/api/3/issue/{id}/comment",
		"/rest/api/2/issue/PROJ-12/changelog":            "/rest/api/2/issue/{id}/changelog",
		"/ex/jira/c-1d/rest/api/3/project/10000/version": "/rest/api/3/project/{id}/version",
		"/jira/rest/api/2/search":                        "/rest/api/2/search",
		"/rest/api/3/issue/bulkfetch":                    "/rest/api/3/issue/bulkfetch",
	} {
		assert.Equal(t, want, endpointOf(path), path)
	}
}

// TestFaultsMaxInFlightRefusedHoldNoSlot: a refused request takes the
// latency to be answered but is not counted while it does, so a request
// arriving then, with the slot free, passes.
func TestFaultsMaxInFlightRefusedHoldNoSlot(t *testing.T) {
	t.Parallel()
	arrived, releaseA, releaseB, sleptB := make(chan struct{}), make(chan struct{}), make(chan struct{}), make(chan struct{})
	var sleeps, calls atomic.Int64
	sleep := func(ctx context.Context, d time.Duration) {
		if sleeps.Add(1) == 2 { // B's latency
			close(sleptB)
			<-releaseB
		}
	}
	h := Faults{MaxInFlight: 1, Latency: time.Millisecond}.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 { // A
			close(arrived)
			<-releaseA
		}
		_, _ = w.Write([]byte("{}"))
	}), nil, sleep)
	srv := faultServer(t, h)
	get := func() <-chan faultResult {
		ch := make(chan faultResult, 1)
		go func() { ch <- faultGet(t, srv.Client(), srv.URL) }()
		return ch
	}

	a := get()
	<-arrived
	b := get() // refused: A holds the one slot
	<-sleptB
	close(releaseA)
	assert.Equal(t, "200", (<-a).outcome())
	assert.Equal(t, "200", (<-get()).outcome(), "a refused request still waiting out its latency held the slot")
	close(releaseB)
	assert.Equal(t, "429", (<-b).outcome())
	assert.Equal(t, FaultCounts{Throttled: 1, Delayed: 3}, h.Counts())
}

func TestFaultsFail(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	h := Faults{Seed: 7, FailRate: 1, RetryAfter: 3 * time.Second}.Middleware(faultTestHandler([]byte("x"), &calls), nil, nil)
	srv := faultServer(t, h)

	const n = 300
	seen := map[string]int{}
	for range n {
		res := faultGet(t, srv.Client(), srv.URL+"/rest/api/3/issue/10001")
		require.NoError(t, res.err)
		seen[res.outcome()]++
		ct, ra := res.header.Get("Content-Type"), res.header.Get("Retry-After")
		switch res.status {
		case 500:
			assert.Equal(t, `{"errorMessages":["Internal server error"],"errors":{}}`, string(res.body))
			assert.Equal(t, "application/json;charset=UTF-8", ct)
			assert.Empty(t, ra)
		case 502, 503:
			if ct == "text/html" {
				want := "<html><body><h1>" + strconv.Itoa(res.status) + " " + http.StatusText(res.status) + "</h1></body></html>"
				assert.Equal(t, want, string(res.body))
			} else {
				assert.Equal(t, "application/json;charset=UTF-8", ct)
				assert.True(t, json.Valid(res.body), "%s", res.body)
				assert.Contains(t, string(res.body), `"errorMessages":[`)
			}
			if res.status == 502 {
				assert.Empty(t, ra)
			} else if ra != "" {
				assert.Equal(t, "3", ra)
			}
		default:
			t.Fatalf("unexpected status %d", res.status)
		}
	}
	// Every variant shows up.
	for _, o := range []string{"500", "502", "502/html", "503", "503/retry", "503/html", "503/html/retry"} {
		assert.Positive(t, seen[o], "outcome %s never seen: %v", o, seen)
	}
	assert.Zero(t, calls.Load(), "a failed request must not reach the handler")
	assert.Equal(t, FaultCounts{Failed: n}, h.Counts())
}

func TestFaultsCut(t *testing.T) {
	t.Parallel()
	body := faultTestBody(100_001)
	var calls atomic.Int64
	h := Faults{CutRate: 1}.Middleware(faultTestHandler(body, &calls), nil, nil)
	srv := faultServer(t, h)

	for range 5 {
		resp, err := srv.Client().Get(srv.URL + "/rest/api/3/issue/10001/changelog")
		require.NoError(t, err, "status and headers arrive intact")
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, "real", resp.Header.Get("X-Sim"))
		assert.Equal(t, int64(len(body)), resp.ContentLength)
		got, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		require.ErrorIs(t, err, io.ErrUnexpectedEOF)
		assert.Len(t, got, len(body)/2)
		assert.Equal(t, body[:len(got)], got, "the part that arrives is the real body")
	}
	assert.Equal(t, int64(5), calls.Load(), "a cut request runs the real handler")
	assert.Equal(t, FaultCounts{Cut: 5}, h.Counts())
}

// TestFaultsStall: a stalled answer sends nothing, or its status, headers
// and half its body, then stays silent: a client gets out only by its own
// timeout. Closed after StallFor, a stall reads as a cut.
func TestFaultsStall(t *testing.T) {
	t.Parallel()
	body := faultTestBody(100_001)
	var calls atomic.Int64
	h := Faults{Seed: 4, StallRate: 1}.Middleware(faultTestHandler(body, &calls), nil, nil)
	srv := faultServer(t, h)
	client := &http.Client{Timeout: 100 * time.Millisecond}
	early, late := 0, 0
	for range 8 {
		began := time.Now()
		// POSTs with a body, like most of the tap's: the server must still
		// notice the client hanging up.
		resp, err := client.Post(srv.URL+"/rest/api/3/issue/10001/changelog", "application/json", strings.NewReader(`{"ids": [1, 2, 3]}`))
		if err != nil {
			early++ // nothing came: the timeout ends the wait for headers
			assert.ErrorContains(t, err, "Client.Timeout exceeded")
		} else {
			late++
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			got, err := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			require.Error(t, err, "the body never ends")
			assert.ErrorContains(t, err, "Client.Timeout")
			assert.Equal(t, body[:len(got)], got, "what arrives is the real body")
			assert.Less(t, len(got), len(body))
		}
		assert.GreaterOrEqual(t, time.Since(began), 100*time.Millisecond, "only the client's timeout ends it")
	}
	assert.Positive(t, early, "some stall before any byte")
	assert.Positive(t, late, "some stall mid-body")
	assert.Equal(t, FaultCounts{Stalled: 8}, h.Counts())
	began := time.Now()
	srv.Close() // waits for the handlers
	assert.Less(t, time.Since(began), 10*time.Second, "a stall ends when its client hangs up, not after StallFor")

	short := Faults{StallRate: 1, StallFor: 20 * time.Millisecond}.Middleware(faultTestHandler(body, &calls), nil, nil)
	srv2 := faultServer(t, short)
	resp, err := srv2.Client().Get(srv2.URL + "/rest/api/3/issue/10001/changelog")
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		_ = resp.Body.Close()
	}
	require.Error(t, err, "closed after StallFor, the answer is cut short")
	assert.NotContains(t, err.Error(), "Timeout")
}

func TestFaultsCutWithoutBody(t *testing.T) {
	t.Parallel()
	h := Faults{CutRate: 1}.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}), nil, nil)
	srv := faultServer(t, h)

	// A fresh client: Go's transport retries idempotent requests whose
	// reused connection closes before any response.
	resp, err := srv.Client().Get(srv.URL + "/rest/api/3/issue/10001")
	if err == nil {
		_ = resp.Body.Close()
	}
	require.Error(t, err)
	assert.Equal(t, FaultCounts{Cut: 1}, h.Counts())
}

func TestFaultsCutHTTP2(t *testing.T) {
	t.Parallel()
	body := faultTestBody(100_000)
	var calls atomic.Int64
	srv := httptest.NewUnstartedServer(Faults{CutRate: 1}.Middleware(faultTestHandler(body, &calls), nil, nil))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)

	resp, err := srv.Client().Get(srv.URL + "/rest/api/3/project")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, 2, resp.ProtoMajor, "test needs HTTP/2, which cannot hijack")
	got, err := io.ReadAll(resp.Body)
	require.Error(t, err, "the stream is reset instead of ending cleanly")
	assert.Less(t, len(got), len(body))
}

func TestFaultsNearLimit(t *testing.T) {
	t.Parallel()
	for _, rate := range []float64{0, 1} {
		t.Run(strconv.FormatFloat(rate, 'g', -1, 64), func(t *testing.T) {
			t.Parallel()
			var calls atomic.Int64
			body := []byte(`{"accountId":"5b10a2844c20165700ede21g"}`)
			srv := faultServer(t, Faults{NearLimitRate: rate}.Middleware(faultTestHandler(body, &calls), nil, nil))
			for range 20 {
				res := faultGet(t, srv.Client(), srv.URL+"/rest/api/3/myself")
				require.NoError(t, res.err)
				require.Equal(t, body, res.body)
				if rate == 1 {
					assert.Equal(t, "true", res.header.Get("X-RateLimit-NearLimit"))
				} else {
					assert.Empty(t, res.header.Values("X-RateLimit-NearLimit"))
				}
			}
		})
	}
}

func TestFaultsRates(t *testing.T) {
	t.Parallel()
	const n, rate, tol = 2000, 0.2, 0.03
	cases := []struct {
		name    string
		f       Faults
		outcome func(string) bool
		count   func(FaultCounts) int64
	}{
		{"throttle", Faults{Seed: 1, ThrottleRate: rate}, func(o string) bool { return o == "429" }, func(c FaultCounts) int64 { return c.Throttled }},
		{"fail", Faults{Seed: 2, FailRate: rate}, func(o string) bool { return strings.HasPrefix(o, "50") }, func(c FaultCounts) int64 { return c.Failed }},
		{"cut", Faults{Seed: 3, CutRate: rate}, func(o string) bool { return o == "cut" }, func(c FaultCounts) int64 { return c.Cut }},
		{"near limit", Faults{Seed: 4, NearLimitRate: rate}, func(o string) bool { return o == "200/near" }, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var calls atomic.Int64
			h := tc.f.Middleware(faultTestHandler([]byte(`{"ok":true}`), &calls), nil, nil)
			srv := faultServer(t, h)
			hits := 0
			for range n {
				o := faultGet(t, srv.Client(), srv.URL+"/rest/api/3/field").outcome()
				if tc.outcome(o) {
					hits++
				} else {
					require.Equal(t, "200", o, "only the configured fault is injected")
				}
			}
			assert.InDelta(t, rate, float64(hits)/n, tol)
			if tc.count != nil {
				assert.Equal(t, int64(hits), tc.count(h.Counts()))
			}
		})
	}
}

func TestFaultsDeterministic(t *testing.T) {
	t.Parallel()
	f := Faults{Seed: 42, ThrottleRate: 0.1, FailRate: 0.1, CutRate: 0.1, NearLimitRate: 0.3}
	const n = 300

	a, _ := faultOutcomes(t, f, n, 0)
	b, _ := faultOutcomes(t, f, n, 0)
	assert.Equal(t, a, b, "same seed, same sequence")

	// Exempt requests consume no randomness, so interleaving them changes
	// nothing.
	withExempt, _ := faultOutcomes(t, f, n, 3)
	assert.Equal(t, a, withExempt)

	// Every request draws the same numbers, so adding latency does not move
	// the other faults.
	lat := f
	lat.Latency, lat.Jitter = 50*time.Millisecond, 20*time.Millisecond
	withLatency, d1 := faultOutcomes(t, lat, n, 0)
	assert.Equal(t, a, withLatency)
	_, d2 := faultOutcomes(t, lat, n, 0)
	assert.Equal(t, d1, d2, "same seed, same delays")

	other := f
	other.Seed = 43
	c, _ := faultOutcomes(t, other, n, 0)
	assert.NotEqual(t, a, c, "different seed, different sequence")

	// The mix contains every kind of outcome, so the comparisons above mean
	// something.
	kinds := map[string]bool{}
	for _, o := range a {
		kinds[strings.SplitN(o, "/", 2)[0]] = true
	}
	for _, k := range []string{"200", "429", "500", "502", "503", "cut"} {
		assert.True(t, kinds[k], "no %s in %v", k, kinds)
	}
}

func TestFaultsLatencyJitter(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name            string
		latency, jitter time.Duration
	}{
		{"fixed", 40 * time.Millisecond, 0},
		{"jitter", 100 * time.Millisecond, 30 * time.Millisecond},
		{"jitter wider than latency", 10 * time.Millisecond, 50 * time.Millisecond},
		{"jitter only", 0, 20 * time.Millisecond},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			const n = 500
			var calls atomic.Int64
			sl := &faultSleeper{}
			// Faults get latency too.
			h := Faults{Seed: 9, Latency: tc.latency, Jitter: tc.jitter, FailRate: 0.3}.
				Middleware(faultTestHandler([]byte("{}"), &calls), nil, sl.sleep)
			srv := faultServer(t, h)
			for range n {
				require.NoError(t, faultGet(t, srv.Client(), srv.URL+"/rest/api/3/status").err)
			}
			ds := sl.calls()
			require.NotEmpty(t, ds)
			assert.Equal(t, int64(len(ds)), h.Counts().Delayed)
			lo, hi := max(tc.latency-tc.jitter, 0), tc.latency+tc.jitter
			for _, d := range ds {
				require.Positive(t, d, "zero delays are not slept")
				require.GreaterOrEqual(t, d, lo)
				require.LessOrEqual(t, d, hi)
			}
			if tc.latency > tc.jitter {
				assert.Len(t, ds, n, "every request is delayed")
			} else {
				assert.Less(t, len(ds), n, "delays below zero are clamped to none")
			}
			if tc.jitter > 0 {
				// The draws spread over the whole interval.
				minD, maxD := slicesMinMax(ds)
				span := tc.latency + tc.jitter - max(tc.latency-tc.jitter, 0)
				assert.Less(t, minD, lo+span/10)
				assert.Greater(t, maxD, hi-span/10)
			}
		})
	}
}

func slicesMinMax(ds []time.Duration) (time.Duration, time.Duration) {
	lo, hi := time.Duration(math.MaxInt64), time.Duration(math.MinInt64)
	for _, d := range ds {
		lo, hi = min(lo, d), max(hi, d)
	}
	return lo, hi
}

func TestFaultsDefaultSleep(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	h := Faults{Latency: 30 * time.Millisecond}.Middleware(faultTestHandler([]byte("{}"), &calls), nil, nil)
	srv := faultServer(t, h)
	start := time.Now()
	require.NoError(t, faultGet(t, srv.Client(), srv.URL+"/rest/api/3/myself").err)
	assert.GreaterOrEqual(t, time.Since(start), 30*time.Millisecond)

	// A client that gives up ends the sleep and never reaches the handler.
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	slow := Faults{Latency: time.Hour}.Middleware(faultTestHandler([]byte("{}"), &calls), nil, nil)
	req := httptest.NewRequestWithContext(ctx, http.MethodGet, "/rest/api/3/myself", nil)
	start = time.Now()
	slow.ServeHTTP(httptest.NewRecorder(), req)
	assert.Less(t, time.Since(start), 10*time.Second)
	assert.Equal(t, int64(1), calls.Load())
}

func TestFaultsExempt(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	sl := &faultSleeper{}
	exempt := func(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/__sim/") }
	body := faultTestBody(10_000)
	h := Faults{Latency: time.Second, ThrottleRate: 1, FailRate: 1, CutRate: 1, NearLimitRate: 1}.
		Middleware(faultTestHandler(body, &calls), exempt, sl.sleep)
	srv := faultServer(t, h)

	for range 20 {
		res := faultGet(t, srv.Client(), srv.URL+"/__sim/stats")
		require.NoError(t, res.err)
		require.Equal(t, http.StatusOK, res.status)
		require.Equal(t, body, res.body)
		require.Empty(t, res.header.Values("X-RateLimit-NearLimit"))
	}
	assert.Empty(t, sl.calls())
	assert.Equal(t, FaultCounts{}, h.Counts())

	// The same server does fault other paths.
	assert.Equal(t, "429", faultGet(t, srv.Client(), srv.URL+"/rest/api/3/myself").outcome())
	assert.Equal(t, FaultCounts{Throttled: 1, Delayed: 1}, h.Counts())
}

func TestFaultsNeverChangeSuccessfulBody(t *testing.T) {
	t.Parallel()
	body := faultTestBody(64 << 10)
	var calls atomic.Int64
	sl := &faultSleeper{}
	h := Faults{Seed: 5, Latency: time.Millisecond, Jitter: time.Millisecond, ThrottleRate: 0.2, FailRate: 0.2, CutRate: 0.2, NearLimitRate: 0.5}.
		Middleware(faultTestHandler(body, &calls), nil, sl.sleep)
	srv := faultServer(t, h)

	ok := 0
	for range 300 {
		res := faultGet(t, srv.Client(), srv.URL+"/rest/api/3/search/jql")
		if res.err != nil || res.status != http.StatusOK {
			continue
		}
		ok++
		require.Equal(t, body, res.body)
		require.Equal(t, "application/octet-stream", res.header.Get("Content-Type"))
		require.Equal(t, "real", res.header.Get("X-Sim"))
	}
	assert.Positive(t, ok)
}

func TestFaultsConcurrentCounts(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	h := Faults{Seed: 11, ThrottleRate: 0.25, FailRate: 0.25, CutRate: 0.25}.
		Middleware(faultTestHandler([]byte(`{"values":[]}`), &calls), nil, nil)
	srv := faultServer(t, h)

	var mu sync.Mutex
	seen := map[string]int64{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			c := &http.Client{Transport: &http.Transport{}}
			defer c.CloseIdleConnections()
			for range 50 {
				resp, err := c.Get(srv.URL + "/rest/api/3/project/search")
				o := "cut"
				if err == nil {
					_, err = io.ReadAll(resp.Body)
					_ = resp.Body.Close()
					if err == nil {
						o = strconv.Itoa(resp.StatusCode)
					}
				}
				mu.Lock()
				seen[o]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	got := h.Counts()
	assert.Equal(t, seen["429"], got.Throttled)
	assert.Equal(t, seen["500"]+seen["502"]+seen["503"], got.Failed)
	assert.Equal(t, seen["cut"], got.Cut)
	assert.Equal(t, seen["200"]+seen["cut"], calls.Load())
}

func TestFaultsValidateAndClamp(t *testing.T) {
	t.Parallel()
	require.NoError(t, Faults{}.Validate())
	require.NoError(t, Faults{Seed: 1, Latency: time.Second, Jitter: time.Second, FailRate: 1, ThrottleRate: 0.5, CutRate: 0, RetryAfter: time.Minute, NearLimitRate: 1}.Validate())
	for name, f := range map[string]Faults{
		"rate above 1": {FailRate: 1.5},
		"negative":     {ThrottleRate: -0.1},
		"NaN":          {CutRate: math.NaN()},
		"near NaN":     {NearLimitRate: math.NaN()},
		"latency":      {Latency: -time.Second},
		"jitter":       {Jitter: -time.Second},
		"retry after":  {RetryAfter: -time.Second},
		"in flight":    {MaxInFlight: -1},
		"endpoint":     {EndpointMaxInFlight: -1},
	} {
		assert.Error(t, f.Validate(), name)
	}

	var calls atomic.Int64
	over := faultServer(t, Faults{ThrottleRate: 7}.Middleware(faultTestHandler([]byte("{}"), &calls), nil, nil))
	nan := faultServer(t, Faults{ThrottleRate: math.NaN(), FailRate: -1}.Middleware(faultTestHandler([]byte("{}"), &calls), nil, nil))
	for range 20 {
		assert.Equal(t, "429", faultGet(t, over.Client(), over.URL).outcome())
		assert.Equal(t, "200", faultGet(t, nan.Client(), nan.URL).outcome())
	}
}
