// Package jirasim is a deterministic simulator of Jira's REST API (Cloud and
// Data Center) for tap-jira's tests, benchmarks and demo. It generates a site
// from a seed and serves it with the traps real Jira sets: truncated embedded
// children, token paging, time-zone-dependent JQL, throttling and faults.
package jirasim

import "time"

// Flavor is the kind of Jira the simulator pretends to be.
type Flavor string

// Flavors.
const (
	Cloud      Flavor = "cloud"
	DataCenter Flavor = "datacenter"
)

// Data is a generated Jira site. Times are instants; handlers render them in
// the authenticated user's time zone, in Jira's format.
type Data struct {
	Categories   []*Category
	ProjectTypes []*ProjectType
	Projects     []*Project // ascending ID
	Resolutions  []*Resolution
	Roles        []*Role
	Users        []*User // the first one is the authenticated user ("myself")
	Fields       []*Field
	Issues       []*Issue // ascending ID
	// DeletedWorklogs are worklogs removed from their issues, for /worklog/deleted.
	DeletedWorklogs []*DeletedWorklog
	// DeletedIssues are issues removed by Server.Delete (none are generated).
	DeletedIssues []*DeletedIssue
}

// Category is a project category.
type Category struct {
	ID          int
	Name        string
	Description string
}

// ProjectType is a project type (software, business, service_desk, ...).
type ProjectType struct {
	Key                string
	FormattedKey       string
	DescriptionI18nKey string
	Icon               string // base64 SVG, as Jira sends it
	Color              string
}

// Project is a Jira project with its versions and components.
type Project struct {
	ID          int
	Key         string
	Name        string
	Description string
	TypeKey     string
	Category    *Category // may be nil
	Lead        *User
	Simplified  bool
	Versions    []*Version   // ascending ID
	Components  []*Component // ascending ID
}

// Version is a project version (release).
type Version struct {
	ID          int
	Name        string
	Description string
	Archived    bool
	Released    bool
	StartDate   string // yyyy-mm-dd, or "" when unset
	ReleaseDate string // yyyy-mm-dd, or "" when unset
	Overdue     bool
}

// Component is a project component.
type Component struct {
	ID           int
	Name         string
	Description  string
	Lead         *User // may be nil
	AssigneeType string
}

// Resolution is an issue resolution.
type Resolution struct {
	ID          int
	Name        string
	Description string
}

// Role is a project role with default actors.
type Role struct {
	ID          int
	Name        string
	Description string
	Actors      []*User
}

// User is a Jira account. On Data Center users are known by Name and Key and
// have no AccountID in responses.
type User struct {
	AccountID   string
	Name        string // DC username
	Key         string // DC user key
	DisplayName string
	Email       string // "" when hidden
	Active      bool
	AccountType string // atlassian, app, customer
	TimeZone    string // IANA name
	Locale      string
}

// FieldType is the schema type of a custom field, as /field reports it.
type FieldType struct {
	Type   string // number, string, option, array, user, date, datetime
	Items  string // for arrays: string, option, user, ...
	Custom string // com.atlassian.jira.plugin.system.customfieldtypes:...
}

// Field is an issue field from /field.
type Field struct {
	ID     string // summary, customfield_10020, ...
	Key    string
	Name   string
	Custom bool
	Schema FieldType
}

// Issue is an issue with everything that hangs off it.
type Issue struct {
	ID          int
	Key         string
	Project     *Project
	Summary     string
	Description string
	IssueType   string // Task, Bug, Story, Epic
	Status      string // To Do, In Progress, Done
	Priority    string
	Resolution  *Resolution // nil while unresolved
	Assignee    *User       // may be nil
	Reporter    *User
	Creator     *User
	Labels      []string
	Components  []*Component
	FixVersions []*Version
	Created     time.Time
	Updated     time.Time
	// Custom holds custom field values keyed by field ID, already in Jira's
	// JSON shape (json.Number, string, map[string]any, []any). Date-time
	// values are time.Time and rendered in the user's time zone.
	Custom      map[string]any
	Comments    []*Comment // ascending Created
	Histories   []*History // ascending Created
	Worklogs    []*Worklog // ascending Started
	Transitions []*Transition
}

// Comment is an issue comment.
type Comment struct {
	ID      int
	Author  *User
	Body    string // wiki markup, as REST v2 returns it
	Created time.Time
	Updated time.Time
}

// History is one changelog entry: who changed what when.
type History struct {
	ID      int
	Author  *User
	Created time.Time
	Items   []HistoryItem
}

// HistoryItem is one field change within a History.
type HistoryItem struct {
	Field      string
	FieldType  string // jira or custom
	FieldID    string
	From       string // "" renders as null
	FromString string
	To         string
	ToString   string
}

// Worklog is time logged on an issue.
type Worklog struct {
	ID               int
	IssueID          int
	Author           *User
	Comment          string
	Started          time.Time
	Created          time.Time
	Updated          time.Time
	TimeSpentSeconds int
}

// DeletedWorklog records a worklog's deletion time for /worklog/deleted.
type DeletedWorklog struct {
	ID      int
	Deleted time.Time
}

// DeletedIssue records an issue's deletion: its id and key, its last
// update before, and when it was deleted.
type DeletedIssue struct {
	ID      int
	Key     string
	Updated time.Time
	Deleted time.Time
}

// Transition is a workflow transition currently available on an issue.
type Transition struct {
	ID       string
	Name     string
	ToStatus string
}
