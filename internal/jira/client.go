package jira

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	gojira "github.com/andygrunwald/go-jira"
)

// Options configure a Client.
type Options struct {
	BaseURL   *url.URL
	Username  string
	Password  string // the API token on Jira Cloud
	UserAgent string
	Timeout   time.Duration     // per request; 0 means none
	Transport http.RoundTripper // nil means http.DefaultTransport
}

// Client reads Jira's REST API. go-jira supplies the plumbing (base URL
// joining, auth transport, request building); bodies are decoded here with
// UseNumber because go-jira's typed structs drop fields.
type Client struct {
	api       *gojira.Client
	userAgent string
}

// New returns a Client for the site at opts.BaseURL.
func New(opts Options) (*Client, error) {
	if opts.BaseURL == nil {
		return nil, errors.New("jira client: no base URL")
	}
	auth := &gojira.BasicAuthTransport{Username: opts.Username, Password: opts.Password, Transport: opts.Transport}
	hc := &http.Client{Transport: auth, Timeout: opts.Timeout}
	api, err := gojira.NewClient(hc, opts.BaseURL.String())
	if err != nil {
		return nil, fmt.Errorf("jira client: %w", err)
	}
	return &Client{api: api, userAgent: opts.UserAgent}, nil
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

func (c *Client) do(ctx context.Context, method, path string, query url.Values, body, v any) error {
	endpoint := "/" + strings.TrimLeft(path, "/")
	rel := path
	if len(query) > 0 {
		rel += "?" + query.Encode()
	}
	req, err := c.api.NewRequestWithContext(ctx, method, rel, body)
	if err != nil {
		return fmt.Errorf("building request for %s: %w", endpoint, err)
	}
	req.Header.Set("Accept", "application/json")
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	resp, err := c.api.Do(req, nil)
	if resp != nil && resp.Body != nil {
		defer func() {
			// Drain so the connection can be reused.
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
			_ = resp.Body.Close()
		}()
	}
	if err != nil && (resp == nil || resp.Response == nil) {
		return fmt.Errorf("%s %s: %w", method, endpoint, err)
	}
	if apiErr := checkResponse(method, endpoint, resp.Response); apiErr != nil {
		return apiErr
	}
	dec := json.NewDecoder(resp.Body)
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s %s: decoding body: %w: %w", method, endpoint, ErrNotJSON, err)
	}
	return nil
}

// checkResponse turns an error status, or a 200 whose X-Seraph-LoginReason
// says the login failed, into an *APIError carrying Jira's messages.
func checkResponse(method, endpoint string, r *http.Response) error {
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

// ServerInfo is what /serverInfo says about the site.
type ServerInfo struct {
	BaseURL        string `json:"baseUrl"`
	Version        string `json:"version"`
	DeploymentType string `json:"deploymentType"` // "Cloud", "Server" or "DataCenter"
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
