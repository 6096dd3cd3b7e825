package streams

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tap-jira/tap-jira/internal/jira"
	"github.com/tap-jira/tap-jira/internal/state"
)

type memSink struct {
	mu      sync.Mutex
	records map[string]int
	checks  int
}

func (m *memSink) Wants(string) bool { return true }
func (m *memSink) Record(stream string, _ jira.Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.records[stream]++
	return nil
}
func (m *memSink) Prepare(stream string, rec jira.Record) (Prepared, error) {
	return Prepared{Stream: stream}, nil
}
func (m *memSink) Write(p Prepared) error { return m.Record(p.Stream, nil) }
func (m *memSink) Checkpoint() error {
	m.checks++
	return nil
}

// testIssue is an issue as a search page holds it, with no children.
func testIssue(id any, updated string) map[string]any {
	return map[string]any{"id": fmt.Sprint(id), "transitions": []any{},
		"changelog": map[string]any{"histories": []any{}, "total": 0},
		"fields":    map[string]any{"updated": updated, "comment": map[string]any{"comments": []any{}, "total": 0}}}
}

// onEveryPath runs f, in parallel subtests, with the Env of a sync of the
// site at url by each way issues are read: both flavors, 1 and 4 in flight.
func onEveryPath(t *testing.T, url string, f func(t *testing.T, env *Env)) {
	for _, cloud := range []bool{true, false} {
		for _, n := range []int{1, 4} {
			t.Run(fmt.Sprintf("cloud=%v/concurrency=%d", cloud, n), func(t *testing.T) {
				t.Parallel()
				f(t, &Env{Client: clientAt(t, url), Cloud: cloud, Log: slog.New(slog.DiscardHandler), State: state.New(),
					StartDate: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), RunStart: time.Now(), PageSize: 2, Concurrency: n})
			})
		}
	}
}

