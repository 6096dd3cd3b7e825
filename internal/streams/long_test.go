package streams

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tap-jira/tap-jira/internal/jira"
	"github.com/tap-jira/tap-jira/internal/jsonscan"
	"github.com/tap-jira/tap-jira/internal/state"
)

// longSite is a Cloud site of two issues: issue 1 with a changelog and
// comments longer than longFrom, issue 2 with a changelog Jira truncated
// but short. Every third history changes the status, from "st<i>" to
// "st<i+3>". It notes, as each page of issue 1's changelog is asked for,
// how many of its changelog records were written by then.
type longSite struct {
	histories, comments int
	sink                *keySink
	// embedAll: issue 1's changelog comes whole in its page, as Data
	// Center may give it.
	embedAll bool

	mu             sync.Mutex
	writtenByStart map[int]int // startAt of a /changelog page of issue 1: its records written then
}

func (s *longSite) history(issue, i int) map[string]any {
	h := map[string]any{"id": fmt.Sprintf("%d-%d", issue, i),
		"created": time.Date(2026, 1, 1, 0, i, 0, 0, time.UTC).Format("2006-01-02T15:04:05.000-0700"),
		"author":  map[string]any{"accountId": "a1"}, "items": []any{}}
	if i%3 == 0 {
		h["items"] = []any{map[string]any{"fieldId": "status", "field": "status", "from": fmt.Sprintf("st%d", i), "fromString": "S", "to": fmt.Sprintf("st%d", i+3), "toString": "S"}}
	}
	return h
}

func (s *longSite) issue(id, histories, comments int) map[string]any {
	is := testIssue(id, "2026-01-02T03:04:05.000+0000")
	is["key"] = fmt.Sprintf("P-%d", id)
	fields := is["fields"].(map[string]any)
	fields["created"] = "2026-01-01T00:00:00.000+0000"
	fields["status"] = map[string]any{"id": "now", "name": "Now"}
	// Jira embeds the newest 40 histories and the first 20 comments.
	var hs, cs []any
	from := max(0, histories-40)
	if s.embedAll && id == 1 {
		from = 0
	}
	for i := from; i < histories; i++ {
		hs = append(hs, s.history(id, i))
	}
	for i := range min(20, comments) {
		cs = append(cs, map[string]any{"id": fmt.Sprintf("%d-c%d", id, i)})
	}
	is["changelog"] = map[string]any{"histories": hs, "total": histories, "startAt": 0, "maxResults": 40}
	fields["comment"] = map[string]any{"comments": cs, "total": comments}
	return is
}

