package jirasim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var simNow = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

type client struct {
	t    testing.TB
	srv  *httptest.Server
	sim  *Server
	auth func(*http.Request)
}

func newSim(t testing.TB, flavor Flavor, tz string, issues int, faults Faults) *client {
	t.Helper()
	loc, err := time.LoadLocation(tz)
	require.NoError(t, err)
	start := time.Now()
	sim := New(Options{
		Flavor: flavor, TZ: loc, Email: "sim@example.com", Token: "tok", PAT: "pat-123",
		Faults: faults,
		Gen:    GenOptions{Seed: 7, Issues: issues, Projects: 3, Users: 25, Now: simNow},
		// A frozen clock: tests move it with Advance.
		Clock: func() time.Time { return start },
	})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	c := &client{t: t, srv: srv, sim: sim}
	if flavor == DataCenter {
		c.auth = func(r *http.Request) { r.Header.Set("Authorization", "Bearer pat-123") }
	} else {
		c.auth = func(r *http.Request) { r.SetBasicAuth("sim@example.com", "tok") }
	}
	return c
}

// do sends a request and returns status, headers and body.
func (c *client) do(method, path string, body any) (int, http.Header, []byte) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(c.t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.srv.URL+path, rd)
	require.NoError(c.t, err)
	if c.auth != nil {
		c.auth(req)
	}
	resp, err := c.srv.Client().Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	return resp.StatusCode, resp.Header, b
}

// get decodes a 200 JSON answer.
func (c *client) get(path string, v any) {
	c.t.Helper()
	c.json(http.MethodGet, path, nil, v)
}

func (c *client) json(method, path string, body, v any) {
	c.t.Helper()
	status, _, b := c.do(method, path, body)
	require.Equal(c.t, http.StatusOK, status, "%s %s: %s", method, path, b)
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	require.NoError(c.t, dec.Decode(v), "%s %s", method, path)
}

// comments reads every comment of an issue from its /comment pages.
func (c *client) comments(issueID string) []map[string]any {
	c.t.Helper()
	var all []map[string]any
	for at := 0; ; {
		var page struct {
			Comments []map[string]any `json:"comments"`
			Total    int              `json:"total"`
		}
		c.get(fmt.Sprintf("/rest/api/2/issue/%s/comment?startAt=%d", issueID, at), &page)
		all = append(all, page.Comments...)
		at += len(page.Comments)
		if len(page.Comments) == 0 || at >= page.Total {
			return all
		}
	}
}

func keys(recs []TruthRecord) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = strings.Join(r.Key, "/")
	}
	slices.Sort(out)
	return out
}

func sorted(s []string) []string {
	slices.Sort(s)
	return s
}

