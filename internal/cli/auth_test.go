package cli

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tap-jira/tap-jira/internal/jirasim"
)

// The simulated sites' credentials. Every secret carries the package's
// secret, so the leak checks catch any piece of one.
const (
	simCloudID      = "5a1f0c2e-7b3d-4e55-9c61-0d2a8e4f1b37"
	simScopedToken  = "scoped-" + secret
	simPAT          = "pat-" + secret
	simClientID     = "sim-client"
	simClientSecret = "client-" + secret
	simRefreshToken = "refresh-" + secret
	simAccessToken  = "access-" + secret
)

// authSite serves a small site that accepts every kind of credential its
// flavor has: the tests' basic auth, a scoped token through the gateway,
// a Data Center PAT and, with o, OAuth 2.0.
func authSite(t *testing.T, flavor jirasim.Flavor, o *jirasim.OAuthOptions) *site {
	t.Helper()
	if o != nil {
		o.ClientID, o.ClientSecret, o.RefreshToken = simClientID, simClientSecret, simRefreshToken
	}
	return startSite(t, jirasim.Options{Flavor: flavor, TZ: time.UTC, CloudID: simCloudID,
		ScopedToken: simScopedToken, PAT: simPAT, OAuth: o,
		Gen: jirasim.GenOptions{Seed: 7, Issues: 60, Projects: 2, Users: 6}})
}

// authConfig writes a config with the given keys, next to the usual
// start_date and user_agent; nil removes a key.
func authConfig(t *testing.T, keys map[string]any) string {
	t.Helper()
	m := map[string]any{"start_date": "2025-11-28T00:00:00Z", "user_agent": "tap-jira-test"}
	maps.Copy(m, keys)
	for k, v := range m {
		if v == nil {
			delete(m, k)
		}
	}
	return writeFile(t, "config.json", mustJSON(t, m))
}

func basicKeys(s *site) map[string]any {
	return map[string]any{"base_url": s.url, "username": "sim@example.com", "password": "sim-token"}
}

func scopedKeys(s *site) map[string]any {
	return map[string]any{"username": "sim@example.com", "password": simScopedToken, "cloud_id": simCloudID, "api_gateway_url": s.url}
}

func patKeys(s *site) map[string]any {
	return map[string]any{"base_url": s.url, "personal_access_token": simPAT}
}

// oauthKeys are singer-io's OAuth keys plus the hosts pointed at the site.
func oauthKeys(s *site) map[string]any {
	return map[string]any{"oauth_client_id": simClientID, "oauth_client_secret": simClientSecret,
		"refresh_token": simRefreshToken, "cloud_id": simCloudID,
		"api_gateway_url": s.url, "oauth_token_url": s.url + "/oauth/token"}
}

