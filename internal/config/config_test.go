package config_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tap-jira/tap-jira/internal/config"
)

// secret is a distinctive password that must never show up in errors,
// warnings or logs.
const secret = "s3cr3t-P@ss-xyz"

var testNow = time.Date(2026, 3, 15, 10, 20, 30, 123456789, time.FixedZone("CEST", 2*60*60))

// doc builds a config document from the valid base config with the given
// keys replaced; a nil value removes the key.
func doc(t testing.TB, overrides map[string]any) string {
	t.Helper()
	m := map[string]any{
		"base_url": "https://example.atlassian.net",
		"username": "me@example.com",
		"password": secret,
	}
	for k, v := range overrides {
		if v == nil {
			delete(m, k)
			continue
		}
		m[k] = v
	}
	b, err := json.Marshal(m)
	require.NoError(t, err)
	return string(b)
}

type errorCase struct {
	name   string
	doc    string
	key    string
	phrase string
}

// errorCases returns every kind of config mistake; each document carries
// secret somewhere near the mistake.
func errorCases(t testing.TB) []errorCase {
	return []errorCase{
		{"empty document", "", "", "empty"},
		{"whitespace document", " \n\t ", "", "empty"},
		{"null document", "null", "", "must be a JSON object"},
		{"array document", `["` + secret + `"]`, "", "must be a JSON object"},
		{"string document", `"` + secret + `"`, "", "must be a JSON object"},
		{"bare secret", secret, "", "malformed JSON at line 1, column 1"},
		{"unquoted password", "{\n  \"base_url\": \"https://x.atlassian.net\",\n  \"password\": " + secret + "\n}", "", "malformed JSON at line 3, column 15: expected a JSON value"},
		{"raw newline in password", `{"password": "s3cr3t-P@ss` + "\n" + `-xyz"}`, "", "malformed JSON at line 1, column 26: invalid character in string"},
		{"bad escape in password", `{"password": "s3cr3t-P\@ss-xyz"}`, "", "invalid escape sequence"},
		{"missing colon", `{"password" "` + secret + `"}`, "", "expected ':'"},
		{"missing comma", `{"username": "me" "password": "` + secret + `"}`, "", "expected ',' or '}'"},
		{"bad literal", `{"password": tru, "x": "` + secret + `"}`, "", "invalid literal"},
		{"truncated in password", `{"password": "` + secret, "", "unexpected end of JSON at line 1, column 30"},
		{"truncated after comma", "{\"password\": \"" + secret + "\",\n", "", "unexpected end of JSON at line 1, column 32"},
		{"trailing object", doc(t, nil) + ` {"password": "` + secret + `"}`, "", "unexpected data after the top-level object"},
		{"trailing garbage", doc(t, nil) + "\n" + secret, "", "malformed JSON at line 2, column 1"},
		{"missing base_url", doc(t, map[string]any{"base_url": nil}), "base_url", "is required"},
		{"missing username", doc(t, map[string]any{"username": nil}), "username", "is required"},
		{"oauth without refresh_token", doc(t, map[string]any{"username": nil, "oauth_client_id": "cid", "oauth_client_secret": secret}), "refresh_token", "is required for OAuth 2.0 (oauth_client_id is set)"},
		{"missing password", doc(t, map[string]any{"password": nil, "access_token": secret}), "password", "is required"},
		{"empty username", doc(t, map[string]any{"username": ""}), "username", "must not be empty"},
		{"blank password", doc(t, map[string]any{"password": "   "}), "password", "must not be empty"},
		{"username number", doc(t, map[string]any{"username": 5}), "username", "must be a string, got number"},
		{"password number", doc(t, map[string]any{"password": 31337}), "password", "must be a string, got number"},
		{"password object", doc(t, map[string]any{"password": map[string]any{"token": secret}}), "password", "must be a string, got object"},
		{"password array", doc(t, map[string]any{"password": []any{secret}}), "password", "must be a string, got array"},
		{"password boolean", doc(t, map[string]any{"password": true}), "password", "must be a string, got boolean"},
		{"password null", `{"base_url": "https://x.atlassian.net", "username": "me", "password": null}`, "password", "must be a string, got null"},
		{"base_url number", doc(t, map[string]any{"base_url": 1}), "base_url", "must be a string, got number"},
		{"base_url empty", doc(t, map[string]any{"base_url": ""}), "base_url", "must not be empty"},
		{"base_url http", doc(t, map[string]any{"base_url": "http://example.atlassian.net"}), "base_url", "must use https (http is allowed only for loopback hosts"},
		{"base_url ftp", doc(t, map[string]any{"base_url": "ftp://example.atlassian.net"}), "base_url", `must use https, got scheme "ftp"`},
		{"base_url no scheme", doc(t, map[string]any{"base_url": "example.atlassian.net"}), "base_url", "must be an absolute URL"},
		{"base_url host and port only", doc(t, map[string]any{"base_url": "localhost:8080"}), "base_url", "must be an absolute URL"},
		{"base_url no host", doc(t, map[string]any{"base_url": "https:///rest"}), "base_url", "must be an absolute URL"},
		{"base_url user info", doc(t, map[string]any{"base_url": "https://me:" + secret + "@example.atlassian.net"}), "base_url", "must not contain user info"},
		{"base_url unparsable with user info", doc(t, map[string]any{"base_url": "https://me:" + secret + "@[::1"}), "base_url", "is not a valid URL"},
		{"base_url query", doc(t, map[string]any{"base_url": "https://example.atlassian.net/?token=" + secret}), "base_url", "must not have a query or fragment"},
		{"start_date unparsable", doc(t, map[string]any{"start_date": "yesterday"}), "start_date", `"yesterday" is not a date-time`},
		{"start_date slashes", doc(t, map[string]any{"start_date": "2017/07/01"}), "start_date", `"2017/07/01" is not a date-time`},
		{"start_date before 1970", doc(t, map[string]any{"start_date": "0001-01-01T00:00:00Z"}), "start_date", "is before 1970-01-01"},
		{"start_date number", doc(t, map[string]any{"start_date": 20170701}), "start_date", "must be a string, got number"},
		{"user_agent number", doc(t, map[string]any{"user_agent": 1}), "user_agent", "must be a string, got number"},
		{"user_agent line break", doc(t, map[string]any{"user_agent": "a\r\nX-Evil: 1"}), "user_agent", "must not contain line breaks"},
		{"request_timeout negative", doc(t, map[string]any{"request_timeout": -5}), "request_timeout", "must not be negative"},
		{"request_timeout negative string", doc(t, map[string]any{"request_timeout": "-0.5"}), "request_timeout", "must not be negative"},
		{"request_timeout word", doc(t, map[string]any{"request_timeout": "abc"}), "request_timeout", `must be a number of seconds, got "abc"`},
		{"request_timeout nan", doc(t, map[string]any{"request_timeout": "NaN"}), "request_timeout", "must be a number of seconds"},
		{"request_timeout boolean", doc(t, map[string]any{"request_timeout": true}), "request_timeout", "got boolean"},
		{"request_timeout huge", doc(t, map[string]any{"request_timeout": "1e400"}), "request_timeout", "is too large"},
		{"request_timeout tiny", doc(t, map[string]any{"request_timeout": 1e-6}), "request_timeout", "must be at least 0.001 seconds"},
		{"groups array", doc(t, map[string]any{"groups": []any{"a", "b"}}), "groups", "must be a comma-separated string, got array"},

		// Authentication modes: each missing or conflicting key, with
		// secret in every secret key around it.
		{"no credentials at all", authDoc(t, map[string]any{"base_url": "https://x.atlassian.net"}), "username", "is required (with password); or set personal_access_token"},
		{"oauth missing client secret", authDoc(t, oauth(map[string]any{"oauth_client_secret": nil})), "oauth_client_secret", "is required for OAuth 2.0 (oauth_client_id is set)"},
		{"oauth missing refresh_token", authDoc(t, oauth(map[string]any{"refresh_token": nil})), "refresh_token", "is required for OAuth 2.0"},
		{"oauth missing cloud_id", authDoc(t, oauth(map[string]any{"cloud_id": nil})), "cloud_id", "is required for OAuth 2.0"},
		{"oauth empty client id", authDoc(t, oauth(map[string]any{"oauth_client_id": " "})), "oauth_client_id", "must not be empty"},
		{"oauth blank client secret", authDoc(t, oauth(map[string]any{"oauth_client_secret": "  "})), "oauth_client_secret", "must not be empty"},
		{"oauth client secret number", authDoc(t, oauth(map[string]any{"oauth_client_secret": 12345678})), "oauth_client_secret", "must be a string, got number"},
		{"oauth refresh_token with line break", authDoc(t, oauth(map[string]any{"refresh_token": secret + "\n"})), "refresh_token", "must not contain spaces, line breaks"},
		{"oauth access_token with space", authDoc(t, oauth(map[string]any{"access_token": "Bearer " + secret})), "access_token", "must not contain spaces"},
		{"oauth access_token object", authDoc(t, oauth(map[string]any{"access_token": map[string]any{"t": secret}})), "access_token", "must be a string, got object"},
		{"oauth and personal access token", authDoc(t, oauth(map[string]any{"personal_access_token": secret})), "personal_access_token", "cannot be combined with oauth_client_id"},
		{"oauth token url http", authDoc(t, oauth(map[string]any{"oauth_token_url": "http://auth.example.com/oauth/token"})), "oauth_token_url", "must use https"},
		{"oauth token url user info", authDoc(t, oauth(map[string]any{"oauth_token_url": "https://cid:" + secret + "@auth.example.com/oauth/token"})), "oauth_token_url", "must not contain user info"},
		{"oauth token file number", authDoc(t, oauth(map[string]any{"oauth_token_file": 7})), "oauth_token_file", "must be a string, got number"},
		{"gateway url http", authDoc(t, oauth(map[string]any{"api_gateway_url": "http://api.example.com"})), "api_gateway_url", "must use https"},
		{"gateway url query", authDoc(t, oauth(map[string]any{"api_gateway_url": "https://api.example.com/?k=" + secret})), "api_gateway_url", "must not have a query"},
		{"cloud_id path", authDoc(t, oauth(map[string]any{"cloud_id": "../../evil"})), "cloud_id", "must be the site's cloud ID"},
		{"cloud_id number", doc(t, map[string]any{"cloud_id": 42}), "cloud_id", "must be a string, got number"},
		{"scoped token missing password", doc(t, map[string]any{"password": nil, "cloud_id": "c-1", "refresh_token": secret}), "password", "is required for basic auth"},
		{"scoped token on datacenter", doc(t, map[string]any{"cloud_id": "c-1", "deployment_type": "datacenter"}), "deployment_type", "cannot be used with cloud_id"},
		{"username and personal access token", doc(t, map[string]any{"personal_access_token": secret}), "personal_access_token", "cannot be combined with username and password"},
		{"password and personal access token", authDoc(t, map[string]any{"base_url": "https://jira.example.com", "personal_access_token": secret, "password": secret}), "password", "cannot be combined with personal_access_token"},
		{"personal access token and cloud_id", authDoc(t, map[string]any{"personal_access_token": secret, "cloud_id": "c-1"}), "cloud_id", "cannot be combined with personal_access_token"},
		{"personal access token without base_url", authDoc(t, map[string]any{"personal_access_token": secret}), "base_url", "is required (or set cloud_id"},
		{"personal access token empty", authDoc(t, map[string]any{"base_url": "https://jira.example.com", "personal_access_token": ""}), "personal_access_token", "must not be empty"},
		{"personal access token line break", authDoc(t, map[string]any{"base_url": "https://jira.example.com", "personal_access_token": secret + "\r\n"}), "personal_access_token", "must not contain spaces, line breaks"},
		{"personal access token on cloud", authDoc(t, map[string]any{"base_url": "https://jira.example.com", "personal_access_token": secret, "deployment_type": "cloud"}), "deployment_type", "personal access tokens are a Data Center feature"},
	}
}

