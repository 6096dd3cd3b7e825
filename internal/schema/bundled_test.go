package schema_test

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tap-jira/tap-jira/internal/schema"
)

// streamSpec is what the rest of the tap relies on for one stream.
type streamSpec struct {
	keys           []string
	replicationKey string // "" for FULL_TABLE
}

var streams = map[string]streamSpec{
	"projects":           {keys: []string{"id"}},
	"project_categories": {keys: []string{"id"}},
	"project_types":      {keys: []string{"key"}},
	"resolutions":        {keys: []string{"id"}},
	"roles":              {keys: []string{"id"}},
	"users":              {keys: []string{"accountId"}},
	"versions":           {keys: []string{"id"}},
	"components":         {keys: []string{"id"}},
	"issues":             {keys: []string{"id"}, replicationKey: "updated"},
	"issue_comments":     {keys: []string{"id"}},
	"issue_transitions":  {keys: []string{"id", "issueId"}},
	"changelogs":         {keys: []string{"id"}},
	"worklogs":           {keys: []string{"id"}, replicationKey: "updated"},
	// Not a Stitch table: derived from changelogs by tap-jira.
	"issue_status_history": {keys: []string{"issueId", "changelogId"}},
}

// keyTypes are the JSON types of the key properties (roles.id is a number in Jira).
var keyTypes = map[string]map[string]string{
	"roles": {"id": "integer"},
}

// stitchColumns is copied from /work/shared/reference/stitch-tables.md: the
// top-level columns of every Stitch table and their JSON type ("date-time" and
// "uri" are strings with that format). Removing or retyping a column must fail.
var stitchColumns = map[string]map[string]string{
	"changelogs": {
		"id": "string", "issueId": "string", "author": "object", "created": "date-time",
		"items": "array", "historyMetadata": "object",
	},
	"components": {
		"componentBean": "object", "issueCount": "integer", "realAssigneeType": "string",
		"isAssigneeTypeValid": "boolean", "description": "string", "self": "string",
		"projectId": "integer", "project": "string", "assigneeType": "string", "lead": "object",
		"name": "string", "id": "string", "realAssignee": "object", "assignee": "object",
	},
	"issue_comments": {
		"self": "string", "id": "string", "issueId": "string", "author": "object", "body": "string",
		"renderedBody": "string", "updateAuthor": "object", "created": "date-time",
		"updated": "date-time", "visibility": "object", "properties": "array", "jsdPublic": "boolean",
	},
	// issue_status_history is tap-jira's own table (README, Streams).
	"issue_status_history": {
		"issueId": "string", "changelogId": "string", "issueKey": "string", "initial": "boolean",
		"from": "string", "fromString": "string", "to": "string", "toString": "string",
		"authorAccountId": "string", "author": "object", "created": "date-time",
	},
	"issue_transitions": {
		"id": "string", "issueId": "string", "name": "string", "to": "object", "hasScreen": "boolean",
		"isGlobal": "boolean", "isConditional": "boolean", "isInitial": "boolean", "fields": "object",
		"expand": "string",
	},
	"issues": {
		"expand": "string", "id": "string", "self": "uri", "key": "string", "renderedFields": "object",
		"properties": "object", "names": "object", "schema": "object", "editmeta": "object",
		"versionedRepresentations": "object", "fieldsToInclude": "object", "fields": "object",
	},
	"project_categories": {
		"self": "uri", "id": "string", "name": "string", "description": "string",
	},
	"project_types": {
		"key": "string", "formattedKey": "string", "descriptionI18nKey": "string", "icon": "string",
		"color": "string",
	},
	"projects": {
		"simplified": "boolean", "expand": "string", "self": "uri", "id": "string", "key": "string",
		"description": "string", "lead": "object", "components": "array", "issueTypes": "array",
		"url": "string", "email": "string", "assigneeType": "string", "name": "string",
		"roles": "object", "avatarUrls": "object", "projectKeys": "array",
		"projectCategory": "object", "projectTypeKey": "string",
	},
	"resolutions": {
		"self": "uri", "description": "string", "iconUrl": "string", "name": "string", "id": "string",
	},
	"roles": {
		"self": "uri", "name": "string", "id": "integer", "description": "string", "actors": "array",
	},
	"users": {
		"self": "uri", "key": "string", "accountId": "string", "name": "string",
		"emailAddress": "string", "avatarUrls": "object", "displayName": "string",
		"active": "boolean", "timeZone": "string", "accountType": "string", "expand": "string",
	},
	"versions": {
		"expand": "string", "self": "uri", "id": "string", "description": "string", "name": "string",
		"archived": "boolean", "released": "boolean", "releaseDate": "date-time", "overdue": "boolean",
		"userStartDate": "date-time", "startDate": "date-time", "userReleaseDate": "date-time",
		"project": "string", "projectId": "integer", "moveUnfixedIssuesTo": "uri",
		"operations": "array", "remotelinks": "array",
	},
	"worklogs": {
		"self": "uri", "author": "object", "updateAuthor": "object", "comment": "string",
		"created": "date-time", "updated": "date-time", "visibility": "object", "started": "date-time",
		"timeSpent": "string", "timeSpentSeconds": "integer", "id": "string", "issueId": "string",
		"properties": "array",
	},
}

