package jira

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v5"
)

// OAuthOptions configure a TokenSource for OAuth 2.0 (3LO) with a refresh
// token, as Atlassian issues them.
type OAuthOptions struct {
	TokenURL     *url.URL // https://auth.atlassian.com/oauth/token
	ClientID     string
	ClientSecret string
	RefreshToken string // the config's; a token file may hold a newer one
	AccessToken  string // optional: used until it expires or Jira refuses it
	// TokenFile keeps the latest tokens across runs, because Atlassian
	// rotates the refresh token on every refresh; "" keeps them nowhere.
	TokenFile string
	UserAgent string
	Timeout   time.Duration     // per token request; 0 means none
	Transport http.RoundTripper // nil means http.DefaultTransport
	Retry     RetryPolicy       // zero value means DefaultRetryPolicy
	Log       *slog.Logger      // nil discards
	Now       func() time.Time  // nil means time.Now
}

// TokenSource hands out OAuth 2.0 access tokens, refreshing them before
// they expire and after Jira refuses one. One refresh runs at a time: the
// refresh token is single-use, so two concurrent refreshes would spend it
// twice and the second would fail.
type TokenSource struct {
	opts OAuthOptions
	http *http.Client
	log  *slog.Logger
	now  func() time.Time
	sem  chan struct{} // held while refreshing

	mu        sync.Mutex
	access    string
	refreshAt time.Time // zero: unknown, use the token until Jira refuses it
	refresh   string
	seed      string // fingerprint of the config's refresh token, kept in the file
	failed    error  // a refresh failed for good: every later call fails alike
	warned    bool   // the rotation warning was given
	taken     string // the last access token Jira took (answered other than 401)

	refreshes atomic.Int64
}

// NewTokenSource returns a TokenSource. When opts.TokenFile holds tokens
// derived from the config's refresh token, they are used instead of the
// config's, since the config's refresh token has then been spent.
func NewTokenSource(opts OAuthOptions) (*TokenSource, error) {
	if opts.TokenURL == nil {
		return nil, errors.New("oauth: no token URL")
	}
	if opts.Retry == (RetryPolicy{}) {
		opts.Retry = DefaultRetryPolicy
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	s := &TokenSource{
		opts: opts,
		http: &http.Client{Transport: opts.Transport, Timeout: opts.Timeout},
		log:  log, now: now,
		sem:     make(chan struct{}, 1),
		access:  opts.AccessToken,
		refresh: opts.RefreshToken,
		seed:    fingerprint(opts.RefreshToken),
	}
	if opts.TokenFile == "" {
		return s, nil
	}
	saved, err := readTokenFile(opts.TokenFile)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		log.Info("the OAuth 2.0 token file does not exist yet; it is written at the first refresh", "file", opts.TokenFile)
	case err != nil:
		return nil, err
	case saved.Seed != s.seed:
		log.Info("refresh_token in the config changed since the OAuth 2.0 token file was written; starting from the config's", "file", opts.TokenFile)
	default:
		log.Info("using the OAuth 2.0 tokens kept in the token file", "file", opts.TokenFile)
		s.refresh = saved.RefreshToken
		s.access = saved.AccessToken
		if !saved.ExpiresAt.IsZero() {
			s.refreshAt = saved.ExpiresAt.Add(-maxSkew)
		}
	}
	return s, nil
}

// maxSkew is how long before its expiry a token is replaced, so that a
// request sent just before the expiry does not arrive just after it.
const maxSkew = time.Minute

// Refreshes reports how many refreshes succeeded.
func (s *TokenSource) Refreshes() int64 { return s.refreshes.Load() }

// Token returns a valid access token, refreshing it first if it is missing
// or about to expire.
func (s *TokenSource) Token(ctx context.Context) (string, error) {
	if tok, ok, err := s.current(); ok {
		return tok, err
	}
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return "", context.Cause(ctx)
	}
	defer func() { <-s.sem }()
	// Another caller may have refreshed while this one waited.
	if tok, ok, err := s.current(); ok {
		return tok, err
	}
	return s.refreshToken(ctx)
}

// current returns the access token if it is still good, or the error that
// ended refreshing; ok is false when a refresh is needed.
func (s *TokenSource) current() (tok string, ok bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed != nil {
		return "", true, s.failed
	}
	if s.access == "" || (!s.refreshAt.IsZero() && !s.now().Before(s.refreshAt)) {
		return "", false, nil
	}
	return s.access, true, nil
}

// replacement returns the current access token when it is a good one other
// than tok: another request refreshed after tok was handed out.
func (s *TokenSource) replacement(tok string) (string, bool) {
	cur, ok, err := s.current()
	if !ok || err != nil || cur == tok {
		return "", false
	}
	return cur, true
}

