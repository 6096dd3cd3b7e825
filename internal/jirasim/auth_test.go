package jirasim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testCloudID = "c0ffee-1"

func newAuthSim(t *testing.T, flavor Flavor, o *OAuthOptions) (*Server, string) {
	t.Helper()
	start := time.Now()
	sim := New(Options{Flavor: flavor, Email: "sim@example.com", Token: "tok", PAT: "pat-123",
		CloudID: testCloudID, ScopedToken: "scoped-1", OAuth: o,
		Gen:   GenOptions{Seed: 7, Issues: 5, Projects: 1, Users: 3, Now: simNow},
		Clock: func() time.Time { return start }})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return sim, srv.URL
}

func send(t *testing.T, method, u string, header http.Header, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, u, strings.NewReader(body))
	require.NoError(t, err)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, b
}

func basic(user, pass string) http.Header {
	r, _ := http.NewRequest(http.MethodGet, "http://x", nil)
	r.SetBasicAuth(user, pass)
	return r.Header
}

func bearer(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }

func TestGatewayAndCredentials(t *testing.T) {
	t.Parallel()
	gw := "/ex/jira/" + testCloudID
	tests := []struct {
		name   string
		flavor Flavor
		path   string
		header http.Header
		want   int
	}{
		{"basic on the site", Cloud, "", basic("sim@example.com", "tok"), 200},
		{"basic through the gateway", Cloud, gw, basic("sim@example.com", "tok"), 200},
		{"scoped token through the gateway", Cloud, gw, basic("sim@example.com", "scoped-1"), 200},
		{"scoped token on the site", Cloud, "", basic("sim@example.com", "scoped-1"), 401},
		{"scoped token of another user", Cloud, gw, basic("other@example.com", "scoped-1"), 401},
		{"wrong cloud id", Cloud, "/ex/jira/other", basic("sim@example.com", "tok"), 404},
		{"PAT on Data Center", DataCenter, "", bearer("pat-123"), 200},
		{"PAT on Cloud", Cloud, "", bearer("pat-123"), 401},
		{"unknown bearer through the gateway", Cloud, gw, bearer("nope"), 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, base := newAuthSim(t, tc.flavor, nil)
			status, _ := send(t, http.MethodGet, base+tc.path+"/rest/api/2/myself", tc.header, "")
			assert.Equal(t, tc.want, status)
		})
	}
}

// grant asks the token endpoint for a refresh, as JSON or as a form.
func grant(t *testing.T, base string, form bool, secret, refresh string) (int, map[string]any) {
	t.Helper()
	params := map[string]string{"grant_type": "refresh_token", "client_id": "cid", "client_secret": secret, "refresh_token": refresh}
	var body string
	h := http.Header{}
	if form {
		v := url.Values{}
		for k, p := range params {
			v.Set(k, p)
		}
		body = v.Encode()
		h.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		b, _ := json.Marshal(params)
		body = string(b)
		h.Set("Content-Type", "application/json")
	}
	status, b := send(t, http.MethodPost, base+"/oauth/token", h, body)
	var out map[string]any
	require.NoError(t, json.Unmarshal(b, &out))
	return status, out
}

func TestOAuthTokenEndpoint(t *testing.T) {
	t.Parallel()
	for _, form := range []bool{false, true} {
		t.Run(map[bool]string{false: "json", true: "form"}[form], func(t *testing.T) {
			t.Parallel()
			sim, base := newAuthSim(t, Cloud, &OAuthOptions{ClientID: "cid", ClientSecret: "cs", RefreshToken: "r0", TTL: 10 * time.Minute})
			gw := base + "/ex/jira/" + testCloudID + "/rest/api/2/myself"

			status, out := grant(t, base, form, "wrong", "r0")
			assert.Equal(t, http.StatusUnauthorized, status)
			assert.Equal(t, "access_denied", out["error"])

			status, out = grant(t, base, form, "cs", "r0")
			require.Equal(t, http.StatusOK, status)
			assert.Equal(t, "Bearer", out["token_type"])
			assert.InDelta(t, 600, out["expires_in"], 0)
			access, refresh := out["access_token"].(string), out["refresh_token"].(string)
			assert.NotEqual(t, "r0", refresh, "rotated")

			status, out = grant(t, base, form, "cs", "r0")
			assert.Equal(t, http.StatusForbidden, status, "a refresh token works once")
			assert.Equal(t, "invalid_grant", out["error"])

			s, _ := send(t, http.MethodGet, gw, bearer(access), "")
			assert.Equal(t, http.StatusOK, s)
			s, _ = send(t, http.MethodGet, base+"/rest/api/2/myself", bearer(access), "")
			assert.Equal(t, http.StatusUnauthorized, s, "OAuth tokens only through the gateway")

			sim.Advance(11 * time.Minute)
			s, _ = send(t, http.MethodGet, gw, bearer(access), "")
			assert.Equal(t, http.StatusUnauthorized, s, "expired on the site's clock")
			status, _ = grant(t, base, form, "cs", refresh)
			assert.Equal(t, http.StatusOK, status)

			st := sim.OAuthStats()
			assert.Equal(t, 2, st.Grants)
			assert.Equal(t, 2, st.Refused)
			assert.Equal(t, 1, st.ExpiredTokens)
		})
	}
}

func TestOAuthExpireEveryAndFailFirst(t *testing.T) {
	t.Parallel()
	sim, base := newAuthSim(t, Cloud, &OAuthOptions{ClientID: "cid", ClientSecret: "cs", RefreshToken: "r0", ExpireEvery: 3, FailFirst: 1})
	gw := base + "/ex/jira/" + testCloudID + "/rest/api/2/myself"
	status, _ := grant(t, base, false, "cs", "r0")
	assert.Equal(t, http.StatusServiceUnavailable, status)
	status, out := grant(t, base, false, "cs", "r0")
	require.Equal(t, http.StatusOK, status)
	access := out["access_token"].(string)
	for i := range 3 {
		s, _ := send(t, http.MethodGet, gw, bearer(access), "")
		assert.Equal(t, http.StatusOK, s, "use %d", i)
	}
	s, _ := send(t, http.MethodGet, gw, bearer(access), "")
	assert.Equal(t, http.StatusUnauthorized, s)
	status, out = grant(t, base, false, "cs", out["refresh_token"].(string))
	require.Equal(t, http.StatusOK, status)
	s, _ = send(t, http.MethodGet, gw, bearer(out["access_token"].(string)), "")
	assert.Equal(t, http.StatusOK, s, "a token issued after the expiry lives")
	st := sim.OAuthStats()
	assert.Equal(t, OAuthStats{Requests: 3, Grants: 2, Failed: 1, ExpiredTokens: 1, ExpiredRefusals: 1, Gateway: 5}, st)
}