// TestIssueErrorsAreNeverLost runs the issue paths against a Jira whose
// later pages fail for good: every concurrency and flavor must report it.
func TestIssueErrorsAreNeverLost(t *testing.T) {
	t.Parallel()
	issue := func(id int) map[string]any { return testIssue(id, "2026-01-02T03:04:05.000+0000") }
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		write := func(v any) { _ = json.NewEncoder(w).Encode(v) }
		switch r.URL.Path {
		case "/rest/api/2/myself":
			write(map[string]any{"timeZone": "UTC"})
		case "/rest/api/2/search":
			if body["startAt"] == float64(0) {
				write(map[string]any{"issues": []any{issue(1), issue(2)}, "total": 6})
				return
			}
			w.WriteHeader(http.StatusBadRequest)
			write(map[string]any{"errorMessages": []string{"page gone"}})
		case "/rest/api/2/search/jql":
			if body["nextPageToken"] == nil {
				write(map[string]any{"issues": []any{issue(1), issue(2)}, "nextPageToken": "t"})
				return
			}
			w.WriteHeader(http.StatusBadRequest)
			write(map[string]any{"errorMessages": []string{"page gone"}})
		case "/rest/api/2/issue/bulkfetch":
			w.WriteHeader(http.StatusBadRequest)
			write(map[string]any{"errorMessages": []string{"page gone"}})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	onEveryPath(t, srv.URL, func(t *testing.T, env *Env) {
		err := syncIssues(t.Context(), env, &memSink{records: map[string]int{}})
		require.Error(t, err, "a failed page must fail the sync")
		assert.Contains(t, err.Error(), "page gone")
	})
}

// TestIssuesReturnedTwiceAreWrittenOnce serves a search that returns
// issues again on later pages, as Jira does at a page boundary and for an
// issue updated while the run reads: each is written once, on every path.
func TestIssuesReturnedTwiceAreWrittenOnce(t *testing.T) {
	t.Parallel()
	issue := func(id any) map[string]any { return testIssue(id, "2026-01-02T03:04:05.000+0000") }
	// The search's pages of two: issue 2 at the boundary, issue 1 again at
	// the end (updated meanwhile), and an id that is not a number twice.
	pages := [][]any{{1, 2}, {2, 3}, {1, "X-1"}, {"X-1"}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		write := func(v any) { _ = json.NewEncoder(w).Encode(v) }
		issues := func(ids []any) []any {
			var out []any
			for _, id := range ids {
				out = append(out, issue(id))
			}
			return out
		}
		switch r.URL.Path {
		case "/rest/api/2/myself":
			write(map[string]any{"timeZone": "UTC"})
		case "/rest/api/2/search":
			// Data Center: the same issues as one list, by offset.
			all := slices.Concat(pages...)
			at, size := int(body["startAt"].(float64)), int(body["maxResults"].(float64))
			write(map[string]any{"issues": issues(all[min(at, len(all)):min(at+size, len(all))]), "total": len(all)})
		case "/rest/api/2/search/jql":
			k := 0
			if tok, ok := body["nextPageToken"].(string); ok {
				k, _ = strconv.Atoi(tok)
			}
			page := map[string]any{"issues": issues(pages[k])}
			if k+1 < len(pages) {
				page["nextPageToken"] = strconv.Itoa(k + 1)
			}
			write(page)
		case "/rest/api/2/issue/bulkfetch":
			write(map[string]any{"issues": issues(body["issueIdsOrKeys"].([]any))})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	onEveryPath(t, srv.URL, func(t *testing.T, env *Env) {
		sink := &memSink{records: map[string]int{}}
		require.NoError(t, syncIssues(t.Context(), env, sink))
		assert.Equal(t, 4, sink.records["issues"], "issues 1, 2, 3 and X-1, once each")
	})
}

// worklogSite serves the worklog endpoints of a test: /worklog/updated
// answers feed(since), /worklog/list calls list (which may hold the
// request) and answers each id, /worklog/deleted is empty. It returns a
// client of the site.
func worklogSite(t *testing.T, feed func(since string) (values []any, until int, last bool), list func()) *jira.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		write := func(v any) { _ = json.NewEncoder(w).Encode(v) }
		switch r.URL.Path {
		case "/rest/api/2/worklog/updated":
			values, until, last := feed(r.URL.Query().Get("since"))
			write(map[string]any{"values": values, "until": until, "lastPage": last})
		case "/rest/api/2/worklog/list":
			list()
			var body struct{ IDs []int }
			_ = json.NewDecoder(r.Body).Decode(&body)
			var out []any
			for _, id := range body.IDs {
				out = append(out, map[string]any{"id": fmt.Sprint(id), "updated": "2026-01-02T03:04:05.000+0000"})
			}
			write(out)
		case "/rest/api/2/worklog/deleted":
			write(map[string]any{"values": []any{}, "until": 0, "lastPage": true})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return clientAt(t, srv.URL)
}

// clientAt is a client of a test's server, which tries each request once.
func clientAt(t *testing.T, serverURL string) *jira.Client {
	t.Helper()
	base, err := url.Parse(serverURL)
	require.NoError(t, err)
	c, err := jira.New(jira.Options{BaseURL: base, Username: "u", Password: "p", Retry: jira.RetryPolicy{MaxAttempts: 1}})
	require.NoError(t, err)
	return c
}

func feedItem(id int) any { return map[string]any{"worklogId": id, "updatedTime": id * 1000} }

// TestWorklogFeedRepeatsAreWrittenOnce: the feed repeats the item at each
// page boundary; each worklog is written once however many pages there are,
// and the repeat of one boundary does not hide a worklog further on.
func TestWorklogFeedRepeatsAreWrittenOnce(t *testing.T) {
	t.Parallel()
	// Pages of ids by since: each page starts with the last item of the
	// page before, as Jira's feed does.
	pages := map[string][]int{"1000": {1, 2, 3}, "3000": {3, 4, 5}, "5000": {5, 6}, "6000": {6, 1}}
	c := worklogSite(t, func(since string) ([]any, int, bool) {
		ids := pages[since]
		var values []any
		for _, id := range ids {
			values = append(values, feedItem(id))
		}
		last := ids[len(ids)-1] * 1000
		if since == "6000" {
			last = 7000 // worklog 1 was updated again later: a new item, not a repeat
		}
		return values, last, since == "6000"
	}, func() {})
	for _, n := range []int{1, 4} {
		sink, _ := syncWorklogsOf(t, c, n)
		// 1..6 once each, and 1 again for its later update.
		assert.Equal(t, 7, sink.records["worklogs"], "concurrency %d", n)
	}
}

// TestWorklogUpdatedBetweenFeedPagesIsWritten: a worklog listed on one page
// and updated before the next page is read comes again on that next page,
// with its new time: not a boundary repeat. Skipped as one, its new
// version was lost for good, since the bookmark moves past it (found by
// the scheduled-runs test on a 3000-issue site, whose feed takes pages).
func TestWorklogUpdatedBetweenFeedPagesIsWritten(t *testing.T) {
	t.Parallel()
	entry := func(id, ms int) any { return map[string]any{"worklogId": id, "updatedTime": ms} }
	pages := map[string][]any{
		"1000": {entry(1, 1000), entry(2, 2000), entry(3, 3000)},
		// 3 repeated at the boundary; 2 updated at 4500, after the first
		// page was read.
		"3000": {entry(3, 3000), entry(4, 4000), entry(2, 4500), entry(5, 5000)},
	}
	c := worklogSite(t, func(since string) ([]any, int, bool) {
		values := pages[since]
		last := values[len(values)-1].(map[string]any)["updatedTime"].(int)
		return values, last, since == "3000"
	}, func() {})
	for _, n := range []int{1, 4} {
		sink, st := syncWorklogsOf(t, c, n)
		// 1..5 once each, and 2 again for its update: 3 only once.
		assert.Equal(t, 6, sink.records["worklogs"], "concurrency %d", n)
		assert.Equal(t, time.UnixMilli(5000).UTC(), st.Updated("worklogs"))
	}
}

// TestWorklogFeedThatCannotAdvanceStops: a full page of worklogs sharing
// one millisecond makes Jira's feed return that page again for its next
// page; the sync stops with an error naming it, neither looping nor moving
// its bookmark past the worklogs it cannot see, and saying how to go on.
// Done as it says, the next run reads on past that millisecond.
func TestWorklogFeedThatCannotAdvanceStops(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, stuck, place string
		bookmark           func(*state.State) time.Time
	}{
		{"updated", "/rest/api/2/worklog/updated", "bookmarks.worklogs.updated",
			func(st *state.State) time.Time { return st.Updated("worklogs") }},
		{"deleted", "/rest/api/2/worklog/deleted", "bookmarks.worklogs.deleted",
			func(st *state.State) time.Time { return st.Time("worklogs", state.KeyDeleted) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var stuckAsked atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				write := func(v any) { _ = json.NewEncoder(w).Encode(v) }
				since, _ := strconv.Atoi(r.URL.Query().Get("since"))
				switch r.URL.Path {
				case tc.stuck:
					if since <= 2000 {
						// The same full page each time: a client that
						// followed it would loop.
						stuckAsked.Add(1)
						write(map[string]any{"values": []any{feedItem(2), feedItem(2), feedItem(2)}, "until": 2000, "lastPage": false})
						return
					}
					write(map[string]any{"values": []any{feedItem(3)}, "until": 3000, "lastPage": true})
				case "/rest/api/2/worklog/updated", "/rest/api/2/worklog/deleted":
					write(map[string]any{"values": []any{}, "until": since, "lastPage": true})
				case "/rest/api/2/worklog/list":
					write([]any{})
				default:
					http.NotFound(w, r)
				}
			}))
			t.Cleanup(srv.Close)
			env := &Env{Client: clientAt(t, srv.URL), Log: slog.New(slog.DiscardHandler), State: state.New(),
				StartDate: time.UnixMilli(1000).UTC(), RunStart: time.Now(), Concurrency: 4}
			err := syncWorklogs(t.Context(), env, &memSink{records: map[string]int{}})
			require.Error(t, err)
			var stuck *jira.StuckFeedError
			require.ErrorAs(t, err, &stuck)
			assert.Equal(t, time.UnixMilli(2000).UTC(), stuck.At)
			assert.Contains(t, err.Error(), "share the update time 1970-01-01T00:00:02.000Z (2000 ms)")
			assert.Equal(t, int64(2), stuckAsked.Load(), "the page is asked for once more, not again")
			assert.Equal(t, time.UnixMilli(2000).UTC(), tc.bookmark(env.State), "the bookmark stays at the millisecond")

			// Do what the error says to the state, as a user would.
			m := regexp.MustCompile(`set (\S+) to "([^"]+)" in the state`).FindStringSubmatch(err.Error())
			require.NotNil(t, m, "the error says what to set: %v", err)
			require.Equal(t, tc.place, m[1])
			value := env.State.Value()
			at := value
			path := strings.Split(m[1], ".")
			for _, k := range path[:len(path)-1] {
				at = at[k].(map[string]any)
			}
			at[path[len(path)-1]] = m[2]
			raw, err := json.Marshal(value)
			require.NoError(t, err)
			st, _, err := state.Parse(bytes.NewReader(raw), []string{"worklogs"})
			require.NoError(t, err)
			env.State = st
			require.NoError(t, syncWorklogs(t.Context(), env, &memSink{records: map[string]int{}}), "the next run reads on")
			assert.Equal(t, time.UnixMilli(3000).UTC(), tc.bookmark(env.State))
		})
	}
}

