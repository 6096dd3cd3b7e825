package streams

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tap-jira/tap-jira/internal/jira"
)

// pages yields 0..n-1, then err if not nil; started counts the items begun.
func pages(n int, err error, started *atomic.Int32) iter.Seq2[int, error] {
	return func(yield func(int, error) bool) {
		for i := range n {
			started.Add(1)
			if !yield(i, nil) {
				return
			}
		}
		if err != nil {
			yield(0, err)
		}
	}
}

func TestReadAhead(t *testing.T) {
	t.Parallel()
	boom := errors.New("page 3 failed")
	for _, tc := range []struct {
		name    string
		n       int
		err     error
		stopAt  int // the consumer stops after this item; -1 reads all
		want    []int
		wantErr error
	}{
		{"all, in order", 5, nil, -1, []int{0, 1, 2, 3, 4}, nil},
		{"error after the items", 3, boom, -1, []int{0, 1, 2}, boom},
		{"consumer stops early", 100, nil, 2, []int{0, 1, 2}, nil},
		{"empty", 0, nil, -1, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var started atomic.Int32
			var got []int
			var gotErr error
			for v, err := range readAhead(t.Context(), 1, pages(tc.n, tc.err, &started)) {
				if err != nil {
					gotErr = err
					break
				}
				got = append(got, v)
				if v == tc.stopAt {
					break
				}
			}
			assert.Equal(t, tc.want, got)
			assert.ErrorIs(t, gotErr, tc.wantErr)
			if tc.stopAt >= 0 {
				// Read ahead by at most depth (1) plus the item in hand.
				assert.LessOrEqual(t, int(started.Load()), tc.stopAt+3, "the producer stops soon after the consumer")
			}
		})
	}
}

// TestReadAheadOverlaps: the next item is produced while the consumer works
// on the current one.
func TestReadAheadOverlaps(t *testing.T) {
	t.Parallel()
	produced := make(chan int, 10)
	seq := func(yield func(int, error) bool) {
		for i := range 3 {
			produced <- i
			if !yield(i, nil) {
				return
			}
		}
	}
	for v := range readAhead(t.Context(), 1, seq) {
		if v == 0 {
			// While item 0 is in hand, item 1 gets produced without the
			// consumer asking for it.
			select {
			case <-produced: // item 0
			case <-time.After(5 * time.Second):
				t.Fatal("item 0 never produced")
			}
			select {
			case got := <-produced:
				assert.Equal(t, 1, got)
			case <-time.After(5 * time.Second):
				t.Fatal("item 1 was not read ahead")
			}
		}
	}
}

// TestOrderedKeepsNInFlight: n fetches run at once, whatever n is (a fixed
// cap on the queue once held them to nine).
func TestOrderedKeepsNInFlight(t *testing.T) {
	t.Parallel()
	const n = 12
	var active atomic.Int64
	all := make(chan struct{})
	fetch := func(ctx context.Context, i int) (int, error) {
		if active.Add(1) == n {
			close(all)
		}
		select {
		case <-all:
			return i, nil
		case <-time.After(5 * time.Second):
			return 0, fmt.Errorf("only %d of %d fetches in flight", active.Load(), n)
		}
	}
	var got []int
	err := ordered(t.Context(), n, slices.Values([]int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}), fetch, func(i int) error {
		got = append(got, i)
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, got)
}