func (s *longSite) serve(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		write := func(v any) { _ = json.NewEncoder(w).Encode(v) }
		startAt, _ := strconv.Atoi(r.URL.Query().Get("startAt"))
		maxResults, _ := strconv.Atoi(r.URL.Query().Get("maxResults"))
		page := func(n int, item func(i int) map[string]any) []any {
			var out []any
			for i := startAt; i < min(n, startAt+maxResults); i++ {
				out = append(out, item(i))
			}
			return out
		}
		switch path := r.URL.Path; {
		case path == "/rest/api/2/myself":
			write(map[string]any{"timeZone": "UTC"})
		case path == "/rest/api/2/search/jql":
			write(map[string]any{"issues": []any{map[string]any{"id": "1"}, map[string]any{"id": "2"}}})
		case path == "/rest/api/2/issue/bulkfetch":
			write(map[string]any{"issues": []any{s.issue(1, s.histories, s.comments), s.issue(2, 150, 5)}})
		case strings.HasSuffix(path, "/changelog"):
			issue, n := 1, s.histories
			if strings.Contains(path, "/issue/2/") {
				issue, n = 2, 150
			} else {
				s.mu.Lock()
				s.writtenByStart[startAt] = s.sink.count("changelogs", "1-")
				s.mu.Unlock()
			}
			values := page(n, func(i int) map[string]any { return s.history(issue, i) })
			write(map[string]any{"values": values, "startAt": startAt, "maxResults": maxResults, "total": n, "isLast": startAt+len(values) >= n})
		case path == "/rest/api/2/changelog/bulkfetch":
			changelogBulk(w, r, s, func(issue int) []int { return numbers(0, map[int]int{1: s.histories, 2: 150}[issue]) })
		case path == "/rest/api/2/issue/1/comment":
			write(map[string]any{"comments": page(s.comments, func(i int) map[string]any { return map[string]any{"id": fmt.Sprintf("1-c%d", i)} }), "total": s.comments})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// changelogBulk answers /changelog/bulkfetch as Jira does: the changelog
// entries of the issues asked for (those numbered entries(issue), rendered
// by site), oldest first, then by issue id, maxResults a page, grouped by
// issue within a page; its token is an offset.
func changelogBulk(w http.ResponseWriter, r *http.Request, site *longSite, entries func(issue int) []int) {
	var body struct {
		IDs        []string `json:"issueIdsOrKeys"`
		MaxResults int      `json:"maxResults"`
		Token      string   `json:"nextPageToken"`
	}
	_ = json.NewDecoder(r.Body).Decode(&body)
	type entry struct {
		issue   int
		created string
		h       map[string]any
	}
	var all []entry
	for _, id := range body.IDs {
		n, _ := strconv.Atoi(id)
		for _, i := range entries(n) {
			h := site.history(n, i)
			all = append(all, entry{n, h["created"].(string), h})
		}
	}
	slices.SortStableFunc(all, func(a, b entry) int {
		return cmp.Or(strings.Compare(a.created, b.created), a.issue-b.issue)
	})
	from, _ := strconv.Atoi(body.Token)
	to := min(len(all), from+body.MaxResults)
	groups := []any{}
	var cur map[string]any
	for _, e := range all[from:to] {
		if id := strconv.Itoa(e.issue); cur == nil || cur["issueId"] != id {
			cur = map[string]any{"issueId": id, "changeHistories": []any{}}
			groups = append(groups, cur)
		}
		cur["changeHistories"] = append(cur["changeHistories"].([]any), e.h)
	}
	resp := map[string]any{"issueChangeLogs": groups}
	if to < len(all) {
		resp["nextPageToken"] = strconv.Itoa(to)
	}
	_ = json.NewEncoder(w).Encode(resp)
}

// keySink records the keys of the records written, by stream, and the
// initial status records' to.
type keySink struct {
	memSink
	mu      sync.Mutex
	written map[string][]string
	initial map[string]any  // issueId: to
	wants   map[string]bool // the streams selected; nil for all
}

func (s *keySink) Wants(stream string) bool { return s.wants == nil || s.wants[stream] }

func (s *keySink) Prepare(stream string, rec jira.Record) (Prepared, error) {
	key := fmt.Sprint(rec["id"])
	if stream == "issue_status_history" {
		key = fmt.Sprintf("%v/%v", rec["issueId"], rec["changelogId"])
		if rec["initial"] == true {
			s.mu.Lock()
			s.initial[fmt.Sprint(rec["issueId"])] = rec["to"]
			s.mu.Unlock()
		}
	}
	return Prepared{Stream: stream, Key: key}, nil
}

func (s *keySink) Write(p Prepared) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.written[p.Stream] = append(s.written[p.Stream], p.Key)
	return nil
}

// count is how many records of stream written so far have a key with prefix.
func (s *keySink) count(stream, prefix string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, k := range s.written[stream] {
		if strings.HasPrefix(k, prefix) {
			n++
		}
	}
	return n
}

// TestLongListsAreStreamed syncs an issue whose changelog and comments are
// longer than longFrom: they are read while the issue is written, a window
// of pages at a time (its first window written before the last is asked
// for), and every record comes once, with its status history derived as
// from the whole changelog; a short truncated list beside it is read with
// its page as before.
func TestLongListsAreStreamed(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, 4} {
		t.Run(fmt.Sprintf("concurrency=%d", n), func(t *testing.T) {
			t.Parallel()
			sink := newKeySink(nil)
			site := &longSite{histories: 4500, comments: 2300, sink: sink, writtenByStart: map[int]int{}}
			syncSite(t, site.serve(t).URL, sink, 100, n)

			assert.ElementsMatch(t, append(longIDs(1, 4500, "%d-%d"), longIDs(2, 150, "%d-%d")...), sink.written["changelogs"], "every changelog entry once")
			assert.ElementsMatch(t, append(longIDs(1, 2300, "%d-c%d"), longIDs(2, 5, "%d-c%d")...), sink.written["issue_comments"], "every comment once")
			assert.ElementsMatch(t, longStatuses(), sink.written["issue_status_history"], "a status record per change, and the initial one")
			assert.Equal(t, map[string]any{"1": "st0", "2": "st0"}, sink.initial, "the initial status is the earliest change's from")

			// The first window (20 pages, up to startAt 1881) is written
			// before the next is asked for; held whole, none would be.
			site.mu.Lock()
			defer site.mu.Unlock()
			require.Contains(t, site.writtenByStart, 1980, "the second window's first page")
			assert.GreaterOrEqual(t, site.writtenByStart[1980], 1981, "changelog records of issue 1 written before its second window was read")
			assert.Zero(t, site.writtenByStart[0], "none written before its first")
		})
	}
}

// TestEmbeddedLongChangelog: a changelog longer than longFrom that comes
// whole in its page (Data Center's) is decoded a window at a time
// (jira.LongList) and not read again: every entry once, its status
// history as from the whole list, and no /changelog request for it.
func TestEmbeddedLongChangelog(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, 4} {
		t.Run(fmt.Sprintf("concurrency=%d", n), func(t *testing.T) {
			t.Parallel()
			sink := newKeySink(map[string]bool{"issues": true, "changelogs": true, "issue_status_history": true})
			site := &longSite{histories: 4500, comments: 0, sink: sink, writtenByStart: map[int]int{}, embedAll: true}
			syncSite(t, site.serve(t).URL, sink, 100, n)
			assert.ElementsMatch(t, append(longIDs(1, 4500, "%d-%d"), longIDs(2, 150, "%d-%d")...), sink.written["changelogs"], "every changelog entry once")
			assert.ElementsMatch(t, longStatuses(), sink.written["issue_status_history"])
			assert.Equal(t, map[string]any{"1": "st0", "2": "st0"}, sink.initial)
			site.mu.Lock()
			defer site.mu.Unlock()
			assert.Empty(t, site.writtenByStart, "issue 1's changelog read again")
		})
	}
}

// TestLongChangelogForOneStream: a long changelog read for the status
// history alone gives the status history and no changelogs, and read for
// the changelogs alone no status history.
func TestLongChangelogForOneStream(t *testing.T) {
	t.Parallel()
	for _, stream := range []string{"issue_status_history", "changelogs"} {
		t.Run(stream, func(t *testing.T) {
			t.Parallel()
			sink := newKeySink(map[string]bool{"issues": true, stream: true})
			site := &longSite{histories: 4500, comments: 2300, sink: sink, writtenByStart: map[int]int{}}
			syncSite(t, site.serve(t).URL, sink, 100, 4)
			assert.Empty(t, sink.written["issue_comments"])
			assert.Len(t, sink.written["issues"], 2)
			if stream == "changelogs" {
				assert.Empty(t, sink.written["issue_status_history"])
				assert.ElementsMatch(t, append(longIDs(1, 4500, "%d-%d"), longIDs(2, 150, "%d-%d")...), sink.written["changelogs"])
				return
			}
			assert.Empty(t, sink.written["changelogs"])
			assert.ElementsMatch(t, longStatuses(), sink.written["issue_status_history"])
			assert.Equal(t, map[string]any{"1": "st0", "2": "st0"}, sink.initial)
		})
	}
}

