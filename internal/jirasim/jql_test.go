package jirasim

import (
	"fmt"
	"slices"
	"testing"
	"time"
	_ "time/tzdata" // the DST cases must not depend on the host's zoneinfo

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func jqlLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	require.NoError(t, err)
	return loc
}

func jqlTime(t testing.TB, s string) time.Time {
	t.Helper()
	ts, err := time.Parse(time.RFC3339Nano, s)
	require.NoError(t, err)
	return ts
}

func mustParseJQL(t testing.TB, q string, loc *time.Location) *Query {
	t.Helper()
	parsed, err := ParseJQL(q, loc)
	require.NoError(t, err, "query %q", q)
	return parsed
}

// updatedAt is an issue that only has an update time, for date-bound tests.
func updatedAt(t testing.TB, s string) *Issue {
	return &Issue{ID: 1, Key: "ABC-1", Project: &Project{ID: 10000, Key: "ABC"}, Updated: jqlTime(t, s), Created: jqlTime(t, s)}
}

func TestParseJQLAccepts(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, q, orderKey string
		bounded           bool
	}{
		{"empty", "", "created DESC,id ASC", false},
		{"blank", " \t\n ", "created DESC,id ASC", false},
		{"datetime dashes", `updated >= "2026-03-08 01:59"`, "created DESC,id ASC", true},
		{"datetime slashes single quotes no spaces", `UPDATED>='2026/03/08 01:59'`, "created DESC,id ASC", true},
		{"date only dashes", `created < "2026-03-08"`, "created DESC,id ASC", true},
		{"date only slashes", `Created <= '2026/03/08'`, "created DESC,id ASC", true},
		{"single digit fields", `updated > "2026-3-8 1:05"`, "created DESC,id ASC", true},
		{"equals", `updated = "2026-03-08 01:59"`, "created DESC,id ASC", true},
		{"unquoted date only", `updated >= 2026-03-08`, "created DESC,id ASC", true},
		{"epoch ms", `updated > 1772963999000`, "created DESC,id ASC", true},
		{"alias updatedDate", `updatedDate >= "2026-01-01" AND createdDate < 0`, "created DESC,id ASC", true},
		{"project bare", `project = ABC`, "created DESC,id ASC", true},
		{"project quoted", `project = "ABC"`, "created DESC,id ASC", true},
		{"project id", `project = 10001`, "created DESC,id ASC", true},
		{"project in", `project in (ABC, 10001, "XYZ")`, "created DESC,id ASC", true},
		{"project not equals", `project != ABC`, "created DESC,id ASC", true},
		{"id", `id = 10001`, "created DESC,id ASC", true},
		{"issuekey", `issuekey = ABC-12`, "created DESC,id ASC", true},
		{"key range", `key > ABC-12 and key <= 'ABC-99'`, "created DESC,id ASC", true},
		{"key in mixed", `key in (ABC-1, 10002)`, "created DESC,id ASC", true},
		{"issue alias", `issue < 10002`, "created DESC,id ASC", true},
		{"parens", `(updated >= "2026-01-01" AND project = ABC) AND ((key >= ABC-1))`, "created DESC,id ASC", true},
		{"ampersands", `updated > 0 & project = ABC && id > 1`, "created DESC,id ASC", true},
		{"order only", `ORDER BY updated ASC`, "updated ASC,id ASC", false},
		{"tap query", `updated >= '2026-03-08 01:59' order by updated asc, id asc`, "updated ASC,id ASC", true},
		{"key desc", `project = ABC ORDER BY key DESC`, "key DESC,id ASC", true},
		{"issuekey sorts as key", `ORDER BY issuekey, created ASC`, "key ASC,created ASC,id ASC", false},
		{"dates default newest first", `ORDER BY updated`, "updated DESC,id ASC", false},
		{"id default ascending", `ORDER BY id`, "id ASC", false},
		{"terms after id dropped", `ORDER BY id DESC, updated`, "id DESC", false},
		{"alias in order", `ORDER BY updatedDate asc`, "updated ASC,id ASC", false},
		{"quoted order field", `ORDER BY "updated" ASC`, "updated ASC,id ASC", false},
		{"whitespace", "updated\n>=\t'2026-01-01'\nORDER\tBY\nupdated\tASC", "updated ASC,id ASC", true},
		{"escapes", `project = "A\"B\u0043"`, "created DESC,id ASC", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			q := mustParseJQL(t, tc.q, time.UTC)
			assert.Equal(t, tc.orderKey, q.OrderKey())
			assert.Equal(t, tc.bounded, q.Bounded())
		})
	}
}

