package jirasim

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Jira's page caps.
const (
	cloudSearchDefault = 50
	cloudSearchMax     = 100  // with fields beyond id/key
	cloudSearchIDMax   = 5000 // id/key only
	dcSearchMax        = 1000
	bulkFetchMax       = 100
	changelogBulkIDs   = 1000
	changelogBulkMax   = 10000
)

// Embedded child caps: enhanced search and bulkfetch embed 40 histories and
// 20 comments or worklogs; a single issue GET embeds 100 histories on Cloud
// and everything on Data Center.
var (
	cloudSearchLimits = limits{changelog: 40, comments: 20, worklogs: 20}
	cloudIssueLimits  = limits{changelog: 100, comments: 20, worklogs: 20}
	dcSearchLimits    = limits{changelog: 100, comments: 20, worklogs: 20}
	dcIssueLimits     = limits{}
)

type searchRequest struct {
	JQL           string   `json:"jql"`
	NextPageToken string   `json:"nextPageToken"`
	StartAt       *int     `json:"startAt"`
	MaxResults    *int     `json:"maxResults"`
	Fields        []string `json:"fields"`
	Expand        any      `json:"expand"` // a string on search/jql, a list on /search
}

// readSearch reads a search from the query (GET) or the body (POST).
func readSearch(w http.ResponseWriter, r *http.Request) (searchRequest, bool) {
	var req searchRequest
	if r.Method == http.MethodPost {
		if !decodeBody(w, r, &req) {
			return req, false
		}
		return req, true
	}
	q := r.URL.Query()
	req.JQL = q.Get("jql")
	req.NextPageToken = q.Get("nextPageToken")
	req.Fields = q["fields"]
	if e := q["expand"]; len(e) > 0 {
		req.Expand = strings.Join(e, ",")
	}
	for name, dst := range map[string]**int{"startAt": &req.StartAt, "maxResults": &req.MaxResults} {
		if v := q.Get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				writeError(w, http.StatusBadRequest, "The '"+name+"' parameter must be a non-negative integer.")
				return req, false
			}
			*dst = &n
		}
	}
	return req, true
}

