// Package config reads the tap's JSON config, which uses singer-io/tap-jira's
// keys so that existing configs keep working.
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Config is a validated tap config.
type Config struct {
	// BaseURL is where API requests go, trailing slash trimmed: base_url,
	// or in the gateway modes (cloud_id set) api_gateway_url/ex/jira/{cloud_id}.
	BaseURL  *url.URL
	Auth     AuthMode // which credentials authenticate the requests
	Username string   // e-mail address on Jira Cloud
	Password string   // the API token on Jira Cloud; never logged
	// PersonalAccessToken is a Data Center PAT, sent as a bearer token.
	PersonalAccessToken string
	CloudID             string // Atlassian cloud ID (gateway modes)
	// OAuth holds the OAuth 2.0 (3LO) settings; nil unless Auth is AuthOAuth.
	OAuth          *OAuth
	StartDate      time.Time     // UTC
	UserAgent      string        // sent on every request
	RequestTimeout time.Duration // per HTTP request
	Groups         []string      // singer-io's comma-separated `groups`; nil if absent
	Projects       []string      // project keys to restrict issues, versions and components to; nil means all
	JQL            string        // extra filter ANDed onto the issues query
	PageSize       int           // issues per search page
	Lookback       time.Duration // how far before the bookmark each incremental run re-reads
	Deployment     string        // DeploymentAuto, DeploymentCloud or DeploymentDataCenter
	RenderedFields bool          // also request issues' renderedFields (HTML)
	MaxAttempts    int           // tries per request, retries included
	MaxConcurrency int           // requests in flight at once; 0 if not set (Concurrency)
	// ReconcileDeletedIssues scans issue ids each run to emit deletions.
	ReconcileDeletedIssues bool
	// FlattenCustomFields makes discovery give each custom field a
	// top-level issues column instead of a property of fields.
	FlattenCustomFields bool
}

// AuthMode is how the tap authenticates.
type AuthMode string

// Authentication modes, chosen from the keys present as singer-io does:
// oauth_client_id means OAuth, otherwise username means basic auth
// (through the API gateway when cloud_id is set), otherwise
// personal_access_token.
const (
	AuthBasic       AuthMode = "basic"        // username and password (API token) against base_url
	AuthScopedToken AuthMode = "scoped_token" // username and a scoped API token through the API gateway
	AuthPAT         AuthMode = "pat"          // Data Center personal access token (bearer)
	AuthOAuth       AuthMode = "oauth"        // OAuth 2.0 (3LO) access tokens through the API gateway
)

// OAuth is the OAuth 2.0 (3LO) part of the config. Its secrets are never
// logged.
type OAuth struct {
	ClientID     string
	ClientSecret string
	AccessToken  string   // optional: used first, refreshed on expiry or a 401
	RefreshToken string   // rotated by Atlassian on every refresh
	TokenURL     *url.URL // Atlassian's token endpoint unless overridden
	TokenFile    string   // where rotated tokens are kept; "" means nowhere
}

// Deployment types.
const (
	DeploymentAuto       = "auto"
	DeploymentCloud      = "cloud"
	DeploymentDataCenter = "datacenter"
)

// Config keys.
const (
	keyBaseURL           = "base_url"
	keyUsername          = "username"
	keyPassword          = "password"
	keyStartDate         = "start_date"
	keyUserAgent         = "user_agent"
	keyRequestTimeout    = "request_timeout"
	keyGroups            = "groups"
	keyOAuthClientID     = "oauth_client_id"
	keyOAuthClientSecret = "oauth_client_secret"
	keyAccessToken       = "access_token"
	keyRefreshToken      = "refresh_token"
	keyCloudID           = "cloud_id"
	keyProjects          = "projects"
	keyJQL               = "jql"
	keyPageSize          = "page_size"
	keyLookback          = "lookback_minutes"
	keyDeployment        = "deployment_type"
	keyRenderedFields    = "rendered_fields"
	keyFlattenCustom     = "flatten_custom_fields"
	keyMaxAttempts       = "max_attempts"
	keyMaxConcurrency    = "max_concurrency"
	keyReconcileDeleted  = "reconcile_deleted_issues"
	keyPAT               = "personal_access_token"
	keyGatewayURL        = "api_gateway_url"
	keyOAuthTokenURL     = "oauth_token_url"
	keyOAuthTokenFile    = "oauth_token_file"
)

