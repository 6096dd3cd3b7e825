package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tap-jira/tap-jira/internal/jirasim"
	"github.com/tap-jira/tap-jira/internal/singer/singertest"
)

const secret = "s3cr3t-P@ss-xyz-9731"

type result struct {
	code           int
	stdout, stderr string
}

func runTap(t *testing.T, ctx context.Context, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	if _, ok := ctx.Value(envLookupKey{}).(func(string) (string, bool)); !ok {
		// Hermetic: TAP_JIRA_* variables of whoever runs the tests are not read.
		ctx = withLookupEnv(ctx, func(string) (string, bool) { return "", false })
	}
	code := Run(ctx, args, strings.NewReader(""), &out, &errb)
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// writeFile writes content into a fresh temp dir and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

func goodConfig() string {
	return `{"base_url": "https://example.atlassian.net", "username": "me@example.com", "password": "` + secret + `",
	         "start_date": "2025-11-28T00:00:00Z", "user_agent": "tap-jira-test"}`
}

// discoverConfig is a config for a small simulated site, whose /field
// lists custom fields of every type jira-sim has.
func discoverConfig(t *testing.T) string {
	t.Helper()
	return newSite(t, jirasim.Cloud, "UTC", 10).config(t, "2025-11-28T00:00:00Z", "")
}

func TestDiscoverGolden(t *testing.T) {
	t.Parallel()
	res := runTap(t, t.Context(), "--config", discoverConfig(t), "--discover")
	require.Equal(t, ExitOK, res.code, res.stderr)
	golden := filepath.Join(singertest.RepoRoot(t), "testdata", "golden", "discover.json")
	if os.Getenv("UPDATE_GOLDEN") == "1" {
		require.NoError(t, os.WriteFile(golden, []byte(res.stdout), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err, "run UPDATE_GOLDEN=1 go test ./internal/cli to create it")
	assert.Equal(t, string(want), res.stdout, "discover output differs from %s; review and regenerate with make golden", golden)
	singertest.Check(t, "discover", "--catalog", golden)
}

// TestDiscoverFollowsSingerRules checks the catalog against the discovery
// rules of the Singer spec and singer-io/tap-jira's stream table, written out
// here independently of the code that builds it.
func TestDiscoverFollowsSingerRules(t *testing.T) {
	t.Parallel()
	res := runTap(t, t.Context(), "--config", discoverConfig(t), "--discover")
	require.Equal(t, ExitOK, res.code, res.stderr)
	var cat struct {
		Streams []struct {
			TapStreamID   string         `json:"tap_stream_id"`
			Stream        string         `json:"stream"`
			KeyProperties []string       `json:"key_properties"`
			Schema        map[string]any `json:"schema"`
			Metadata      []struct {
				Breadcrumb []string       `json:"breadcrumb"`
				Metadata   map[string]any `json:"metadata"`
			} `json:"metadata"`
		} `json:"streams"`
	}
	require.NoError(t, json.Unmarshal([]byte(res.stdout), &cat))
	want := []struct {
		name, method, replKey, parent string
		keys                          []string
	}{
		{"projects", "FULL_TABLE", "", "", []string{"id"}},
		{"versions", "FULL_TABLE", "", "projects", []string{"id"}},
		{"components", "FULL_TABLE", "", "projects", []string{"id"}},
		{"project_types", "FULL_TABLE", "", "", []string{"key"}},
		{"project_categories", "FULL_TABLE", "", "", []string{"id"}},
		{"resolutions", "FULL_TABLE", "", "", []string{"id"}},
		{"roles", "FULL_TABLE", "", "", []string{"id"}},
		{"users", "FULL_TABLE", "", "", []string{"accountId"}},
		{"issues", "INCREMENTAL", "updated", "", []string{"id"}},
		{"issue_comments", "FULL_TABLE", "", "issues", []string{"id"}},
		{"changelogs", "FULL_TABLE", "", "issues", []string{"id"}},
		{"issue_transitions", "FULL_TABLE", "", "issues", []string{"id", "issueId"}},
		{"issue_status_history", "FULL_TABLE", "", "issues", []string{"issueId", "changelogId"}},
		{"worklogs", "INCREMENTAL", "updated", "", []string{"id"}},
	}
	require.Len(t, cat.Streams, len(want))
	for i, w := range want {
		s := cat.Streams[i]
		t.Run(w.name, func(t *testing.T) {
			assert.Equal(t, w.name, s.TapStreamID)
			assert.Equal(t, w.name, s.Stream)
			assert.Equal(t, w.keys, s.KeyProperties)
			assert.Equal(t, "object", s.Schema["type"])
			props := s.Schema["properties"].(map[string]any)
			seen := map[string]bool{}
			var root map[string]any
			for _, m := range s.Metadata {
				key := strings.Join(m.Breadcrumb, "/")
				require.False(t, seen[key], "breadcrumb %q twice", key)
				seen[key] = true
				if len(m.Breadcrumb) == 0 {
					root = m.Metadata
					continue
				}
				if w.name == "issues" && len(m.Breadcrumb) == 4 {
					// A custom field inside fields (see TestDiscoverCustomFields).
					require.Equal(t, []string{"properties", "fields", "properties"}, m.Breadcrumb[:3])
					assert.Contains(t, props["fields"].(map[string]any)["properties"], m.Breadcrumb[3])
					continue
				}
				require.Len(t, m.Breadcrumb, 2)
				require.Equal(t, "properties", m.Breadcrumb[0])
				require.Contains(t, props, m.Breadcrumb[1])
				automatic := slices.Contains(w.keys, m.Breadcrumb[1]) || m.Breadcrumb[1] == w.replKey
				if automatic {
					assert.Equal(t, "automatic", m.Metadata["inclusion"], m.Breadcrumb[1])
				} else {
					assert.Equal(t, "available", m.Metadata["inclusion"], m.Breadcrumb[1])
				}
				assert.NotContains(t, m.Metadata, "selected", "discovery selects nothing")
			}
			for p := range props {
				assert.True(t, seen["properties/"+p], "property %s has no metadata", p)
			}
			require.NotNil(t, root, "no stream-level metadata")
			assert.Equal(t, false, root["selected-by-default"])
			assert.NotContains(t, root, "selected")
			assert.Equal(t, w.method, root["forced-replication-method"])
			assert.Equal(t, toAny(w.keys), root["table-key-properties"])
			if w.replKey != "" {
				assert.Equal(t, []any{w.replKey}, root["valid-replication-keys"])
			} else {
				assert.NotContains(t, root, "valid-replication-keys")
			}
			if w.parent != "" {
				assert.Equal(t, w.parent, root["parent-tap-stream-id"])
			} else {
				assert.NotContains(t, root, "parent-tap-stream-id")
			}
		})
	}
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

func TestDiscoverNeedsJira(t *testing.T) {
	t.Parallel()
	// Discovery reads the site's fields: a base_url nobody answers at is a
	// runtime error naming the endpoint, not a silently static catalog.
	cfg := `{"base_url": "http://127.0.0.1:1", "username": "u", "password": "p", "max_attempts": 1}`
	res := runTap(t, t.Context(), "--config", writeFile(t, "config.json", cfg), "--discover")
	assert.Equal(t, ExitRuntime, res.code, res.stderr)
	assert.Contains(t, res.stderr, "/rest/api/2/field")
	assert.Empty(t, res.stdout)
}

func TestVersionAndAbout(t *testing.T) {
	t.Parallel()
	res := runTap(t, t.Context(), "--version")
	require.Equal(t, ExitOK, res.code)
	assert.Equal(t, "tap-jira "+Version()+"\n", res.stdout)

	res = runTap(t, t.Context(), "--about", "--format", "json")
	require.Equal(t, ExitOK, res.code, res.stderr)
	var about map[string]any
	require.NoError(t, json.Unmarshal([]byte(res.stdout), &about))
	assert.Equal(t, "tap-jira", about["name"])
	assert.ElementsMatch(t, []any{"about", "catalog", "discover", "state"}, about["capabilities"])
	settings := about["settings"].(map[string]any)
	props := settings["properties"].(map[string]any)
	for _, k := range []string{"base_url", "username", "password", "start_date", "user_agent", "request_timeout"} {
		assert.Contains(t, props, k)
	}
	assert.Empty(t, settings["required"], "each authentication mode needs different keys")
	for _, k := range []string{"personal_access_token", "oauth_client_id", "oauth_token_file", "api_gateway_url", "oauth_token_url"} {
		assert.Contains(t, props, k)
	}
	singertest.Check(t, "about", "--about", writeFile(t, "about.json", res.stdout))

	res = runTap(t, t.Context(), "--about", "--format", "markdown")
	require.Equal(t, ExitOK, res.code, res.stderr)
	assert.Contains(t, res.stdout, "| `base_url` | no | string (uri) |")

	res = runTap(t, t.Context(), "--about")
	require.Equal(t, ExitOK, res.code, res.stderr)
	assert.Contains(t, res.stdout, "Capabilities: about, catalog, discover, state")
}

// errorCases are the bad inputs of every kind, each with its exit code and
// the phrase the one-line error must carry.
func errorCases(t *testing.T) []struct {
	name string
	args []string
	code int
	want string
} {
	cfg := writeFile(t, "config.json", goodConfig())
	withPassword := func(body string) string { return writeFile(t, "config.json", body) }
	issuesCatalog := writeFile(t, "catalog.json",
		`{"streams": [{"tap_stream_id": "issues", "schema": {}, "metadata": [{"breadcrumb": [], "metadata": {"selected": true}}]}]}`)
	return []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no config", []string{"--discover"}, ExitUsage, "--config is required"},
		{"config file missing", []string{"--config", filepath.Join(t.TempDir(), "nope.json"), "--discover"}, ExitUsage, "reading config file"},
		{"malformed config", []string{"--config", withPassword("{\n \"password\": \"" + secret + "\",\n \"username\" \"me\"\n}"), "--discover"}, ExitUsage, "line 3"},
		{"truncated config", []string{"--config", withPassword(`{"base_url": "https://x.atlassian.net", "password": "` + secret), "--discover"}, ExitUsage, "unexpected end of JSON"},
		{"missing base_url", []string{"--config", withPassword(`{"username": "u", "password": "` + secret + `"}`), "--discover"}, ExitUsage, "base_url"},
		{"missing username", []string{"--config", withPassword(`{"base_url": "https://x.atlassian.net", "password": "` + secret + `"}`), "--discover"}, ExitUsage, "username"},
		{"missing password", []string{"--config", withPassword(`{"base_url": "https://x.atlassian.net", "username": "u"}`), "--discover"}, ExitUsage, "password"},
		{"password of the wrong type", []string{"--config", withPassword(`{"base_url": "https://x.atlassian.net", "username": "u", "password": ["` + secret + `"]}`), "--discover"}, ExitUsage, "password"},
		{"http base_url", []string{"--config", withPassword(`{"base_url": "http://x.atlassian.net", "username": "u", "password": "` + secret + `"}`), "--discover"}, ExitUsage, "https"},
		{"credentials in base_url", []string{"--config", withPassword(`{"base_url": "https://u:` + secret + `@x.atlassian.net", "username": "u", "password": "` + secret + `"}`), "--discover"}, ExitUsage, "base_url"},
		{"bad start_date", []string{"--config", withPassword(`{"base_url": "https://x.atlassian.net", "username": "u", "password": "` + secret + `", "start_date": "last tuesday"}`), "--discover"}, ExitUsage, "start_date"},
		{"bad request_timeout", []string{"--config", withPassword(`{"base_url": "https://x.atlassian.net", "username": "u", "password": "` + secret + `", "request_timeout": "soon"}`), "--discover"}, ExitUsage, "request_timeout"},
		{"unknown flag", []string{"--config", cfg, "--frobnicate"}, ExitUsage, "frobnicate"},
		{"stray argument", []string{"--config", cfg, "sync"}, ExitUsage, "unknown command"},
		{"bad log level", []string{"--config", cfg, "--log-level", "loud"}, ExitUsage, "--log-level"},
		{"bad about format", []string{"--about", "--format", "yaml"}, ExitUsage, "--format"},
		{"catalog and properties", []string{"--config", cfg, "--catalog", cfg, "--properties", cfg}, ExitUsage, "not both"},
		{"catalog file missing", []string{"--config", cfg, "--catalog", filepath.Join(t.TempDir(), "nope.json")}, ExitUsage, "reading catalog file"},
		{"malformed catalog", []string{"--config", cfg, "--catalog", writeFile(t, "catalog.json", `{"streams": [`)}, ExitUsage, "catalog"},
		{"catalog selects unknown stream", []string{"--config", cfg, "--catalog", writeFile(t, "catalog.json",
			`{"streams": [{"tap_stream_id": "sprints", "schema": {}, "metadata": [{"breadcrumb": [], "metadata": {"selected": true}}]}]}`)}, ExitUsage, "sprints"},
		{"corrupt state", []string{"--config", cfg, "--state", writeFile(t, "state.json", `{"bookmarks": {"issues": {"updated": 42}}}`)}, ExitUsage, "state"},
		{"truncated state", []string{"--config", cfg, "--state", writeFile(t, "state.json", `{"bookmarks": {"issues": {"upd`)}, ExitUsage, "state"},
		{"state file missing", []string{"--config", cfg, "--state", filepath.Join(t.TempDir(), "nope.json")}, ExitUsage, "reading state file"},
		{"jira unreachable", []string{"--config", withPassword(`{"base_url": "http://127.0.0.1:1", "username": "u", "password": "` + secret + `", "max_attempts": 2}`), "--catalog", issuesCatalog}, ExitRuntime, "/rest/api/2/serverInfo"},

		// Every secret key of every authentication mode.
		{"oauth missing cloud_id", []string{"--config", withPassword(oauthConfig(`"cloud_id": null`)), "--discover"}, ExitUsage, "config: cloud_id: is required for OAuth 2.0"},
		{"oauth secret with a line break", []string{"--config", withPassword(oauthConfig(`"refresh_token": "` + secret + `\n"`)), "--discover"}, ExitUsage, "config: refresh_token: must not contain spaces, line breaks"},
		{"oauth and personal access token", []string{"--config", withPassword(oauthConfig(`"personal_access_token": "` + secret + `"`)), "--discover"}, ExitUsage, "personal_access_token: cannot be combined with oauth_client_id"},
		{"oauth token endpoint unreachable", []string{"--config", withPassword(oauthConfig(`"max_attempts": 2`)), "--catalog", issuesCatalog}, ExitRuntime, "refreshing the OAuth 2.0 access token at http://127.0.0.1:1/oauth/token"},
		{"oauth token file is a directory", []string{"--config", withPassword(oauthConfig(`"oauth_token_file": "` + t.TempDir() + `"`)), "--catalog", issuesCatalog}, ExitUsage, "oauth_token_file"},
		{"personal access token and username", []string{"--config", withPassword(`{"base_url": "https://x.example.com", "username": "u", "password": "` + secret + `", "personal_access_token": "` + secret + `"}`), "--discover"}, ExitUsage, "personal_access_token: cannot be combined"},
		{"personal access token unreachable", []string{"--config", withPassword(`{"base_url": "http://127.0.0.1:1", "personal_access_token": "` + secret + `", "max_attempts": 2}`), "--catalog", issuesCatalog}, ExitRuntime, "/rest/api/2/serverInfo"},
		{"scoped token unreachable", []string{"--config", withPassword(`{"api_gateway_url": "http://127.0.0.1:1", "cloud_id": "c-1", "username": "u", "password": "` + secret + `", "max_attempts": 2}`), "--catalog", issuesCatalog}, ExitRuntime, "/rest/api/2/serverInfo"},
	}
}

// oauthConfig is an OAuth config with secret in every secret key, its hosts
// on a port nobody answers at, and the extra members given.
func oauthConfig(extra string) string {
	return `{"oauth_client_id": "cid", "oauth_client_secret": "` + secret + `", "refresh_token": "` + secret + `-r",
		"access_token": "", "cloud_id": "c-1", "api_gateway_url": "http://127.0.0.1:1",
		"oauth_token_url": "http://127.0.0.1:1/oauth/token", ` + extra + `}`
}

func TestErrorsExitCodesAndMessages(t *testing.T) {
	t.Parallel()
	for _, tc := range errorCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := runTap(t, t.Context(), tc.args...)
			assert.Equal(t, tc.code, res.code, "stderr: %s", res.stderr)
			assert.Contains(t, res.stderr, tc.want)
			assert.Empty(t, res.stdout, "nothing reaches stdout on an error")
			assert.Equal(t, 1, strings.Count(res.stderr, "level=ERROR"), "one error line: %s", res.stderr)
		})
	}
}