// collect pages through every endpoint a tap uses and returns the keys it
// saw per stream, failing on any duplicate.
func (c *client) collect(t *testing.T) map[string][]string {
	t.Helper()
	got := map[string][]string{}
	seen := map[string]bool{}
	add := func(stream string, key ...string) {
		k := strings.Join(key, "/")
		require.False(t, seen[stream+"|"+k], "duplicate %s %s", stream, k)
		seen[stream+"|"+k] = true
		got[stream] = append(got[stream], k)
	}
	str := func(v any) string { return fmt.Sprint(v) }
	cloud := c.sim.Flavor() == Cloud

	// projects, versions, components
	var projectIDs []string
	if cloud {
		for startAt := 0; ; {
			var page struct {
				Values []map[string]any `json:"values"`
				IsLast bool             `json:"isLast"`
			}
			c.get(fmt.Sprintf("/rest/api/2/project/search?startAt=%d&maxResults=2", startAt), &page)
			for _, p := range page.Values {
				add("projects", str(p["id"]))
				projectIDs = append(projectIDs, str(p["id"]))
			}
			startAt += len(page.Values)
			if page.IsLast {
				break
			}
		}
	} else {
		var list []map[string]any
		c.get("/rest/api/2/project", &list)
		for _, p := range list {
			add("projects", str(p["id"]))
			projectIDs = append(projectIDs, str(p["id"]))
		}
	}
	for _, pid := range projectIDs {
		for startAt := 0; ; {
			var page struct {
				Values []map[string]any `json:"values"`
				IsLast bool             `json:"isLast"`
			}
			c.get(fmt.Sprintf("/rest/api/2/project/%s/version?startAt=%d", pid, startAt), &page)
			for _, v := range page.Values {
				add("versions", str(v["id"]))
			}
			startAt += len(page.Values)
			if page.IsLast {
				break
			}
		}
		if cloud {
			for startAt := 0; ; {
				var page struct {
					Values []map[string]any `json:"values"`
					IsLast bool             `json:"isLast"`
				}
				c.get(fmt.Sprintf("/rest/api/2/project/%s/component?startAt=%d", pid, startAt), &page)
				for _, v := range page.Values {
					add("components", str(v["id"]))
				}
				startAt += len(page.Values)
				if page.IsLast {
					break
				}
			}
		} else {
			var list []map[string]any
			c.get("/rest/api/2/project/"+pid+"/components", &list)
			for _, v := range list {
				add("components", str(v["id"]))
			}
		}
	}
	for path, stream := range map[string]string{"/projectCategory": "project_categories", "/resolution": "resolutions", "/role": "roles"} {
		var list []map[string]any
		c.get("/rest/api/2"+path, &list)
		for _, v := range list {
			add(stream, str(v["id"]))
		}
	}
	var types []map[string]any
	c.get("/rest/api/2/project/type", &types)
	for _, v := range types {
		add("project_types", str(v["key"]))
	}
	// users: a bare array, paged until an empty page
	for startAt := 0; ; {
		var page []map[string]any
		if cloud {
			c.get(fmt.Sprintf("/rest/api/2/users/search?startAt=%d&maxResults=7", startAt), &page)
		} else {
			c.get(fmt.Sprintf("/rest/api/2/user/search?username=.&startAt=%d&maxResults=7", startAt), &page)
		}
		if len(page) == 0 {
			break
		}
		for _, u := range page {
			if cloud {
				add("users", str(u["accountId"]))
			} else {
				add("users", str(u["key"]))
			}
		}
		startAt += len(page)
	}
	// issues and their children
	jql := url.QueryEscape(`updated >= "2020-01-01 00:00" ORDER BY updated ASC, id ASC`)
	var issues []map[string]any
	if cloud {
		token := ""
		for {
			path := "/rest/api/2/search/jql?jql=" + jql + "&fields=*all&expand=changelog,transitions&maxResults=100"
			if token != "" {
				path += "&nextPageToken=" + url.QueryEscape(token)
			}
			var page struct {
				Issues        []map[string]any `json:"issues"`
				NextPageToken string           `json:"nextPageToken"`
				IsLast        bool             `json:"isLast"`
			}
			c.get(path, &page)
			issues = append(issues, page.Issues...)
			if page.NextPageToken == "" {
				require.True(t, page.IsLast)
				break
			}
			token = page.NextPageToken
		}
	} else {
		for startAt := 0; ; {
			var page struct {
				Issues []map[string]any `json:"issues"`
				Total  int              `json:"total"`
			}
			c.get("/rest/api/2/search?jql="+jql+"&fields=*all&expand=changelog,transitions&maxResults=200&startAt="+strconv.Itoa(startAt), &page)
			issues = append(issues, page.Issues...)
			startAt += len(page.Issues)
			if startAt >= page.Total || len(page.Issues) == 0 {
				break
			}
		}
	}
	for _, is := range issues {
		id := str(is["id"])
		add("issues", id)
		fields := is["fields"].(map[string]any)
		// comments: use the embedded page unless truncated
		emb := fields["comment"].(map[string]any)
		comments := emb["comments"].([]any)
		if total, _ := emb["total"].(json.Number).Int64(); int(total) > len(comments) {
			comments = nil
			for _, cm := range c.comments(id) {
				comments = append(comments, cm)
			}
		}
		for _, cm := range comments {
			add("issue_comments", str(cm.(map[string]any)["id"]))
		}
		cl := is["changelog"].(map[string]any)
		histories := cl["histories"].([]any)
		if total, _ := cl["total"].(json.Number).Int64(); int(total) > len(histories) {
			histories = nil
			if cloud {
				for startAt := 0; ; {
					var page struct {
						Values []any `json:"values"`
						IsLast bool  `json:"isLast"`
					}
					c.get(fmt.Sprintf("/rest/api/2/issue/%s/changelog?startAt=%d", id, startAt), &page)
					histories = append(histories, page.Values...)
					startAt += len(page.Values)
					if page.IsLast {
						break
					}
				}
			} else {
				var full map[string]any
				c.get("/rest/api/2/issue/"+id+"?fields=id&expand=changelog", &full)
				histories = full["changelog"].(map[string]any)["histories"].([]any)
			}
		}
		for _, h := range histories {
			add("changelogs", str(h.(map[string]any)["id"]))
		}
		for _, tr := range is["transitions"].([]any) {
			add("issue_transitions", str(tr.(map[string]any)["id"]), id)
		}
	}
	// worklogs: the feed, then the details
	next := "/rest/api/2/worklog/updated?since=0"
	for {
		var page struct {
			Values []struct {
				WorklogID json.Number `json:"worklogId"`
			} `json:"values"`
			NextPage string `json:"nextPage"`
			LastPage bool   `json:"lastPage"`
		}
		c.get(next, &page)
		ids := []json.Number{}
		for _, v := range page.Values {
			ids = append(ids, v.WorklogID)
		}
		var list []map[string]any
		c.json(http.MethodPost, "/rest/api/2/worklog/list", map[string]any{"ids": ids}, &list)
		for _, wl := range list {
			k := str(wl["id"])
			if !seen["worklogs|"+k] { // the feed repeats the boundary item
				add("worklogs", k)
			}
		}
		if page.LastPage {
			break
		}
		next = strings.TrimPrefix(page.NextPage, c.srv.URL)
	}
	return got
}

func TestPagingYieldsGroundTruth(t *testing.T) {
	t.Parallel()
	for _, flavor := range []Flavor{Cloud, DataCenter} {
		t.Run(string(flavor), func(t *testing.T) {
			t.Parallel()
			c := newSim(t, flavor, "America/Los_Angeles", 400, Faults{})
			// Worklogs from the last minute are not in the feed yet: move on.
			c.sim.Advance(2 * time.Minute)
			got := c.collect(t)
			truth := c.sim.Truth()
			require.Len(t, truth.Streams, 13)
			for stream, recs := range truth.Streams {
				require.NotEmpty(t, recs, stream)
				assert.Equal(t, keys(recs), sorted(got[stream]), stream)
			}
		})
	}
}

