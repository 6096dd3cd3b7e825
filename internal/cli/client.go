package cli

import (
	"context"
	"log/slog"

	"github.com/tap-jira/tap-jira/internal/config"
	"github.com/tap-jira/tap-jira/internal/jira"
)

// newClient builds the Jira client every command uses, from the config.
func newClient(ctx context.Context, cfg *config.Config, log *slog.Logger) (*jira.Client, error) {
	_ = ctx // no request is needed to build it
	return jira.New(jira.Options{
		BaseURL: cfg.BaseURL, Username: cfg.Username, Password: cfg.Password,
		UserAgent: cfg.UserAgent, Timeout: cfg.RequestTimeout, Log: log,
		Retry: retryPolicy(cfg.MaxAttempts), MaxInFlight: cfg.MaxConcurrency,
	})
}
