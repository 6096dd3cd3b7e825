package cli

import (
	"fmt"
	"strings"

	"github.com/tap-jira/tap-jira/internal/config"
)

// MeltanoKind maps a setting to its Meltano setting kind (meltano.yml
// `kind`): dates are date_iso8601, JSON numbers decimal. Secrets stay
// strings and are marked sensitive, Meltano's replacement for the
// deprecated password kind.
func MeltanoKind(s config.Setting) string {
	switch {
	case s.Type == "string" && s.Format == "date-time":
		return "date_iso8601"
	case s.Type == "number":
		return "decimal"
	default: // string, integer, boolean, array, object: the same names
		return s.Type
	}
}

// MeltanoYAML is the README's meltano.yml snippet: tap-jira as a custom
// extractor with its capabilities and every setting of the table.
func MeltanoYAML() string {
	var b strings.Builder
	b.WriteString("plugins:\n  extractors:\n  - name: tap-jira\n    namespace: tap_jira\n    executable: tap-jira\n")
	b.WriteString("    capabilities:\n")
	for _, c := range capabilities {
		fmt.Fprintf(&b, "    - %s\n", c)
	}
	b.WriteString("    settings:\n")
	for _, s := range config.Settings() {
		fmt.Fprintf(&b, "    - name: %s\n      kind: %s\n", s.Name, MeltanoKind(s))
		if s.Secret {
			b.WriteString("      sensitive: true\n")
		}
	}
	var required []string
	for _, s := range config.Settings() {
		if s.Required {
			required = append(required, s.Name)
		}
	}
	fmt.Fprintf(&b, "    settings_group_validation:\n    - [%s]\n", strings.Join(required, ", "))
	b.WriteString("    config:\n      base_url: https://your-domain.atlassian.net\n      username: you@example.com\n      start_date: '2025-11-28T00:00:00Z'\n")
	b.WriteString("    select:\n    - issues.*\n    - changelogs.*\n    - worklogs.*\n")
	return b.String()
}
