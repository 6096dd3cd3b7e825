package jira

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	testClientSecret = "client-s3cr3t-7731"
	testRefresh      = "refresh-0-s3cr3t"
)

var oauthRetry = RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond,
	MaxRetryAfter: 5 * time.Millisecond, MaxElapsed: time.Minute}

// tokenServer is a token endpoint that rotates refresh tokens: each one
// works once.
type tokenServer struct {
	t        *testing.T
	mu       sync.Mutex
	valid    map[string]bool
	n        int // grants
	requests atomic.Int64
	expires  int           // expires_in announced
	delay    time.Duration // before answering, to make callers overlap
	// reply, when set, answers instead of the grant logic.
	reply func(w http.ResponseWriter, n int64) bool
	url   *url.URL
}

func newTokenServer(t *testing.T) *tokenServer {
	ts := &tokenServer{t: t, valid: map[string]bool{testRefresh: true}, expires: 3600}
	srv := httptest.NewServer(ts)
	t.Cleanup(srv.Close)
	ts.url, _ = url.Parse(srv.URL + "/oauth/token")
	return ts
}

func (ts *tokenServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := ts.requests.Add(1)
	time.Sleep(ts.delay)
	if ts.reply != nil && ts.reply(w, n) {
		return
	}
	var body map[string]string
	if !assert.Equal(ts.t, "application/json", r.Header.Get("Content-Type")) ||
		!assert.NoError(ts.t, json.NewDecoder(r.Body).Decode(&body)) {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	assert.Equal(ts.t, "refresh_token", body["grant_type"])
	assert.Equal(ts.t, "client-1", body["client_id"])
	assert.Equal(ts.t, testClientSecret, body["client_secret"])
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if !ts.valid[body["refresh_token"]] {
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, `{"error":"invalid_grant","error_description":"Unknown or invalid refresh token."}`)
		return
	}
	delete(ts.valid, body["refresh_token"])
	ts.n++
	next := fmt.Sprintf("refresh-%d-s3cr3t", ts.n)
	ts.valid[next] = true
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": fmt.Sprintf("access-%d", ts.n), "token_type": "Bearer",
		"expires_in": ts.expires, "refresh_token": next})
}

func (ts *tokenServer) grants() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.n
}

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func newSource(t *testing.T, ts *tokenServer, mutate func(*OAuthOptions)) (*TokenSource, *fakeClock, *bytes.Buffer) {
	t.Helper()
	clock := &fakeClock{now: time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)}
	var logs bytes.Buffer
	opts := OAuthOptions{TokenURL: ts.url, ClientID: "client-1", ClientSecret: testClientSecret, RefreshToken: testRefresh,
		Retry: oauthRetry, Now: clock.Now, Log: slog.New(slog.NewTextHandler(&syncWriter{w: &logs}, nil))}
	if mutate != nil {
		mutate(&opts)
	}
	src, err := NewTokenSource(opts)
	require.NoError(t, err)
	return src, clock, &logs
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func TestTokenSourceLifecycle(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		access string          // the config's access token
		steps  []time.Duration // clock moves before each Token call
		want   []string        // the token each call returns
		grants int
	}{
		{"refreshes on first use without an access token", "", []time.Duration{0, time.Minute}, []string{"access-1", "access-1"}, 1},
		{"uses the config's access token without refreshing", "config-access", []time.Duration{0, 10 * time.Hour}, []string{"config-access", "config-access"}, 0},
		// expires_in 100 s: replaced 10 s (a tenth) before it expires.
		{"refreshes before expiry, not after each call", "", []time.Duration{0, 89 * time.Second, 2 * time.Second, 50 * time.Second, 40 * time.Second}, []string{"access-1", "access-1", "access-2", "access-2", "access-3"}, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ts := newTokenServer(t)
			ts.expires = 100
			src, clock, _ := newSource(t, ts, func(o *OAuthOptions) { o.AccessToken = tc.access })
			for i, d := range tc.steps {
				clock.Add(d)
				tok, err := src.Token(t.Context())
				require.NoError(t, err)
				assert.Equal(t, tc.want[i], tok, "call %d", i)
			}
			assert.Equal(t, tc.grants, ts.grants(), "each grant used the refresh token the one before returned")
			assert.EqualValues(t, tc.grants, src.Refreshes())
		})
	}
}