// stitchNested lists nested keys stitch-tables.md names, as "/"-separated
// paths of property names below a top-level column ("[]" steps into items).
var stitchNested = map[string][]string{
	"changelogs": {
		"author/self", "author/name", "author/key", "author/accountId", "author/emailAddress",
		"author/avatarUrls", "author/displayName", "author/active", "author/timeZone",
		"items/[]/field", "items/[]/fieldtype", "items/[]/fieldId", "items/[]/from",
		"items/[]/fromString", "items/[]/to", "items/[]/toString",
		"historyMetadata/type", "historyMetadata/description", "historyMetadata/descriptionKey",
		"historyMetadata/activityDescription", "historyMetadata/activityDescriptionKey",
		"historyMetadata/emailDescription", "historyMetadata/emailDescriptionKey",
		"historyMetadata/actor", "historyMetadata/generator", "historyMetadata/cause",
		"historyMetadata/extraData",
	},
	"components": {
		"componentBean/self", "componentBean/id", "componentBean/name", "componentBean/description",
		"componentBean/lead", "componentBean/assigneeType", "componentBean/realAssigneeType",
		"componentBean/isAssigneeTypeValid", "componentBean/project", "componentBean/projectId",
		"componentBean/assignee", "componentBean/realAssignee",
		"lead/self", "lead/accountId", "lead/avatarUrls", "lead/displayName", "lead/active",
		"realAssignee/accountId", "assignee/accountId",
	},
	"issue_comments": {
		"author/self", "author/accountId", "author/displayName", "author/emailAddress",
		"author/active", "author/timeZone", "author/avatarUrls", "updateAuthor/accountId",
		"visibility/type", "visibility/value", "properties/[]/key", "properties/[]/value",
	},
	"issue_transitions": {
		"to/self", "to/statusColor", "to/description", "to/iconUrl", "to/name", "to/id",
		"to/statusCategory",
	},
	"issues": {
		"properties/properties", "editmeta/fields",
		"fields/updated", "fields/created", "fields/lastViewed", "fields/attachment",
	},
	"projects": {
		"components/[]/self", "components/[]/id", "components/[]/name", "components/[]/description",
		"components/[]/lead", "components/[]/leadUserName", "components/[]/assigneeType",
		"components/[]/assignee", "components/[]/realAssigneeType", "components/[]/realAssignee",
		"components/[]/isAssigneeTypeValid", "components/[]/project", "components/[]/projectId",
		"issueTypes/[]/self", "issueTypes/[]/id", "issueTypes/[]/description",
		"issueTypes/[]/iconUrl", "issueTypes/[]/name", "issueTypes/[]/subtask",
		"issueTypes/[]/avatarId",
		"projectCategory/self", "projectCategory/id", "projectCategory/name",
		"projectCategory/description",
	},
	"roles": {
		"actors/[]/id", "actors/[]/displayName", "actors/[]/type", "actors/[]/name",
		"actors/[]/avatarUrl",
	},
	"versions": {
		"operations/[]/id", "operations/[]/styleClass", "operations/[]/iconClass",
		"operations/[]/label", "operations/[]/title", "operations/[]/href", "operations/[]/weight",
		"remotelinks/[]/self", "remotelinks/[]/name", "remotelinks/[]/link",
	},
	"worklogs": {
		"author/accountId", "author/displayName", "author/emailAddress", "updateAuthor/accountId",
		"visibility/type", "visibility/value", "properties/[]/key", "properties/[]/value",
	},
}

func bundled(t testing.TB) map[string]*schema.Schema {
	t.Helper()
	all, err := schema.Bundled()
	require.NoError(t, err)
	return all
}

