package jirasim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// jiraLayout is how Jira writes timestamps: milliseconds and an offset
// without a colon, in the user's time zone.
const jiraLayout = "2006-01-02T15:04:05.000-0700"

func (s *Server) ts(t time.Time) string { return t.In(s.loc).Format(jiraLayout) }

func orNil[T any](v *T, f func(*T) any) any {
	if v == nil {
		return nil
	}
	return f(v)
}

func avatarURLs(base, id string) map[string]any {
	m := map[string]any{}
	for _, size := range []string{"48x48", "24x24", "16x16", "32x32"} {
		m[size] = base + "/secure/useravatar?size=" + size + "&ownerId=" + id
	}
	return m
}

func (s *Server) userJSON(base string, u *User) map[string]any {
	if u == nil {
		return nil
	}
	m := map[string]any{
		"displayName": u.DisplayName,
		"active":      u.Active,
		"timeZone":    u.TimeZone,
	}
	if s.opts.Flavor == DataCenter {
		m["self"] = base + "/rest/api/2/user?username=" + u.Name
		m["name"] = u.Name
		m["key"] = u.Key
		m["avatarUrls"] = avatarURLs(base, u.Key)
	} else {
		m["self"] = base + "/rest/api/2/user?accountId=" + u.AccountID
		m["accountId"] = u.AccountID
		m["accountType"] = u.AccountType
		m["avatarUrls"] = avatarURLs(base, u.AccountID)
	}
	if u.Email != "" {
		m["emailAddress"] = u.Email
	}
	if u.Locale != "" {
		m["locale"] = u.Locale
	}
	return m
}

func categoryJSON(base string, c *Category) map[string]any {
	return map[string]any{
		"self":        base + "/rest/api/2/projectCategory/" + strconv.Itoa(c.ID),
		"id":          strconv.Itoa(c.ID),
		"name":        c.Name,
		"description": c.Description,
	}
}

func projectTypeJSON(t *ProjectType) map[string]any {
	return map[string]any{
		"key":                t.Key,
		"formattedKey":       t.FormattedKey,
		"descriptionI18nKey": t.DescriptionI18nKey,
		"icon":               t.Icon,
		"color":              t.Color,
	}
}

func (s *Server) projectJSON(base string, p *Project, expand map[string]bool) map[string]any {
	id := strconv.Itoa(p.ID)
	m := map[string]any{
		"expand":         "description,lead,issueTypes,url,projectKeys,permissions,insight",
		"self":           base + "/rest/api/2/project/" + id,
		"id":             id,
		"key":            p.Key,
		"name":           p.Name,
		"avatarUrls":     avatarURLs(base, "project-"+id),
		"projectTypeKey": p.TypeKey,
		"simplified":     p.Simplified,
		"style":          map[bool]string{true: "next-gen", false: "classic"}[p.Simplified],
		"isPrivate":      false,
		"properties":     map[string]any{},
	}
	if p.Category != nil {
		m["projectCategory"] = categoryJSON(base, p.Category)
	}
	if expand["description"] {
		m["description"] = p.Description
	}
	if expand["lead"] {
		m["lead"] = s.userJSON(base, p.Lead)
	}
	if expand["url"] {
		m["url"] = ""
	}
	if expand["projectKeys"] {
		m["projectKeys"] = []any{p.Key}
	}
	if expand["issueTypes"] {
		var types []any
		for i, name := range []string{"Task", "Bug", "Story", "Epic"} {
			types = append(types, map[string]any{
				"self": base + "/rest/api/2/issuetype/" + strconv.Itoa(10001+i), "id": strconv.Itoa(10001 + i),
				"name": name, "subtask": false, "description": name + "s", "iconUrl": base + "/images/icons/" + strings.ToLower(name) + ".svg",
			})
		}
		m["issueTypes"] = types
	}
	return m
}

func versionJSON(base string, p *Project, v *Version) map[string]any {
	id := strconv.Itoa(v.ID)
	m := map[string]any{
		"self":      base + "/rest/api/2/version/" + id,
		"id":        id,
		"name":      v.Name,
		"archived":  v.Archived,
		"released":  v.Released,
		"projectId": p.ID,
	}
	if v.Description != "" {
		m["description"] = v.Description
	}
	if v.StartDate != "" {
		m["startDate"] = v.StartDate
		m["userStartDate"] = userDate(v.StartDate)
	}
	if v.ReleaseDate != "" {
		m["releaseDate"] = v.ReleaseDate
		m["userReleaseDate"] = userDate(v.ReleaseDate)
		m["overdue"] = v.Overdue
	}
	return m
}