// TestTokenSourceOneRefreshAtATime has many callers find the token expired
// (or refused) at once: exactly one refresh runs, and every caller gets its
// token. A second refresh would reuse the spent refresh token and fail.
func TestTokenSourceOneRefreshAtATime(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"expired", "refused"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			ts := newTokenServer(t)
			ts.expires = 100
			src, clock, _ := newSource(t, ts, nil)
			first, err := src.Token(t.Context())
			require.NoError(t, err)
			ts.delay = 20 * time.Millisecond
			if how == "expired" {
				clock.Add(time.Hour)
			}
			var wg sync.WaitGroup
			got := make([]string, 32)
			for i := range got {
				wg.Go(func() {
					if how == "refused" {
						src.invalidate(first)
					}
					tok, err := src.Token(t.Context())
					assert.NoError(t, err)
					got[i] = tok
				})
			}
			wg.Wait()
			assert.Equal(t, 2, ts.grants())
			for _, tok := range got {
				assert.Equal(t, "access-2", tok)
			}
		})
	}
}

func TestTokenSourceErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		reply    func(w http.ResponseWriter, n int64) bool
		want     []string
		requests int64
	}{
		{"refresh token refused", nil, // the server knows another refresh token
			[]string{"HTTP 403 Forbidden: invalid_grant (Unknown or invalid refresh token.)", "authorize the app again", "set oauth_token_file"}, 1},
		{"client refused", func(w http.ResponseWriter, _ int64) bool {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"error":"access_denied","error_description":"Unauthorized"}`)
			return true
		}, []string{"HTTP 401 Unauthorized: access_denied (Unauthorized)", "check oauth_client_id and oauth_client_secret"}, 1},
		{"endpoint down", func(w http.ResponseWriter, _ int64) bool {
			w.WriteHeader(http.StatusServiceUnavailable)
			return true
		}, []string{"HTTP 503 Service Unavailable", "gave up after 3 attempts"}, 3},
		{"not JSON", func(w http.ResponseWriter, _ int64) bool {
			_, _ = io.WriteString(w, "<html>"+testClientSecret+"</html>")
			return true
		}, []string{"HTTP 200", "the token response is not a JSON object"}, 1},
		{"no access token", func(w http.ResponseWriter, _ int64) bool {
			_, _ = io.WriteString(w, `{"refresh_token":"`+testRefresh+`x","expires_in":3600}`)
			return true
		}, []string{"the token response has no access_token"}, 1},
		{"description quoting the secret", func(w http.ResponseWriter, _ int64) bool {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"error":"invalid_request","error_description":"bad secret `+testClientSecret+` for\nrefresh `+testRefresh+`"}`)
			return true
		}, []string{"HTTP 400 Bad Request: invalid_request (bad secret REDACTED for refresh REDACTED)"}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ts := newTokenServer(t)
			ts.reply = tc.reply
			refresh := testRefresh
			if tc.reply == nil {
				refresh = "refresh-spent-s3cr3t"
			}
			src, _, _ := newSource(t, ts, func(o *OAuthOptions) { o.RefreshToken = refresh })
			_, err := src.Token(t.Context())
			require.Error(t, err)
			var terr *TokenError
			require.ErrorAs(t, err, &terr)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.Contains(t, err.Error(), "refreshing the OAuth 2.0 access token at "+ts.url.String())
			for _, s := range []string{testClientSecret, refresh, "s3cr3t"} {
				assert.NotContains(t, err.Error(), s)
			}
			assert.Equal(t, tc.requests, ts.requests.Load())
			// A failed refresh is not tried again by every later request.
			_, err2 := src.Token(t.Context())
			assert.Equal(t, err, err2)
			assert.Equal(t, tc.requests, ts.requests.Load())
		})
	}
}