func TestParseJQLRefuses(t *testing.T) {
	t.Parallel()
	cases := []struct{ q, want string }{
		{`updated >= "2026-01-01" OR project = ABC`, "'OR' is not supported by jira-sim"},
		{`updated >= 1 || project = ABC`, "'OR' is not supported by jira-sim"},
		{`(updated >= 1 or id > 2)`, "'OR' is not supported by jira-sim"},
		{`NOT project = ABC`, "'NOT' is not supported by jira-sim"},
		{`status = Done`, "Field 'status' is not supported by jira-sim"},
		{`foo = 1`, "Field 'foo' does not exist or you do not have permission to view it."},
		{`updated >= now()`, "The JQL function 'now()' is not supported by jira-sim"},
		{`updated >= startOfDay("-1")`, "The JQL function 'startOfDay()' is not supported"},
		{`updated >= "2026-01-02T03:04:05Z"`, "Date value '2026-01-02T03:04:05Z' for field 'updated' is invalid."},
		{`updated >= "2026-01-02 03:04:05"`, "Date value '2026-01-02 03:04:05' for field 'updated' is invalid."},
		{`updated >= "2026-01-02T03:04"`, "Date value '2026-01-02T03:04' for field 'updated' is invalid. Valid formats include: 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format e.g. '-5d', '4w 2d'."},
		{`created > "2026-02-30"`, "Date value '2026-02-30' for field 'created' is invalid."},
		{`created > "2026-01-01 24:00"`, "Date value '2026-01-01 24:00' for field 'created' is invalid."},
		{`created > "2026/01-02"`, "Date value '2026/01-02' for field 'created' is invalid."},
		{`created > "26-01-02"`, "Date value '26-01-02' for field 'created' is invalid."},
		{`updated >= "1772963999000"`, "Date value '1772963999000' for field 'updated' is invalid."},
		{`updated >= 99999999999999999999`, "Date value '99999999999999999999' for field 'updated' is invalid."},
		{`updated >= -5d`, "Date value '-5d' for field 'updated' is a relative period, which jira-sim does not support"},
		{`updated >= "4w 2d"`, "is a relative period"},
		{`updated >= 2026/01/02`, "Error in the JQL Query: The character '/' is a reserved JQL character. You must enclose it in a string or use the escape '\\u002f' instead. (line 1, character 16)"},
		{`updated >= "2026-01-01`, "Error in the JQL Query: The quoted string '2026-01-01' has not been completed. (line 1, character 12)"},
		{`updated >= "2026-01-01" ORDER BY`, "Error in the JQL Query: Expecting a field name before the end of the query."},
		{`updated >= "2026-01-01" ORDER BY updated,`, "Expecting a field name before the end of the query."},
		{`updated >= "2026-01-01" foo`, "Error in the JQL Query: Expecting either 'OR' or 'AND' but got 'foo'. (line 1, character 25)"},
		{`updated foo`, "Error in the JQL Query: Expecting operator but got 'foo'. The valid operators are"},
		{`updated foo`, "(line 1, character 9)"},
		{"updated >= 1\n  foo", "Expecting either 'OR' or 'AND' but got 'foo'. (line 2, character 3)"},
		{`updated`, "Expecting operator before the end of the query."},
		{`updated >=`, "Expecting either a value, list or function before the end of the query."},
		{`updated >= 1 AND`, "Expecting a field name before the end of the query."},
		{`updated >= 1)`, "Expecting either 'OR' or 'AND' but got ')'."},
		{`(updated >= 1`, "Expecting either 'OR', 'AND' or ')' before the end of the query."},
		{`updated != "2026-01-01"`, "The operator '!=' is not supported by jira-sim for the field 'updated'"},
		{`updated in ("2026-01-01")`, "The operator 'in' is not supported by jira-sim for the field 'updated'"},
		{`updated ~ "2026-01-01"`, "The operator '~' is not supported by the 'updated' field."},
		{`project > ABC`, "The operator '>' is not supported by the 'project' field."},
		{`project not in (ABC)`, "The operator 'not in' is not supported by jira-sim for the field 'project'"},
		{`project is EMPTY`, "The operator 'is' is not supported by jira-sim"},
		{`project in ()`, "Expecting either a value, list or function but got ')'."},
		{`project in (ABC,)`, "Expecting either a value, list or function but got ')'."},
		{`project in ABC`, "Expecting '(' but got 'ABC'."},
		{`project = and`, "You must surround 'and' in quotation marks to use it as a value."},
		{`project = EMPTY`, "'EMPTY' is not supported by jira-sim"},
		{`key = foo`, "The issue key 'foo' for field 'key' is invalid."},
		{`id = ABC-`, "The issue key 'ABC-' for field 'id' is invalid."},
		{`id = 99999999999999999999`, "The issue key '99999999999999999999' for field 'id' is invalid."},
		{`key != ABC-1`, "The operator '!=' is not supported by jira-sim for the field 'key'"},
		{`ORDER updated`, "Expecting 'by' but got 'updated'."},
		{`ORDER BY updated, updatedDate`, "The sort field 'updatedDate' is referenced multiple times in the JQL sort."},
		{`ORDER BY priority`, "Sorting by 'priority' is not supported by jira-sim"},
		{`ORDER BY bogus`, "Field 'bogus' does not exist or you do not have permission to view it."},
		{`ORDER BY updated sideways`, "Expecting either ',' or the end of the query but got 'sideways'."},
		{`project = "A\qB"`, "The escape sequence '\\q' in the string 'A' is invalid."},
	}
	for _, tc := range cases {
		t.Run(tc.q, func(t *testing.T) {
			t.Parallel()
			q, err := ParseJQL(tc.q, time.UTC)
			require.Error(t, err)
			assert.Nil(t, q)
			var je *JQLError
			require.ErrorAs(t, err, &je)
			assert.Contains(t, je.Message, tc.want)
			assert.Equal(t, je.Message, je.Error())
		})
	}
}