func with(m map[string]any, kv ...any) map[string]any {
	out := maps.Clone(m)
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

// assertNoSecrets checks that no credential of the simulated sites, nor a
// token they issued, appears in the output.
func assertNoSecrets(t *testing.T, res result) {
	t.Helper()
	for _, out := range []string{res.stderr, res.stdout} {
		for i := 0; i+6 <= len(secret); i++ {
			require.NotContains(t, out, secret[i:i+6])
		}
		for _, s := range []string{"sim-token", "sim-access-", "sim-refresh-"} {
			require.NotContains(t, out, s)
		}
	}
}

// syncAndCheck syncs projects and issues and compares them with the site's
// ground truth.
func syncAndCheck(t *testing.T, s *site, cfg string, extraArgs ...string) result {
	t.Helper()
	catalog := selectAll(t, cfg, "projects", "issues")
	res := runTap(t, t.Context(), append([]string{"--config", cfg, "--catalog", catalog}, extraArgs...)...)
	require.Equal(t, ExitOK, res.code, res.stderr)
	out := parseOutput(t, res.stdout)
	want := s.sim.Truth().Expected(time.Date(2025, 11, 28, 0, 0, 0, 0, time.UTC))
	for _, stream := range []string{"projects", "issues"} {
		got, _ := keysOf(out.records[stream], keyProps[stream])
		require.NotEmpty(t, got, stream)
		assert.Equal(t, want[stream], got, stream)
	}
	assertNoSecrets(t, res)
	return res
}

func TestAuthMethods(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		flavor jirasim.Flavor
		oauth  *jirasim.OAuthOptions
		keys   func(s *site) map[string]any
		check  func(t *testing.T, s *site, res result)
	}{
		{"cloud email and API token", jirasim.Cloud, nil, basicKeys, func(t *testing.T, s *site, _ result) {
			assert.Zero(t, s.sim.OAuthStats().Gateway, "straight to the site")
		}},
		{"cloud scoped API token through the gateway", jirasim.Cloud, nil, scopedKeys, func(t *testing.T, s *site, _ result) {
			assert.Positive(t, s.sim.OAuthStats().Gateway)
		}},
		{"cloud OAuth 2.0 without an access token", jirasim.Cloud, &jirasim.OAuthOptions{}, oauthKeys, func(t *testing.T, s *site, res result) {
			st := s.sim.OAuthStats()
			assert.Equal(t, 1, st.Grants, "one refresh at the start")
			assert.Positive(t, st.Gateway)
			assert.Contains(t, res.stderr, "Set oauth_token_file", "the user is told how to keep the rotated refresh token")
		}},
		{"cloud OAuth 2.0 with a valid access token", jirasim.Cloud, &jirasim.OAuthOptions{AccessToken: simAccessToken}, func(s *site) map[string]any {
			return with(oauthKeys(s), "access_token", simAccessToken)
		}, func(t *testing.T, s *site, res result) {
			assert.Zero(t, s.sim.OAuthStats().Requests, "the access token is used as it is: no refresh (singer-io issue #77)")
			assert.True(t, s.sim.ValidRefreshToken(simRefreshToken), "the refresh token is not spent")
			assert.NotContains(t, res.stderr, "level=WARN")
		}},
		{"cloud OAuth 2.0 with singer-io's extra keys", jirasim.Cloud, &jirasim.OAuthOptions{}, func(s *site) map[string]any {
			return with(oauthKeys(s), "base_url", "https://ignored.atlassian.net", "username", "ignored", "access_token", "")
		}, func(t *testing.T, s *site, res result) {
			assert.Equal(t, 1, s.sim.OAuthStats().Grants)
			assert.Contains(t, res.stderr, "ignoring username: oauth_client_id is set")
		}},
		{"cloud OAuth 2.0 token endpoint failing twice", jirasim.Cloud, &jirasim.OAuthOptions{FailFirst: 2}, func(s *site) map[string]any {
			return with(oauthKeys(s), "max_attempts", 3)
		}, func(t *testing.T, s *site, res result) {
			st := s.sim.OAuthStats()
			assert.Equal(t, 2, st.Failed)
			assert.Equal(t, 1, st.Grants)
			assert.Equal(t, 2, strings.Count(res.stderr, "retrying the OAuth 2.0 token request"))
		}},
		{"data center personal access token", jirasim.DataCenter, nil, patKeys, func(t *testing.T, s *site, _ result) {
			assert.Zero(t, s.sim.OAuthStats().Gateway)
		}},
		{"data center username and password", jirasim.DataCenter, nil, func(s *site) map[string]any {
			return with(basicKeys(s), "deployment_type", "datacenter")
		}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := authSite(t, tc.flavor, tc.oauth)
			res := syncAndCheck(t, s, authConfig(t, tc.keys(s)))
			if tc.check != nil {
				tc.check(t, s, res)
			}
		})
	}
}

