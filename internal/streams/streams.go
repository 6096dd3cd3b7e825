// Package streams declares the tap's streams: the 13 tables of Stitch's JIRA
// integration, with singer-io/tap-jira's names, keys and replication, and
// issue_status_history, derived from changelogs.
package streams

// Stream describes one stream. The schema lives in schemas/<Name>.json.
type Stream struct {
	Name           string
	KeyProperties  []string // never nil
	ReplicationKey string   // "" for FULL_TABLE streams
	Parent         string   // the stream whose records this one is read from, or ""
}

// Replication methods, as Singer metadata spells them.
const (
	FullTable   = "FULL_TABLE"
	Incremental = "INCREMENTAL"
)

// ReplicationMethod is INCREMENTAL for streams with a replication key.
func (s Stream) ReplicationMethod() string {
	if s.ReplicationKey != "" {
		return Incremental
	}
	return FullTable
}

// All returns every stream in sync order: singer-io/tap-jira's order, parents
// before their children.
func All() []Stream {
	return []Stream{
		{Name: "projects", KeyProperties: []string{"id"}},
		{Name: "versions", KeyProperties: []string{"id"}, Parent: "projects"},
		{Name: "components", KeyProperties: []string{"id"}, Parent: "projects"},
		{Name: "project_types", KeyProperties: []string{"key"}},
		{Name: "project_categories", KeyProperties: []string{"id"}},
		{Name: "resolutions", KeyProperties: []string{"id"}},
		{Name: "roles", KeyProperties: []string{"id"}},
		{Name: "users", KeyProperties: []string{"accountId"}},
		{Name: "issues", KeyProperties: []string{"id"}, ReplicationKey: "updated"},
		{Name: "issue_comments", KeyProperties: []string{"id"}, Parent: "issues"},
		{Name: "changelogs", KeyProperties: []string{"id"}, Parent: "issues"},
		{Name: "issue_transitions", KeyProperties: []string{"id", "issueId"}, Parent: "issues"},
		{Name: "issue_status_history", KeyProperties: []string{"issueId", "changelogId"}, Parent: "issues"},
		{Name: "worklogs", KeyProperties: []string{"id"}, ReplicationKey: "updated"},
	}
}

// Names returns the stream names in sync order.
func Names() []string {
	all := All()
	names := make([]string, len(all))
	for i, s := range all {
		names[i] = s.Name
	}
	return names
}

// Lookup finds a stream by name.
func Lookup(name string) (Stream, bool) {
	for _, s := range All() {
		if s.Name == name {
			return s, true
		}
	}
	return Stream{}, false
}