// TestJQLDSTBookmark is the worked example: a user in Los Angeles, a tap
// bookmark one second before the spring-forward change.
func TestJQLDSTBookmark(t *testing.T) {
	t.Parallel()
	la := jqlLoc(t, "America/Los_Angeles")
	bookmark := jqlTime(t, "2026-03-08T09:59:59Z")

	// What a correct tap writes: the bookmark in the user's zone, floored.
	local := bookmark.In(la)
	local = time.Date(local.Year(), local.Month(), local.Day(), local.Hour(), local.Minute(), 0, 0, la)
	literal := local.Format("2006-01-02 15:04")
	require.Equal(t, "2026-03-08 01:59", literal)
	right := mustParseJQL(t, `updated >= "`+literal+`" ORDER BY updated ASC`, la)

	// What a buggy tap writes: the same bookmark formatted in UTC.
	wrong := mustParseJQL(t, `updated >= "`+bookmark.UTC().Format("2006-01-02 15:04")+`"`, la)

	cases := []struct {
		updated      string
		right, wrong bool
	}{
		{"2026-03-08T09:58:59.999Z", false, false},
		{"2026-03-08T09:59:00.000Z", true, false},
		{"2026-03-08T09:59:59Z", true, false},
		{"2026-03-08T10:00:00Z", true, false}, // 03:00 PDT
		// 09:59 read in LA is 09:59 PDT = 16:59Z: everything in between is
		// silently skipped by the UTC-formatted bookmark.
		{"2026-03-08T12:00:00Z", true, false},
		{"2026-03-08T16:58:00Z", true, false},
		{"2026-03-08T16:58:59.999Z", true, false},
		{"2026-03-08T16:59:00Z", true, true},
	}
	for _, tc := range cases {
		t.Run(tc.updated, func(t *testing.T) {
			t.Parallel()
			is := updatedAt(t, tc.updated)
			assert.Equal(t, tc.right, right.Match(is), "local bookmark")
			assert.Equal(t, tc.wrong, wrong.Match(is), "UTC bookmark read in LA")
		})
	}
}