func TestAuthWrongCredentials(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		flavor jirasim.Flavor
		oauth  *jirasim.OAuthOptions
		keys   func(s *site) map[string]any
		want   []string
	}{
		{"cloud wrong API token", jirasim.Cloud, nil, func(s *site) map[string]any {
			return with(basicKeys(s), "password", "wrong-"+secret)
		}, []string{"authentication failed: Jira refused the credentials (check username and password", "HTTP 401"}},
		{"scoped token sent to the site", jirasim.Cloud, nil, func(s *site) map[string]any {
			return with(basicKeys(s), "password", simScopedToken)
		}, []string{"HTTP 401", "check username and password"}},
		{"scoped token with a wrong cloud_id", jirasim.Cloud, nil, func(s *site) map[string]any {
			return with(scopedKeys(s), "cloud_id", "0000-1111")
		}, []string{"the API gateway", "/ex/jira/0000-1111 does not know this site (check cloud_id and api_gateway_url)", "HTTP 404"}},
		{"wrong personal access token", jirasim.DataCenter, nil, func(s *site) map[string]any {
			return with(patKeys(s), "personal_access_token", "wrong-"+secret)
		}, []string{"HTTP 401", "check personal_access_token"}},
		{"personal access token on Cloud", jirasim.Cloud, nil, patKeys, []string{"HTTP 401", "check personal_access_token"}},
		{"OAuth wrong client secret", jirasim.Cloud, &jirasim.OAuthOptions{}, func(s *site) map[string]any {
			return with(oauthKeys(s), "oauth_client_secret", "wrong-"+secret)
		}, []string{"refreshing the OAuth 2.0 access token at http://", "HTTP 401 Unauthorized: access_denied", "check oauth_client_id and oauth_client_secret"}},
		{"OAuth spent refresh token", jirasim.Cloud, &jirasim.OAuthOptions{}, func(s *site) map[string]any {
			return with(oauthKeys(s), "refresh_token", "spent-"+secret)
		}, []string{"HTTP 403 Forbidden: invalid_grant (Unknown or invalid refresh token.)", "authorize the app again"}},
		{"OAuth refused access token and spent refresh token", jirasim.Cloud, &jirasim.OAuthOptions{}, func(s *site) map[string]any {
			return with(oauthKeys(s), "access_token", "stale-"+secret, "refresh_token", "spent-"+secret)
		}, []string{"invalid_grant"}},
		{"OAuth token endpoint down", jirasim.Cloud, &jirasim.OAuthOptions{FailFirst: 100}, func(s *site) map[string]any {
			return with(oauthKeys(s), "max_attempts", 2)
		}, []string{"HTTP 503 Service Unavailable: temporarily_unavailable", "gave up after 2 attempts"}},
		{"OAuth token endpoint not found", jirasim.Cloud, &jirasim.OAuthOptions{}, func(s *site) map[string]any {
			return with(oauthKeys(s), "oauth_token_url", s.url+"/oauth/nope")
		}, []string{"/oauth/nope: HTTP 404"}},
		{"OAuth wrong cloud_id", jirasim.Cloud, &jirasim.OAuthOptions{}, func(s *site) map[string]any {
			return with(oauthKeys(s), "cloud_id", "0000-1111")
		}, []string{"does not know this site (check cloud_id"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := authSite(t, tc.flavor, tc.oauth)
			cfg := authConfig(t, tc.keys(s))
			catalog := selectAll(t, cfg, "projects")
			res := runTap(t, t.Context(), "--config", cfg, "--catalog", catalog, "--log-level", "debug")
			assert.Equal(t, ExitRuntime, res.code, res.stderr)
			assert.Equal(t, 1, strings.Count(res.stderr, "level=ERROR"), res.stderr)
			for _, w := range tc.want {
				assert.Contains(t, res.stderr, w)
			}
			assert.Empty(t, parseOutput(t, res.stdout).records, "nothing synced")
			assertNoSecrets(t, res)
		})
	}
}

// TestAuthTokenExpiresMidRun makes the access tokens expire every 12
// requests while up to 8 are in flight, though expires_in said an hour:
// each expiry costs exactly one refresh, and the sync completes.
func TestAuthTokenExpiresMidRun(t *testing.T) {
	t.Parallel()
	s := startSite(t, jirasim.Options{Flavor: jirasim.Cloud, TZ: time.UTC, CloudID: simCloudID,
		OAuth: &jirasim.OAuthOptions{ClientID: simClientID, ClientSecret: simClientSecret, RefreshToken: simRefreshToken, ExpireEvery: 12},
		Gen:   jirasim.GenOptions{Seed: 7, Issues: 300, Projects: 3, Users: 30}})
	cfg := authConfig(t, with(oauthKeys(s), "max_concurrency", 8, "page_size", 10))
	catalog := selectAll(t, cfg)
	res := runTap(t, t.Context(), "--config", cfg, "--catalog", catalog)
	require.Equal(t, ExitOK, res.code, res.stderr)
	out := parseOutput(t, res.stdout)
	want := s.sim.Truth().Expected(time.Date(2025, 11, 28, 0, 0, 0, 0, time.UTC))
	require.Len(t, want, 13)
	for stream, keys := range want {
		got, _ := keysOf(out.records[stream], keyProps[stream])
		assert.Equal(t, keys, got, stream)
	}
	st := s.sim.OAuthStats()
	require.GreaterOrEqual(t, st.ExpiredTokens, 2, "the test made tokens expire mid-run: %+v", st)
	assert.Equal(t, st.ExpiredTokens+1, st.Grants, "one refresh at the start, then one per expired token: %+v", st)
	assert.Zero(t, st.Refused, "no refresh token was spent twice")
	t.Logf("OAuth: %+v", st)
	assert.Equal(t, 1, strings.Count(res.stderr, "Set oauth_token_file"), "one warning per run")
	assertNoSecrets(t, res)
}

