package jirasim

import (
	"cmp"
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure a simulated site.
type Options struct {
	Flavor Flavor
	// TZ is the authenticated user's time zone: /myself reports it, JQL date
	// literals are read in it and timestamps are rendered in it.
	TZ *time.Location
	// Cloud credentials (basic auth); Data Center accepts them too.
	Email, Token string
	// PAT is the Data Center personal access token (bearer auth).
	PAT string
	// CloudID, when set, also serves the API under /ex/jira/{CloudID}/, as
	// Atlassian's API gateway (api.atlassian.com) does; another cloud ID is
	// answered 404.
	CloudID string
	// ScopedToken is a Cloud API token with scopes: basic auth with
	// Email:ScopedToken is accepted only through the gateway prefix.
	ScopedToken string
	// OAuth, when set, serves POST /oauth/token and accepts its access
	// tokens through the gateway prefix. Its TTL of 0 becomes one hour.
	OAuth  *OAuthOptions
	Faults Faults
	Gen    GenOptions
	// Restricted lists project keys whose versions and components the user
	// may not browse: those endpoints answer 403, as Jira does.
	Restricted []string
	// SearchLag is how long a change to an issue takes to reach search, as
	// Jira's search index trails its database ("eventually consistent"):
	// for that long search finds and orders the issue by its updated before
	// the change, while bulkfetch and the issue's own endpoints, and the
	// fields search returns, give it as it is. 0 means at once.
	SearchLag time.Duration
	// FeedPage is the items per page of the worklog feeds (updated and
	// deleted); 0 means Jira's 1000. Smaller, a small site's feed takes
	// several pages, with changes between them.
	FeedPage int
	// DCSearchWhole makes the Data Center search embed every changelog
	// entry and comment of its issues instead of the last 100 entries and
	// the first 20 comments: which Data Center versions do is not
	// documented, and the tap must hold either.
	DCSearchWhole bool
	// Clock returns the real time; the site's clock is Gen.Now plus the time
	// elapsed on Clock since New, plus whatever Advance added. Nil means
	// time.Now.
	Clock func() time.Time
	// Sleep is used for injected latency; nil means a context-aware sleep.
	Sleep func(ctx context.Context, d time.Duration)
}

// Server is a simulated Jira site. It is an http.Handler.
type Server struct {
	opts    Options
	loc     *time.Location
	handler http.Handler
	faults  *FaultHandler

	mu         sync.RWMutex
	data       *Data
	issueByID  map[int]*Issue
	issueByKey map[string]*Issue
	worklogs   map[int]*Worklog
	projects   map[string]*Project // by ID and by key
	rev        map[int]int         // issue ID → revision, bumped on mutation
	version    uint64              // bumped on every mutation
	orders     map[string][]*Issue // issues sorted per ORDER BY, for version
	results    map[string][]*Issue // query results, for version
	mutations  int                 // how many mutate calls so far, for deterministic picks
	indexed    map[int]indexEntry  // issue ID → what search knows of it, with SearchLag
	cacheMu    sync.Mutex          // guards orders and results under a read lock of mu

	started time.Time // Clock() at New
	offset  atomic.Int64

	render  sync.Map // renderKey → []byte
	renders atomic.Int64

	statsMu sync.Mutex
	stats   map[string]map[int]int64 // route → status → count

	oauthMu       sync.Mutex
	oauthStats    OAuthStats
	accessTokens  map[string]*simToken
	refreshTokens map[string]bool // the valid ones
	served        int             // requests served with an access token
	epoch         int             // bumped every OAuth.ExpireEvery of them
}

// New generates the site and returns its server.
func New(opts Options) *Server {
	if opts.Flavor == "" {
		opts.Flavor = Cloud
	}
	if opts.TZ == nil {
		opts.TZ = time.UTC
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Gen.Now.IsZero() {
		opts.Gen.Now = opts.Clock().UTC().Truncate(time.Second)
	}
	if opts.OAuth != nil {
		o := *opts.OAuth // the caller's copy is left alone
		if o.TTL <= 0 {
			o.TTL = time.Hour
		}
		opts.OAuth = &o
	}
	s := &Server{opts: opts, loc: opts.TZ, started: opts.Clock(), stats: map[string]map[int]int64{}}
	s.initOAuth()
	s.load(Generate(opts.Gen))
	s.handler = s.routes()
	return s
}

func (s *Server) load(d *Data) {
	s.data = d
	s.issueByID = make(map[int]*Issue, len(d.Issues))
	s.issueByKey = make(map[string]*Issue, len(d.Issues))
	s.worklogs = map[int]*Worklog{}
	s.projects = map[string]*Project{}
	s.rev = map[int]int{}
	for _, p := range d.Projects {
		s.projects[strconv.Itoa(p.ID)] = p
		s.projects[p.Key] = p
	}
	for _, is := range d.Issues {
		s.issueByID[is.ID] = is
		s.issueByKey[is.Key] = is
		for _, w := range is.Worklogs {
			s.worklogs[w.ID] = w
		}
	}
	s.orders = map[string][]*Issue{}
	s.results = map[string][]*Issue{}
	s.indexed = map[int]indexEntry{}
}

// indexEntry is an issue's updated as search knows it while a change to it
// has not reached search yet.
type indexEntry struct {
	updated   time.Time // before the changes search has not seen
	changedAt time.Time // the last change
}

// touched records a change to is made at now, before is.Updated is set to
// it; callers hold s.mu.
func (s *Server) touched(is *Issue, now time.Time) {
	if s.opts.SearchLag <= 0 {
		return
	}
	e, ok := s.indexed[is.ID]
	if !ok || now.Sub(e.changedAt) >= s.opts.SearchLag {
		e.updated = is.Updated // search has caught up with the changes before
	}
	e.changedAt = now
	s.indexed[is.ID] = e
}

// Now is the site's clock.
func (s *Server) Now() time.Time {
	elapsed := s.opts.Clock().Sub(s.started)
	return s.opts.Gen.Now.Add(elapsed + time.Duration(s.offset.Load())).UTC()
}

// Advance moves the site's clock forward.
func (s *Server) Advance(d time.Duration) { s.offset.Add(int64(d)) }

// Flavor is the kind of Jira simulated.
func (s *Server) Flavor() Flavor { return s.opts.Flavor }

// Data returns the generated site. Callers must not modify it; use Mutate.
func (s *Server) Data() *Data { return s.data }

// FaultCounts reports the faults injected so far.
func (s *Server) FaultCounts() FaultCounts { return s.faults.Counts() }

// ServeHTTP answers r. Every answer's Date is the site's clock, as a real
// site's is (net/http would stamp this machine's).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Date", s.Now().Format(http.TimeFormat))
	s.handler.ServeHTTP(w, r)
}

func isControl(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/__sim/") }

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	api := func(pattern string, h http.HandlerFunc) {
		for _, v := range []string{"2", "latest"} {
			method, path, _ := strings.Cut(pattern, " ")
			mux.HandleFunc(method+" /rest/api/"+v+path, h)
		}
	}
	cloud := s.opts.Flavor == Cloud
	gone := s.removedSearch
	if cloud {
		mux.HandleFunc("/rest/api/2/search", gone)
		mux.HandleFunc("/rest/api/3/search", gone)
		mux.HandleFunc("/rest/api/latest/search", gone)
		api("GET /search/jql", s.searchJQL)
		api("POST /search/jql", s.searchJQL)
		api("POST /search/approximate-count", s.approximateCount)
		api("POST /issue/bulkfetch", s.bulkFetch)
		api("POST /changelog/bulkfetch", s.changelogBulkFetch)
		api("GET /issue/{id}/changelog", s.issueChangelog)
		api("GET /project/search", s.projectSearch)
		api("GET /users/search", s.usersSearch)
		api("GET /users", s.usersSearch)
		api("GET /project/{id}/component", s.projectItems(true, s.componentItems))
	} else {
		api("GET /search", s.searchDC)
		api("POST /search", s.searchDC)
		api("GET /user/search", s.userSearchDC)
	}
	api("GET /issue/{id}", s.issue)
	api("GET /issue/{id}/comment", s.issueComments)
	api("GET /issue/{id}/worklog", s.issueWorklogs)
	api("GET /issue/{id}/transitions", s.issueTransitions)
	api("GET /worklog/updated", s.worklogsUpdated)
	api("GET /worklog/deleted", s.worklogsDeleted)
	api("POST /worklog/list", s.worklogList)
	api("GET /project", s.projectList)
	api("GET /project/{id}/version", s.projectItems(true, versionItems))
	api("GET /project/{id}/versions", s.projectItems(false, versionItems))
	api("GET /project/{id}/components", s.projectItems(false, s.componentItems))
	api("GET /projectCategory", s.projectCategories)
	api("GET /project/type", s.projectTypes)
	api("GET /resolution", s.resolutions)
	api("GET /role", s.roles)
	api("GET /field", s.fields)
	api("GET /myself", s.myself)
	api("GET /serverInfo", s.serverInfo)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "null for uri: "+r.URL.Path)
	})
	mux.HandleFunc("POST /oauth/token", s.oauthToken)

	mux.HandleFunc("GET /__sim/truth", s.truthHandler)
	mux.HandleFunc("POST /__sim/mutate", s.mutateHandler)
	mux.HandleFunc("POST /__sim/delete", s.deleteHandler)
	mux.HandleFunc("POST /__sim/advance", s.advanceHandler)
	mux.HandleFunc("GET /__sim/stats", s.statsHandler)
	mux.HandleFunc("POST /__sim/stats/reset", s.resetStatsHandler)

	// Counting sits outside the faults so injected 429s and 5xx are counted
	// like the requests that reached a handler.
	s.faults = s.opts.Faults.Middleware(s.authenticate(mux), isControl, s.opts.Sleep)
	return s.gateway(s.count(s.faults))
}

