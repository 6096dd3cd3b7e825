package jirasim

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"
)

// OAuthOptions make the site an OAuth 2.0 (3LO) app's view of Atlassian:
// POST /oauth/token runs the refresh grant, and the access tokens it issues
// are accepted as bearer tokens through the API gateway prefix.
type OAuthOptions struct {
	ClientID, ClientSecret string
	// RefreshToken is the one valid refresh token at the start. Every grant
	// rotates it: the token used is refused from then on.
	RefreshToken string
	// AccessToken, when set, is valid from the start for TTL.
	AccessToken string
	// TTL is the access tokens' lifetime: announced as expires_in and
	// enforced on the site's clock (see Advance). 0 means one hour.
	TTL time.Duration
	// ExpireEvery, when positive, expires every access token issued so far
	// after each ExpireEvery requests served with one, whatever expires_in
	// said: tokens that die mid-run, as on a clock that runs fast, with the
	// request count as the clock. A token issued after such a moment lives
	// until the next.
	ExpireEvery int
	// FailFirst answers the first FailFirst token requests 503.
	FailFirst int
}

// OAuthStats count what the token endpoint and the bearer check did.
type OAuthStats struct {
	Requests        int // token requests, all outcomes
	Grants          int // access tokens issued
	Refused         int // token requests refused (4xx)
	Failed          int // token requests answered 503 by FailFirst
	ExpiredTokens   int // distinct access tokens refused because they expired
	ExpiredRefusals int // API requests refused with an expired access token
	Gateway         int // API requests served through /ex/jira/{cloud_id}
}

type simToken struct {
	expires time.Time
	epoch   int // the ExpireEvery period it was issued in
	expired bool
}

type viaGatewayKey struct{}

// gateway serves /ex/jira/{cloud_id}/... as Atlassian's API gateway does,
// by stripping the prefix; an unknown cloud ID is a 404.
func (s *Server) gateway(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest, ok := strings.CutPrefix(r.URL.Path, "/ex/jira/")
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		id, path, _ := strings.Cut(rest, "/")
		if s.opts.CloudID == "" || id != s.opts.CloudID {
			writeError(w, http.StatusNotFound, "Site not found for cloud id "+id)
			return
		}
		r2 := r.Clone(context.WithValue(r.Context(), viaGatewayKey{}, true))
		r2.URL.Path, r2.URL.RawPath = "/"+path, ""
		s.oauthMu.Lock()
		s.oauthStats.Gateway++
		s.oauthMu.Unlock()
		next.ServeHTTP(w, r2)
	})
}

func viaGateway(r *http.Request) bool { return r.Context().Value(viaGatewayKey{}) != nil }

// acceptAccessToken checks an OAuth bearer token and counts its use.
func (s *Server) acceptAccessToken(tok string) bool {
	if s.opts.OAuth == nil {
		return false
	}
	s.oauthMu.Lock()
	defer s.oauthMu.Unlock()
	t := s.accessTokens[tok]
	if t == nil {
		return false
	}
	if !s.Now().Before(t.expires) || t.epoch != s.epoch {
		if !t.expired {
			t.expired = true
			s.oauthStats.ExpiredTokens++
		}
		s.oauthStats.ExpiredRefusals++
		return false
	}
	if n := s.opts.OAuth.ExpireEvery; n > 0 {
		s.served++
		if s.served%n == 0 {
			s.epoch++
		}
	}
	return true
}

func (s *Server) initOAuth() {
	s.accessTokens = map[string]*simToken{}
	s.refreshTokens = map[string]bool{}
	o := s.opts.OAuth
	if o == nil {
		return
	}
	s.refreshTokens[o.RefreshToken] = true
	if o.AccessToken != "" {
		s.accessTokens[o.AccessToken] = &simToken{expires: s.Now().Add(o.TTL)}
	}
}

// oauthToken is POST /oauth/token: the refresh grant, with the request as
// JSON (as Atlassian documents) or a form (as singer-io sends it).
func (s *Server) oauthToken(w http.ResponseWriter, r *http.Request) {
	o := s.opts.OAuth
	if o == nil {
		writeError(w, http.StatusNotFound, "null for uri: "+r.URL.Path)
		return
	}
	params := map[string]string{}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/x-www-form-urlencoded" {
		if err := r.ParseForm(); err != nil {
			oauthError(w, http.StatusBadRequest, "invalid_request", "malformed form")
			return
		}
		for k := range r.PostForm {
			params[k] = r.PostForm.Get(k)
		}
	} else if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&params); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "malformed JSON body")
		return
	}
	eq := func(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

	s.oauthMu.Lock()
	defer s.oauthMu.Unlock()
	s.oauthStats.Requests++
	if s.oauthStats.Requests <= o.FailFirst {
		s.oauthStats.Failed++
		oauthError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "try again later")
		return
	}
	switch {
	case params["grant_type"] != "refresh_token":
		s.oauthStats.Refused++
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "only refresh_token is simulated")
		return
	case !eq(params["client_id"], o.ClientID) || !eq(params["client_secret"], o.ClientSecret):
		s.oauthStats.Refused++
		oauthError(w, http.StatusUnauthorized, "access_denied", "Unauthorized")
		return
	case !s.refreshTokens[params["refresh_token"]]:
		s.oauthStats.Refused++
		oauthError(w, http.StatusForbidden, "invalid_grant", "Unknown or invalid refresh token.")
		return
	}
	delete(s.refreshTokens, params["refresh_token"])
	s.oauthStats.Grants++
	n := s.oauthStats.Grants
	access := fmt.Sprintf("sim-access-%d-%s", n, o.ClientID)
	refresh := fmt.Sprintf("sim-refresh-%d-%s", n, o.ClientID)
	s.refreshTokens[refresh] = true
	s.accessTokens[access] = &simToken{expires: s.Now().Add(o.TTL), epoch: s.epoch}
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token":  access,
		"token_type":    "Bearer",
		"expires_in":    int(max(o.TTL/time.Second, 1)),
		"refresh_token": refresh,
		"scope":         "read:jira-work read:jira-user offline_access",
	})
}

func oauthError(w http.ResponseWriter, status int, code, description string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": description})
}

// OAuthStats returns the OAuth and gateway counters.
func (s *Server) OAuthStats() OAuthStats {
	s.oauthMu.Lock()
	defer s.oauthMu.Unlock()
	return s.oauthStats
}

// ValidRefreshToken reports whether tok is the refresh token the site
// would accept now.
func (s *Server) ValidRefreshToken(tok string) bool {
	s.oauthMu.Lock()
	defer s.oauthMu.Unlock()
	return s.refreshTokens[tok]
}
