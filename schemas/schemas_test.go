package schemas_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tap-jira/tap-jira/schemas"
)

var wantFiles = []string{
	"changelogs.json", "components.json", "issue_comments.json", "issue_transitions.json",
	"issue_status_history.json", "issues.json", "project_categories.json", "project_types.json", "projects.json",
	"resolutions.json", "roles.json", "users.json", "versions.json", "worklogs.json",
}

func TestEmbedsOneFilePerStream(t *testing.T) {
	t.Parallel()
	got, err := fs.Glob(schemas.FS, "*")
	require.NoError(t, err)
	assert.ElementsMatch(t, wantFiles, got, "only <stream>.json files are embedded")
}

// TestFilesAreStrictJSON catches what encoding/json forgives in hand-written
// files: a duplicated key silently drops the first definition.
func TestFilesAreStrictJSON(t *testing.T) {
	t.Parallel()
	for _, name := range wantFiles {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			raw, err := fs.ReadFile(schemas.FS, name)
			require.NoError(t, err)
			assert.True(t, utf8.Valid(raw), "UTF-8")
			assert.True(t, bytes.HasSuffix(raw, []byte("}\n")), "ends with a newline")

			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.UseNumber()
			require.NoError(t, noDuplicateKeys(dec, ""))
			_, err = dec.Token()
			assert.ErrorIs(t, err, io.EOF, "one JSON value per file")

			var doc map[string]any
			require.NoError(t, json.Unmarshal(raw, &doc))
			assert.Equal(t, "object", doc["type"])
			assert.IsType(t, map[string]any{}, doc["properties"])
		})
	}
}

func TestDuplicateKeyDetectorCanFail(t *testing.T) {
	t.Parallel()
	cases := map[string]bool{
		`{"a": 1, "b": {"a": 2}}`:           true,
		`{"a": 1, "a": 2}`:                  false,
		`{"p": {"x": {}, "y": {}, "x": 1}}`: false,
		`[{"a": 1}, {"a": 1}]`:              true,
	}
	for src, ok := range cases {
		t.Run(src, func(t *testing.T) {
			t.Parallel()
			err := noDuplicateKeys(json.NewDecoder(strings.NewReader(src)), "")
			if ok {
				assert.NoError(t, err)
			} else {
				assert.Error(t, err)
			}
		})
	}
}

// noDuplicateKeys reads one JSON value from dec and fails on a repeated object key.
func noDuplicateKeys(dec *json.Decoder, ptr string) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		seen := map[string]bool{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return err
			}
			k, ok := kt.(string)
			if !ok {
				return fmt.Errorf("%s: object key is %T", ptr, kt)
			}
			if seen[k] {
				return fmt.Errorf("%s: duplicate key %q", ptr, k)
			}
			seen[k] = true
			if err := noDuplicateKeys(dec, ptr+"/"+k); err != nil {
				return err
			}
		}
		_, err = dec.Token() // '}'
		return err
	case json.Delim('['):
		for i := 0; dec.More(); i++ {
			if err := noDuplicateKeys(dec, fmt.Sprintf("%s/%d", ptr, i)); err != nil {
				return err
			}
		}
		_, err = dec.Token() // ']'
		return err
	case json.Delim('}'), json.Delim(']'):
		return errors.New(ptr + ": unexpected delimiter")
	default:
		return nil
	}
}