// userDate renders a yyyy-mm-dd date as Jira's localized display string
// (02/Jan/26), which is not a timestamp: a trap for taps that pass it on.
func userDate(d string) string {
	t, err := time.Parse(time.DateOnly, d)
	if err != nil {
		return d
	}
	return t.Format("02/Jan/06")
}

func (s *Server) componentJSON(base string, p *Project, c *Component) map[string]any {
	id := strconv.Itoa(c.ID)
	m := map[string]any{
		"self":                base + "/rest/api/2/component/" + id,
		"id":                  id,
		"name":                c.Name,
		"assigneeType":        c.AssigneeType,
		"realAssigneeType":    c.AssigneeType,
		"isAssigneeTypeValid": true,
		"project":             p.Key,
		"projectId":           p.ID,
	}
	if c.Description != "" {
		m["description"] = c.Description
	}
	if c.Lead != nil {
		m["lead"] = s.userJSON(base, c.Lead)
	}
	return m
}

func resolutionJSON(base string, r *Resolution) map[string]any {
	id := strconv.Itoa(r.ID)
	return map[string]any{
		"self":        base + "/rest/api/2/resolution/" + id,
		"id":          id,
		"name":        r.Name,
		"description": r.Description,
		"iconUrl":     base + "/images/icons/resolution.png",
	}
}

func (s *Server) roleJSON(base string, r *Role) map[string]any {
	actors := []any{}
	for i, u := range r.Actors {
		name := u.AccountID
		if s.opts.Flavor == DataCenter {
			name = u.Name
		}
		actors = append(actors, map[string]any{
			"id": r.ID*100 + i, "displayName": u.DisplayName, "type": "atlassian-user-role-actor", "name": name,
			"avatarUrl": base + "/secure/useravatar?size=xsmall&ownerId=" + name,
		})
	}
	return map[string]any{
		"self":        base + "/rest/api/2/role/" + strconv.Itoa(r.ID),
		"id":          r.ID,
		"name":        r.Name,
		"description": r.Description,
		"actors":      actors,
		"scope":       map[string]any{"type": "GLOBAL"},
	}
}

func fieldJSON(f *Field) map[string]any {
	m := map[string]any{
		"id": f.ID, "key": f.Key, "name": f.Name, "custom": f.Custom,
		"orderable": true, "navigable": true, "searchable": true,
		"clauseNames": []any{f.ID},
	}
	if f.Schema.Type != "" {
		schema := map[string]any{"type": f.Schema.Type}
		if f.Schema.Items != "" {
			schema["items"] = f.Schema.Items
		}
		if f.Custom {
			schema["custom"] = f.Schema.Custom
			id, _ := strconv.Atoi(strings.TrimPrefix(f.ID, "customfield_"))
			schema["customId"] = id
		} else {
			schema["system"] = f.ID
		}
		m["schema"] = schema
	}
	return m
}

func (s *Server) commentJSON(base string, is *Issue, c *Comment) map[string]any {
	id := strconv.Itoa(c.ID)
	return map[string]any{
		"self":         base + "/rest/api/2/issue/" + strconv.Itoa(is.ID) + "/comment/" + id,
		"id":           id,
		"author":       s.userJSON(base, c.Author),
		"updateAuthor": s.userJSON(base, c.Author),
		"body":         c.Body,
		"created":      s.ts(c.Created),
		"updated":      s.ts(c.Updated),
		"jsdPublic":    true,
	}
}

func (s *Server) historyJSON(base string, h *History, fieldIDs map[string]bool) map[string]any {
	items := []any{}
	for _, it := range h.Items {
		if fieldIDs != nil && !fieldIDs[it.FieldID] {
			continue
		}
		items = append(items, map[string]any{
			"field": it.Field, "fieldtype": it.FieldType, "fieldId": it.FieldID,
			"from": nullable(it.From), "fromString": nullable(it.FromString),
			"to": nullable(it.To), "toString": nullable(it.ToString),
		})
	}
	return map[string]any{
		"id":      strconv.Itoa(h.ID),
		"author":  s.userJSON(base, h.Author),
		"created": s.ts(h.Created),
		"items":   items,
	}
}