func TestTokenSourceRetriesTransientFailures(t *testing.T) {
	t.Parallel()
	ts := newTokenServer(t)
	ts.reply = func(w http.ResponseWriter, n int64) bool {
		switch n {
		case 1:
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
			return true
		case 2:
			w.WriteHeader(http.StatusBadGateway)
			return true
		}
		return false
	}
	src, _, _ := newSource(t, ts, nil)
	tok, err := src.Token(t.Context())
	require.NoError(t, err)
	assert.Equal(t, "access-1", tok)
	assert.EqualValues(t, 3, ts.requests.Load())
}

func TestTokenFile(t *testing.T) {
	t.Parallel()
	ts := newTokenServer(t)
	path := filepath.Join(t.TempDir(), "tokens.json")
	src, _, logs := newSource(t, ts, func(o *OAuthOptions) { o.TokenFile = path })
	_, err := src.Token(t.Context())
	require.NoError(t, err)
	assert.NotContains(t, logs.String(), "level=WARN", "no warning: the rotated token was kept")

	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	saved, err := readTokenFile(path)
	require.NoError(t, err)
	assert.Equal(t, "refresh-1-s3cr3t", saved.RefreshToken)
	assert.Equal(t, "access-1", saved.AccessToken)
	assert.Equal(t, time.Date(2026, 11, 28, 13, 0, 0, 0, time.UTC), saved.ExpiresAt)
	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary file is left behind")

	// The next run starts from the file: the access token is still good
	// (no refresh), and when it is not, the kept refresh token works.
	next, clock, _ := newSource(t, ts, func(o *OAuthOptions) { o.TokenFile = path })
	tok, err := next.Token(t.Context())
	require.NoError(t, err)
	assert.Equal(t, "access-1", tok)
	assert.Equal(t, 1, ts.grants())
	clock.Add(2 * time.Hour)
	tok, err = next.Token(t.Context())
	require.NoError(t, err)
	assert.Equal(t, "access-2", tok)
	saved, err = readTokenFile(path)
	require.NoError(t, err)
	assert.Equal(t, "refresh-2-s3cr3t", saved.RefreshToken)

	// A new refresh token in the config (the app was authorized again)
	// wins over the file's.
	ts.mu.Lock()
	ts.valid["fresh-grant"] = true
	ts.mu.Unlock()
	again, _, logs := newSource(t, ts, func(o *OAuthOptions) { o.TokenFile = path; o.RefreshToken = "fresh-grant" })
	tok, err = again.Token(t.Context())
	require.NoError(t, err)
	assert.Equal(t, "access-3", tok)
	assert.Contains(t, logs.String(), "refresh_token in the config changed")
}

func TestTokenFileErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		name    string
		content string
	}{
		{"not JSON", "{" + testRefresh},
		{"no refresh token", `{"access_token": "a"}`},
		{"a token with a line break", `{"refresh_token": "a\nb"}`},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(dir, fmt.Sprintf("tokens-%d.json", i))
			require.NoError(t, os.WriteFile(path, []byte(tc.content), 0o600))
			_, err := NewTokenSource(OAuthOptions{TokenURL: &url.URL{Scheme: "https", Host: "x"}, RefreshToken: "r", TokenFile: path})
			require.Error(t, err)
			assert.Contains(t, err.Error(), "is not a token file written by tap-jira")
			assert.Contains(t, err.Error(), path)
			assert.NotContains(t, err.Error(), testRefresh)
		})
	}
	t.Run("unwritable", func(t *testing.T) {
		t.Parallel()
		ts := newTokenServer(t)
		path := filepath.Join(t.TempDir(), "missing-dir", "tokens.json")
		src, _, _ := newSource(t, ts, func(o *OAuthOptions) { o.TokenFile = path })
		_, err := src.Token(t.Context())
		require.Error(t, err)
		assert.Contains(t, err.Error(), "the new refresh token could not be kept")
	})
}

func TestRotationWarningWithoutTokenFile(t *testing.T) {
	t.Parallel()
	ts := newTokenServer(t)
	ts.expires = 100
	src, clock, logs := newSource(t, ts, nil)
	for range 3 {
		_, err := src.Token(t.Context())
		require.NoError(t, err)
		clock.Add(time.Hour)
	}
	assert.Equal(t, 1, strings.Count(logs.String(), "level=WARN"), "one warning per run: %s", logs.String())
	assert.Contains(t, logs.String(), "Set oauth_token_file")
	assert.NotContains(t, logs.String(), "s3cr3t")
}

