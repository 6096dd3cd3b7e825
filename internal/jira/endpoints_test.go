package jira

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// childServer serves an issue's comments and changelog (size entries,
// pages cut at limit) and counts requests and the most in flight at once.
// The first requests wait, up to a second, for the others expected with
// them, so requests sent side by side are seen together even on a loaded
// machine.
type childServer struct {
	size, limit, together int
	arrived, inFlight     atomic.Int64
	peak                  atomic.Int64
	mu                    sync.Mutex
	startAts              []int
}

func (s *childServer) serve(w http.ResponseWriter, r *http.Request) {
	s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	if s.arrived.Add(1) <= int64(s.together) {
		for deadline := time.Now().Add(time.Second); s.arrived.Load() < int64(s.together) && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
	}
	for n, p := s.inFlight.Load(), s.peak.Load(); n > p && !s.peak.CompareAndSwap(p, n); p = s.peak.Load() {
	}
	startAt, _ := strconv.Atoi(r.URL.Query().Get("startAt"))
	maxResults, _ := strconv.Atoi(r.URL.Query().Get("maxResults"))
	s.mu.Lock()
	s.startAts = append(s.startAts, startAt)
	s.mu.Unlock()
	var items []string
	for i := startAt; i < min(startAt+min(maxResults, s.limit), s.size); i++ {
		items = append(items, fmt.Sprintf(`{"id":"%d"}`, i))
	}
	list := "[" + strings.Join(items, ",") + "]"
	w.Header().Set("Content-Type", "application/json")
	if strings.HasSuffix(r.URL.Path, "/changelog") {
		fmt.Fprintf(w, `{"startAt":%d,"maxResults":%d,"total":%d,"isLast":%t,"values":%s}`, startAt, maxResults, s.size, startAt+len(items) >= s.size, list)
		return
	}
	fmt.Fprintf(w, `{"startAt":%d,"maxResults":%d,"total":%d,"comments":%s}`, startAt, maxResults, s.size, list)
}

// TestChildListsReadPagesSideBySide: the pages of a truncated comment or
// changelog list whose total the issue gave are requested at once, and the
// list comes out whole and in order when it grew, shrank or came in pages
// cut short meanwhile.
func TestChildListsReadPagesSideBySide(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name               string
		size, limit, known int
		wantPeak           int64
		wantStartAts       []int
		changelog          bool
	}{
		{name: "known total", size: 250, limit: 100, known: 250, wantPeak: 3, wantStartAts: []int{0, 99, 198}},
		{name: "empty", size: 0, limit: 100, known: 0, wantPeak: 1, wantStartAts: []int{0}},
		{name: "emptied since", size: 0, limit: 100, known: 250, wantPeak: 3, wantStartAts: []int{0, 99, 198}},
		{name: "changelog", size: 250, limit: 100, known: 250, wantPeak: 3, wantStartAts: []int{0, 99, 198}, changelog: true},
		{name: "one page", size: 100, limit: 100, known: 100, wantPeak: 1, wantStartAts: []int{0}},
		{name: "just over a page", size: 101, limit: 100, known: 101, wantPeak: 2, wantStartAts: []int{0, 99}},
		{name: "grew since", size: 320, limit: 100, known: 250, wantPeak: 3, wantStartAts: []int{0, 99, 198, 297}},
		{name: "shrank since", size: 120, limit: 100, known: 250, wantPeak: 3, wantStartAts: []int{0, 99, 198}},
		// Pages of 50 do not join up: read on from the first, overlapping.
		{name: "pages cut short", size: 250, limit: 50, known: 250, wantPeak: 3, wantStartAts: []int{0, 99, 198, 49, 98, 147, 196, 245}},
		{name: "no total known", size: 250, limit: 100, known: 0, wantPeak: 1, wantStartAts: []int{0, 99, 198}},
		{name: "a total not to be believed", size: 250, limit: 100, known: 1 << 40, wantPeak: maxPagesAtOnce, wantStartAts: pagesFrom(0, maxPagesAtOnce)},
		{name: "more pages than are read at once", size: 2250, limit: 100, known: 2250, wantPeak: maxPagesAtOnce, wantStartAts: pagesFrom(0, 23)},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := &childServer{size: c.size, limit: c.limit, together: int(c.wantPeak)}
			client := newTestClient(t, s.serve)
			var got []Record
			var err error
			if c.changelog {
				got, err = client.IssueChangelog(t.Context(), true, "7", c.known)
			} else {
				got, err = client.IssueComments(t.Context(), "7", c.known)
			}
			require.NoError(t, err)
			require.Len(t, got, c.size)
			for i, rec := range got {
				require.Equal(t, strconv.Itoa(i), rec["id"], "record %d", i)
			}
			assert.Equal(t, c.wantPeak, s.peak.Load(), "requests in flight at once")
			assert.ElementsMatch(t, c.wantStartAts, s.startAts, "pages requested")
		})
	}
}