func nullable(v string) any {
	if v == "" {
		return nil
	}
	return v
}

func (s *Server) worklogJSON(base string, w *Worklog) map[string]any {
	id := strconv.Itoa(w.ID)
	issueID := strconv.Itoa(w.IssueID)
	return map[string]any{
		"self":             base + "/rest/api/2/issue/" + issueID + "/worklog/" + id,
		"author":           s.userJSON(base, w.Author),
		"updateAuthor":     s.userJSON(base, w.Author),
		"comment":          w.Comment,
		"created":          s.ts(w.Created),
		"updated":          s.ts(w.Updated),
		"started":          s.ts(w.Started),
		"timeSpent":        formatSpent(w.TimeSpentSeconds),
		"timeSpentSeconds": w.TimeSpentSeconds,
		"id":               id,
		"issueId":          issueID,
	}
}

func formatSpent(sec int) string {
	h, m := sec/3600, sec%3600/60
	switch {
	case h > 0 && m > 0:
		return fmt.Sprintf("%dh %dm", h, m)
	case h > 0:
		return fmt.Sprintf("%dh", h)
	default:
		return fmt.Sprintf("%dm", m)
	}
}

func statusJSON(base, name string) map[string]any {
	id, cat, color := "10000", "new", "blue-gray"
	switch name {
	case "In Progress":
		id, cat, color = "3", "indeterminate", "yellow"
	case "Done":
		id, cat, color = "10001", "done", "green"
	}
	return map[string]any{
		"self": base + "/rest/api/2/status/" + id, "id": id, "name": name, "description": "",
		"iconUrl":        base + "/images/icons/statuses/generic.png",
		"statusCategory": map[string]any{"key": cat, "colorName": color, "name": name},
	}
}

func transitionJSON(base string, t *Transition) map[string]any {
	return map[string]any{
		"id": t.ID, "name": t.Name, "to": statusJSON(base, t.ToStatus),
		"hasScreen": false, "isGlobal": true, "isInitial": false, "isAvailable": true, "isConditional": false, "looped": false,
	}
}

// fieldSpec is a parsed `fields` parameter.
type fieldSpec struct {
	all  bool
	only map[string]bool
	key  string // canonical, for caching
}

// parseFields reads Jira's fields parameter: *all, *navigable, a list,
// exclusions with a leading minus. def applies when the parameter is absent.
func parseFields(list []string, def string) fieldSpec {
	var items []string
	for _, v := range list {
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); f != "" {
				items = append(items, f)
			}
		}
	}
	if len(items) == 0 {
		items = []string{def}
	}
	spec := fieldSpec{only: map[string]bool{}}
	var excluded []string
	for _, f := range items {
		switch {
		case f == "*all" || f == "*navigable":
			spec.all = true
		case strings.HasPrefix(f, "-"):
			excluded = append(excluded, f[1:])
		default:
			spec.only[f] = true
		}
	}
	for _, f := range excluded {
		delete(spec.only, f)
		if spec.all {
			spec.only["-"+f] = true
		}
	}
	keys := make([]string, 0, len(spec.only))
	for k := range spec.only {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	spec.key = fmt.Sprintf("%v|%s", spec.all, strings.Join(keys, ","))
	return spec
}

func (f fieldSpec) has(name string) bool {
	if f.all {
		return !f.only["-"+name]
	}
	return f.only[name]
}

// idOnly reports whether no field beyond id and key is wanted, which lets
// Cloud serve up to 5000 issues a page.
func (f fieldSpec) idOnly() bool {
	if f.all {
		return false
	}
	for k := range f.only {
		if k != "id" && k != "key" {
			return false
		}
	}
	return true
}

// limits caps embedded child lists, as each Jira endpoint does.
type limits struct{ changelog, comments, worklogs int }

func parseExpand(list []string) map[string]bool {
	m := map[string]bool{}
	for _, v := range list {
		for _, e := range strings.Split(v, ",") {
			if e = strings.TrimSpace(e); e != "" {
				m[e] = true
			}
		}
	}
	return m
}

func expandKey(m map[string]bool) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return strings.Join(keys, ",")
}

// maxRendered bounds the cache of rendered issues and worklogs.
const maxRendered = 250000