// authDoc builds a config document from m alone (no default credentials).
func authDoc(t testing.TB, m map[string]any) string {
	t.Helper()
	b, err := json.Marshal(m)
	require.NoError(t, err)
	return string(b)
}

// oauth returns a complete OAuth config with the given keys replaced; a
// nil value removes the key.
func oauth(overrides map[string]any) map[string]any {
	m := map[string]any{
		"oauth_client_id": "client-1", "oauth_client_secret": secret,
		"refresh_token": secret + "-r", "access_token": secret + "-a", "cloud_id": "0e4c-11aa",
	}
	for k, v := range overrides {
		if v == nil {
			delete(m, k)
			continue
		}
		m[k] = v
	}
	return m
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range errorCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg, _, err := config.Load(strings.NewReader(tc.doc), testNow, "1.0.0")
			require.Error(t, err)
			assert.Nil(t, cfg)
			var cerr *config.Error
			require.ErrorAs(t, err, &cerr)
			assert.Equal(t, tc.key, cerr.Key)
			assert.Contains(t, err.Error(), tc.phrase)
			if tc.key != "" {
				assert.True(t, strings.HasPrefix(err.Error(), "config: "+tc.key+": "), err.Error())
			}
		})
	}
}

// TestLoadNeverLeaksSecret runs every error case and checks that no
// 6-character piece of the password reaches the error or the warnings.
func TestLoadNeverLeaksSecret(t *testing.T) {
	t.Parallel()
	const n = 6
	for _, tc := range errorCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// An unknown key makes sure warnings are produced where possible.
			in := strings.Replace(tc.doc, "{", `{"zz_unknown": "`+secret+`", `, 1)
			for _, d := range []string{tc.doc, in} {
				_, warnings, err := config.Load(strings.NewReader(d), testNow, "1.0.0")
				require.Error(t, err)
				texts := append([]string{err.Error()}, warnings...)
				for _, text := range texts {
					for i := 0; i+n <= len(secret); i++ {
						assert.NotContains(t, text, secret[i:i+n])
					}
				}
			}
		})
	}
}

