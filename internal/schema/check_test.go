package schema_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tap-jira/tap-jira/internal/schema"
	"github.com/tap-jira/tap-jira/internal/singer"
)

// checked encodes rec as the emitter does, undeclared keys deleted, and
// holds the check to the fast walk's verdict on what was encoded: the
// same, whatever the record; and valid only if gojsonschema agrees.
func checked(t testing.TB, s *schema.Schema, rec map[string]any) (sure bool, undeclared []string) {
	t.Helper()
	encoded, undeclared, sure, err := singer.EncodeChecked(rec, s.Root())
	if err != nil {
		return false, undeclared // not encodable: the emitter asks Judge
	}
	want, err := singer.EncodeRecord(rec)
	require.NoError(t, err)
	require.Equal(t, string(want), string(encoded), "the check changes nothing in the encoding")
	require.Equal(t, schema.FastValid(s, rec), sure, "%s: the check judges as the fast walk: %s", s.Name(), encoded)
	if sure {
		require.True(t, schema.SlowValid(t, s, rec), "%s: the check accepted what gojsonschema rejects: %s", s.Name(), encoded)
	}
	return sure, undeclared
}

// FuzzFastWalk feeds records of any shape to every stream's schema: when
// the fast walk accepts one, gojsonschema must accept it too, raw or not,
// and a checked encoding judges it as the fast walk does.
func FuzzFastWalk(f *testing.F) {
	f.Add(uint8(8), []byte(`{"id":"1","updated":"2026-01-02T03:04:05.000Z","fields":{"labels":["a"],"timespent":60},"extra":1}`))
	f.Add(uint8(12), []byte(`{"id":"5","updated":"2026-01-02T03:04:05Z","timeSpentSeconds":-0,"started":"15:04:05"}`))
	f.Add(uint8(0), []byte(`{"id":"1","self":"h:","lead":{"active":true}}`))
	all, err := schema.Bundled()
	if err != nil {
		f.Fatal(err)
	}
	names := slices.Sorted(maps.Keys(all))
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var rec map[string]any
		if dec.Decode(&rec) != nil || rec == nil {
			return
		}
		s := all[names[int(which)%len(names)]]
		judgedAlike(t, s, rec)
		schema.AssertRawJudgedAlike(t, s, rec)
		checked(t, s, rec)
	})
}

// judgedAlike holds the fast walk to gojsonschema: it never accepts what
// gojsonschema rejects.
func judgedAlike(t testing.TB, s *schema.Schema, rec map[string]any) {
	t.Helper()
	if schema.FastValid(s, rec) && !schema.SlowValid(t, s, rec) {
		t.Fatalf("%s: fast walk accepted a record gojsonschema rejects: %v", s.Name(), rec)
	}
}

// TestFastWalkOnMutatedSamples replaces random values deep inside each
// sample with values of other types and formats, and adds undeclared keys:
// whenever the fast walk accepts the result, gojsonschema must too, and a
// checked encoding judges it as the fast walk does.
func TestFastWalkOnMutatedSamples(t *testing.T) {
	t.Parallel()
	all, err := schema.Bundled()
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(1, 2))
	replacements := []any{nil, true, "x", "2026-01-02", "2026-01-02T03:04:05Z", "2026-01-02T03:04:05.000+0000", "15:04:05",
		"http://x", "not a uri", json.Number("1"), json.Number("1.5"), json.Number("2.0"), json.Number("-7"),
		map[string]any{}, []any{}, []any{json.Number("1")}, map[string]any{"self": "x"}}
	accepted, checkedN := 0, 0
	for _, name := range slices.Sorted(maps.Keys(all)) {
		s := all[name]
		sure, undeclared := checked(t, s, sample(t, name))
		require.True(t, sure, "%s: the check must take a valid sample, or it buys nothing", name)
		require.Empty(t, undeclared, name)
		for range 400 {
			rec := sample(t, name)
			schema.Mutate(rng, rec, replacements[rng.IntN(len(replacements))])
			if rng.IntN(4) == 0 {
				rec["not_declared"] = replacements[rng.IntN(len(replacements))]
			}
			checkedN++
			judgedAlike(t, s, rec)
			if sure, _ := checked(t, s, rec); sure {
				accepted++
			}
		}
	}
	t.Logf("%d of %d mutated records taken by the fast walk", accepted, checkedN)
	assert.Positive(t, accepted)
	assert.Less(t, accepted, checkedN, "some mutations must be invalid, or the test proves nothing")
}

func TestCheckedEncodingLeavesOutWhatTheSchemaDoesNotDeclare(t *testing.T) {
	t.Parallel()
	props := map[string]any{
		"id":   map[string]any{"type": "string"},
		"n":    map[string]any{"type": []any{"null", "integer"}},
		"list": map[string]any{"type": "array", "items": map[string]any{"type": "string"}},
		"obj":  map[string]any{"type": "object", "properties": map[string]any{"s": map[string]any{"type": "string"}}},
	}
	// Objects of 16 keys and more are encoded in a remembered key order,
	// with their checks remembered too: wide records take that path.
	wide := map[string]any{}
	for i := range 20 {
		props[fmt.Sprintf("p%02d", i)] = map[string]any{"type": "string"}
		wide[fmt.Sprintf("p%02d", i)] = "v"
	}
	s, err := schema.Compile("declared", map[string]any{"type": "object", "properties": props})
	require.NoError(t, err)
	with := func(extra map[string]any) map[string]any {
		m := maps.Clone(wide)
		maps.Copy(m, extra)
		return m
	}
	for _, c := range []struct {
		name       string
		record     map[string]any
		undeclared []string
		sure       bool
	}{
		{"all declared", map[string]any{"id": "1", "n": json.Number("2")}, nil, true},
		{"undeclared, of any value", map[string]any{"id": "1", "new": []int{1}, "other": json.Number("1.5")}, []string{"new", "other"}, true},
		{"undeclared beside an invalid value", map[string]any{"id": json.Number("1"), "new": true}, []string{"new"}, false},
		{"invalid in an array", map[string]any{"id": "1", "list": []any{"a", true}}, nil, false},
		{"invalid in an object", map[string]any{"obj": map[string]any{"s": json.Number("1")}}, nil, false},
		{"nested keys are not the top level's", map[string]any{"obj": map[string]any{"s": "a", "other": true}}, nil, true},
		{"only undeclared", map[string]any{"x": "1", "y": "2", "z": "3", "w": "4"}, []string{"w", "x", "y", "z"}, true},
		{"wide", with(nil), nil, true},
		{"wide, undeclared", with(map[string]any{"q": "1", "a": "2"}), []string{"a", "q"}, true},
		{"wide, invalid", with(map[string]any{"p07": true}), nil, false},
		{"wide, undeclared and invalid", with(map[string]any{"q": "1", "p19": json.Number("1")}), []string{"q"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			// Three times: a key set met twice is encoded in its remembered
			// order from then on (encoders are pooled: whichever this gets).
			for range 3 {
				rec := maps.Clone(c.record)
				sure, undeclared := checked(t, s, rec)
				slices.Sort(undeclared)
				assert.Equal(t, c.undeclared, undeclared)
				assert.Equal(t, c.sure, sure)
				for _, k := range c.undeclared {
					assert.NotContains(t, rec, k)
				}
			}
		})
	}
}
