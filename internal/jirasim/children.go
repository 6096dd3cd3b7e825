package jirasim

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// issueFromPath finds the {id} issue, answering 404 as Jira does. Callers
// hold s.mu (read).
func (s *Server) issueFromPath(w http.ResponseWriter, r *http.Request) *Issue {
	is := s.lookupIssue(r.PathValue("id"))
	if is == nil {
		writeError(w, http.StatusNotFound, "Issue does not exist or you do not have permission to see it.")
	}
	return is
}

func (s *Server) issue(w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	is := s.issueFromPath(w, r)
	if is == nil {
		return
	}
	q := r.URL.Query()
	lim := cloudIssueLimits
	if s.opts.Flavor == DataCenter {
		lim = dcIssueLimits
	}
	writeRaw(w, http.StatusOK, s.issueJSON(baseURL(r), is, parseFields(q["fields"], "*all"), parseExpand(q["expand"]), lim))
}

func (s *Server) issueComments(w http.ResponseWriter, r *http.Request) {
	startAt, n, ok := paging(w, r, 100, 100)
	if !ok {
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	is := s.issueFromPath(w, r)
	if is == nil {
		return
	}
	comments := is.Comments
	if r.URL.Query().Get("orderBy") == "-created" {
		comments = slices.Clone(comments)
		slices.Reverse(comments)
	}
	base := baseURL(r)
	out := []any{}
	for _, c := range window(comments, startAt, n) {
		out = append(out, s.commentJSON(base, is, c))
	}
	writeJSON(w, http.StatusOK, map[string]any{"startAt": startAt, "maxResults": n, "total": len(is.Comments), "comments": out})
}

func (s *Server) issueChangelog(w http.ResponseWriter, r *http.Request) {
	startAt, n, ok := paging(w, r, 100, 100)
	if !ok {
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	is := s.issueFromPath(w, r)
	if is == nil {
		return
	}
	base := baseURL(r)
	values := []any{}
	for _, h := range window(is.Histories, startAt, n) {
		values = append(values, s.historyJSON(base, h, nil))
	}
	self := base + "/rest/api/2/issue/" + strconv.Itoa(is.ID) + "/changelog"
	out := map[string]any{
		"self":       self + "?maxResults=" + strconv.Itoa(n) + "&startAt=" + strconv.Itoa(startAt),
		"maxResults": n, "startAt": startAt, "total": len(is.Histories), "values": values,
	}
	last := startAt+len(values) >= len(is.Histories)
	out["isLast"] = last
	if !last {
		out["nextPage"] = self + "?maxResults=" + strconv.Itoa(n) + "&startAt=" + strconv.Itoa(startAt+len(values))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) issueWorklogs(w http.ResponseWriter, r *http.Request) {
	startAt, n, ok := paging(w, r, 5000, 5000)
	if !ok {
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	is := s.issueFromPath(w, r)
	if is == nil {
		return
	}
	base := baseURL(r)
	out := []any{}
	for _, wl := range window(is.Worklogs, startAt, n) {
		out = append(out, s.worklogJSON(base, wl))
	}
	writeJSON(w, http.StatusOK, map[string]any{"startAt": startAt, "maxResults": n, "total": len(is.Worklogs), "worklogs": out})
}

func (s *Server) issueTransitions(w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	is := s.issueFromPath(w, r)
	if is == nil {
		return
	}
	base := baseURL(r)
	out := []any{}
	for _, t := range is.Transitions {
		out = append(out, transitionJSON(base, t))
	}
	writeJSON(w, http.StatusOK, map[string]any{"expand": "transitions", "transitions": out})
}

const worklogFeedPage = 1000

// feedPage is the items per page of the worklog feeds.
func (s *Server) feedPage() int {
	if s.opts.FeedPage > 0 {
		return s.opts.FeedPage
	}
	return worklogFeedPage
}

type feedItem struct {
	id      int
	updated time.Time
}

// worklogFeed serves /worklog/updated and /worklog/deleted: ids changed
// since a time (inclusive), oldest first, 1000 a page, never the last
// minute — as Jira does.
func (s *Server) worklogFeed(w http.ResponseWriter, r *http.Request, items []feedItem, path string) {
	since := int64(0)
	if v := r.URL.Query().Get("since"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			writeError(w, http.StatusBadRequest, "The 'since' parameter must be a number of milliseconds.")
			return
		}
		since = n
	}
	cutoff := s.Now().Add(-time.Minute)
	slices.SortFunc(items, func(a, b feedItem) int {
		if c := a.updated.Compare(b.updated); c != 0 {
			return c
		}
		return a.id - b.id
	})
	var page []feedItem
	more := false
	for _, it := range items {
		ms := it.updated.UnixMilli()
		if ms < since || it.updated.After(cutoff) {
			continue
		}
		if len(page) == s.feedPage() {
			more = true
			break
		}
		page = append(page, it)
	}
	base := baseURL(r)
	values := make([]any, len(page))
	until := since
	for i, it := range page {
		ms := it.updated.UnixMilli()
		until = ms
		values[i] = map[string]any{"worklogId": it.id, "updatedTime": ms, "properties": []any{}}
	}
	out := map[string]any{
		"values": values, "since": since, "until": until,
		"self":     base + path + "?since=" + strconv.FormatInt(since, 10),
		"lastPage": !more,
	}
	if more {
		out["nextPage"] = base + path + "?since=" + strconv.FormatInt(until, 10)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) worklogsUpdated(w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	items := make([]feedItem, 0, len(s.worklogs))
	for _, wl := range s.worklogs {
		items = append(items, feedItem{wl.ID, wl.Updated})
	}
	s.mu.RUnlock()
	s.worklogFeed(w, r, items, "/rest/api/2/worklog/updated")
}

func (s *Server) worklogsDeleted(w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	items := make([]feedItem, 0, len(s.data.DeletedWorklogs))
	for _, d := range s.data.DeletedWorklogs {
		items = append(items, feedItem{d.ID, d.Deleted})
	}
	s.mu.RUnlock()
	s.worklogFeed(w, r, items, "/rest/api/2/worklog/deleted")
}

func (s *Server) worklogList(w http.ResponseWriter, r *http.Request) {
	var req struct {
		IDs []json.Number `json:"ids"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if len(req.IDs) > worklogFeedPage {
		writeError(w, http.StatusBadRequest, "The number of worklog IDs must not exceed 1000.")
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	base := baseURL(r)
	buf := pageBuffer(0)
	defer releasePageBuffer(buf)
	buf.WriteByte('[')
	first := true
	for _, idv := range req.IDs {
		id, err := strconv.Atoi(idv.String())
		if err != nil {
			continue
		}
		wl := s.worklogs[id]
		if wl == nil {
			continue // deleted or never existed: Jira leaves it out
		}
		b := s.renderedWorklog(base, wl)
		if !first {
			buf.WriteByte(',')
		}
		first = false
		buf.Write(b)
	}
	buf.WriteByte(']')
	writeRaw(w, http.StatusOK, buf.Bytes())
}
