// Package metrics writes singer-python's metrics on stderr (INFO METRIC:
// lines for http_request_duration and record_count) and, on a terminal, a
// progress line every few seconds.
package metrics

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"slices"
	"sync"
	"time"
)

// LockedWriter writes each Write whole under one lock. The logger, the
// metrics and the progress line share one on stderr and each writes a line
// per call, so lines never interleave mid-line.
type LockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// NewLockedWriter returns w behind a lock.
func NewLockedWriter(w io.Writer) *LockedWriter { return &LockedWriter{w: w} }

func (l *LockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// Metric is one singer-python metric: {"type": "timer"|"counter", "metric":
// name, "value": n, "tags": {...}}.
type Metric struct {
	Type   string  `json:"type"`
	Metric string  `json:"metric"`
	Value  float64 `json:"value"`
	Tags   Tags    `json:"tags"`
}

// Tags are the metric's tags, in singer-python's names.
type Tags struct {
	Endpoint       string `json:"endpoint"`
	HTTPStatusCode int    `json:"http_status_code,omitempty"` // absent when no response came
	Status         string `json:"status,omitempty"`           // timers: succeeded or failed
}

// Reporter writes metrics and keeps the per-stream record counts the
// progress line reads. Its methods are safe for concurrent use.
type Reporter struct {
	out io.Writer    // text logs: raw "INFO METRIC: {...}" lines
	log *slog.Logger // JSON logs: one JSON log record per metric instead

	mu      sync.Mutex
	streams []string         // in the order first seen
	pending map[string]int64 // records since the stream's last record_count
	total   map[string]int64
}

// NewReporter returns a Reporter writing singer-python's lines to out. With
// neither out nor log it only counts, for the progress line. When
// log is not nil (JSON log format) each metric is a log record instead, its
// message the same "METRIC: {...}" text and the metric under metric_info,
// as the Meltano SDK's structured logging writes it, so every stderr line
// stays JSON.
func NewReporter(out io.Writer, log *slog.Logger) *Reporter {
	return &Reporter{out: out, log: log, pending: map[string]int64{}, total: map[string]int64{}}
}

// Request writes an http_request_duration timer.
func (r *Reporter) Request(endpoint string, status int, d time.Duration, succeeded bool) {
	tags := Tags{Endpoint: endpoint, HTTPStatusCode: status, Status: "failed"}
	if succeeded {
		tags.Status = "succeeded"
	}
	// Microseconds are plenty, and keep the lines short.
	secs := math.Round(d.Seconds()*1e6) / 1e6
	r.write(Metric{Type: "timer", Metric: "http_request_duration", Value: secs, Tags: tags})
}

// Record counts one record written for stream.
func (r *Reporter) Record(stream string) {
	r.mu.Lock()
	if _, ok := r.total[stream]; !ok {
		r.streams = append(r.streams, stream)
	}
	r.pending[stream]++
	r.total[stream]++
	r.mu.Unlock()
}

// StreamDone writes the stream's record_count since its last one, zero
// included: a selected stream that had nothing says so.
func (r *Reporter) StreamDone(stream string) {
	r.mu.Lock()
	if _, ok := r.total[stream]; !ok {
		r.streams = append(r.streams, stream)
		r.total[stream] = 0
	}
	n := r.pending[stream]
	r.pending[stream] = 0
	r.mu.Unlock()
	r.count(stream, n)
}

// FlushCounts writes a record_count for every stream with records since
// its last one. Like singer-python's Counter, each value is the increment
// since the previous line of that stream, so the lines of a stream add up
// to its total.
func (r *Reporter) FlushCounts() {
	r.mu.Lock()
	type pair struct {
		stream string
		n      int64
	}
	var out []pair
	for _, s := range r.streams {
		if n := r.pending[s]; n > 0 {
			out = append(out, pair{s, n})
			r.pending[s] = 0
		}
	}
	r.mu.Unlock()
	for _, p := range out {
		r.count(p.stream, p.n)
	}
}

// Totals returns the records written per stream so far, streams in the
// order they started.
func (r *Reporter) Totals() ([]string, map[string]int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := make(map[string]int64, len(r.total))
	for k, v := range r.total {
		m[k] = v
	}
	return slices.Clone(r.streams), m
}

// Run writes the pending record counts at every tick until ctx ends
// (singer-python logs them every 60 s).
func (r *Reporter) Run(ctx context.Context, tick <-chan time.Time) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
			r.FlushCounts()
		}
	}
}

func (r *Reporter) count(stream string, n int64) {
	r.write(Metric{Type: "counter", Metric: "record_count", Value: float64(n), Tags: Tags{Endpoint: stream}})
}

func (r *Reporter) write(m Metric) {
	if r.out == nil && r.log == nil {
		return // counting only: metrics are off
	}
	b, err := json.Marshal(m)
	if err != nil {
		return // a struct of strings and numbers always encodes
	}
	if r.log != nil {
		r.log.LogAttrs(context.Background(), slog.LevelInfo, "METRIC: "+string(b), slog.Any("metric_info", m))
		return
	}
	// One Write per line: see LockedWriter.
	_, _ = r.out.Write(fmt.Appendf(nil, "INFO METRIC: %s\n", b))
}
