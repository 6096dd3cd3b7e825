package jirasim

import (
	"encoding/base64"
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// genTestNow has sub-millisecond digits on purpose: the generator must
// truncate.
func genTestNow() time.Time { return time.Date(2026, 3, 10, 15, 4, 5, 678_901_234, time.UTC) }

func genTestSite(seed uint64, issues int) *Data {
	return Generate(GenOptions{Seed: seed, Issues: issues, Now: genTestNow()})
}

// genTestStamp is one timestamp of the site, named for failure messages.
type genTestStamp struct {
	what string
	t    time.Time
}

func genTestStamps(d *Data) []genTestStamp {
	var out []genTestStamp
	for _, is := range d.Issues {
		out = append(out, genTestStamp{is.Key + " created", is.Created}, genTestStamp{is.Key + " updated", is.Updated})
		for _, c := range is.Comments {
			out = append(out, genTestStamp{is.Key + " comment created", c.Created}, genTestStamp{is.Key + " comment updated", c.Updated})
		}
		for _, h := range is.Histories {
			out = append(out, genTestStamp{is.Key + " history", h.Created})
		}
		for _, w := range is.Worklogs {
			out = append(out, genTestStamp{is.Key + " worklog started", w.Started},
				genTestStamp{is.Key + " worklog created", w.Created}, genTestStamp{is.Key + " worklog updated", w.Updated})
		}
		for id, v := range is.Custom {
			if t, ok := v.(time.Time); ok {
				out = append(out, genTestStamp{is.Key + " " + id, t})
			}
		}
	}
	for _, d := range d.DeletedWorklogs {
		out = append(out, genTestStamp{"deleted worklog " + strconv.Itoa(d.ID), d.Deleted})
	}
	return out
}

func genTestMs(t time.Time) int64 { return t.UnixMilli() }

func TestGenerateDeterministic(t *testing.T) {
	t.Parallel()
	base := GenOptions{Seed: 7, Projects: 4, Issues: 600, Users: 25, Now: genTestNow()}
	other := func(f func(*GenOptions)) GenOptions { o := base; f(&o); return o }
	tests := []struct {
		name string
		a, b GenOptions
		same bool
	}{
		{"same options", base, base, true},
		{"defaults", GenOptions{}, GenOptions{}, true},
		{"different seed", base, other(func(o *GenOptions) { o.Seed = 8 }), false},
		{"different now", base, other(func(o *GenOptions) { o.Now = o.Now.Add(time.Hour) }), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a, b := Generate(tc.a), Generate(tc.b)
			if tc.same {
				genTestEqual(t, a, b)
				return
			}
			// Not assert.NotEqual: on failure it would print two whole sites.
			assert.False(t, assert.ObjectsAreEqual(a, b), "different options must give a different site")
			if tc.a.Seed != tc.b.Seed {
				same := 0
				for i := range min(len(a.Issues), len(b.Issues)) {
					if a.Issues[i].Summary == b.Issues[i].Summary && a.Issues[i].Created.Equal(b.Issues[i].Created) {
						same++
					}
				}
				assert.Less(t, same, len(a.Issues)/10, "another seed must give other issues")
			}
		})
	}
}

// genTestEqual compares two sites part by part, so that a failure shows the
// first differing part instead of two whole sites (which takes minutes).
func genTestEqual(t *testing.T, a, b *Data) {
	t.Helper()
	parts := []struct {
		name string
		a, b any
	}{
		{"categories", a.Categories, b.Categories},
		{"project types", a.ProjectTypes, b.ProjectTypes},
		{"resolutions", a.Resolutions, b.Resolutions},
		{"roles", a.Roles, b.Roles},
		{"users", a.Users, b.Users},
		{"fields", a.Fields, b.Fields},
		{"projects", a.Projects, b.Projects},
		{"deleted worklogs", a.DeletedWorklogs, b.DeletedWorklogs},
	}
	for _, p := range parts {
		if !assert.ObjectsAreEqual(p.a, p.b) {
			assert.Equal(t, p.a, p.b, p.name)
			return
		}
	}
	if !assert.Len(t, b.Issues, len(a.Issues)) {
		return
	}
	for i := range a.Issues {
		if !assert.ObjectsAreEqual(a.Issues[i], b.Issues[i]) {
			x, y := *a.Issues[i], *b.Issues[i]
			x.Project, y.Project = nil, nil // compared above; keeps the diff short
			assert.Equal(t, x, y, "issue %d (%s)", i, a.Issues[i].Key)
			return
		}
	}
	assert.True(t, assert.ObjectsAreEqual(a, b), "sites differ outside the parts compared")
}