// syncSite syncs the issues of the Cloud site at url, pageSize issues a
// page, n requests in flight, and returns what it logged.
func syncSite(t *testing.T, url string, sink Sink, pageSize, n int) string {
	t.Helper()
	var logs strings.Builder
	env := &Env{Client: clientAt(t, url), Cloud: true, Log: slog.New(slog.NewTextHandler(&syncWriter{w: &logs}, nil)), State: state.New(),
		StartDate: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), RunStart: time.Now(), PageSize: pageSize, Concurrency: n}
	require.NoError(t, syncIssues(t.Context(), env, sink))
	return logs.String()
}

// newKeySink is a keySink of the streams in wants (nil for all).
func newKeySink(wants map[string]bool) *keySink {
	return &keySink{memSink: memSink{records: map[string]int{}}, written: map[string][]string{}, initial: map[string]any{}, wants: wants}
}

// longIDs are the keys of n children of an issue of longSite.
func longIDs(issue, n int, format string) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf(format, issue, i))
	}
	return out
}

// longStatuses are the keys of the status history of longSite's issues.
func longStatuses() []string {
	var out []string
	for _, issue := range []int{1, 2} {
		out = append(out, fmt.Sprintf("%d/%s", issue, InitialChangelogID))
		for i := 0; i < map[int]int{1: 4500, 2: 150}[issue]; i += 3 {
			out = append(out, fmt.Sprintf("%d/%d-%d", issue, issue, i))
		}
	}
	return out
}

// TestDeferrals: the lists Jira truncated in a page are read while the page
// is written, each with its embedded total; complete lists, and lists of
// streams not selected, are not read at all.
func TestDeferrals(t *testing.T) {
	t.Parallel()
	issue := func(comments, histories int) jira.Record {
		embeddedOf := func(total, shown int) []any { return make([]any, min(total, shown)) }
		// Totals as the decoder gives them.
		total := func(n int) json.Number { return json.Number(strconv.Itoa(n)) }
		return jira.Record{
			"fields":    map[string]any{"comment": map[string]any{"comments": embeddedOf(comments, 20), "total": total(comments)}},
			"changelog": map[string]any{"histories": embeddedOf(histories, 40), "total": total(histories)},
		}
	}
	noTotal := jira.Record{"changelog": map[string]any{"histories": []any{}}}
	for _, c := range []struct {
		name   string
		wants  map[string]bool
		issues []jira.Record
		want   []deferral
	}{
		{"complete lists", nil, []jira.Record{issue(20, 40), issue(3, 0)}, []deferral{{}, {}}},
		{"truncated lists", nil, []jira.Record{issue(300, 40), issue(21, 41)}, []deferral{{comments: 300}, {comments: 21, changelog: 41}}},
		{"long lists", nil, []jira.Record{issue(2001, 5000)}, []deferral{{comments: 2001, changelog: 5000}}},
		{"streams not selected", map[string]bool{"issues": true, "changelogs": true}, []jira.Record{issue(5000, 60)}, []deferral{{changelog: 60}}},
		{"no total", map[string]bool{"changelogs": true}, []jira.Record{noTotal}, []deferral{{changelog: 1}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b := &issueBatches{env: &Env{Cloud: true}, sink: &keySink{wants: c.wants}}
			assert.Equal(t, c.want, b.deferrals(c.issues))
		})
	}
}

// manySite is a Cloud site of issues that each carry a truncated changelog
// of histories entries. It counts the /changelog requests in flight at
// once, and the /changelog/bulkfetch requests; short makes the bulk read
// leave out an issue's first entries.
type manySite struct {
	issues, histories int
	long              longSite // renders histories and issues
	inFlight, peak    atomic.Int64
	bulk              atomic.Int64
	bulkDelay         time.Duration      // each bulk read takes this long
	bulkNow, bulkPeak atomic.Int64       // bulk reads in flight, and the most at once
	bulkFirst         sync.Map           // the first issue id of each bulk read: true
	beforeBatch       func(ids []string) // called before a /issue/bulkfetch is answered
	short             map[int]int        // issue: its first entries the bulk read leaves out
	added             map[int]int        // issue: entries the bulk read gives beyond the issue's
	// refuseBulk, if set, is the first issue id of a bulk read answered 429
	// (Retry-After: 1) the first time; refused is closed once it has been.
	refuseBulk string
	refused    chan struct{}
	bulkMu     sync.Mutex
	bulkLog    []string // the first issue id of each bulk read, in order
	// longOnly, if set, is the one issue with histories entries; the
	// others have 5, all embedded.
	longOnly int
}

// historiesOf is the changelog length of an issue.
func (s *manySite) historiesOf(issue int) int {
	if s.longOnly > 0 && issue != s.longOnly {
		return 5
	}
	return s.histories
}

