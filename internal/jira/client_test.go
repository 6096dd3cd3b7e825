package jira

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const token = "api-T0ken-that-must-not-leak"

func newTestClient(t *testing.T, h http.HandlerFunc) *Client {
	t.Helper()
	srv := httptest.NewServer(h) // binds 127.0.0.1
	t.Cleanup(srv.Close)
	base, err := url.Parse(srv.URL + "/jira")
	require.NoError(t, err)
	c, err := New(Options{BaseURL: base, Username: "me@example.com", Password: token, UserAgent: "tap-jira-test", Retry: fastRetry})
	require.NoError(t, err)
	return c
}

func TestGetSendsAuthAndDecodesNumbersExactly(t *testing.T) {
	t.Parallel()
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		assert.True(t, ok)
		assert.Equal(t, "me@example.com", user)
		assert.Equal(t, token, pass)
		assert.Equal(t, "tap-jira-test", r.Header.Get("User-Agent"))
		assert.Equal(t, "/jira/rest/api/2/project/search", r.URL.Path, "the base URL's path prefix is kept")
		assert.Equal(t, "50", r.URL.Query().Get("maxResults"))
		_, _ = w.Write([]byte(`{"values":[{"id":"10001","n":12345678901234567890}],"isLast":true}`))
	})
	var page map[string]any
	require.NoError(t, c.Get(t.Context(), "rest/api/2/project/search", url.Values{"maxResults": {"50"}}, &page))
	values := page["values"].([]any)
	assert.Equal(t, json.Number("12345678901234567890"), values[0].(map[string]any)["n"])
}

func TestGetErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		status  int
		header  map[string]string
		body    string
		status2 int // APIError.Status expected, 0 for a non-API error
		want    string
	}{
		{"401 with Jira's body", 401, nil, `{"errorMessages":["You are not authenticated."],"errors":{}}`, 401, "HTTP 401 Unauthorized: You are not authenticated."},
		{"400 JQL error", 400, nil, `{"errorMessages":["Error in the JQL Query: bad"],"errors":{"jql":"invalid"}}`, 400, "Error in the JQL Query: bad; jql: invalid"},
		{"404 HTML page", 404, nil, `<html><body>Not here</body></html>`, 404, "HTTP 404 Not Found"},
		{"200 with failed login", 200, map[string]string{"X-Seraph-LoginReason": "AUTHENTICATED_FAILED"}, `{}`, 401, "X-Seraph-LoginReason: AUTHENTICATED_FAILED"},
		{"200 that is not JSON", 200, nil, `<html>login</html>`, 0, "response is not JSON"},
		{"200 cut short", 200, nil, `{"values":[{"id":"1"`, 0, "response is not JSON"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			})
			var v map[string]any
			err := c.Get(t.Context(), "rest/api/2/myself", url.Values{"expand": {"groups"}}, &v)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.Contains(t, err.Error(), "/rest/api/2/myself")
			assert.NotContains(t, err.Error(), token)
			var apiErr *APIError
			if tc.status2 == 0 {
				assert.False(t, errors.As(err, &apiErr))
				assert.ErrorIs(t, err, ErrNotJSON)
				return
			}
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, tc.status2, apiErr.Status)
		})
	}
}

func TestServerInfo(t *testing.T) {
	t.Parallel()
	for _, dt := range []struct {
		body  string
		cloud bool
		now   time.Time // zero: the site's clock is unknown
	}{
		{`{"deploymentType":"Cloud","version":"1001.0.0","serverTime":"2026-11-28T04:05:06.789-0800"}`, true, time.Date(2026, 11, 28, 12, 5, 6, 789e6, time.UTC)},
		{`{"deploymentType":"DataCenter","version":"10.3.1","serverTime":"2026-11-28T12:05:06.000+0000"}`, false, time.Date(2026, 11, 28, 12, 5, 6, 0, time.UTC)},
		{`{"deploymentType":"DataCenter","version":"10.3.1"}`, false, time.Time{}},
		{`{"deploymentType":"Cloud","serverTime":"yesterday"}`, true, time.Time{}},
	} {
		c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
			assert.Equal(t, "/jira/rest/api/2/serverInfo", r.URL.Path)
			_, _ = w.Write([]byte(dt.body))
		})
		info, err := c.ServerInfo(t.Context())
		require.NoError(t, err)
		assert.Equal(t, dt.cloud, info.Cloud())
		now, ok := info.Now()
		assert.Equal(t, !dt.now.IsZero(), ok, dt.body)
		assert.True(t, dt.now.Equal(now), "%s: %v", dt.body, now)
	}
}

// TestSiteOffset: the site's clock comes from the Date of its first 2xx
// answer; an answer without one, with one that does not parse, or that is
// not a 2xx does not set it, and a later Date does not move it.
func TestSiteOffset(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		answers []string // Date of each answer: an offset from now, "!" before one for a 503
		want    time.Duration
		known   bool
	}{
		{"an hour ahead", []string{"+1h"}, time.Hour, true},
		{"ten minutes behind", []string{"-10m"}, -10 * time.Minute, true},
		{"the first counts", []string{"-10m", "+1h"}, -10 * time.Minute, true},
		{"no Date", []string{""}, 0, false},
		{"a Date that does not parse, then one that does", []string{"yesterday", "+1h"}, time.Hour, true},
		{"a refusal's Date does not count", []string{"!-10m", "+1h"}, time.Hour, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var n atomic.Int64
			c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
				date := tc.answers[min(int(n.Add(1))-1, len(tc.answers)-1)]
				refuse := strings.HasPrefix(date, "!")
				date = strings.TrimPrefix(date, "!")
				if d, err := time.ParseDuration(date); err == nil {
					date = time.Now().Add(d).UTC().Format(http.TimeFormat)
				}
				w.Header()["Date"] = []string{date} // an empty one stops net/http's
				if refuse {
					w.WriteHeader(http.StatusServiceUnavailable)
					return
				}
				_, _ = w.Write([]byte(`{}`))
			})
			_, ok := c.SiteOffset()
			require.False(t, ok, "known before any answer")
			for range tc.answers {
				var v map[string]any
				require.NoError(t, c.Get(t.Context(), "rest/api/2/myself", nil, &v))
				if int(n.Load()) >= len(tc.answers) {
					break
				}
			}
			off, ok := c.SiteOffset()
			require.Equal(t, tc.known, ok)
			// Date has whole seconds, cut down: the clock read is up to a
			// second (and the answer's travel) behind, never ahead.
			assert.InDelta(t, tc.want.Seconds(), off.Seconds(), 1.5, "offset %v", off)
			if ok {
				assert.LessOrEqual(t, off, tc.want+100*time.Millisecond, "never ahead of the site")
			}
		})
	}
}

func TestNetworkErrorNamesEndpointNotSecret(t *testing.T) {
	t.Parallel()
	base, err := url.Parse("http://127.0.0.1:1")
	require.NoError(t, err)
	c, err := New(Options{BaseURL: base, Username: "u", Password: token, Retry: fastRetry})
	require.NoError(t, err)
	var v any
	err = c.Get(t.Context(), "rest/api/2/serverInfo", nil, &v)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "rest/api/2/serverInfo")
	assert.NotContains(t, err.Error(), token)
}
