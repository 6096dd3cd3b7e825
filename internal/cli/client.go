package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/tap-jira/tap-jira/internal/config"
	"github.com/tap-jira/tap-jira/internal/jira"
)

// newClient builds the Jira client for the config's authentication mode;
// sync and discovery share it. Nothing is sent yet: an OAuth 2.0 access
// token is refreshed when the first request needs one, so a run that has a
// valid access_token never spends the refresh token.
//
// onRequest, when not nil, hears of every HTTP try (the metrics).
func newClient(ctx context.Context, cfg *config.Config, log *slog.Logger, onRequest func(jira.RequestInfo)) (*jira.Client, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	opts := jira.Options{
		BaseURL: cfg.BaseURL, UserAgent: cfg.UserAgent, Timeout: cfg.RequestTimeout, Log: log,
		// Until the flavor is known, Cloud's default; runSync sets Data
		// Center's once it is found.
		Retry: retryPolicy(cfg.MaxAttempts), MaxInFlight: cfg.Concurrency(cfg.Deployment != config.DeploymentDataCenter),
		OnRequest: onRequest,
	}
	switch cfg.Auth {
	case config.AuthPAT:
		opts.Token = cfg.PersonalAccessToken
	case config.AuthOAuth:
		o := cfg.OAuth
		if err := checkTokenFile(o.TokenFile); err != nil {
			return nil, err
		}
		src, err := jira.NewTokenSource(jira.OAuthOptions{
			TokenURL: o.TokenURL, ClientID: o.ClientID, ClientSecret: o.ClientSecret,
			RefreshToken: o.RefreshToken, AccessToken: o.AccessToken, TokenFile: o.TokenFile,
			UserAgent: cfg.UserAgent, Timeout: cfg.RequestTimeout, Retry: opts.Retry, Log: log,
		})
		if err != nil {
			// Only the token file can be wrong here: the user must fix it.
			return nil, &config.Error{Key: "oauth_token_file", Msg: err.Error()}
		}
		opts.OAuth = src
	default: // basic auth, against the site or (scoped tokens) the gateway
		opts.Username, opts.Password = cfg.Username, cfg.Password
	}
	log.Debug("jira client", "auth", string(cfg.Auth), "api_url", cfg.BaseURL.Redacted())
	return jira.New(opts)
}

// checkTokenFile reports an oauth_token_file the tap could not write to as
// a config mistake, before a refresh spends the refresh token.
func checkTokenFile(path string) error {
	if path == "" {
		return nil
	}
	info, err := os.Stat(path)
	switch {
	case err == nil && info.IsDir():
		return &config.Error{Key: "oauth_token_file", Msg: fmt.Sprintf("%s is a directory; give a file path", path)}
	case err == nil:
		return nil
	case !errors.Is(err, fs.ErrNotExist):
		return &config.Error{Key: "oauth_token_file", Msg: fmt.Sprintf("cannot read %s: %v", path, errors.Unwrap(err))}
	}
	dir, err := os.Stat(filepath.Dir(path))
	if err != nil || !dir.IsDir() {
		return &config.Error{Key: "oauth_token_file", Msg: fmt.Sprintf("the directory of %s does not exist; create it first", path)}
	}
	return nil
}