// took notes that Jira took tok: refused later, it has expired, not been
// refused from the start.
func (s *TokenSource) took(tok string) {
	s.mu.Lock()
	s.taken = tok
	s.mu.Unlock()
}

// wasTaken reports whether Jira took tok since it was handed out.
func (s *TokenSource) wasTaken(tok string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.taken == tok
}

// invalidate drops tok after Jira refused it, unless it was replaced
// already: concurrent requests refused with the same token cause one
// refresh, not one each.
func (s *TokenSource) invalidate(tok string) {
	s.mu.Lock()
	if s.access == tok {
		s.access = ""
	}
	s.mu.Unlock()
}

// refreshToken runs the refresh grant; the caller holds s.sem.
func (s *TokenSource) refreshToken(ctx context.Context) (string, error) {
	s.mu.Lock()
	rt := s.refresh
	s.mu.Unlock()
	start := s.now()
	got, err := s.grant(ctx, rt)
	if err != nil {
		if ctx.Err() == nil {
			s.fail(err)
		}
		return "", err
	}
	s.mu.Lock()
	s.access = got.AccessToken
	s.refreshAt = time.Time{}
	var expiresAt time.Time
	if got.ExpiresIn > 0 {
		life := time.Duration(got.ExpiresIn) * time.Second
		expiresAt = start.Add(life)
		s.refreshAt = expiresAt.Add(-min(maxSkew, life/10))
	}
	rotated := got.RefreshToken != "" && got.RefreshToken != rt
	if got.RefreshToken != "" {
		s.refresh = got.RefreshToken
	}
	warn := rotated && s.opts.TokenFile == "" && !s.warned
	s.warned = s.warned || warn
	s.mu.Unlock()
	s.refreshes.Add(1)
	s.log.Info("refreshed the OAuth 2.0 access token", "expires_in", time.Duration(got.ExpiresIn)*time.Second, "refresh_token_rotated", rotated)

	if s.opts.TokenFile != "" {
		saved := savedTokens{RefreshToken: s.refresh, AccessToken: got.AccessToken, ExpiresAt: expiresAt, Seed: s.seed}
		if err := writeTokenFile(s.opts.TokenFile, saved, s.now()); err != nil {
			// Going on would lose the rotated refresh token for good.
			terr := &TokenError{URL: s.tokenURL(), Err: err, Hint: "the new refresh token could not be kept: fix oauth_token_file (a writable path), then authorize again if the next run is refused"}
			s.fail(terr)
			return "", terr
		}
	}
	if warn {
		s.log.Warn("Atlassian rotated the OAuth 2.0 refresh token and tap-jira cannot keep the new one because oauth_token_file is not set: " +
			"the refresh_token in the config is spent and the next run may be refused. Set oauth_token_file to a file path " +
			"(tap-jira then keeps the latest tokens there, mode 0600, and uses them on later runs), or authorize again and update refresh_token")
	}
	return got.AccessToken, nil
}

func (s *TokenSource) fail(err error) {
	s.mu.Lock()
	s.failed = err
	s.mu.Unlock()
}

func (s *TokenSource) tokenURL() string {
	u := *s.opts.TokenURL
	u.RawQuery, u.Fragment, u.User = "", "", nil
	return u.String()
}

// grant POSTs the refresh grant, retrying what may pass (network errors,
// 429, 5xx) as Jira requests are retried. The body is JSON, as Atlassian
// documents; jira-sim also takes singer-io's form encoding.
func (s *TokenSource) grant(ctx context.Context, refreshToken string) (tokenResponse, error) {
	body, err := json.Marshal(map[string]string{
		"grant_type":    "refresh_token",
		"client_id":     s.opts.ClientID,
		"client_secret": s.opts.ClientSecret,
		"refresh_token": refreshToken,
	})
	if err != nil {
		return tokenResponse{}, &TokenError{URL: s.tokenURL(), Err: err}
	}
	attempts := 0
	got, err := backoff.Retry(ctx, func() (tokenResponse, error) {
		attempts++
		return s.grantOnce(ctx, body)
	}, backoff.WithBackOff(s.opts.Retry.backOff()), backoff.WithMaxTries(s.opts.Retry.MaxAttempts),
		backoff.WithMaxElapsedTime(s.opts.Retry.MaxElapsed),
		backoff.WithNotify(func(err error, wait time.Duration) {
			s.log.Warn("retrying the OAuth 2.0 token request", "error", err.Error(), "wait", wait.Round(time.Millisecond))
		}))
	if err != nil {
		if ctx.Err() != nil {
			return tokenResponse{}, context.Cause(ctx)
		}
		var terr *TokenError
		if !errors.As(err, &terr) {
			terr = &TokenError{URL: s.tokenURL(), Err: err}
		}
		terr.Attempts = attempts
		return tokenResponse{}, terr
	}
	return got, nil
}