func TestTruthHasTheTraps(t *testing.T) {
	t.Parallel()
	c := newSim(t, Cloud, "UTC", 400, Faults{})
	d := c.sim.Data()
	var bigComments, bigHistories, bigWorklogs bool
	for _, is := range d.Issues {
		bigComments = bigComments || len(is.Comments) > 150
		bigHistories = bigHistories || len(is.Histories) > 250
		bigWorklogs = bigWorklogs || len(is.Worklogs) > 40
	}
	assert.True(t, bigComments && bigHistories && bigWorklogs)
	assert.Greater(t, len(d.Projects[0].Versions), 100)
}

func TestCloudSearchBehavesLikeJira(t *testing.T) {
	t.Parallel()
	c := newSim(t, Cloud, "UTC", 300, Faults{})
	jql := url.QueryEscape(`updated >= "2020-01-01" ORDER BY updated ASC, id ASC`)

	// The removed search answers 410 with Jira's message; search/jql is there.
	for _, path := range []string{"/rest/api/2/search?jql=" + jql, "/rest/api/3/search?jql=" + jql} {
		status, _, body := c.do(http.MethodGet, path, nil)
		assert.Equal(t, http.StatusGone, status, path)
		assert.Contains(t, string(body), "/rest/api/3/search/jql")
	}
	status, _, _ := c.do(http.MethodPost, "/rest/api/2/search", map[string]any{"jql": "project = ALPHA"})
	assert.Equal(t, http.StatusGone, status)

	// fields default to id only; no total; the token is absent on the last page.
	var idPage map[string]any
	c.get("/rest/api/2/search/jql?jql="+jql+"&maxResults=1000", &idPage)
	issues := idPage["issues"].([]any)
	assert.Len(t, issues, 300, "id-only pages go up to 5000")
	assert.Equal(t, []string{"id"}, mapKeys(issues[0].(map[string]any)))
	assert.NotContains(t, idPage, "total")
	assert.Equal(t, true, idPage["isLast"])

	var full map[string]any
	c.get("/rest/api/2/search/jql?jql="+jql+"&fields=*all&maxResults=1000", &full)
	assert.Len(t, full["issues"].([]any), 100, "full issues are capped at 100 a page")
	assert.Equal(t, false, full["isLast"])
	assert.NotEmpty(t, full["nextPageToken"])

	var last map[string]any
	c.get("/rest/api/2/search/jql?jql="+url.QueryEscape(`updated >= "2020-01-01" AND id <= 10002`)+"&fields=summary", &last)
	assert.Len(t, last["issues"].([]any), 3)
	assert.Equal(t, true, last["isLast"])
	assert.NotContains(t, last, "nextPageToken", "absent, not null, on the last page")

	// POST works the same and takes a token from a GET of the same JQL.
	var post map[string]any
	c.json(http.MethodPost, "/rest/api/2/search/jql", map[string]any{"jql": `updated >= "2020-01-01" ORDER BY updated ASC, id ASC`, "fields": []string{"id"}, "maxResults": 10}, &post)
	assert.Len(t, post["issues"].([]any), 10)

	for name, path := range map[string]string{
		"unbounded":       "/rest/api/2/search/jql?jql=" + url.QueryEscape("ORDER BY key DESC"),
		"bad jql":         "/rest/api/2/search/jql?jql=" + url.QueryEscape(`updated >= "2026-01-02T03:04:05Z"`),
		"or is not taken": "/rest/api/2/search/jql?jql=" + url.QueryEscape(`project = A OR project = B`),
		"foreign token":   "/rest/api/2/search/jql?jql=" + jql + "&nextPageToken=" + pageToken("project = X", 5),
	} {
		status, _, body := c.do(http.MethodGet, path, nil)
		assert.Equal(t, http.StatusBadRequest, status, name)
		var e struct {
			ErrorMessages []string `json:"errorMessages"`
		}
		require.NoError(t, json.Unmarshal(body, &e), name)
		assert.NotEmpty(t, e.ErrorMessages, name)
	}
	// approximate count
	var count struct {
		Count int `json:"count"`
	}
	c.json(http.MethodPost, "/rest/api/2/search/approximate-count", map[string]any{"jql": `updated >= "2020-01-01"`}, &count)
	assert.Equal(t, 300, count.Count)
}

func mapKeys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestDataCenterFlavor(t *testing.T) {
	t.Parallel()
	c := newSim(t, DataCenter, "Europe/Berlin", 120, Faults{})
	status, _, _ := c.do(http.MethodGet, "/rest/api/2/search/jql?jql=project%3DALPHA", nil)
	assert.Equal(t, http.StatusNotFound, status, "no search/jql on Data Center")
	var page map[string]any
	c.get("/rest/api/2/search?jql="+url.QueryEscape(`updated >= "2020-01-01"`)+"&maxResults=50&startAt=100", &page)
	assert.Equal(t, json.Number("120"), page["total"])
	assert.Equal(t, json.Number("100"), page["startAt"])
	assert.Len(t, page["issues"].([]any), 20)
	var info map[string]any
	c.get("/rest/api/2/serverInfo", &info)
	assert.Equal(t, "DataCenter", info["deploymentType"])

	// Basic auth is refused for a PAT-only site; a wrong token too.
	c.auth = func(r *http.Request) { r.Header.Set("Authorization", "Bearer nope") }
	status, _, _ = c.do(http.MethodGet, "/rest/api/2/myself", nil)
	assert.Equal(t, http.StatusUnauthorized, status)
}

