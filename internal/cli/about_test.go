package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/xeipuuv/gojsonschema"
	"go.yaml.in/yaml/v3"

	"github.com/tap-jira/tap-jira/internal/config"
	"github.com/tap-jira/tap-jira/internal/singer/singertest"
)

func aboutJSON(t *testing.T) map[string]any {
	t.Helper()
	res := runTap(t, t.Context(), "--about", "--format", "json")
	require.Equal(t, ExitOK, res.code, res.stderr)
	var doc map[string]any
	require.NoError(t, json.Unmarshal([]byte(res.stdout), &doc))
	return doc
}

func aboutSchema(t *testing.T) *gojsonschema.Schema {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "about.schema.json"))
	require.NoError(t, err)
	s, err := gojsonschema.NewSchema(gojsonschema.NewBytesLoader(data))
	require.NoError(t, err)
	return s
}

// TestAboutMatchesSchema validates the real --about JSON against the schema
// in testdata (the Meltano SDK's keys, typed settings), shows the schema
// rejects each drift it is there to catch, and holds the settings to the
// table.
func TestAboutMatchesSchema(t *testing.T) {
	t.Parallel()
	schema := aboutSchema(t)
	doc := aboutJSON(t)
	res, err := schema.Validate(gojsonschema.NewGoLoader(doc))
	require.NoError(t, err)
	require.True(t, res.Valid(), "--about JSON does not match testdata/about.schema.json: %v", res.Errors())

	props := doc["settings"].(map[string]any)["properties"].(map[string]any)
	var required []string
	for _, s := range config.Settings() {
		p, ok := props[s.Name].(map[string]any)
		require.True(t, ok, "setting %s missing from --about", s.Name)
		assert.Equal(t, s.Type, p["type"], s.Name)
		assert.Equal(t, s.Secret, p["secret"] == true, "%s secret", s.Name)
		if s.Required {
			required = append(required, s.Name)
		}
	}
	assert.Len(t, props, len(config.Settings()), "--about lists exactly the table's settings")
	assert.ElementsMatch(t, toAny(required), doc["settings"].(map[string]any)["required"])

	drifts := []struct {
		name   string
		mutate func(d map[string]any)
	}{
		{"a key renamed", func(d map[string]any) { d["capability"] = d["capabilities"]; delete(d, "capabilities") }},
		{"sdk_version dropped", func(d map[string]any) { delete(d, "sdk_version") }},
		{"a setting without its type", func(d map[string]any) {
			delete(d["settings"].(map[string]any)["properties"].(map[string]any)["page_size"].(map[string]any), "type")
		}},
		{"a setting with a type JSON Schema lacks", func(d map[string]any) {
			d["settings"].(map[string]any)["properties"].(map[string]any)["base_url"].(map[string]any)["type"] = "str"
		}},
		{"a secret not write-only", func(d map[string]any) {
			delete(d["settings"].(map[string]any)["properties"].(map[string]any)["password"].(map[string]any), "writeOnly")
		}},
		{"an unknown capability", func(d map[string]any) { d["capabilities"] = append(d["capabilities"].([]any), "sync") }},
		{"state capability lost", func(d map[string]any) {
			d["capabilities"] = slices.DeleteFunc(slices.Clone(d["capabilities"].([]any)), func(c any) bool { return c == "state" })
		}},
		{"version not a string", func(d map[string]any) { d["version"] = 1.0 }},
	}
	for _, tc := range drifts {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := aboutJSON(t)
			tc.mutate(d)
			res, err := schema.Validate(gojsonschema.NewGoLoader(d))
			require.NoError(t, err)
			assert.False(t, res.Valid(), "the schema accepts the drift")
		})
	}
}

func TestAboutText(t *testing.T) {
	t.Parallel()
	res := runTap(t, t.Context(), "--about")
	require.Equal(t, ExitOK, res.code, res.stderr)
	for _, s := range config.Settings() {
		assert.Contains(t, res.stdout, "  "+s.Name+": "+s.Type, s.Name)
		assert.Contains(t, res.stdout, config.EnvVar(s.Name), "the text names each setting's variable")
	}
}

