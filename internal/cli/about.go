package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/tap-jira/tap-jira/internal/config"
)

// capabilities are the Meltano capability names tap-jira supports.
var capabilities = []string{"about", "catalog", "discover", "state"}

const description = "Singer tap for Jira Cloud and Jira Data Center: a drop-in for singer-io/tap-jira"

// about is the --about document, with the Meltano SDK's keys in its order
// (singer_sdk/about.py). sdk_version and supported_python_versions are null:
// tap-jira is a Go binary built without the SDK, and the keys stay so that a
// reader of the SDK's shape finds every key it expects.
type about struct {
	Name                    string         `json:"name"`
	Description             string         `json:"description"`
	Version                 string         `json:"version"`
	SDKVersion              *string        `json:"sdk_version"`
	SupportedPythonVersions []string       `json:"supported_python_versions"`
	Capabilities            []string       `json:"capabilities"`
	Settings                map[string]any `json:"settings"`
}

func buildVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return "dev"
}

func writeAbout(w io.Writer, format string) error {
	doc := about{
		Name:         "tap-jira",
		Description:  description,
		Version:      Version(),
		Capabilities: slices.Clone(capabilities),
		Settings:     config.SettingsSchema(),
	}
	var out string
	switch strings.ToLower(format) {
	case "json":
		b, err := json.MarshalIndent(doc, "", "  ")
		if err != nil {
			return fmt.Errorf("encoding about: %w", err)
		}
		out = string(b) + "\n"
	case "markdown":
		out = aboutMarkdown(doc)
	case "", "text":
		out = aboutText(doc)
	default:
		return &usageError{msg: fmt.Sprintf("--format %q: want text, json or markdown", format)}
	}
	_, err := io.WriteString(w, out)
	return err
}

func aboutText(a about) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Name: %s\nDescription: %s\nVersion: %s\nCapabilities: %s\nSettings:\n",
		a.Name, a.Description, a.Version, strings.Join(a.Capabilities, ", "))
	for _, s := range config.Settings() {
		req := ""
		if s.Required {
			req = " (required)"
		}
		fmt.Fprintf(&b, "  %s: %s%s, env %s — %s\n", s.Name, s.Type, req, config.EnvVar(s.Name), s.Description)
	}
	return b.String()
}

// SettingsMarkdown is the settings table of the README, generated from the
// same table as --about so the two cannot drift.
func SettingsMarkdown() string {
	var b strings.Builder
	b.WriteString("| Setting | Required | Type | Default | Description |\n|---|---|---|---|---|\n")
	for _, s := range config.Settings() {
		req := "no"
		if s.Required {
			req = "yes"
		}
		def := ""
		if s.Default != nil {
			def = fmt.Sprintf("`%v`", s.Default)
		}
		typ := s.Type
		if s.Format != "" {
			typ += " (" + s.Format + ")"
		}
		if s.Secret {
			typ += ", secret"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", s.Name, req, typ, def, strings.ReplaceAll(s.Description, "|", "\\|"))
	}
	return b.String()
}

func aboutMarkdown(a about) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n%s\n\nVersion: %s\n\n## Capabilities\n\n", a.Name, a.Description, a.Version)
	for _, c := range a.Capabilities {
		fmt.Fprintf(&b, "* `%s`\n", c)
	}
	b.WriteString("\n## Settings\n\n")
	b.WriteString(SettingsMarkdown())
	return b.String()
}