// assertInstant checks that literal, read in loc, is exactly want: an equality
// query matches want to the millisecond and nothing either side.
func assertInstant(t *testing.T, loc *time.Location, literal, want string) {
	t.Helper()
	q := mustParseJQL(t, `updated = "`+literal+`"`, loc)
	at := jqlTime(t, want)
	assert.True(t, q.Match(&Issue{Updated: at}), "%s in %s should be %s", literal, loc, want)
	assert.False(t, q.Match(&Issue{Updated: at.Add(-time.Millisecond)}), "%s in %s is before %s", literal, loc, want)
	assert.False(t, q.Match(&Issue{Updated: at.Add(time.Millisecond)}), "%s in %s is after %s", literal, loc, want)
}

func TestJQLLiteralsInZones(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, zone, literal, want string }{
		// Spring-forward gap: moved later by the gap (java.time), 02:30 PST-read = 03:30 PDT.
		{"LA gap", "America/Los_Angeles", "2026-03-08 02:30", "2026-03-08T10:30:00Z"},
		{"LA gap start", "America/Los_Angeles", "2026-03-08 02:00", "2026-03-08T10:00:00Z"},
		{"LA after gap", "America/Los_Angeles", "2026-03-08 03:00", "2026-03-08T10:00:00Z"},
		{"LA before gap", "America/Los_Angeles", "2026-03-08 01:59", "2026-03-08T09:59:00Z"},
		// Fall-back overlap: the earlier offset (PDT).
		{"LA overlap", "America/Los_Angeles", "2026-11-01 01:30", "2026-11-01T08:30:00Z"},
		{"LA overlap start", "America/Los_Angeles", "2026-11-01 01:00", "2026-11-01T08:00:00Z"},
		{"LA after overlap", "America/Los_Angeles", "2026-11-01 02:00", "2026-11-01T10:00:00Z"},
		{"LA date only", "America/Los_Angeles", "2026/03/08", "2026-03-08T08:00:00Z"},
		{"LA summer", "America/Los_Angeles", "2026-07-04 12:00", "2026-07-04T19:00:00Z"},
		{"Kolkata", "Asia/Kolkata", "2026-03-08 01:59", "2026-03-07T20:29:00Z"},
		{"Kolkata date only", "Asia/Kolkata", "2026/01/01", "2025-12-31T18:30:00Z"},
		{"Chatham summer", "Pacific/Chatham", "2026-01-15 10:00", "2026-01-14T20:15:00Z"},
		{"Chatham winter", "Pacific/Chatham", "2026-07-15 10:00", "2026-07-14T21:15:00Z"},
		{"Chatham gap", "Pacific/Chatham", "2026-09-27 03:00", "2026-09-26T14:15:00Z"},
		{"Chatham overlap", "Pacific/Chatham", "2026-04-05 03:00", "2026-04-04T13:15:00Z"},
		{"Chatham overlap start", "Pacific/Chatham", "2026-04-05 02:45", "2026-04-04T13:00:00Z"},
		{"Chatham after overlap", "Pacific/Chatham", "2026-04-05 03:45", "2026-04-04T15:00:00Z"},
		// Midnight itself can be in a gap: a date-only literal moves too.
		{"Sao Paulo midnight gap", "America/Sao_Paulo", "2018-11-04", "2018-11-04T03:00:00Z"},
		{"UTC", "UTC", "2026-03-08 09:59", "2026-03-08T09:59:00Z"},
		{"UTC date only", "UTC", "2026-03-08", "2026-03-08T00:00:00Z"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assertInstant(t, jqlLoc(t, tc.zone), tc.literal, tc.want)
		})
	}
	t.Run("nil location is UTC", func(t *testing.T) {
		t.Parallel()
		assertInstant(t, nil, "2026-03-08 09:59", "2026-03-08T09:59:00Z")
	})
	t.Run("fixed zone", func(t *testing.T) {
		t.Parallel()
		assertInstant(t, time.FixedZone("", -(3*3600+30*60)), "2026-03-08 09:59", "2026-03-08T13:29:00Z")
	})
}