// Atlassian's hosts; tests point the overrides at a simulator.
const (
	DefaultGatewayURL    = "https://api.atlassian.com"
	DefaultOAuthTokenURL = "https://auth.atlassian.com/oauth/token"
)

const (
	// defaultRequestTimeout is singer-io's default, used when request_timeout
	// is absent, 0, "0" or "".
	defaultRequestTimeout = 300 * time.Second

	redacted = "REDACTED"

	// maxEcho bounds how much of a bad (non-secret) value an error repeats.
	maxEcho = 64
)

// Setting describes one config key; the table is the single source for
// validation, unknown-key warnings, the --about settings JSON Schema and the
// README table.
type Setting struct {
	Name        string
	Type        string // JSON Schema type: "string", "number", "integer", "boolean"
	Format      string // JSON Schema format, e.g. "uri" or "date-time"
	Description string
	Required    bool
	Secret      bool
	Default     any // nil when there is none or it is computed at load time
}

// Settings returns every config key the tap knows, in documentation order.
func Settings() []Setting {
	return []Setting{
		{
			Name: keyBaseURL, Type: "string", Format: "uri",
			Description: "Jira site URL, e.g. https://your-domain.atlassian.net. Must be https; http is allowed only for loopback hosts. Required unless cloud_id is set (requests then go through the API gateway).",
		},
		{
			Name: keyUsername, Type: "string",
			Description: "Basic auth user: the account's e-mail address on Jira Cloud, the username on Jira Data Center. With password; see Authentication.",
		},
		{
			Name: keyPassword, Type: "string", Secret: true,
			Description: "Basic auth secret: an API token on Jira Cloud (https://id.atlassian.com/manage-profile/security/api-tokens), scoped when cloud_id is set; the password on Jira Data Center.",
		},
		{
			Name: keyPAT, Type: "string", Secret: true,
			Description: "Jira Data Center personal access token, sent as a bearer token; replaces username and password.",
		},
		{
			Name: keyStartDate, Type: "string", Format: "date-time",
			Description: "Earliest `updated` time to sync incremental streams from (RFC 3339 or YYYY-MM-DD, UTC). Defaults to one year before the run.",
		},
		{
			Name: keyUserAgent, Type: "string",
			Description: "User-Agent header sent to Jira. Defaults to tap-jira/<version>.",
		},
		{
			Name: keyRequestTimeout, Type: "number", Default: int(defaultRequestTimeout / time.Second),
			Description: "Timeout for each HTTP request in seconds (a number or numeric string); 0 or empty means the default.",
		},
		{
			Name: keyGroups, Type: "string",
			Description: "Comma-separated Jira groups whose members the users stream reads. Defaults to jira-administrators, jira-software-users, jira-core-users, jira-users and users.",
		},
		{
			Name: keyProjects, Type: "string",
			Description: "Comma-separated project keys (or a JSON list) to restrict issues, their children, worklogs, versions and components to. Defaults to every project the user can see.",
		},
		{
			Name: keyJQL, Type: "string",
			Description: "Extra JQL filter ANDed onto the issues query, e.g. `issuetype != Epic`. It restricts issues and their children, not worklogs (see Streams).",
		},
		{
			Name: keyPageSize, Type: "integer", Default: defaultPageSize,
			Description: "Issues per search page (1-100; Jira caps pages with full fields at 100). On Data Center, pages of issues heavy with history are asked for smaller (see Performance in the README).",
		},
		{
			Name: keyLookback, Type: "number", Default: defaultLookbackMinutes,
			Description: "Minutes of lag allowed for Jira's eventually consistent search: the issues bookmark never passes the run's start minus this, so the next run re-reads that window.",
		},
		{
			Name: keyDeployment, Type: "string", Default: DeploymentAuto,
			Description: "auto (read /serverInfo), cloud or datacenter (also Server).",
		},
		{
			Name: keyRenderedFields, Type: "boolean", Default: false,
			Description: "Also request each issue's renderedFields (the HTML rendering of its text fields).",
		},
		{
			Name: keyFlattenCustom, Type: "boolean", Default: false,
			Description: "Discovery gives each custom field a typed top-level `issues` column named from its display name and id (e.g. `story_points_10016`) instead of a property of `fields`. Sync follows the catalog's layout.",
		},
		{
			Name: keyMaxAttempts, Type: "integer", Default: defaultMaxAttempts,
			Description: "Tries per HTTP request before the run gives up (1-20; 1 disables retries). 429, 5xx, network errors and cut responses are retried with exponential backoff and jitter, honouring Retry-After.",
		},
		{
			Name: keyMaxConcurrency, Type: "integer",
			Description: "Requests to Jira in flight at once, all streams together (1-32; 1 is a sequential sync); halved while Jira answers 429, then raised again. Output order and state are the same at any setting. Default 16 on Jira Cloud, 8 on Jira Data Center (a server with its rate limiting off cannot say it is overloaded).",
		},
		{
			Name: keyReconcileDeleted, Type: "boolean", Default: false,
			Description: "Find deleted issues: after the issues sync, scan the ids of the issues in scope (5000 a request on Cloud) and emit an issues record with _sdc_deleted_at for each one remembered from the last run that Jira no longer returns. The remembered ids live in the issues bookmark. See Deletes in the README.",
		},
		{
			Name: keyOAuthClientID, Type: "string",
			Description: "OAuth 2.0 (3LO) client ID; its presence selects OAuth, which also needs oauth_client_secret, refresh_token and cloud_id.",
		},
		{
			Name: keyOAuthClientSecret, Type: "string", Secret: true,
			Description: "OAuth 2.0 client secret.",
		},
		{
			Name: keyAccessToken, Type: "string", Secret: true,
			Description: "OAuth 2.0 access token, optional: used until it expires or Jira refuses it, then refreshed with refresh_token.",
		},
		{
			Name: keyRefreshToken, Type: "string", Secret: true,
			Description: "OAuth 2.0 refresh token (from a grant with the offline_access scope). Atlassian rotates it on every refresh: set oauth_token_file to keep the new one.",
		},
		{
			Name: keyCloudID, Type: "string",
			Description: "Atlassian cloud ID of the site (https://your-domain.atlassian.net/_edge/tenant_info). Requests go to api_gateway_url/ex/jira/{cloud_id}: required for OAuth and for scoped API tokens.",
		},
		{
			Name: keyOAuthTokenFile, Type: "string",
			Description: "OAuth 2.0: path of a file where tap-jira keeps the latest tokens (written atomically, mode 0600) and reads them on the next run in preference to refresh_token, so a rotated refresh token is never lost.",
		},
		{
			Name: keyGatewayURL, Type: "string", Format: "uri", Default: DefaultGatewayURL,
			Description: "Advanced: Atlassian's API gateway, used with cloud_id. Must be https except for loopback hosts.",
		},
		{
			Name: keyOAuthTokenURL, Type: "string", Format: "uri", Default: DefaultOAuthTokenURL,
			Description: "Advanced: the OAuth 2.0 token endpoint. Must be https except for loopback hosts.",
		},
	}
}

