package jirasim

import (
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// TruthRecord identifies one record a complete sync must emit.
type TruthRecord struct {
	Key []string `json:"key"` // the stream's key properties, in order
	// Updated is the replication-key value (RFC 3339 UTC) of incremental
	// streams.
	Updated string `json:"updated,omitempty"`
	// IssueID and IssueUpdated tie a child of issues to its parent: a sync
	// from a start date emits the child when it emits the parent.
	IssueID      string `json:"issueId,omitempty"`
	IssueUpdated string `json:"issueUpdated,omitempty"`
	// Status is what an issue_status_history record says.
	Status *TruthStatus `json:"status,omitempty"`
	// OwnUpdated is a comment's own updated time (RFC 3339 UTC): not a
	// replication key, but what a target holding its latest version has.
	OwnUpdated string `json:"ownUpdated,omitempty"`
}

// TruthStatus is one status change, or an issue's initial status (From ""):
// status ids, when, and by whom (accountId on Cloud, user key on Data
// Center).
type TruthStatus struct {
	From    string `json:"from"`
	To      string `json:"to"`
	Created string `json:"created"`
	Author  string `json:"author"`
}

// Truth is the ground truth of the site: every record of Stitch's 13
// streams, the issue_status_history stream (derived from changelogs, apart
// so that Streams stays what Jira serves), and the worklogs and issues
// deleted (Updated is when).
type Truth struct {
	Now           string                   `json:"now"`
	Flavor        Flavor                   `json:"flavor"`
	TimeZone      string                   `json:"timeZone"`
	Streams       map[string][]TruthRecord `json:"streams"`
	StatusHistory []TruthRecord            `json:"statusHistory"`
	Deleted       map[string][]TruthRecord `json:"deleted"`
}

func rfc(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// Truth returns the ground truth now.
func (s *Server) Truth() Truth {
	s.mu.RLock()
	defer s.mu.RUnlock()
	d := s.data
	st := map[string][]TruthRecord{}
	var statuses []TruthRecord
	key := func(v ...string) []string { return v }
	itoa := strconv.Itoa
	for _, p := range d.Projects {
		st["projects"] = append(st["projects"], TruthRecord{Key: key(itoa(p.ID))})
		for _, v := range p.Versions {
			st["versions"] = append(st["versions"], TruthRecord{Key: key(itoa(v.ID))})
		}
		for _, c := range p.Components {
			st["components"] = append(st["components"], TruthRecord{Key: key(itoa(c.ID))})
		}
	}
	for _, t := range d.ProjectTypes {
		st["project_types"] = append(st["project_types"], TruthRecord{Key: key(t.Key)})
	}
	for _, c := range d.Categories {
		st["project_categories"] = append(st["project_categories"], TruthRecord{Key: key(itoa(c.ID))})
	}
	for _, r := range d.Resolutions {
		st["resolutions"] = append(st["resolutions"], TruthRecord{Key: key(itoa(r.ID))})
	}
	for _, r := range d.Roles {
		st["roles"] = append(st["roles"], TruthRecord{Key: key(itoa(r.ID))})
	}
	for _, u := range d.Users {
		k := u.AccountID
		if s.opts.Flavor == DataCenter {
			k = u.Key
		}
		st["users"] = append(st["users"], TruthRecord{Key: key(k)})
	}
	for _, is := range d.Issues {
		id, upd := itoa(is.ID), rfc(is.Updated)
		st["issues"] = append(st["issues"], TruthRecord{Key: key(id), Updated: upd})
		for _, c := range is.Comments {
			st["issue_comments"] = append(st["issue_comments"], TruthRecord{Key: key(itoa(c.ID)), IssueID: id, IssueUpdated: upd, OwnUpdated: rfc(c.Updated)})
		}
		for _, h := range is.Histories {
			st["changelogs"] = append(st["changelogs"], TruthRecord{Key: key(itoa(h.ID)), IssueID: id, IssueUpdated: upd})
		}
		for _, t := range is.Transitions {
			st["issue_transitions"] = append(st["issue_transitions"], TruthRecord{Key: key(t.ID, id), IssueID: id, IssueUpdated: upd})
		}
		statuses = append(statuses, s.statusTruth(is, upd)...)
		for _, w := range is.Worklogs {
			st["worklogs"] = append(st["worklogs"], TruthRecord{Key: key(itoa(w.ID)), Updated: rfc(w.Updated), IssueID: id, IssueUpdated: upd})
		}
	}
	del := map[string][]TruthRecord{"worklogs": {}, "issues": {}}
	for _, w := range d.DeletedWorklogs {
		del["worklogs"] = append(del["worklogs"], TruthRecord{Key: key(itoa(w.ID)), Updated: rfc(w.Deleted)})
	}
	for _, is := range d.DeletedIssues {
		del["issues"] = append(del["issues"], TruthRecord{Key: key(itoa(is.ID)), Updated: rfc(is.Deleted), IssueUpdated: rfc(is.Updated)})
	}
	return Truth{Now: rfc(s.Now()), Flavor: s.opts.Flavor, TimeZone: s.loc.String(), Streams: st, StatusHistory: statuses, Deleted: del}
}

// statusTruth is an issue's status history: the status it was created in
// (the first change's from, or its status if it never changed), then each
// change. Callers hold s.mu.
func (s *Server) statusTruth(is *Issue, upd string) []TruthRecord {
	id := strconv.Itoa(is.ID)
	user := func(u *User) string {
		if s.opts.Flavor == DataCenter {
			return u.Key
		}
		return u.AccountID
	}
	var changes []TruthRecord
	for _, h := range is.Histories {
		for _, it := range h.Items {
			if it.FieldID == "status" {
				changes = append(changes, TruthRecord{Key: []string{id, strconv.Itoa(h.ID)}, IssueID: id, IssueUpdated: upd,
					Status: &TruthStatus{From: it.From, To: it.To, Created: rfc(h.Created), Author: user(h.Author)}})
				break
			}
		}
	}
	initial := statusIDs[is.Status]
	if len(changes) > 0 {
		initial = changes[0].Status.From
	}
	first := TruthRecord{Key: []string{id, "0"}, IssueID: id, IssueUpdated: upd,
		Status: &TruthStatus{To: initial, Created: rfc(is.Created), Author: user(is.Creator)}}
	return append([]TruthRecord{first}, changes...)
}

// statusIDs maps status names to their ids.
var statusIDs = func() map[string]string {
	m := map[string]string{}
	for _, st := range genStatuses {
		m[st.Name] = st.ID
	}
	return m
}()

// pickWorklogs chooses m worklogs with rng, the same ones for the same
// seed whatever the map order. The caller holds s.mu.
func (s *Server) pickWorklogs(rng *rand.Rand, m int) []*Worklog {
	ids := make([]int, 0, len(s.worklogs))
	for id := range s.worklogs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var out []*Worklog
	for _, i := range rng.Perm(len(ids))[:min(m, len(ids))] {
		out = append(out, s.worklogs[ids[i]])
	}
	return out
}

// Deletion says what Delete removed.
type Deletion struct {
	Issues   []string `json:"issues"`
	Worklogs []string `json:"worklogs"`
}

// Delete removes the issues with these ids (with their worklogs, which
// /worklog/deleted then lists, as Jira does) and m worklogs chosen
// deterministically from the seed and the number of earlier mutations
// (their issues are updated, as time tracking changes). Unknown ids are
// ignored.
func (s *Server) Delete(issueIDs []int, m int) Deletion {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mutations++
	rng := rand.New(rand.NewPCG(s.opts.Gen.Seed, uint64(s.mutations)))
	now := s.Now().Truncate(time.Millisecond)
	out := Deletion{Issues: []string{}, Worklogs: []string{}}
	deleteWorklog := func(wl *Worklog) {
		delete(s.worklogs, wl.ID)
		s.data.DeletedWorklogs = append(s.data.DeletedWorklogs, &DeletedWorklog{ID: wl.ID, Deleted: now})
		out.Worklogs = append(out.Worklogs, strconv.Itoa(wl.ID))
	}
	for _, wl := range s.pickWorklogs(rng, m) {
		is := s.issueByID[wl.IssueID]
		is.Worklogs = slices.DeleteFunc(is.Worklogs, func(w *Worklog) bool { return w == wl })
		s.touched(is, now)
		is.Updated = now
		s.rev[is.ID]++
		deleteWorklog(wl)
	}
	for _, id := range issueIDs {
		is := s.issueByID[id]
		if is == nil {
			continue
		}
		for _, wl := range is.Worklogs {
			deleteWorklog(wl)
		}
		delete(s.issueByID, id)
		delete(s.issueByKey, is.Key)
		s.data.Issues = slices.DeleteFunc(s.data.Issues, func(x *Issue) bool { return x == is })
		s.data.DeletedIssues = append(s.data.DeletedIssues, &DeletedIssue{ID: is.ID, Key: is.Key, Updated: is.Updated, Deleted: now})
		out.Issues = append(out.Issues, strconv.Itoa(id))
	}
	s.version++
	return out
}

// Mutation says what Mutate (and MutateComments) changed.
type Mutation struct {
	Issues   []string `json:"issues"`
	Worklogs []string `json:"worklogs"`
	Comments []string `json:"comments,omitempty"`
}

// Mutate updates n issues (a new changelog entry, updated = now) and m
// worklogs (updated = now, which also updates their issue), chosen
// deterministically from the seed and the number of earlier mutations.
func (s *Server) Mutate(n, m int) Mutation {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mutations++
	rng := rand.New(rand.NewPCG(s.opts.Gen.Seed, uint64(s.mutations)))
	now := s.Now().Truncate(time.Millisecond)
	out := Mutation{Issues: []string{}, Worklogs: []string{}}
	touch := func(is *Issue) {
		s.touched(is, now)
		is.Updated = now
		s.rev[is.ID]++
	}
	maxHistory := 0
	for _, is := range s.data.Issues {
		for _, h := range is.Histories {
			maxHistory = max(maxHistory, h.ID)
		}
	}
	for _, i := range rng.Perm(len(s.data.Issues))[:min(n, len(s.data.Issues))] {
		is := s.data.Issues[i]
		maxHistory++
		is.Histories = append(is.Histories, &History{
			ID: maxHistory, Author: s.data.Users[0], Created: now,
			Items: []HistoryItem{{Field: "labels", FieldType: "jira", FieldID: "labels", FromString: "", ToString: "touched"}},
		})
		touch(is)
		out.Issues = append(out.Issues, strconv.Itoa(is.ID))
	}
	for _, wl := range s.pickWorklogs(rng, m) {
		wl.Updated = now
		touch(s.issueByID[wl.IssueID])
		out.Worklogs = append(out.Worklogs, strconv.Itoa(wl.ID))
	}
	s.version++
	return out
}

// MutateComments comments on n issues: on each, a new comment (the last of
// its list, so past the embedded first ones of an issue with many), or,
// every other time, an edit of one of its comments (body and updated);
// either updates the issue, as Jira does. The first issue is the one with
// the most comments, whose new ones only its /comment pages show; the
// others are chosen deterministically from the seed and the number of
// earlier mutations.
func (s *Server) MutateComments(n int) Mutation {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mutations++
	rng := rand.New(rand.NewPCG(s.opts.Gen.Seed, uint64(s.mutations)))
	now := s.Now().Truncate(time.Millisecond)
	out := Mutation{Issues: []string{}, Worklogs: []string{}, Comments: []string{}}
	if n <= 0 || len(s.data.Issues) == 0 {
		return out
	}
	maxComment, most := 0, s.data.Issues[0]
	for _, is := range s.data.Issues {
		for _, c := range is.Comments {
			maxComment = max(maxComment, c.ID)
		}
		if len(is.Comments) > len(most.Comments) {
			most = is
		}
	}
	picked := []*Issue{most}
	for _, i := range rng.Perm(len(s.data.Issues)) {
		if len(picked) >= n {
			break
		}
		if is := s.data.Issues[i]; is != most {
			picked = append(picked, is)
		}
	}
	for k, is := range picked {
		if k%2 == 1 && len(is.Comments) > 0 {
			c := is.Comments[rng.IntN(len(is.Comments))]
			c.Body += " (edited)"
			c.Updated = now
			out.Comments = append(out.Comments, strconv.Itoa(c.ID))
		} else {
			maxComment++
			is.Comments = append(is.Comments, &Comment{ID: maxComment, Author: s.data.Users[0], Body: "A comment added later.", Created: now, Updated: now})
			out.Comments = append(out.Comments, strconv.Itoa(maxComment))
		}
		s.touched(is, now)
		is.Updated = now
		s.rev[is.ID]++
		out.Issues = append(out.Issues, strconv.Itoa(is.ID))
	}
	s.version++
	return out
}

func (s *Server) truthHandler(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.Truth())
}

func (s *Server) mutateHandler(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Issues   int `json:"issues"`
		Worklogs int `json:"worklogs"`
		Comments int `json:"comments"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	m := s.Mutate(req.Issues, req.Worklogs)
	if req.Comments > 0 {
		c := s.MutateComments(req.Comments)
		m.Issues = append(m.Issues, c.Issues...)
		m.Comments = c.Comments
	}
	writeJSON(w, http.StatusOK, m)
}

func (s *Server) deleteHandler(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Issues   []int `json:"issues"`
		Worklogs int   `json:"worklogs"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	writeJSON(w, http.StatusOK, s.Delete(req.Issues, req.Worklogs))
}

func (s *Server) advanceHandler(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Seconds float64 `json:"seconds"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if req.Seconds < 0 {
		writeError(w, http.StatusBadRequest, "the clock only moves forward")
		return
	}
	s.Advance(time.Duration(req.Seconds * float64(time.Second)))
	writeJSON(w, http.StatusOK, map[string]any{"now": rfc(s.Now())})
}

func (s *Server) statsHandler(w http.ResponseWriter, _ *http.Request) {
	reqs := map[string]map[string]int64{}
	total := int64(0)
	for route, byStatus := range s.Stats() {
		m := map[string]int64{}
		for code, n := range byStatus {
			m[strconv.Itoa(code)] = n
			total += n
		}
		reqs[route] = m
	}
	writeJSON(w, http.StatusOK, map[string]any{"total": total, "requests": reqs, "faults": s.FaultCounts()})
}

func (s *Server) resetStatsHandler(w http.ResponseWriter, _ *http.Request) {
	s.ResetStats()
	writeJSON(w, http.StatusOK, map[string]any{})
}

// Expected returns, per stream, the sorted keys ("a/b" for composite keys)
// a complete sync from start must emit: full tables whole, issues updated
// since start with all their children, and worklogs updated since start
// except those in the last minute, which Jira's feed holds back.
func (t Truth) Expected(start time.Time) map[string][]string {
	now, _ := time.Parse(time.RFC3339, t.Now)
	since := func(ts string) bool {
		u, err := time.Parse(time.RFC3339, ts)
		return err == nil && !u.Before(start)
	}
	out := map[string][]string{}
	for stream, recs := range t.Streams {
		keys := []string{}
		for _, r := range recs {
			switch {
			case stream == "worklogs":
				u, _ := time.Parse(time.RFC3339, r.Updated)
				if u.Before(start) || u.After(now.Add(-time.Minute)) {
					continue
				}
			case r.Updated != "" && !since(r.Updated):
				continue
			case r.IssueUpdated != "" && !since(r.IssueUpdated):
				continue
			}
			keys = append(keys, strings.Join(r.Key, "/"))
		}
		slices.Sort(keys)
		out[stream] = keys
	}
	return out
}

// ExpectedStatusHistory returns the sorted keys (issueId/changelogId) of
// the issue_status_history records a complete sync from start emits: the
// status history of every issue updated since start.
func (t Truth) ExpectedStatusHistory(start time.Time) []string {
	keys := []string{}
	for _, r := range t.StatusHistory {
		if u, err := time.Parse(time.RFC3339, r.IssueUpdated); err == nil && !u.Before(start) {
			keys = append(keys, strings.Join(r.Key, "/"))
		}
	}
	slices.Sort(keys)
	return keys
}

// ExpectedDeleted returns, per stream, the sorted keys of the deletion
// records a sync from start must emit: worklogs deleted since start except
// in the last minute (the feed holds it back), and issues deleted whose
// last update was since start (a run that had synced them must have seen
// them, and reconciliation must report them).
func (t Truth) ExpectedDeleted(start time.Time) map[string][]string {
	now, _ := time.Parse(time.RFC3339, t.Now)
	out := map[string][]string{}
	for stream, recs := range t.Deleted {
		keys := []string{}
		for _, r := range recs {
			at, _ := time.Parse(time.RFC3339, r.Updated)
			switch stream {
			case "worklogs":
				if at.Before(start) || at.After(now.Add(-time.Minute)) {
					continue
				}
			default:
				if u, _ := time.Parse(time.RFC3339, r.IssueUpdated); u.Before(start) {
					continue
				}
			}
			keys = append(keys, strings.Join(r.Key, "/"))
		}
		slices.Sort(keys)
		out[stream] = keys
	}
	return out
}