// numbers are from, from+1, ... to-1.
func numbers(from, to int) []int {
	var out []int
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

func (s *manySite) serve(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		write := func(v any) { _ = json.NewEncoder(w).Encode(v) }
		switch path := r.URL.Path; {
		case path == "/rest/api/2/myself":
			write(map[string]any{"timeZone": "UTC"})
		case path == "/rest/api/2/search/jql":
			var ids []any
			for i := 1; i <= s.issues; i++ {
				ids = append(ids, map[string]any{"id": strconv.Itoa(i)})
			}
			write(map[string]any{"issues": ids})
		case path == "/rest/api/2/issue/bulkfetch":
			var body struct {
				IDs []string `json:"issueIdsOrKeys"`
			}
			_ = json.NewDecoder(r.Body).Decode(&body)
			if s.beforeBatch != nil {
				s.beforeBatch(body.IDs)
			}
			var out []any
			for _, id := range body.IDs {
				n, _ := strconv.Atoi(id)
				out = append(out, s.long.issue(n, s.historiesOf(n), 0))
			}
			write(map[string]any{"issues": out})
		case path == "/rest/api/2/changelog/bulkfetch":
			s.bulk.Add(1)
			n := s.bulkNow.Add(1)
			defer s.bulkNow.Add(-1)
			for p := s.bulkPeak.Load(); n > p && !s.bulkPeak.CompareAndSwap(p, n); p = s.bulkPeak.Load() {
			}
			time.Sleep(s.bulkDelay)
			var body struct {
				IDs []string `json:"issueIdsOrKeys"`
			}
			raw, _ := io.ReadAll(r.Body)
			_ = json.Unmarshal(raw, &body)
			if len(body.IDs) > 0 {
				s.bulkFirst.Store(body.IDs[0], true)
				s.bulkMu.Lock()
				s.bulkLog = append(s.bulkLog, body.IDs[0])
				first := s.refuseBulk != "" && body.IDs[0] == s.refuseBulk && !slices.Contains(s.bulkLog[:len(s.bulkLog)-1], s.refuseBulk)
				s.bulkMu.Unlock()
				if first {
					w.Header().Set("Retry-After", "1")
					w.WriteHeader(http.StatusTooManyRequests)
					close(s.refused)
					return
				}
			}
			r.Body = io.NopCloser(bytes.NewReader(raw))
			changelogBulk(w, r, &s.long, func(issue int) []int {
				// Left out: entries a page token that counts slid past. Added:
				// entries made after the issue was read (days later).
				return append(numbers(s.short[issue], s.historiesOf(issue)), numbers(10000, 10000+s.added[issue])...)
			})
		case strings.HasSuffix(path, "/changelog"):
			n := s.inFlight.Add(1)
			defer s.inFlight.Add(-1)
			for p := s.peak.Load(); n > p && !s.peak.CompareAndSwap(p, n); p = s.peak.Load() {
			}
			time.Sleep(5 * time.Millisecond) // so that requests sent together overlap
			issue, _ := strconv.Atoi(strings.Split(path, "/")[5])
			startAt, _ := strconv.Atoi(r.URL.Query().Get("startAt"))
			maxResults, _ := strconv.Atoi(r.URL.Query().Get("maxResults"))
			var values []any
			for i := startAt; i < min(s.histories, startAt+maxResults); i++ {
				values = append(values, s.long.history(issue, i))
			}
			write(map[string]any{"values": values, "startAt": startAt, "maxResults": maxResults, "total": s.histories, "isLast": startAt+len(values) >= s.histories})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestLaterPagesListsReadAhead: with concurrency the writer keeps
// writeLag pages back and their changelogs are read in bulk while the
// pages before them are written, several pages' reads at once; one page
// back, the reads of two pages at most overlapped, and at the end of a
// sync each page's read was a round trip of its own on the writer's path.
// A sequential sync still reads one page ahead (the test's client has no
// bound on requests in flight; the tap's holds them to one).
func TestLaterPagesListsReadAhead(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		concurrency int
		least, most int64
	}{
		{concurrency: 1, least: 1, most: 2}, // the page written and the next
		// The pages kept back and the one written, and those read as they
		// arrived (TestListsReadAsPagesArrive).
		{concurrency: 8, least: 3, most: writeLag + 1 + earlyReads},
	} {
		t.Run(fmt.Sprint("concurrency=", tc.concurrency), func(t *testing.T) {
			t.Parallel()
			site := &manySite{issues: 100, histories: 60, bulkDelay: 30 * time.Millisecond}
			sink := newKeySink(map[string]bool{"changelogs": true})
			syncSite(t, site.serve(t).URL, sink, 10, tc.concurrency)
			var want []string
			for issue := 1; issue <= site.issues; issue++ {
				want = append(want, longIDs(issue, site.histories, "%d-%d")...)
			}
			assert.ElementsMatch(t, want, sink.written["changelogs"], "every entry once")
			assert.Equal(t, int64(10), site.bulk.Load(), "one bulk read a page")
			assert.GreaterOrEqual(t, site.bulkPeak.Load(), tc.least, "pages whose changelogs were read at once")
			assert.LessOrEqual(t, site.bulkPeak.Load(), tc.most, "pages whose changelogs were read at once")
		})
	}
}

// TestPagesKeptBackWhileAReadWaits: while a page's list read waits out a
// 429's Retry-After, the writer keeps waitLag pages back instead of
// writeLag, so that the reads of the pages behind it go on meanwhile: the
// bulk reads of pages 2 to waitLag+1 are sent before page 1's is sent
// again, where with writeLag the writer stopped at page writeLag+1, its
// requests idle until the wait was over.
func TestPagesKeptBackWhileAReadWaits(t *testing.T) {
	t.Parallel()
	site := &manySite{issues: 150, histories: 60, refuseBulk: "1", refused: make(chan struct{})}
	site.beforeBatch = func(ids []string) {
		if ids[0] != "1" {
			<-site.refused // the later pages come once the first page's read waits
			time.Sleep(50 * time.Millisecond)
		}
	}
	srv := site.serve(t)
	base, err := url.Parse(srv.URL)
	require.NoError(t, err)
	// The Retry-After of a second, cut to half a second: long enough for
	// the reads behind to go as far as the pages kept back let them.
	c, err := jira.New(jira.Options{BaseURL: base, Username: "u", Password: "p",
		Retry: jira.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond, MaxRetryAfter: 500 * time.Millisecond, MaxElapsed: 10 * time.Second}})
	require.NoError(t, err)
	env := &Env{Client: c, Cloud: true, Log: slog.New(slog.DiscardHandler), State: state.New(),
		StartDate: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), RunStart: time.Now(), PageSize: 10, Concurrency: 8}
	sink := newKeySink(map[string]bool{"changelogs": true})
	require.NoError(t, syncIssues(t.Context(), env, sink))
	assert.Len(t, sink.written["changelogs"], site.issues*site.histories, "every entry")
	site.bulkMu.Lock()
	defer site.bulkMu.Unlock()
	again := slices.Index(site.bulkLog[1:], "1") + 1
	require.Positive(t, again, "page 1's bulk read was never sent again: %v", site.bulkLog)
	sent := site.bulkLog[:again]
	assert.Subset(t, sent, []string{"1", "11", "21", "31", "41", "51", "61"}, "bulk reads sent while page 1's waited")
	// Besides, the pages read as they arrived (TestListsReadAsPagesArrive).
	assert.LessOrEqual(t, len(sent), waitLag+1+earlyReads, "bulk reads sent while page 1's waited: %v", sent)
}