// syncWorklogsOf syncs worklogs from c's feed from 1000 ms on, with n
// requests in flight.
func syncWorklogsOf(t *testing.T, c *jira.Client, n int) (*memSink, *state.State) {
	t.Helper()
	env := &Env{Client: c, Log: slog.New(slog.DiscardHandler), State: state.New(),
		StartDate: time.UnixMilli(1000).UTC(), RunStart: time.Now(), Concurrency: n}
	sink := &memSink{records: map[string]int{}}
	require.NoError(t, syncWorklogs(t.Context(), env, sink))
	return sink, env.State
}

// TestWorklogListsInFlight: the worklogs group, fetched ahead of its turn,
// lists at most worklogListsInFlight feed pages at once, or half of
// max_concurrency when that is more (each listed page waits in memory until
// the group is written), and max_concurrency once its turn has come, or
// when it is written at once: the lists left at its turn are then the tail
// of the sync.
func TestWorklogListsInFlight(t *testing.T) {
	t.Parallel()
	const feedPages, concurrency = 24, 8
	for _, tc := range []struct {
		name        string
		turn        func(peak *atomic.Int64) <-chan struct{} // the group's Env.Turn
		want        int64
		concurrency int // 8 if 0
	}{
		{"before its turn", func(*atomic.Int64) <-chan struct{} { return make(chan struct{}) }, worklogListsInFlight, 0},
		{"before its turn at 16: half of it", func(*atomic.Int64) <-chan struct{} { return make(chan struct{}) }, 8, 16},
		{"before its turn at 2", func(*atomic.Int64) <-chan struct{} { return make(chan struct{}) }, 2, 2},
		{"written at once", func(*atomic.Int64) <-chan struct{} { return nil }, concurrency, 0},
		{"its turn has come", func(*atomic.Int64) <-chan struct{} {
			ch := make(chan struct{})
			close(ch)
			return ch
		}, concurrency, 0},
		{"its turn comes while it lists", func(peak *atomic.Int64) <-chan struct{} {
			ch := make(chan struct{})
			go func() {
				defer close(ch)
				for deadline := time.Now().Add(5 * time.Second); peak.Load() < worklogListsInFlight && time.Now().Before(deadline); {
					time.Sleep(time.Millisecond)
				}
			}()
			return ch
		}, concurrency, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			conc := cmp.Or(tc.concurrency, concurrency)
			var inFlight, peak atomic.Int64
			c := worklogSite(t, func(since string) ([]any, int, bool) {
				n, _ := strconv.Atoi(since)
				id := n/1000 + 1
				return []any{feedItem(id)}, id * 1000, id >= feedPages
			}, func() {
				n := inFlight.Add(1)
				defer inFlight.Add(-1)
				for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
				}
				// Hold each list until one more than the bound is in
				// flight (if the bound does not hold), or a while.
				for deadline := time.Now().Add(300 * time.Millisecond); inFlight.Load() <= tc.want && time.Now().Before(deadline); {
					time.Sleep(time.Millisecond)
				}
				for p, n := peak.Load(), inFlight.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
				}
			})
			env := &Env{Client: c, Log: slog.New(slog.DiscardHandler), State: state.New(),
				StartDate: time.UnixMilli(0).UTC(), RunStart: time.Now(), Concurrency: conc, Turn: tc.turn(&peak)}
			sink := &memSink{records: map[string]int{}}
			require.NoError(t, syncWorklogs(t.Context(), env, sink))
			assert.Equal(t, feedPages, sink.records["worklogs"])
			assert.Equal(t, tc.want, peak.Load(), "lists in flight at once")
		})
	}
}

