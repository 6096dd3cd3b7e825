package jira

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gojira "github.com/andygrunwald/go-jira"
	"github.com/cenkalti/backoff/v5"
)

// Options configure a Client.
type Options struct {
	BaseURL  *url.URL
	Username string
	Password string // the API token on Jira Cloud
	// Token is a Data Center personal access token, sent as a bearer token
	// instead of Username and Password.
	Token string
	// OAuth, when set, authenticates with its OAuth 2.0 access tokens
	// instead of Username and Password.
	OAuth     *TokenSource
	UserAgent string
	Timeout   time.Duration     // per request; 0 means none
	Transport http.RoundTripper // nil means http.DefaultTransport
	Log       *slog.Logger      // retries are logged here; nil discards
	Retry     RetryPolicy       // zero value means DefaultRetryPolicy
	// MaxInFlight bounds the requests sent at once by all callers together
	// (halved while Jira answers 429, see gate); 0 means no bound.
	MaxInFlight int
	// OnRequest, if set, hears of every HTTP try when its body is done
	// (metrics); it must be safe for concurrent use.
	OnRequest func(RequestInfo)
}

// Client reads Jira's REST API. go-jira supplies the plumbing (base URL
// joining, auth transport, request building); bodies are decoded here with
// UseNumber because go-jira's typed structs drop fields.
type Client struct {
	api       *gojira.Client
	userAgent string
	log       *slog.Logger
	retry     RetryPolicy
	pacer     *pacer
	counters  counters
	gate      *gate // nil: unbounded
	zoneMu    sync.Mutex
	zone      *zoneCall // the run's /myself, once asked
	clock     siteClock
	// spillFrom is the size past which sendSpooled puts a body in a file
	// (0: the package's spillFrom); noSpool is set once no file could be
	// made or written.
	spillFrom int64
	noSpool   atomic.Bool
	// createTemp makes a spool file; nil means os.CreateTemp (tests give
	// one that cannot be written).
	createTemp func(dir, pattern string) (*os.File, error)
}

// New returns a Client for the site at opts.BaseURL.
func New(opts Options) (*Client, error) {
	if opts.BaseURL == nil {
		return nil, errors.New("jira client: no base URL")
	}
	var auth http.RoundTripper
	switch {
	case opts.OAuth != nil:
		auth = &oauthTransport{src: opts.OAuth, next: opts.Transport}
	case opts.Token != "":
		auth = &gojira.PATAuthTransport{Token: opts.Token, Transport: opts.Transport}
	default:
		auth = &gojira.BasicAuthTransport{Username: opts.Username, Password: opts.Password, Transport: opts.Transport}
	}
	hc := &http.Client{Transport: auth, Timeout: opts.Timeout}
	if opts.OnRequest != nil {
		hc.Transport = observeTransport(hc.Transport, opts.OnRequest)
	}
	api, err := gojira.NewClient(hc, opts.BaseURL.String())
	if err != nil {
		return nil, fmt.Errorf("jira client: %w", err)
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	retry := opts.Retry
	if retry == (RetryPolicy{}) {
		retry = DefaultRetryPolicy
	}
	c := &Client{api: api, userAgent: opts.UserAgent, log: log, retry: retry, pacer: newPacer()}
	if opts.MaxInFlight > 0 {
		c.gate = newGate(opts.MaxInFlight, log)
	}
	return c, nil
}

// SetMaxInFlight sets the bound on requests in flight at once (Options'
// MaxInFlight) before a run's streams start: the default depends on the
// flavor, which the first requests find out. A new bound forgets what the
// old one learnt from 429s. A client made without a bound keeps none.
func (c *Client) SetMaxInFlight(n int) {
	if c.gate != nil && n > 0 {
		c.gate.setMax(n)
	}
}

// APIError is a response Jira answered with a non-2xx status, or a 200 that
// its login layer marked as failed authentication.
type APIError struct {
	Method   string
	Endpoint string // path only: queries are left out of errors
	Status   int
	Messages []string // Jira's errorMessages and errors, if the body had them
}

func (e *APIError) Error() string {
	msg := fmt.Sprintf("%s %s: HTTP %d", e.Method, e.Endpoint, e.Status)
	if text := http.StatusText(e.Status); text != "" {
		msg += " " + text
	}
	if len(e.Messages) > 0 {
		msg += ": " + strings.Join(e.Messages, "; ")
	}
	return msg
}

// ErrNotJSON means Jira (or whatever answers at base_url) sent a body that
// is not the JSON expected.
var ErrNotJSON = errors.New("response is not JSON")

// Get requests path (relative to the site, e.g. "rest/api/2/serverInfo")
// and decodes the JSON body into v with UseNumber.
func (c *Client) Get(ctx context.Context, path string, query url.Values, v any) error {
	return c.do(ctx, http.MethodGet, path, query, nil, v)
}

// do sends one request, retrying what Jira or the network may fail
// transiently (see RetryPolicy), and decodes the JSON answer into v. The
// body is read whole before decoding, so a response cut short is retried
// like a failed request; a POST body is encoded afresh for every attempt.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body, v any) error {
	endpoint, rel := target(path, query)
	data, err := retrying(ctx, c, method, endpoint, func() ([]byte, error) {
		return attemptRead(ctx, c, method, endpoint, rel, body, readBody)
	})
	if err != nil {
		return err
	}
	if err := decodeInto(data, v); err != nil {
		return fmt.Errorf("%s %s: decoding body: %w: %w", method, endpoint, ErrNotJSON, err)
	}
	return nil
}