func TestGenerateCounts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                               string
		opts                               GenOptions
		wantProjects, wantIssues, wantUser int
	}{
		{"defaults", GenOptions{Now: genTestNow()}, 5, 2000, 40},
		{"zero now", GenOptions{Issues: 30}, 5, 30, 40},
		{"tiny", GenOptions{Projects: 1, Issues: 1, Users: 1, Now: genTestNow()}, 1, 1, 1},
		{"few users", GenOptions{Projects: 2, Issues: 49, Users: 3, Now: genTestNow()}, 2, 49, 3},
		{"many projects", GenOptions{Projects: 60, Issues: 300, Users: 100, Now: genTestNow()}, 60, 300, 100},
		{"more projects than issues", GenOptions{Projects: 9, Issues: 4, Users: 6, Now: genTestNow()}, 9, 4, 6},
	}
	key := regexp.MustCompile(`^[A-Z]+$`)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := Generate(tc.opts)
			assert.Len(t, d.Projects, tc.wantProjects)
			assert.Len(t, d.Issues, tc.wantIssues)
			require.Len(t, d.Users, tc.wantUser)
			me := d.Users[0]
			assert.True(t, me.Active)
			assert.Equal(t, "atlassian", me.AccountType)
			assert.NotEmpty(t, me.Email)
			keys := map[string]bool{}
			for _, p := range d.Projects {
				assert.Regexp(t, key, p.Key)
				assert.LessOrEqual(t, len(p.Key), 10, "Jira keys are at most 10 characters")
				assert.False(t, keys[p.Key], "duplicate project key %s", p.Key)
				keys[p.Key] = true
				assert.NotEmpty(t, p.Versions)
				assert.NotEmpty(t, p.Components)
				assert.NotNil(t, p.Lead)
			}
			now := tc.opts.Now
			if now.IsZero() {
				now = genDefaultNow()
			}
			for _, s := range genTestStamps(d) {
				assert.False(t, s.t.After(now), "%s %v after now", s.what, s.t)
			}
		})
	}
}

func TestGenerateIDs(t *testing.T) {
	t.Parallel()
	d := genTestSite(3, 3000)

	for i, p := range d.Projects {
		assert.Equal(t, genFirstID+i, p.ID)
	}
	var versions, components []int
	for _, p := range d.Projects {
		for _, v := range p.Versions {
			versions = append(versions, v.ID)
		}
		for _, c := range p.Components {
			components = append(components, c.ID)
		}
	}
	for name, ids := range map[string][]int{"versions": versions, "components": components} {
		assert.Equal(t, genFirstID, ids[0], name)
		assert.True(t, slices.IsSorted(ids) && len(slices.Compact(slices.Clone(ids))) == len(ids), "%s IDs must ascend strictly", name)
	}

	keys := map[string]bool{}
	lastNum := map[string]int{}
	var comments []*Comment
	var histories []*History
	var worklogs []*Worklog
	for i, is := range d.Issues {
		assert.GreaterOrEqual(t, is.ID, genFirstID)
		if i > 0 {
			prev := d.Issues[i-1]
			assert.Greater(t, is.ID, prev.ID, "issue IDs ascend")
			assert.False(t, is.Created.Before(prev.Created), "issue IDs ascend with Created: %s", is.Key)
		}
		assert.False(t, keys[is.Key], "duplicate key %s", is.Key)
		keys[is.Key] = true
		prefix, num, ok := strings.Cut(is.Key, "-")
		require.True(t, ok, is.Key)
		assert.Equal(t, is.Project.Key, prefix)
		n, err := strconv.Atoi(num)
		require.NoError(t, err)
		assert.Greater(t, n, lastNum[prefix], "key numbers ascend within %s", prefix)
		lastNum[prefix] = n
		comments = append(comments, is.Comments...)
		histories = append(histories, is.Histories...)
		for _, w := range is.Worklogs {
			assert.Equal(t, is.ID, w.IssueID, "worklog %d", w.ID)
		}
		worklogs = append(worklogs, is.Worklogs...)
	}

	// Each kind: unique IDs, ascending with creation time, in its own block.
	type idAt struct {
		id int
		at time.Time
	}
	collect := func(n int, f func(int) idAt) []idAt {
		out := make([]idAt, n)
		for i := range out {
			out[i] = f(i)
		}
		slices.SortFunc(out, func(a, b idAt) int { return a.id - b.id })
		return out
	}
	kinds := []struct {
		name string
		ids  []idAt
	}{
		{"comments", collect(len(comments), func(i int) idAt { return idAt{comments[i].ID, comments[i].Created} })},
		{"histories", collect(len(histories), func(i int) idAt { return idAt{histories[i].ID, histories[i].Created} })},
		{"worklogs", collect(len(worklogs), func(i int) idAt { return idAt{worklogs[i].ID, worklogs[i].Created} })},
	}
	assert.Equal(t, genFirstCommentID, kinds[0].ids[0].id)
	prevBlock := 0
	for _, k := range kinds {
		require.NotEmpty(t, k.ids, k.name)
		assert.Greater(t, k.ids[0].id/genIDBlock, prevBlock, "%s start on a block of their own", k.name)
		for i := 1; i < len(k.ids); i++ {
			assert.Greater(t, k.ids[i].id, k.ids[i-1].id, "%s IDs unique", k.name)
			assert.False(t, k.ids[i].at.Before(k.ids[i-1].at), "%s IDs ascend with Created at %d", k.name, k.ids[i].id)
		}
		prevBlock = k.ids[len(k.ids)-1].id / genIDBlock
	}
	live := map[int]bool{}
	for _, w := range worklogs {
		live[w.ID] = true
	}
	wlBlock := kinds[2].ids[0].id / genIDBlock
	for _, dw := range d.DeletedWorklogs {
		assert.False(t, live[dw.ID], "deleted worklog %d is live", dw.ID)
		assert.Equal(t, wlBlock, dw.ID/genIDBlock, "deleted worklogs share the worklog sequence")
	}
}

