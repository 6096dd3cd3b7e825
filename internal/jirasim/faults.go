package jirasim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Faults configures injected failures. The zero value injects nothing. A
// fault never changes the simulated data: it replaces or breaks a response,
// nothing else.
type Faults struct {
	Seed    uint64
	Latency time.Duration // added before every response
	Jitter  time.Duration // uniform in [-Jitter, +Jitter] around Latency (never below 0)
	// FailRate is the share of requests answered 500, 502 or 503 (Jira-like
	// JSON or proxy HTML bodies; a 503 sometimes carries Retry-After).
	FailRate float64
	// ThrottleRate is the share answered 429 with Jira Cloud's burst-limit
	// headers and body.
	ThrottleRate float64
	// CutRate is the share whose response is cut: the real handler runs, its
	// status, headers and about half of its body are sent, then the
	// connection is closed so the client sees an unexpected EOF.
	CutRate float64
	// StallRate is the share whose response stalls, as a server or proxy
	// that hangs does: half of them get nothing at all, the others their
	// status, headers and about half of the body; then the connection
	// stays open and silent until the client gives up on it (its own
	// timeout), or for StallFor (0: 2 minutes), after which it is closed.
	StallRate float64
	StallFor  time.Duration
	// RetryAfter is the Retry-After value for 429 (and 503 when sent),
	// rounded up to whole seconds, at least 1s; 0 means 1s.
	RetryAfter time.Duration
	// NearLimitRate is the probability that a response not replaced by a
	// fault carries X-RateLimit-NearLimit: true (Jira sends it below 20% of
	// the budget).
	NearLimitRate float64
	// MaxInFlight, when above 0, is a limit on the whole site: a request
	// that arrives while that many are being answered is answered 429
	// after the latency, and is not counted as being answered. Its 429
	// names no limit (no RateLimit-Reason), as Data Center's per-user
	// token bucket does not. Atlassian publishes no burst numbers; an
	// Atlassian engineer once called about 10 simultaneous requests from a
	// backend safe, so this is how a site's limit meets max_concurrency.
	MaxInFlight int
	// EndpointMaxInFlight, when above 0, is Jira Cloud's burst limit as
	// Atlassian documents its scope, one endpoint and method: a request
	// that arrives while that many to the same endpoint (method and path,
	// ids aside) are being answered is answered 429 with RateLimit-Reason:
	// jira-burst-based, as MaxInFlight's are otherwise.
	EndpointMaxInFlight int
}

// FaultCounts reports how many of each fault were injected.
type FaultCounts struct{ Failed, Throttled, Cut, Stalled, Delayed int64 }

// Validate reports a configuration the middleware would have to clamp.
func (f Faults) Validate() error {
	var errs []error
	for _, r := range []struct {
		name string
		v    float64
	}{
		{"FailRate", f.FailRate},
		{"ThrottleRate", f.ThrottleRate},
		{"CutRate", f.CutRate},
		{"StallRate", f.StallRate},
		{"NearLimitRate", f.NearLimitRate},
	} {
		// !(v >= 0 && v <= 1) also rejects NaN.
		if !(r.v >= 0 && r.v <= 1) {
			errs = append(errs, fmt.Errorf("jirasim: faults: %s %v not in [0, 1]", r.name, r.v))
		}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"Latency", f.Latency},
		{"Jitter", f.Jitter},
		{"RetryAfter", f.RetryAfter},
		{"StallFor", f.StallFor},
	} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("jirasim: faults: %s %v is negative", d.name, d.v))
		}
	}
	if f.MaxInFlight < 0 {
		errs = append(errs, fmt.Errorf("jirasim: faults: MaxInFlight %d is negative", f.MaxInFlight))
	}
	if f.EndpointMaxInFlight < 0 {
		errs = append(errs, fmt.Errorf("jirasim: faults: EndpointMaxInFlight %d is negative", f.EndpointMaxInFlight))
	}
	return errors.Join(errs...)
}

// FaultHandler is the middleware built by Faults.Middleware.
type FaultHandler struct {
	f      Faults
	next   http.Handler
	exempt func(*http.Request) bool
	sleep  func(ctx context.Context, d time.Duration)
	// now stamps X-RateLimit-Reset; tests in this package replace it before
	// serving.
	now func() time.Time

	mu  sync.Mutex
	rng *rand.Rand

	failed, throttled, cut, stalled, delayed atomic.Int64
	inFlight                                 atomic.Int64 // requests being answered, for MaxInFlight
	endpointsMu                              sync.Mutex
	endpoints                                map[string]int // requests being answered by endpoint, for EndpointMaxInFlight
}

