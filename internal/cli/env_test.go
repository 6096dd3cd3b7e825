package cli

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tap-jira/tap-jira/internal/jirasim"
)

func envCtx(t *testing.T, env map[string]string) func(string) (string, bool) {
	t.Helper()
	return func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}
}

// TestSettingsFromEnv runs syncs against a simulated site with settings
// from TAP_JIRA_* variables, as Meltano passes them, alone or with a file.
func TestSettingsFromEnv(t *testing.T) {
	t.Parallel()
	s := newSite(t, jirasim.Cloud, "UTC", 20)
	simEnv := map[string]string{
		"TAP_JIRA_BASE_URL": s.url, "TAP_JIRA_USERNAME": "sim@example.com", "TAP_JIRA_PASSWORD": "sim-token",
		"TAP_JIRA_START_DATE": "2025-01-01T00:00:00Z", "TAP_JIRA_PAGE_SIZE": "7",
	}
	cat := selectAll(t, s.config(t, "2025-01-01T00:00:00Z", ""), "projects", "issues")
	with := func(extra map[string]string, drop ...string) map[string]string {
		m := map[string]string{}
		for k, v := range simEnv {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		for _, k := range drop {
			delete(m, k)
		}
		return m
	}
	cases := []struct {
		name     string
		env      map[string]string
		args     []string
		code     int
		stderr   string
		noStderr string
	}{
		{name: "--config ENV", env: simEnv, args: []string{"--config", "ENV"}, stderr: "settings read from the environment"},
		{name: "no --config, variables set", env: simEnv, stderr: "page_size"},
		{name: "file wins: its wrong password over the right one in env", env: simEnv,
			args: []string{"--config", writeFile(t, "c.json", `{"base_url": "`+s.url+`", "username": "sim@example.com", "password": "wrong-`+secret+`"}`)},
			code: ExitRuntime, stderr: "HTTP 401", noStderr: secret},
		{name: "env fills what the file lacks", env: simEnv,
			args: []string{"--config", writeFile(t, "c.json", `{"base_url": "`+s.url+`", "page_size": 5}`)}, stderr: "settings=\"[password start_date username]\""},
		{name: "bad integer", env: with(map[string]string{"TAP_JIRA_PAGE_SIZE": "seven"}), args: []string{"--config", "ENV"},
			code: ExitUsage, stderr: "TAP_JIRA_PAGE_SIZE must be an integer"},
		{name: "out of range is judged like the file", env: with(map[string]string{"TAP_JIRA_PAGE_SIZE": "1000"}), args: []string{"--config", "ENV"},
			code: ExitUsage, stderr: "page_size"},
		{name: "required setting missing", env: with(nil, "TAP_JIRA_PASSWORD"), args: []string{"--config", "ENV"}, code: ExitUsage, stderr: "password"},
		{name: "--config ENV without variables", env: map[string]string{"OTHER": "x"}, args: []string{"--config", "ENV"},
			code: ExitUsage, stderr: "no TAP_JIRA_* environment variable is set"},
		{name: "no --config and no variables", env: map[string]string{}, code: ExitUsage, stderr: "--config is required"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := withLookupEnv(t.Context(), envCtx(t, tc.env))
			res := runTap(t, ctx, append(append([]string{}, tc.args...), "--catalog", cat)...)
			require.Equal(t, tc.code, res.code, res.stderr)
			assert.Contains(t, res.stderr, tc.stderr)
			assert.NotContains(t, res.stderr, "sim-token", "a secret from the environment is never logged")
			if tc.noStderr != "" {
				assert.NotContains(t, res.stderr, tc.noStderr)
			}
			if tc.code == ExitOK {
				out := parseOutput(t, res.stdout)
				assert.Len(t, out.records["projects"], 3)
				assert.NotEmpty(t, out.records["issues"])
			}
		})
	}
}