// TestListsReadAsPagesArrive: with concurrency, the lists of up to
// earlyReads pages are read as the pages arrive, before the writer reaches
// them; started at the writer, the lists of the sync's last page waited for
// the pages before it to be written, and their round trip then ended the
// sync. Here only page 6 has lists to read, and the writer is held on page
// 1's first record until page 6's bulk read has been sent (or 2 s). A
// sequential sync does not: its one request at a time goes to the page
// being written.
func TestListsReadAsPagesArrive(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		concurrency int
		early       bool
	}{
		{concurrency: 8, early: true},
		{concurrency: 1, early: false},
	} {
		t.Run(fmt.Sprint("concurrency=", tc.concurrency), func(t *testing.T) {
			t.Parallel()
			site := &manySite{issues: 60, histories: 60, longOnly: 55}
			sink := &holdSink{keySink: newKeySink(map[string]bool{"changelogs": true}), hold: func() bool {
				deadline := time.After(2 * time.Second)
				for {
					if _, ok := site.bulkFirst.Load("55"); ok {
						return true
					}
					select {
					case <-deadline:
						return false
					case <-time.After(time.Millisecond):
					}
				}
			}}
			syncSite(t, site.serve(t).URL, sink, 10, tc.concurrency)
			assert.Len(t, sink.written["changelogs"], (site.issues-1)*5+site.histories, "every entry")
			assert.Equal(t, tc.early, sink.sawBeforeFirst, "page 6's lists read while page 1 was written")
		})
	}
}

// holdSink is a keySink whose first Write waits for hold, and notes what it
// said.
type holdSink struct {
	*keySink
	hold           func() bool
	once           sync.Once
	sawBeforeFirst bool
}

func (s *holdSink) Write(p Prepared) error {
	s.once.Do(func() { s.sawBeforeFirst = s.hold() })
	return s.keySink.Write(p)
}

// TestPagesWithNothingToReadAreNotHeld: a page whose lists are all
// embedded is written as soon as the pages before it are, not kept back
// behind pages still to come: holding pages heavy with embedded history
// took memory for nothing. Here the second page is answered only once the
// first is written (or after 2 s).
func TestPagesWithNothingToReadAreNotHeld(t *testing.T) {
	t.Parallel()
	firstWritten := make(chan struct{})
	sink := &signalSink{keySink: newKeySink(map[string]bool{"issues": true}), key: "10", reached: firstWritten}
	waited := make(chan bool, 1)
	site := &manySite{issues: 30, histories: 5, beforeBatch: func(ids []string) {
		if ids[0] != "11" {
			return
		}
		select {
		case <-firstWritten:
			waited <- true
		case <-time.After(2 * time.Second):
			waited <- false
		}
	}}
	syncSite(t, site.serve(t).URL, sink, 10, 8)
	assert.Len(t, sink.written["issues"], 30)
	assert.True(t, <-waited, "the first page was held until later pages came")
}

// signalSink is a keySink that closes reached once the issue key is
// written.
type signalSink struct {
	*keySink
	key     string
	reached chan struct{}
	once    sync.Once
}

func (s *signalSink) Write(p Prepared) error {
	err := s.keySink.Write(p)
	if p.Stream == "issues" && p.Key == s.key {
		s.once.Do(func() { close(s.reached) })
	}
	return err
}

