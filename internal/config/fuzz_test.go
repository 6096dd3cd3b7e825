package config_test

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tap-jira/tap-jira/internal/config"
)

func FuzzLoad(f *testing.F) {
	f.Add([]byte(`{"base_url":"https://example.atlassian.net","username":"me","password":"pw"}`))
	f.Add([]byte(`{"username":"me","password":"pw","cloud_id":"abc-123","api_gateway_url":"http://127.0.0.1:8080/gw/"}`))
	f.Add([]byte(`{"base_url":"https://jira.example.com","personal_access_token":"NjM0"}`))
	f.Add([]byte(`{"oauth_client_id":"id","oauth_client_secret":"s","refresh_token":"r","cloud_id":"c","access_token":"a","oauth_token_url":"https://auth.example.com/oauth/token","oauth_token_file":"/tmp/t.json"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, _, err := config.Load(bytes.NewReader(data), testNow, "1.0.0")
		if err != nil {
			var cerr *config.Error
			require.ErrorAs(t, err, &cerr)
			assert.Nil(t, cfg)
			return
		}
		require.NotNil(t, cfg)
		require.NotNil(t, cfg.BaseURL)
		assert.Nil(t, cfg.BaseURL.User)
		assert.NotEmpty(t, cfg.BaseURL.Hostname())
		switch cfg.BaseURL.Scheme {
		case "https":
		case "http":
			host := cfg.BaseURL.Hostname()
			addr, perr := netip.ParseAddr(host)
			loopback := strings.EqualFold(host, "localhost") || (perr == nil && addr.Unmap().IsLoopback())
			assert.True(t, loopback, "http base_url with non-loopback host %q", host)
		default:
			t.Fatalf("base_url scheme %q", cfg.BaseURL.Scheme)
		}
		switch cfg.Auth {
		case config.AuthBasic, config.AuthScopedToken:
			assert.NotEmpty(t, strings.TrimSpace(cfg.Username))
			assert.NotEmpty(t, strings.TrimSpace(cfg.Password))
			assert.Nil(t, cfg.OAuth)
		case config.AuthPAT:
			assert.NotEmpty(t, cfg.PersonalAccessToken)
			assert.NotContains(t, cfg.PersonalAccessToken, " ")
			assert.Empty(t, cfg.CloudID)
		case config.AuthOAuth:
			require.NotNil(t, cfg.OAuth)
			assert.NotEmpty(t, strings.TrimSpace(cfg.OAuth.ClientID))
			assert.NotEmpty(t, strings.TrimSpace(cfg.OAuth.ClientSecret))
			assert.NotEmpty(t, cfg.OAuth.RefreshToken)
			assert.NotEmpty(t, cfg.CloudID)
			require.NotNil(t, cfg.OAuth.TokenURL)
			assert.Nil(t, cfg.OAuth.TokenURL.User)
		default:
			t.Fatalf("auth mode %q", cfg.Auth)
		}
		if cfg.CloudID != "" {
			assert.True(t, strings.HasSuffix(cfg.BaseURL.Path, "/ex/jira/"+cfg.CloudID), cfg.BaseURL.Path)
		}
		assert.Positive(t, cfg.RequestTimeout)
		assert.NotEmpty(t, cfg.UserAgent)
		assert.False(t, cfg.StartDate.IsZero())
		for _, g := range cfg.Groups {
			assert.Equal(t, strings.TrimSpace(g), g)
			assert.NotEmpty(t, g)
		}
	})
}