// meltanoPlugin is the part of a meltano.yml extractor entry the snippet
// sets.
type meltanoPlugin struct {
	Name         string   `yaml:"name"`
	Namespace    string   `yaml:"namespace"`
	Executable   string   `yaml:"executable"`
	Capabilities []string `yaml:"capabilities"`
	Settings     []struct {
		Name      string `yaml:"name"`
		Kind      string `yaml:"kind"`
		Sensitive bool   `yaml:"sensitive"`
	} `yaml:"settings"`
	GroupValidation [][]string        `yaml:"settings_group_validation"`
	Config          map[string]string `yaml:"config"`
	Select          []string          `yaml:"select"`
}

// TestREADMEMeltanoSnippet keeps the README's meltano.yml snippet generated
// from the settings table and the capabilities (UPDATE_GOLDEN=1 rewrites
// it), and checks that it parses as meltano.yml: Meltano's setting kinds,
// the settings and capabilities --about reports, and the plugin's
// environment prefix TAP_JIRA_ from its name. It rewrites README.md, so it
// runs before the parallel tests (the settings-table test rewrites it too).
func TestREADMEMeltanoSnippet(t *testing.T) {
	path := filepath.Join(singertest.RepoRoot(t), "README.md")
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	const begin, end = "<!-- meltano:begin", "<!-- meltano:end -->"
	readme := string(data)
	i := strings.Index(readme, begin)
	j := strings.Index(readme, end)
	require.True(t, i >= 0 && j > i, "README lacks the meltano markers")
	i += strings.Index(readme[i:], "\n") + 1
	want := "```yaml\n" + MeltanoYAML() + "```\n"
	if os.Getenv("UPDATE_GOLDEN") == "1" {
		readme = readme[:i] + want + readme[j:]
		j = i + len(want)
		require.NoError(t, os.WriteFile(path, []byte(readme), 0o644))
	} else {
		assert.Equal(t, want, readme[i:j], "README meltano.yml snippet is stale: run make golden")
	}

	var project struct {
		Plugins struct {
			Extractors []meltanoPlugin `yaml:"extractors"`
		} `yaml:"plugins"`
	}
	block := strings.TrimSuffix(strings.TrimPrefix(readme[i:j], "```yaml\n"), "```\n")
	require.NoError(t, yaml.Unmarshal([]byte(block), &project))
	require.Len(t, project.Plugins.Extractors, 1)
	p := project.Plugins.Extractors[0]
	assert.Equal(t, "tap-jira", p.Name)
	assert.Equal(t, config.EnvPrefix, strings.ToUpper(p.Namespace)+"_", "Meltano's env prefix for the plugin is the one tap-jira reads")
	assert.Equal(t, "tap-jira", p.Executable)

	about := aboutJSON(t)
	assert.ElementsMatch(t, about["capabilities"], toAny(p.Capabilities), "capabilities as --about says")
	// Meltano's setting kinds (meltano.schema.json, less the deprecated ones).
	kinds := []string{"oauth", "date_iso8601", "file", "email", "integer", "decimal", "options", "object", "array", "boolean", "string"}
	settings := config.Settings()
	require.Len(t, p.Settings, len(settings), "one entry per setting of the table")
	for k, s := range settings {
		got := p.Settings[k]
		assert.Equal(t, s.Name, got.Name)
		assert.Contains(t, kinds, got.Kind, s.Name)
		assert.Equal(t, s.Secret, got.Sensitive, "%s sensitive", s.Name)
		switch got.Kind {
		case "integer":
			assert.Equal(t, "integer", s.Type, s.Name)
		case "decimal":
			assert.Equal(t, "number", s.Type, s.Name)
		case "boolean":
			assert.Equal(t, "boolean", s.Type, s.Name)
		case "string", "date_iso8601":
			assert.Equal(t, "string", s.Type, s.Name)
		}
	}
	require.Len(t, p.GroupValidation, 1)
	assert.ElementsMatch(t, about["settings"].(map[string]any)["required"], toAny(p.GroupValidation[0]))
	for k := range p.Config {
		assert.True(t, slices.ContainsFunc(settings, func(s config.Setting) bool { return s.Name == k }), "config key %s is a setting", k)
	}
	for _, sel := range p.Select {
		stream, _, _ := strings.Cut(sel, ".")
		assert.Contains(t, string(readFileT(t, filepath.Join(singertest.RepoRoot(t), "testdata", "golden", "discover.json"))), `"tap_stream_id": "`+stream+`"`)
	}
}

func readFileT(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}
