package jira

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSpool: a body shorter than the spill size is held in memory, a
// longer one (announced, or found so by reading) goes to a file, which
// reads back the body and is gone from its directory.
func TestSpool(t *testing.T) {
	t.Parallel()
	body := strings.Repeat("0123456789", 100)
	for _, c := range []struct {
		name   string
		size   int64
		spill  int64
		inFile bool
	}{
		{name: "announced, short", size: 1000, spill: 1001},
		{name: "announced, long", size: 1000, spill: 1000, inFile: true},
		{name: "not announced, short", size: -1, spill: 1001},
		{name: "not announced, long", size: -1, spill: 1000, inFile: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cl := &Client{spillFrom: c.spill, log: slog.New(slog.DiscardHandler)}
			s, err := cl.spool(strings.NewReader(body), c.size)
			require.NoError(t, err)
			defer s.Close()
			got := s.data
			if c.inFile {
				require.NotNil(t, s.file, "a long body goes to a file")
				assert.Nil(t, s.data)
				assert.NoFileExists(t, s.file.Name(), "unlinked at once")
				var err error
				got, err = io.ReadAll(io.NewSectionReader(s.file, 0, s.size))
				require.NoError(t, err)
			} else {
				assert.Nil(t, s.file, "a short body stays in memory")
			}
			assert.Equal(t, body, string(got))
		})
	}
}

// TestSpoolCutShort: a body that stops short of its length fails the
// attempt, to be retried, and leaves no file open behind it.
func TestSpoolCutShort(t *testing.T) {
	t.Parallel()
	cl := &Client{spillFrom: 10, log: slog.New(slog.DiscardHandler)}
	_, err := cl.spool(io.MultiReader(strings.NewReader("0123456789abc"), iotestErr{}), 100)
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.False(t, cl.noSpool.Load(), "a cut body is no reason to stop spooling")
}

type iotestErr struct{}

func (iotestErr) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

// TestSpoolWithoutATempDir: where no file can be made, the body is held
// in memory, and bodies are from then on, after one warning.
func TestSpoolWithoutATempDir(t *testing.T) {
	t.Setenv("TMPDIR", filepath.Join(t.TempDir(), "missing"))
	var logs bytes.Buffer
	cl := &Client{spillFrom: 10, log: slog.New(slog.NewTextHandler(&logs, nil))}
	for range 2 {
		s, err := cl.spool(strings.NewReader("0123456789abc"), -1)
		require.NoError(t, err)
		assert.Nil(t, s.file)
		assert.Equal(t, "0123456789abc", string(s.data))
	}
	assert.True(t, cl.noSpool.Load())
	assert.Equal(t, 1, strings.Count(logs.String(), "cannot spool long responses to disk"), logs.String())
}

// TestSpoolWriteFails: a spool file that cannot be written fails the
// attempt, to be retried with the body in memory, as every body is from
// then on; the warning says so once and leaves the error to the retry.
func TestSpoolWriteFails(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	dir := t.TempDir()
	cl := &Client{spillFrom: 10, log: slog.New(slog.NewTextHandler(&logs, nil)),
		createTemp: func(string, string) (*os.File, error) {
			path := filepath.Join(dir, "spool")
			if err := os.WriteFile(path, nil, 0o600); err != nil {
				return nil, err
			}
			return os.Open(path) // read only: writes fail
		}}
	_, err := cl.spool(strings.NewReader("0123456789abc"), 13)
	require.ErrorIs(t, err, errSpoolWrite)
	assert.True(t, cl.noSpool.Load())
	s, err := cl.spool(strings.NewReader("0123456789abc"), 13)
	require.NoError(t, err)
	assert.Nil(t, s.file)
	assert.Equal(t, "0123456789abc", string(s.data))
	assert.Equal(t, 1, strings.Count(logs.String(), "cannot spool long responses to disk"), logs.String())
	assert.NotContains(t, logs.String(), "error=", "the retry says why, not the warning too")
}

// longIssue writes an issue whose changelog has n entries, as Data
// Center gives it, a piece at a time.
func longIssue(w io.Writer, n int) {
	_, _ = io.WriteString(w, `{"expand":"changelog","id":"7","self":"x","key":"K-7","fields":{},"changelog":{"startAt":0,"maxResults":`+strconv.Itoa(n)+`,"total":`+strconv.Itoa(n)+`,"histories":[`)
	for i := range n {
		if i > 0 {
			_, _ = io.WriteString(w, ",")
		}
		_, _ = fmt.Fprintf(w, `{"id":"%d","author":{"name":"u%d","displayName":"A user with a name","avatarUrls":{"16x16":"https://jira.example.com/secure/useravatar?size=xsmall&avatarId=10122"}},"created":"2026-01-02T03:04:05.000+0000","items":[{"field":"status","fieldtype":"jira","from":"1","fromString":"Open","to":"3","toString":"In Progress"},{"field":"assignee","fieldtype":"jira","from":null,"fromString":null,"to":"u%d","toString":"Someone"}]}`, i, i%50, i%7)
	}
	_, _ = io.WriteString(w, `]}}`)
}

// TestLongDataCenterChangelogIsNotHeld: a Data Center changelog whose body
// passes the spill size is read a window at a time, the body never held:
// while the first window is written, the heap holds a small part of it.
// Not parallel: it measures the heap.
func TestLongDataCenterChangelogIsNotHeld(t *testing.T) {
	const n = 40000
	var size countWriter
	longIssue(&size, n)
	require.Greater(t, size.n, int64(2*spillFrom), "the body must pass the spill size")
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Header().Set("Content-Length", strconv.FormatInt(size.n, 10))
		longIssue(w, n)
	}))
	t.Cleanup(srv.Close)
	base, err := url.Parse(srv.URL)
	require.NoError(t, err)
	client, err := New(Options{BaseURL: base, Username: "u", Password: token, Retry: fastRetry})
	require.NoError(t, err)

	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	before := ms.HeapAlloc
	got, windows := 0, 0
	for recs, err := range client.IssueChangelogPages(t.Context(), false, "7", n) {
		require.NoError(t, err)
		if windows == 0 {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			grown := int64(ms.HeapAlloc) - int64(before)
			assert.Less(t, grown, size.n/2, "the heap grew by %d bytes for a body of %d", grown, size.n)
		}
		for _, r := range recs {
			require.Equal(t, strconv.Itoa(got), r["id"])
			got++
		}
		windows++
	}
	assert.Equal(t, n, got)
	assert.Equal(t, (n+LongFrom-1)/LongFrom, windows)
	assert.Equal(t, int32(1), requests.Load())
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// TestSpooledBodyCutShortIsRetried: a long body cut short is read again,
// whole, before any of it is given out.
func TestSpooledBodyCutShortIsRetried(t *testing.T) {
	t.Parallel()
	const n = 3000
	var full bytes.Buffer
	longIssue(&full, n)
	var requests atomic.Int32
	client := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(full.Len()))
		if requests.Add(1) == 1 {
			_, _ = w.Write(full.Bytes()[:full.Len()/2]) // then the connection closes
			return
		}
		_, _ = w.Write(full.Bytes())
	})
	client.spillFrom = 1 << 10
	got := 0
	for recs, err := range client.IssueChangelogPages(t.Context(), false, "7", n) {
		require.NoError(t, err)
		for _, r := range recs {
			require.Equal(t, strconv.Itoa(got), r["id"])
			got++
		}
	}
	assert.Equal(t, n, got)
	assert.Equal(t, int32(2), requests.Load())
}