// target is a request's endpoint, the path alone (for logs and errors:
// queries are left out), and what is asked of the site, path and query.
func target(path string, query url.Values) (endpoint, rel string) {
	endpoint, rel = "/"+strings.TrimLeft(path, "/"), path
	if len(query) > 0 {
		rel += "?" + query.Encode()
	}
	return endpoint, rel
}

// retrying makes attempts of one request until one succeeds, fails for
// good, or the policy gives up (see RetryPolicy).
func retrying[T any](ctx context.Context, c *Client, method, endpoint string, attempt func() (T, error)) (T, error) {
	attempts := 0
	waits, waiting := retryWaitsOf(ctx), false
	out, err := backoff.Retry(ctx, func() (T, error) {
		if waiting {
			waiting = false
			waits(-1)
		}
		attempts++
		return attempt()
	}, backoff.WithBackOff(c.retry.backOff()), backoff.WithMaxTries(c.retry.MaxAttempts),
		backoff.WithMaxElapsedTime(c.retry.MaxElapsed),
		backoff.WithNotify(func(err error, wait time.Duration) {
			c.counters.retries.Add(1)
			c.log.Warn("retrying a Jira request", "endpoint", method+" "+endpoint, "error", err.Error(), "wait", wait.Round(time.Millisecond))
			waiting = true
			waits(+1)
		}))
	if waiting {
		waits(-1) // cancelled while waiting
	}
	if err != nil {
		var zero T
		if ctx.Err() != nil {
			return zero, fmt.Errorf("%s %s: %w", method, endpoint, context.Cause(ctx))
		}
		if attempts > 1 {
			return zero, fmt.Errorf("%w (gave up after %d attempts)", err, attempts)
		}
		return zero, err
	}
	return out, nil
}

type retryWaitsKey struct{}

// WithRetryWaits has fn told, +1 and -1, when a request made with the
// returned context starts and ends a wait before trying again (a
// Retry-After, a backoff), and ctx's own such function too: so a caller
// that keeps a bounded window of work ahead can look further ahead while
// one of its fetches sits out a wait without a slot.
func WithRetryWaits(ctx context.Context, fn func(delta int)) context.Context {
	outer := retryWaitsOf(ctx)
	return context.WithValue(ctx, retryWaitsKey{}, func(delta int) {
		fn(delta)
		outer(delta)
	})
}

func retryWaitsOf(ctx context.Context) func(int) {
	if fn, ok := ctx.Value(retryWaitsKey{}).(func(int)); ok {
		return fn
	}
	return func(int) {}
}

// decodeInto decodes a body with UseNumber and takes data over (see
// decodeTree). An object or a list of objects goes through decodeTree,
// which also normalizes timestamps; anything that carries records must be
// decoded that way (the emitter relies on it). Small typed envelopes without records (/myself, /serverInfo, the worklog
// feed) go through encoding/json.
func decodeInto(data []byte, v any) error {
	shape := Full
	if sh, ok := v.(shaped); ok {
		v, shape = sh.into, sh.shape
	}
	switch t := v.(type) {
	case *map[string]any:
		tree, err := decodeShaped(data, true, shape)
		if err != nil {
			return err
		}
		m, ok := tree.(map[string]any)
		if !ok {
			return fmt.Errorf("expected a JSON object, got %s", kindOf(tree))
		}
		*t = m
		return nil
	case *[]Record:
		tree, err := decodeShaped(data, true, shape)
		if err != nil {
			return err
		}
		list, err := objects(tree)
		if err != nil {
			return err
		}
		*t = list
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return dec.Decode(v)
}

// shaped asks decodeInto to decode into (a *map[string]any or *[]Record)
// building only what shape reads.
type shaped struct {
	into  any
	shape *Shape
}

// objects reads a JSON list of objects (or null, an empty list).
func objects(v any) ([]Record, error) {
	if v == nil {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("expected a list, got %s", kindOf(v))
	}
	out := make([]Record, len(list))
	for i, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("expected a list of objects, item %d is %s", i, kindOf(e))
		}
		out[i] = m
	}
	return out, nil
}

