package schema

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestForJiraType covers every type jira-sim's /field produces (custom and
// system) and types it does not: each mapping is compiled inside an object
// schema and tried on values Jira sends and on values of the wrong type.
func TestForJiraType(t *testing.T) {
	t.Parallel()
	str := func(s string) any { return s }
	num := func(s string) any { return json.Number(s) }
	obj := map[string]any{"self": "https://x/rest/api/2/customFieldOption/10100", "value": "Major", "id": "10100"}
	user := map[string]any{"accountId": "5b10a2844c20165700ede21g", "displayName": "Zoë", "active": true}
	everything := []any{nil, str("x"), num("1.5"), true, obj, []any{str("a")}}
	cases := []struct {
		typ, items string
		want       string // the JSON Schema, as JSON
		valid      []any
		invalid    []any
	}{
		{"number", "", `{"type":["null","number"]}`, []any{nil, num("5"), num("0.5")}, []any{str("5"), obj}},
		{"string", "", `{"type":["null","string"]}`, []any{nil, str("Überprüfung 要確認"), str("")}, []any{num("1"), obj, []any{}}},
		{"date", "", `{"type":["null","string"],"format":"date"}`, []any{nil, str("2026-01-31")}, []any{str("31/Jan/26"), str("2026-02-30"), num("20260131")}},
		{"datetime", "", `{"type":["null","string"],"format":"date-time"}`, []any{nil, str("2026-01-02T03:04:05.000Z")}, []any{str("yesterday"), num("1")}},
		{"option", "", `{"type":["null","object"]}`, []any{nil, obj}, []any{str("Major"), []any{obj}}},
		{"option-with-child", "", `{"type":["null","object"]}`, []any{map[string]any{"value": "A", "child": obj}}, []any{str("A")}},
		{"user", "", `{"type":["null","object"]}`, []any{nil, user}, []any{str("zoe")}},
		{"group", "", `{"type":["null","object"]}`, []any{map[string]any{"name": "jira-users"}}, []any{str("jira-users")}},
		{"version", "", `{"type":["null","object"]}`, []any{map[string]any{"id": "1", "released": false}}, []any{num("1")}},
		{"project", "", `{"type":["null","object"]}`, []any{map[string]any{"key": "ALPHA"}}, []any{str("ALPHA")}},
		{"priority", "", `{"type":["null","object"]}`, []any{map[string]any{"name": "High"}}, []any{str("High")}},
		{"status", "", `{"type":["null","object"]}`, []any{map[string]any{"name": "Done"}}, []any{true}},
		{"issuetype", "", `{"type":["null","object"]}`, []any{map[string]any{"name": "Bug"}}, []any{str("Bug")}},
		{"resolution", "", `{"type":["null","object"]}`, []any{nil}, []any{str("Fixed")}},
		{"timetracking", "", `{"type":["null","object"]}`, []any{map[string]any{}}, []any{num("60")}},
		{"watches", "", `{"type":["null","object"]}`, []any{map[string]any{"watchCount": num("1")}}, []any{num("1")}},
		{"comments-page", "", `{"type":["null","object"]}`, []any{map[string]any{"comments": []any{}}}, []any{[]any{}}},
		{"sd-customerrequesttype", "", `{"type":["null","object"]}`, []any{map[string]any{"requestType": obj}}, []any{str("x")}},
		{"sd-servicelevelagreement", "", `{"type":["null","object"]}`, []any{map[string]any{"ongoingCycle": obj}}, []any{str("x")}},
		{"array", "string", `{"type":["null","array"],"items":{"type":["null","string"]}}`, []any{nil, []any{str("a"), str("b")}, []any{}}, []any{str("a"), []any{num("1")}}},
		{"array", "option", `{"type":["null","array"],"items":{"type":["null","object"]}}`, []any{[]any{obj, obj}}, []any{[]any{str("iOS")}, obj}},
		{"array", "user", `{"type":["null","array"],"items":{"type":["null","object"]}}`, []any{[]any{user}}, []any{[]any{str("zoe")}}},
		{"array", "component", `{"type":["null","array"],"items":{"type":["null","object"]}}`, []any{[]any{obj}}, []any{[]any{str("x")}}},
		{"array", "version", `{"type":["null","array"],"items":{"type":["null","object"]}}`, []any{[]any{obj}}, []any{[]any{num("1")}}},
		{"array", "issuelinks", `{"type":["null","array"],"items":{"type":["null","object"]}}`, []any{[]any{}}, []any{[]any{str("x")}}},
		{"array", "attachment", `{"type":["null","array"],"items":{"type":["null","object"]}}`, []any{[]any{obj}}, []any{str("x")}},
		{"array", "worklog", `{"type":["null","array"],"items":{"type":["null","object"]}}`, []any{[]any{obj}}, []any{obj}},
		{"array", "sd-approvals", `{"type":["null","array"],"items":{"type":["null","object"]}}`, []any{[]any{obj}}, []any{obj}},
		// Types an app may bring, or none: anything goes, so an unknown
		// type never fails a record.
		{"array", "json", `{"type":["null","array"],"items":{}}`, []any{nil, []any{str("x"), obj, num("1")}}, []any{str("x")}},
		{"array", "com.example.app:thing", `{"type":["null","array"],"items":{}}`, []any{[]any{str("x"), obj}}, []any{obj}},
		{"array", "array", `{"type":["null","array"],"items":{}}`, []any{[]any{[]any{str("x")}}}, []any{str("x")}},
		{"array", "", `{"type":["null","array"],"items":{}}`, []any{[]any{num("1")}}, nil},
		{"any", "", `{}`, everything, nil},
		{"json", "", `{}`, everything, nil},
		{"", "", `{}`, everything, nil},
		{"com.pyxis.greenhopper.jira:gh-lexo-rank", "", `{}`, everything, nil},
		{"Number", "", `{}`, everything, nil},
	}
	for _, tc := range cases {
		t.Run(tc.typ+"/"+tc.items, func(t *testing.T) {
			t.Parallel()
			got := ForJiraType(tc.typ, tc.items)
			var want map[string]any
			require.NoError(t, json.Unmarshal([]byte(tc.want), &want))
			gotJSON, err := json.Marshal(got)
			require.NoError(t, err)
			var gotAny map[string]any
			require.NoError(t, json.Unmarshal(gotJSON, &gotAny))
			assert.Equal(t, want, gotAny)

			sch, err := Compile("issues", map[string]any{"type": "object", "properties": map[string]any{"v": got}})
			require.NoError(t, err)
			for _, v := range tc.valid {
				assert.NoError(t, sch.Validate(map[string]any{"v": v}, "1"), "%v must be valid", v)
			}
			for _, v := range tc.invalid {
				err := sch.Validate(map[string]any{"v": v}, "1")
				if assert.Error(t, err, "%v must be invalid", v) {
					assert.Contains(t, err.Error(), "/v")
				}
			}
		})
	}
}

// TestFastWalkDates holds the fast walk's format date to gojsonschema's:
// custom date fields are the first schemas to use it.
func TestFastWalkDates(t *testing.T) {
	t.Parallel()
	sch, err := Compile("issues", map[string]any{"type": "object", "properties": map[string]any{"d": ForJiraType("date", "")}})
	require.NoError(t, err)
	for _, v := range []any{nil, "2026-01-31", "2024-02-29", "2026-02-29", "2026-1-31", "2026-01-31T00:00:00Z", " 2026-01-31", "0000-01-01",
		"9999-12-31", "2026-13-01", "", "２０２６-01-31", json.Number("2026"), true} {
		rec := map[string]any{"d": v}
		fast := sch.fast.valid(rec)
		assert.Equal(t, slowValid(t, sch, rec), fast, "%q", v)
	}
}
