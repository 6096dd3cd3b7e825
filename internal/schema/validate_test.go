package schema_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tap-jira/tap-jira/internal/schema"
)

// decode decodes one JSON value the way the tap does (UseNumber).
func decode(t testing.TB, raw []byte) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	require.NoError(t, dec.Decode(&m))
	_, err := dec.Token()
	require.ErrorIs(t, err, io.EOF, "trailing data")
	return m
}

func sample(t testing.TB, stream string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "samples", stream+".json"))
	require.NoError(t, err)
	return decode(t, raw)
}

func compile(t testing.TB, name, src string) *schema.Schema {
	t.Helper()
	s, err := schema.Compile(name, decode(t, []byte(src)))
	require.NoError(t, err)
	return s
}

// set replaces the value at an RFC 6901 pointer (no escapes needed here).
func set(t *testing.T, doc map[string]any, ptr string, v any) {
	t.Helper()
	segs := strings.Split(strings.TrimPrefix(ptr, "/"), "/")
	var cur any = doc
	for i, seg := range segs {
		last := i == len(segs)-1
		switch c := cur.(type) {
		case map[string]any:
			if last {
				c[seg] = v
				return
			}
			require.Contains(t, c, seg, "pointer %s", ptr)
			cur = c[seg]
		case []any:
			n, err := strconv.Atoi(seg)
			require.NoError(t, err, "pointer %s", ptr)
			require.Less(t, n, len(c), "pointer %s", ptr)
			if last {
				c[n] = v
				return
			}
			cur = c[n]
		default:
			require.Failf(t, "bad pointer", "%s: %T at %q", ptr, cur, seg)
		}
	}
}

func keyOf(stream string, rec map[string]any) string {
	parts := []string{}
	for _, k := range streams[stream].keys {
		parts = append(parts, fmt.Sprintf("%s=%v", k, rec[k]))
	}
	return strings.Join(parts, ",")
}

func TestSamplesAreValid(t *testing.T) {
	t.Parallel()
	all := bundled(t)
	files, err := filepath.Glob(filepath.Join("testdata", "samples", "*.json"))
	require.NoError(t, err)
	var names []string
	for _, f := range files {
		names = append(names, strings.TrimSuffix(filepath.Base(f), ".json"))
	}
	require.ElementsMatch(t, slices.Collect(maps.Keys(streams)), names, "one sample per stream")

	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			rec := sample(t, name)
			s := all[name]
			require.NoError(t, s.Validate(rec, keyOf(name, rec)))

			// The sample exercises every declared top-level property, so a
			// schema type that real data would violate cannot hide.
			props := s.Doc()["properties"].(map[string]any)
			for p := range props {
				assert.True(t, has(rec, p), "sample %s lacks declared property %s", name, p)
			}
			for _, k := range streams[name].keys {
				assert.NotNil(t, rec[k], "key %s", k)
			}
		})
	}
}

func TestIssuesSampleCarriesCustomFields(t *testing.T) {
	t.Parallel()
	fields := sample(t, "issues")["fields"].(map[string]any)
	assert.IsType(t, json.Number(""), fields["customfield_10020"])
	assert.IsType(t, map[string]any{}, fields["customfield_10021"])
	assert.IsType(t, []any{}, fields["customfield_10022"])
}

func TestOpenObjectsAcceptUnknownKeys(t *testing.T) {
	t.Parallel()
	s := bundled(t)["issues"]
	rec := sample(t, "issues")
	rec["brandNewTopLevel"] = json.Number("1")
	fields := rec["fields"].(map[string]any)
	fields["customfield_19999"] = map[string]any{"nested": []any{true, nil, "x"}}
	fields["customfield_20000"] = json.Number("-3.25")
	fields["assignee"].(map[string]any)["somethingNew"] = "ok"
	assert.NoError(t, s.Validate(rec, "id=10001"))
}

func TestDateTimeFormatIsAsserted(t *testing.T) {
	t.Parallel()
	s := bundled(t)["issues"]
	cases := []struct {
		value any
		ok    bool
	}{
		{"2026-01-02T11:04:05.000Z", true},
		{"2026-01-02T11:04:05Z", true},
		{"2026-01-02T11:04:05.123456+00:00", true},
		{"2026-01-02T03:04:05.000+0000", false}, // Jira's raw layout: the tap must normalize it
		{"2026-01-02 03:04:05", false},
		{"not a date", false},
		{nil, true}, // fields.updated is nullable
	}
	for _, tc := range cases {
		t.Run(fmt.Sprint(tc.value), func(t *testing.T) {
			t.Parallel()
			rec := sample(t, "issues")
			set(t, rec, "/fields/updated", tc.value)
			err := s.Validate(rec, "id=10001")
			if tc.ok {
				assert.NoError(t, err)
				return
			}
			var ve *schema.ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, "/fields/updated", ve.Pointer)
			assert.Equal(t, "Does not match format 'date-time'", ve.Message)
		})
	}
}