// TestWorklogFeedIsNotStarved: each page of the worklog feed waits for the
// one before, so its requests go before every ranked request waiting for a
// slot. Ranked with its group, behind the issue batches of the group
// written before it, the chain got a slot only when no batch was waiting,
// and at 16 in flight its nine pages took the whole 20k sync.
func TestWorklogFeedIsNotStarved(t *testing.T) {
	t.Parallel()
	const feedPages, floodMax = 5, 400
	var mu sync.Mutex
	var order []string // what the server answered, in order
	var floods atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		write := func(v any) { _ = json.NewEncoder(w).Encode(v) }
		mu.Lock()
		order = append(order, r.URL.Path)
		mu.Unlock()
		switch r.URL.Path {
		case "/rest/api/2/worklog/updated":
			n, _ := strconv.Atoi(r.URL.Query().Get("since"))
			id := n/1000 + 1
			write(map[string]any{"values": []any{feedItem(id)}, "until": id * 1000, "lastPage": id >= feedPages})
		case "/rest/api/2/worklog/list":
			write([]any{})
		case "/rest/api/2/worklog/deleted":
			write(map[string]any{"values": []any{}, "until": 0, "lastPage": true})
		default: // the issue batches of the group before
			time.Sleep(time.Millisecond)
			write(map[string]any{})
		}
	}))
	t.Cleanup(srv.Close)
	base, err := url.Parse(srv.URL)
	require.NoError(t, err)
	c, err := jira.New(jira.Options{BaseURL: base, Username: "u", Password: "p",
		Retry: jira.RetryPolicy{MaxAttempts: 1}, MaxInFlight: 1})
	require.NoError(t, err)

	// Four callers keep requests of the group before (rank 6) waiting for
	// the one slot until they have sent floodMax.
	ctx := t.Context()
	var flooders sync.WaitGroup
	for range 4 {
		flooders.Go(func() {
			for floods.Add(1) <= floodMax {
				_ = c.Get(jira.WithPriority(ctx, 6), "rest/api/2/issue/bulkfetch", nil, nil)
			}
		})
	}
	env := &Env{Client: c, Log: slog.New(slog.DiscardHandler), State: state.New(),
		StartDate: time.UnixMilli(0).UTC(), RunStart: time.Now(), Concurrency: 8}
	require.NoError(t, syncWorklogs(jira.WithPriority(ctx, 7), env, &memSink{records: map[string]int{}}))
	flooders.Wait()

	mu.Lock()
	defer mu.Unlock()
	feeds, last := 0, 0
	for i, path := range order {
		if path == "/rest/api/2/worklog/updated" {
			feeds, last = feeds+1, i
		}
	}
	require.Equal(t, feedPages, feeds)
	// Between two feed pages, about one batch: the one that took the slot
	// while the tap read the page before. Ranked with its group, the feed
	// waited for every batch.
	assert.Less(t, last, floodMax/4, "the feed's last page came after %d other requests", last-feedPages+1)
}

// dcSearch serves /rest/api/2/search over issues, which the test may
// change between requests through edit (called with each request's
// startAt, under the lock). It records each request's startAt and
// maxResults, and its jql's lower bound.
type dcSearch struct {
	mu     sync.Mutex
	issues []dcIssue // in search order
	edit   func(startAt int)
	asked  [][2]int
	froms  []string
	// phantom answers every page but the first with an issue that is not
	// where the page before ended: a search that never holds still.
	phantom bool
	// after says how many requests a page's request waits to be served
	// after.
	after func(startAt int) int
	// weigh, if set, is the bytes of description issue id carries.
	weigh func(id int) int
}

type dcIssue struct {
	id      int
	updated time.Time
}

// minuteIssues is n issues, 10000 on, issue i updated i minutes after base.
func minuteIssues(base time.Time, n int) []dcIssue {
	out := make([]dcIssue, n)
	for i := range out {
		out[i] = dcIssue{10000 + i, base.Add(time.Duration(i) * time.Minute)}
	}
	return out
}