func TestJQLMinuteBoundary(t *testing.T) {
	t.Parallel()
	const lit = `"2026-01-01 00:00"`
	cases := []struct {
		at                 string
		gt, ge, lt, le, eq bool
		name               string
	}{
		{"2025-12-31T23:59:59.999Z", false, false, true, true, false, "1ms before"},
		{"2026-01-01T00:00:00Z", false, true, false, true, true, "exactly L"},
		{"2026-01-01T00:00:00.0005Z", false, true, false, true, true, "sub-ms after L is L at Jira's precision"},
		{"2026-01-01T00:00:00.001Z", true, true, false, false, false, "1ms after"},
		{"2026-01-01T00:00:30Z", true, true, false, false, false, "L+30s is strictly after L"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			is := updatedAt(t, tc.at)
			for op, want := range map[string]bool{">": tc.gt, ">=": tc.ge, "<": tc.lt, "<=": tc.le, "=": tc.eq} {
				assert.Equal(t, want, mustParseJQL(t, "updated "+op+" "+lit, time.UTC).Match(is), "updated %s %s", op, lit)
			}
		})
	}
}

func TestJQLEpochMillis(t *testing.T) {
	t.Parallel()
	bookmark := jqlTime(t, "2026-03-08T09:59:59.250Z")
	q := fmt.Sprintf("updated >= %d", bookmark.UnixMilli())
	// The same number must mean the same instant whatever the user's zone.
	for _, zone := range []string{"UTC", "America/Los_Angeles", "Asia/Kolkata", "Pacific/Chatham"} {
		t.Run(zone, func(t *testing.T) {
			t.Parallel()
			parsed := mustParseJQL(t, q, jqlLoc(t, zone))
			assert.False(t, parsed.Match(updatedAt(t, "2026-03-08T09:59:59.249Z")))
			assert.True(t, parsed.Match(updatedAt(t, "2026-03-08T09:59:59.250Z")))
			assert.True(t, parsed.Match(updatedAt(t, "2026-03-08T10:00:00Z")))
			strict := mustParseJQL(t, fmt.Sprintf("created > %d", bookmark.UnixMilli()), jqlLoc(t, zone))
			assert.False(t, strict.Match(updatedAt(t, "2026-03-08T09:59:59.250Z")))
			assert.True(t, strict.Match(updatedAt(t, "2026-03-08T09:59:59.251Z")))
		})
	}
}

// jqlSite is a small site: two projects, keys that sort differently as
// strings and as numbers, and ties on updated and created.
func jqlSite(t testing.TB) []*Issue {
	abc := &Project{ID: 10000, Key: "ABC", Name: "Alpha Beta"}
	xyz := &Project{ID: 10001, Key: "XYZ", Name: "Xylophone"}
	mk := func(id int, key string, p *Project, created, updated string) *Issue {
		return &Issue{ID: id, Key: key, Project: p, Created: jqlTime(t, created), Updated: jqlTime(t, updated)}
	}
	return []*Issue{
		mk(1, "ABC-1", abc, "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"),
		mk(2, "ABC-2", abc, "2026-01-02T00:00:00Z", "2026-02-01T00:00:00.0004Z"), // same ms as ID 1
		mk(3, "XYZ-1", xyz, "2026-01-02T00:00:00Z", "2026-01-15T00:00:00Z"),
		mk(4, "XYZ-12", xyz, "2026-01-03T00:00:00Z", "2026-02-01T00:00:00Z"),
		mk(5, "ABC-10", abc, "2026-01-04T00:00:00Z", "2026-01-20T00:00:00Z"),
	}
}

func matchingKeys(q *Query, issues []*Issue) []string {
	var keys []string
	for _, is := range issues {
		if q.Match(is) {
			keys = append(keys, is.Key)
		}
	}
	return keys
}