// authenticate checks credentials as Jira does: basic email:token on Cloud,
// a bearer PAT (or basic) on Data Center. /serverInfo answers anyone, like
// real Jira.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isControl(r) || strings.HasSuffix(r.URL.Path, "/serverInfo") || strings.HasPrefix(r.URL.Path, "/oauth/") || s.authorized(r) {
			next.ServeHTTP(w, r)
			return
		}
		if _, _, basic := r.BasicAuth(); basic {
			// Jira's login layer marks failed basic logins.
			w.Header().Set("X-Seraph-LoginReason", "AUTHENTICATED_FAILED")
		}
		writeError(w, http.StatusUnauthorized, "You are not authenticated. Authentication required to perform this operation.")
	})
}

func (s *Server) authorized(r *http.Request) bool {
	eq := func(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }
	if user, pass, ok := r.BasicAuth(); ok {
		if s.opts.Email == "" || !eq(user, s.opts.Email) {
			return false
		}
		// A scoped token works only through the gateway, as on Jira Cloud.
		return eq(pass, s.opts.Token) || (viaGateway(r) && s.opts.ScopedToken != "" && eq(pass, s.opts.ScopedToken))
	}
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		if s.opts.Flavor == DataCenter && s.opts.PAT != "" && eq(tok, s.opts.PAT) {
			return true
		}
		return viaGateway(r) && s.acceptAccessToken(tok)
	}
	return false
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// count records requests per route and status for /__sim/stats.
func (s *Server) count(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if isControl(r) {
			return
		}
		route := r.Pattern
		if route == "" || route == "/" {
			route = r.Method + " " + r.URL.Path
		}
		s.statsMu.Lock()
		m := s.stats[route]
		if m == nil {
			m = map[int]int64{}
			s.stats[route] = m
		}
		m[cmp.Or(sw.status, http.StatusOK)]++
		s.statsMu.Unlock()
	})
}