func TestLoadReadError(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	_, _, err := config.Load(iotest.ErrReader(boom), testNow, "1.0.0")
	require.ErrorIs(t, err, boom)
	assert.Contains(t, err.Error(), "reading config")
}

func TestLoadDefaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		version string
		agent   string
	}{
		{"with version", "1.2.3", "tap-jira/1.2.3"},
		{"without version", "", "tap-jira"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg, warnings, err := config.Load(strings.NewReader(doc(t, nil)), testNow, tc.version)
			require.NoError(t, err)
			assert.Empty(t, warnings)
			assert.Equal(t, "https://example.atlassian.net", cfg.BaseURL.String())
			assert.Equal(t, "me@example.com", cfg.Username)
			assert.Equal(t, secret, cfg.Password)
			assert.Equal(t, time.Date(2025, 3, 15, 8, 20, 30, 0, time.UTC), cfg.StartDate)
			assert.Equal(t, time.UTC, cfg.StartDate.Location())
			assert.Equal(t, tc.agent, cfg.UserAgent)
			assert.Equal(t, 300*time.Second, cfg.RequestTimeout)
			assert.Nil(t, cfg.Groups)
		})
	}
}

func TestLoadValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		set   map[string]any
		check func(t *testing.T, c *config.Config)
	}{
		{"start_date RFC 3339 Z", map[string]any{"start_date": "2017-07-01T00:00:00Z"}, func(t *testing.T, c *config.Config) {
			assert.Equal(t, time.Date(2017, 7, 1, 0, 0, 0, 0, time.UTC), c.StartDate)
		}},
		{"start_date offset", map[string]any{"start_date": "2017-07-01T02:30:00+02:00"}, func(t *testing.T, c *config.Config) {
			assert.Equal(t, time.Date(2017, 7, 1, 0, 30, 0, 0, time.UTC), c.StartDate)
			assert.Equal(t, time.UTC, c.StartDate.Location())
		}},
		{"start_date fraction", map[string]any{"start_date": "2017-07-01T00:00:00.250000Z"}, func(t *testing.T, c *config.Config) {
			assert.Equal(t, time.Date(2017, 7, 1, 0, 0, 0, 250_000_000, time.UTC), c.StartDate)
		}},
		{"start_date date only", map[string]any{"start_date": "2017-07-01"}, func(t *testing.T, c *config.Config) {
			assert.Equal(t, time.Date(2017, 7, 1, 0, 0, 0, 0, time.UTC), c.StartDate)
		}},
		{"start_date naive", map[string]any{"start_date": "2017-07-01T05:06:07"}, func(t *testing.T, c *config.Config) {
			assert.Equal(t, time.Date(2017, 7, 1, 5, 6, 7, 0, time.UTC), c.StartDate)
		}},
		{"start_date empty means default", map[string]any{"start_date": ""}, func(t *testing.T, c *config.Config) {
			assert.Equal(t, time.Date(2025, 3, 15, 8, 20, 30, 0, time.UTC), c.StartDate)
		}},
		{"user_agent", map[string]any{"user_agent": "acme-etl (ops@example.com)"}, func(t *testing.T, c *config.Config) {
			assert.Equal(t, "acme-etl (ops@example.com)", c.UserAgent)
		}},
		{"timeout 0", map[string]any{"request_timeout": 0}, func(t *testing.T, c *config.Config) {
			assert.Equal(t, 300*time.Second, c.RequestTimeout)
		}},
		{"timeout string 0", map[string]any{"request_timeout": "0"}, func(t *testing.T, c *config.Config) {
			assert.Equal(t, 300*time.Second, c.RequestTimeout)
		}},
		{"timeout empty string", map[string]any{"request_timeout": ""}, func(t *testing.T, c *config.Config) {
			assert.Equal(t, 300*time.Second, c.RequestTimeout)
		}},
		{"timeout number", map[string]any{"request_timeout": 30}, func(t *testing.T, c *config.Config) {
			assert.Equal(t, 30*time.Second, c.RequestTimeout)
		}},
		{"timeout fraction", map[string]any{"request_timeout": 2.5}, func(t *testing.T, c *config.Config) {
			assert.Equal(t, 2500*time.Millisecond, c.RequestTimeout)
		}},
		{"timeout numeric string", map[string]any{"request_timeout": " 45.5 "}, func(t *testing.T, c *config.Config) {
			assert.Equal(t, 45500*time.Millisecond, c.RequestTimeout)
		}},
		{"groups", map[string]any{"groups": " jira-users, ,admins ,, "}, func(t *testing.T, c *config.Config) {
			assert.Equal(t, []string{"jira-users", "admins"}, c.Groups)
		}},
		{"groups only separators", map[string]any{"groups": " , ,"}, func(t *testing.T, c *config.Config) {
			assert.Nil(t, c.Groups)
		}},
		{"base_url trailing slash", map[string]any{"base_url": "https://example.atlassian.net/"}, func(t *testing.T, c *config.Config) {
			assert.Equal(t, "https://example.atlassian.net", c.BaseURL.String())
		}},
		{"base_url context path", map[string]any{"base_url": "HTTPS://jira.example.com:8443/jira//"}, func(t *testing.T, c *config.Config) {
			assert.Equal(t, "https", c.BaseURL.Scheme)
			assert.Equal(t, "/jira", c.BaseURL.Path)
			assert.Equal(t, "https://jira.example.com:8443/jira", c.BaseURL.String())
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg, warnings, err := config.Load(strings.NewReader(doc(t, tc.set)), testNow, "1.0.0")
			require.NoError(t, err)
			assert.Empty(t, warnings)
			tc.check(t, cfg)
		})
	}
}