// issueJSON renders an issue, cached until the issue changes. Callers hold
// s.mu (read).
func (s *Server) issueJSON(base string, is *Issue, fields fieldSpec, expand map[string]bool, lim limits) []byte {
	key := fmt.Sprintf("%s|%d|%d|%s|%s|%v", base, is.ID, s.rev[is.ID], fields.key, expandKey(expand), lim)
	return s.rendered(key, func() any { return s.issueMap(base, is, fields, expand, lim) })
}

// renderedWorklog is a worklog's JSON, cached until the worklog changes.
func (s *Server) renderedWorklog(base string, w *Worklog) []byte {
	key := fmt.Sprintf("%s|w%d|%d", base, w.ID, w.Updated.UnixNano())
	return s.rendered(key, func() any { return s.worklogJSON(base, w) })
}

// rendered is the JSON of what build returns, cached under key, which
// must change when it does.
func (s *Server) rendered(key string, build func() any) []byte {
	if b, ok := s.render.Load(key); ok {
		return b.([]byte)
	}
	b, err := json.Marshal(build())
	if err != nil {
		panic(fmt.Sprintf("jirasim: rendering %s: %v", key, err))
	}
	// Bound the cache: a 100k-issue site would otherwise keep gigabytes.
	if s.renders.Add(1) > maxRendered {
		s.render.Clear()
		s.renders.Store(0)
	}
	s.render.Store(key, b)
	return b
}

// pageBuffers keep the buffers pages are built in: a fresh megabyte per
// bulkfetch page cost the simulator more CPU (zeroing it) than the page.
var pageBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// pageBuffer is an empty buffer from the pool with room for size bytes;
// put it back when its bytes are written.
func pageBuffer(size int) *bytes.Buffer {
	b := pageBuffers.Get().(*bytes.Buffer)
	b.Reset()
	b.Grow(size)
	return b
}

// releasePageBuffer returns a buffer to the pool, unless a huge page made
// it too large to keep.
func releasePageBuffer(b *bytes.Buffer) {
	if b.Cap() <= 16<<20 {
		pageBuffers.Put(b)
	}
}

