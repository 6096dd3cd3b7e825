package metrics

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// lines splits output into its lines, failing on a last line without its
// newline.
func lines(t *testing.T, s string) []string {
	t.Helper()
	if s == "" {
		return nil
	}
	require.True(t, strings.HasSuffix(s, "\n"), "unterminated line in %q", s)
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

func TestReporterLines(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	r := NewReporter(&buf, nil)
	r.Request("/rest/api/2/issue/{id}", 200, 1500*time.Microsecond, true)
	r.Request("/rest/api/2/search/jql", 0, time.Second, false)
	r.Record("issues")
	r.Record("issues")
	r.StreamDone("issues")
	r.StreamDone("worklogs")
	want := []string{
		`INFO METRIC: {"type":"timer","metric":"http_request_duration","value":0.0015,"tags":{"endpoint":"/rest/api/2/issue/{id}","http_status_code":200,"status":"succeeded"}}`,
		`INFO METRIC: {"type":"timer","metric":"http_request_duration","value":1,"tags":{"endpoint":"/rest/api/2/search/jql","status":"failed"}}`,
		`INFO METRIC: {"type":"counter","metric":"record_count","value":2,"tags":{"endpoint":"issues"}}`,
		`INFO METRIC: {"type":"counter","metric":"record_count","value":0,"tags":{"endpoint":"worklogs"}}`,
	}
	assert.Equal(t, want, lines(t, buf.String()))
}

// TestCountsAreIncrements: like singer-python's Counter, each record_count
// is the increment since the stream's previous one, so they add up.
func TestCountsAreIncrements(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	r := NewReporter(&buf, nil)
	tick := make(chan time.Time)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { r.Run(ctx, tick); close(done) }()
	r.Record("a")
	r.Record("b")
	tick <- time.Time{}
	tick <- time.Time{} // nothing new: no line
	cancel()
	<-done
	r.Record("a")
	r.Record("a")
	r.StreamDone("a")
	r.FlushCounts() // nothing pending: no line
	sum := map[string]float64{}
	for _, l := range lines(t, buf.String()) {
		var m Metric
		require.NoError(t, json.Unmarshal([]byte(strings.TrimPrefix(l, "INFO METRIC: ")), &m))
		sum[m.Tags.Endpoint] += m.Value
	}
	assert.Equal(t, map[string]float64{"a": 3, "b": 1}, sum)
	assert.Len(t, lines(t, buf.String()), 3, "a 1 and b 1 at the tick, a 2 at its end")
	names, totals := r.Totals()
	assert.Equal(t, []string{"a", "b"}, names)
	assert.Equal(t, map[string]int64{"a": 3, "b": 1}, totals)
}

func TestCountingOnlyWritesNothing(t *testing.T) {
	t.Parallel()
	r := NewReporter(nil, nil)
	r.Request("/x", 200, time.Second, true)
	r.Record("a")
	r.StreamDone("a")
	_, totals := r.Totals()
	assert.Equal(t, int64(1), totals["a"])
}

func TestReporterJSONLog(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	r := NewReporter(nil, slog.New(slog.NewJSONHandler(&buf, nil)))
	r.Request("/rest/api/2/myself", 401, time.Millisecond, false)
	var rec struct {
		Level string `json:"level"`
		Msg   string `json:"msg"`
		Info  Metric `json:"metric_info"`
	}
	require.NoError(t, json.Unmarshal(buf.Bytes(), &rec))
	assert.Equal(t, "INFO", rec.Level)
	assert.True(t, strings.HasPrefix(rec.Msg, `METRIC: {"type":"timer"`), rec.Msg)
	assert.Equal(t, 401, rec.Info.Tags.HTTPStatusCode)
	assert.Equal(t, "failed", rec.Info.Tags.Status)
}

// TestLockedWriterKeepsLinesWhole: a logger and the reporter writing from
// many goroutines through one LockedWriter give whole lines only.
func TestLockedWriterKeepsLinesWhole(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	w := NewLockedWriter(&buf)
	log := slog.New(slog.NewTextHandler(w, nil))
	r := NewReporter(w, nil)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 200 {
				if i%2 == 0 {
					log.Info("retrying a Jira request", "endpoint", "GET /rest/api/2/project", "wait", time.Second)
				} else {
					r.Request("/rest/api/2/project", 200, time.Millisecond, true)
				}
			}
		})
	}
	wg.Wait()
	got := lines(t, buf.String())
	require.Len(t, got, 1600)
	for _, l := range got {
		ok := strings.HasPrefix(l, "INFO METRIC: {") && strings.HasSuffix(l, "}}") ||
			strings.HasPrefix(l, "time=") && strings.HasSuffix(l, "wait=1s")
		require.True(t, ok, "mixed line: %q", l)
	}
}

// chanWriter hands each write to the test, so it knows a line is done.
type chanWriter chan string

func (c chanWriter) Write(p []byte) (int, error) {
	c <- string(p)
	return len(p), nil
}

func TestProgress(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r := NewReporter(nil, nil)
	out := make(chanWriter)
	p := &Progress{Out: out, Counts: r.Totals, Start: start,
		Stats: func() (int64, int64) { return 7, 2 }}
	tick := make(chan time.Time)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go p.Run(ctx, tick)

	tick <- start.Add(5 * time.Second)
	assert.Equal(t, "progress: 5s, records: none yet, requests 7, retries 2\n", <-out)
	r.Record("projects")
	r.Record("issues")
	r.Record("issues")
	tick <- start.Add(10 * time.Second)
	assert.Equal(t, "progress: 10s, records: projects 1, issues 2, requests 7, retries 2\n", <-out)
}

func TestIsTerminal(t *testing.T) {
	t.Parallel()
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	require.NoError(t, err)
	defer f.Close()
	assert.False(t, IsTerminal(f), "a regular file")
	assert.False(t, IsTerminal(&bytes.Buffer{}))
	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer r.Close()
	defer w.Close()
	assert.False(t, IsTerminal(w), "a pipe")
	if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
		defer tty.Close()
		assert.True(t, IsTerminal(tty))
	}
}