func TestLoadHTTPLoopback(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url string
		ok  bool
	}{
		{"http://127.0.0.1:8080", true},
		{"http://127.5.6.7", true},
		{"http://[::1]:9000/jira", true},
		{"http://localhost", true},
		{"http://LocalHost:80", true},
		{"http://example.com", false},
		{"http://10.0.0.1", false},
		{"http://128.0.0.1", false},
		{"http://[::2]", false},
		{"http://localhost.example.com", false},
		{"http://127.0.0.1.nip.io", false},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			t.Parallel()
			cfg, _, err := config.Load(strings.NewReader(doc(t, map[string]any{"base_url": tc.url})), testNow, "1.0.0")
			if tc.ok {
				require.NoError(t, err)
				assert.Equal(t, "http", cfg.BaseURL.Scheme)
				return
			}
			var cerr *config.Error
			require.ErrorAs(t, err, &cerr)
			assert.Equal(t, "base_url", cerr.Key)
			assert.Contains(t, err.Error(), "must use https")
		})
	}
}

func TestLoadWarnings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		set  map[string]any
		want []string
	}{
		{"unknown keys", map[string]any{"zeta": 1, "api_token": "x", "flattening_enabled": true}, []string{"api_token", "flattening_enabled", "zeta"}},
		{"oauth keys are known", map[string]any{
			"username": nil, "password": nil,
			"oauth_client_id": "id", "oauth_client_secret": "s", "access_token": "a",
			"refresh_token": "r", "cloud_id": "c", "oauth_token_file": "/tmp/t.json",
			"oauth_token_url": "https://auth.example.com/t", "api_gateway_url": "https://gw.example.com",
		}, nil},
		{"basic auth keys are ignored with oauth", map[string]any{
			"oauth_client_id": "id", "oauth_client_secret": "s", "refresh_token": "r", "cloud_id": "c",
		}, []string{"ignoring username", "ignoring password"}},
		{"oauth keys are ignored without oauth_client_id", map[string]any{
			"oauth_client_secret": "s", "access_token": "a", "refresh_token": "r",
		}, []string{"ignoring oauth_client_secret", "ignoring access_token", "ignoring refresh_token"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg, warnings, err := config.Load(strings.NewReader(doc(t, tc.set)), testNow, "1.0.0")
			require.NoError(t, err)
			require.NotNil(t, cfg)
			require.Len(t, warnings, len(tc.want))
			for i, key := range tc.want {
				if strings.HasPrefix(key, "ignoring ") {
					assert.Contains(t, warnings[i], key)
					continue
				}
				assert.Contains(t, warnings[i], fmt.Sprintf("%q", key))
			}
		})
	}
}