// TestDeferredListsAreWhole syncs pages whose every issue's changelog Jira
// truncated: read while the page is written, with one /changelog/bulkfetch
// per page (its entries oldest first across the issues, 5000 a page), they
// come whole, every entry once and the status history as from the whole
// changelog; none is read on its own.
func TestDeferredListsAreWhole(t *testing.T) {
	t.Parallel()
	site := &manySite{issues: 40, histories: 300}
	sink := newKeySink(nil)
	syncSite(t, site.serve(t).URL, sink, 20, 4)
	assert.Equal(t, int64(4), site.bulk.Load(), "two pages of issues, each with 6000 entries: two bulk requests each")
	assert.Zero(t, site.peak.Load(), "changelogs read on their own")
	var changelogs, statuses []string
	for issue := 1; issue <= site.issues; issue++ {
		changelogs = append(changelogs, longIDs(issue, site.histories, "%d-%d")...)
		statuses = append(statuses, fmt.Sprintf("%d/%s", issue, InitialChangelogID))
		for i := 0; i < site.histories; i += 3 {
			statuses = append(statuses, fmt.Sprintf("%d/%d-%d", issue, issue, i))
		}
	}
	assert.ElementsMatch(t, changelogs, sink.written["changelogs"], "every changelog entry once")
	assert.ElementsMatch(t, statuses, sink.written["issue_status_history"])
	assert.Len(t, sink.initial, site.issues)
	for id, to := range sink.initial {
		assert.Equal(t, "st0", to, "issue %s", id)
	}
}

// waitingSink is a keySink whose Write of one record waits, up to a
// second, until ready says so.
type waitingSink struct {
	*keySink
	stream, key string
	ready       func() bool
	waited      atomic.Bool // ready came true while the write waited
}

func (s *waitingSink) Write(p Prepared) error {
	if p.Stream == s.stream && p.Key == s.key {
		s.waited.Store(waitFor(time.Second, s.ready))
	}
	return s.keySink.Write(p)
}

// TestBulkChangelogsReadAPageAhead: the changelogs of the next page are read
// in bulk while a page is written, not once it is: the write of the first
// page's last issue waits for the second page's bulk read, which never
// comes if it waits its turn.
func TestBulkChangelogsReadAPageAhead(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, 4} {
		t.Run(fmt.Sprintf("concurrency=%d", n), func(t *testing.T) {
			t.Parallel()
			site := &manySite{issues: 40, histories: 60}
			sink := &waitingSink{keySink: newKeySink(nil), stream: "issues", key: "20", ready: func() bool {
				_, ok := site.bulkFirst.Load("21")
				return ok
			}}
			syncSite(t, site.serve(t).URL, sink, 20, n)
			assert.True(t, sink.waited.Load(), "the second page's changelogs read while the first was written")
			assert.Len(t, sink.written["changelogs"], 40*60)
			assert.Equal(t, int64(2), site.bulk.Load())
		})
	}
}

// TestBulkChangelogCameShort: an issue whose entries from before its update
// did not all come from the bulk read (a page token that counts slid past
// some) has its changelog read again on its own, even when entries made
// since make up the number: every entry is written, and the initial status
// is the earliest change's from. Entries made since alone read nothing
// again.
func TestBulkChangelogCameShort(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name         string
		short, added map[int]int
		again        bool
	}{
		{name: "left out", short: map[int]int{3: 4}, again: true},
		{name: "left out, as many added", short: map[int]int{3: 4}, added: map[int]int{3: 4}, again: true},
		{name: "added", added: map[int]int{3: 4}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			site := &manySite{issues: 5, histories: 300, short: c.short, added: c.added}
			sink := newKeySink(nil)
			syncSite(t, site.serve(t).URL, sink, 20, 4)
			var want []string
			for issue := 1; issue <= site.issues; issue++ {
				want = append(want, longIDs(issue, site.histories, "%d-%d")...)
				for i := range c.added[issue] {
					want = append(want, fmt.Sprintf("%d-%d", issue, 10000+i))
				}
			}
			got := sink.written["changelogs"]
			assert.Equal(t, int64(1), site.bulk.Load())
			assert.Equal(t, "st0", sink.initial["3"], "the earliest change's from")
			if !c.again {
				assert.ElementsMatch(t, want, got, "every entry once")
				assert.Zero(t, site.peak.Load(), "a changelog read on its own")
				return
			}
			assert.Subset(t, got, want, "every entry")
			assert.Len(t, got, len(want)+site.histories-c.short[3], "issue 3's entries from before, again")
			assert.Positive(t, site.peak.Load(), "issue 3's changelog read on its own")
		})
	}
}

// TestDeferredListsReadSideBySide writes a page whose issues' changelogs
// were deferred: several issues' lists are read at once, not one after
// another, and written in the page's order.
func TestDeferredListsReadSideBySide(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	inFlight := map[string]int{}
	peak, arrived := 0, 0
	long := &longSite{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		issue := strings.Split(r.URL.Path, "/")[5]
		mu.Lock()
		inFlight[issue]++
		peak = max(peak, len(inFlight))
		arrived++
		first := arrived == 1
		mu.Unlock()
		// The first request waits, up to a second, for another issue's.
		if first {
			waitFor(time.Second, func() bool {
				mu.Lock()
				defer mu.Unlock()
				return len(inFlight) >= 2
			})
		}
		n, _ := strconv.Atoi(issue)
		var values []any
		for i := range 60 {
			values = append(values, long.history(n, i))
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"values": values, "startAt": 0, "total": 60, "isLast": true})
		mu.Lock()
		if inFlight[issue]--; inFlight[issue] == 0 {
			delete(inFlight, issue)
		}
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	sink := newKeySink(map[string]bool{"changelogs": true})
	b := &issueBatches{env: &Env{Client: clientAt(t, srv.URL), Cloud: true, State: state.New(), Concurrency: 4}, sink: sink, ceiling: time.Now()}
	batch := &issueBatch{}
	for i := 1; i <= 6; i++ {
		batch.items = append(batch.items, issueItem{id: strconv.Itoa(i), updated: time.Now().Add(-time.Hour), deferred: []deferredList{{known: 60}}})
	}
	require.NoError(t, b.emit(t.Context(), batch))
	var want []string
	for i := 1; i <= 6; i++ {
		want = append(want, longIDs(i, 60, "%d-%d")...)
	}
	assert.Equal(t, want, sink.written["changelogs"], "in the page's order")
	assert.GreaterOrEqual(t, peak, 2, "issues whose changelogs were read at once")
}