func TestJQLProjectAndIssueClauses(t *testing.T) {
	t.Parallel()
	site := jqlSite(t)
	cases := []struct {
		q    string
		want []string
	}{
		{`project = ABC`, []string{"ABC-1", "ABC-2", "ABC-10"}},
		{`project = abc`, []string{"ABC-1", "ABC-2", "ABC-10"}},
		{`project = "Alpha Beta"`, []string{"ABC-1", "ABC-2", "ABC-10"}},
		{`project = 10001`, []string{"XYZ-1", "XYZ-12"}},
		{`project = "10001"`, []string{"XYZ-1", "XYZ-12"}},
		{`project in (ABC, 10001)`, []string{"ABC-1", "ABC-2", "XYZ-1", "XYZ-12", "ABC-10"}},
		{`project in (NOPE)`, nil},
		{`project != ABC`, []string{"XYZ-1", "XYZ-12"}},
		{`project != 10001`, []string{"ABC-1", "ABC-2", "ABC-10"}},
		{`key = ABC-2`, []string{"ABC-2"}},
		{`issuekey = abc-2`, []string{"ABC-2"}},
		{`key > ABC-2`, []string{"ABC-10"}}, // numeric, not "ABC-10" < "ABC-2", and not XYZ
		{`key >= ABC-2`, []string{"ABC-2", "ABC-10"}},
		{`key < ABC-10`, []string{"ABC-1", "ABC-2"}},
		{`key <= XYZ-1`, []string{"XYZ-1"}},
		{`id > 3`, []string{"XYZ-12", "ABC-10"}},
		{`id <= 2`, []string{"ABC-1", "ABC-2"}},
		{`id in (1, XYZ-12)`, []string{"ABC-1", "XYZ-12"}},
		{`key = 3`, []string{"XYZ-1"}},
		{`project = ABC AND id >= 2`, []string{"ABC-2", "ABC-10"}},
		{`(project in (ABC, XYZ)) AND key < XYZ-12`, []string{"XYZ-1"}},
		{`project = ABC AND updated >= "2026-02-01"`, []string{"ABC-1", "ABC-2"}},
		{`created >= "2026-01-02" AND created < "2026-01-04"`, []string{"ABC-2", "XYZ-1", "XYZ-12"}},
	}
	for _, tc := range cases {
		t.Run(tc.q, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, matchingKeys(mustParseJQL(t, tc.q, time.UTC), site))
		})
	}
	t.Run("issue without project", func(t *testing.T) {
		t.Parallel()
		orphan := &Issue{ID: 9, Key: "weird"}
		assert.False(t, mustParseJQL(t, `project != ABC`, time.UTC).Match(orphan))
		assert.False(t, mustParseJQL(t, `key >= ABC-1`, time.UTC).Match(orphan))
		assert.True(t, mustParseJQL(t, `id = 9`, time.UTC).Match(orphan))
	})
}

func TestJQLOrder(t *testing.T) {
	t.Parallel()
	site := jqlSite(t)
	cases := []struct {
		q    string
		want []int // IDs in order
	}{
		{`ORDER BY updated ASC, id ASC`, []int{3, 5, 1, 2, 4}},
		{`ORDER BY updated ASC`, []int{3, 5, 1, 2, 4}}, // ID tie-break, sub-ms ignored
		{`ORDER BY updated`, []int{1, 2, 4, 5, 3}},     // field default DESC, ties by ID ASC
		{`ORDER BY updated DESC, id DESC`, []int{4, 2, 1, 5, 3}},
		{`ORDER BY key DESC`, []int{4, 3, 5, 2, 1}}, // XYZ-12, XYZ-1, ABC-10, ABC-2, ABC-1
		{`ORDER BY key`, []int{1, 2, 5, 3, 4}},
		{``, []int{5, 4, 2, 3, 1}}, // Jira's default: created DESC
		{`ORDER BY created ASC, key DESC`, []int{1, 3, 2, 4, 5}},
		{`ORDER BY id DESC`, []int{5, 4, 3, 2, 1}},
	}
	for _, tc := range cases {
		t.Run(tc.q, func(t *testing.T) {
			t.Parallel()
			q := mustParseJQL(t, tc.q, time.UTC)
			sorted := slices.Clone(site)
			slices.SortStableFunc(sorted, q.Compare)
			var ids []int
			for _, is := range sorted {
				ids = append(ids, is.ID)
			}
			assert.Equal(t, tc.want, ids)
		})
	}
}