func TestConfigRedaction(t *testing.T) {
	t.Parallel()
	cfg, _, err := config.Load(strings.NewReader(doc(t, nil)), testNow, "1.0.0")
	require.NoError(t, err)
	tests := []struct {
		name   string
		render func() string
	}{
		{"slog text", func() string {
			var buf bytes.Buffer
			slog.New(slog.NewTextHandler(&buf, nil)).Info("loaded", "config", cfg)
			return buf.String()
		}},
		{"slog json", func() string {
			var buf bytes.Buffer
			slog.New(slog.NewJSONHandler(&buf, nil)).Info("loaded", "config", cfg)
			return buf.String()
		}},
		{"fmt v", func() string { return fmt.Sprintf("%v", cfg) }},
		{"fmt plus v", func() string { return fmt.Sprintf("%+v", cfg) }},
		{"fmt sharp v", func() string { return fmt.Sprintf("%#v", cfg) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out := tc.render()
			assert.NotContains(t, out, secret)
			assert.Contains(t, out, "REDACTED")
			assert.Contains(t, out, "me@example.com")
			assert.Contains(t, out, "example.atlassian.net")
		})
	}
}

func TestConfigLogValueJSONShape(t *testing.T) {
	t.Parallel()
	cfg, _, err := config.Load(strings.NewReader(doc(t, map[string]any{"groups": "a,b"})), testNow, "1.0.0")
	require.NoError(t, err)
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("loaded", "config", cfg)
	var line struct {
		Config map[string]any `json:"config"`
	}
	require.NoError(t, json.Unmarshal(buf.Bytes(), &line))
	assert.Equal(t, "REDACTED", line.Config["password"])
	assert.Equal(t, "https://example.atlassian.net", line.Config["base_url"])
	assert.Equal(t, []any{"a", "b"}, line.Config["groups"])
}

