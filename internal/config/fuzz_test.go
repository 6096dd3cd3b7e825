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
		assert.NotEmpty(t, strings.TrimSpace(cfg.Username))
		assert.NotEmpty(t, strings.TrimSpace(cfg.Password))
		assert.Positive(t, cfg.RequestTimeout)
		assert.NotEmpty(t, cfg.UserAgent)
		assert.False(t, cfg.StartDate.IsZero())
		for _, g := range cfg.Groups {
			assert.Equal(t, strings.TrimSpace(g), g)
			assert.NotEmpty(t, g)
		}
	})
}