func TestGenerateUsers(t *testing.T) {
	t.Parallel()
	d := genTestSite(1, 100)
	hex24 := regexp.MustCompile(`^[0-9a-f]{24}$`)
	uuid := `[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}`
	modern := regexp.MustCompile(`^712020:` + uuid + `$`)
	app := regexp.MustCompile(`^557058:` + uuid + `$`)
	customer := regexp.MustCompile(`^qm:` + uuid + `:` + uuid + `$`)
	username := regexp.MustCompile(`^[a-z0-9.-]+$`)
	jirauser := regexp.MustCompile(`^JIRAUSER\d{5}$`)

	count := map[string]int{}
	names, keys, ids, zones := map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}
	var scripts struct{ han, hebrew, arabic, emoji, accent bool }
	for _, u := range d.Users {
		count[u.AccountType]++
		if !u.Active {
			count["inactive"]++
		}
		if u.Email == "" {
			count["hidden email "+u.AccountType]++
		}
		switch u.AccountType {
		case "atlassian":
			switch {
			case hex24.MatchString(u.AccountID):
				count["hex"]++
			case modern.MatchString(u.AccountID):
				count["uuid"]++
			default:
				t.Errorf("atlassian account ID %q", u.AccountID)
			}
		case "app":
			assert.Regexp(t, app, u.AccountID)
		case "customer":
			assert.Regexp(t, customer, u.AccountID)
			assert.NotEmpty(t, u.Email)
		default:
			t.Errorf("account type %q", u.AccountType)
		}
		assert.Regexp(t, username, u.Name)
		if jirauser.MatchString(u.Key) {
			count["jirauser key"]++
		} else {
			assert.Equal(t, u.Name, u.Key, "legacy DC keys are the username")
		}
		assert.False(t, names[u.Name] || keys[u.Key] || ids[u.AccountID], "duplicate user %+v", u)
		names[u.Name], keys[u.Key], ids[u.AccountID] = true, true, true
		zones[u.TimeZone] = true
		_, err := time.LoadLocation(u.TimeZone)
		assert.NoError(t, err)
		assert.True(t, utf8.ValidString(u.DisplayName))
		for _, r := range u.DisplayName {
			scripts.han = scripts.han || unicode.Is(unicode.Han, r)
			scripts.hebrew = scripts.hebrew || unicode.Is(unicode.Hebrew, r)
			scripts.arabic = scripts.arabic || unicode.Is(unicode.Arabic, r)
			scripts.emoji = scripts.emoji || r >= 0x1F300
			scripts.accent = scripts.accent || (unicode.Is(unicode.Latin, r) && r > 0x7f)
		}
	}
	assert.Equal(t, struct{ han, hebrew, arabic, emoji, accent bool }{true, true, true, true, true}, scripts)
	assert.Greater(t, count["atlassian"], len(d.Users)*3/4, "mostly atlassian accounts")
	assert.GreaterOrEqual(t, count["app"], 1)
	assert.Contains(t, []int{1, 2}, count["customer"])
	assert.GreaterOrEqual(t, count["inactive"], 1)
	assert.GreaterOrEqual(t, count["hidden email atlassian"], 1)
	assert.Positive(t, count["hex"])
	assert.Positive(t, count["uuid"])
	assert.Positive(t, count["jirauser key"])
	assert.GreaterOrEqual(t, len(zones), 4)
	assert.True(t, slices.ContainsFunc(d.Users, func(u *User) bool { return u.DisplayName == "Automation for Jira" }))
	assert.NotEqual(t, "UTC", d.Users[0].TimeZone, "myself is not in UTC, so time-zone bugs show")

	// Small sites still have the awkward accounts.
	small := Generate(GenOptions{Users: 5, Issues: 10, Now: genTestNow()})
	types := map[string]bool{}
	for _, u := range small.Users {
		types[u.AccountType] = true
		if !u.Active {
			types["inactive"] = true
		}
	}
	assert.Equal(t, map[string]bool{"atlassian": true, "app": true, "customer": true, "inactive": true}, types)
}