// ids is the ids of issues 10000+from to 10000+to-1.
func ids(from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, strconv.Itoa(10000+i))
	}
	return out
}

func (is dcIssue) record() map[string]any {
	return testIssue(is.id, is.updated.Format("2006-01-02T15:04:05.000-0700"))
}

func (d *dcSearch) serve(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		write := func(v any) { _ = json.NewEncoder(w).Encode(v) }
		switch r.URL.Path {
		case "/rest/api/2/myself":
			write(map[string]any{"timeZone": "UTC"})
			return
		case "/rest/api/2/search":
		default:
			http.NotFound(w, r)
			return
		}
		var body struct {
			JQL        string `json:"jql"`
			StartAt    int    `json:"startAt"`
			MaxResults int    `json:"maxResults"`
		}
		require.NoError(t, json.NewDecoder(r.Body).Decode(&body))
		if d.after != nil {
			// Pages are asked for side by side: hold this one until the
			// one it must follow was served.
			waitFor(time.Second, func() bool {
				d.mu.Lock()
				defer d.mu.Unlock()
				return len(d.asked) >= d.after(body.StartAt)
			})
		}
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.edit != nil {
			d.edit(body.StartAt)
		}
		d.asked = append(d.asked, [2]int{body.StartAt, body.MaxResults})
		from, _, _ := strings.Cut(strings.TrimPrefix(body.JQL, `updated >= "`), `"`)
		d.froms = append(d.froms, from)
		since, err := time.Parse("2006-01-02 15:04", from)
		require.NoError(t, err)
		var in []any
		for _, is := range d.issues {
			if !is.updated.Before(since) {
				rec := is.record()
				if d.weigh != nil {
					rec["fields"].(map[string]any)["description"] = strings.Repeat("x", d.weigh(is.id))
				}
				in = append(in, rec)
			}
		}
		total := len(in)
		page := in[min(body.StartAt, total):min(body.StartAt+body.MaxResults, total)]
		if d.phantom && body.StartAt > 0 {
			page = []any{dcIssue{99999, d.issues[0].updated}.record()}
		}
		write(map[string]any{"issues": page, "total": total, "startAt": body.StartAt})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// idSink records the issue ids written, in order, and counts the issues
// prepared.
type idSink struct {
	memSink
	ids      []string
	prepared atomic.Int64
}

func (s *idSink) Prepare(stream string, rec jira.Record) (Prepared, error) {
	if stream == "issues" {
		s.prepared.Add(1)
	}
	return Prepared{Stream: stream, Key: fmt.Sprint(rec["id"])}, nil
}
func (s *idSink) Write(p Prepared) error {
	if p.Stream == "issues" {
		s.ids = append(s.ids, p.Key)
	}
	return nil
}

// TestDataCenterPagesOverlap reads the Data Center search by pages that
// each start on the issue the page before ended with: unchanged, they
// cover the search once; when the issues move, the search is read again
// from the last issue written; it stops at the bookmark's ceiling; and a
// search that keeps moving without anything new written fails the run.
func TestDataCenterPagesOverlap(t *testing.T) {
	t.Parallel()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	// Issue i is updated at minute i; the bookmark's ceiling is minute 25.
	runStart := base.Add(30 * time.Minute)
	tests := []struct {
		name    string
		n       int
		edit    func(d *dcSearch) func(startAt int)
		phantom bool
		after   func(startAt int) int
		// sameMinute puts every issue in the first minute.
		sameMinute bool
		want       []string
		asked      [][2]int // nil: not checked
		prepared   int64    // issues prepared; 0: not checked
		reread     string   // the minute the search is read again from
		wantErr    string
	}{
		{
			// Each issue is prepared once: the issue a page starts on is
			// only checked.
			name:     "unchanged",
			n:        25,
			want:     ids(0, 25),
			asked:    [][2]int{{0, 10}, {9, 10}, {18, 10}},
			prepared: 25,
		},
		{
			// Issue 10002, read on the first page, is updated after it:
			// it moves to the end and every issue behind it one place up.
			name: "an issue read is updated",
			n:    25,
			edit: func(d *dcSearch) func(int) {
				done := false
				return func(startAt int) {
					if startAt == 9 && !done {
						done = true
						moved := d.issues[2]
						moved.updated = runStart.Add(time.Minute)
						d.issues = append(append(d.issues[:2:2], d.issues[3:]...), moved)
					}
				}
			},
			want:   ids(0, 25),
			reread: "2026-01-01 00:09",
		},
		{
			// Issue 10001 is deleted when the last page is asked for, whose
			// issues are past the ceiling: they are next run's.
			name: "moves past the bookmark's ceiling",
			n:    30,
			edit: func(d *dcSearch) func(int) {
				return func(startAt int) {
					if startAt == 27 && d.issues[1].id == 10001 {
						d.issues = append(d.issues[:1:1], d.issues[2:]...)
					}
				}
			},
			want:  ids(0, 28),
			asked: [][2]int{{0, 10}, {9, 10}, {18, 10}, {27, 10}},
			// The last page is served after the three before it.
			after: func(startAt int) int {
				if startAt == 27 {
					return 3
				}
				return 0
			},
		},
		{
			// Every later page starts elsewhere, but each reading again
			// brings new issues: it ends.
			name:    "moving all the time",
			n:       25,
			phantom: true,
			want:    ids(0, 25),
			reread:  "2026-01-01 00:18",
		},
		{
			// The same, in a minute of more issues than a page: reading
			// again brings nothing new, and the run fails rather than loop.
			name:       "moving all the time within a minute",
			n:          25,
			sameMinute: true,
			phantom:    true,
			wantErr:    "kept changing",
		},
	}
	for _, tt := range tests {
		// With concurrency the writer keeps pages back (pageLag): those
		// received before a shift are written before the search is read
		// again.
		for _, n := range []int{1, 4} {
			t.Run(fmt.Sprintf("%s/concurrency=%d", tt.name, n), func(t *testing.T) {
				t.Parallel()
				d := &dcSearch{issues: minuteIssues(base, tt.n), phantom: tt.phantom, after: tt.after}
				if tt.sameMinute {
					for i := range d.issues {
						d.issues[i].updated = base
					}
				}
				if tt.edit != nil {
					d.edit = tt.edit(d)
				}
				srv := d.serve(t)
				env := &Env{Client: clientAt(t, srv.URL), Log: slog.New(slog.DiscardHandler), State: state.New(),
					StartDate: base, RunStart: runStart, Lookback: 5 * time.Minute, PageSize: 10, Concurrency: n}
				sink := &idSink{memSink: memSink{records: map[string]int{}}}
				err := syncIssues(t.Context(), env, sink)
				if tt.wantErr != "" {
					require.Error(t, err)
					assert.Contains(t, err.Error(), tt.wantErr)
					return
				}
				require.NoError(t, err)
				want := slices.DeleteFunc(slices.Clone(tt.want), func(s string) bool { return s == "" })
				assert.ElementsMatch(t, want, sink.ids, "each issue written once")
				if tt.asked != nil {
					assert.ElementsMatch(t, tt.asked, d.asked)
				}
				if tt.prepared > 0 {
					assert.Equal(t, tt.prepared, sink.prepared.Load())
				}
				if tt.reread != "" {
					assert.Contains(t, d.froms, tt.reread)
				} else {
					for _, f := range d.froms {
						assert.Equal(t, "2026-01-01 00:00", f, "read again")
					}
				}
			})
		}
	}
}

// TestDataCenterPagesFollowTheirWeight: Data Center search pages are asked
// for smaller while the issues weigh more than dcPageBytes a page, and
// whole again once they do not, each page still starting on the issue the
// page before ended with: every issue is written once. The heavy run is
// longer than the pages 4 in flight cover, and the light run after it
// too, so whatever order the pages in flight come back in, the sizer has
// seen a heavy page while heavy issues are still to be asked for, and
// only light ones at the end.
func TestDataCenterPagesFollowTheirWeight(t *testing.T) {
	t.Parallel()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const heavy = dcPageBytes / 5 // five to a page
	const issues = 200
	for _, n := range []int{1, 4} {
		t.Run(fmt.Sprintf("concurrency=%d", n), func(t *testing.T) {
			t.Parallel()
			d := &dcSearch{issues: minuteIssues(base, issues), weigh: func(id int) int {
				if id >= 10010 && id < 10080 {
					return heavy
				}
				return 10
			}}
			srv := d.serve(t)
			env := &Env{Client: clientAt(t, srv.URL), Log: slog.New(slog.DiscardHandler), State: state.New(),
				StartDate: base, RunStart: base.Add(2 * issues * time.Minute), Lookback: 5 * time.Minute, PageSize: 10, Concurrency: n}
			sink := &idSink{memSink: memSink{records: map[string]int{}}}
			require.NoError(t, syncIssues(t.Context(), env, sink))
			assert.ElementsMatch(t, ids(0, issues), sink.ids, "each issue written once")

			asked := slices.Clone(d.asked)
			slices.SortFunc(asked, func(a, b [2]int) int { return a[0] - b[0] })
			require.Equal(t, [2]int{0, 10}, asked[0])
			smallest := 10
			for i := 1; i < len(asked); i++ {
				prev := asked[i-1]
				assert.Equal(t, prev[0]+prev[1]-1, asked[i][0], "page %v starts on the last issue of %v", asked[i], prev)
				smallest = min(smallest, asked[i][1])
			}
			last := asked[len(asked)-1]
			assert.GreaterOrEqual(t, last[0]+last[1], issues, "the pages reach the end")
			assert.Equal(t, 5, smallest, "pages of heavy issues are asked for smaller, down to what weighs dcPageBytes")
			assert.Equal(t, 10, last[1], "light issues get whole pages again")
		})
	}
}

func TestPageSizer(t *testing.T) {
	t.Parallel()
	page := func(issues, bytes int) jira.DCPage {
		return jira.DCPage{Issues: make([]jira.Record, issues), Bytes: bytes}
	}
	// The first page's length is the most Jira allows.
	tests := []struct {
		name  string
		pages []jira.DCPage
		want  int
	}{
		{"light issues keep whole pages", []jira.DCPage{page(100, 1<<20)}, 100},
		{"heavy issues get smaller pages", []jira.DCPage{page(100, 20<<20)}, 5},
		{"never below the floor", []jira.DCPage{page(10, 100<<20)}, minDCPage},
		{"back to whole once light", []jira.DCPage{page(100, 20<<20), page(5, 5<<10)}, 100},
		{"a site that allows small pages", []jira.DCPage{page(3, 30<<20)}, 3},
		{"pages overlap, so two at least", []jira.DCPage{page(1, 30<<20)}, 2},
		{"an empty page says nothing", []jira.DCPage{page(100, 20<<20), page(0, 0)}, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newPageSizer(tt.pages[0])
			for _, p := range tt.pages[1:] {
				s.saw(p)
			}
			assert.Equal(t, tt.want, s.next())
		})
	}
}