func (s *TokenSource) grantOnce(ctx context.Context, body []byte) (tokenResponse, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.opts.TokenURL.String(), bytes.NewReader(body))
	if err != nil {
		return tokenResponse{}, backoff.Permanent(&TokenError{URL: s.tokenURL(), Err: errors.New("building the request")})
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if s.opts.UserAgent != "" {
		req.Header.Set("User-Agent", s.opts.UserAgent)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		// *url.Error repeats the URL only, never the body; the cause is
		// kept without it.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		terr := &TokenError{URL: s.tokenURL(), Err: err}
		if ctx.Err() != nil {
			return tokenResponse{}, backoff.Permanent(terr)
		}
		return tokenResponse{}, terr
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		_ = resp.Body.Close()
	}()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return tokenResponse{}, &TokenError{URL: s.tokenURL(), Status: resp.StatusCode, Err: fmt.Errorf("reading the response: %w", err)}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		terr := &TokenError{URL: s.tokenURL(), Status: resp.StatusCode}
		terr.Code, terr.Description = parseTokenError(data)
		terr.Description = s.redact(terr.Description)
		terr.Code = s.redact(terr.Code)
		if !retryableStatus(resp.StatusCode) {
			return tokenResponse{}, backoff.Permanent(terr)
		}
		if wait, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			return tokenResponse{}, &throttled{err: terr, after: &backoff.RetryAfterError{Duration: min(wait, s.opts.Retry.MaxRetryAfter)}}
		}
		return tokenResponse{}, terr
	}
	got, err := parseTokenResponse(data)
	if err != nil {
		return tokenResponse{}, backoff.Permanent(&TokenError{URL: s.tokenURL(), Status: resp.StatusCode, Err: err})
	}
	return got, nil
}

// redact removes this source's secrets from text the token endpoint wrote.
func (s *TokenSource) redact(text string) string {
	s.mu.Lock()
	secrets := []string{s.opts.ClientSecret, s.opts.RefreshToken, s.opts.AccessToken, s.refresh, s.access}
	s.mu.Unlock()
	for _, sec := range secrets {
		if len(sec) >= 4 {
			text = strings.ReplaceAll(text, sec, "REDACTED")
		}
	}
	return text
}

// TokenError is a failed OAuth 2.0 refresh. It never carries a token or the
// client secret.
type TokenError struct {
	URL         string // the token endpoint
	Status      int    // 0 when no HTTP answer came
	Code        string // the OAuth error code, e.g. invalid_grant
	Description string // the endpoint's error_description
	Attempts    int    // tries made, retries included
	Hint        string // what the user can do; "" picks one from Code
	Err         error  // the cause when there was no usable answer
}

func (e *TokenError) Error() string {
	var b strings.Builder
	b.WriteString("refreshing the OAuth 2.0 access token at ")
	b.WriteString(e.URL)
	if e.Status != 0 {
		fmt.Fprintf(&b, ": HTTP %d", e.Status)
		if text := http.StatusText(e.Status); text != "" {
			b.WriteString(" " + text)
		}
	}
	if e.Code != "" {
		b.WriteString(": " + e.Code)
		if e.Description != "" {
			b.WriteString(" (" + e.Description + ")")
		}
	} else if e.Description != "" {
		b.WriteString(": " + e.Description)
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (gave up after %d attempts)", e.Attempts)
	}
	if hint := e.hint(); hint != "" {
		b.WriteString("; " + hint)
	}
	return b.String()
}

func (e *TokenError) Unwrap() error { return e.Err }

func (e *TokenError) hint() string {
	if e.Hint != "" {
		return e.Hint
	}
	switch {
	case e.Code == "invalid_client" || e.Code == "unauthorized_client" || e.Status == http.StatusUnauthorized:
		return "check oauth_client_id and oauth_client_secret"
	case e.Code == "invalid_grant" || e.Status == http.StatusForbidden:
		return "the refresh token is invalid, expired or already used (Atlassian rotates refresh tokens: each works once): " +
			"authorize the app again, put the new refresh_token in the config, and set oauth_token_file so that tap-jira keeps rotated tokens"
	}
	return ""
}

// tokenResponse is the part of a token endpoint's answer the tap uses.
type tokenResponse struct {
	AccessToken  string
	RefreshToken string // "" when the endpoint did not rotate it
	ExpiresIn    int64  // seconds; 0 when not given
}

// maxExpiresIn bounds expires_in (ten years) so that adding it to a time
// cannot overflow.
const maxExpiresIn = 10 * 365 * 24 * 3600