func TestAuthAndUnknownPaths(t *testing.T) {
	t.Parallel()
	c := newSim(t, Cloud, "UTC", 20, Faults{})
	cases := []struct {
		name   string
		auth   func(*http.Request)
		path   string
		status int
		seraph string
	}{
		{"no credentials", func(*http.Request) {}, "/rest/api/2/myself", 401, ""},
		{"wrong token", func(r *http.Request) { r.SetBasicAuth("sim@example.com", "wrong") }, "/rest/api/2/myself", 401, "AUTHENTICATED_FAILED"},
		{"bearer on cloud", func(r *http.Request) { r.Header.Set("Authorization", "Bearer pat-123") }, "/rest/api/2/myself", 401, ""},
		{"server info is public", func(*http.Request) {}, "/rest/api/2/serverInfo", 200, ""},
		{"right credentials", func(r *http.Request) { r.SetBasicAuth("sim@example.com", "tok") }, "/rest/api/2/myself", 200, ""},
		{"unknown path", func(r *http.Request) { r.SetBasicAuth("sim@example.com", "tok") }, "/rest/api/2/nothing/here", 404, ""},
		{"unknown issue", func(r *http.Request) { r.SetBasicAuth("sim@example.com", "tok") }, "/rest/api/2/issue/999999/comment", 404, ""},
	}
	for _, tc := range cases {
		c.auth = tc.auth
		status, h, body := c.do(http.MethodGet, tc.path, nil)
		assert.Equal(t, tc.status, status, tc.name)
		assert.Equal(t, tc.seraph, h.Get("X-Seraph-LoginReason"), tc.name)
		assert.True(t, json.Valid(body), "%s: JSON body: %s", tc.name, body)
		if status != 200 {
			assert.Contains(t, string(body), "errorMessages", tc.name)
		}
	}
	var me map[string]any
	c.auth = func(r *http.Request) { r.SetBasicAuth("sim@example.com", "tok") }
	c.get("/rest/api/2/myself", &me)
	assert.Equal(t, "UTC", me["timeZone"])
}

func TestEmbeddedChildrenAreTruncated(t *testing.T) {
	t.Parallel()
	c := newSim(t, Cloud, "UTC", 300, Faults{})
	var big *Issue
	for _, is := range c.sim.Data().Issues {
		if len(is.Histories) > 250 && big == nil {
			big = is
		}
	}
	require.NotNil(t, big)
	var page struct {
		Issues []struct {
			Changelog struct {
				StartAt   int              `json:"startAt"`
				Total     int              `json:"total"`
				Histories []map[string]any `json:"histories"`
			} `json:"changelog"`
		} `json:"issues"`
	}
	c.get("/rest/api/2/search/jql?jql="+url.QueryEscape(fmt.Sprintf("id = %d", big.ID))+"&fields=*all&expand=changelog", &page)
	require.Len(t, page.Issues, 1)
	cl := page.Issues[0].Changelog
	assert.Equal(t, len(big.Histories), cl.Total)
	assert.Len(t, cl.Histories, 40)
	assert.Equal(t, 0, cl.StartAt)
	assert.Equal(t, strconv.Itoa(big.Histories[len(big.Histories)-1].ID), cl.Histories[39]["id"], "the newest are embedded")

	// bulkfetch takes at most 100 ids
	ids := make([]string, 101)
	for i := range ids {
		ids[i] = strconv.Itoa(10000 + i)
	}
	status, _, _ := c.do(http.MethodPost, "/rest/api/2/issue/bulkfetch", map[string]any{"issueIdsOrKeys": ids})
	assert.Equal(t, http.StatusBadRequest, status)
	var bulk struct {
		Issues      []map[string]any `json:"issues"`
		IssueErrors []any            `json:"issueErrors"`
	}
	c.json(http.MethodPost, "/rest/api/2/issue/bulkfetch", map[string]any{"issueIdsOrKeys": []string{strconv.Itoa(big.ID), "NOPE-1"}, "fields": []string{"summary"}}, &bulk)
	assert.Len(t, bulk.Issues, 1)
	assert.Len(t, bulk.IssueErrors, 1)

	// changelog bulkfetch pages through every history, oldest first
	var all []string
	token := ""
	for {
		var resp struct {
			IssueChangeLogs []struct {
				IssueID         string           `json:"issueId"`
				ChangeHistories []map[string]any `json:"changeHistories"`
			} `json:"issueChangeLogs"`
			NextPageToken string `json:"nextPageToken"`
		}
		body := map[string]any{"issueIdsOrKeys": []string{strconv.Itoa(big.ID)}, "maxResults": 100}
		if token != "" {
			body["nextPageToken"] = token
		}
		c.json(http.MethodPost, "/rest/api/2/changelog/bulkfetch", body, &resp)
		for _, g := range resp.IssueChangeLogs {
			for _, h := range g.ChangeHistories {
				all = append(all, h["id"].(string))
			}
		}
		if resp.NextPageToken == "" {
			break
		}
		token = resp.NextPageToken
	}
	assert.Len(t, all, len(big.Histories))
}