// TestPasswordNeverLogged runs every error path, and a successful discovery,
// at debug level and checks the password appears nowhere; the cases put
// secret in every secret key of every authentication mode (password,
// personal_access_token, oauth_client_secret, access_token, refresh_token).
func TestPasswordNeverLogged(t *testing.T) {
	t.Parallel()
	cases := errorCases(t)
	cases = append(cases, struct {
		name string
		args []string
		code int
		want string
	}{"discover", []string{"--config", secretSiteConfig(t), "--discover"}, ExitOK, ""})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := append(slices.Clone(tc.args), "--log-level", "debug")
			if tc.name == "bad log level" {
				args = tc.args
			}
			res := runTap(t, t.Context(), args...)
			require.Equal(t, tc.code, res.code, res.stderr)
			for i := 0; i+6 <= len(secret); i++ {
				require.NotContains(t, res.stderr, secret[i:i+6])
				require.NotContains(t, res.stdout, secret[i:i+6])
			}
		})
	}
}

func TestNothingSelected(t *testing.T) {
	t.Parallel()
	cfg := discoverConfig(t)
	res := runTap(t, t.Context(), "--config", cfg, "--discover")
	require.Equal(t, ExitOK, res.code)
	catalog := writeFile(t, "catalog.json", res.stdout)
	stateIn := `{"currently_syncing": null, "bookmarks": {"issues": {"updated": "2026-10-21T12:00:23.738000Z", "offset": {"page_num": null}}}}`

	res = runTap(t, t.Context(), "--config", cfg, "--catalog", catalog, "--state", writeFile(t, "state.json", stateIn))
	require.Equal(t, ExitOK, res.code, res.stderr)
	assert.Contains(t, res.stderr, "the catalog selects no stream")
	// The state comes back unchanged so no bookmark is lost.
	lines := strings.Split(strings.TrimSuffix(res.stdout, "\n"), "\n")
	require.Len(t, lines, 1)
	var msg map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &msg))
	assert.Equal(t, "STATE", msg["type"])
	var want any
	require.NoError(t, json.Unmarshal([]byte(stateIn), &want))
	assert.Equal(t, want, msg["value"])
	singertest.Check(t, "sync", "--messages", writeFile(t, "out.jsonl", res.stdout), "--catalog", catalog,
		"--state-in", writeFile(t, "state.json", stateIn))

	res = runTap(t, t.Context(), "--config", cfg)
	require.Equal(t, ExitOK, res.code, res.stderr)
	assert.Contains(t, res.stderr, "no --catalog given")
}