// pagesFrom lists the startAt of n pages from the first, each starting on
// the last record of the one before.
func pagesFrom(first, n int) []int {
	var out []int
	for i := range n {
		out = append(out, (first+i)*(childPageSize-1))
	}
	return out
}

// changingChildren serves an issue's comments, or its changelog, from a
// list that edit changes after each answer (numbered from 1). Pages after
// the first wait for the first to be answered, so the pages read side by
// side are read after the first edit.
type changingChildren struct {
	mu       sync.Mutex
	items    []string
	answered int
	edit     func(items []string, answered int) []string
	first    chan struct{}
	once     sync.Once
}

func (s *changingChildren) serve(w http.ResponseWriter, r *http.Request) {
	startAt, _ := strconv.Atoi(r.URL.Query().Get("startAt"))
	maxResults, _ := strconv.Atoi(r.URL.Query().Get("maxResults"))
	if startAt != 0 {
		select {
		case <-s.first:
		case <-time.After(5 * time.Second):
		}
	}
	s.mu.Lock()
	var items []string
	for _, id := range s.items[min(startAt, len(s.items)):min(startAt+maxResults, len(s.items))] {
		items = append(items, fmt.Sprintf(`{"id":%q}`, id))
	}
	total := len(s.items)
	s.answered++
	s.items = s.edit(s.items, s.answered)
	s.mu.Unlock()
	list := "[" + strings.Join(items, ",") + "]"
	w.Header().Set("Content-Type", "application/json")
	if strings.HasSuffix(r.URL.Path, "/changelog") {
		fmt.Fprintf(w, `{"startAt":%d,"maxResults":%d,"total":%d,"isLast":%t,"values":%s}`, startAt, maxResults, total, startAt+len(items) >= total, list)
	} else {
		fmt.Fprintf(w, `{"startAt":%d,"maxResults":%d,"total":%d,"comments":%s}`, startAt, maxResults, total, list)
	}
	if startAt == 0 {
		s.once.Do(func() { close(s.first) })
	}
}

// TestChildListsHoldTheirPlace: a comment deleted, or the list changed,
// between the reads of its pages makes no other record slide out of them,
// and none comes twice.
func TestChildListsHoldTheirPlace(t *testing.T) {
	t.Parallel()
	ids := func(from, to int) []string {
		var out []string
		for i := from; i < to; i++ {
			out = append(out, "c"+strconv.Itoa(i))
		}
		return out
	}
	once := func(change func([]string) []string) func([]string, int) []string {
		return func(items []string, answered int) []string {
			if answered == 1 {
				return change(items)
			}
			return items
		}
	}
	tests := []struct {
		name    string
		edit    func(items []string, answered int) []string
		want    []string
		wantErr string
	}{
		{name: "unchanged", edit: once(func(s []string) []string { return s }), want: ids(0, 250)},
		// c10, read on the first page, is deleted before the others are
		// read: c100 would slide onto the first page's place.
		{
			name: "a record read is deleted",
			edit: once(func(s []string) []string { return append(s[:10:10], s[11:]...) }),
			want: ids(0, 250),
		},
		{
			name: "one deleted, one added: the total holds",
			edit: once(func(s []string) []string { return append(append(s[:10:10], s[11:]...), "c250") }),
			want: ids(0, 251),
		},
		{
			name:    "changing all the time",
			edit:    func(s []string, _ int) []string { return append([]string{s[len(s)-1]}, s[:len(s)-1]...) },
			wantErr: "kept changing",
		},
	}
	for _, tt := range tests {
		for _, changelog := range []bool{false, true} {
			t.Run(tt.name+map[bool]string{false: "/comments", true: "/changelog"}[changelog], func(t *testing.T) {
				t.Parallel()
				s := &changingChildren{items: ids(0, 250), edit: tt.edit, first: make(chan struct{})}
				client := newTestClient(t, s.serve)
				var got []Record
				var err error
				if changelog {
					got, err = client.IssueChangelog(t.Context(), true, "7", 250)
				} else {
					got, err = client.IssueComments(t.Context(), "7", 250)
				}
				if tt.wantErr != "" {
					require.Error(t, err)
					assert.Contains(t, err.Error(), tt.wantErr)
					return
				}
				require.NoError(t, err)
				var names []string
				for _, r := range got {
					names = append(names, r["id"].(string))
				}
				assert.ElementsMatch(t, tt.want, names, "every record once")
			})
		}
	}
}