// TestJQLTimeZoneOverHTTP is the worked example: a user in
// America/Los_Angeles, a bookmark of 2026-03-08T09:59:59Z, one second before
// the spring-forward change.
func TestJQLTimeZoneOverHTTP(t *testing.T) {
	t.Parallel()
	loc, err := time.LoadLocation("America/Los_Angeles")
	require.NoError(t, err)
	start := time.Now()
	sim := New(Options{Flavor: Cloud, TZ: loc, Email: "e", Token: "t",
		Gen:   GenOptions{Seed: 3, Issues: 30, Projects: 1, Users: 5, Now: time.Date(2026, 3, 8, 9, 0, 0, 0, time.UTC)},
		Clock: func() time.Time { return start }})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	touched := map[string]string{}
	for _, at := range []string{"09:59:59", "10:00:00", "12:00:00"} {
		target, _ := time.Parse(time.RFC3339, "2026-03-08T"+at+"Z")
		sim.Advance(target.Sub(sim.Now()))
		m := sim.Mutate(1, 0)
		touched[m.Issues[0]] = at
	}
	search := func(jql string) []string {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/rest/api/2/search/jql?jql="+url.QueryEscape(jql), nil)
		req.SetBasicAuth("e", "t")
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, 200, resp.StatusCode)
		var page struct {
			Issues []struct{ ID string } `json:"issues"`
		}
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&page))
		var ids []string
		for _, is := range page.Issues {
			if _, ok := touched[is.ID]; ok {
				ids = append(ids, touched[is.ID])
			}
		}
		slices.Sort(ids)
		return ids
	}
	// Right: the bookmark in the user's zone, floored to the minute (01:59 PST).
	assert.Equal(t, []string{"09:59:59", "10:00:00", "12:00:00"}, search(`updated >= "2026-03-08 01:59"`))
	// Wrong: the UTC wall clock read as Los Angeles time (09:59 PDT = 16:59Z) misses all three.
	assert.Empty(t, search(`updated >= "2026-03-08 09:59"`))
	// Epoch milliseconds need no zone.
	assert.Equal(t, []string{"10:00:00", "12:00:00"}, search(fmt.Sprintf("updated >= %d", time.Date(2026, 3, 8, 10, 0, 0, 0, time.UTC).UnixMilli())))
}

func TestWorklogFeed(t *testing.T) {
	t.Parallel()
	c := newSim(t, Cloud, "UTC", 2500, Faults{})
	var first struct {
		Values   []map[string]any `json:"values"`
		LastPage bool             `json:"lastPage"`
		NextPage string           `json:"nextPage"`
		Until    json.Number      `json:"until"`
	}
	c.get("/rest/api/2/worklog/updated?since=0", &first)
	total := len(c.sim.Truth().Streams["worklogs"])
	require.Greater(t, total, 1000, "the test needs more than one page")
	assert.Len(t, first.Values, 1000)
	assert.False(t, first.LastPage)
	assert.Contains(t, first.NextPage, "since="+first.Until.String())

	// Nothing from the last minute: a mutated worklog shows only later.
	// Every worklog rendered (and cached) before one changes: the list
	// shows the change.
	updatedOf := map[string]string{}
	var all []string
	for _, w := range c.sim.Truth().Streams["worklogs"] {
		all = append(all, w.Key[0])
	}
	for chunk := range slices.Chunk(all, 1000) {
		var list []map[string]any
		c.json(http.MethodPost, "/rest/api/2/worklog/list", map[string]any{"ids": chunk}, &list)
		for _, w := range list {
			updatedOf[fmt.Sprint(w["id"])] = fmt.Sprint(w["updated"])
		}
	}
	require.Len(t, updatedOf, len(all))
	m := c.sim.Mutate(0, 1)
	var list []map[string]any
	c.json(http.MethodPost, "/rest/api/2/worklog/list", map[string]any{"ids": m.Worklogs}, &list)
	require.Len(t, list, 1)
	assert.NotEqual(t, updatedOf[m.Worklogs[0]], list[0]["updated"], "a changed worklog is rendered again")
	now := c.sim.Now().UnixMilli()
	var feed struct {
		Values []map[string]any `json:"values"`
	}
	c.get(fmt.Sprintf("/rest/api/2/worklog/updated?since=%d", now-1000), &feed)
	assert.Empty(t, feed.Values)
	c.sim.Advance(61 * time.Second)
	c.get(fmt.Sprintf("/rest/api/2/worklog/updated?since=%d", now-1000), &feed)
	require.Len(t, feed.Values, 1)
	assert.Equal(t, m.Worklogs[0], fmt.Sprint(feed.Values[0]["worklogId"]))

	// list takes at most 1000 ids
	ids := make([]int, 1001)
	status, _, _ := c.do(http.MethodPost, "/rest/api/2/worklog/list", map[string]any{"ids": ids})
	assert.Equal(t, http.StatusBadRequest, status)
	var deleted struct {
		Values []map[string]any `json:"values"`
	}
	c.get("/rest/api/2/worklog/deleted?since=0", &deleted)
	assert.NotEmpty(t, deleted.Values)
}