func TestJQLCompareStrictWeakOrder(t *testing.T) {
	t.Parallel()
	site := jqlSite(t)
	// Add exact duplicates of timestamps and a malformed key to stress ties.
	site = append(site,
		&Issue{ID: 7, Key: "ABC-10", Project: site[0].Project, Created: site[0].Created, Updated: site[0].Updated},
		&Issue{ID: 6, Key: "odd", Created: site[1].Created, Updated: site[1].Updated},
	)
	sign := func(n int) int { return cmpInt64(int64(n), 0) }
	for _, q := range []string{``, `ORDER BY updated ASC`, `ORDER BY key DESC`, `ORDER BY created, key`, `ORDER BY id DESC`} {
		t.Run(q, func(t *testing.T) {
			t.Parallel()
			parsed := mustParseJQL(t, q, time.UTC)
			for _, a := range site {
				assert.Zero(t, parsed.Compare(a, a), "irreflexive")
				for _, b := range site {
					ab := parsed.Compare(a, b)
					assert.Equal(t, -sign(ab), sign(parsed.Compare(b, a)), "antisymmetric %d %d", a.ID, b.ID)
					// The ID tie-break makes the order total over distinct IDs.
					assert.Equal(t, a.ID == b.ID, ab == 0, "tie only for the same issue %d %d", a.ID, b.ID)
					for _, c := range site {
						if ab < 0 && parsed.Compare(b, c) < 0 {
							assert.Negative(t, parsed.Compare(a, c), "transitive %d %d %d", a.ID, b.ID, c.ID)
						}
					}
				}
			}
		})
	}
}

func TestJQLValidate(t *testing.T) {
	t.Parallel()
	d := &Data{Projects: []*Project{{ID: 10000, Key: "ABC", Name: "Alpha Beta"}, {ID: 10001, Key: "XYZ"}}}
	assert.NoError(t, mustParseJQL(t, `project in (abc, 10001, "Alpha Beta") AND updated > 0`, time.UTC).Validate(d))
	err := mustParseJQL(t, `updated > 0 AND project in (ABC, NOPE)`, time.UTC).Validate(d)
	var je *JQLError
	require.ErrorAs(t, err, &je)
	assert.Equal(t, "The value 'NOPE' does not exist for the field 'project'.", je.Message)
	require.Error(t, mustParseJQL(t, `project = 20000`, time.UTC).Validate(d))
}

func FuzzParseJQL(f *testing.F) {
	for _, s := range []string{
		``,
		`updated >= "2026-03-08 01:59" ORDER BY updated ASC`,
		`project in (ABC, 10001) AND key > ABC-12 ORDER BY key DESC, created`,
		`(updated > 1772963999000 & id <= 5) order by id`,
		`updated >= now() OR foo = "x\"y"`,
	} {
		f.Add(s)
	}
	la := jqlLoc(f, "America/Los_Angeles")
	p := &Project{ID: 10000, Key: "ABC", Name: "Alpha"}
	samples := []*Issue{
		{ID: 1, Key: "ABC-12", Project: p, Created: time.Unix(1772963999, 0), Updated: time.Unix(1772964000, 5e5)},
		{ID: 2, Key: "not a key"}, // no project, malformed key, zero times
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := ParseJQL(s, la)
		if err != nil {
			var je *JQLError
			if !assert.ErrorAs(t, err, &je) || je.Message == "" {
				t.Fatalf("ParseJQL(%q): want a non-empty *JQLError, got %#v", s, err)
			}
			return
		}
		require.NotNil(t, q)
		for _, a := range samples {
			q.Match(a)
			for _, b := range samples {
				assert.Equal(t, a.ID == b.ID, q.Compare(a, b) == 0)
			}
		}
		assert.NotEmpty(t, q.OrderKey())
		_ = q.Bounded()
		_ = q.Validate(&Data{Projects: []*Project{p}})
	})
}