func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return fmt.Sprintf("%T", v)
}

// attemptRead makes one try, its body read by read, and classifies its
// failure: retryable errors are returned as they are (429 and 503 with a
// Retry-After wrapped so the wait is honoured), everything else as
// backoff.Permanent; a body that read fails to take is retried.
func attemptRead[T any](ctx context.Context, c *Client, method, endpoint, rel string, body any, read func(io.Reader, int64) (T, error)) (T, error) {
	var zero T
	if err := c.pacer.wait(ctx); err != nil {
		return zero, backoff.Permanent(err)
	}
	o := neutral // what the answer says about load, for the gate
	if c.gate != nil {
		t, err := c.gate.acquire(ctx, method+" "+PathTemplate(endpoint))
		if err != nil {
			return zero, backoff.Permanent(err)
		}
		defer func() { c.gate.release(t, o) }()
	}
	req, err := c.api.NewRequestWithContext(ctx, method, rel, body)
	if err != nil {
		return zero, backoff.Permanent(fmt.Errorf("building request for %s: %w", endpoint, err))
	}
	req.Header.Set("Accept", "application/json")
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	c.counters.requests.Add(1)
	resp, err := c.api.Do(req, nil)
	if resp != nil && resp.Body != nil {
		defer func() {
			// Drain so the connection can be reused.
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
			_ = resp.Body.Close()
		}()
	}
	if err != nil && (resp == nil || resp.Response == nil) {
		var tokErr *TokenError
		if errors.As(err, &tokErr) {
			// The token source retried already; its error, not the
			// *url.Error around it, says what went wrong.
			return zero, backoff.Permanent(fmt.Errorf("%s %s: %w", method, endpoint, tokErr))
		}
		err = fmt.Errorf("%s %s: %w", method, endpoint, err)
		if ctx.Err() != nil {
			return zero, backoff.Permanent(err)
		}
		return zero, err // connection refused or reset, timeout: transient
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		// The refusal's Retry-After and the gate's cut answer it. Its
		// X-RateLimit-Remaining, 0, is that of the limit that refused it,
		// a burst one most often: read by the pacer it held every later
		// request to 2 a second for 30 s, and a site whose burst limit
		// was 10 at once took 56 s at 16 in flight against 5 s at 8.
		o = refusedBy(resp.Header)
	} else {
		c.pacer.observe(resp.Header)
	}
	if apiErr := checkResponse(method, endpoint, resp.Response); apiErr != nil {
		if !retryableStatus(apiErr.Status) {
			return zero, backoff.Permanent(apiErr)
		}
		if wait, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			return zero, &throttled{err: apiErr, after: &backoff.RetryAfterError{Duration: min(wait, c.retry.MaxRetryAfter)}}
		}
		return zero, apiErr
	}
	c.clock.note(resp.Header.Get("Date"), time.Now())
	out, err := read(resp.Body, resp.ContentLength)
	if err != nil {
		// The body stopped short (a cut connection, a timeout mid-body).
		return zero, fmt.Errorf("%s %s: reading body: %w", method, endpoint, err)
	}
	o = succeeded
	return out, nil
}

// refusedBy reads which limit a 429 comes from: Jira Cloud's burst
// limits are per endpoint and method, and its guide asks clients to slow
// down that endpoint only; any other (an hourly quota, Data Center's
// token bucket, a 429 that does not say) holds back every request.
func refusedBy(h http.Header) outcome {
	if strings.EqualFold(strings.TrimSpace(h.Get("RateLimit-Reason")), "jira-burst-based") {
		return refusedHere
	}
	return refused
}

// maxPresized bounds the Content-Length a body buffer is sized from at
// once: a header is not to be trusted with memory.
const maxPresized = 64 << 20

