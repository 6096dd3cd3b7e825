package config_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tap-jira/tap-jira/internal/config"
)

func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

func TestEnvVarNames(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "TAP_JIRA_BASE_URL", config.EnvVar("base_url"))
	// Every setting has its own variable: two names must not collide.
	seen := map[string]string{}
	for _, s := range config.Settings() {
		v := config.EnvVar(s.Name)
		require.NotContains(t, seen, v, "%s and %s share %s", seen[v], s.Name, v)
		seen[v] = s.Name
	}
}

// TestMergeEnvEverySettingType sets every setting of the table from the
// environment, with a value of its type written as Meltano writes it, and
// checks the merged document holds it as that JSON type.
func TestMergeEnvEverySettingType(t *testing.T) {
	t.Parallel()
	sample := map[string]struct{ text, json string }{
		"string":  {" a b ", `" a b "`},
		"integer": {" 42 ", `42`},
		"number":  {"2.5", `2.5`},
		"boolean": {"TRUE", `true`},
		"array":   {"a,b", `["a","b"]`},
		"object":  {`{"k":1}`, `{"k":1}`},
	}
	env := map[string]string{}
	for _, s := range config.Settings() {
		v, ok := sample[s.Type]
		require.True(t, ok, "setting %s has type %q, which MergeEnv has no case for", s.Name, s.Type)
		env[config.EnvVar(s.Name)] = v.text
	}
	merged, keys, err := config.MergeEnv(nil, envOf(env))
	require.NoError(t, err)
	var got map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(merged, &got))
	require.Len(t, keys, len(config.Settings()))
	for _, s := range config.Settings() {
		assert.JSONEq(t, sample[s.Type].json, string(got[s.Name]), s.Name)
	}
}

func TestMergeEnv(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		file     string // "" means no file
		env      map[string]string
		want     string // merged document; "" means the file unchanged
		wantKeys []string
		wantErr  string
	}{
		{name: "env only", env: map[string]string{
			"TAP_JIRA_BASE_URL": "https://x.atlassian.net", "TAP_JIRA_PAGE_SIZE": "50",
			"TAP_JIRA_RENDERED_FIELDS": "false", "TAP_JIRA_LOOKBACK_MINUTES": "0.5",
		}, want: `{"base_url":"https://x.atlassian.net","page_size":50,"rendered_fields":false,"lookback_minutes":0.5}`,
			wantKeys: []string{"base_url", "lookback_minutes", "page_size", "rendered_fields"}},
		{name: "file wins over env", file: `{"page_size": 10}`, env: map[string]string{"TAP_JIRA_PAGE_SIZE": "50", "TAP_JIRA_JQL": "x = 1"},
			want: `{"page_size":10,"jql":"x = 1"}`, wantKeys: []string{"jql"}},
		{name: "env fills a null", file: `{"page_size": null}`, env: map[string]string{"TAP_JIRA_PAGE_SIZE": "7"},
			want: `{"page_size":7}`, wantKeys: []string{"page_size"}},
		{name: "no variable leaves the file as it is", file: "{ \"page_size\" : 10 }\n", env: map[string]string{"OTHER": "1", "TAP_JIRA_UNKNOWN": "1"}},
		{name: "empty variable is unset", file: `{}`, env: map[string]string{"TAP_JIRA_PAGE_SIZE": " "}},
		{name: "bad integer names the variable", env: map[string]string{"TAP_JIRA_PAGE_SIZE": "ten"},
			wantErr: `config: page_size: environment variable TAP_JIRA_PAGE_SIZE must be an integer, got "ten"`},
		{name: "bad boolean", env: map[string]string{"TAP_JIRA_RENDERED_FIELDS": "maybe"},
			wantErr: "TAP_JIRA_RENDERED_FIELDS must be true or false"},
		{name: "bad number", env: map[string]string{"TAP_JIRA_REQUEST_TIMEOUT": "NaN"},
			wantErr: "TAP_JIRA_REQUEST_TIMEOUT must be a number"},
		{name: "malformed file is reported as Load reports it", file: `{"page_size": }`, env: map[string]string{"TAP_JIRA_JQL": "x"},
			wantErr: "malformed JSON at line 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var file []byte
			if tc.file != "" {
				file = []byte(tc.file)
			}
			merged, keys, err := config.MergeEnv(file, envOf(tc.env))
			if tc.wantErr != "" {
				require.Error(t, err)
				var ce *config.Error
				require.True(t, errors.As(err, &ce), "a *config.Error, so the CLI exits 2: %T", err)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.wantKeys, keys)
			if tc.want == "" {
				assert.Equal(t, file, merged, "the document is passed through byte for byte")
				return
			}
			assert.JSONEq(t, tc.want, string(merged))
		})
	}
}

// TestLoadFromEnv runs the merged document through Load: the environment
// gives a config equal to the same values in a file.
func TestLoadFromEnv(t *testing.T) {
	t.Parallel()
	env := envOf(map[string]string{
		"TAP_JIRA_BASE_URL": "https://x.atlassian.net", "TAP_JIRA_USERNAME": "me@example.com",
		"TAP_JIRA_PASSWORD": secret, "TAP_JIRA_START_DATE": "2025-01-02", "TAP_JIRA_PAGE_SIZE": "25",
		"TAP_JIRA_RENDERED_FIELDS": "true", "TAP_JIRA_REQUEST_TIMEOUT": "30",
	})
	merged, _, err := config.MergeEnv(nil, env)
	require.NoError(t, err)
	fromEnv, warnings, err := config.Load(bytes.NewReader(merged), testNow, "1.0")
	require.NoError(t, err)
	assert.Empty(t, warnings)
	fromFile, _, err := config.Load(bytes.NewReader([]byte(`{"base_url": "https://x.atlassian.net", "username": "me@example.com",
		"password": "`+secret+`", "start_date": "2025-01-02", "page_size": 25, "rendered_fields": true, "request_timeout": 30}`)), testNow, "1.0")
	require.NoError(t, err)
	assert.Equal(t, fromFile.String(), fromEnv.String())
	assert.Equal(t, fromFile.Password, fromEnv.Password)
}