// TestAuthRotatedTokenKept runs OAuth syncs with a token file: the rotated
// refresh token is kept (mode 0600) and used by the next runs, whose
// config still holds the spent one.
func TestAuthRotatedTokenKept(t *testing.T) {
	t.Parallel()
	s := authSite(t, jirasim.Cloud, &jirasim.OAuthOptions{TTL: time.Hour})
	file := filepath.Join(t.TempDir(), "tokens.json")
	cfg := authConfig(t, with(oauthKeys(s), "oauth_token_file", file))

	res := syncAndCheck(t, s, cfg)
	assert.NotContains(t, res.stderr, "level=WARN")
	assert.Equal(t, 1, s.sim.OAuthStats().Grants)
	assert.False(t, s.sim.ValidRefreshToken(simRefreshToken), "the config's refresh token is spent")
	info, err := os.Stat(file)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	var saved map[string]any
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &saved))
	assert.True(t, s.sim.ValidRefreshToken(saved["refresh_token"].(string)), "the file holds the refresh token the site accepts now")

	// The next run reuses the kept access token: no refresh.
	syncAndCheck(t, s, cfg)
	assert.Equal(t, 1, s.sim.OAuthStats().Grants)

	// Two hours on, the site has expired that token though the tap's
	// clock says it is good: one 401, one refresh with the kept token.
	s.sim.Advance(2 * time.Hour)
	syncAndCheck(t, s, cfg)
	st := s.sim.OAuthStats()
	assert.Equal(t, 2, st.Grants)
	assert.Equal(t, 1, st.ExpiredTokens)
	assert.Zero(t, st.Refused)

	// Without the file, the config's spent token is all the tap has.
	bare := authConfig(t, oauthKeys(s))
	res = runTap(t, t.Context(), "--config", bare, "--catalog", selectAll(t, bare, "projects"))
	assert.Equal(t, ExitRuntime, res.code)
	assert.Contains(t, res.stderr, "invalid_grant")
	assert.Contains(t, res.stderr, "set oauth_token_file so that tap-jira keeps rotated tokens")
	assertNoSecrets(t, res)
}

// TestAuthTokenFileProblems are the token file mistakes found before any
// request spends the refresh token.
func TestAuthTokenFileProblems(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "corrupt.json")
	require.NoError(t, os.WriteFile(corrupt, []byte(`{"refresh_token": "`+secret), 0o600))
	tests := []struct {
		name string
		file string
		code int
		want string
	}{
		{"a directory", dir, ExitUsage, "config: oauth_token_file: " + dir + " is a directory"},
		{"in a missing directory", filepath.Join(dir, "nope", "t.json"), ExitUsage, "the directory of " + filepath.Join(dir, "nope", "t.json") + " does not exist"},
		{"corrupt", corrupt, ExitUsage, "is not a token file written by tap-jira; delete it"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := authSite(t, jirasim.Cloud, &jirasim.OAuthOptions{})
			cfg := authConfig(t, with(oauthKeys(s), "oauth_token_file", tc.file))
			res := runTap(t, t.Context(), "--config", cfg, "--catalog", selectAll(t, cfg, "projects"))
			assert.Equal(t, tc.code, res.code, res.stderr)
			assert.Contains(t, res.stderr, tc.want)
			assert.Zero(t, s.sim.OAuthStats().Requests, "the refresh token was not spent")
			assertNoSecrets(t, res)
		})
	}
}
