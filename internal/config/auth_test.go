package config_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tap-jira/tap-jira/internal/config"
)

func TestLoadAuthModes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		doc     map[string]any
		mode    config.AuthMode
		baseURL string
		check   func(t *testing.T, c *config.Config)
	}{
		{
			name: "cloud basic", mode: config.AuthBasic, baseURL: "https://x.atlassian.net",
			doc: map[string]any{"base_url": "https://x.atlassian.net", "username": "me@example.com", "password": secret},
			check: func(t *testing.T, c *config.Config) {
				assert.Equal(t, "me@example.com", c.Username)
				assert.Equal(t, secret, c.Password)
				assert.Nil(t, c.OAuth)
			},
		},
		{
			name: "scoped token through the gateway, base_url optional", mode: config.AuthScopedToken,
			baseURL: "https://api.atlassian.com/ex/jira/11111111-2222-3333-4444-555555555555",
			doc:     map[string]any{"username": "me@example.com", "password": secret, "cloud_id": " 11111111-2222-3333-4444-555555555555 "},
			check: func(t *testing.T, c *config.Config) {
				assert.Equal(t, "11111111-2222-3333-4444-555555555555", c.CloudID)
				assert.Equal(t, secret, c.Password)
			},
		},
		{
			name: "scoped token with base_url and a gateway override", mode: config.AuthScopedToken,
			baseURL: "http://127.0.0.1:8080/gw/ex/jira/c-1",
			doc: map[string]any{"base_url": "https://x.atlassian.net", "username": "me", "password": secret,
				"cloud_id": "c-1", "api_gateway_url": "http://127.0.0.1:8080/gw/"},
		},
		{
			name: "empty cloud_id means the site", mode: config.AuthBasic, baseURL: "https://x.atlassian.net",
			doc: map[string]any{"base_url": "https://x.atlassian.net", "username": "me", "password": secret, "cloud_id": ""},
		},
		{
			name: "data center personal access token", mode: config.AuthPAT, baseURL: "https://jira.example.com/jira",
			doc: map[string]any{"base_url": "https://jira.example.com/jira/", "personal_access_token": secret, "deployment_type": "datacenter"},
			check: func(t *testing.T, c *config.Config) {
				assert.Equal(t, secret, c.PersonalAccessToken)
				assert.Empty(t, c.Username)
				assert.Empty(t, c.Password)
			},
		},
		{
			name: "data center username and password", mode: config.AuthBasic, baseURL: "https://jira.example.com",
			doc: map[string]any{"base_url": "https://jira.example.com", "username": "jdoe", "password": secret, "deployment_type": "server"},
			check: func(t *testing.T, c *config.Config) {
				assert.Equal(t, config.DeploymentDataCenter, c.Deployment)
			},
		},
		{
			name: "oauth with singer-io's keys", mode: config.AuthOAuth,
			baseURL: "https://api.atlassian.com/ex/jira/0e4c-11aa",
			doc:     oauth(nil),
			check: func(t *testing.T, c *config.Config) {
				require.NotNil(t, c.OAuth)
				assert.Equal(t, "client-1", c.OAuth.ClientID)
				assert.Equal(t, secret, c.OAuth.ClientSecret)
				assert.Equal(t, secret+"-r", c.OAuth.RefreshToken)
				assert.Equal(t, secret+"-a", c.OAuth.AccessToken)
				assert.Equal(t, "https://auth.atlassian.com/oauth/token", c.OAuth.TokenURL.String())
				assert.Empty(t, c.OAuth.TokenFile)
			},
		},
		{
			name: "oauth without access token, with overrides and a token file", mode: config.AuthOAuth,
			baseURL: "http://localhost:9/ex/jira/0e4c-11aa",
			doc: oauth(map[string]any{"access_token": "", "oauth_token_file": " /var/lib/tap/tokens.json ",
				"oauth_token_url": "http://localhost:9/oauth/token", "api_gateway_url": "http://localhost:9", "base_url": "https://x.atlassian.net"}),
			check: func(t *testing.T, c *config.Config) {
				assert.Empty(t, c.OAuth.AccessToken)
				assert.Equal(t, "/var/lib/tap/tokens.json", c.OAuth.TokenFile)
				assert.Equal(t, "http://localhost:9/oauth/token", c.OAuth.TokenURL.String())
			},
		},
		{
			name: "oauth wins over username, as in singer-io", mode: config.AuthOAuth,
			baseURL: "https://api.atlassian.com/ex/jira/0e4c-11aa",
			doc:     oauth(map[string]any{"username": "me", "password": secret}),
			check: func(t *testing.T, c *config.Config) {
				assert.Empty(t, c.Username)
				assert.Empty(t, c.Password)
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg, _, err := config.Load(strings.NewReader(authDoc(t, tc.doc)), testNow, "1.0.0")
			require.NoError(t, err)
			assert.Equal(t, tc.mode, cfg.Auth)
			assert.Equal(t, tc.baseURL, cfg.BaseURL.String())
			if tc.check != nil {
				tc.check(t, cfg)
			}
		})
	}
}

// TestAuthSecretsRedacted logs and prints configs of every mode and checks
// that no secret key's value shows.
func TestAuthSecretsRedacted(t *testing.T) {
	t.Parallel()
	docs := map[string]map[string]any{
		"basic":  {"base_url": "https://x.atlassian.net", "username": "me", "password": secret},
		"scoped": {"username": "me", "password": secret, "cloud_id": "c-1"},
		"pat":    {"base_url": "https://jira.example.com", "personal_access_token": secret},
		"oauth":  oauth(nil),
	}
	for name, d := range docs {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg, _, err := config.Load(strings.NewReader(authDoc(t, d)), testNow, "1.0.0")
			require.NoError(t, err)
			var text, js bytes.Buffer
			slog.New(slog.NewTextHandler(&text, nil)).Info("loaded", "config", cfg)
			slog.New(slog.NewJSONHandler(&js, nil)).Info("loaded", "config", cfg)
			for _, out := range []string{text.String(), js.String(), fmt.Sprintf("%v %+v %#v", cfg, cfg, cfg)} {
				assert.NotContains(t, out, secret[:8])
				assert.Contains(t, out, "REDACTED")
				assert.Contains(t, out, string(cfg.Auth))
			}
		})
	}
}