func expandList(v any) []string {
	switch t := v.(type) {
	case string:
		return []string{t}
	case []any:
		var out []string
		for _, e := range t {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// parseQuery parses JQL, answering 400 with Jira's message when it cannot.
func (s *Server) parseQuery(w http.ResponseWriter, jql string, mustBeBounded bool) (*Query, bool) {
	q, err := ParseJQL(jql, s.loc)
	if err != nil {
		var je *JQLError
		if errors.As(err, &je) {
			writeError(w, http.StatusBadRequest, je.Message)
		} else {
			writeError(w, http.StatusBadRequest, err.Error())
		}
		return nil, false
	}
	if mustBeBounded && !q.Bounded() {
		writeError(w, http.StatusBadRequest, "Unbounded JQL queries are not allowed here. Please add a search restriction to your query.")
		return nil, false
	}
	return q, true
}

// pageToken encodes an offset into a result, bound to the query it came
// from, as opaquely as Jira's.
func pageToken(jql string, offset int) string {
	var b [12]byte
	sum := sha256.Sum256([]byte(jql))
	copy(b[:8], sum[:8])
	binary.BigEndian.PutUint32(b[8:], uint32(offset))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func readPageToken(tok, jql string) (int, bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) != 12 {
		return 0, false
	}
	sum := sha256.Sum256([]byte(jql))
	if !bytes.Equal(b[:8], sum[:8]) {
		return 0, false
	}
	return int(binary.BigEndian.Uint32(b[8:])), true
}

// searchJQL is Cloud's enhanced search: token paging, no total, fields
// default to id.
func (s *Server) searchJQL(w http.ResponseWriter, r *http.Request) {
	req, ok := readSearch(w, r)
	if !ok {
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	q, ok := s.parseQuery(w, req.JQL, true)
	if !ok {
		return
	}
	offset := 0
	if req.NextPageToken != "" {
		if offset, ok = readPageToken(req.NextPageToken, req.JQL); !ok {
			writeError(w, http.StatusBadRequest, "The provided next page token is invalid or expired.")
			return
		}
	}
	fields := parseFields(req.Fields, "id")
	maxAllowed := cloudSearchMax
	if fields.idOnly() {
		maxAllowed = cloudSearchIDMax
	}
	n := cloudSearchDefault
	if req.MaxResults != nil {
		n = *req.MaxResults
	}
	n = max(1, min(n, maxAllowed))
	all := s.matching(req.JQL, q)
	page := window(all, offset, n)
	base := baseURL(r)
	expand := parseExpand(expandList(req.Expand))
	var buf bytes.Buffer
	buf.WriteString(`{"issues":[`)
	for i, is := range page {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(s.issueJSON(base, is, fields, expand, cloudSearchLimits))
	}
	buf.WriteString(`]`)
	if next := offset + len(page); next < len(all) {
		buf.WriteString(`,"nextPageToken":"` + pageToken(req.JQL, next) + `","isLast":false}`)
	} else {
		// The token is absent, not null, on the last page.
		buf.WriteString(`,"isLast":true}`)
	}
	writeRaw(w, http.StatusOK, buf.Bytes())
}

// searchDC is Data Center's /search: startAt paging with a total.
func (s *Server) searchDC(w http.ResponseWriter, r *http.Request) {
	req, ok := readSearch(w, r)
	if !ok {
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	q, ok := s.parseQuery(w, req.JQL, false)
	if !ok {
		return
	}
	startAt, n := 0, cloudSearchDefault
	if req.StartAt != nil {
		startAt = *req.StartAt
	}
	if req.MaxResults != nil {
		n = *req.MaxResults
	}
	n = min(n, dcSearchMax)
	all := s.matching(req.JQL, q)
	page := window(all, startAt, n)
	fields := parseFields(req.Fields, "*navigable")
	expand := parseExpand(expandList(req.Expand))
	base := baseURL(r)
	lim := dcSearchLimits
	if s.opts.DCSearchWhole {
		lim.changelog, lim.comments = 0, 0
	}
	var buf bytes.Buffer
	buf.WriteString(`{"expand":"schema,names","startAt":` + strconv.Itoa(startAt) + `,"maxResults":` + strconv.Itoa(n) +
		`,"total":` + strconv.Itoa(len(all)) + `,"issues":[`)
	for i, is := range page {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(s.issueJSON(base, is, fields, expand, lim))
	}
	buf.WriteString(`]}`)
	writeRaw(w, http.StatusOK, buf.Bytes())
}

func (s *Server) approximateCount(w http.ResponseWriter, r *http.Request) {
	var req struct {
		JQL string `json:"jql"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	q, ok := s.parseQuery(w, req.JQL, true)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"count": len(s.matching(req.JQL, q))})
}

// lookupIssue finds an issue by id or key. Callers hold s.mu (read).
func (s *Server) lookupIssue(idOrKey string) *Issue {
	if id, err := strconv.Atoi(idOrKey); err == nil {
		return s.issueByID[id]
	}
	return s.issueByKey[strings.ToUpper(idOrKey)]
}

func (s *Server) bulkFetch(w http.ResponseWriter, r *http.Request) {
	var req struct {
		IssueIdsOrKeys []string `json:"issueIdsOrKeys"`
		Fields         []string `json:"fields"`
		Expand         any      `json:"expand"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if len(req.IssueIdsOrKeys) == 0 || len(req.IssueIdsOrKeys) > bulkFetchMax {
		writeError(w, http.StatusBadRequest, "issueIdsOrKeys must contain between 1 and 100 issue IDs or keys.")
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var found []*Issue
	seen := map[int]bool{}
	issueErrors := []string{}
	for _, k := range req.IssueIdsOrKeys {
		is := s.lookupIssue(k)
		if is == nil {
			issueErrors = append(issueErrors, k)
			continue
		}
		if !seen[is.ID] {
			seen[is.ID] = true
			found = append(found, is)
		}
	}
	slices.SortFunc(found, func(a, b *Issue) int { return a.ID - b.ID })
	fields := parseFields(req.Fields, "*navigable")
	expand := parseExpand(expandList(req.Expand))
	base := baseURL(r)
	// Rendered first, so the page is built in one buffer of its size
	// rather than grown and copied at each doubling.
	rendered := make([][]byte, len(found))
	size := 0
	for i, is := range found {
		rendered[i] = s.issueJSON(base, is, fields, expand, cloudSearchLimits)
		size += len(rendered[i]) + 1
	}
	buf := pageBuffer(size + 512)
	defer releasePageBuffer(buf)
	buf.WriteString(`{"expand":"schema,names","issues":[`)
	for i, b := range rendered {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(b)
	}
	buf.WriteString(`],"issueErrors":`)
	errs := []any{}
	for _, k := range issueErrors {
		errs = append(errs, map[string]any{"issueIdOrKey": k, "errorMessages": []string{"Issue does not exist or you do not have permission to see it."}})
	}
	b, _ := json.Marshal(errs)
	buf.Write(b)
	buf.WriteString(`}`)
	writeRaw(w, http.StatusOK, buf.Bytes())
}

func (s *Server) changelogBulkFetch(w http.ResponseWriter, r *http.Request) {
	var req struct {
		IssueIdsOrKeys []string `json:"issueIdsOrKeys"`
		FieldIDs       []string `json:"fieldIds"`
		MaxResults     *int     `json:"maxResults"`
		NextPageToken  string   `json:"nextPageToken"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if len(req.IssueIdsOrKeys) == 0 || len(req.IssueIdsOrKeys) > changelogBulkIDs {
		writeError(w, http.StatusBadRequest, "issueIdsOrKeys must contain between 1 and 1000 issue IDs or keys.")
		return
	}
	if len(req.FieldIDs) > 10 {
		writeError(w, http.StatusBadRequest, "fieldIds must contain at most 10 field IDs.")
		return
	}
	n := 1000
	if req.MaxResults != nil {
		n = max(1, min(*req.MaxResults, changelogBulkMax))
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var fieldIDs map[string]bool
	if len(req.FieldIDs) > 0 {
		fieldIDs = map[string]bool{}
		for _, f := range req.FieldIDs {
			fieldIDs[f] = true
		}
	}
	type entry struct {
		issue *Issue
		h     *History
	}
	var all []entry
	seen := map[int]bool{}
	for _, k := range req.IssueIdsOrKeys {
		is := s.lookupIssue(k)
		if is == nil || seen[is.ID] {
			continue
		}
		seen[is.ID] = true
		for _, h := range is.Histories {
			if fieldIDs != nil && !slices.ContainsFunc(h.Items, func(it HistoryItem) bool { return fieldIDs[it.FieldID] }) {
				continue
			}
			all = append(all, entry{is, h})
		}
	}
	// Oldest first, then by issue id, as Jira sorts them.
	slices.SortFunc(all, func(a, b entry) int {
		if c := a.h.Created.Compare(b.h.Created); c != 0 {
			return c
		}
		if a.issue.ID != b.issue.ID {
			return a.issue.ID - b.issue.ID
		}
		return a.h.ID - b.h.ID
	})
	tokenKey := strings.Join(req.IssueIdsOrKeys, ",") + "|" + strings.Join(req.FieldIDs, ",")
	offset := 0
	if req.NextPageToken != "" {
		var ok bool
		if offset, ok = readPageToken(req.NextPageToken, tokenKey); !ok {
			writeError(w, http.StatusBadRequest, "The provided next page token is invalid or expired.")
			return
		}
	}
	page := window(all, offset, n)
	base := baseURL(r)
	groups := []any{}
	var cur map[string]any
	for _, e := range page {
		id := strconv.Itoa(e.issue.ID)
		if cur == nil || cur["issueId"] != id {
			cur = map[string]any{"issueId": id, "changeHistories": []any{}}
			groups = append(groups, cur)
		}
		cur["changeHistories"] = append(cur["changeHistories"].([]any), s.historyJSON(base, e.h, fieldIDs))
	}
	out := map[string]any{"issueChangeLogs": groups}
	if next := offset + len(page); next < len(all) {
		out["nextPageToken"] = pageToken(tokenKey, next)
	}
	writeJSON(w, http.StatusOK, out)
}
