package schema

import (
	"bytes"
	"encoding/json"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/xeipuuv/gojsonschema"

	"github.com/tap-jira/tap-jira/internal/jsonscan"
)

// slowValid is gojsonschema's verdict alone, the judge the fast walk must
// never contradict when it says "valid".
func slowValid(t testing.TB, s *Schema, rec map[string]any) bool {
	t.Helper()
	res, err := s.compiled.Validate(gojsonschema.NewRawLoader(rec))
	require.NoError(t, err)
	return res.Valid()
}

func decodeRecord(t testing.TB, data []byte) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	require.NoError(t, dec.Decode(&m))
	return m
}

func TestFastWalkAcceptsTheSamples(t *testing.T) {
	t.Parallel()
	all, err := Bundled()
	require.NoError(t, err)
	for _, name := range slices.Sorted(maps.Keys(all)) {
		s := all[name]
		data, err := os.ReadFile(filepath.Join("testdata", "samples", name+".json"))
		require.NoError(t, err)
		rec := decodeRecord(t, data)
		assert.True(t, s.fast.valid(rec), "%s: the fast walk must take a valid sample, or it buys nothing", name)
		assert.True(t, slowValid(t, s, rec), name)
	}
}

func TestFastWalkIsNeverLooserThanGojsonschema(t *testing.T) {
	t.Parallel()
	all, err := Bundled()
	require.NoError(t, err)
	s := all["issues"]
	cases := map[string]string{
		"jira offset":        `{"id":"1","updated":"2026-01-02T03:04:05.000+0000"}`,
		"null key":           `{"id":null,"updated":"2026-01-02T03:04:05.000Z"}`,
		"number as string":   `{"id":"1","updated":"2026-01-02T03:04:05.000Z","fields":{"timespent":"60"}}`,
		"fraction integer":   `{"id":"1","updated":"2026-01-02T03:04:05.000Z","fields":{"timespent":1.5}}`,
		"integral fraction":  `{"id":"1","updated":"2026-01-02T03:04:05.000Z","fields":{"timespent":60.0}}`,
		"labels not strings": `{"id":"1","updated":"2026-01-02T03:04:05.000Z","fields":{"labels":[1]}}`,
		"bad uri":            `{"id":"1","updated":"2026-01-02T03:04:05.000Z","self":"not a uri"}`,
		"date only":          `{"id":"1","updated":"2026-01-02"}`,
	}
	for name, doc := range cases {
		rec := decodeRecord(t, []byte(doc))
		if s.fast.valid(rec) {
			assert.True(t, slowValid(t, s, rec), "%s: fast said valid, gojsonschema did not", name)
		}
		// Whatever the walk says, Validate gives gojsonschema's verdict.
		assert.Equal(t, slowValid(t, s, rec), s.Validate(rec, "id=1") == nil, name)
	}
}

// mutate replaces one value at a random depth with v.
func mutate(rng *rand.Rand, node any, v any) {
	for {
		switch t := node.(type) {
		case map[string]any:
			if len(t) == 0 {
				return
			}
			keys := slices.Sorted(maps.Keys(t))
			k := keys[rng.IntN(len(keys))]
			child := t[k]
			if _, deeper := child.(map[string]any); deeper && rng.IntN(3) > 0 {
				node = child
				continue
			}
			if _, deeper := child.([]any); deeper && rng.IntN(3) > 0 {
				node = child
				continue
			}
			t[k] = v
			return
		case []any:
			if len(t) == 0 {
				return
			}
			i := rng.IntN(len(t))
			switch t[i].(type) {
			case map[string]any, []any:
				if rng.IntN(3) > 0 {
					node = t[i]
					continue
				}
			}
			t[i] = v
			return
		default:
			return
		}
	}
}

// FuzzUTCMillis: the shortcut never accepts what time.Parse rejects, and
// accepts every valid timestamp in the layout the tap emits.
func FuzzUTCMillis(f *testing.F) {
	for _, s := range []string{"2026-01-02T03:04:05.000Z", "2024-02-29T23:59:59.999Z", "2023-02-29T00:00:00.000Z", "2026-13-01T00:00:00.000Z", "2026-01-02T24:00:00.000Z", "0000-01-01T00:00:00.000Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, err := time.Parse(time.RFC3339, s)
		fast := utcMillis(s)
		if fast && err != nil {
			t.Fatalf("utcMillis accepted %q, time.Parse says %v", s, err)
		}
		if !fast && err == nil && len(s) == 24 && strings.HasSuffix(s, "Z") && s[19] == '.' {
			t.Fatalf("utcMillis rejected %q, which time.Parse accepts", s)
		}
	})
}

// TestFastWalkOnRaw: the walk over a value kept raw never accepts what the
// walk over its tree rejects (it may only be unsure where a key has
// escapes), on the samples, where it must accept, and on the mutations of
// TestFastWalkOnMutatedSamples.
func TestFastWalkOnRaw(t *testing.T) {
	t.Parallel()
	all, err := Bundled()
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(3, 4))
	replacements := []any{nil, true, false, "x", "2026-01-02", "2026-01-02T03:04:05Z", "2026-01-02T03:04:05.000Z", "15:04:05",
		"http://x", "not a uri", "tab\there", json.Number("1"), json.Number("1.5"), json.Number("-7"), json.Number("1e3"),
		map[string]any{}, []any{}, []any{json.Number("1"), "a"}, map[string]any{"self": "x", "b\"q": []any{}}}
	for _, name := range slices.Sorted(maps.Keys(all)) {
		s := all[name]
		data, err := os.ReadFile(filepath.Join("testdata", "samples", name+".json"))
		require.NoError(t, err)
		require.True(t, assertRawJudgedAlike(t, s, decodeRecord(t, data)), "%s: the sample kept raw is not accepted", name)
		for range 300 {
			rec := decodeRecord(t, data)
			mutate(rng, rec, replacements[rng.IntN(len(replacements))])
			assertRawJudgedAlike(t, s, rec)
		}
	}
}

// assertRawJudgedAlike checks the fast walk on rec with each of its
// top-level objects and arrays kept raw, and on rec kept raw whole: it
// accepts only what it accepts on rec's tree, and the full check says the
// same either way. It returns whether both raw forms were accepted.
func assertRawJudgedAlike(t testing.TB, s *Schema, rec map[string]any) bool {
	t.Helper()
	want := s.fast.valid(rec)
	rawRec := make(map[string]any, len(rec))
	for k, v := range rec {
		switch v.(type) {
		case map[string]any, []any:
			b, err := canonical(v)
			require.NoError(t, err)
			rawRec[k] = jsonscan.Raw(b)
		default:
			rawRec[k] = v
		}
	}
	b, err := canonical(rec)
	require.NoError(t, err)
	members, whole := s.fast.valid(rawRec), s.fast.valid(jsonscan.Raw(b))
	if members || whole {
		require.True(t, want, "%s: the raw walk accepted what the tree walk rejects: %s", s.name, b)
	}
	require.Equal(t, s.Validate(rec, "k") == nil, s.Validate(rawRec, "k") == nil, "%s: %s", s.name, b)
	return members && whole
}

// canonical is v's JSON as a record carries it: encoding/json's, HTML
// left unescaped (what singer's encoder is held to).
func canonical(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