func TestFaultsNeverChangeData(t *testing.T) {
	t.Parallel()
	for name, f := range map[string]Faults{
		"throttle": {Seed: 1, ThrottleRate: 1},
		"fail":     {Seed: 1, FailRate: 1},
		"cut":      {Seed: 1, CutRate: 1},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := newSim(t, Cloud, "UTC", 50, f)
			before := c.sim.Truth()
			req, _ := http.NewRequest(http.MethodGet, c.srv.URL+"/rest/api/2/project/search", nil)
			req.SetBasicAuth("sim@example.com", "tok")
			resp, err := c.srv.Client().Do(req)
			if name == "cut" {
				if err == nil {
					_, err = io.ReadAll(resp.Body)
					resp.Body.Close()
				}
				require.Error(t, err, "the body is cut short")
				assert.EqualValues(t, 1, c.sim.FaultCounts().Cut)
			} else {
				require.NoError(t, err)
				resp.Body.Close()
				if name == "throttle" {
					assert.Equal(t, 429, resp.StatusCode)
					assert.NotEmpty(t, resp.Header.Get("Retry-After"))
				} else {
					assert.GreaterOrEqual(t, resp.StatusCode, 500)
				}
			}
			assert.Equal(t, before, c.sim.Truth())
			// control endpoints are never faulted
			var truth Truth
			c.get("/__sim/truth", &truth)
			assert.Equal(t, before.Streams["issues"], truth.Streams["issues"])
		})
	}
}

func TestControlEndpoints(t *testing.T) {
	t.Parallel()
	c := newSim(t, Cloud, "UTC", 40, Faults{})
	before := c.sim.Truth()
	var m Mutation
	c.json(http.MethodPost, "/__sim/mutate", map[string]any{"issues": 3, "worklogs": 2}, &m)
	assert.Len(t, m.Issues, 3)
	assert.Len(t, m.Worklogs, 2)
	after := c.sim.Truth()
	changed := 0
	for i, r := range after.Streams["issues"] {
		if r.Updated != before.Streams["issues"][i].Updated {
			changed++
			assert.Equal(t, after.Now, r.Updated)
		}
	}
	assert.GreaterOrEqual(t, changed, 3)
	assert.Len(t, after.Streams["changelogs"], len(before.Streams["changelogs"])+3, "each mutated issue gets a history")

	var adv struct {
		Now string `json:"now"`
	}
	c.json(http.MethodPost, "/__sim/advance", map[string]any{"seconds": 3600}, &adv)
	assert.Equal(t, simNow.Add(time.Hour).Format("2006-01-02T15:04:05.000Z"), adv.Now)

	c.get("/rest/api/2/myself", &map[string]any{})
	c.do(http.MethodGet, "/rest/api/2/nope", nil)
	var stats struct {
		Total    int                         `json:"total"`
		Requests map[string]map[string]int64 `json:"requests"`
	}
	c.get("/__sim/stats", &stats)
	assert.Equal(t, 2, stats.Total, "control requests are not counted: %v", stats.Requests)
	assert.EqualValues(t, 1, stats.Requests["GET /rest/api/2/myself"]["200"])
	c.json(http.MethodPost, "/__sim/stats/reset", map[string]any{}, &map[string]any{})
	c.get("/__sim/stats", &stats)
	assert.Equal(t, 0, stats.Total)
}

// BenchmarkSearch20kConcurrent pages full issues of a 20k-issue site with
// 16 concurrent clients; requests/s is what the simulator can serve.
func BenchmarkSearch20kConcurrent(b *testing.B) {
	c := newSim(b, Cloud, "UTC", 20000, Faults{})
	jql := url.QueryEscape(`updated >= "2020-01-01" ORDER BY updated ASC, id ASC`)
	// Page tokens of the whole result, so each request is an independent page.
	var tokens []string
	token := ""
	for {
		tokens = append(tokens, token)
		var page struct {
			NextPageToken string `json:"nextPageToken"`
		}
		c.get("/rest/api/2/search/jql?jql="+jql+"&fields=id&maxResults=100", &page)
		_ = page
		if len(tokens) >= 200 {
			break
		}
		token = pageToken(`updated >= "2020-01-01" ORDER BY updated ASC, id ASC`, len(tokens)*100)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 32}
	hc := &http.Client{Transport: tr}
	b.ResetTimer()
	var mu sync.Mutex
	n := 0
	b.SetParallelism(8) // 8 × GOMAXPROCS(2) = 16 clients
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			path := "/rest/api/2/search/jql?jql=" + jql + "&fields=*all&expand=changelog,transitions&maxResults=100"
			if t := tokens[i%len(tokens)]; t != "" {
				path += "&nextPageToken=" + t
			}
			i++
			req, _ := http.NewRequest(http.MethodGet, c.srv.URL+path, nil)
			req.SetBasicAuth("sim@example.com", "tok")
			resp, err := hc.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
		mu.Lock()
		n += i
		mu.Unlock()
	})
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "req/s")
	b.ReportMetric(float64(n*100)/b.Elapsed().Seconds(), "issues/s")
}