func TestGenerateMeta(t *testing.T) {
	t.Parallel()
	d := genTestSite(2, 200)
	assert.GreaterOrEqual(t, len(d.Categories), 3)
	assert.LessOrEqual(t, len(d.Categories), 4)

	var typeKeys []string
	for _, pt := range d.ProjectTypes {
		typeKeys = append(typeKeys, pt.Key)
		assert.NotEmpty(t, pt.FormattedKey)
		assert.NotEmpty(t, pt.DescriptionI18nKey)
		assert.Regexp(t, `^#[0-9A-F]{6}$`, pt.Color)
		svg, err := base64.StdEncoding.DecodeString(pt.Icon)
		require.NoError(t, err)
		assert.Contains(t, string(svg), "<svg")
		assert.Less(t, len(pt.Icon), 1000, "a small icon")
	}
	assert.Equal(t, []string{"software", "business", "service_desk", "product_discovery"}, typeKeys)

	var resolutions []string
	for _, r := range d.Resolutions {
		resolutions = append(resolutions, r.Name)
	}
	assert.Equal(t, []string{"Done", "Won't Do", "Duplicate", "Cannot Reproduce"}, resolutions)

	roles := map[string]int{}
	for _, r := range d.Roles {
		roles[r.Name] = len(r.Actors)
		assert.GreaterOrEqual(t, r.ID, genFirstID)
	}
	for _, name := range []string{"Administrators", "Developers", "Users"} {
		assert.Positive(t, roles[name], name)
	}
}

func TestGenerateProjects(t *testing.T) {
	t.Parallel()
	d := genTestSite(4, 500)
	first := d.Projects[0]
	assert.Greater(t, len(first.Versions), 120, "versions must take several pages of 50")
	assert.Greater(t, len(first.Components), 120, "components must take several pages of 50")
	for _, p := range d.Projects[1:] {
		assert.LessOrEqual(t, len(p.Versions), 10, p.Key)
		assert.LessOrEqual(t, len(p.Components), 10, p.Key)
	}
	var withCategory, simplified int
	types := map[string]bool{}
	for _, p := range d.Projects {
		if p.Category != nil {
			withCategory++
			assert.Contains(t, d.Categories, p.Category)
		}
		if p.Simplified {
			simplified++
		}
		types[p.TypeKey] = true
		names := map[string]bool{}
		for _, c := range p.Components {
			assert.False(t, names[c.Name], "duplicate component %q in %s", c.Name, p.Key)
			names[c.Name] = true
			assert.NotEmpty(t, c.AssigneeType)
		}
		names = map[string]bool{}
		for _, v := range p.Versions {
			assert.False(t, names[v.Name], "duplicate version %q in %s", v.Name, p.Key)
			names[v.Name] = true
		}
	}
	assert.Positive(t, withCategory)
	assert.Less(t, withCategory, len(d.Projects))
	assert.Positive(t, simplified)
	assert.Less(t, simplified, len(d.Projects))
	assert.Len(t, types, 4)

	kinds := map[string]int{}
	for _, v := range first.Versions {
		switch {
		case v.Archived:
			kinds["archived"]++
			assert.True(t, v.Released, "archived versions here were released first")
		case v.Released:
			kinds["released"]++
		default:
			kinds["unreleased"]++
		}
		if v.Overdue {
			kinds["overdue"]++
			assert.False(t, v.Released)
		}
		for _, date := range []string{v.StartDate, v.ReleaseDate} {
			if date == "" {
				kinds["no date"]++
				continue
			}
			_, err := time.Parse(time.DateOnly, date)
			assert.NoError(t, err, "version %d date %q", v.ID, date)
		}
	}
	for _, k := range []string{"archived", "released", "unreleased", "no date"} {
		assert.Positive(t, kinds[k], k)
	}
}