func TestWarningsForUnknownKeys(t *testing.T) {
	t.Parallel()
	cfg := newSite(t, jirasim.Cloud, "UTC", 10).config(t, "2025-11-28T00:00:00Z", `, "target_schema": "jira"`)
	res := runTap(t, t.Context(), "--config", cfg, "--discover")
	require.Equal(t, ExitOK, res.code, res.stderr)
	assert.Contains(t, res.stderr, "level=WARN")
	assert.Contains(t, res.stderr, "target_schema")
}

func TestInterruptedExitCodes(t *testing.T) {
	t.Parallel()
	cfg := writeFile(t, "config.json", goodConfig())
	for sig, want := range map[syscall.Signal]int{syscall.SIGINT: ExitInterrupted, syscall.SIGTERM: ExitTerminated} {
		ctx, cancel := context.WithCancelCause(t.Context())
		cancel(&signalError{sig: sig})
		res := runTap(t, ctx, "--config", cfg)
		assert.Equal(t, want, res.code, sig.String())
	}
}

// TestJSONLogs sets LOG_FORMAT, so it cannot run in parallel.
func TestJSONLogs(t *testing.T) {
	t.Setenv("LOG_FORMAT", "json")
	res := runTap(t, t.Context(), "--config", writeFile(t, "config.json", `{"base_url": "https://x.atlassian.net"}`), "--discover")
	require.Equal(t, ExitUsage, res.code)
	sc := bufio.NewScanner(strings.NewReader(res.stderr))
	n := 0
	for sc.Scan() {
		var line map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &line), "not a JSON log line: %s", sc.Text())
		n++
	}
	require.Positive(t, n)
}

// TestREADMESettingsTable keeps the README's settings table generated from
// the same table --about prints; UPDATE_GOLDEN=1 rewrites it.
func TestREADMESettingsTable(t *testing.T) {
	t.Parallel()
	path := filepath.Join(singertest.RepoRoot(t), "README.md")
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	const begin, end = "<!-- settings:begin", "<!-- settings:end -->"
	readme := string(data)
	i := strings.Index(readme, begin)
	j := strings.Index(readme, end)
	require.True(t, i >= 0 && j > i, "README lacks the settings markers")
	i += strings.Index(readme[i:], "\n") + 1
	want := SettingsMarkdown()
	if os.Getenv("UPDATE_GOLDEN") == "1" {
		readme = readme[:i] + want + readme[j:]
		require.NoError(t, os.WriteFile(path, []byte(readme), 0o644))
		return
	}
	assert.Equal(t, want, readme[i:j], "README settings table is stale: run make golden")
}