// TestNoBulkChangelogs: a site that answers /changelog/bulkfetch 404 (a
// proxy, an older site) has its changelogs read issue by issue, every entry
// once, with one warning, and the bulk read is not tried again.
func TestNoBulkChangelogs(t *testing.T) {
	t.Parallel()
	site := &manySite{issues: 60, histories: 150}
	inner := site.serve(t)
	var bulk atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/rest/api/2/changelog/bulkfetch" {
			bulk.Add(1)
			http.NotFound(w, r)
			return
		}
		r.URL.Host = strings.TrimPrefix(inner.URL, "http://")
		r.URL.Scheme = "http"
		resp, err := http.DefaultTransport.RoundTrip(r.Clone(r.Context()))
		if err != nil {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}))
	t.Cleanup(srv.Close)
	sink := newKeySink(nil)
	logs := syncSite(t, srv.URL, sink, 20, 1)
	var want []string
	for issue := 1; issue <= site.issues; issue++ {
		want = append(want, longIDs(issue, site.histories, "%d-%d")...)
	}
	assert.ElementsMatch(t, want, sink.written["changelogs"], "every entry once")
	assert.Equal(t, 1, strings.Count(logs, "no /changelog/bulkfetch"), logs)
	assert.LessOrEqual(t, bulk.Load(), int64(2), "tried again after the 404 (a page read ahead may have started it)")
}

// syncWriter serializes writes to w.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// truncatedIssue is an issue of a page whose changelog Jira truncated, as
// the page's decoder gives it.
func truncatedIssue(t *testing.T) jira.Record {
	t.Helper()
	page := `{"issues":[{"id":"1","key":"P-1","changelog":{"total":300,"histories":[]},"transitions":[],` +
		`"fields":{"updated":"2026-01-02T03:04:05.000+0000","created":"2026-01-01T00:00:00.000+0000",` +
		`"status":{"id":"10001","name":"In Progress"},"creator":{"accountId":"5b10ac8d82e05b22cc7d4ef5","displayName":"Zoë"}}}]}`
	decoded, err := jira.DecodeRecordShaped([]byte(page), jira.IssuePage)
	require.NoError(t, err)
	return decoded["issues"].([]any)[0].(map[string]any)
}

// TestInitialStatusLetsItsPageGo: the initial status record an issue keeps
// until its truncated changelog is read holds strings of its own, not views
// of the page's body, which would keep every page waiting to be written
// alive whole (40 MB of bodies on a site whose issues each had 400 entries).
func TestInitialStatusLetsItsPageGo(t *testing.T) {
	t.Parallel()
	issue := truncatedIssue(t)
	fields := issue["fields"].(map[string]any)
	views := map[string]bool{} // where the page's strings start
	// The creator is kept raw, its account id read from it.
	creator := fields["creator"].(jsonscan.Raw)
	for _, s := range []string{fields["created"].(string), fields["status"].(map[string]any)["name"].(string), string(creator), issue["key"].(string)} {
		views[fmt.Sprintf("%p", unsafe.StringData(s))] = true
	}
	acc := strings.Index(string(creator), "5b10")
	views[fmt.Sprintf("%p", unsafe.StringData(string(creator)[acc:]))] = true
	b := &issueBatches{env: &Env{Cloud: true}, sink: newKeySink(nil)}
	batch, err := b.prepare([]jira.Record{issue})
	require.NoError(t, err)
	initial := batch.items[0].initial
	require.NotNil(t, initial)
	require.Equal(t, "In Progress", initial["toString"])
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for _, e := range v {
				walk(e)
			}
		case string:
			assert.False(t, views[fmt.Sprintf("%p", unsafe.StringData(v))], "%q is a view of the page", v)
		case jsonscan.Raw:
			walk(string(v))
		}
	}
	walk(initial)
	assert.Equal(t, "5b10ac8d82e05b22cc7d4ef5", initial["authorAccountId"])
}

// TestInitialStatusLetsItsWindowGo: once written, an issue's initial status
// record holds nothing of the changelog window it took its first status
// from; its page, which keeps the record until the page is written, would
// otherwise keep every such window alive.
func TestInitialStatusLetsItsWindowGo(t *testing.T) {
	t.Parallel()
	sink := newKeySink(nil)
	b := &issueBatches{env: &Env{Cloud: true}, sink: sink}
	batch, err := b.prepare([]jira.Record{truncatedIssue(t)})
	require.NoError(t, err)
	window, err := jira.DecodeRecordShaped([]byte(`{"from":"10000","fromString":"To Do (a view of the window)"}`), jira.ChildRecord)
	require.NoError(t, err)
	views := map[string]bool{}
	for _, v := range window {
		views[fmt.Sprintf("%p", unsafe.StringData(v.(string)))] = true
	}
	require.NoError(t, b.writeInitialStatus(batch.items[0], window))
	assert.Contains(t, sink.written["issue_status_history"], "1/"+InitialChangelogID, "the record is written")
	for k, v := range batch.items[0].initial {
		if s, ok := v.(string); ok {
			assert.False(t, views[fmt.Sprintf("%p", unsafe.StringData(s))], "%s %q is a view of the window", k, s)
		}
	}
}