func TestGenerateFields(t *testing.T) {
	t.Parallel()
	d := genTestSite(5, 10)
	byID := map[string]*Field{}
	for _, f := range d.Fields {
		assert.Nil(t, byID[f.ID], "duplicate field %s", f.ID)
		byID[f.ID] = f
		assert.Equal(t, f.ID, f.Key)
		assert.True(t, utf8.ValidString(f.Name))
		assert.NotEmpty(t, f.Name)
		assert.Equal(t, strings.HasPrefix(f.ID, "customfield_"), f.Custom, f.ID)
		if f.Custom {
			assert.Regexp(t, `^customfield_\d+$`, f.ID)
			assert.True(t, strings.HasPrefix(f.Schema.Custom, "com.atlassian.jira.plugin.system.customfieldtypes:"), f.ID)
		} else {
			assert.Empty(t, f.Schema.Custom, f.ID)
		}
	}
	for _, id := range []string{"summary", "description", "status", "priority", "assignee", "reporter", "creator",
		"created", "updated", "labels", "components", "fixVersions", "issuetype", "project", "resolution",
		"resolutiondate", "duedate", "comment", "worklog", "timetracking"} {
		if assert.Contains(t, byID, id) {
			assert.False(t, byID[id].Custom, id)
		}
	}
	types := map[string]bool{}
	for _, f := range d.Fields {
		if f.Custom {
			types[f.Schema.Type+"/"+f.Schema.Items] = true
		}
	}
	for _, want := range []string{"number/", "string/", "option/", "array/string", "array/option", "user/", "date/", "datetime/"} {
		assert.True(t, types[want], "custom field of type %s", want)
	}
	sp := byID["customfield_10020"]
	require.NotNil(t, sp)
	assert.Equal(t, "Story Points", sp.Name)
	assert.Equal(t, "number", sp.Schema.Type)
}

func TestGenerateCustomValues(t *testing.T) {
	t.Parallel()
	d := genTestSite(6, 2000)
	schema := map[string]FieldType{}
	for _, f := range d.Fields {
		if f.Custom {
			schema[f.ID] = f.Schema
		}
	}
	accounts := map[string]*User{}
	for _, u := range d.Users {
		accounts[u.AccountID] = u
	}
	isOption := func(v any) bool {
		m, ok := v.(map[string]any)
		if !ok {
			return false
		}
		self, _ := m["self"].(string)
		id, _ := m["id"].(string)
		value, _ := m["value"].(string)
		return strings.HasSuffix(self, "/"+id) && id != "" && value != ""
	}
	state := map[string]map[string]int{} // field → set/null/absent → issues
	for id := range schema {
		state[id] = map[string]int{}
	}
	wellFilled := 0
	for _, is := range d.Issues {
		set := 0
		for id := range schema {
			v, ok := is.Custom[id]
			switch {
			case !ok:
				state[id]["absent"]++
				continue
			case v == nil:
				state[id]["null"]++
				continue
			}
			state[id]["set"]++
			set++
			s := schema[id]
			switch s.Type + "/" + s.Items {
			case "number/":
				n, ok := v.(json.Number)
				if assert.True(t, ok, "%s %s: %T", is.Key, id, v) {
					_, err := n.Float64()
					assert.NoError(t, err)
				}
			case "string/":
				assert.IsType(t, "", v, "%s %s", is.Key, id)
			case "option/":
				assert.True(t, isOption(v), "%s %s: %#v", is.Key, id, v)
			case "array/string":
				arr, ok := v.([]any)
				if assert.True(t, ok, "%s %s: %T", is.Key, id, v) && assert.NotEmpty(t, arr) {
					for _, e := range arr {
						assert.IsType(t, "", e)
					}
				}
			case "array/option":
				arr, ok := v.([]any)
				if assert.True(t, ok, "%s %s: %T", is.Key, id, v) && assert.NotEmpty(t, arr) {
					for _, e := range arr {
						assert.True(t, isOption(e), "%s %s: %#v", is.Key, id, e)
					}
				}
			case "user/":
				m, ok := v.(map[string]any)
				if assert.True(t, ok, "%s %s: %T", is.Key, id, v) {
					u := accounts[m["accountId"].(string)]
					if assert.NotNil(t, u) {
						assert.Equal(t, u.DisplayName, m["displayName"])
						assert.Equal(t, u.Active, m["active"])
					}
				}
			case "date/":
				s, ok := v.(string)
				if assert.True(t, ok, "%s %s: %T", is.Key, id, v) {
					_, err := time.Parse(time.DateOnly, s)
					assert.NoError(t, err)
				}
			case "datetime/":
				ts, ok := v.(time.Time)
				if assert.True(t, ok, "%s %s: %T", is.Key, id, v) {
					assert.False(t, ts.Before(is.Created) || ts.After(is.Updated), "%s %s %v", is.Key, id, ts)
				}
			default:
				t.Errorf("untested custom field type %+v", s)
			}
		}
		for id := range is.Custom {
			assert.Contains(t, schema, id, "%s has a value for an unknown field", is.Key)
		}
		if set >= len(schema)/2 {
			wellFilled++
		}
	}
	assert.Greater(t, wellFilled, len(d.Issues)/2, "most issues have most custom values")
	for id, st := range state {
		assert.Positive(t, st["set"], "%s set somewhere", id)
		assert.Positive(t, st["null"]+st["absent"], "%s empty somewhere", id)
	}
	assert.Positive(t, state[genCFStoryPoints]["null"])
	assert.Positive(t, state[genCFStoryPoints]["absent"])
}