// Stats returns request counts per route ("GET /rest/api/2/search/jql") and
// status.
func (s *Server) Stats() map[string]map[int]int64 {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	out := make(map[string]map[int]int64, len(s.stats))
	for k, v := range s.stats {
		m := make(map[int]int64, len(v))
		for c, n := range v {
			m[c] = n
		}
		out[k] = m
	}
	return out
}

// ResetStats zeroes the request counters.
func (s *Server) ResetStats() {
	s.statsMu.Lock()
	s.stats = map[string]map[int]int64{}
	s.statsMu.Unlock()
}

func (s *Server) removedSearch(w http.ResponseWriter, _ *http.Request) {
	writeError(w, http.StatusGone, "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046")
}

// writeError writes Jira's error body.
func writeError(w http.ResponseWriter, status int, msgs ...string) {
	if msgs == nil {
		msgs = []string{}
	}
	writeJSON(w, status, map[string]any{"errorMessages": msgs, "errors": map[string]any{}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeRaw(w, status, b)
}

func writeRaw(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// decodeBody reads a JSON request body into v, answering 400 as Jira does
// when it cannot.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, 10<<20))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("Invalid request payload. Refer to the REST API documentation and try again. (%v)", err))
		return false
	}
	return true
}

// paging reads startAt and maxResults with Jira's defaults and caps.
func paging(w http.ResponseWriter, r *http.Request, def, max int) (startAt, maxResults int, ok bool) {
	q := r.URL.Query()
	startAt, maxResults = 0, def
	if v := q.Get("startAt"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, "The 'startAt' parameter must be a non-negative integer.")
			return 0, 0, false
		}
		startAt = n
	}
	if v := q.Get("maxResults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, "The 'maxResults' parameter must be a non-negative integer.")
			return 0, 0, false
		}
		maxResults = n
	}
	maxResults = min(maxResults, max)
	return startAt, maxResults, true
}