// SettingsSchema returns the settings as a JSON Schema object
// ({"type":"object","properties":{...},"required":[...]}), secrets marked
// with "secret": true and "writeOnly": true, as the Meltano SDK's --about
// prints them.
func SettingsSchema() map[string]any {
	props := map[string]any{}
	required := []string{}
	for _, s := range Settings() {
		p := map[string]any{"type": s.Type, "description": s.Description}
		if s.Format != "" {
			p["format"] = s.Format
		}
		if s.Default != nil {
			p["default"] = s.Default
		}
		if s.Secret {
			p["secret"] = true
			p["writeOnly"] = true
		}
		props[s.Name] = p
		if s.Required {
			required = append(required, s.Name)
		}
	}
	return map[string]any{"type": "object", "properties": props, "required": required}
}

// Error is a config mistake the user must fix; Key is the offending key (""
// for document-level problems such as malformed JSON).
type Error struct {
	Key string
	Msg string
}

func (e *Error) Error() string {
	if e.Key == "" {
		return "config: " + e.Msg
	}
	return "config: " + e.Key + ": " + e.Msg
}

// Load reads a config document. now is the clock for the default start_date
// (now minus one year, UTC, truncated to the second). version is stamped in
// the default user agent ("tap-jira/<version>").
//
// Unknown keys are not an error: they come back as warnings (a sentence
// each, naming the key), because configs are shared with other tools.
// Config mistakes are returned as *Error, the first one in Settings order.
func Load(r io.Reader, now time.Time, version string) (*Config, []string, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, nil, fmt.Errorf("reading config: %w", err)
	}
	raw, err := decodeObject(data)
	if err != nil {
		return nil, nil, err
	}

	known := map[string]bool{}
	for _, s := range Settings() {
		known[s.Name] = true
	}
	var warnings []string
	for _, k := range slices.Sorted(maps.Keys(raw)) {
		if !known[k] {
			warnings = append(warnings, fmt.Sprintf("ignoring unknown config key %q", k))
		}
	}

	c := &Config{}
	authWarnings, err := loadAuth(raw, c)
	warnings = append(warnings, authWarnings...)
	if err != nil {
		return nil, warnings, err
	}
	if c.StartDate, err = loadStartDate(raw, now); err != nil {
		return nil, warnings, err
	}
	if c.UserAgent, err = loadUserAgent(raw, version); err != nil {
		return nil, warnings, err
	}
	if c.RequestTimeout, err = loadRequestTimeout(raw); err != nil {
		return nil, warnings, err
	}
	if c.Groups, err = loadGroups(raw); err != nil {
		return nil, warnings, err
	}
	if err := loadSyncSettings(raw, c); err != nil {
		return nil, warnings, err
	}
	if c.CloudID != "" && c.Deployment == DeploymentDataCenter {
		return nil, warnings, &Error{Key: keyDeployment, Msg: "datacenter cannot be used with cloud_id: the API gateway serves Jira Cloud only"}
	}
	if c.Auth == AuthPAT && c.Deployment == DeploymentCloud {
		return nil, warnings, &Error{Key: keyDeployment, Msg: "cloud cannot be used with personal_access_token: personal access tokens are a Data Center feature; on Jira Cloud use username and an API token as password"}
	}
	return c, warnings, nil
}