// TestOAuthTransport checks that a refused token is replaced once, with the
// request (and its body) sent again.
func TestOAuthTransport(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		accept     func(tok string) bool
		wantStatus int
		wantCalls  int
	}{
		{"refused token replaced", func(tok string) bool { return tok == "access-1" }, http.StatusOK, 2},
		{"fresh token refused too", func(string) bool { return false }, http.StatusUnauthorized, 2},
		{"accepted", func(string) bool { return true }, http.StatusOK, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ts := newTokenServer(t)
			var calls atomic.Int64
			jira := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				body, _ := io.ReadAll(r.Body)
				assert.JSONEq(t, `{"jql":"x"}`, string(body), "the body is sent whole every time")
				tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
				if !tc.accept(tok) {
					w.WriteHeader(http.StatusUnauthorized)
					return
				}
				_, _ = io.WriteString(w, "{}")
			}))
			t.Cleanup(jira.Close)
			c, _ := staleClient(t, ts, jira.URL)
			err := search(t, c)
			if tc.wantStatus == http.StatusOK {
				require.NoError(t, err)
			} else {
				var apiErr *APIError
				require.ErrorAs(t, err, &apiErr)
				assert.Equal(t, tc.wantStatus, apiErr.Status)
			}
			assert.EqualValues(t, tc.wantCalls, calls.Load())
		})
	}
}

// TestTokenErrorStopsRequests checks that a refresh failure is not retried
// as a network error by the Jira client.
func TestTokenErrorStopsRequests(t *testing.T) {
	t.Parallel()
	ts := newTokenServer(t)
	ts.reply = func(w http.ResponseWriter, _ int64) bool {
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, `{"error":"invalid_grant"}`)
		return true
	}
	src, _, _ := newSource(t, ts, nil)
	base, _ := url.Parse("http://127.0.0.1:1")
	c, err := New(Options{BaseURL: base, OAuth: src, Retry: oauthRetry})
	require.NoError(t, err)
	err = c.Get(t.Context(), "rest/api/2/myself", url.Values{"expand": {"groups"}}, &map[string]any{})
	var terr *TokenError
	require.ErrorAs(t, err, &terr)
	assert.Equal(t, "GET /rest/api/2/myself: "+terr.Error(), err.Error(), "no URL or query wrapped around it")
	assert.EqualValues(t, 1, ts.requests.Load())
	assert.EqualValues(t, 0, c.Stats().Retries)
}