func (s *Server) issueMap(base string, is *Issue, fields fieldSpec, expand map[string]bool, lim limits) map[string]any {
	id := strconv.Itoa(is.ID)
	m := map[string]any{"id": id}
	if fields.idOnly() && s.opts.Flavor == Cloud && !fields.has("key") {
		// search/jql with the default fields returns ids and nothing else.
		return m
	}
	m["expand"] = "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations"
	m["self"] = base + "/rest/api/2/issue/" + id
	m["key"] = is.Key
	f := map[string]any{}
	put := func(name string, v func() any) {
		if fields.has(name) {
			f[name] = v()
		}
	}
	p := is.Project
	put("summary", func() any { return is.Summary })
	put("description", func() any { return is.Description })
	put("environment", func() any { return nil })
	put("issuetype", func() any {
		return map[string]any{"self": base + "/rest/api/2/issuetype/1", "id": "10001", "name": is.IssueType, "subtask": false, "hierarchyLevel": 0}
	})
	put("project", func() any {
		return map[string]any{"self": base + "/rest/api/2/project/" + strconv.Itoa(p.ID), "id": strconv.Itoa(p.ID), "key": p.Key, "name": p.Name, "projectTypeKey": p.TypeKey, "simplified": p.Simplified}
	})
	put("status", func() any { return statusJSON(base, is.Status) })
	put("statuscategorychangedate", func() any { return s.ts(is.Created) })
	put("priority", func() any {
		return map[string]any{"self": base + "/rest/api/2/priority/3", "id": "3", "name": is.Priority}
	})
	put("resolution", func() any { return orNil(is.Resolution, func(r *Resolution) any { return resolutionJSON(base, r) }) })
	put("resolutiondate", func() any {
		if is.Resolution == nil {
			return nil
		}
		return s.ts(is.Updated)
	})
	put("assignee", func() any { return orNil(is.Assignee, func(u *User) any { return s.userJSON(base, u) }) })
	put("reporter", func() any { return s.userJSON(base, is.Reporter) })
	put("creator", func() any { return s.userJSON(base, is.Creator) })
	put("labels", func() any { return append([]string{}, is.Labels...) })
	put("components", func() any {
		out := []any{}
		for _, c := range is.Components {
			out = append(out, map[string]any{"self": base + "/rest/api/2/component/" + strconv.Itoa(c.ID), "id": strconv.Itoa(c.ID), "name": c.Name})
		}
		return out
	})
	put("fixVersions", func() any {
		out := []any{}
		for _, v := range is.FixVersions {
			out = append(out, versionJSON(base, p, v))
		}
		return out
	})
	put("versions", func() any { return []any{} })
	put("created", func() any { return s.ts(is.Created) })
	put("updated", func() any { return s.ts(is.Updated) })
	put("lastViewed", func() any { return nil })
	put("duedate", func() any { return nil })
	spent := 0
	for _, w := range is.Worklogs {
		spent += w.TimeSpentSeconds
	}
	put("timespent", func() any { return nilIfZero(spent) })
	put("aggregatetimespent", func() any { return nilIfZero(spent) })
	put("timeoriginalestimate", func() any { return nil })
	put("timeestimate", func() any { return nil })
	put("progress", func() any { return map[string]any{"progress": spent, "total": spent} })
	put("aggregateprogress", func() any { return map[string]any{"progress": spent, "total": spent} })
	put("votes", func() any {
		return map[string]any{"self": base + "/rest/api/2/issue/" + is.Key + "/votes", "votes": 0, "hasVoted": false}
	})
	put("watches", func() any {
		return map[string]any{"self": base + "/rest/api/2/issue/" + is.Key + "/watchers", "watchCount": 1, "isWatching": false}
	})
	put("subtasks", func() any { return []any{} })
	put("issuelinks", func() any { return []any{} })
	put("attachment", func() any { return []any{} })
	put("security", func() any { return nil })
	for _, fd := range s.data.Fields {
		if !fd.Custom {
			continue
		}
		put(fd.ID, func() any { return s.customValue(is.Custom[fd.ID]) })
	}
	put("comment", func() any {
		page := capped(is.Comments, lim.comments, false)
		out := make([]any, len(page))
		for i, c := range page {
			out[i] = s.commentJSON(base, is, c)
		}
		return map[string]any{"comments": out, "self": base + "/rest/api/2/issue/" + id + "/comment",
			"maxResults": len(page), "total": len(is.Comments), "startAt": 0}
	})
	put("worklog", func() any {
		page := capped(is.Worklogs, lim.worklogs, false)
		out := make([]any, len(page))
		for i, w := range page {
			out[i] = s.worklogJSON(base, w)
		}
		return map[string]any{"startAt": 0, "maxResults": max(lim.worklogs, len(page)), "total": len(is.Worklogs), "worklogs": out}
	})
	m["fields"] = f
	if expand["changelog"] {
		// Real Jira embeds only the most recent histories while saying
		// startAt 0: a tap must compare total with what it got.
		page := capped(is.Histories, lim.changelog, true)
		out := make([]any, len(page))
		for i, h := range page {
			out[i] = s.historyJSON(base, h, nil)
		}
		m["changelog"] = map[string]any{"startAt": 0, "maxResults": len(page), "total": len(is.Histories), "histories": out}
	}
	if expand["transitions"] {
		out := make([]any, len(is.Transitions))
		for i, t := range is.Transitions {
			out[i] = transitionJSON(base, t)
		}
		m["transitions"] = out
	}
	if expand["renderedFields"] {
		m["renderedFields"] = map[string]any{
			"description": "<p>" + html.EscapeString(is.Description) + "</p>",
			"created":     is.Created.In(s.loc).Format("02/Jan/06 3:04 PM"),
			"updated":     is.Updated.In(s.loc).Format("02/Jan/06 3:04 PM"),
		}
	}
	if expand["names"] {
		names := map[string]any{}
		for _, fd := range s.data.Fields {
			if fields.has(fd.ID) {
				names[fd.ID] = fd.Name
			}
		}
		m["names"] = names
	}
	return m
}

func nilIfZero(n int) any {
	if n == 0 {
		return nil
	}
	return n
}

// customValue renders a custom field value: date-times in the user's zone.
func (s *Server) customValue(v any) any {
	if t, ok := v.(time.Time); ok {
		return s.ts(t)
	}
	return v
}

// capped returns at most n items (all when n is 0): the first ones, or the
// last ones when newest is set.
func capped[T any](items []T, n int, newest bool) []T {
	if n <= 0 || len(items) <= n {
		return items
	}
	if newest {
		return items[len(items)-n:]
	}
	return items[:n]
}