// TestBulkKeepsComingShort: on a site whose bulk read leaves entries out of
// every issue's changelog, the changelogs are read issue by issue once
// maxShortBulk issues came short, with one warning saying so, and every
// entry is written.
func TestBulkKeepsComingShort(t *testing.T) {
	t.Parallel()
	short := map[int]int{}
	for issue := 1; issue <= 60; issue++ {
		short[issue] = 1
	}
	site := &manySite{issues: 60, histories: 150, short: short}
	sink := newKeySink(map[string]bool{"changelogs": true})
	logs := syncSite(t, site.serve(t).URL, sink, 20, 1)
	var want []string
	for issue := 1; issue <= site.issues; issue++ {
		want = append(want, longIDs(issue, site.histories, "%d-%d")...)
	}
	written := map[string]bool{}
	for _, k := range sink.written["changelogs"] {
		written[k] = true
	}
	for _, k := range want {
		require.True(t, written[k], "entry %s", k)
	}
	assert.Equal(t, 1, strings.Count(logs, "keep coming short"), logs)
	assert.Equal(t, maxShortBulk-1, strings.Count(logs, "came short from the bulk read"))
	assert.LessOrEqual(t, site.bulk.Load(), int64(2), "the third page's changelogs read in bulk")
}

// fromDroppingSink is a keySink whose Prepare of a status change edits the
// record as a selection that deselects from would.
type fromDroppingSink struct{ *keySink }

func (s fromDroppingSink) Prepare(stream string, rec jira.Record) (Prepared, error) {
	p, err := s.keySink.Prepare(stream, rec)
	if stream == "issue_status_history" && rec["initial"] == false {
		delete(rec, "from")
	}
	return p, err
}

// TestInitialStatusAfterSelection: preparing a status change edits it (field
// selection), so the earliest change kept for the initial status is a copy:
// the initial status is still the earliest change's from.
func TestInitialStatusAfterSelection(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		site func(sink *keySink) string
	}{
		{"read in bulk", func(sink *keySink) string { return (&manySite{issues: 5, histories: 300}).serve(t).URL }},
		{"streamed", func(sink *keySink) string {
			return (&longSite{histories: 4500, sink: sink, writtenByStart: map[int]int{}}).serve(t).URL
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			sink := newKeySink(nil)
			syncSite(t, c.site(sink), fromDroppingSink{sink}, 20, 4)
			require.NotEmpty(t, sink.initial)
			for id, to := range sink.initial {
				assert.Equal(t, "st0", to, "issue %s", id)
			}
		})
	}
}

// TestIssueBatchesAheadOfTheWriter: while the writer is held on the first
// Cloud batch, the batches fetched behind it are issuePipeline's: one more
// than the requests in flight sequentially, twice as many with
// concurrency up to 16, then 8 more from 24 on. With fewer, on two cores
// the window filled with batches waiting to be written and the requests in
// flight fell below max_concurrency.
func TestIssueBatchesAheadOfTheWriter(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		concurrency int
		want        int64 // batches asked for while the first is written
	}{
		{concurrency: 1, want: 3},
		{concurrency: 8, want: 18},
		{concurrency: 16, want: 34},
		{concurrency: 24, want: 34},
		{concurrency: 32, want: 42},
	} {
		t.Run(fmt.Sprint("concurrency=", tc.concurrency), func(t *testing.T) {
			t.Parallel()
			var batches atomic.Int64
			site := &manySite{issues: 500, histories: 5, beforeBatch: func([]string) { batches.Add(1) }}
			var held int64
			sink := &holdSink{keySink: newKeySink(map[string]bool{"issues": true}), hold: func() bool {
				// Until the batches wanted have been asked for (or 2 s),
				// and a while more, for any past them.
				for deadline := time.Now().Add(2 * time.Second); batches.Load() < tc.want && time.Now().Before(deadline); {
					time.Sleep(time.Millisecond)
				}
				time.Sleep(100 * time.Millisecond)
				held = batches.Load()
				return true
			}}
			syncSite(t, site.serve(t).URL, sink, 10, tc.concurrency)
			assert.Len(t, sink.written["issues"], site.issues)
			assert.Equal(t, tc.want, held, "batches asked for while the first was written")
		})
	}
}

// TestEarlyReadsOfPagesNeverWrittenStop: the lists of a page read as it
// arrived are stopped when the run ends before the page is written (an
// error on an earlier page), and its place is freed: the reading of lists
// read whole holds a goroutine (iter.Pull's) that nothing else would end.
// Not parallel: it looks at every goroutine's stack.
func TestEarlyReadsOfPagesNeverWrittenStop(t *testing.T) {
	site := &manySite{issues: 1, histories: 60}
	env := &Env{Client: clientAt(t, site.serve(t).URL), Cloud: true, Log: slog.New(slog.DiscardHandler), Concurrency: 8}
	b := &issueBatches{env: env, early: make(chan struct{}, earlyReads)}
	batch := &issueBatch{items: []issueItem{{id: "1", deferred: []deferredList{{known: 60}}}}}
	pulls := func() int {
		buf := make([]byte, 1<<20)
		return strings.Count(string(buf[:runtime.Stack(buf, true)]), "iter.Pull2")
	}
	before := pulls()
	b.startEarly(t.Context(), batch)
	require.True(t, batch.early, "a page with a list to read is read early")
	require.Len(t, b.early, 1)
	require.Greater(t, pulls(), before, "reading its lists")

	b.stopEarly()
	assert.Empty(t, b.early, "its place is freed")
	assert.Eventually(t, func() bool { return pulls() == before }, 2*time.Second, 5*time.Millisecond, "its reading goes on")
}