func TestGenerateTraps(t *testing.T) {
	t.Parallel()
	tests := []struct {
		seed   uint64
		issues int
	}{{1, 50}, {2, 2000}, {3, 2000}, {99, 7000}}
	for _, tc := range tests {
		t.Run(strconv.Itoa(tc.issues)+"/"+strconv.FormatUint(tc.seed, 10), func(t *testing.T) {
			t.Parallel()
			d := genTestSite(tc.seed, tc.issues)
			now := genTestMs(genTestNow())
			maxBy := func(n func(*Issue) int) *Issue {
				return slices.MaxFunc(d.Issues, func(a, b *Issue) int { return n(a) - n(b) })
			}
			heavyC := maxBy(func(is *Issue) int { return len(is.Comments) })
			heavyH := maxBy(func(is *Issue) int { return len(is.Histories) })
			heavyW := maxBy(func(is *Issue) int { return len(is.Worklogs) })
			assert.Greater(t, len(heavyC.Comments), 150, "an issue with more than 150 comments")
			assert.Greater(t, len(heavyH.Histories), 250, "an issue with more than 250 histories")
			assert.Greater(t, len(heavyW.Worklogs), 40, "an issue with more than 40 worklogs")
			t.Logf("heavy: comments %s (%d), histories %s (%d), worklogs %s (%d)",
				heavyC.Key, len(heavyC.Comments), heavyH.Key, len(heavyH.Histories), heavyW.Key, len(heavyW.Worklogs))

			small := 0
			for _, is := range d.Issues {
				if len(is.Comments) <= 5 && len(is.Histories) <= 8 && len(is.Worklogs) <= 3 {
					small++
				}
			}
			assert.GreaterOrEqual(t, small, len(d.Issues)-3, "all but the heavy issues are small")

			byUpdated := map[int64][]string{}
			minute, lastHour, lastMinute := 0, 0, 0
			for _, is := range d.Issues {
				u := genTestMs(is.Updated)
				byUpdated[u] = append(byUpdated[u], is.Key)
				if u%60_000 == 0 {
					minute++
				}
				if u > now-3_600_000 {
					lastHour++
				}
				if u == now-30_000 {
					lastMinute++
				}
			}
			var groups [][]string
			shared := 0
			for _, keys := range byUpdated {
				if len(keys) >= 2 {
					groups = append(groups, keys)
					shared += len(keys)
				}
			}
			assert.GreaterOrEqual(t, len(groups), 2, "groups of issues with the same Updated")
			assert.GreaterOrEqual(t, shared, 5, "issues sharing an Updated")
			assert.GreaterOrEqual(t, minute, 5, "issues updated on a whole minute")
			assert.GreaterOrEqual(t, lastHour, 2, "issues updated within the last hour")
			assert.GreaterOrEqual(t, lastMinute, 1, "an issue updated exactly 30 s before now")
			t.Logf("shared Updated: %v", groups)

			wlUpdated := map[int64]int{}
			for _, is := range d.Issues {
				for _, w := range is.Worklogs {
					wlUpdated[genTestMs(w.Updated)]++
				}
			}
			most := 0
			for _, n := range wlUpdated {
				most = max(most, n)
			}
			assert.GreaterOrEqual(t, most, 3, "several worklogs share one Updated")
			// Also across issues: one bulk edit touching several issues.
			issuesAt := map[int64]map[int]bool{}
			for _, is := range d.Issues {
				for _, w := range is.Worklogs {
					u := genTestMs(w.Updated)
					if issuesAt[u] == nil {
						issuesAt[u] = map[int]bool{}
					}
					issuesAt[u][is.ID] = true
				}
			}
			across := 0
			for _, ids := range issuesAt {
				across = max(across, len(ids))
			}
			assert.GreaterOrEqual(t, across, 2, "worklogs of different issues share one Updated")

			for _, s := range genTestStamps(d) {
				assert.Zero(t, s.t.Nanosecond()%int(time.Millisecond), "%s %v has sub-millisecond digits", s.what, s.t)
			}
		})
	}
}

