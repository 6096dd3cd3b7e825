package jira

import (
	"context"
	"encoding/json"
	"fmt"
)

// Field is an issue field as GET /rest/api/2/field describes it.
type Field struct {
	ID     string // summary, customfield_10020, ...
	Name   string // the display name, e.g. "Story Points"
	Custom bool
	Schema FieldSchema // zero when Jira sends none (issuekey, some app fields)
}

// FieldSchema is Jira's description of a field's value ({type, items,
// custom, customId, system}).
type FieldSchema struct {
	Type     string // number, string, date, datetime, option, array, user, any, ...
	Items    string // the element type of an array
	Custom   string // the custom field type's key, e.g. com.atlassian.jira.plugin.system.customfieldtypes:float
	CustomID string // the numeric id of a custom field, as Jira sent it
	System   string // the system field's id
}

// Fields lists every issue field the user can see (Cloud and Data Center).
func (c *Client) Fields(ctx context.Context) ([]Field, error) {
	var raw []Record
	if err := c.Get(ctx, "rest/api/2/field", nil, &raw); err != nil {
		return nil, fmt.Errorf("reading issue fields: %w", err)
	}
	return ParseFields(raw), nil
}

// ParseFields reads /field entries leniently: the answer comes from Jira
// and its apps, so an entry without a string id is skipped and a value of
// an unexpected type is read as absent rather than failing discovery.
func ParseFields(raw []Record) []Field {
	out := make([]Field, 0, len(raw))
	for _, r := range raw {
		id, _ := r["id"].(string)
		if id == "" {
			continue
		}
		f := Field{ID: id}
		f.Name, _ = r["name"].(string)
		f.Custom, _ = r["custom"].(bool)
		if s, ok := r["schema"].(map[string]any); ok {
			f.Schema.Type, _ = s["type"].(string)
			f.Schema.Items, _ = s["items"].(string)
			f.Schema.Custom, _ = s["custom"].(string)
			f.Schema.System, _ = s["system"].(string)
			switch v := s["customId"].(type) {
			case json.Number:
				f.Schema.CustomID = v.String()
			case string:
				f.Schema.CustomID = v
			}
		}
		out = append(out, f)
	}
	return out
}