// LogValue implements slog.LogValuer so that logging a Config never shows
// the password.
func (c *Config) LogValue() slog.Value {
	if c == nil {
		return slog.StringValue("<nil>")
	}
	base := ""
	if c.BaseURL != nil {
		base = c.BaseURL.String()
	}
	attrs := []slog.Attr{
		slog.String(keyBaseURL, base),
		slog.String("auth", string(c.Auth)),
		slog.String(keyUsername, c.Username),
		slog.String(keyPassword, redactedIf(c.Password)),
		slog.String(keyPAT, redactedIf(c.PersonalAccessToken)),
		slog.String(keyCloudID, c.CloudID),
	}
	if o := c.OAuth; o != nil {
		attrs = append(attrs,
			slog.String(keyOAuthClientID, o.ClientID),
			slog.String(keyOAuthClientSecret, redactedIf(o.ClientSecret)),
			slog.String(keyAccessToken, redactedIf(o.AccessToken)),
			slog.String(keyRefreshToken, redactedIf(o.RefreshToken)),
			slog.String(keyOAuthTokenURL, o.TokenURL.String()),
			slog.String(keyOAuthTokenFile, o.TokenFile),
		)
	}
	attrs = append(attrs,
		slog.Time(keyStartDate, c.StartDate),
		slog.String(keyUserAgent, c.UserAgent),
		slog.Duration(keyRequestTimeout, c.RequestTimeout),
		slog.Any(keyGroups, c.Groups),
		slog.Any(keyProjects, c.Projects),
		slog.String(keyJQL, c.JQL),
		slog.Int(keyPageSize, c.PageSize),
		slog.Duration(keyLookback, c.Lookback),
		slog.String(keyDeployment, c.Deployment),
		slog.Bool(keyRenderedFields, c.RenderedFields),
		slog.Bool(keyFlattenCustom, c.FlattenCustomFields),
		slog.Int(keyMaxAttempts, c.MaxAttempts),
		concurrencyAttr(c.MaxConcurrency),
		slog.Bool(keyReconcileDeleted, c.ReconcileDeletedIssues),
	)
	return slog.GroupValue(attrs...)
}