// readBody reads a response body whole. Given its length, it reads into
// one buffer of that size: io.ReadAll fills growing chunks and copies them
// into a second buffer, allocating a page twice and clearing it as often.
func readBody(r io.Reader, size int64) ([]byte, error) {
	if size <= 0 || size > maxPresized {
		return io.ReadAll(r)
	}
	buf := make([]byte, size, size+1) // the spare byte sees the end
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, err // cut short: io.ErrUnexpectedEOF, retried
	}
	// net/http stops a body at its Content-Length, but the reader is
	// only an io.Reader: take what follows rather than drop it.
	for {
		n, err := r.Read(buf[size : size+1])
		if n > 0 {
			rest, err := io.ReadAll(r)
			return append(buf[:size+1], rest...), err
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// checkResponse turns an error status, or a 200 whose X-Seraph-LoginReason
// says the login failed, into an *APIError carrying Jira's messages.
func checkResponse(method, endpoint string, r *http.Response) *APIError {
	reason := r.Header.Get("X-Seraph-LoginReason")
	authFailed := reason != "" && reason != "OK" && reason != "AUTHENTICATED_TRUE"
	if r.StatusCode >= 200 && r.StatusCode <= 299 && !authFailed {
		return nil
	}
	e := &APIError{Method: method, Endpoint: endpoint, Status: r.StatusCode}
	if authFailed && r.StatusCode < 300 {
		e.Status = http.StatusUnauthorized
		e.Messages = append(e.Messages, "login refused (X-Seraph-LoginReason: "+reason+")")
	}
	var body struct {
		ErrorMessages []string          `json:"errorMessages"`
		Errors        map[string]string `json:"errors"`
	}
	if json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&body) == nil {
		e.Messages = append(e.Messages, body.ErrorMessages...)
		for _, k := range slices.Sorted(maps.Keys(body.Errors)) {
			e.Messages = append(e.Messages, k+": "+body.Errors[k])
		}
	}
	return e
}

// siteClock is the site's clock as the Date header of its first 2xx answer
// told it: how far it is ahead of this machine's.
type siteClock struct {
	known  atomic.Bool
	mu     sync.Mutex
	offset time.Duration
}

// note takes an answer's Date header, received at this machine's time at;
// only the first one that parses counts. Date has whole seconds, cut down,
// and was stamped before the answer travelled: the clock it gives is at
// most a second or so behind the site's, never ahead, which is the safe
// side for a bookmark's ceiling.
func (s *siteClock) note(date string, at time.Time) {
	if s.known.Load() || date == "" {
		return
	}
	t, err := http.ParseTime(date)
	if err != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.known.Load() {
		s.offset = t.Sub(at)
		s.known.Store(true)
	}
}

// SiteOffset is how far the site's clock is ahead of this machine's, from
// the Date header of the first 2xx answer; false before any answer carried
// one. Jira sets Date on every answer, as HTTP asks of a server with a
// clock: it is how a run that does not read /serverInfo (deployment_type
// set) still knows the site's time.
func (c *Client) SiteOffset() (time.Duration, bool) {
	if !c.clock.known.Load() {
		return 0, false
	}
	c.clock.mu.Lock()
	defer c.clock.mu.Unlock()
	return c.clock.offset, true
}

// ServerInfo is what /serverInfo says about the site.
type ServerInfo struct {
	BaseURL        string `json:"baseUrl"`
	Version        string `json:"version"`
	DeploymentType string `json:"deploymentType"` // "Cloud", "Server" or "DataCenter"
	// ServerTime is the site's clock when it answered
	// ("2026-01-02T03:04:05.000+0000"); "" if it did not say.
	ServerTime string `json:"serverTime"`
}

// Now is the site's clock when it answered, if it said.
func (s ServerInfo) Now() (time.Time, bool) {
	if s.ServerTime == "" {
		return time.Time{}, false
	}
	t, err := ParseTime(s.ServerTime)
	return t, err == nil
}

// Cloud reports whether the site is Jira Cloud.
func (s ServerInfo) Cloud() bool { return strings.EqualFold(s.DeploymentType, "Cloud") }

// ServerInfo reads /rest/api/2/serverInfo.
func (c *Client) ServerInfo(ctx context.Context) (ServerInfo, error) {
	var info ServerInfo
	if err := c.Get(ctx, "rest/api/2/serverInfo", nil, &info); err != nil {
		return ServerInfo{}, fmt.Errorf("reading server info: %w", err)
	}
	return info, nil
}