// Middleware wraps next. Requests for which exempt returns true (e.g. the
// simulator's /__sim/ control endpoints) get no faults and no latency and do
// not consume random numbers, so polling them does not shift the sequence of
// decisions. sleep implements latency; nil means time.Sleep honouring the
// request context. Out-of-range settings are clamped (see Validate).
//
// A cut needs a hijackable connection (HTTP/1.x); otherwise the handler
// panics with http.ErrAbortHandler, which net/http turns into an aborted
// response but which a bare httptest.ResponseRecorder does not survive.
func (f Faults) Middleware(next http.Handler, exempt func(*http.Request) bool, sleep func(ctx context.Context, d time.Duration)) *FaultHandler {
	f.FailRate = clampRate(f.FailRate)
	f.ThrottleRate = clampRate(f.ThrottleRate)
	f.CutRate = clampRate(f.CutRate)
	f.StallRate = clampRate(f.StallRate)
	if f.StallFor <= 0 {
		f.StallFor = 2 * time.Minute
	}
	f.NearLimitRate = clampRate(f.NearLimitRate)
	f.Latency = max(f.Latency, 0)
	f.Jitter = max(f.Jitter, 0)
	f.MaxInFlight = max(f.MaxInFlight, 0)
	f.EndpointMaxInFlight = max(f.EndpointMaxInFlight, 0)
	if exempt == nil {
		exempt = func(*http.Request) bool { return false }
	}
	if sleep == nil {
		sleep = faultSleep
	}
	return &FaultHandler{
		f:      f,
		next:   next,
		exempt: exempt,
		sleep:  sleep,
		now:    time.Now,
		// The second PCG word is fixed so that Seed alone selects the stream.
		rng: rand.New(rand.NewPCG(f.Seed, 0x6a697261_73696d21)),
	}
}

// Counts reports the faults injected so far.
func (h *FaultHandler) Counts() FaultCounts {
	return FaultCounts{
		Failed:    h.failed.Load(),
		Throttled: h.throttled.Load(),
		Cut:       h.cut.Load(),
		Stalled:   h.stalled.Load(),
		Delayed:   h.delayed.Load(),
	}
}

type faultKind int

const (
	faultNone faultKind = iota
	faultThrottle
	faultFail
	faultCut
	faultStall
)

// faultDecision is everything random about one request.
type faultDecision struct {
	delay      time.Duration
	kind       faultKind
	status     int  // faultFail: 500, 502 or 503
	html       bool // faultFail: proxy HTML page instead of Jira JSON
	early      bool // faultStall: silent before any byte, not halfway through the body
	retryAfter bool // faultFail 503: send Retry-After
	nearLimit  bool // faultNone, faultCut
}

// decide draws the same number of values for every request whatever the
// settings, so changing one rate (or adding latency) does not reshuffle the
// other decisions of a run with the same seed.
func (h *FaultHandler) decide() faultDecision {
	h.mu.Lock()
	var u [8]float64
	for i := range u {
		u[i] = h.rng.Float64()
	}
	h.mu.Unlock()

	f := h.f
	d := faultDecision{
		delay: max(f.Latency+time.Duration((2*u[0]-1)*float64(f.Jitter)), 0),
	}
	switch {
	case u[1] < f.ThrottleRate:
		d.kind = faultThrottle
	case u[2] < f.FailRate:
		d.kind = faultFail
		d.status = [...]int{500, 502, 503}[int(u[3]*3)]
		d.html = d.status != 500 && u[4] < 0.5
		d.retryAfter = d.status == 503 && u[5] < 0.5
	case u[6] < f.CutRate:
		d.kind = faultCut
	case u[6] < f.CutRate+f.StallRate:
		// Drawn from the cut's value: the stall adds no draw, so a seed's
		// other decisions stay as they were.
		d.kind = faultStall
		d.early = u[4] < 0.5
	}
	d.nearLimit = u[7] < f.NearLimitRate
	return d
}

