package schema

import "strings"

// objectTypes are Jira field types whose values are JSON objects. Their
// shape varies with the Jira version and the apps installed, so only
// "object" is promised and every property is allowed.
var objectTypes = map[string]bool{
	"option": true, "option-with-child": true, "option2": true,
	"user": true, "group": true, "version": true, "project": true, "priority": true,
	"issuelink": true, "issuelinks": true, "issuetype": true, "status": true, "resolution": true,
	"component": true, "securitylevel": true, "watches": true, "votes": true, "progress": true,
	"timetracking": true, "comments-page": true, "attachment": true, "worklog": true, "team": true,
}

// ForJiraType returns the JSON Schema (draft 4, null allowed) of a field
// Jira describes as {type, items} in GET /field. Jira's types are open
// ended (apps add their own), so a type this table does not know, "any"
// and "json" map to {}, which accepts every value: a field's type must
// never be why a record fails validation.
//
//   - number → number; string → string
//   - date → string with format date (Jira sends 2026-01-02 and the tap
//     passes it through: a calendar day has no time zone to normalize to)
//   - datetime → string with format date-time (the tap rewrites Jira's
//     2026-01-02T03:04:05.000+0000 as RFC 3339 UTC)
//   - option, user, group, version, project, priority, sd-* ... → object
//   - array → array of items mapped the same way
func ForJiraType(typ, items string) map[string]any {
	switch {
	case typ == "number":
		return nullable("number")
	case typ == "string":
		return nullable("string")
	case typ == "date":
		s := nullable("string")
		s["format"] = "date"
		return s
	case typ == "datetime":
		s := nullable("string")
		s["format"] = "date-time"
		return s
	case typ == "array":
		s := nullable("array")
		if items == "array" {
			// An array of arrays: Jira names only the outer element type.
			s["items"] = map[string]any{}
		} else {
			s["items"] = ForJiraType(items, "")
		}
		return s
	case objectTypes[typ] || strings.HasPrefix(typ, "sd-"):
		return nullable("object")
	default:
		return map[string]any{}
	}
}

func nullable(typ string) map[string]any {
	return map[string]any{"type": []any{"null", typ}}
}