// TestDataCenterChangelogInWindows: Data Center gives an issue's changelog
// whole, with one GET of the issue; one longer than LongFrom comes out in
// windows of LongFrom entries, in order, each entry once, and one entry
// not an object is an error, not a record dropped.
func TestDataCenterChangelogInWindows(t *testing.T) {
	t.Parallel()
	changelog := func(n int, bad int) string {
		var b strings.Builder
		fmt.Fprintf(&b, `{"id":"7","changelog":{"startAt":0,"maxResults":%d,"total":%d,"histories":[`, n, n)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			if i == bad {
				b.WriteString(`"not an entry"`)
				continue
			}
			fmt.Fprintf(&b, `{"id":"%d","created":"2026-01-02T03:04:05.000+0000","items":[]}`, i)
		}
		b.WriteString(`]}}`)
		return b.String()
	}
	for _, c := range []struct {
		name      string
		n, bad    int
		wantSizes []int
		wantErr   string
	}{
		{name: "short", n: 150, bad: -1, wantSizes: []int{150}},
		{name: "exactly LongFrom", n: LongFrom, bad: -1, wantSizes: []int{LongFrom}},
		{name: "long", n: 2*LongFrom + 500, bad: -1, wantSizes: []int{LongFrom, LongFrom, 500}},
		{name: "long, an entry not an object", n: 2*LongFrom + 500, bad: LongFrom + 3, wantErr: "expected a list of objects, item 3 is a string"},
	} {
		for _, spill := range []int64{0, 1 << 10} { // held whole; read from a file
			t.Run(fmt.Sprintf("%s, spilled past %d", c.name, spill), func(t *testing.T) {
				t.Parallel()
				testDataCenterChangelogInWindows(t, c.n, c.wantSizes, c.wantErr, spill, changelog(c.n, c.bad))
			})
		}
	}
}

// testDataCenterChangelogInWindows reads an issue's changelog from body
// with the client's spill size at spill.
func testDataCenterChangelogInWindows(t *testing.T, n int, wantSizes []int, wantErr string, spill int64, body string) {
	t.Helper()
	var requests atomic.Int32
	client := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		assert.Equal(t, "/jira/rest/api/2/issue/7", r.URL.Path)
		assert.Equal(t, "changelog", r.URL.Query().Get("expand"))
		_, _ = io.WriteString(w, body)
	})
	client.spillFrom = spill
	var sizes []int
	next := 0
	for recs, err := range client.IssueChangelogPages(t.Context(), false, "7", n) {
		if wantErr != "" {
			if err != nil {
				require.ErrorContains(t, err, wantErr)
				require.ErrorContains(t, err, "reading changelog of issue 7")
				sizes = append(sizes, -1)
			} else {
				sizes = append(sizes, len(recs))
			}
			continue
		}
		require.NoError(t, err)
		sizes = append(sizes, len(recs))
		for _, rec := range recs {
			require.Equal(t, strconv.Itoa(next), rec["id"])
			next++
		}
	}
	if wantErr != "" {
		assert.Equal(t, []int{LongFrom, -1}, sizes, "the first window, then the error")
		return
	}
	assert.Equal(t, wantSizes, sizes)
	assert.Equal(t, n, next)
	assert.Equal(t, int32(1), requests.Load())
}