func TestBundledStreams(t *testing.T) {
	t.Parallel()
	all := bundled(t)
	assert.ElementsMatch(t, slices.Collect(maps.Keys(streams)), slices.Collect(maps.Keys(all)),
		"schemas/*.json must hold exactly one schema per stream")
	for name, s := range all {
		assert.Equal(t, name, s.Name())
	}
	assert.ElementsMatch(t, slices.Collect(maps.Keys(streams)), slices.Collect(maps.Keys(stitchColumns)),
		"the Stitch table list must cover every stream")
}

// The embedded schemas are compiled at run time without Compile's checks
// (the metaschema's was two thirds of the CPU of compiling them), so they
// are made here: a schema that fails them fails this test.
func TestBundledSchemasPassTheMetaschema(t *testing.T) {
	t.Parallel()
	for name, s := range bundled(t) {
		_, err := schema.Compile(name, s.Doc())
		assert.NoError(t, err, "schemas/%s.json", name)
	}
}

func TestBundledReturnsFreshMapOfSharedSchemas(t *testing.T) {
	t.Parallel()
	a, b := bundled(t), bundled(t)
	delete(a, "issues")
	_, ok := b["issues"]
	require.True(t, ok, "deleting from one returned map must not affect another")
	assert.Same(t, b["users"], a["users"], "schemas are compiled once per process")
}

// typeSet returns the JSON types a property schema allows and whether it declares any.
func typeSet(t *testing.T, prop any) ([]string, bool) {
	t.Helper()
	m, ok := prop.(map[string]any)
	require.True(t, ok, "property schema must be an object, got %T", prop)
	switch ty := m["type"].(type) {
	case nil:
		return nil, false
	case string:
		return []string{ty}, true
	case []any:
		out := make([]string, 0, len(ty))
		for _, e := range ty {
			s, ok := e.(string)
			require.True(t, ok, "type entries must be strings")
			out = append(out, s)
		}
		return out, true
	default:
		require.Failf(t, "bad type", "type must be a string or an array, got %T", ty)
		return nil, false
	}
}

func TestBundledSchemaRules(t *testing.T) {
	t.Parallel()
	all := bundled(t)
	for name, spec := range streams {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, ok := all[name]
			require.True(t, ok, "no schema for %s", name)
			doc := s.Doc()

			assert.Equal(t, "object", doc["type"], "top level must be a plain object type")
			assert.NotContains(t, doc, "additionalProperties", "top level must not restrict properties")
			props, ok := doc["properties"].(map[string]any)
			require.True(t, ok, "top level needs properties")

			nonNull := map[string]bool{}
			for _, k := range spec.keys {
				nonNull[k] = true
			}
			if spec.replicationKey != "" {
				nonNull[spec.replicationKey] = true
			}
			for k := range nonNull {
				require.True(t, has(props, k), "key/replication property %q must be declared", k)
				types, typed := typeSet(t, props[k])
				require.True(t, typed, "%s must be typed", k)
				assert.NotContains(t, types, "null", "%s must not be nullable", k)
				want := "string"
				if kt, ok := keyTypes[name][k]; ok {
					want = kt
				}
				assert.Equal(t, []string{want}, types, "type of %s", k)
			}
			if spec.replicationKey != "" {
				rk := props[spec.replicationKey].(map[string]any)
				assert.Equal(t, "date-time", rk["format"], "replication key %s must be a date-time", spec.replicationKey)
			}

			for col, want := range stitchColumns[name] {
				require.True(t, has(props, col), "Stitch column %s.%s is missing", name, col)
				types, typed := typeSet(t, props[col])
				require.True(t, typed, "Stitch column %s.%s must be typed", name, col)
				base, format := want, ""
				if want == "date-time" || want == "uri" {
					base, format = "string", want
				}
				assert.Contains(t, types, base, "Stitch column %s.%s type", name, col)
				if format != "" {
					assert.Equal(t, format, props[col].(map[string]any)["format"], "Stitch column %s.%s format", name, col)
				}
			}

			for _, p := range stitchNested[name] {
				assert.True(t, declares(doc, p), "nested Stitch key %s/%s must be declared", name, p)
			}

			// Every other property, at any depth, is nullable; arrays have items.
			walkSchema(t, doc, "", func(ptr string, node map[string]any) {
				for _, bad := range []string{"$ref", "definitions", "$schema", "const", "id", "$id"} {
					assert.NotContains(t, node, bad, "%s uses %q (not self-contained draft 4)", ptr, bad)
				}
				assert.NotContains(t, node, "additionalProperties", "%s must stay open", ptr)
				if _, numeric := node["exclusiveMinimum"].(bool); node["exclusiveMinimum"] != nil && !numeric {
					assert.Fail(t, "numeric exclusiveMinimum is not draft 4", ptr)
				}
				if ptr == "" {
					return
				}
				types, typed := typeSet(t, node)
				if slices.Contains(types, "array") {
					assert.Contains(t, node, "items", "%s is an array without items", ptr)
				}
				top := strings.TrimPrefix(ptr, "/properties/")
				if !typed || nonNull[top] {
					return
				}
				assert.Contains(t, types, "null", "%s must be nullable", ptr)
			})
		})
	}
}