func TestSettings(t *testing.T) {
	t.Parallel()
	types := map[string]bool{"string": true, "number": true, "integer": true, "boolean": true}
	seen := map[string]bool{}
	for _, s := range config.Settings() {
		assert.True(t, types[s.Type], "%s has type %q", s.Name, s.Type)
		assert.False(t, seen[s.Name], "duplicate setting %s", s.Name)
		assert.NotEmpty(t, s.Description, s.Name)
		seen[s.Name] = true
	}
	for _, oauth := range []string{"oauth_client_id", "oauth_client_secret", "access_token", "refresh_token", "cloud_id"} {
		require.True(t, seen[oauth], oauth)
	}
}

func TestSettingsSchema(t *testing.T) {
	t.Parallel()
	schema := config.SettingsSchema()
	// Round-trip through JSON to check what --about actually prints.
	b, err := json.Marshal(schema)
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, json.Unmarshal(b, &got))

	assert.Equal(t, "object", got["type"])
	// No key is needed by every authentication mode.
	assert.Equal(t, []any{}, got["required"])
	props, ok := got["properties"].(map[string]any)
	require.True(t, ok)
	require.Len(t, props, len(config.Settings()))

	tests := []struct {
		key    string
		secret bool
	}{
		{"password", true},
		{"oauth_client_secret", true},
		{"access_token", true},
		{"refresh_token", true},
		{"personal_access_token", true},
		{"oauth_token_file", false},
		{"cloud_id", false},
		{"username", false},
		{"base_url", false},
		{"oauth_client_id", false},
	}
	for _, tc := range tests {
		t.Run(tc.key, func(t *testing.T) {
			t.Parallel()
			p, ok := props[tc.key].(map[string]any)
			require.True(t, ok)
			assert.Equal(t, "string", p["type"])
			assert.NotEmpty(t, p["description"])
			if tc.secret {
				assert.Equal(t, true, p["secret"])
				assert.Equal(t, true, p["writeOnly"])
			} else {
				assert.NotContains(t, p, "secret")
				assert.NotContains(t, p, "writeOnly")
			}
		})
	}
	timeout, ok := props["request_timeout"].(map[string]any)
	require.True(t, ok)
	assert.Equal(t, "number", timeout["type"])
	assert.InDelta(t, 300, timeout["default"], 0)
}
