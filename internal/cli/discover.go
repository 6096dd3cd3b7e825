package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/tap-jira/tap-jira/internal/config"
	"github.com/tap-jira/tap-jira/internal/jira"
	"github.com/tap-jira/tap-jira/internal/schema"
	"github.com/tap-jira/tap-jira/internal/singer"
	"github.com/tap-jira/tap-jira/internal/tap"
)

// discover builds the catalog: the bundled schemas, with the issues schema
// extended by the site's custom fields from GET /field. A user who may not
// read /field (403, 404) still gets the static catalog, with a warning.
func discover(ctx context.Context, cfg *config.Config, log *slog.Logger, schemas map[string]*schema.Schema) (*singer.Catalog, error) {
	client, err := newClient(ctx, cfg, log, nil)
	if err != nil {
		return nil, err
	}
	fields, err := client.Fields(ctx)
	var apiErr *jira.APIError
	switch {
	case err == nil:
		log.Info("discovered issue fields", "fields", len(fields))
	case errors.As(err, &apiErr) && (apiErr.Status == http.StatusForbidden || apiErr.Status == http.StatusNotFound):
		log.Warn("cannot read the site's issue fields; custom fields are not typed in the catalog", "error", err.Error())
		fields = nil
	case errors.Is(err, jira.ErrNotJSON):
		return nil, fmt.Errorf("base_url %s does not answer like a Jira site (check the URL): %w", cfg.BaseURL.Redacted(), err)
	default:
		return nil, err
	}
	return tap.Discover(schemas, fields, cfg.FlattenCustomFields)
}
