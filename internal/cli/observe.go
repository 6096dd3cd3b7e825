package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/tap-jira/tap-jira/internal/jira"
	"github.com/tap-jira/tap-jira/internal/metrics"
)

// observeOptions are the flags and facts behind metrics and progress.
type observeOptions struct {
	metrics         bool
	metricsInterval time.Duration // record_count every; singer-python's 60 s
	progress        string        // auto, always or never
	progressEvery   time.Duration
	stderr          io.Writer // locked: shared with the logger
	stderrTTY       bool
}

func addObserveFlags(cmd *cobra.Command, o *observeOptions) {
	f := cmd.Flags()
	f.BoolVar(&o.metrics, "metrics", true, "write Singer metrics (INFO METRIC: lines) on stderr; --metrics=false or --log-level warn turns them off")
	f.StringVar(&o.progress, "progress", "auto", "a progress line on stderr every few seconds: auto (when stderr is a terminal), always or never")
	f.DurationVar(&o.metricsInterval, "metrics-interval", 60*time.Second, "how often record_count metrics are written")
	f.DurationVar(&o.progressEvery, "progress-interval", 5*time.Second, "how often the progress line is written")
	_ = f.MarkHidden("metrics-interval")
	_ = f.MarkHidden("progress-interval")
}

type envLookupKey struct{}

// withLookupEnv makes Run read TAP_JIRA_* settings through lookup instead
// of the process's environment, so tests can run in parallel.
func withLookupEnv(ctx context.Context, lookup func(string) (string, bool)) context.Context {
	return context.WithValue(ctx, envLookupKey{}, lookup)
}

func lookupEnvFrom(ctx context.Context) func(string) (string, bool) {
	if f, ok := ctx.Value(envLookupKey{}).(func(string) (string, bool)); ok {
		return f
	}
	return os.LookupEnv
}

// observers are a sync's metrics and progress line. The reporter always
// counts records (the progress line reads them); it writes metrics only
// when they are on.
type observers struct {
	opts     *observeOptions
	reporter *metrics.Reporter
	metrics  bool
	progress bool
}

// validate checks the flags before anything is written.
func (o *observeOptions) validate() error {
	switch strings.ToLower(o.progress) {
	case "auto", "always", "never":
	default:
		return &usageError{msg: fmt.Sprintf("--progress %q: want auto, always or never", o.progress)}
	}
	if o.metricsInterval <= 0 || o.progressEvery <= 0 {
		return &usageError{msg: "--metrics-interval and --progress-interval must be positive"}
	}
	return nil
}

func newObservers(ctx context.Context, o *observeOptions, log *slog.Logger) *observers {
	obs := &observers{opts: o}
	switch strings.ToLower(o.progress) {
	case "always":
		obs.progress = true
	case "auto":
		// JSON logs ask for machine-readable stderr: no plain-text lines.
		obs.progress = o.stderrTTY && !isJSONHandler(log.Handler())
	}
	// Metrics are INFO lines, as in singer-python: a quieter log level
	// hides them too.
	obs.metrics = o.metrics && log.Enabled(ctx, slog.LevelInfo)
	switch {
	case !obs.metrics:
		obs.reporter = metrics.NewReporter(nil, nil)
	case log.Handler() != nil && isJSONHandler(log.Handler()):
		obs.reporter = metrics.NewReporter(nil, log)
	default:
		obs.reporter = metrics.NewReporter(o.stderr, nil)
	}
	return obs
}

func isJSONHandler(h slog.Handler) bool {
	_, ok := h.(*slog.JSONHandler)
	return ok
}

// onRequest is the Jira client's hook: an http_request_duration timer per
// try, or nil when metrics are off.
func (o *observers) onRequest() func(jira.RequestInfo) {
	if !o.metrics {
		return nil
	}
	return func(ri jira.RequestInfo) {
		o.reporter.Request(ri.Endpoint, ri.Status, ri.Duration, ri.Succeeded())
	}
}

// start runs the periodic record counts and the progress line; the
// returned stop ends them and writes the record counts still pending.
func (o *observers) start(ctx context.Context, began time.Time, stats func() jira.Stats) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var tickers []*time.Ticker
	if o.metrics {
		t := time.NewTicker(o.opts.metricsInterval)
		tickers = append(tickers, t)
		wg.Go(func() { o.reporter.Run(ctx, t.C) })
	}
	if o.progress {
		t := time.NewTicker(o.opts.progressEvery)
		tickers = append(tickers, t)
		p := &metrics.Progress{Out: o.opts.stderr, Counts: o.reporter.Totals, Start: began,
			Stats: func() (int64, int64) { s := stats(); return s.Requests, s.Retries }}
		wg.Go(func() { p.Run(ctx, t.C) })
	}
	return func() {
		cancel()
		wg.Wait()
		for _, t := range tickers {
			t.Stop()
		}
		if o.metrics {
			o.reporter.FlushCounts()
		}
	}
}
