package config

import (
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
)

// cloudIDPattern keeps cloud_id to what Atlassian issues (a UUID), so it
// cannot change the shape of the gateway path it is put in.
var cloudIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]*$`)

// loadAuth picks the authentication mode from the keys present, as
// singer-io/tap-jira does (OAuth exactly when oauth_client_id is present,
// basic auth when username is), then checks that mode's keys and sets
// c.BaseURL to where requests go. Keys another mode would use are errors
// when they contradict the chosen mode and warnings when they are merely
// unused, because configs written for singer-io carry both kinds.
func loadAuth(raw map[string]json.RawMessage, c *Config) (warnings []string, err error) {
	present := func(key string) bool {
		v, ok := raw[key]
		return ok && jsonType(v) != "null"
	}
	var site *url.URL
	if present(keyBaseURL) {
		if site, err = loadBaseURL(raw); err != nil {
			return nil, err
		}
	}
	cloudID, err := loadCloudID(raw)
	if err != nil {
		return nil, err
	}
	c.CloudID = cloudID

	switch {
	case present(keyOAuthClientID):
		c.Auth = AuthOAuth
		if present(keyPAT) {
			return nil, &Error{Key: keyPAT, Msg: "cannot be combined with oauth_client_id: use OAuth 2.0 or a personal access token, not both"}
		}
		for _, k := range []string{keyUsername, keyPassword} {
			if present(k) {
				// singer-io ignores them too when oauth_client_id is set.
				warnings = append(warnings, "ignoring "+k+": oauth_client_id is set, so the tap authenticates with OAuth 2.0")
			}
		}
		if c.OAuth, err = loadOAuth(raw); err != nil {
			return warnings, err
		}
		if cloudID == "" {
			return warnings, &Error{Key: keyCloudID, Msg: "is required for OAuth 2.0 (oauth_client_id is set): OAuth requests go to the API gateway at /ex/jira/{cloud_id}"}
		}
	case present(keyUsername):
		c.Auth = AuthBasic
		if cloudID != "" {
			c.Auth = AuthScopedToken
		}
		if present(keyPAT) {
			return nil, &Error{Key: keyPAT, Msg: "cannot be combined with username and password: use one or the other"}
		}
		if c.Username, err = loadRequiredStringFor(raw, keyUsername, "basic auth"); err != nil {
			return nil, err
		}
		if c.Password, err = loadRequiredStringFor(raw, keyPassword, "basic auth (username is set): the API token on Jira Cloud, the password on Data Center"); err != nil {
			return nil, err
		}
	case present(keyPAT):
		c.Auth = AuthPAT
		if present(keyPassword) {
			return nil, &Error{Key: keyPassword, Msg: "cannot be combined with personal_access_token: use username and password, or the token alone"}
		}
		if cloudID != "" {
			return nil, &Error{Key: keyCloudID, Msg: "cannot be combined with personal_access_token: personal access tokens are a Data Center feature and cloud_id is for Jira Cloud"}
		}
		if c.PersonalAccessToken, err = loadToken(raw, keyPAT, "a personal access token"); err != nil {
			return nil, err
		}
	default:
		return nil, &Error{Key: keyUsername, Msg: "is required (with password); or set personal_access_token for a Data Center token, or oauth_client_id for OAuth 2.0"}
	}

	if c.Auth != AuthOAuth {
		for _, k := range []string{keyOAuthClientSecret, keyAccessToken, keyRefreshToken, keyOAuthTokenFile, keyOAuthTokenURL} {
			if present(k) {
				warnings = append(warnings, "ignoring "+k+": OAuth 2.0 is used only when oauth_client_id is set")
			}
		}
	}
	if cloudID == "" {
		if site == nil {
			return warnings, &Error{Key: keyBaseURL, Msg: "is required (or set cloud_id to go through Atlassian's API gateway)"}
		}
		c.BaseURL = site
		return warnings, nil
	}
	gateway, err := loadOptionalURL(raw, keyGatewayURL, DefaultGatewayURL)
	if err != nil {
		return warnings, err
	}
	// cloudIDPattern leaves nothing to escape in the path.
	gateway.Path += "/ex/jira/" + cloudID
	gateway.RawPath = ""
	c.BaseURL = gateway
	return warnings, nil
}

func loadCloudID(raw map[string]json.RawMessage) (string, error) {
	s, _, err := optionalString(raw, keyCloudID)
	if err != nil {
		return "", err
	}
	s = strings.TrimSpace(s)
	if s != "" && !cloudIDPattern.MatchString(s) {
		return "", &Error{Key: keyCloudID, Msg: "must be the site's cloud ID (letters, digits and hyphens, as in https://your-domain.atlassian.net/_edge/tenant_info)"}
	}
	return s, nil
}

func loadOAuth(raw map[string]json.RawMessage) (*OAuth, error) {
	const why = "OAuth 2.0 (oauth_client_id is set)"
	o := &OAuth{}
	var err error
	if o.ClientID, err = loadRequiredStringFor(raw, keyOAuthClientID, why); err != nil {
		return nil, err
	}
	if o.ClientSecret, err = loadRequiredStringFor(raw, keyOAuthClientSecret, why); err != nil {
		return nil, err
	}
	if o.RefreshToken, err = loadToken(raw, keyRefreshToken, why); err != nil {
		return nil, err
	}
	// An empty access_token, as Stitch may write, means none.
	if s, ok, err := optionalString(raw, keyAccessToken); err != nil {
		return nil, err
	} else if ok && strings.TrimSpace(s) != "" {
		if o.AccessToken, err = loadToken(raw, keyAccessToken, why); err != nil {
			return nil, err
		}
	}
	if o.TokenURL, err = loadOptionalURL(raw, keyOAuthTokenURL, DefaultOAuthTokenURL); err != nil {
		return nil, err
	}
	file, _, err := optionalString(raw, keyOAuthTokenFile)
	if err != nil {
		return nil, err
	}
	o.TokenFile = strings.TrimSpace(file)
	return o, nil
}

// loadToken reads a required bearer or refresh token. A token travels in an
// HTTP header or body as it is, so blanks and control characters are
// mistakes (a pasted line break, most often); the message never repeats it.
func loadToken(raw map[string]json.RawMessage, key, why string) (string, error) {
	s, err := loadRequiredStringFor(raw, key, why)
	if err != nil {
		return "", err
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f {
			return "", &Error{Key: key, Msg: "must not contain spaces, line breaks or control characters (check how it was pasted)"}
		}
	}
	return s, nil
}

// loadOptionalURL reads an advanced URL setting, def when absent or empty.
func loadOptionalURL(raw map[string]json.RawMessage, key, def string) (*url.URL, error) {
	s, _, err := optionalString(raw, key)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(s) == "" {
		s = def
	}
	u, err := parseHTTPURL(key, s, def)
	if err != nil {
		return nil, err
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = strings.TrimRight(u.RawPath, "/")
	return u, nil
}