// concurrencyAttr logs max_concurrency, "default" when it is not set (it
// depends on the flavor, found later).
func concurrencyAttr(n int) slog.Attr {
	if n == 0 {
		return slog.String(keyMaxConcurrency, "default")
	}
	return slog.Int(keyMaxConcurrency, n)
}

// redactedIf hides a secret but still tells an empty one apart.
func redactedIf(secret string) string {
	if secret == "" {
		return ""
	}
	return redacted
}

// String redacts the password, so that fmt's %v and %+v cannot leak it.
func (c *Config) String() string {
	if c == nil {
		return "<nil>"
	}
	return c.LogValue().String()
}

// GoString redacts the password for %#v.
func (c *Config) GoString() string { return c.String() }

// decodeObject decodes data as one JSON object, keeping each value raw so
// that its type can be checked per key.
func decodeObject(data []byte) (map[string]json.RawMessage, error) {
	data = bytes.TrimPrefix(data, []byte("\uFEFF")) // editors on Windows add a BOM
	if len(bytes.Trim(data, jsonSpace)) == 0 {
		return nil, &Error{Msg: "document is empty, expected a JSON object"}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var raw map[string]json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
			line, col := position(data, len(bytes.TrimRight(data, jsonSpace)))
			return nil, &Error{Msg: fmt.Sprintf("unexpected end of JSON at line %d, column %d (the document is truncated)", line, col)}
		case errors.As(err, &syn):
			line, col := position(data, int(syn.Offset)-1)
			return nil, &Error{Msg: fmt.Sprintf("malformed JSON at line %d, column %d: %s", line, col, syntaxReason(syn.Error()))}
		case errors.As(err, &typ):
			return nil, &Error{Msg: "must be a JSON object"}
		default:
			return nil, &Error{Msg: "malformed JSON"}
		}
	}
	if raw == nil { // the document was null
		return nil, &Error{Msg: "must be a JSON object"}
	}
	off := int(dec.InputOffset())
	if rest := data[off:]; len(bytes.TrimLeft(rest, jsonSpace)) > 0 {
		line, col := position(data, off+len(rest)-len(bytes.TrimLeft(rest, jsonSpace)))
		return nil, &Error{Msg: fmt.Sprintf("malformed JSON at line %d, column %d: unexpected data after the top-level object", line, col)}
	}
	return raw, nil
}

const jsonSpace = " \t\r\n"

// position converts a byte offset into a 1-based line and column (in
// characters).
func position(data []byte, off int) (line, col int) {
	off = max(0, min(off, len(data)))
	before := data[:off]
	line = bytes.Count(before, []byte("\n")) + 1
	lineStart := bytes.LastIndexByte(before, '\n') + 1
	return line, utf8.RuneCount(before[lineStart:]) + 1
}

// syntaxReason maps encoding/json's message to a generic phrase, because the
// original quotes the offending character, which may be part of a secret.
func syntaxReason(msg string) string {
	switch {
	case strings.Contains(msg, "in string literal"):
		return "invalid character in string (control characters must be escaped)"
	case strings.Contains(msg, "in string escape code"), strings.Contains(msg, "hexadecimal character escape"):
		return "invalid escape sequence in string"
	case strings.Contains(msg, "numeric literal"):
		return "invalid number"
	case strings.Contains(msg, "in literal"):
		return "invalid literal (expected true, false or null)"
	case strings.Contains(msg, "looking for beginning of object key string"):
		return "expected a double-quoted object key"
	case strings.Contains(msg, "looking for beginning of value"):
		return "expected a JSON value"
	case strings.Contains(msg, "after object key:value pair"):
		return "expected ',' or '}' after an object member"
	case strings.Contains(msg, "after object key"):
		return "expected ':' after an object key"
	case strings.Contains(msg, "after array element"):
		return "expected ',' or ']' after an array element"
	case strings.Contains(msg, "after top-level value"):
		return "unexpected data after the top-level value"
	case strings.Contains(msg, "exceeded max depth"):
		return "nesting too deep"
	default:
		return "invalid syntax"
	}
}