// TestChangelogBulk reads /changelog/bulkfetch page by page, following
// nextPageToken until Jira gives none, with the issues and page size in
// every request, and reports a page it cannot read or a token that does
// not move.
func TestChangelogBulk(t *testing.T) {
	t.Parallel()
	pages := map[string]string{
		"":   `{"issueChangeLogs":[{"issueId":"1","changeHistories":[{"id":"10"}]},{"issueId":"2","changeHistories":[{"id":"20"},{"id":"21"}]}],"nextPageToken":"p2"}`,
		"p2": `{"issueChangeLogs":[{"issueId":"1","changeHistories":[{"id":"11"}]}],"nextPageToken":null}`,
	}
	for _, c := range []struct {
		name    string
		pages   map[string]string
		want    []string // issueId:historyId, in order
		wantErr string
	}{
		{name: "two pages", pages: pages, want: []string{"1:10", "2:20", "2:21", "1:11"}},
		{name: "no changelogs", pages: map[string]string{"": `{"issueChangeLogs":[]}`}},
		{name: "more groups than are decoded at once", pages: map[string]string{"": manyGroups(150)}, want: manyGroupIDs(150)},
		{name: "a token that does not move", pages: map[string]string{"": `{"issueChangeLogs":[{"issueId":"1","changeHistories":[{"id":"10"}]}],"nextPageToken":"p"}`, "p": `{"issueChangeLogs":[{"issueId":"1","changeHistories":[{"id":"11"}]}],"nextPageToken":"p"}`},
			want: []string{"1:10", "1:11"}, wantErr: "the same page token twice"},
		{name: "a group without its issue", pages: map[string]string{"": `{"issueChangeLogs":[{"changeHistories":[]}]}`}, wantErr: "without its issueId"},
		{name: "histories not a list", pages: map[string]string{"": `{"issueChangeLogs":[{"issueId":"1","changeHistories":{}}]}`}, wantErr: `"changeHistories" of issue 1`},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			client := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
				var body struct {
					IDs        []string `json:"issueIdsOrKeys"`
					MaxResults int      `json:"maxResults"`
					Token      string   `json:"nextPageToken"`
				}
				assert.Equal(t, "/jira/rest/api/2/changelog/bulkfetch", r.URL.Path)
				assert.NoError(t, json.NewDecoder(r.Body).Decode(&body))
				assert.Equal(t, []string{"1", "2"}, body.IDs)
				assert.Equal(t, changelogBulkPage, body.MaxResults)
				_, _ = io.WriteString(w, c.pages[body.Token])
			})
			var got []string
			var err error
		pages:
			for page, e := range client.ChangelogBulk(t.Context(), []string{"1", "2"}) {
				if e != nil {
					err = e
					break
				}
				for g, e := range page.Groups() {
					if e != nil {
						err = e
						break pages
					}
					for _, h := range g.Histories {
						got = append(got, g.IssueID+":"+h["id"].(string))
					}
				}
			}
			assert.Equal(t, c.want, got)
			if c.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, c.wantErr)
			require.ErrorContains(t, err, "reading changelogs")
		})
	}
}

// manyGroups is a page of /changelog/bulkfetch with n groups of one entry,
// alternating between issues 1 and 2.
func manyGroups(n int) string {
	var b strings.Builder
	b.WriteString(`{"issueChangeLogs":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"issueId":"%d","changeHistories":[{"id":"%d"}]}`, 1+i%2, i)
	}
	b.WriteString(`]}`)
	return b.String()
}

func manyGroupIDs(n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("%d:%d", 1+i%2, i))
	}
	return out
}

// TestChangelogBulkPageWaitsAsBytes: a page of /changelog/bulkfetch is
// decoded with its groups checked but not built, so that a page waiting for
// its turn holds its bytes, not its tree.
func TestChangelogBulkPageWaitsAsBytes(t *testing.T) {
	t.Parallel()
	v, err := decodeShaped([]byte(manyGroups(3)), true, ChangelogBulk)
	require.NoError(t, err)
	groups := v.(map[string]any)["issueChangeLogs"]
	require.IsType(t, &LongList{}, groups)
	assert.Equal(t, 3, groups.(*LongList).Len())
	_, err = decodeShaped([]byte(`{"issueChangeLogs":[{"issueId":"1"},{"issueId":"2"},tru]}`), true, ChangelogBulk)
	require.Error(t, err, "checked all the same")
}
