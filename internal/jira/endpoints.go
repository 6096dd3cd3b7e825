package jira

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Record is one JSON object from Jira, decoded with UseNumber so every field
// and every number survives as sent.
type Record = map[string]any

// Post sends a JSON body to path and decodes the JSON answer into v.
func (c *Client) Post(ctx context.Context, path string, body, v any) error {
	return c.do(ctx, "POST", path, nil, body, v)
}

// List reads an endpoint that answers a bare JSON array (projectCategory,
// project/type, resolution, role, ...).
func (c *Client) List(ctx context.Context, path string, query url.Values) ([]Record, error) {
	var out []Record
	if err := c.Get(ctx, path, query, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// recordsIn reads the list of objects under key of a decoded page (none when
// the key is absent or null). Record-carrying pages are decoded as trees
// rather than into structs so that their records come out of the decoder
// with timestamps already normalized.
func recordsIn(path string, page map[string]any, key string) ([]Record, error) {
	list, err := objects(page[key])
	if err != nil {
		return nil, fmt.Errorf("GET %s: decoding body: %w: %q: %w", path, ErrNotJSON, key, err)
	}
	return list, nil
}

// optionalInt reads an integer member that may be absent or null.
func optionalInt(path string, page map[string]any, key string) (n int, ok bool, err error) {
	v, present := page[key]
	if !present || v == nil {
		return 0, false, nil
	}
	n, err = IntOf(v)
	if err != nil {
		return 0, false, fmt.Errorf("GET %s: decoding body: %w: %q: %w", path, ErrNotJSON, key, err)
	}
	return n, true, nil
}

// Paged iterates a startAt/maxResults endpoint that answers Jira's PageBean
// ({values, isLast, total}), one page at a time. It stops on isLast, on
// reaching total, or on an empty page, whichever the endpoint offers; it
// advances by what it received, never by the page size it asked for,
// because Jira may cap a page below it.
func (c *Client) Paged(ctx context.Context, path string, query url.Values, pageSize int) iter.Seq2[[]Record, error] {
	return c.paged(ctx, path, query, pageSize, Full)
}

// paged is Paged decoding each page with shape. Pages overlap by a record,
// so that a record removed meanwhile cannot make another slide out of the
// list (overlapped).
func (c *Client) paged(ctx context.Context, path string, query url.Values, pageSize int, shape *Shape) iter.Seq2[[]Record, error] {
	// One more than the page size: a page overlaps the one before by one.
	return overlapped(ctx, path, pageSize+1, 0, c.pageReader(path, query, shape, "values"))
}

// pageReader reads the pages of a list of records under key.
func (c *Client) pageReader(path string, query url.Values, shape *Shape, key string) pageReader {
	return func(ctx context.Context, startAt, size int) ([]Record, func(int) bool, error) {
		p, err := c.listPage(ctx, path, query, shape, key, startAt, size)
		if err != nil {
			return nil, nil, err
		}
		return p.records, p.last, nil
	}
}

// listPage is one page of a list paged by startAt: its records under key,
// and what it says of where the list ends.
type listPage struct {
	records          []Record
	total            int
	hasTotal, isLast bool
	hasIsLast        bool
}

func (c *Client) listPage(ctx context.Context, path string, query url.Values, shape *Shape, key string, startAt, pageSize int) (listPage, error) {
	q := cloneValues(query)
	q.Set("startAt", strconv.Itoa(startAt))
	q.Set("maxResults", strconv.Itoa(pageSize))
	var page map[string]any
	if err := c.Get(ctx, path, q, shaped{into: &page, shape: shape}); err != nil {
		return listPage{}, err
	}
	var p listPage
	var err error
	if p.records, err = recordsIn(path, page, key); err != nil {
		return listPage{}, err
	}
	if p.total, p.hasTotal, err = optionalInt(path, page, "total"); err != nil {
		return listPage{}, err
	}
	p.isLast, p.hasIsLast = page["isLast"].(bool)
	return p, nil
}

// last reports whether the list ends with this page, at records read in
// all: an empty page, isLast where the endpoint says it, else total; with
// neither, the empty page that follows will say.
func (p listPage) last(at int) bool {
	switch {
	case len(p.records) == 0:
		return true
	case p.hasIsLast:
		return p.isLast
	case p.hasTotal:
		return at >= p.total
	}
	return false
}

// PagedArray iterates an endpoint that answers a bare array per page
// (/users/search): there is no isLast, so it stops at the first empty page.
// Pages overlap by a record, as Paged's do.
func (c *Client) PagedArray(ctx context.Context, path string, query url.Values, pageSize int) iter.Seq2[[]Record, error] {
	return overlapped(ctx, path, pageSize+1, 0, func(ctx context.Context, startAt, size int) ([]Record, func(int) bool, error) {
		q := cloneValues(query)
		q.Set("startAt", strconv.Itoa(startAt))
		q.Set("maxResults", strconv.Itoa(size))
		page, err := c.List(ctx, path, q)
		return page, func(int) bool { return false }, err
	})
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// Myself returns the authenticated user's time zone, which Jira uses to
// read JQL date literals. A run asks once: the answer of a call already
// sent (StartMyself) is shared.
func (c *Client) Myself(ctx context.Context) (*time.Location, error) {
	z := c.zoneCall(ctx)
	select {
	case <-z.done:
		return z.loc, z.err
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

// StartMyself sends the time zone request ahead of need, so it is on the
// wire alongside others (serverInfo) instead of after them. wait returns
// once it is done; callers wait before they return, so it never outlives
// them.
func (c *Client) StartMyself(ctx context.Context) (wait func()) {
	z := c.zoneCall(ctx)
	return func() { <-z.done }
}

// zoneCall is the run's one /myself request, started by whoever needs it
// first.
type zoneCall struct {
	done chan struct{}
	loc  *time.Location
	err  error
}

func (c *Client) zoneCall(ctx context.Context) *zoneCall {
	c.zoneMu.Lock()
	defer c.zoneMu.Unlock()
	if c.zone == nil {
		z := &zoneCall{done: make(chan struct{})}
		c.zone = z
		go func() {
			defer close(z.done)
			z.loc, z.err = c.myself(ctx)
		}()
	}
	return c.zone
}

func (c *Client) myself(ctx context.Context) (*time.Location, error) {
	var me struct {
		TimeZone string `json:"timeZone"`
	}
	if err := c.Get(ctx, "rest/api/2/myself", nil, &me); err != nil {
		return nil, fmt.Errorf("reading the user's time zone: %w", err)
	}
	if me.TimeZone == "" {
		return time.UTC, nil
	}
	loc, err := time.LoadLocation(me.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("the user's time zone %q is unknown here: %w", me.TimeZone, err)
	}
	return loc, nil
}

// SearchPage is one page of issue search results.
type SearchPage struct {
	Issues []Record
	// Next is the Cloud page token of the page after this one; "" on the
	// last page.
	Next string
}

// SearchJQLPage reads one Cloud /search/jql page: the first when token is
// "", else the page token names.
func (c *Client) SearchJQLPage(ctx context.Context, jql string, fields, expand []string, pageSize int, token string) (SearchPage, error) {
	body := map[string]any{"jql": jql, "fields": fields, "maxResults": pageSize}
	if len(expand) > 0 {
		body["expand"] = joinComma(expand)
	}
	if token != "" {
		body["nextPageToken"] = token
	}
	var page map[string]any
	if err := c.Post(ctx, "rest/api/2/search/jql", body, shaped{into: &page, shape: IssuePage}); err != nil {
		return SearchPage{}, fmt.Errorf("searching issues: %w", err)
	}
	issues, err := objects(page["issues"])
	if err != nil {
		return SearchPage{}, fmt.Errorf("searching issues: %w: %w", ErrNotJSON, err)
	}
	// No token means the last page, whatever isLast says; a token that
	// does not change would loop forever.
	next, _ := page["nextPageToken"].(string)
	if next == token || len(issues) == 0 {
		next = ""
	}
	return SearchPage{Issues: issues, Next: next}, nil
}

// SearchIssues pages through the issues matching jql: on Cloud through
// /search/jql with nextPageToken (the removed /search answers 410 there), on
// Data Center through /search with startAt. The JQL is frozen for the whole
// run of pages.
func (c *Client) SearchIssues(ctx context.Context, cloud bool, jql string, fields, expand []string, pageSize int) iter.Seq2[SearchPage, error] {
	return func(yield func(SearchPage, error) bool) {
		if cloud {
			token := ""
			for {
				page, err := c.SearchJQLPage(ctx, jql, fields, expand, pageSize, token)
				if err != nil {
					yield(SearchPage{}, err)
					return
				}
				if !yield(page, nil) || page.Next == "" {
					return
				}
				token = page.Next
			}
		}
		startAt := 0
		for {
			body := map[string]any{"jql": jql, "fields": fields, "maxResults": pageSize, "startAt": startAt}
			if len(expand) > 0 {
				body["expand"] = expand
			}
			page, err := c.searchDC(ctx, body)
			if err != nil {
				yield(SearchPage{}, fmt.Errorf("searching issues: %w", err))
				return
			}
			if !yield(SearchPage{Issues: page.Issues}, nil) {
				return
			}
			startAt += len(page.Issues)
			if len(page.Issues) == 0 || startAt >= page.Total {
				return
			}
		}
	}
}

func joinComma(s []string) string {
	out := ""
	for i, v := range s {
		if i > 0 {
			out += ","
		}
		out += v
	}
	return out
}

// IssueComments returns every comment of an issue, paging /comment. known
// is the total the issue's embedded comments gave (0 if none): the pages it
// implies are read side by side (see childPages).
func (c *Client) IssueComments(ctx context.Context, issueID string, known int) ([]Record, error) {
	return collectPages(c.IssueCommentPages(ctx, issueID, known))
}

// IssueCommentPages iterates the comments of an issue a window of pages at
// a time: for a list too long to hold whole.
func (c *Client) IssueCommentPages(ctx context.Context, issueID string, known int) iter.Seq2[[]Record, error] {
	path := "rest/api/2/issue/" + url.PathEscape(issueID) + "/comment"
	return wrapErr(c.childPages(ctx, path, url.Values{"orderBy": {"created"}}, CommentPage, "comments", known), "reading comments of issue "+issueID)
}

// IssueChangelog returns every changelog entry of an issue: on Cloud by
// paging /changelog (known as for IssueComments), on Data Center (which
// has no such endpoint) from the issue itself with expand=changelog.
func (c *Client) IssueChangelog(ctx context.Context, cloud bool, issueID string, known int) ([]Record, error) {
	return collectPages(c.IssueChangelogPages(ctx, cloud, issueID, known))
}

// IssueChangelogPages iterates the changelog of an issue, oldest first, a
// window of up to LongFrom entries at a time: on Cloud paging /changelog a
// window of pages at a time, as IssueCommentPages does comments; on Data
// Center from one GET of the issue, whose changelog, past LongFrom
// entries, is decoded window by window (a LongList), never built whole.
func (c *Client) IssueChangelogPages(ctx context.Context, cloud bool, issueID string, known int) iter.Seq2[[]Record, error] {
	what := "reading changelog of issue " + issueID
	if cloud {
		path := "rest/api/2/issue/" + url.PathEscape(issueID) + "/changelog"
		return wrapErr(c.childPages(ctx, path, nil, ChangelogPage, "values", known), what)
	}
	return wrapErr(func(yield func([]Record, error) bool) {
		path := "rest/api/2/issue/" + url.PathEscape(issueID)
		q := url.Values{"fields": {"id"}, "expand": {"changelog"}}
		body, err := c.sendSpooled(ctx, http.MethodGet, path, q, nil)
		if err != nil {
			yield(nil, err)
			return
		}
		defer body.Close()
		windows := changelogInMemory(body.data)
		if body.file != nil { // too long to hold: read a window at a time
			windows = changelogWindows(io.NewSectionReader(body.file, 0, body.size), LongFrom)
		}
		for recs, err := range windows {
			if err != nil {
				err = fmt.Errorf("GET /%s: decoding body: %w: %w", path, ErrNotJSON, err)
			}
			if !yield(recs, err) || err != nil {
				return
			}
		}
	}, what)
}

// changelogInMemory is changelogWindows for a body held whole: its
// changelog decoded with the issue, past LongFrom entries a LongList
// decoded a window at a time.
func changelogInMemory(data []byte) iter.Seq2[[]Record, error] {
	return func(yield func([]Record, error) bool) {
		var is map[string]any
		if err := decodeInto(data, shaped{into: &is, shape: ChangelogPage}); err != nil {
			yield(nil, err)
			return
		}
		var changelog map[string]any
		switch v := is["changelog"].(type) {
		case nil:
		case map[string]any:
			changelog = v
		default:
			yield(nil, fmt.Errorf("\"changelog\": expected an object, got %s", kindOf(v)))
			return
		}
		long, ok := changelog["histories"].(*LongList)
		if !ok {
			recs, err := objects(changelog["histories"])
			if err != nil {
				err = fmt.Errorf("\"histories\": %w", err)
			}
			if len(recs) > 0 || err != nil {
				yield(recs, err)
			}
			return
		}
		for recs, err := range long.Records(LongFrom) {
			if err != nil {
				err = fmt.Errorf("\"histories\": %w", err)
			}
			if !yield(recs, err) || err != nil {
				return
			}
		}
	}
}

// collectPages reads a list's pages into one slice.
func collectPages(pages iter.Seq2[[]Record, error]) ([]Record, error) {
	var all []Record
	for recs, err := range pages {
		if err != nil {
			return nil, err
		}
		all = append(all, recs...)
	}
	return all, nil
}

// wrapErr says what was being read in the error pages ends with.
func wrapErr(pages iter.Seq2[[]Record, error], what string) iter.Seq2[[]Record, error] {
	return func(yield func([]Record, error) bool) {
		for recs, err := range pages {
			if err != nil {
				yield(nil, fmt.Errorf("%s: %w", what, err))
				return
			}
			if !yield(recs, nil) {
				return
			}
		}
	}
}

// childPageSize is the most /comment and /changelog give a page.
const childPageSize = 100

// childPages reads a list of an issue paged by startAt, its records under
// key. The issue's embedded list already told its total (known), so the
// pages it implies are read side by side, and the pages queued behind the
// issue's page (output keeps the search's order) do not wait on a chain of
// them; a list longer than a window of pages comes a window at a time, so
// a changelog of any length is never held whole (see overlapped).
func (c *Client) childPages(ctx context.Context, path string, query url.Values, shape *Shape, key string, known int) iter.Seq2[[]Record, error] {
	return overlapped(ctx, path, childPageSize, known, c.pageReader(path, query, shape, key))
}

// FeedPage is one page of the worklog change feed.
type FeedPage struct {
	IDs []json.Number
	// Times are the items' updatedTime (for /worklog/deleted, when each
	// worklog was deleted), in the order of IDs.
	Times []time.Time
	// Until is the feed's high-water mark for this page: the next page, and
	// the next run, start from it.
	Until time.Time
}

// WorklogFeed follows /worklog/updated from since (inclusive) until
// lastPage. Jira leaves out worklogs changed in the last minute; they come
// in a later run.
func (c *Client) WorklogFeed(ctx context.Context, since time.Time) iter.Seq2[FeedPage, error] {
	return c.worklogFeed(ctx, "rest/api/2/worklog/updated", since)
}

// DeletedWorklogFeed follows /worklog/deleted, which has the updated feed's
// shape and rules.
func (c *Client) DeletedWorklogFeed(ctx context.Context, since time.Time) iter.Seq2[FeedPage, error] {
	return c.worklogFeed(ctx, "rest/api/2/worklog/deleted", since)
}

func (c *Client) worklogFeed(ctx context.Context, path string, since time.Time) iter.Seq2[FeedPage, error] {
	what := "the worklog feed"
	if path != "rest/api/2/worklog/updated" {
		what = "the deleted worklog feed"
	}
	return func(yield func(FeedPage, error) bool) {
		sinceMS := since.UnixMilli()
		for {
			var feed struct {
				Values []struct {
					WorklogID   json.Number `json:"worklogId"`
					UpdatedTime int64       `json:"updatedTime"`
				} `json:"values"`
				Until    int64 `json:"until"`
				LastPage bool  `json:"lastPage"`
			}
			q := url.Values{"since": {strconv.FormatInt(sinceMS, 10)}}
			if err := c.Get(ctx, path, q, &feed); err != nil {
				yield(FeedPage{}, fmt.Errorf("reading %s: %w", what, err))
				return
			}
			ids := make([]json.Number, len(feed.Values))
			times := make([]time.Time, len(feed.Values))
			for i, v := range feed.Values {
				ids[i] = v.WorklogID
				times[i] = time.UnixMilli(v.UpdatedTime).UTC()
			}
			until := time.UnixMilli(max(feed.Until, sinceMS)).UTC()
			if !yield(FeedPage{IDs: ids, Times: times, Until: until}, nil) {
				return
			}
			if feed.LastPage || len(feed.Values) == 0 {
				return
			}
			if feed.Until <= sinceMS {
				// A full page sharing one millisecond: following nextPage
				// would return it forever, and skipping ahead would lose
				// worklogs. Stop loudly instead.
				yield(FeedPage{}, &StuckFeedError{Feed: what, At: time.UnixMilli(sinceMS).UTC(), Count: len(feed.Values)})
				return
			}
			sinceMS = feed.Until
		}
	}
}

// StuckFeedError is a worklog feed that cannot advance: a full page of
// worklogs updated (or deleted) in one millisecond, At. Jira pages the feed
// by the millisecond, from since inclusive, so the page after it is the
// same page, and the worklogs of that millisecond past it cannot be read.
type StuckFeedError struct {
	Feed  string // "the worklog feed" or "the deleted worklog feed"
	At    time.Time
	Count int // the page's worklogs, all of them At
}

func (e *StuckFeedError) Error() string {
	return fmt.Sprintf("reading %s: more than %d worklogs share the update time %s (%d ms), and Jira's feed cannot page past one millisecond",
		e.Feed, e.Count, FormatTime(e.At), e.At.UnixMilli())
}

// WorklogList reads the worklogs with these ids (at most 1000).
func (c *Client) WorklogList(ctx context.Context, ids []json.Number) ([]Record, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var worklogs []Record
	if err := c.Post(ctx, "rest/api/2/worklog/list", map[string]any{"ids": ids}, shaped{into: &worklogs, shape: WorklogList}); err != nil {
		return nil, fmt.Errorf("reading worklogs: %w", err)
	}
	return worklogs, nil
}

// Page sizes Jira allows.
const (
	SearchIDPage = 5000 // search/jql pages when only ids are asked for
	BulkFetchMax = 100  // issues per /issue/bulkfetch
)

// BulkFetch reads up to 100 issues by id (Cloud); they come back in
// ascending id order.
func (c *Client) BulkFetch(ctx context.Context, ids []string, fields, expand []string) ([]Record, error) {
	body := map[string]any{"issueIdsOrKeys": ids, "fields": fields}
	if len(expand) > 0 {
		body["expand"] = expand
	}
	var resp map[string]any
	if err := c.Post(ctx, "rest/api/2/issue/bulkfetch", body, shaped{into: &resp, shape: IssuePage}); err != nil {
		return nil, fmt.Errorf("fetching issues: %w", err)
	}
	issues, err := objects(resp["issues"])
	if err != nil {
		return nil, fmt.Errorf("fetching issues: %w: %w", ErrNotJSON, err)
	}
	if errs, _ := resp["issueErrors"].([]any); len(errs) > 0 {
		// Deleted or hidden since the id search: nothing to emit for them.
		c.log.Warn("Jira could not return some issues found by the search", "count", len(errs))
	}
	return issues, nil
}

// IssuesUpdated reads when each of a few issues was last updated (Cloud,
// /issue/bulkfetch with only that field). An issue Jira no longer returns
// is left out.
func (c *Client) IssuesUpdated(ctx context.Context, ids []string) (map[string]time.Time, error) {
	issues, err := c.BulkFetch(ctx, ids, []string{"updated"}, nil)
	if err != nil {
		return nil, err
	}
	out := make(map[string]time.Time, len(issues))
	for _, is := range issues {
		fields, _ := is["fields"].(map[string]any)
		s, _ := fields["updated"].(string)
		t, err := ParseTime(s)
		if err != nil {
			return nil, fmt.Errorf("reading when issue %v was updated: %w", is["id"], err)
		}
		out[fmt.Sprint(is["id"])] = t
	}
	return out, nil
}

// DCPage is one startAt page of the Data Center search.
type DCPage struct {
	Issues []Record
	Total  int // issues the search holds
	Bytes  int // the response's length: what the page weighs
}

// SearchPage reads one startAt page of the Data Center search.
func (c *Client) SearchPage(ctx context.Context, jql string, fields, expand []string, startAt, size int) (DCPage, error) {
	body := map[string]any{"jql": jql, "fields": fields, "maxResults": size, "startAt": startAt}
	if len(expand) > 0 {
		body["expand"] = expand
	}
	page, err := c.searchDC(ctx, body)
	if err != nil {
		return DCPage{}, fmt.Errorf("searching issues at %d: %w", startAt, err)
	}
	return page, nil
}

// searchDC posts a Data Center search and reads its issues and total. A
// page past the spill size is read from a file, its long changelogs and
// comments left there (see compactPage).
func (c *Client) searchDC(ctx context.Context, body map[string]any) (DCPage, error) {
	const path = "rest/api/2/search"
	sp, err := c.sendSpooled(ctx, http.MethodPost, path, nil, body)
	if err != nil {
		return DCPage{}, err
	}
	data, longs, size := sp.data, map[int]*leftLists(nil), int64(len(sp.data))
	if sp.file != nil {
		size = sp.size
		data, longs, err = compactPage(sp.file, size, pageCut)
		if len(longs) == 0 {
			sp.Close() // else the lists hold the file; see LongList
		}
		if err != nil {
			return DCPage{}, fmt.Errorf("POST /%s: decoding body: %w: %w", path, ErrNotJSON, err)
		}
	}
	out, err := dcPage(data, longs)
	if err != nil {
		return DCPage{}, fmt.Errorf("POST /%s: decoding body: %w", path, err)
	}
	out.Bytes = int(size) // the response's length, which sizes the pages after it
	return out, nil
}

// dcPage decodes a Data Center search page, and puts each issue's lists
// left in a file back in their place (see compactPage).
func dcPage(data []byte, longs map[int]*leftLists) (DCPage, error) {
	var page map[string]any
	var out DCPage
	if err := decodeInto(data, shaped{into: &page, shape: IssuePage}); err != nil {
		return DCPage{}, fmt.Errorf("%w: %w", ErrNotJSON, err)
	}
	var err error
	if out.Issues, err = objects(page["issues"]); err != nil {
		return DCPage{}, fmt.Errorf("%w: %w", ErrNotJSON, err)
	}
	if out.Total, err = IntOf(page["total"]); err != nil {
		return DCPage{}, fmt.Errorf("%w: total: %w", ErrNotJSON, err)
	}
	for i, left := range longs {
		if left.histories != nil {
			changelog, ok := out.Issues[i]["changelog"].(map[string]any)
			if !ok {
				return DCPage{}, fmt.Errorf("%w: issue %d: changelog: expected an object", ErrNotJSON, i)
			}
			changelog["histories"] = left.histories
		}
		if left.comments != nil {
			fields, _ := out.Issues[i]["fields"].(map[string]any)
			comment, ok := fields["comment"].(map[string]any)
			if !ok {
				return DCPage{}, fmt.Errorf("%w: issue %d: fields.comment: expected an object", ErrNotJSON, i)
			}
			comment["comments"] = left.comments
		}
	}
	return out, nil
}

// IntOf reads a decoded JSON number as an int.
func IntOf(v any) (int, error) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, fmt.Errorf("expected a number, got %s", kindOf(v))
	}
	i, err := n.Int64()
	return int(i), err
}

// SearchIDDCPage is the Data Center search page size for id-only scans:
// its default cap on search results per page.
const SearchIDDCPage = 1000

// IssueExists reports whether the issue can still be read: false when Jira
// answers 404 (deleted, or no longer visible to the user).
func (c *Client) IssueExists(ctx context.Context, id string) (bool, error) {
	var is struct{}
	err := c.Get(ctx, "rest/api/2/issue/"+url.PathEscape(id), url.Values{"fields": {"id"}}, &is)
	var apiErr *APIError
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound:
		return false, nil
	}
	return false, fmt.Errorf("checking issue %s: %w", id, err)
}

// ExistingIssues reports which of up to 100 issue ids Jira still returns
// (Cloud, /issue/bulkfetch with only the id): the others are deleted or no
// longer visible to the user.
func (c *Client) ExistingIssues(ctx context.Context, ids []string) (map[string]bool, error) {
	var resp struct {
		Issues []struct {
			ID string `json:"id"`
		} `json:"issues"`
	}
	if err := c.Post(ctx, "rest/api/2/issue/bulkfetch", map[string]any{"issueIdsOrKeys": ids, "fields": []string{"id"}}, &resp); err != nil {
		return nil, fmt.Errorf("checking %d issues: %w", len(ids), err)
	}
	found := make(map[string]bool, len(resp.Issues))
	for _, is := range resp.Issues {
		found[is.ID] = true
	}
	return found, nil
}

// IssuesIn returns which of the issues ids (on Cloud at most BulkFetchMax)
// belong to one of projects (keys): on Cloud by /issue/bulkfetch of their
// project field, where an issue that does not exist (or that the user
// cannot see) is only left out; on Data Center by one search of the ids in
// those projects, told to warn, not fail, about an id that does not exist
// (validateQuery false: Data Center answers 400 to JQL naming an issue
// that does not exist, such as one deleted since its worklog was listed;
// the POST body takes a boolean, false being the legacy "warn"). A
// worklog's issue is known by its id only.
func (c *Client) IssuesIn(ctx context.Context, cloud bool, ids, projects []string) (map[string]bool, error) {
	in := make(map[string]bool, len(ids))
	if len(ids) == 0 {
		return in, nil
	}
	if cloud {
		var resp struct {
			Issues []struct {
				ID     string `json:"id"`
				Fields struct {
					Project struct {
						Key string `json:"key"`
					} `json:"project"`
				} `json:"fields"`
			} `json:"issues"`
		}
		if err := c.Post(ctx, "rest/api/2/issue/bulkfetch", map[string]any{"issueIdsOrKeys": ids, "fields": []string{"project"}}, &resp); err != nil {
			return nil, fmt.Errorf("reading the projects of %d issues: %w", len(ids), err)
		}
		for _, is := range resp.Issues {
			if slices.Contains(projects, is.Fields.Project.Key) {
				in[is.ID] = true
			}
		}
		return in, nil
	}
	jql := fmt.Sprintf("id in (%s) AND project in (%s)", strings.Join(ids, ", "), strings.Join(projects, ", "))
	for startAt := 0; ; {
		page, err := c.searchDC(ctx, map[string]any{"jql": jql, "fields": []string{"id"}, "maxResults": SearchIDDCPage, "startAt": startAt, "validateQuery": false})
		if err != nil {
			return nil, fmt.Errorf("reading the projects of %d issues: %w", len(ids), err)
		}
		for _, is := range page.Issues {
			in[fmt.Sprint(is["id"])] = true
		}
		startAt += len(page.Issues)
		if len(page.Issues) == 0 || startAt >= page.Total {
			return in, nil
		}
	}
}

// ChangelogBulkMax is the most issues one /changelog/bulkfetch reads.
const ChangelogBulkMax = 1000

// changelogBulkPage is how many entries a page of /changelog/bulkfetch is
// asked for: few requests (Jira gives up to 10,000), a page small enough to
// hold (about 4 MB of bytes while it waits; fewer made the chain of a
// page's requests the writer's wait, measured).
const changelogBulkPage = 5000

// IssueChangelogs is the changelog entries of one issue in a page of
// /changelog/bulkfetch.
type IssueChangelogs struct {
	IssueID   string
	Histories []Record
}

// ChangelogBulkPage is a page of /changelog/bulkfetch, its groups of
// entries decoded a few at a time as they are read.
type ChangelogBulkPage struct {
	groups any // []any, or a *LongList of them
}

// bulkGroupsAtOnce is how many groups of a page Groups decodes at a time.
const bulkGroupsAtOnce = 64

// Groups iterates the page's groups of entries, each an issue's, in Jira's
// order; an issue may come in several groups.
func (p ChangelogBulkPage) Groups() iter.Seq2[IssueChangelogs, error] {
	return func(yield func(IssueChangelogs, error) bool) {
		bad := func(format string, args ...any) {
			yield(IssueChangelogs{}, fmt.Errorf("reading changelogs in bulk: decoding body: %w: %s", ErrNotJSON, fmt.Sprintf(format, args...)))
		}
		windows := func(yield func([]any, error) bool) { yield(nil, nil) }
		switch g := p.groups.(type) {
		case nil:
		case []any:
			windows = func(yield func([]any, error) bool) { yield(g, nil) }
		case *LongList:
			windows = g.Windows(bulkGroupsAtOnce)
		default:
			bad("%q: expected a list, got %s", "issueChangeLogs", kindOf(g))
			return
		}
		for window, err := range windows {
			if err != nil {
				bad("%v", err)
				return
			}
			groups, err := objects(window)
			if err != nil {
				bad("%q: %v", "issueChangeLogs", err)
				return
			}
			for _, g := range groups {
				id, ok := g["issueId"].(string)
				if !ok || id == "" {
					bad("%q: a group without its issueId", "issueChangeLogs")
					return
				}
				histories, err := objects(g["changeHistories"])
				if err != nil {
					bad("%q of issue %s: %v", "changeHistories", id, err)
					return
				}
				if !yield(IssueChangelogs{IssueID: id, Histories: histories}, nil) {
					return
				}
			}
		}
	}
}

// ChangelogBulk iterates the changelogs of up to ChangelogBulkMax issues
// (Cloud, POST /changelog/bulkfetch) a page at a time, oldest first across
// the issues, each page's entries grouped by issue as Jira groups them (an
// issue may come in several groups and pages).
func (c *Client) ChangelogBulk(ctx context.Context, ids []string) iter.Seq2[ChangelogBulkPage, error] {
	const path = "rest/api/2/changelog/bulkfetch"
	what := fmt.Sprintf("reading changelogs of %d issues", len(ids))
	return func(yield func(ChangelogBulkPage, error) bool) {
		token := ""
		for {
			body := map[string]any{"issueIdsOrKeys": ids, "maxResults": changelogBulkPage}
			if token != "" {
				body["nextPageToken"] = token
			}
			var resp map[string]any
			if err := c.Post(ctx, path, body, shaped{into: &resp, shape: ChangelogBulk}); err != nil {
				yield(ChangelogBulkPage{}, fmt.Errorf("%s: %w", what, err))
				return
			}
			var next string
			switch t := resp["nextPageToken"].(type) {
			case nil:
			case string:
				next = t
			default:
				yield(ChangelogBulkPage{}, fmt.Errorf("%s: POST %s: decoding body: %w: %q: expected a string, got %s", what, path, ErrNotJSON, "nextPageToken", kindOf(t)))
				return
			}
			page := ChangelogBulkPage{groups: resp["issueChangeLogs"]}
			if !yield(page, nil) {
				return
			}
			list, ok := page.groups.([]any)
			if empty := page.groups == nil || (ok && len(list) == 0); next == "" || empty {
				return
			}
			if next == token {
				yield(ChangelogBulkPage{}, fmt.Errorf("%s: POST %s gave the same page token twice", what, path))
				return
			}
			token = next
		}
	}
}
