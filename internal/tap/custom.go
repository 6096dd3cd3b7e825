package tap

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode"

	"github.com/tap-jira/tap-jira/internal/jira"
	"github.com/tap-jira/tap-jira/internal/schema"
	"github.com/tap-jira/tap-jira/internal/singer"
)

// Metadata keys tap-jira adds to each custom field's entry in the issues
// catalog. The field id is what sync reads back: the catalog, not a fresh
// look at Jira, says which column holds which field.
const (
	MetaFieldID    = "tap-jira.field-id"    // customfield_10020
	MetaName       = "tap-jira.name"        // the display name, "Story Points"
	MetaJiraSchema = "tap-jira.jira-schema" // /field's schema: {type, items, custom, customId}
)

// issueStream is the stream custom fields belong to.
const issueStream = "issues"

// customColumn is a custom field's place in the issues schema: under
// fields (Column "") or a top-level column of the flattened layout.
type customColumn struct {
	ID     string
	Column string
}

// addCustomFields types each custom field of /field into the issues schema
// doc, nested under fields or, flattened, as a top-level column, and returns
// the metadata entries that name them.
func addCustomFields(doc map[string]any, fields []jira.Field, flatten bool) ([]singer.MetadataEntry, error) {
	props, _ := doc["properties"].(map[string]any)
	fieldsDoc, _ := props["fields"].(map[string]any)
	nested, _ := fieldsDoc["properties"].(map[string]any)
	if props == nil || nested == nil {
		return nil, fmt.Errorf("stream %s: the schema has no fields object", issueStream)
	}
	custom := make([]jira.Field, 0, len(fields))
	for _, f := range fields {
		if (f.Custom || strings.HasPrefix(f.ID, "customfield_")) && nested[f.ID] == nil {
			custom = append(custom, f)
		}
	}
	// Sorted, so that names and their tie-breaks do not depend on the order
	// Jira lists fields in.
	slices.SortStableFunc(custom, func(a, b jira.Field) int { return cmp.Compare(a.ID, b.ID) })
	custom = slices.CompactFunc(custom, func(a, b jira.Field) bool { return a.ID == b.ID })
	var entries []singer.MetadataEntry
	for _, f := range custom {
		sub := schema.ForJiraType(f.Schema.Type, f.Schema.Items)
		if f.Name != "" {
			sub["description"] = f.Name
		}
		bc := []string{"properties", "fields", "properties", f.ID}
		if flatten {
			col := columnName(f, props)
			props[col] = sub
			bc = singer.PropertyBreadcrumb(col)
		} else {
			nested[f.ID] = sub
		}
		entries = append(entries, singer.MetadataEntry{Breadcrumb: bc, Metadata: singer.Metadata{
			Inclusion: singer.InclusionAvailable, SelectedByDefault: new(true),
			Extra: map[string]any{MetaFieldID: f.ID, MetaName: f.Name, MetaJiraSchema: jiraSchema(f.Schema)},
		}})
	}
	return entries, nil
}

// jiraSchema is /field's schema of a field, as the metadata records it.
func jiraSchema(s jira.FieldSchema) map[string]any {
	out := map[string]any{}
	for k, v := range map[string]string{"type": s.Type, "items": s.Items, "custom": s.Custom, "system": s.System} {
		if v != "" {
			out[k] = v
		}
	}
	if s.CustomID != "" {
		// A number, as Jira sends it, unless Jira sent something else.
		out["customId"] = s.CustomID
		if strings.Trim(s.CustomID, "0123456789") == "" {
			out["customId"] = json.Number(s.CustomID)
		}
	}
	return out
}

// columnName names a custom field's column in the flattened layout: the
// display name in snake_case ASCII, then the field's number, so a rename
// or two fields of one name never collide. An id that is not
// customfield_<n> is kept whole; a name that leaves nothing is replaced by
// "customfield".
func columnName(f jira.Field, taken map[string]any) string {
	num, ok := strings.CutPrefix(f.ID, "customfield_")
	if !ok || num == "" || strings.Trim(num, "0123456789") != "" {
		num = snake(f.ID)
	}
	base := snake(f.Name)
	if base == "" {
		base = "customfield"
	}
	col := base + "_" + num
	for i := 2; taken[col] != nil; i++ {
		col = fmt.Sprintf("%s_%s_%d", base, num, i)
	}
	return col
}