func TestIssuesSchemaShape(t *testing.T) {
	t.Parallel()
	doc := bundled(t)["issues"].Doc()
	props := doc["properties"].(map[string]any)
	for _, moved := range []string{"changelog", "transitions"} {
		assert.False(t, has(props, moved), "%s goes to a child stream", moved)
	}
	fields := props["fields"].(map[string]any)
	fp := fields["properties"].(map[string]any)
	for _, moved := range []string{"comment", "worklog"} {
		assert.False(t, has(fp, moved), "fields.%s goes to a child stream", moved)
	}
	want := map[string]string{
		"summary": "string", "description": "string", "environment": "string",
		"issuetype": "object", "project": "object", "status": "object", "priority": "object",
		"resolution": "object", "resolutiondate": "date-time", "assignee": "object",
		"reporter": "object", "creator": "object", "labels": "array", "components": "array",
		"fixVersions": "array", "versions": "array", "created": "date-time", "updated": "date-time",
		"lastViewed": "date-time", "duedate": "string", "timespent": "integer",
		"timeoriginalestimate": "integer", "timeestimate": "integer", "aggregatetimespent": "integer",
		"parent": "object", "subtasks": "array", "issuelinks": "array", "attachment": "array",
		"votes": "object", "watches": "object", "statuscategorychangedate": "date-time",
		"security": "object", "progress": "object", "aggregateprogress": "object",
	}
	for f, ty := range want {
		require.True(t, has(fp, f), "fields.%s must be declared", f)
		p := fp[f].(map[string]any)
		types, _ := typeSet(t, p)
		if ty == "date-time" {
			assert.Contains(t, types, "string", "fields.%s", f)
			assert.Equal(t, "date-time", p["format"], "fields.%s", f)
			continue
		}
		assert.Contains(t, types, ty, "fields.%s", f)
		assert.NotContains(t, p, "format", "fields.%s must not assert a format", f)
	}
	labels := fp["labels"].(map[string]any)["items"]
	items, _ := typeSet(t, labels)
	assert.Contains(t, items, "string", "labels are strings")
}

// has reports whether m has key k (short failure messages, unlike assert.Contains on a schema).
func has(m map[string]any, k string) bool {
	_, ok := m[k]
	return ok
}

// declares reports whether doc declares the property path p ("a/[]/b").
func declares(doc map[string]any, p string) bool {
	node := doc
	for _, seg := range strings.Split(p, "/") {
		if seg == "[]" {
			items, ok := node["items"].(map[string]any)
			if !ok {
				return false
			}
			node = items
			continue
		}
		props, ok := node["properties"].(map[string]any)
		if !ok {
			return false
		}
		next, ok := props[seg].(map[string]any)
		if !ok {
			return false
		}
		node = next
	}
	return true
}

// walkSchema calls fn for every subschema reachable through properties and items.
func walkSchema(t *testing.T, node map[string]any, ptr string, fn func(string, map[string]any)) {
	t.Helper()
	fn(ptr, node)
	if props, ok := node["properties"].(map[string]any); ok {
		for k, v := range props {
			m, ok := v.(map[string]any)
			if !assert.True(t, ok, "%s/properties/%s must be a schema object", ptr, k) {
				continue
			}
			walkSchema(t, m, ptr+"/properties/"+k, fn)
		}
	}
	if items, ok := node["items"]; ok {
		m, ok := items.(map[string]any)
		if assert.True(t, ok, "%s/items must be one schema object", ptr) {
			walkSchema(t, m, ptr+"/items", fn)
		}
	}
}