// ServeHTTP sleeps, then throttles, fails, cuts or passes the request on.
func (h *FaultHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.exempt(r) {
		h.next.ServeHTTP(w, r)
		return
	}
	d := h.decide()
	// Counted on arrival: the requests Jira is still answering are what
	// its limits see. A refused one is let go at once, since it is
	// refused at the edge, though its answer takes the latency like any
	// other. The decision is drawn all the same, so the caps do not
	// reshuffle the other faults of a seed.
	reason := "jira-burst-based" // of a throttled request
	leave := func() {}
	if h.f.MaxInFlight > 0 {
		if h.inFlight.Add(1) > int64(h.f.MaxInFlight) {
			h.inFlight.Add(-1)
			d.kind, reason = faultThrottle, ""
		} else {
			leave = func() { h.inFlight.Add(-1) }
		}
	}
	if h.f.EndpointMaxInFlight > 0 && d.kind != faultThrottle {
		if done, ok := h.enterEndpoint(r); ok {
			defer done()
		} else {
			d.kind = faultThrottle
			leave()
			leave = func() {}
		}
	}
	defer func() { leave() }()
	if d.delay > 0 {
		h.delayed.Add(1)
		h.sleep(r.Context(), d.delay)
		if r.Context().Err() != nil {
			return // the client gave up; nobody would read the response
		}
	}
	switch d.kind {
	case faultThrottle:
		h.throttled.Add(1)
		h.writeThrottle(w, reason)
	case faultFail:
		h.failed.Add(1)
		h.writeFail(w, d)
	case faultCut:
		h.cut.Add(1)
		if d.nearLimit {
			w.Header().Set("X-RateLimit-NearLimit", "true")
		}
		h.serveCut(w, r)
	case faultStall:
		h.stalled.Add(1)
		h.serveStall(w, r, d.early)
	default:
		if d.nearLimit {
			w.Header().Set("X-RateLimit-NearLimit", "true")
		}
		h.next.ServeHTTP(w, r)
	}
}

const (
	faultJSONType = "application/json;charset=UTF-8"
	// faultRateLimit is the X-RateLimit-Limit sent with 429s; Atlassian
	// publishes no numbers, so any plausible burst size will do.
	faultRateLimit = 100
)

// retryAfterSeconds is RetryAfter rounded up to whole seconds, at least 1.
func (h *FaultHandler) retryAfterSeconds() int64 {
	s := int64(math.Ceil(h.f.RetryAfter.Seconds()))
	return max(s, 1)
}

// enterEndpoint counts a request to r's endpoint in, if its endpoint has
// room under EndpointMaxInFlight; done counts it out.
func (h *FaultHandler) enterEndpoint(r *http.Request) (done func(), ok bool) {
	key := r.Method + " " + endpointOf(r.URL.Path)
	h.endpointsMu.Lock()
	defer h.endpointsMu.Unlock()
	if h.endpoints[key] >= h.f.EndpointMaxInFlight {
		return nil, false
	}
	if h.endpoints == nil {
		h.endpoints = map[string]int{}
	}
	h.endpoints[key]++
	return func() {
		h.endpointsMu.Lock()
		defer h.endpointsMu.Unlock()
		h.endpoints[key]--
	}, true
}

// endpointOf is a path without what comes before /rest/ (the gateway's
// prefix) and with its ids and issue keys as {id}: one endpoint for a
// burst limit, whichever issue or project it reads.
func endpointOf(path string) string {
	if i := strings.Index(path, "/rest/"); i > 0 {
		path = path[i:]
	}
	segs := strings.Split(path, "/")
	for i, s := range segs {
		if s != "" && strings.ContainsAny(s, "0123456789") && !(i > 0 && segs[i-1] == "api") {
			segs[i] = "{id}"
		}
	}
	return strings.Join(segs, "/")
}

// writeThrottle answers 429; reason, if any, is the RateLimit-Reason.
func (h *FaultHandler) writeThrottle(w http.ResponseWriter, reason string) {
	secs := h.retryAfterSeconds()
	// The header has minute precision; round up so a client that waits until
	// the reset is never early.
	reset := h.now().UTC().Add(time.Duration(secs) * time.Second)
	if t := reset.Truncate(time.Minute); !t.Equal(reset) {
		reset = t.Add(time.Minute)
	}
	hd := w.Header()
	hd.Set("Content-Type", faultJSONType)
	hd.Set("Retry-After", strconv.FormatInt(secs, 10))
	hd.Set("X-RateLimit-Limit", strconv.Itoa(faultRateLimit))
	hd.Set("X-RateLimit-Remaining", "0")
	hd.Set("X-RateLimit-Reset", reset.Format("2006-01-02T15:04Z"))
	if reason != "" {
		hd.Set("RateLimit-Reason", reason)
	}
	w.WriteHeader(http.StatusTooManyRequests)
	// Body as Jira Cloud sends it (seen in raycast/extensions#29015).
	_, _ = w.Write([]byte(`{"errorMessages":["The request has been rate-limited. Please try again later."],"errors":{},"status":429}`))
}