// jsonType names the JSON type of a raw value for error messages; it never
// returns any part of the value itself.
func jsonType(v json.RawMessage) string {
	v = bytes.TrimLeft(v, jsonSpace)
	if len(v) == 0 {
		return "nothing"
	}
	switch v[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	default:
		return "number"
	}
}

// optionalString returns a string key's value; ok is false when the key is
// absent or null.
func optionalString(raw map[string]json.RawMessage, key string) (s string, ok bool, err error) {
	v, present := raw[key]
	if !present || jsonType(v) == "null" {
		return "", false, nil
	}
	if jsonType(v) != "string" {
		return "", false, &Error{Key: key, Msg: "must be a string, got " + jsonType(v)}
	}
	if err := json.Unmarshal(v, &s); err != nil {
		return "", false, &Error{Key: key, Msg: "must be a valid JSON string"}
	}
	return s, true, nil
}

func loadRequiredString(raw map[string]json.RawMessage, key string) (string, error) {
	return loadRequiredStringFor(raw, key, "")
}

// loadRequiredStringFor is loadRequiredString whose "is required" message
// names the auth method (why) that needs the key.
func loadRequiredStringFor(raw map[string]json.RawMessage, key, why string) (string, error) {
	v, present := raw[key]
	if !present {
		msg := "is required"
		if why != "" {
			msg += " for " + why
		}
		return "", &Error{Key: key, Msg: msg}
	}
	if t := jsonType(v); t != "string" {
		return "", &Error{Key: key, Msg: "must be a string, got " + t}
	}
	s, _, err := optionalString(raw, key)
	if err != nil {
		return "", err
	}
	if strings.TrimSpace(s) == "" {
		return "", &Error{Key: key, Msg: "is required and must not be empty"}
	}
	return s, nil
}

func loadBaseURL(raw map[string]json.RawMessage) (*url.URL, error) {
	s, err := loadRequiredString(raw, keyBaseURL)
	if err != nil {
		return nil, err
	}
	return parseHTTPURL(keyBaseURL, s, "https://your-domain.atlassian.net")
}

// parseHTTPURL checks a URL setting: absolute, https (http only for
// loopback hosts), no user info, query or fragment.
func parseHTTPURL(key, s, exampleURL string) (*url.URL, error) {
	example := "must be an absolute URL such as " + exampleURL
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		// url's error repeats the input, which may hold credentials.
		return nil, &Error{Key: key, Msg: "is not a valid URL: " + example}
	}
	if u.User != nil {
		return nil, &Error{Key: key, Msg: "must not contain user info; put credentials in their own keys"}
	}
	if !u.IsAbs() || u.Opaque != "" || u.Hostname() == "" {
		return nil, &Error{Key: key, Msg: example}
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return nil, &Error{Key: key, Msg: "must use https (http is allowed only for loopback hosts such as 127.0.0.1, ::1 and localhost)"}
		}
	default:
		return nil, &Error{Key: key, Msg: fmt.Sprintf("must use https, got scheme %q", echo(u.Scheme))}
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return nil, &Error{Key: key, Msg: "must not have a query or fragment"}
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = strings.TrimRight(u.RawPath, "/")
	return u, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	addr, err := netip.ParseAddr(host)
	return err == nil && addr.Unmap().IsLoopback()
}

