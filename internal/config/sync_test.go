package config

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSyncSettings(t *testing.T) {
	t.Parallel()
	base := `"base_url": "https://x.atlassian.net", "username": "u", "password": "p"`
	now := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	ok := []struct {
		name  string
		extra string
		check func(t *testing.T, c *Config)
	}{
		{"defaults", ``, func(t *testing.T, c *Config) {
			assert.Nil(t, c.Projects)
			assert.Equal(t, "", c.JQL)
			assert.Equal(t, 100, c.PageSize)
			assert.Equal(t, 5*time.Minute, c.Lookback)
			assert.Equal(t, DeploymentAuto, c.Deployment)
			assert.False(t, c.RenderedFields)
			assert.False(t, c.FlattenCustomFields)
			assert.Equal(t, 8, c.MaxAttempts)
			assert.Equal(t, 0, c.MaxConcurrency, "not set")
			assert.Equal(t, 16, c.Concurrency(true), "Cloud's default")
			assert.Equal(t, 8, c.Concurrency(false), "Data Center's default")
		}},
		{"max_concurrency set holds on both flavors", `, "max_concurrency": 4`, func(t *testing.T, c *Config) {
			assert.Equal(t, 4, c.Concurrency(true))
			assert.Equal(t, 4, c.Concurrency(false))
		}},
		{"rendered fields", `, "rendered_fields": true`, func(t *testing.T, c *Config) {
			assert.True(t, c.RenderedFields)
		}},
		{"flattened custom fields", `, "flatten_custom_fields": true`, func(t *testing.T, c *Config) {
			assert.True(t, c.FlattenCustomFields)
		}},
		{"projects as a string", `, "projects": " alpha, BETA ,,"`, func(t *testing.T, c *Config) {
			assert.Equal(t, []string{"ALPHA", "BETA"}, c.Projects)
		}},
		{"projects as a list", `, "projects": ["ALPHA"]`, func(t *testing.T, c *Config) {
			assert.Equal(t, []string{"ALPHA"}, c.Projects)
		}},
		{"jql, page size, lookback, deployment", `, "jql": " issuetype != Epic ", "page_size": "50", "lookback_minutes": 0.5, "deployment_type": "Server"`, func(t *testing.T, c *Config) {
			assert.Equal(t, "issuetype != Epic", c.JQL)
			assert.Equal(t, 50, c.PageSize)
			assert.Equal(t, 30*time.Second, c.Lookback)
			assert.Equal(t, DeploymentDataCenter, c.Deployment)
		}},
	}
	for _, tc := range ok {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, warnings, err := Load(strings.NewReader("{"+base+tc.extra+"}"), now, "v1")
			require.NoError(t, err)
			assert.Empty(t, warnings)
			tc.check(t, c)
		})
	}
	bad := []struct{ name, extra, key, want string }{
		{"project key with a quote", `, "projects": "A\" OR 1=1"`, "projects", "not a project key"},
		{"projects as a number", `, "projects": 5`, "projects", "got number"},
		{"page size too big", `, "page_size": 500`, "page_size", "between 1 and 100"},
		{"page size fractional", `, "page_size": 10.5`, "page_size", "whole number"},
		{"negative lookback", `, "lookback_minutes": -1`, "lookback_minutes", "between"},
		{"lookback not a number", `, "lookback_minutes": "soon"`, "lookback_minutes", "not a number"},
		{"unknown deployment", `, "deployment_type": "mainframe"`, "deployment_type", "auto, cloud, datacenter"},
		{"jql not a string", `, "jql": ["a"]`, "jql", "string"},
		{"max_concurrency too high", `, "max_concurrency": 100`, "max_concurrency", "between 1 and 32"},
		{"max_attempts zero", `, "max_attempts": 0`, "max_attempts", "between 1 and 20"},
		{"rendered_fields not a boolean", `, "rendered_fields": "yes"`, "rendered_fields", "true or false"},
		{"flatten_custom_fields not a boolean", `, "flatten_custom_fields": 1`, "flatten_custom_fields", "true or false"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := Load(strings.NewReader("{"+base+tc.extra+"}"), now, "v1")
			var ce *Error
			require.True(t, errors.As(err, &ce), "want *Error, got %v", err)
			assert.Equal(t, tc.key, ce.Key)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}