func (h *FaultHandler) writeFail(w http.ResponseWriter, d faultDecision) {
	hd := w.Header()
	if d.retryAfter {
		hd.Set("Retry-After", strconv.FormatInt(h.retryAfterSeconds(), 10))
	}
	var body string
	if d.html {
		// A 502/503 from a proxy in front of Jira is an HTML page, which
		// clients must not try to decode as JSON.
		hd.Set("Content-Type", "text/html")
		body = fmt.Sprintf("<html><body><h1>%d %s</h1></body></html>", d.status, http.StatusText(d.status))
	} else {
		hd.Set("Content-Type", faultJSONType)
		msg := map[int]string{
			500: "Internal server error",
			502: "Bad gateway",
			503: "Service unavailable",
		}[d.status]
		body = `{"errorMessages":["` + msg + `"],"errors":{}}`
	}
	w.WriteHeader(d.status)
	_, _ = w.Write([]byte(body))
}

// serveCut runs the real handler into a buffer, sends its status, headers
// and the first half of its body while announcing the full length, then
// drops the connection.
func (h *FaultHandler) serveCut(w http.ResponseWriter, r *http.Request) {
	buf := &faultBuffer{header: w.Header()}
	h.next.ServeHTTP(buf, r)
	status := buf.status
	if status == 0 {
		status = http.StatusOK
	}
	rc := http.NewResponseController(w)
	body := buf.body.Bytes()
	if len(body) > 0 && r.Method != http.MethodHead && bodyAllowed(status) {
		w.Header().Del("Transfer-Encoding")
		// The full length tells the client the body it got is short.
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(status)
		_, _ = w.Write(body[:len(body)/2])
		// Hijacking discards the server's write buffer, so push it out
		// first.
		_ = rc.Flush()
	}
	// With nothing to truncate, the connection drops before any response,
	// which the client sees as an EOF as well.
	conn, _, err := rc.Hijack()
	if err != nil {
		// HTTP/2 cannot hijack; an aborted handler resets the stream.
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

// serveStall answers nothing (early), or the status, headers and about half
// of the real handler's body, then keeps the connection silent until the
// client hangs up or StallFor passes, and closes it.
func (h *FaultHandler) serveStall(w http.ResponseWriter, r *http.Request, early bool) {
	rc := http.NewResponseController(w)
	if early {
		// net/http notices a client hanging up (and ends r's context) only
		// once the request's body has been read.
		_, _ = io.Copy(io.Discard, r.Body)
	} else {
		buf := &faultBuffer{header: w.Header()}
		h.next.ServeHTTP(buf, r)
		status := buf.status
		if status == 0 {
			status = http.StatusOK
		}
		body := buf.body.Bytes()
		w.Header().Del("Transfer-Encoding")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(status)
		if r.Method != http.MethodHead && bodyAllowed(status) {
			_, _ = w.Write(body[:len(body)/2])
		}
		_ = rc.Flush()
	}
	t := time.NewTimer(h.f.StallFor)
	defer t.Stop()
	select {
	case <-r.Context().Done():
	case <-t.C:
	}
	if conn, _, err := rc.Hijack(); err == nil {
		_ = conn.Close()
		return
	}
	panic(http.ErrAbortHandler)
}

func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}

// faultBuffer records a handler's response. It deliberately has no Unwrap,
// so http.ResponseController cannot reach past it and send early.
type faultBuffer struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *faultBuffer) Header() http.Header { return b.header }

func (b *faultBuffer) WriteHeader(code int) {
	// Informational (1xx) headers are not the final status.
	if b.status == 0 && code >= 200 {
		b.status = code
	}
}

func (b *faultBuffer) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

// Flush is a no-op so handlers that flush still work while buffered.
func (b *faultBuffer) Flush() {}

func clampRate(v float64) float64 {
	if !(v > 0) { // also NaN
		return 0
	}
	return min(v, 1)
}

// faultSleep is time.Sleep that returns early when ctx is done.
func faultSleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