// cloudSearch serves search/jql over issues with a page token that counts
// issues, as an offset does (the worst a token can do), and bulkfetch. edit
// runs before each search request, under the lock.
type cloudSearch struct {
	mu     sync.Mutex
	issues []dcIssue // in search order
	edit   func(req int)
	reqs   int
	froms  []string
	tokens int  // search requests that followed a token
	gone   bool // the requests for when issues were updated find nothing
	// onAnchor runs before the first request for when issues were updated.
	onAnchor func()
	anchors  int
}

func (c *cloudSearch) serve(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		write := func(v any) { _ = json.NewEncoder(w).Encode(v) }
		var body struct {
			JQL        string   `json:"jql"`
			MaxResults int      `json:"maxResults"`
			Token      string   `json:"nextPageToken"`
			IDs        []string `json:"issueIdsOrKeys"`
			Fields     []string `json:"fields"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		c.mu.Lock()
		defer c.mu.Unlock()
		switch r.URL.Path {
		case "/rest/api/2/myself":
			write(map[string]any{"timeZone": "UTC"})
		case "/rest/api/2/search/jql":
			c.reqs++
			if c.edit != nil {
				c.edit(c.reqs)
			}
			from, _, _ := strings.Cut(strings.TrimPrefix(body.JQL, `updated >= "`), `"`)
			c.froms = append(c.froms, from)
			since, err := time.Parse("2006-01-02 15:04", from)
			require.NoError(t, err)
			var in []any
			for _, is := range c.issues {
				if !is.updated.Before(since) {
					in = append(in, map[string]any{"id": strconv.Itoa(is.id)})
				}
			}
			at := 0
			if body.Token != "" {
				c.tokens++
				at, _ = strconv.Atoi(body.Token)
			}
			page := map[string]any{"issues": in[min(at, len(in)):min(at+body.MaxResults, len(in))]}
			if at+body.MaxResults < len(in) {
				page["nextPageToken"] = strconv.Itoa(at + body.MaxResults)
			}
			write(page)
		case "/rest/api/2/issue/bulkfetch":
			anchor := slices.Equal(body.Fields, []string{"updated"})
			if anchor {
				if c.anchors++; c.anchors == 1 && c.onAnchor != nil {
					c.onAnchor()
				}
			}
			var out []any
			for _, is := range c.issues {
				if slices.Contains(body.IDs, strconv.Itoa(is.id)) && !(c.gone && anchor) {
					out = append(out, is.record())
				}
			}
			write(map[string]any{"issues": out})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestCloudIDScanHoldsItsPlace reads the Cloud id search through a token
// that counts issues: each page after the first is a new search from the
// minute of the last issue read, so an issue read and then updated makes
// no other one slide between two pages; the token is followed only where a
// new search would not move on.
func TestCloudIDScanHoldsItsPlace(t *testing.T) {
	t.Parallel()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	runStart := base.Add(60 * time.Minute)
	tests := []struct {
		name       string
		sameMinute bool
		gone       bool
		edit       func(c *cloudSearch) func(req int)
		onAnchor   func(c *cloudSearch) func()
		want       []string
		tokens     bool // the token was followed
	}{
		{name: "unchanged", want: ids(0, 25)},
		{
			// After the first page, issue 10002 is updated: it moves to
			// the end, and the issues behind it one place up.
			name: "an issue read is updated",
			edit: func(c *cloudSearch) func(int) {
				return func(req int) {
					if req == 2 {
						moved := c.issues[2]
						moved.updated = runStart.Add(time.Minute)
						c.issues = append(append(c.issues[:2:2], c.issues[3:]...), moved)
					}
				}
			},
			want: ids(0, 25),
		},
		{
			// The last issue of the first page, 10009, is updated after the
			// page was read: its new time would skip 10010 to 10024.
			name: "the last issue of a page updated after it was read",
			onAnchor: func(c *cloudSearch) func() {
				return func() {
					moved := c.issues[9]
					moved.updated = runStart.Add(time.Minute)
					c.issues = append(append(c.issues[:9:9], c.issues[10:]...), moved)
				}
			},
			want: ids(0, 25),
		},
		{name: "one minute of more than a page", sameMinute: true, want: ids(0, 25), tokens: true},
		{name: "the last issue of a page gone", gone: true, want: ids(0, 25), tokens: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := &cloudSearch{gone: tt.gone}
			c.issues = minuteIssues(base, 25)
			if tt.sameMinute {
				for i := range c.issues {
					c.issues[i].updated = base
				}
			}
			if tt.edit != nil {
				c.edit = tt.edit(c)
			}
			if tt.onAnchor != nil {
				c.onAnchor = tt.onAnchor(c)
			}
			srv := c.serve(t)
			for _, n := range []int{1, 4} {
				env := &Env{Client: clientAt(t, srv.URL), Cloud: true, Log: slog.New(slog.DiscardHandler), State: state.New(),
					StartDate: base, RunStart: runStart, Lookback: 5 * time.Minute, PageSize: 5, Concurrency: n, IDPage: 10}
				sink := &idSink{memSink: memSink{records: map[string]int{}}}
				require.NoError(t, syncIssues(t.Context(), env, sink))
				assert.ElementsMatch(t, tt.want, sink.ids, "each issue written once, at %d in flight", n)
			}
			c.mu.Lock()
			defer c.mu.Unlock()
			assert.Equal(t, tt.tokens, c.tokens > 0, "token followed")
		})
	}
}

// waitSink holds the first issue's preparation until cond holds (at most a
// second) and says whether it did.
type waitSink struct {
	idSink
	cond   func() bool
	once   sync.Once
	waited atomic.Bool
}

func (s *waitSink) Prepare(stream string, rec jira.Record) (Prepared, error) {
	s.once.Do(func() { s.waited.Store(waitFor(time.Second, s.cond)) })
	return s.idSink.Prepare(stream, rec)
}

func waitFor(d time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(d); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			return false
		}
	}
	return true
}

// TestNextPageReadWhilePreparing: with one request in flight, the next page
// is asked for while a page's records are prepared, as a sequential tap
// reading ahead does, not after.
func TestNextPageReadWhilePreparing(t *testing.T) {
	t.Parallel()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	d := &dcSearch{issues: minuteIssues(base, 25)}
	srv := d.serve(t)
	sink := &waitSink{idSink: idSink{memSink: memSink{records: map[string]int{}}}}
	sink.cond = func() bool {
		d.mu.Lock()
		defer d.mu.Unlock()
		return len(d.asked) >= 2
	}
	env := &Env{Client: clientAt(t, srv.URL), Log: slog.New(slog.DiscardHandler), State: state.New(),
		StartDate: base, RunStart: base.Add(time.Hour), PageSize: 10, Concurrency: 1}
	require.NoError(t, syncIssues(t.Context(), env, sink))
	assert.True(t, sink.waited.Load(), "the second page was asked for while the first was prepared")
	assert.Len(t, sink.ids, 25)
}

// TestSearchCeiling: the issues bookmark's ceiling is the run's start on
// the site's clock, minus lookback_minutes. The site's clock is serverInfo's
// serverTime when the run read it; else the Date of the site's answers,
// when it is behind this machine's (never when ahead: a proxy's clock may
// stamp it); else this machine's. A run says so when the clock it uses is
// more than a minute from this machine's.
func TestSearchCeiling(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		siteStart time.Duration // serverTime at the run's start, from this machine's clock; 0: not read
		date      string        // the Date the site's answers carry, an offset from now; "": none
		want      time.Duration // the ceiling, from the run's start before lookback
		noted     string        // what the log says, "" for nothing
	}{
		{"serverTime behind", -2 * time.Hour, "+1h", -2 * time.Hour, "clock and the Jira site's differ"},
		{"serverTime ahead", 3 * time.Hour, "-1h", 3 * time.Hour, "clock and the Jira site's differ"},
		{"Date behind", 0, "-90m", -90 * time.Minute, "clock and the Jira site's differ"},
		{"Date ahead: this machine's clock", 0, "+90m", 0, "behind the Jira site's Date header"},
		{"Date seconds ahead", 0, "+20s", 0, ""},
		{"Date seconds behind", 0, "-20s", -20 * time.Second, ""},
		{"no Date: this machine's clock", 0, "", 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				date := ""
				if d, err := time.ParseDuration(tc.date); err == nil {
					date = time.Now().Add(d).UTC().Format(http.TimeFormat)
				}
				w.Header()["Date"] = []string{date} // an empty one stops net/http's
				_, _ = w.Write([]byte(`{"timeZone": "UTC"}`))
			}))
			t.Cleanup(srv.Close)
			var logs bytes.Buffer
			env := &Env{Client: clientAt(t, srv.URL), Log: slog.New(slog.NewTextHandler(&logs, nil)),
				RunStart: time.Now(), Lookback: 5 * time.Minute}
			if tc.siteStart != 0 {
				env.SiteStart = env.RunStart.Add(tc.siteStart)
			}
			_, err := env.Client.Myself(t.Context())
			require.NoError(t, err)
			got := env.searchCeiling().Add(env.Lookback).Sub(env.RunStart)
			// Date has whole seconds, cut down: up to a second earlier.
			assert.InDelta(t, tc.want.Seconds(), got.Seconds(), 1.5, "ceiling %v from the run's start", got)
			assert.LessOrEqual(t, got, tc.want+100*time.Millisecond, "never later than the clock it follows")
			if tc.noted == "" {
				assert.Empty(t, logs.String())
			} else {
				assert.Contains(t, logs.String(), tc.noted)
				assert.Equal(t, 1, strings.Count(logs.String(), "\n"), "one line: %s", logs.String())
			}
		})
	}
}
