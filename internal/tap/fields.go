package tap

import (
	"maps"
	"slices"

	"github.com/tap-jira/tap-jira/internal/singer"
)

// issueFields is the fields= of the run's issue requests: *all but worklog
// (and comment unless issue_comments is selected) unless the catalog
// leaves some issue field out, else the fields the selected properties
// need, plus what the tap itself reads: updated (the bookmark), comment
// when issue_comments is selected, created, creator and status when
// issue_status_history is. Changelog and transitions come through expand,
// not fields.
func issueFields(selected map[string]*Selected) []string {
	need := []string{"updated"}
	if selected["issue_comments"] != nil {
		need = append(need, "comment")
	}
	if selected["issue_status_history"] != nil {
		// The initial status record: who created the issue, when, and its
		// status when it never changed.
		need = append(need, "created", "creator", "status")
	}
	is := selected[issueStream]
	if is == nil {
		// Read only for its children: their parts are all it needs.
		return need
	}
	sel := is.Selection
	fieldsBC := singer.PropertyBreadcrumb("fields")
	narrowed := sel.Narrows(fieldsBC)
	for _, c := range is.custom {
		if c.Column != "" && !sel.KeepsAt(singer.PropertyBreadcrumb(c.Column)) {
			narrowed = true
		}
	}
	if !narrowed {
		// Every field but the lists the issue record leaves out: worklogs
		// (their stream reads them through the change feed) and, unless
		// issue_comments reads them, comments. A page of 100 issues spends
		// more bytes on embedded worklogs than on anything else.
		all := []string{"*all", "-worklog"}
		if selected["issue_comments"] == nil {
			all = append(all, "-comment")
		}
		return all
	}
	set := map[string]bool{}
	for _, f := range need {
		set[f] = true
	}
	if sel.KeepsAt(fieldsBC) {
		props, _ := is.schema.Doc()["properties"].(map[string]any)
		fieldsDoc, _ := props["fields"].(map[string]any)
		nested, _ := fieldsDoc["properties"].(map[string]any)
		for id := range nested {
			if sel.KeepsAt([]string{"properties", "fields", "properties", id}) {
				set[id] = true
			}
		}
	}
	for _, c := range is.custom {
		if c.Column != "" && sel.KeepsAt(singer.PropertyBreadcrumb(c.Column)) {
			set[c.ID] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}
