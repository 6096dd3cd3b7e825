package streams

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tap-jira/tap-jira/internal/jira"
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
	for i := max(0, histories-40); i < histories; i++ {
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
		case path == "/rest/api/2/issue/1/comment":
			write(map[string]any{"comments": page(s.comments, func(i int) map[string]any { return map[string]any{"id": fmt.Sprintf("1-c%d", i)} }), "total": s.comments})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
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
			sink := &keySink{memSink: memSink{records: map[string]int{}}, written: map[string][]string{}, initial: map[string]any{}}
			site := &longSite{histories: 4500, comments: 2300, sink: sink, writtenByStart: map[int]int{}}
			syncLongSite(t, site, sink, n)

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

// TestLongChangelogForOneStream: a long changelog read for the status
// history alone gives the status history and no changelogs, and read for
// the changelogs alone no status history.
func TestLongChangelogForOneStream(t *testing.T) {
	t.Parallel()
	for _, stream := range []string{"issue_status_history", "changelogs"} {
		t.Run(stream, func(t *testing.T) {
			t.Parallel()
			sink := &keySink{memSink: memSink{records: map[string]int{}}, written: map[string][]string{}, initial: map[string]any{},
				wants: map[string]bool{"issues": true, stream: true}}
			site := &longSite{histories: 4500, comments: 2300, sink: sink, writtenByStart: map[int]int{}}
			syncLongSite(t, site, sink, 4)
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

func syncLongSite(t *testing.T, site *longSite, sink Sink, n int) {
	t.Helper()
	srv := site.serve(t)
	env := &Env{Client: clientAt(t, srv.URL), Cloud: true, Log: slog.New(slog.DiscardHandler), State: state.New(),
		StartDate: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), RunStart: time.Now(), PageSize: 100, Concurrency: n}
	require.NoError(t, syncIssues(t.Context(), env, sink))
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
