package jira

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// listServer serves a list by startAt, as a PageBean (values, total,
// isLast) or as a bare array of users. edit runs before each request, with
// its number, under the lock.
type listServer struct {
	mu    sync.Mutex
	items []string
	reqs  int
	edit  func(s *listServer, req int)
	keys  bool // records carry an id (or, as users, an accountId)
}

func (s *listServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs++
	if s.edit != nil {
		s.edit(s, s.reqs)
	}
	at, _ := strconv.Atoi(r.URL.Query().Get("startAt"))
	size, _ := strconv.Atoi(r.URL.Query().Get("maxResults"))
	page := []map[string]any{}
	users := r.URL.Path == "/jira/rest/api/2/users/search"
	for _, it := range s.items[min(at, len(s.items)):min(at+size, len(s.items))] {
		rec := map[string]any{"name": it}
		if s.keys && users {
			rec["accountId"] = it
		} else if s.keys {
			rec["id"] = it
		}
		page = append(page, rec)
	}
	w.Header().Set("Content-Type", "application/json")
	if users {
		_ = json.NewEncoder(w).Encode(page)
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"values": page, "total": len(s.items), "isLast": at+len(page) >= len(s.items)})
}

// TestListsHoldTheirPlace reads paged lists that change while they are
// read: a record removed before the page being read, or the list
// reordered, makes no other record slide out of it, and none comes twice.
func TestListsHoldTheirPlace(t *testing.T) {
	t.Parallel()
	names := func(from, to int) []string {
		var out []string
		for i := from; i < to; i++ {
			out = append(out, "v"+strconv.Itoa(i))
		}
		return out
	}
	remove := func(i int) func(s *listServer, req int) {
		return func(s *listServer, req int) {
			if req == 2 {
				s.items = append(s.items[:i:i], s.items[i+1:]...)
			}
		}
	}
	tests := []struct {
		name    string
		keys    bool
		edit    func(s *listServer, req int)
		want    []string
		wantErr string
	}{
		{name: "unchanged", keys: true, want: names(0, 23)},
		// v3, read on the first page, is removed before the second: v10
		// would slide onto the first page's place.
		{name: "a record read is removed", keys: true, edit: remove(3), want: names(0, 23)},
		{
			name: "reordered", keys: true,
			edit: func(s *listServer, req int) {
				if req == 2 {
					s.items = append([]string{s.items[len(s.items)-1]}, s.items[:len(s.items)-1]...)
				}
			},
			want: names(0, 23),
		},
		{
			name: "changing all the time", keys: true,
			edit: func(s *listServer, req int) {
				if req > 1 {
					s.items = append([]string{s.items[len(s.items)-1]}, s.items[:len(s.items)-1]...)
				}
			},
			wantErr: "kept changing",
		},
		// Records without a key cannot be checked: joined by position.
		{name: "no keys", keys: false, want: names(0, 23)},
		{name: "empty", keys: true, edit: func(s *listServer, _ int) { s.items = nil }, want: nil},
	}
	for _, tt := range tests {
		for _, users := range []bool{false, true} {
			t.Run(tt.name+map[bool]string{false: "/paged", true: "/users"}[users], func(t *testing.T) {
				t.Parallel()
				s := &listServer{items: names(0, 23), edit: tt.edit, keys: tt.keys}
				c := newTestClient(t, s.serve)
				pages := c.Paged(t.Context(), "rest/api/2/project/search", nil, 10)
				if users {
					pages = c.PagedArray(t.Context(), "rest/api/2/users/search", nil, 10)
				}
				var got []string
				var err error
				for page, perr := range pages {
					if err = perr; err != nil {
						break
					}
					for _, r := range page {
						got = append(got, r["name"].(string))
					}
				}
				if tt.wantErr != "" {
					require.Error(t, err)
					assert.Contains(t, err.Error(), tt.wantErr)
					return
				}
				require.NoError(t, err)
				assert.ElementsMatch(t, tt.want, got, "every record once")
			})
		}
	}
}