// TestDataCenterSearchWhole: the Data Center search embeds the last 100
// changelog entries and the first 20 comments of an issue, and with
// DCSearchWhole every one of them.
func TestDataCenterSearchWhole(t *testing.T) {
	t.Parallel()
	for _, whole := range []bool{false, true} {
		t.Run(fmt.Sprintf("whole=%v", whole), func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			sim := New(Options{Flavor: DataCenter, TZ: time.UTC, PAT: "pat-123", DCSearchWhole: whole,
				Gen: GenOptions{Seed: 7, Issues: 300, Projects: 3, Users: 25, Now: simNow}, Clock: func() time.Time { return start }})
			srv := httptest.NewServer(sim)
			t.Cleanup(srv.Close)
			c := &client{t: t, srv: srv, sim: sim, auth: func(r *http.Request) { r.Header.Set("Authorization", "Bearer pat-123") }}
			for _, pick := range []func(*Issue) int{
				func(is *Issue) int { return len(is.Comments) },
				func(is *Issue) int { return len(is.Histories) },
			} {
				var big *Issue
				for _, is := range sim.Data().Issues {
					if big == nil || pick(is) > pick(big) {
						big = is
					}
				}
				var page struct {
					Issues []struct {
						Fields struct {
							Comment struct {
								Total    int   `json:"total"`
								Comments []any `json:"comments"`
							} `json:"comment"`
						} `json:"fields"`
						Changelog struct {
							Total     int   `json:"total"`
							Histories []any `json:"histories"`
						} `json:"changelog"`
					} `json:"issues"`
				}
				c.json(http.MethodPost, "/rest/api/2/search", map[string]any{"jql": fmt.Sprintf("id = %d", big.ID), "fields": []string{"*all"}, "expand": []string{"changelog"}}, &page)
				require.Len(t, page.Issues, 1)
				is := page.Issues[0]
				assert.Equal(t, len(big.Comments), is.Fields.Comment.Total)
				assert.Equal(t, len(big.Histories), is.Changelog.Total)
				wantComments, wantHistories := min(len(big.Comments), 20), min(len(big.Histories), 100)
				if whole {
					wantComments, wantHistories = len(big.Comments), len(big.Histories)
				}
				assert.Len(t, is.Fields.Comment.Comments, wantComments)
				assert.Len(t, is.Changelog.Histories, wantHistories)
			}
		})
	}
}

// TestSearchLag: with SearchLag, search finds and orders a changed issue by
// its updated before the change until the lag has passed, while bulkfetch,
// and the fields search returns, give it as it is.
func TestSearchLag(t *testing.T) {
	t.Parallel()
	start := time.Now()
	sim := New(Options{Flavor: Cloud, TZ: time.UTC, Email: "e", Token: "t", SearchLag: 2 * time.Minute,
		Gen:   GenOptions{Seed: 3, Issues: 40, Projects: 1, Users: 5, Now: time.Date(2026, 3, 8, 9, 0, 0, 0, time.UTC)},
		Clock: func() time.Time { return start }})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	post := func(path string, body any, v any) {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, bytes.NewReader(b))
		req.SetBasicAuth("e", "t")
		req.Header.Set("Content-Type", "application/json")
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, 200, resp.StatusCode)
		require.NoError(t, json.NewDecoder(resp.Body).Decode(v))
	}
	type issue struct {
		ID     string `json:"id"`
		Fields struct {
			Updated string `json:"updated"`
		} `json:"fields"`
	}
	search := func(jql string) []issue {
		var page struct{ Issues []issue }
		post("/rest/api/2/search/jql", map[string]any{"jql": jql, "fields": []string{"updated"}, "maxResults": 100}, &page)
		return page.Issues
	}
	ids := func(iss []issue) []string {
		var out []string
		for _, is := range iss {
			out = append(out, is.ID)
		}
		return out
	}
	before := sim.Truth().Streams["issues"]
	oldUpdated := map[string]string{}
	for _, r := range before {
		oldUpdated[r.Key[0]] = r.Updated
	}
	sim.Advance(time.Minute)
	changed := sim.Mutate(1, 0).Issues[0]
	newUpdated := sim.Now().Truncate(time.Millisecond)
	since := fmt.Sprintf(`updated >= %d ORDER BY updated ASC`, newUpdated.Add(-30*time.Second).UnixMilli())
	old, err := time.Parse(time.RFC3339, oldUpdated[changed])
	require.NoError(t, err)
	byOld := fmt.Sprintf(`updated >= %d AND updated <= %d ORDER BY updated ASC`, old.UnixMilli(), old.UnixMilli())

	assert.NotContains(t, ids(search(since)), changed, "not found by its new updated yet")
	got := search(byOld)
	require.Contains(t, ids(got), changed, "still found by its old updated")
	for _, is := range got {
		if is.ID == changed {
			u, err := time.Parse("2006-01-02T15:04:05.000-0700", is.Fields.Updated)
			require.NoError(t, err)
			assert.True(t, u.Equal(newUpdated), "its fields are as they are: %v", u)
		}
	}
	var bulk struct{ Issues []issue }
	post("/rest/api/2/issue/bulkfetch", map[string]any{"issueIdsOrKeys": []string{changed}, "fields": []string{"updated"}}, &bulk)
	require.Len(t, bulk.Issues, 1)

	sim.Advance(2 * time.Minute)
	assert.Contains(t, ids(search(since)), changed, "found by its new updated once the lag has passed")
	assert.NotContains(t, ids(search(byOld)), changed)
}