func TestParseTokenResponse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		body string
		want tokenResponse
		err  string
	}{
		{`{"access_token":"a","token_type":"Bearer","expires_in":3600,"refresh_token":"r","scope":"x"}`, tokenResponse{"a", "r", 3600}, ""},
		{`{"access_token":"a","token_type":"bearer"}`, tokenResponse{AccessToken: "a"}, ""},
		{`{"access_token":"a","expires_in":"3600"}`, tokenResponse{AccessToken: "a", ExpiresIn: 3600}, ""},
		{`{"access_token":"a","expires_in":"soon"}`, tokenResponse{}, "expires_in is not a number"},
		{`{"access_token":"a","expires_in":-1}`, tokenResponse{}, "expires_in is not a number of seconds"},
		{`{"access_token":"a","expires_in":1e300}`, tokenResponse{AccessToken: "a", ExpiresIn: maxExpiresIn}, ""},
		{`{"access_token":"a","token_type":"mac"}`, tokenResponse{}, "token_type is not Bearer"},
		{`{"access_token":"a b"}`, tokenResponse{}, "access_token has characters a token cannot have"},
		{`{"access_token":"a","refresh_token":7}`, tokenResponse{}, "refresh_token is not a string"},
		{`{"access_token":""}`, tokenResponse{}, "has no access_token"},
		{`[]`, tokenResponse{}, "not a JSON object"},
		{`null`, tokenResponse{}, "not a JSON object"},
	}
	for _, tc := range tests {
		t.Run(tc.body, func(t *testing.T) {
			t.Parallel()
			got, err := parseTokenResponse([]byte(tc.body))
			if tc.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

// FuzzTokenResponse holds the token response parser to its promises: no
// panic, a usable token on success, and errors that never quote the body.
func FuzzTokenResponse(f *testing.F) {
	f.Add([]byte(`{"access_token":"eyJhbGciOi","token_type":"Bearer","expires_in":3600,"refresh_token":"r-1","scope":"read:jira-work offline_access"}`))
	f.Add([]byte(`{"access_token":"a\u0000b"}`))
	f.Add([]byte(`{"access_token":"a","expires_in":1e400}`))
	f.Add([]byte(`{"error":"invalid_grant"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := parseTokenResponse(data)
		if err != nil {
			// Error texts are fixed phrases; none repeats input bytes
			// beyond a key name.
			assert.LessOrEqual(t, len(err.Error()), 120)
			return
		}
		assert.NotEmpty(t, got.AccessToken)
		assert.True(t, validToken(got.AccessToken))
		assert.True(t, validToken(got.RefreshToken))
		assert.GreaterOrEqual(t, got.ExpiresIn, int64(0))
		assert.LessOrEqual(t, got.ExpiresIn, int64(maxExpiresIn))
		code, desc := parseTokenError(data)
		assert.LessOrEqual(t, len([]rune(code)), 65)
		assert.LessOrEqual(t, len([]rune(desc)), 201)
	})
}

// TestOAuthTransportFollowsNewerTokens: with many requests in flight, the
// token a refused request is retried with can itself expire before it
// arrives; while other requests keep refreshing, the request follows the
// newest token instead of failing the run (tokens that jira-sim expires
// every 12 requests made a sync fail now and then).
func TestOAuthTransportFollowsNewerTokens(t *testing.T) {
	t.Parallel()
	ts := newTokenServer(t)
	var src *TokenSource
	var calls atomic.Int64
	jira := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 2 {
			// Meanwhile other requests refreshed: this one's token is gone.
			tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			src.invalidate(tok)
			_, err := src.Token(r.Context())
			assert.NoError(t, err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		_, _ = io.WriteString(w, "{}")
	}))
	t.Cleanup(jira.Close)
	var c *Client
	c, src = staleClient(t, ts, jira.URL)
	require.NoError(t, search(t, c))
	assert.EqualValues(t, 3, calls.Load())
	assert.Equal(t, 2, ts.grants(), "the request refreshed nothing itself: it followed the newer tokens")
}

// TestOAuthTransportRefreshesATokenThatExpiredInUse: with many requests in
// flight, the token a request got by its own refresh may be taken by Jira
// for others and expire before this one is tried again. That is an
// expiry, not a refusal: the request refreshes again and goes through.
func TestOAuthTransportRefreshesATokenThatExpiredInUse(t *testing.T) {
	t.Parallel()
	ts := newTokenServer(t)
	var src *TokenSource
	var calls atomic.Int64
	jira := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		switch tok {
		case "access-1":
			src.took(tok) // another request went through with it, then it expired
			w.WriteHeader(http.StatusUnauthorized)
		case "access-2":
			_, _ = io.WriteString(w, "{}")
		default:
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	t.Cleanup(jira.Close)
	var c *Client
	c, src = staleClient(t, ts, jira.URL)
	require.NoError(t, search(t, c))
	assert.EqualValues(t, 3, calls.Load(), "stale, access-1 (expired in use), access-2")
	assert.Equal(t, 2, ts.grants())
}

// staleClient is a client of the Jira at rawURL whose token source starts
// from an access token Jira no longer takes.
func staleClient(t *testing.T, ts *tokenServer, rawURL string) (*Client, *TokenSource) {
	t.Helper()
	src, _, _ := newSource(t, ts, func(o *OAuthOptions) { o.AccessToken = "stale" })
	base, err := url.Parse(rawURL)
	require.NoError(t, err)
	c, err := New(Options{BaseURL: base, OAuth: src, Retry: oauthRetry})
	require.NoError(t, err)
	return c, src
}

// search posts a search through c.
func search(t *testing.T, c *Client) error {
	var out map[string]any
	return c.do(t.Context(), http.MethodPost, "rest/api/2/search", nil, map[string]string{"jql": "x"}, &out)
}