// parseTokenResponse reads a token endpoint's 200 answer. Its errors never
// quote the body, which holds tokens.
func parseTokenResponse(data []byte) (tokenResponse, error) {
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil || raw == nil {
		return tokenResponse{}, fmt.Errorf("the token response is not a JSON object: %w", ErrNotJSON)
	}
	var out tokenResponse
	str := func(key string) (string, error) {
		v, ok := raw[key]
		if !ok || string(v) == "null" {
			return "", nil
		}
		var s string
		if json.Unmarshal(v, &s) != nil {
			return "", fmt.Errorf("the token response's %s is not a string", key)
		}
		if !validToken(s) {
			return "", fmt.Errorf("the token response's %s has characters a token cannot have", key)
		}
		return s, nil
	}
	var err error
	if out.AccessToken, err = str("access_token"); err != nil {
		return tokenResponse{}, err
	}
	if out.AccessToken == "" {
		return tokenResponse{}, errors.New("the token response has no access_token")
	}
	if out.RefreshToken, err = str("refresh_token"); err != nil {
		return tokenResponse{}, err
	}
	if v, ok := raw["token_type"]; ok && string(v) != "null" {
		var typ string
		if json.Unmarshal(v, &typ) != nil || !strings.EqualFold(typ, "bearer") {
			return tokenResponse{}, errors.New("the token response's token_type is not Bearer")
		}
	}
	if v, ok := raw["expires_in"]; ok && string(v) != "null" {
		var n json.Number
		if json.Unmarshal(v, &n) != nil {
			return tokenResponse{}, errors.New("the token response's expires_in is not a number")
		}
		f, err := n.Float64()
		if err != nil || f < 0 {
			return tokenResponse{}, errors.New("the token response's expires_in is not a number of seconds")
		}
		out.ExpiresIn = int64(min(f, maxExpiresIn))
	}
	return out, nil
}

// validToken reports whether s can travel in an Authorization header as it
// is: visible ASCII, no spaces.
func validToken(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// parseTokenError reads an OAuth error body ({"error", "error_description"}),
// cut short and without control characters.
func parseTokenError(data []byte) (code, description string) {
	var body struct {
		Error            any    `json:"error"`
		ErrorDescription string `json:"error_description"`
		Message          string `json:"message"`
	}
	if json.Unmarshal(data, &body) != nil {
		return "", ""
	}
	if s, ok := body.Error.(string); ok {
		code = s
	}
	description = body.ErrorDescription
	if description == "" {
		description = body.Message
	}
	return clean(code, 64), clean(description, 200)
}

func clean(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if r := []rune(s); len(r) > n {
		s = string(r[:n]) + "…"
	}
	return strings.TrimSpace(s)
}

// oauthTransport authenticates requests with the source's access token. A
// 401 gets a fresh token, since a token can expire (or be revoked) before
// the time it announced: once by a refresh of the request's own, and again
// whenever other requests refreshed meanwhile (with many in flight, the new
// token may itself expire before a slow request is tried again). A token
// refused right after the request's own refresh is a real refusal, unless
// Jira took it meanwhile for another request: then it expired too.
type oauthTransport struct {
	src  *TokenSource
	next http.RoundTripper
}

// maxAuthTries bounds the tries of one request on 401s.
const maxAuthTries = 5

func (t *oauthTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	tok, err := t.src.Token(ctx)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	body := req.Body
	refreshed := false
	for tries := 1; ; tries++ {
		resp, err := t.send(req, tok, body)
		if err == nil && resp.StatusCode != http.StatusUnauthorized {
			t.src.took(tok)
		}
		if err != nil || resp.StatusCode != http.StatusUnauthorized || tries == maxAuthTries {
			return resp, err
		}
		fresh, newer := t.src.replacement(tok)
		if !newer && refreshed && !t.src.wasTaken(tok) {
			return resp, nil // the token this request refreshed itself was refused from the start: the 401 stands
		}
		var next io.ReadCloser
		if req.Body != nil && req.Body != http.NoBody {
			if req.GetBody == nil {
				return resp, nil // cannot send the body again
			}
			if next, err = req.GetBody(); err != nil {
				return resp, nil // the 401 stands
			}
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		_ = resp.Body.Close()
		if !newer {
			t.src.invalidate(tok)
			refreshed = true
			if fresh, err = t.src.Token(ctx); err != nil {
				if next != nil {
					_ = next.Close()
				}
				return nil, err
			}
		}
		tok, body = fresh, next
	}
}

func (t *oauthTransport) send(req *http.Request, tok string, body io.ReadCloser) (*http.Response, error) {
	r := req.Clone(req.Context()) // per the RoundTripper contract
	r.Body = body
	r.Header.Set("Authorization", "Bearer "+tok)
	next := t.next
	if next == nil {
		next = http.DefaultTransport
	}
	return next.RoundTrip(r)
}

// closeBody closes a request's body, as a RoundTripper must even when it
// fails before sending.
func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}