func TestGenerateChildrenWithinIssue(t *testing.T) {
	t.Parallel()
	d := genTestSite(8, 2000)
	for _, is := range d.Issues {
		assert.False(t, is.Updated.Before(is.Created), is.Key)
		within := func(what string, ts time.Time) {
			assert.False(t, ts.Before(is.Created) || ts.After(is.Updated), "%s %s %v outside [%v, %v]", is.Key, what, ts, is.Created, is.Updated)
		}
		for i, c := range is.Comments {
			within("comment created", c.Created)
			within("comment updated", c.Updated)
			assert.False(t, c.Updated.Before(c.Created))
			assert.NotNil(t, c.Author)
			if i > 0 {
				assert.False(t, c.Created.Before(is.Comments[i-1].Created), "%s comments ascend", is.Key)
			}
		}
		for i, h := range is.Histories {
			within("history", h.Created)
			assert.NotNil(t, h.Author)
			assert.NotEmpty(t, h.Items)
			if i > 0 {
				assert.False(t, h.Created.Before(is.Histories[i-1].Created), "%s histories ascend", is.Key)
			}
		}
		for i, w := range is.Worklogs {
			within("worklog started", w.Started)
			within("worklog updated", w.Updated)
			assert.False(t, w.Started.After(w.Created) || w.Created.After(w.Updated), "%s worklog %d: started ≤ created ≤ updated", is.Key, w.ID)
			assert.Positive(t, w.TimeSpentSeconds)
			assert.Zero(t, w.TimeSpentSeconds%60)
			if i > 0 {
				assert.False(t, w.Started.Before(is.Worklogs[i-1].Started), "%s worklogs ascend by Started", is.Key)
			}
		}
	}
}

func TestGenerateTimeBounds(t *testing.T) {
	t.Parallel()
	d := genTestSite(9, 2000)
	now := genTestNow().Truncate(time.Millisecond)
	start, year := now.AddDate(-2, 0, 0), now.AddDate(-1, 0, 0)
	for _, s := range genTestStamps(d) {
		assert.False(t, s.t.Before(start) || s.t.After(now), "%s %v outside the two years", s.what, s.t)
	}
	old := 0
	for _, is := range d.Issues {
		if is.Created.Before(year) {
			old++
		}
	}
	assert.InDelta(t, len(d.Issues)/2, old, float64(len(d.Issues))/10, "about half the issues are older than a year")
	assert.True(t, d.Issues[0].Created.Before(start.AddDate(0, 1, 0)), "the oldest issue is near the start")
}

func TestGenerateHistories(t *testing.T) {
	t.Parallel()
	d := genTestSite(10, 2000)
	statusIDs := map[string]string{"To Do": "10000", "In Progress": "3", "Done": "10001"}
	kinds := map[string]int{}
	for _, is := range d.Issues {
		status, resolution := "To Do", ""
		for _, h := range is.Histories {
			for _, it := range h.Items {
				kinds[it.FieldType+"/"+it.FieldID]++
				switch it.FieldID {
				case "status":
					assert.Equal(t, status, it.FromString, "%s status chain", is.Key)
					assert.Equal(t, statusIDs[it.FromString], it.From)
					assert.Equal(t, statusIDs[it.ToString], it.To)
					status = it.ToString
				case "resolution":
					resolution = it.ToString
				case "assignee", "priority":
					assert.True(t, it.FromString != "" || it.ToString != "", "%s %s item", is.Key, it.FieldID)
				}
				if it.FieldType == "custom" {
					assert.True(t, strings.HasPrefix(it.FieldID, "customfield_"))
				} else {
					assert.Equal(t, "jira", it.FieldType)
				}
			}
		}
		assert.Equal(t, status, is.Status, "%s status agrees with its changelog", is.Key)
		assert.Equal(t, is.Status == "Done", is.Resolution != nil, "%s resolution set iff Done", is.Key)
		if is.Resolution != nil {
			assert.Equal(t, is.Resolution.Name, resolution, is.Key)
		}
	}
	for _, k := range []string{"jira/status", "jira/resolution", "jira/assignee", "jira/priority", "jira/labels", "custom/" + genCFStoryPoints, "custom/" + genCFSeverity} {
		assert.Positive(t, kinds[k], k)
	}
}

func TestGenerateIssueFields(t *testing.T) {
	t.Parallel()
	d := genTestSite(11, 2000)
	statuses := map[string]int{}
	var texts strings.Builder
	emptyDescriptions := 0
	for _, is := range d.Issues {
		statuses[is.Status]++
		assert.Contains(t, []string{"Task", "Bug", "Story", "Epic"}, is.IssueType)
		assert.Contains(t, []string{"Highest", "High", "Medium", "Low", "Lowest"}, is.Priority)
		assert.NotNil(t, is.Reporter)
		assert.NotNil(t, is.Creator)
		assert.NotEmpty(t, is.Summary)
		assert.True(t, slices.IsSorted(is.Labels) && len(slices.Compact(slices.Clone(is.Labels))) == len(is.Labels), "%s labels %v", is.Key, is.Labels)
		for _, v := range is.FixVersions {
			assert.Contains(t, is.Project.Versions, v, "%s fix version from its project", is.Key)
		}
		for _, c := range is.Components {
			assert.Contains(t, is.Project.Components, c, "%s component from its project", is.Key)
		}
		if assert.GreaterOrEqual(t, len(is.Transitions), 2, is.Key) {
			assert.LessOrEqual(t, len(is.Transitions), 4, is.Key)
		}
		seen := map[string]bool{}
		for _, tr := range is.Transitions {
			assert.Contains(t, []string{"11", "21", "31", "41"}, tr.ID)
			assert.Contains(t, []string{"To Do", "In Progress", "Done"}, tr.ToStatus)
			assert.NotEmpty(t, tr.Name)
			assert.False(t, seen[tr.ID], "%s duplicate transition", is.Key)
			seen[tr.ID] = true
		}
		texts.WriteString(is.Summary + "\n" + is.Description + "\n")
		if is.Description == "" {
			emptyDescriptions++
		}
	}
	for _, s := range []string{"To Do", "In Progress", "Done"} {
		assert.Greater(t, statuses[s], len(d.Issues)/20, "status %s", s)
	}
	assert.Positive(t, emptyDescriptions)
	all := texts.String()
	for _, want := range []string{"🚀", "日本語のテキスト", "תקלה", "خطأ", "\"", "<html>", "&", "{code", "h2.", "||"} {
		assert.Contains(t, all, want)
	}
}