func TestCorruptedRecordsPointAtTheBadValue(t *testing.T) {
	t.Parallel()
	all := bundled(t)
	cases := []struct {
		stream string
		ptr    string
		value  any
		want   string // expected pointer ("" = ptr)
	}{
		{stream: "issues", ptr: "/fields/updated", value: "2026-01-02T03:04:05.000+0000"},
		{stream: "issues", ptr: "/updated", value: nil},
		{stream: "issues", ptr: "/updated", value: "2026-01-02T03:04:05.000+0000"},
		{stream: "issues", ptr: "/id", value: json.Number("10001")},
		{stream: "issues", ptr: "/fields/description", value: map[string]any{"type": "doc", "version": json.Number("1")}}, // v3 ADF
		{stream: "issues", ptr: "/fields/labels/1", value: json.Number("7")},
		{stream: "issues", ptr: "/fields/timespent", value: json.Number("1.5")},
		{stream: "issues", ptr: "/fields/assignee/active", value: "true"},
		{stream: "issues", ptr: "/fields", value: []any{}},
		{stream: "worklogs", ptr: "/timeSpentSeconds", value: "abc"},
		{stream: "worklogs", ptr: "/updated", value: nil},
		{stream: "worklogs", ptr: "/started", value: "2026-03-04T01:00:00.000+0900"},
		{stream: "changelogs", ptr: "/items/0/field", value: json.Number("42")},
		{stream: "changelogs", ptr: "/items/1/toString", value: false},
		{stream: "users", ptr: "/active", value: "yes"},
		{stream: "users", ptr: "/accountId", value: nil},
		{stream: "roles", ptr: "/id", value: "10002"},
		{stream: "roles", ptr: "/actors/1/id", value: "10241"},
		{stream: "versions", ptr: "/projectId", value: "10000"},
		{stream: "versions", ptr: "/releaseDate", value: "04/Mar/26"},
		{stream: "versions", ptr: "/self", value: "not a uri"},
		{stream: "components", ptr: "/issueCount", value: true},
		{stream: "issue_comments", ptr: "/body", value: map[string]any{"type": "doc"}}, // v3 ADF
		{stream: "issue_transitions", ptr: "/issueId", value: nil},
		{stream: "projects", ptr: "/lead/avatarUrls/48x48", value: json.Number("1")},
		{stream: "projects", ptr: "/issueTypes/1/subtask", value: "false"},
		{stream: "project_types", ptr: "/key", value: nil},
		{stream: "resolutions", ptr: "/name", value: []any{"Done"}},
		{stream: "project_categories", ptr: "/id", value: json.Number("10000")},
	}
	for _, tc := range cases {
		t.Run(tc.stream+tc.ptr, func(t *testing.T) {
			t.Parallel()
			rec := sample(t, tc.stream)
			key := keyOf(tc.stream, rec)
			set(t, rec, tc.ptr, tc.value)

			err := all[tc.stream].Validate(rec, key)
			var ve *schema.ValidationError
			require.ErrorAs(t, err, &ve)
			want := tc.want
			if want == "" {
				want = tc.ptr
			}
			assert.Equal(t, want, ve.Pointer)
			assert.Equal(t, tc.stream, ve.Stream)
			assert.Equal(t, key, ve.Key)
			assert.Zero(t, ve.More)
			msg := err.Error()
			assert.Contains(t, msg, "record "+tc.stream+" "+key+" ")
			assert.Contains(t, msg, " at "+want+": ")
		})
	}
}

func TestFirstErrorIsDeterministic(t *testing.T) {
	t.Parallel()
	s := bundled(t)["issues"]
	var first string
	for i := range 20 {
		rec := sample(t, "issues")
		set(t, rec, "/fields/updated", "2026-01-02T03:04:05.000+0000")
		set(t, rec, "/key", json.Number("1"))
		set(t, rec, "/fields/subtasks/0/fields/summary", false)
		set(t, rec, "/fields/created", "yesterday")
		err := s.Validate(rec, "id=10001")
		var ve *schema.ValidationError
		require.ErrorAs(t, err, &ve)
		assert.Equal(t, "/fields/created", ve.Pointer, "pointer order: /fields/created < /fields/subtasks < /fields/updated < /key")
		assert.Equal(t, 3, ve.More)
		assert.True(t, strings.HasSuffix(err.Error(), " (and 3 more)"), err.Error())
		if i == 0 {
			first = err.Error()
		}
		assert.Equal(t, first, err.Error())
	}
	assert.Equal(t,
		"record issues id=10001 does not match its schema at /fields/created: Does not match format 'date-time' (and 3 more)",
		first)
}

