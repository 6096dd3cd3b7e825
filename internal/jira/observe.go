package jira

import (
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"
)

// RequestInfo describes one HTTP try (a retried request is several), for
// metrics: singer-python's http_request_duration timer.
type RequestInfo struct {
	Method   string
	Endpoint string        // path template such as /rest/api/2/issue/{id}/comment: no host, query or ids
	Status   int           // HTTP status; 0 when no response came
	Duration time.Duration // from sending the request to the end of its body
	Err      error         // a network error or a body cut short; nil otherwise
}

// Succeeded reports a 2xx answer whose body arrived whole.
func (r RequestInfo) Succeeded() bool {
	return r.Err == nil && r.Status >= 200 && r.Status <= 299
}

// observeTransport wraps next so that fn hears of every try once its body
// is read to the end or closed (the client always drains and closes), so
// the duration covers the transfer, not just the headers.
func observeTransport(next http.RoundTripper, fn func(RequestInfo)) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		start := time.Now()
		info := RequestInfo{Method: req.Method, Endpoint: PathTemplate(req.URL.Path)}
		resp, err := next.RoundTrip(req)
		if err != nil {
			info.Duration, info.Err = time.Since(start), err
			fn(info)
			return resp, err
		}
		info.Status = resp.StatusCode
		resp.Body = &observedBody{ReadCloser: resp.Body, done: func(err error) {
			info.Duration, info.Err = time.Since(start), err
			fn(info)
		}}
		return resp, nil
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// observedBody calls done once: at EOF, at a read error, or at Close.
type observedBody struct {
	io.ReadCloser
	once sync.Once
	done func(error)
}

func (b *observedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	switch {
	case errors.Is(err, io.EOF):
		b.once.Do(func() { b.done(nil) })
	case err != nil:
		b.once.Do(func() { b.done(err) })
	}
	return n, err
}

func (b *observedBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(func() { b.done(nil) })
	return err
}

var issueKey = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*-[0-9]+$`)

// PathTemplate turns a request path into a label with a bounded set of
// values: the part before /rest/ (a Data Center context path) is dropped,
// and ids and issue keys become {id}, so metrics group by endpoint instead
// of by issue.
func PathTemplate(path string) string {
	if i := strings.Index(path, "/rest/"); i > 0 {
		path = path[i:]
	}
	segs := strings.Split(path, "/")
	for i, s := range segs {
		if s == "" || (i > 0 && (segs[i-1] == "api" || segs[i-1] == "agile")) {
			continue // the API version
		}
		if strings.Trim(s, "0123456789") == "" || issueKey.MatchString(s) {
			segs[i] = "{id}"
		}
	}
	return strings.Join(segs, "/")
}