// window returns items[startAt:startAt+n], clamped.
func window[T any](items []T, startAt, n int) []T {
	if startAt >= len(items) {
		return nil
	}
	return items[startAt:min(len(items), startAt+n)]
}

// baseURL is the site's URL as the client addressed it, for "self" links.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// sortedIssues returns every issue ordered by q, cached per version.
// Callers hold s.mu (read).
func (s *Server) sortedIssues(q *Query) []*Issue {
	key := fmt.Sprintf("%d|%s", s.version, q.OrderKey())
	s.cacheMu.Lock()
	defer s.cacheMu.Unlock()
	if got, ok := s.orders[key]; ok {
		return got
	}
	sorted := slices.Clone(s.data.Issues)
	slices.SortStableFunc(sorted, q.Compare)
	if len(s.orders) > 16 {
		clear(s.orders)
	}
	s.orders[key] = sorted
	return sorted
}

// matching returns the issues matching the query jql, in its order, cached
// per version so paging through a result does not redo the work.
func (s *Server) matching(jql string, q *Query) []*Issue {
	if s.opts.SearchLag > 0 {
		return s.laggedMatching(q)
	}
	key := fmt.Sprintf("%d|%s", s.version, jql)
	s.cacheMu.Lock()
	got, ok := s.results[key]
	s.cacheMu.Unlock()
	if ok {
		return got
	}
	var out []*Issue
	for _, is := range s.sortedIssues(q) {
		if q.Match(is) {
			out = append(out, is)
		}
	}
	s.cacheMu.Lock()
	if len(s.results) > 256 {
		clear(s.results)
	}
	s.results[key] = out
	s.cacheMu.Unlock()
	return out
}

// laggedMatching is matching with SearchLag: an issue changed less than
// SearchLag ago is matched and ordered by its updated before the change.
// Not cached: what search sees changes with the clock.
func (s *Server) laggedMatching(q *Query) []*Issue {
	now := s.Now()
	type seen struct{ asIndexed, real *Issue }
	all := make([]seen, 0, len(s.data.Issues))
	for _, is := range s.data.Issues {
		v := is
		if e, ok := s.indexed[is.ID]; ok && now.Sub(e.changedAt) < s.opts.SearchLag {
			c := *is
			c.Updated = e.updated
			v = &c
		}
		all = append(all, seen{v, is})
	}
	slices.SortStableFunc(all, func(a, b seen) int { return q.Compare(a.asIndexed, b.asIndexed) })
	var out []*Issue
	for _, x := range all {
		if q.Match(x.asIndexed) {
			out = append(out, x.real)
		}
	}
	return out
}