func TestArrayIndexesOrderNumerically(t *testing.T) {
	t.Parallel()
	s := compile(t, "t", `{"type":"object","properties":{"a":{"type":["null","array"],"items":{"type":"string"}}}}`)
	rec := map[string]any{"a": []any{}}
	for i := range 12 {
		v := any("ok")
		if i == 2 || i == 10 {
			v = json.Number("1")
		}
		rec["a"] = append(rec["a"].([]any), v)
	}
	var ve *schema.ValidationError
	require.ErrorAs(t, s.Validate(rec, "k"), &ve)
	assert.Equal(t, "/a/2", ve.Pointer)
	assert.Equal(t, 1, ve.More)
}

func TestErrorFormat(t *testing.T) {
	t.Parallel()
	cases := []struct {
		err  schema.ValidationError
		want string
	}{
		{
			schema.ValidationError{Stream: "issues", Key: "id=10001", Pointer: "/fields/updated", Message: "Does not match format 'date-time'", More: 2},
			"record issues id=10001 does not match its schema at /fields/updated: Does not match format 'date-time' (and 2 more)",
		},
		{
			schema.ValidationError{Stream: "users", Key: "accountId=abc", Pointer: "", Message: "m"},
			"record users accountId=abc does not match its schema at /: m",
		},
		{
			schema.ValidationError{Stream: "roles", Pointer: "/id", Message: "m", More: 1},
			"record roles does not match its schema at /id: m (and 1 more)",
		},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, tc.err.Error())
		})
	}
}

func TestRequiredAndAdditionalPointAtTheProperty(t *testing.T) {
	t.Parallel()
	s := compile(t, "strict", `{
	  "type": "object",
	  "properties": {
	    "obj": {
	      "type": ["null", "object"],
	      "required": ["must"],
	      "additionalProperties": false,
	      "properties": {"must": {"type": "string"}, "a/b~c": {"type": ["null", "object"], "properties": {"x.y": {"type": "integer"}}}}
	    }
	  }
	}`)
	cases := []struct {
		name    string
		rec     string
		ptr     string
		message string
	}{
		{"missing", `{"obj": {}}`, "/obj/must", "must is required"},
		{"extra", `{"obj": {"must": "x", "nope": 1}}`, "/obj/nope", "Additional property nope is not allowed"},
		{"escaped", `{"obj": {"must": "x", "a/b~c": {"x.y": "s"}}}`, "/obj/a~1b~0c/x.y", "Invalid type. Expected: integer, given: string"},
		{"object type", `{"obj": []}`, "/obj", "Invalid type. Expected: [null,object], given: array"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var ve *schema.ValidationError
			require.ErrorAs(t, s.Validate(decode(t, []byte(tc.rec)), "k"), &ve)
			assert.Equal(t, tc.ptr, ve.Pointer)
			assert.Equal(t, tc.message, ve.Message)
		})
	}
}

func TestNonJSONGoTypesAreRejected(t *testing.T) {
	t.Parallel()
	s := bundled(t)["worklogs"]
	cases := []struct {
		name  string
		ptr   string
		value any
	}{
		{"int", "/timeSpentSeconds", 12000},
		{"float64", "/timeSpentSeconds", 12000.0},
		{"int in a string column", "/comment", 5},
		{"typed slice", "/properties", []string{"a"}},
		{"typed map", "/visibility", map[string]string{"type": "group"}},
		{"nested", "/author/active", int64(1)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := sample(t, "worklogs")
			set(t, rec, tc.ptr, tc.value)
			var ve *schema.ValidationError
			require.NotPanics(t, func() {
				require.ErrorAs(t, s.Validate(rec, "id=10300"), &ve)
			})
			assert.Equal(t, tc.ptr, ve.Pointer)
			assert.Contains(t, ve.Message, "UseNumber")
		})
	}
}

func TestNilRecordIsInvalid(t *testing.T) {
	t.Parallel()
	var ve *schema.ValidationError
	require.ErrorAs(t, bundled(t)["users"].Validate(nil, "accountId=x"), &ve)
	assert.Equal(t, "", ve.Pointer)
	assert.Contains(t, ve.Error(), " at /: ")
}