// TestDateIsTheSiteClock: every answer's Date is the site's clock, as
// Advance moves it, not this machine's; a refused login's too.
func TestDateIsTheSiteClock(t *testing.T) {
	t.Parallel()
	start := time.Now()
	now := time.Date(2026, 3, 8, 9, 0, 0, 0, time.UTC)
	sim := New(Options{Flavor: DataCenter, TZ: time.UTC, PAT: "pat",
		Gen:   GenOptions{Seed: 3, Issues: 5, Projects: 1, Users: 5, Now: now},
		Clock: func() time.Time { return start }})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	for _, tc := range []struct {
		advance time.Duration
		auth    string
		status  int
	}{
		{0, "Bearer pat", http.StatusOK},
		{90 * time.Minute, "Bearer pat", http.StatusOK},
		{time.Second, "Bearer wrong", http.StatusUnauthorized},
	} {
		sim.Advance(tc.advance)
		req, err := http.NewRequest(http.MethodGet, srv.URL+"/rest/api/2/myself", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", tc.auth)
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		_ = resp.Body.Close()
		require.Equal(t, tc.status, resp.StatusCode)
		date, err := http.ParseTime(resp.Header.Get("Date"))
		require.NoError(t, err)
		assert.Equal(t, sim.Now().Truncate(time.Second), date)
	}
}

// TestMutateComments: a new comment is the last of its issue's list, so on
// an issue with more comments than are embedded only its /comment pages
// show it; an edit changes a comment's body and updated; either updates the
// issue, and the truth has each comment's own updated.
func TestMutateComments(t *testing.T) {
	t.Parallel()
	c := newSim(t, Cloud, "UTC", 300, Faults{})
	embedded := func(id string) []map[string]any {
		var page struct {
			Issues []struct {
				Fields struct {
					Comment struct {
						Comments []map[string]any `json:"comments"`
					} `json:"comment"`
				} `json:"fields"`
			} `json:"issues"`
		}
		c.json(http.MethodPost, "/rest/api/2/issue/bulkfetch", map[string]any{"issueIdsOrKeys": []string{id}, "fields": []string{"comment"}}, &page)
		require.Len(t, page.Issues, 1)
		return page.Issues[0].Fields.Comment.Comments
	}
	before := map[string][]map[string]any{}
	for _, is := range c.sim.Data().Issues {
		id := strconv.Itoa(is.ID)
		before[id] = c.comments(id) // rendered (and cached) before the change
	}
	c.sim.Advance(time.Hour)
	m := c.sim.MutateComments(4)
	require.Len(t, m.Issues, 4)
	require.Len(t, m.Comments, 4)
	now := c.sim.Now().UTC().Truncate(time.Millisecond)
	truth := map[string]TruthRecord{}
	for _, r := range c.sim.Truth().Streams["issue_comments"] {
		truth[r.Key[0]] = r
	}
	issues := map[string]TruthRecord{}
	for _, r := range c.sim.Truth().Streams["issues"] {
		issues[r.Key[0]] = r
	}
	for k, id := range m.Issues {
		after := c.comments(id)
		changed := m.Comments[k]
		assert.Equal(t, rfc(now), issues[id].Updated, "the issue is updated")
		assert.Equal(t, rfc(now), truth[changed].OwnUpdated)
		at := slices.IndexFunc(after, func(x map[string]any) bool { return x["id"] == changed })
		require.GreaterOrEqual(t, at, 0, "comment %s is listed", changed)
		if len(after) > len(before[id]) {
			assert.Equal(t, len(after)-1, at, "a new comment is the last")
			if k == 0 {
				assert.Greater(t, len(before[id]), 20, "the first issue has the most comments, more than are embedded")
				assert.NotContains(t, embedded(id), after[at], "only its /comment pages show it")
			}
		} else {
			assert.Contains(t, after[at]["body"], "(edited)")
			assert.NotEqual(t, before[id][at]["updated"], after[at]["updated"], "an edited comment is rendered again")
		}
	}
}

// TestFeedPage: Options.FeedPage sizes the worklog feeds' pages, which
// then chain as Jira's 1000-item pages do: each from the last one's until,
// that item again first, until lastPage.
func TestFeedPage(t *testing.T) {
	t.Parallel()
	sim := New(Options{Flavor: Cloud, TZ: time.UTC, Email: "e", Token: "t", FeedPage: 7,
		Gen: GenOptions{Seed: 3, Issues: 40, Projects: 1, Users: 5, Now: simNow}})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	c := &client{t: t, srv: srv, sim: sim, auth: func(r *http.Request) { r.SetBasicAuth("e", "t") }}
	seen := map[string]bool{}
	since, pages := "0", 0
	for {
		var page struct {
			Values []struct {
				WorklogID json.Number `json:"worklogId"`
			} `json:"values"`
			Until    json.Number `json:"until"`
			LastPage bool        `json:"lastPage"`
		}
		c.get("/rest/api/2/worklog/updated?since="+since, &page)
		pages++
		require.LessOrEqual(t, len(page.Values), 7)
		for _, v := range page.Values {
			seen[v.WorklogID.String()] = true
		}
		if page.LastPage {
			break
		}
		require.Len(t, page.Values, 7, "a page before the last is full")
		since = page.Until.String()
	}
	assert.Len(t, seen, len(sim.Truth().Streams["worklogs"]), "every worklog, once the feed is followed to its end")
	assert.Greater(t, pages, 3)
}
