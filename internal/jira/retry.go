package jira

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v5"
	"golang.org/x/time/rate"
)

// RetryPolicy bounds how a request is retried. Retried: 429, 500, 502, 503,
// 504, network errors and bodies cut short. Waits grow exponentially with
// full jitter; a Retry-After from Jira is honoured, up to MaxRetryAfter.
type RetryPolicy struct {
	MaxAttempts   uint          // tries in all, the first included
	BaseDelay     time.Duration // the first backoff's upper bound
	MaxDelay      time.Duration // the largest backoff
	MaxRetryAfter time.Duration // the longest Retry-After honoured
	MaxElapsed    time.Duration // give up once this much time has passed
}

// DefaultRetryPolicy retries for up to about ten minutes: long enough to
// ride out Jira Cloud's throttling, short enough for a 30-minute schedule.
var DefaultRetryPolicy = RetryPolicy{
	MaxAttempts:   8,
	BaseDelay:     500 * time.Millisecond,
	MaxDelay:      30 * time.Second,
	MaxRetryAfter: 120 * time.Second,
	MaxElapsed:    10 * time.Minute,
}

func (p RetryPolicy) backOff() backoff.BackOff {
	return &fullJitter{base: p.BaseDelay, max: p.MaxDelay}
}

// fullJitter waits a uniformly random time up to an exponentially growing
// bound ("full jitter"), which spreads concurrent retries best.
type fullJitter struct {
	base, max time.Duration
	n         int
}

func (b *fullJitter) Reset() { b.n = 0 }

func (b *fullJitter) NextBackOff() time.Duration {
	bound := b.max
	if b.n < 30 && b.base<<b.n < b.max {
		bound = b.base << b.n
	}
	b.n++
	return time.Duration(rand.Int64N(int64(bound) + 1))
}

func retryableStatus(status int) bool {
	switch status {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// retryAfter reads a Retry-After header: seconds, or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		return time.Duration(secs * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, t.Sub(now)), true
	}
	return 0, false
}

// throttled is a retryable error with a wait Jira asked for: backoff sees
// the RetryAfterError, callers see the API error.
type throttled struct {
	err   error
	after *backoff.RetryAfterError
}

func (t *throttled) Error() string   { return t.err.Error() }
func (t *throttled) Unwrap() []error { return []error{t.err, t.after} }

// pacer slows requests down when Jira says the budget is nearly spent
// (X-RateLimit-NearLimit, or a low X-RateLimit-Remaining), before it starts
// answering 429. x/time/rate does the spacing.
type pacer struct {
	mu      sync.Mutex
	limiter *rate.Limiter
	until   time.Time
}

const (
	slowRate   = rate.Limit(2) // requests per second while near the limit
	slowPeriod = 30 * time.Second
)

func newPacer() *pacer { return &pacer{limiter: rate.NewLimiter(rate.Inf, 1)} }

func (p *pacer) wait(ctx context.Context) error {
	p.mu.Lock()
	if !p.until.IsZero() && time.Now().After(p.until) {
		p.limiter.SetLimit(rate.Inf)
		p.until = time.Time{}
	}
	p.mu.Unlock()
	return p.limiter.Wait(ctx)
}

func (p *pacer) observe(h http.Header) {
	near := strings.EqualFold(h.Get("X-RateLimit-NearLimit"), "true")
	if rem, err := strconv.Atoi(h.Get("X-RateLimit-Remaining")); err == nil {
		if limit, err := strconv.Atoi(h.Get("X-RateLimit-Limit")); err == nil && limit > 0 && rem*5 < limit {
			near = true
		}
	}
	if !near {
		return
	}
	p.mu.Lock()
	p.limiter.SetLimit(slowRate)
	p.until = time.Now().Add(slowPeriod)
	p.mu.Unlock()
}

// Slowed reports whether the pacer is holding requests back.
func (p *pacer) slowed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return !p.until.IsZero() && time.Now().Before(p.until)
}

type counters struct {
	requests atomic.Int64
	retries  atomic.Int64
}

// Stats are the client's request counters.
type Stats struct {
	Requests int64 // HTTP requests sent, retries included
	Retries  int64
}

// Stats returns the request counters so far.
func (c *Client) Stats() Stats {
	return Stats{Requests: c.counters.requests.Load(), Retries: c.counters.retries.Load()}
}