func TestGenerateDeletedWorklogs(t *testing.T) {
	t.Parallel()
	for _, seed := range []uint64{1, 2, 3, 4} {
		d := genTestSite(seed, 300)
		now := genTestNow().Truncate(time.Millisecond)
		assert.GreaterOrEqual(t, len(d.DeletedWorklogs), 10)
		assert.LessOrEqual(t, len(d.DeletedWorklogs), 30)
		assert.True(t, slices.IsSortedFunc(d.DeletedWorklogs, func(a, b *DeletedWorklog) int { return a.Deleted.Compare(b.Deleted) }))
		ids := map[int]bool{}
		sameTime := false
		for i, dw := range d.DeletedWorklogs {
			assert.False(t, dw.Deleted.Before(now.AddDate(-1, 0, 0)) || dw.Deleted.After(now), "deleted %v", dw.Deleted)
			assert.False(t, ids[dw.ID])
			ids[dw.ID] = true
			sameTime = sameTime || i > 0 && dw.Deleted.Equal(d.DeletedWorklogs[i-1].Deleted)
		}
		assert.True(t, sameTime, "two deletions in the same millisecond")
		for _, is := range d.Issues {
			for _, w := range is.Worklogs {
				assert.False(t, ids[w.ID], "worklog %d is both live and deleted", w.ID)
			}
		}
	}
}

func BenchmarkGenerate20k(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Generate(GenOptions{Seed: 1, Issues: 20_000, Now: genTestNow()})
	}
}

// TestGenerateLongHistories: --long-histories sets the changelog length of
// the issues with the most history.
func TestGenerateLongHistories(t *testing.T) {
	t.Parallel()
	longest := func(d *Data) int {
		n := 0
		for _, is := range d.Issues {
			n = max(n, len(is.Histories))
		}
		return n
	}
	base := GenOptions{Seed: 3, Issues: 600, Now: genTestNow()}
	long := base
	long.LongHistories = 5000
	d := Generate(long)
	assert.Less(t, longest(Generate(base)), 400)
	assert.Equal(t, 5000, longest(d))
	n := 0
	for _, is := range d.Issues {
		if len(is.Histories) == 5000 {
			n++
			for i := 1; i < len(is.Histories); i++ {
				require.False(t, is.Histories[i].Created.Before(is.Histories[i-1].Created), "histories in time order")
			}
		}
	}
	assert.Positive(t, n)
	assert.Len(t, d.Issues, 600)
}

// TestGenerateLongComments: --long-comments sets the number of comments of
// the issues with the most of them.
func TestGenerateLongComments(t *testing.T) {
	t.Parallel()
	most := func(d *Data) (n, at int) {
		for _, is := range d.Issues {
			switch {
			case len(is.Comments) > n:
				n, at = len(is.Comments), 1
			case len(is.Comments) == n:
				at++
			}
		}
		return n, at
	}
	base := GenOptions{Seed: 3, Issues: 600, Now: genTestNow()}
	long := base
	long.LongComments = 3000
	d, b := Generate(long), Generate(base)
	n, _ := most(b)
	assert.Less(t, n, 300)
	n, at := most(d)
	assert.Equal(t, 3000, n)
	assert.Positive(t, at)
	assert.Len(t, d.Issues, 600)
}

// TestGenerateHistoriesOnEveryIssue: --histories sets every issue's
// changelog length.
func TestGenerateHistoriesOnEveryIssue(t *testing.T) {
	t.Parallel()
	d := Generate(GenOptions{Seed: 3, Issues: 300, Histories: 50, Now: genTestNow()})
	require.Len(t, d.Issues, 300)
	for _, is := range d.Issues {
		require.Len(t, is.Histories, 50, is.Key)
	}
}
