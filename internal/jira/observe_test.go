package jira

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPathTemplate(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"/rest/api/2/project/search":                    "/rest/api/2/project/search",
		"/rest/api/2/issue/10042/comment":               "/rest/api/2/issue/{id}/comment",
		"/jira/rest/api/2/issue/ABC-12/changelog":       "/rest/api/2/issue/{id}/changelog",
		"/rest/api/3/project/10001/version":             "/rest/api/3/project/{id}/version",
		"/rest/api/2/worklog/updated":                   "/rest/api/2/worklog/updated",
		"/context/deep/rest/api/2/project/7/components": "/rest/api/2/project/{id}/components",
	}
	for in, want := range cases {
		t.Run(in, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, want, PathTemplate(in))
		})
	}
}

// TestOnRequestSeesEveryTry: a request retried after a 503 and a cut body
// is three tries, each reported once with its status and outcome, and the
// endpoint never carries the query or the id.
func TestOnRequestSeesEveryTry(t *testing.T) {
	t.Parallel()
	var (
		mu    sync.Mutex
		infos []RequestInfo
		n     int
	)
	steps := []func(http.ResponseWriter, *http.Request){status(503), cut, ok(`{"id":"1"}`)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		i := n
		n++
		mu.Unlock()
		steps[min(i, len(steps)-1)](w, r)
	}))
	t.Cleanup(srv.Close)
	base, err := url.Parse(srv.URL + "/jira")
	require.NoError(t, err)
	c, err := New(Options{BaseURL: base, Username: "u", Password: token, Retry: fastRetry, OnRequest: func(ri RequestInfo) {
		mu.Lock()
		defer mu.Unlock()
		infos = append(infos, ri)
	}})
	require.NoError(t, err)

	var v map[string]any
	require.NoError(t, c.Get(t.Context(), "rest/api/2/issue/10042", url.Values{"fields": {"secret-query"}}, &v))
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, infos, 3)
	for _, ri := range infos {
		assert.Equal(t, "GET", ri.Method)
		assert.Equal(t, "/rest/api/2/issue/{id}", ri.Endpoint)
		assert.False(t, strings.Contains(ri.Endpoint, "?"))
		assert.Positive(t, ri.Duration)
	}
	assert.Equal(t, 503, infos[0].Status)
	assert.False(t, infos[0].Succeeded())
	assert.Equal(t, 200, infos[1].Status)
	assert.Error(t, infos[1].Err, "a body cut short fails")
	assert.False(t, infos[1].Succeeded())
	assert.Equal(t, 200, infos[2].Status)
	assert.True(t, infos[2].Succeeded())
	assert.Equal(t, int64(3), c.Stats().Requests)
}

func TestOnRequestNetworkError(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	base, err := url.Parse(srv.URL)
	require.NoError(t, err)
	srv.Close() // nothing listens now: connection refused
	var got []RequestInfo
	var mu sync.Mutex
	c, err := New(Options{BaseURL: base, Retry: RetryPolicy{MaxAttempts: 1, BaseDelay: 1, MaxDelay: 1, MaxRetryAfter: 1, MaxElapsed: 1 << 40},
		OnRequest: func(ri RequestInfo) { mu.Lock(); got = append(got, ri); mu.Unlock() }})
	require.NoError(t, err)
	var v map[string]any
	require.Error(t, c.Get(t.Context(), "rest/api/2/myself", nil, &v))
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, got, 1)
	assert.Equal(t, 0, got[0].Status)
	assert.Error(t, got[0].Err)
	assert.False(t, got[0].Succeeded())
}
