package jira

import (
	"fmt"
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
		{name: "known total", size: 250, limit: 100, known: 250, wantPeak: 3, wantStartAts: []int{0, 100, 200}},
		{name: "changelog", size: 250, limit: 100, known: 250, wantPeak: 3, wantStartAts: []int{0, 100, 200}, changelog: true},
		{name: "grew since", size: 320, limit: 100, known: 250, wantPeak: 3, wantStartAts: []int{0, 100, 200, 300}},
		{name: "shrank since", size: 120, limit: 100, known: 250, wantPeak: 3, wantStartAts: []int{0, 100, 200}},
		{name: "pages cut short", size: 250, limit: 50, known: 250, wantPeak: 3, wantStartAts: []int{0, 100, 200, 50, 100, 150, 200}},
		{name: "no total known", size: 250, limit: 100, known: 0, wantPeak: 1, wantStartAts: []int{0, 100, 200}},
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

// pagesFrom lists the startAt of n pages from the first.
func pagesFrom(first, n int) []int {
	var out []int
	for i := range n {
		out = append(out, (first+i)*childPageSize)
	}
	return out
}