// TestOrderedRanksFetchesByPlace: when the requests in flight are at their
// bound, a freed slot goes to the fetch the writer needs first. With one
// slot, held while every item's first request queues, an item's second
// request goes before later items' first, which had waited longer.
func TestOrderedRanksFetchesByPlace(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var seen []string
	hold := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, strings.TrimPrefix(r.URL.Path, "/"))
		mu.Unlock()
		if r.URL.Path == "/hold" {
			<-hold
		}
		time.Sleep(20 * time.Millisecond) // an item's second request queues meanwhile
		_, _ = w.Write([]byte(`{}`))
	}))
	t.Cleanup(srv.Close)
	base, err := url.Parse(srv.URL)
	require.NoError(t, err)
	c, err := jira.New(jira.Options{BaseURL: base, Username: "u", Password: "p", Retry: jira.RetryPolicy{MaxAttempts: 1}, MaxInFlight: 1})
	require.NoError(t, err)
	held := make(chan error, 1)
	go func() {
		var v map[string]any
		held <- c.Get(t.Context(), "hold", nil, &v)
	}()
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) == 1
	}, 5*time.Second, time.Millisecond)
	go func() {
		time.Sleep(100 * time.Millisecond) // the items' first requests queue
		close(hold)
	}()
	var got []int
	err = ordered(t.Context(), 4, slices.Values([]int{0, 1, 2, 3}), func(ctx context.Context, i int) (int, error) {
		for _, part := range []string{"a", "b"} {
			var v map[string]any
			if err := c.Get(ctx, fmt.Sprint(part, i), nil, &v); err != nil {
				return 0, err
			}
		}
		return i, nil
	}, func(i int) error {
		got = append(got, i)
		return nil
	})
	require.NoError(t, err)
	require.NoError(t, <-held)
	assert.Equal(t, []int{0, 1, 2, 3}, got)
	mu.Lock()
	defer mu.Unlock()
	// A slot is handed on as its request ends, before the item's next one
	// is sent: a1 gets the slot a0 frees, then b0 waits with a2 and a3 and
	// goes first, then b1. In the order they waited it would be a0 a1 a2
	// a3 b0 b1 b2 b3: the writer's next page behind every page ahead.
	assert.Equal(t, []string{"hold", "a0", "a1", "b0", "b1", "a2", "a3", "b2", "b3"}, seen)
}

// TestOrderedLooksFurtherWhileAFetchWaits: while the fetch the writer
// waits for sits out a 429's Retry-After, the items behind it are fetched
// up to twice the window (n more), not just the window; without waits, and
// once the wait is over, the window is n again.
func TestOrderedLooksFurtherWhileAFetchWaits(t *testing.T) {
	t.Parallel()
	const n, items = 4, 20
	var mu sync.Mutex
	var seen []string
	refused := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		item := strings.TrimPrefix(r.URL.Path, "/item/")
		seen = append(seen, item)
		w.Header().Set("Content-Type", "application/json")
		if item == "0" && !refused {
			refused = true
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte(`{"errorMessages":["rate limited"]}`))
			return
		}
		_, _ = w.Write([]byte(`{}`))
	}))
	t.Cleanup(srv.Close)
	base, err := url.Parse(srv.URL)
	require.NoError(t, err)
	// The Retry-After of a second, cut to half a second: long enough for
	// the fetches behind to go as far as the window lets them.
	retry := jira.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond, MaxRetryAfter: 500 * time.Millisecond, MaxElapsed: 10 * time.Second}
	c, err := jira.New(jira.Options{BaseURL: base, Username: "u", Password: "p", Retry: retry, MaxInFlight: n})
	require.NoError(t, err)
	var got []int
	err = ordered(t.Context(), n, slices.Values(slices.Collect(func(yield func(int) bool) {
		for i := range items {
			if !yield(i) {
				return
			}
		}
	})), func(ctx context.Context, i int) (int, error) {
		var v map[string]any
		return i, c.Get(ctx, fmt.Sprint("item/", i), nil, &v)
	}, func(i int) error {
		if i == 1 {
			// The wait is over: the window is n again, and grows only
			// as the writer takes results.
			mu.Lock()
			ahead := len(seen)
			mu.Unlock()
			time.Sleep(50 * time.Millisecond)
			mu.Lock()
			assert.Equal(t, ahead, len(seen), "fetched past the window with no fetch waiting")
			mu.Unlock()
		}
		got = append(got, i)
		return nil
	})
	require.NoError(t, err)
	assert.Len(t, got, items)
	mu.Lock()
	defer mu.Unlock()
	first := slices.Index(seen, "0")
	retried := first + 1 + slices.Index(seen[first+1:], "0")
	require.Greater(t, retried, first, "item 0 was never tried again")
	// Before item 0's second try: its first, and items 1 to 2n, whatever
	// their order.
	before := slices.Sorted(slices.Values(seen[:retried]))
	assert.Equal(t, []string{"0", "1", "2", "3", "4", "5", "6", "7", "8"}, before, "requests made before item 0's second try")
}