func loadStartDate(raw map[string]json.RawMessage, now time.Time) (time.Time, error) {
	s, ok, err := optionalString(raw, keyStartDate)
	if err != nil {
		return time.Time{}, err
	}
	if !ok || strings.TrimSpace(s) == "" {
		return now.UTC().Truncate(time.Second).AddDate(-1, 0, 0), nil
	}
	t, perr := parseTime(strings.TrimSpace(s))
	if perr != nil {
		return time.Time{}, &Error{Key: keyStartDate, Msg: fmt.Sprintf("%q is not a date-time: use RFC 3339 such as 2017-07-01T00:00:00Z, or a date such as 2017-07-01", echo(s))}
	}
	// Earlier dates would be negative epoch milliseconds in Jira queries.
	if t.Before(time.Unix(0, 0)) {
		return time.Time{}, &Error{Key: keyStartDate, Msg: fmt.Sprintf("%q is before 1970-01-01", echo(s))}
	}
	return t, nil
}

// parseTime accepts RFC 3339 (as singer-io's 2017-07-01T00:00:00Z), a naive
// date-time or a plain date, the last two meaning UTC as in singer-python.
func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", time.DateOnly} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, errors.New("unrecognised date-time")
}

func loadUserAgent(raw map[string]json.RawMessage, version string) (string, error) {
	s, ok, err := optionalString(raw, keyUserAgent)
	if err != nil {
		return "", err
	}
	if ok && strings.TrimSpace(s) != "" {
		if strings.ContainsAny(s, "\r\n") {
			return "", &Error{Key: keyUserAgent, Msg: "must not contain line breaks"}
		}
		return strings.TrimSpace(s), nil
	}
	if version == "" {
		return "tap-jira", nil
	}
	return "tap-jira/" + version, nil
}

func loadRequestTimeout(raw map[string]json.RawMessage) (time.Duration, error) {
	v, present := raw[keyRequestTimeout]
	if !present {
		return defaultRequestTimeout, nil
	}
	var text string
	switch t := jsonType(v); t {
	case "null":
		return defaultRequestTimeout, nil
	case "number":
		text = string(bytes.TrimSpace(v))
	case "string":
		if err := json.Unmarshal(v, &text); err != nil {
			return 0, &Error{Key: keyRequestTimeout, Msg: "must be a valid JSON string"}
		}
		text = strings.TrimSpace(text)
		if text == "" {
			return defaultRequestTimeout, nil
		}
	default:
		return 0, &Error{Key: keyRequestTimeout, Msg: "must be a number of seconds or a numeric string, got " + t}
	}
	// Out-of-range values come back as ±Inf or 0 and are judged below.
	secs, err := strconv.ParseFloat(text, 64)
	if (err != nil && !errors.Is(err, strconv.ErrRange)) || math.IsNaN(secs) {
		return 0, &Error{Key: keyRequestTimeout, Msg: fmt.Sprintf("must be a number of seconds, got %q", echo(text))}
	}
	switch {
	case secs < 0:
		return 0, &Error{Key: keyRequestTimeout, Msg: fmt.Sprintf("must not be negative, got %q", echo(text))}
	case secs == 0:
		return defaultRequestTimeout, nil
	case secs > float64(math.MaxInt64/int64(time.Second)):
		return 0, &Error{Key: keyRequestTimeout, Msg: fmt.Sprintf("is too large, got %q seconds", echo(text))}
	}
	d := time.Duration(secs * float64(time.Second))
	if d < time.Millisecond {
		return 0, &Error{Key: keyRequestTimeout, Msg: fmt.Sprintf("must be at least 0.001 seconds, got %q", echo(text))}
	}
	return d, nil
}

func loadGroups(raw map[string]json.RawMessage) ([]string, error) {
	v, present := raw[keyGroups]
	if present && jsonType(v) != "string" && jsonType(v) != "null" {
		return nil, &Error{Key: keyGroups, Msg: "must be a comma-separated string, got " + jsonType(v)}
	}
	s, ok, err := optionalString(raw, keyGroups)
	if err != nil || !ok {
		return nil, err
	}
	var groups []string
	for g := range strings.SplitSeq(s, ",") {
		if g = strings.TrimSpace(g); g != "" {
			groups = append(groups, g)
		}
	}
	return groups, nil // nil when only separators: singer-io then uses its defaults
}

// echo shortens a user-supplied, non-secret value for an error message.
func echo(s string) string {
	if utf8.RuneCountInString(s) <= maxEcho {
		return s
	}
	return string([]rune(s)[:maxEcho]) + "…"
}