func TestCompileRejects(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		src  string
		want string
	}{
		{"ref", `{"type":"object","properties":{"a":{"$ref":"#/definitions/x"}}}`, "/properties/a/$ref"},
		{"definitions", `{"type":"object","properties":{},"definitions":{"x":{}}}`, "/definitions"},
		{"const", `{"type":"object","properties":{"a":{"items":{"const":1}}}}`, "/properties/a/items/const"},
		{"$schema", `{"$schema":"http://json-schema.org/draft-07/schema#","type":"object","properties":{}}`, "/$schema"},
		{"nullable top", `{"type":["null","object"],"properties":{}}`, `"type": "object"`},
		{"no properties", `{"type":"object"}`, `"properties"`},
		{"boolean schema", `{"type":"object","properties":{"a":true}}`, "/properties/a: a subschema must be an object"},
		{"numeric exclusiveMinimum", `{"type":"object","properties":{"a":{"type":"integer","minimum":0,"exclusiveMinimum":0}}}`, "exclusiveMinimum"},
		{"unknown type", `{"type":"object","properties":{"a":{"type":"strin"}}}`, "compile"},
		// Only the metaschema catches these, so Compile (for what the
		// catalog gives) must still check against it.
		{"empty enum", `{"type":"object","properties":{"a":{"enum":[]}}}`, "properties.a.enum: Array must have at least 1 items"},
		{"empty required", `{"type":"object","properties":{"a":{"type":"object","required":[]}}}`, "properties.a.required: Array must have at least 1 items"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := schema.Compile("bad", decode(t, []byte(tc.src)))
			require.Error(t, err)
			assert.Contains(t, err.Error(), "schema bad")
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	_, err := schema.Compile("", map[string]any{"type": "object", "properties": map[string]any{}})
	assert.Error(t, err, "empty name")
	_, err = schema.Compile("nil", nil)
	assert.Error(t, err, "nil doc")
}

func TestCompileAcceptsGoValues(t *testing.T) {
	t.Parallel()
	// Built in Go (not decoded): plain ints must still work as keyword values.
	s, err := schema.Compile("go", map[string]any{
		"type": "object",
		"properties": map[string]any{
			"n": map[string]any{"type": []any{"null", "integer"}, "minimum": 0, "maximum": 10},
		},
	})
	require.NoError(t, err)
	assert.NoError(t, s.Validate(map[string]any{"n": json.Number("3")}, "k"))
	var ve *schema.ValidationError
	require.ErrorAs(t, s.Validate(map[string]any{"n": json.Number("11")}, "k"), &ve)
	assert.Equal(t, "/n", ve.Pointer)
}

func TestDocIsADeepCopy(t *testing.T) {
	t.Parallel()
	src := decode(t, []byte(`{"type":"object","properties":{"a":{"type":["null","string"]},"b":{"type":["null","array"],"items":{"type":["null","string"]}}}}`))
	s, err := schema.Compile("copy", src)
	require.NoError(t, err)

	// Changing the caller's document after Compile changes nothing.
	src["properties"].(map[string]any)["a"].(map[string]any)["type"] = "integer"

	doc := s.Doc()
	props := doc["properties"].(map[string]any)
	delete(props, "a")
	props["b"].(map[string]any)["items"].(map[string]any)["type"].([]any)[1] = "integer"

	again := s.Doc()["properties"].(map[string]any)
	require.Contains(t, again, "a")
	assert.Equal(t, []any{"null", "string"}, again["a"].(map[string]any)["type"])
	assert.Equal(t, []any{"null", "string"}, again["b"].(map[string]any)["items"].(map[string]any)["type"])
	assert.NoError(t, s.Validate(map[string]any{"a": "x", "b": []any{"y"}}, "k"), "validation is unaffected")
}

func TestValidateIsSafeForConcurrentUse(t *testing.T) {
	t.Parallel()
	s := bundled(t)["issues"]
	good := sample(t, "issues")
	bad := sample(t, "issues")
	set(t, bad, "/fields/updated", "2026-01-02T03:04:05.000+0000")
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 8 {
		wg.Go(func() {
			for range 50 {
				if err := s.Validate(good, "id=10001"); err != nil {
					errs <- err
					return
				}
				var ve *schema.ValidationError
				if err := s.Validate(bad, "id=10001"); !errors.As(err, &ve) || ve.Pointer != "/fields/updated" {
					errs <- fmt.Errorf("goroutine %d: unexpected %v", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// BenchmarkLoadBundled is the start-up cost of every run: compiling the
// embedded schemas (before any request is made).
func BenchmarkLoadBundled(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if err := schema.LoadBundled(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidateIssue(b *testing.B) {
	all, err := schema.Bundled()
	require.NoError(b, err)
	s := all["issues"]
	rec := sample(b, "issues")
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Validate(rec, "id=10001"); err != nil {
			b.Fatal(err)
		}
	}
}