// latin1 folds the accented letters U+00E0..U+00FF to ASCII ("" drops one).
var latin1 = [32]string{
	"a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",
	"d", "n", "o", "o", "o", "o", "o", "", "o", "u", "u", "u", "u", "y", "th", "y",
}

// snake lower-cases s, folds Latin-1 accents, keeps ASCII letters and
// digits and joins the runs between them with one underscore.
func snake(s string) string {
	var b strings.Builder
	gap := false
	put := func(w string) {
		if w == "" {
			gap = true
			return
		}
		if gap && b.Len() > 0 {
			b.WriteByte('_')
		}
		gap = false
		b.WriteString(w)
	}
	for _, r := range strings.ToLower(s) {
		r = unicode.ToLower(r)
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			put(string(r))
		case r == 'ß':
			put("ss")
		case r == 'œ':
			put("oe")
		case r >= 0xE0 && r <= 0xFF:
			put(latin1[r-0xE0])
		default:
			gap = true
		}
	}
	return b.String()
}

// catalogCustomFields reads the custom fields an issues catalog entry
// declares (the entries discovery marked with MetaFieldID) and adds their
// schemas, as the catalog states them, to doc, the bundled issues schema.
// It returns where each field goes.
func catalogCustomFields(cs *singer.CatalogStream, doc map[string]any) ([]customColumn, error) {
	props, _ := doc["properties"].(map[string]any)
	fieldsDoc, _ := props["fields"].(map[string]any)
	nested, _ := fieldsDoc["properties"].(map[string]any)
	if props == nil || nested == nil {
		return nil, fmt.Errorf("stream %s: the schema has no fields object", issueStream)
	}
	var out []customColumn
	seen := map[string]bool{}
	for _, e := range cs.Metadata {
		id, _ := e.Metadata.Extra[MetaFieldID].(string)
		if id == "" {
			continue
		}
		if seen[id] {
			return nil, &UsageError{Msg: fmt.Sprintf("catalog: issues: custom field %s is mapped twice", id)}
		}
		seen[id] = true
		bc := e.Breadcrumb
		switch {
		case len(bc) == 4 && bc[0] == "properties" && bc[1] == "fields" && bc[2] == "properties" && bc[3] == id:
			if nested[id] == nil {
				nested[id] = subschema(cs.Schema, bc)
			}
			out = append(out, customColumn{ID: id})
		case len(bc) == 2 && bc[0] == "properties":
			if props[bc[1]] != nil {
				return nil, &UsageError{Msg: fmt.Sprintf("catalog: issues: column %q of custom field %s is a column tap-jira already has", bc[1], id)}
			}
			props[bc[1]] = subschema(cs.Schema, bc)
			out = append(out, customColumn{ID: id, Column: bc[1]})
		default:
			return nil, &UsageError{Msg: fmt.Sprintf("catalog: issues: custom field %s at breadcrumb %v: want [properties, <column>] or [properties, fields, properties, %s]", id, bc, id)}
		}
	}
	slices.SortFunc(out, func(a, b customColumn) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// subschema finds the schema at a breadcrumb of a catalog's schema; a
// catalog that lost it gets {}, which accepts any value.
func subschema(doc map[string]any, bc []string) map[string]any {
	cur := doc
	for _, k := range bc {
		next, ok := cur[k].(map[string]any)
		if !ok {
			return map[string]any{}
		}
		cur = next
	}
	return maps.Clone(cur)
}

// flattenCustom moves each flattened custom field's value out of fields
// into its column, so the value is in the record once.
func flattenCustom(record map[string]any, cols []customColumn) {
	fields, _ := record["fields"].(map[string]any)
	if fields == nil {
		return
	}
	for _, c := range cols {
		if c.Column == "" {
			continue
		}
		if v, ok := fields[c.ID]; ok {
			record[c.Column] = v
			delete(fields, c.ID)
		}
	}
}
