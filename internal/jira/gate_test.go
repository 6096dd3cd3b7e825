package jira

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestGateAdapts walks the bound through a burst of 429s, a later one, the
// floor of one and the climb back to max.
func TestGateAdapts(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	g := newGate(8, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	ctx := t.Context()
	warnings := func() int { return strings.Count(logs.String(), "level=WARN") }
	take := func(n int) []ticket {
		var epochs []ticket
		for range n {
			e, err := g.acquire(ctx, "")
			require.NoError(t, err)
			epochs = append(epochs, e)
		}
		return epochs
	}

	// Eight in flight are all refused together: one cut, not three.
	for _, e := range take(8) {
		g.release(e, refused)
	}
	assert.Equal(t, 4, g.bound(), "a burst of 429s halves the bound once")

	// A request sent after the cut and refused cuts again.
	for _, e := range take(4) {
		g.release(e, refused)
	}
	assert.Equal(t, 2, g.bound())
	for range 3 {
		e := take(1)[0]
		g.release(e, refused)
	}
	assert.Equal(t, 1, g.bound(), "never below one")

	// Errors that say nothing about load move nothing; each run of
	// successes as long as the bound raises it by one, but the step onto
	// 2, the bound Jira last refused at, waits for four runs (4 x 1), and a
	// run there (2) shows Jira takes more: the climb goes on as before.
	g.release(take(1)[0], neutral)
	assert.Equal(t, 1, g.bound())
	var climb []int
	for range 40 {
		g.release(take(1)[0], succeeded)
		climb = append(climb, g.bound())
	}
	assert.Equal(t, []int{1, 1, 1, 2, 2, 3, 3, 3, 4, 4, 4, 4, 5}, climb[:13])
	assert.Equal(t, 8, climb[len(climb)-1], "back to max, and no further")

	// One warning per episode of throttling: the first cut from max.
	assert.Equal(t, 1, warnings())
	g.release(take(1)[0], refused)
	assert.Equal(t, 4, g.bound())
	assert.Equal(t, 2, warnings(), "a new episode warns again")

	// Back at 7, one below the bound refused, the step onto 8 waits four
	// runs of 7; refused at 8 again, the bound steps back to 7, not to 4,
	// and the next try waits twice as long.
	succeed := func(n int) {
		for range n {
			g.release(take(1)[0], succeeded)
		}
	}
	succeed(4 + 5 + 6)
	assert.Equal(t, 7, g.bound())
	succeed(7*4 - 1)
	assert.Equal(t, 7, g.bound(), "the step onto the ceiling waits four runs")
	succeed(1)
	assert.Equal(t, 8, g.bound())
	g.release(take(1)[0], refused)
	assert.Equal(t, 7, g.bound(), "refused at the ceiling again: one step back")
	succeed(7*8 - 1)
	assert.Equal(t, 7, g.bound(), "twice as long a wait")
	succeed(1)
	assert.Equal(t, 8, g.bound())
}

// TestGateLearnsWhereJiraRefuses runs the gate against a model site,
// round after round: as many requests as the bound lets through, the
// site answering the first `allows` and refusing the rest. Against a
// limit below max the bound settles just under it and is refused now and
// then, not at the top of every climb (the plain climb: 79 refusals and
// 7.9 answered a round; halving at the ceiling too: 15 and 9.7; now 16
// and 10.0). After a refusal that was someone else's burst it is back at
// max soon (137 answered, against 92 for the plain climb).
func TestGateLearnsWhereJiraRefuses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name         string
		allows       func(round int) int
		maxRefusals  int
		minPerRound  float64 // requests answered per round, on average
		maxBackAtMax int     // answered requests before the bound is max again, 0: not checked
	}{
		{"a limit of 10 at max 16", func(int) int { return 10 }, 25, 9.9, 0},
		{"one refused round, then no limit", func(round int) int {
			if round == 0 {
				return 0
			}
			return 1 << 20
		}, 16, 0, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := newGate(16, slog.New(slog.DiscardHandler))
			answered, refusals, backAtMax := 0, 0, 0
			round := 0
			for ; answered < 4000; round++ {
				var epochs []ticket
				for range g.bound() {
					e, err := g.acquire(t.Context(), "")
					require.NoError(t, err)
					epochs = append(epochs, e)
				}
				for i, e := range epochs {
					if i < tc.allows(round) {
						g.release(e, succeeded)
						answered++
					} else {
						g.release(e, refused)
						refusals++
					}
				}
				if backAtMax == 0 && round > 0 && g.bound() == 16 {
					backAtMax = answered
				}
			}
			t.Logf("refusals %d, answered per round %.1f, bound %d, back at max after %d", refusals, float64(answered)/float64(round), g.bound(), backAtMax)
			assert.LessOrEqual(t, refusals, tc.maxRefusals)
			assert.GreaterOrEqual(t, float64(answered)/float64(round), tc.minPerRound)
			if tc.maxBackAtMax > 0 {
				assert.NotZero(t, backAtMax, "the bound never came back to max")
				assert.LessOrEqual(t, backAtMax, tc.maxBackAtMax)
			}
		})
	}
}

// TestGateWaitsForASlot: a caller over the bound waits until a slot frees,
// or gives up with its context.
func TestGateWaitsForASlot(t *testing.T) {
	t.Parallel()
	g := newGate(1, slog.New(slog.DiscardHandler))
	e, err := g.acquire(t.Context(), "")
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	_, err = g.acquire(ctx, "")
	require.ErrorIs(t, err, context.DeadlineExceeded)

	got := make(chan error, 1)
	go func() {
		_, err := g.acquire(t.Context(), "")
		got <- err
	}()
	select {
	case <-got:
		t.Fatal("acquired past the bound")
	case <-time.After(20 * time.Millisecond):
	}
	g.release(e, succeeded)
	select {
	case err := <-got:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("a freed slot did not wake the waiter")
	}
}

// TestGateSetMax: a bound set after requests have gone (the default by
// flavor) holds from then on, on the gate and on its lanes: raised, it
// lets a waiter in at once; lowered, a request waits until the requests in
// flight are under it.
func TestGateSetMax(t *testing.T) {
	t.Parallel()
	g := newGate(2, slog.New(slog.DiscardHandler))
	a, err := g.acquire(t.Context(), "GET /a")
	require.NoError(t, err)
	b, err := g.acquire(t.Context(), "GET /a")
	require.NoError(t, err)
	got := make(chan ticket, 1)
	go func() {
		c, err := g.acquire(t.Context(), "GET /a")
		assert.NoError(t, err)
		got <- c
	}()
	select {
	case <-got:
		t.Fatal("acquired past the bound")
	case <-time.After(20 * time.Millisecond):
	}
	g.setMax(3)
	var c ticket
	select {
	case c = <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("a raised bound did not let the waiter in")
	}
	assert.Equal(t, 3, g.bound())
	assert.Equal(t, 3, g.laneBound("GET /a"))

	g.setMax(1)
	assert.Equal(t, 1, g.laneBound("GET /a"))
	g.release(a, succeeded)
	g.release(b, succeeded)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	_, err = g.acquire(ctx, "GET /b")
	require.ErrorIs(t, err, context.DeadlineExceeded, "one in flight under a bound of 1")
	g.release(c, succeeded)
	_, err = g.acquire(t.Context(), "GET /b")
	require.NoError(t, err)
}

// TestGateSetMaxToTheSameKeepsACut: the default set once the flavor is
// known is most often the bound the client began with; a cut a 429 made
// meanwhile holds.
func TestGateSetMaxToTheSameKeepsACut(t *testing.T) {
	t.Parallel()
	g := newGate(8, slog.New(slog.DiscardHandler))
	tk, err := g.acquire(t.Context(), "GET /a")
	require.NoError(t, err)
	g.release(tk, refused)
	cut := g.bound()
	require.Less(t, cut, 8, "a 429 cuts the bound")
	g.setMax(8)
	assert.Equal(t, cut, g.bound(), "the same bound set again")
	g.setMax(16)
	assert.Equal(t, 16, g.bound(), "a new bound")
}

// TestClientBacksOffWhenRateLimited: a site that refuses more than three
// requests at once (Jira Cloud's burst limit, in miniature) gets fewer
// requests in flight after its first 429s, so most requests go through
// the first time; a client that kept eight in flight would be refused
// again and again.
func TestClientBacksOffWhenRateLimited(t *testing.T) {
	t.Parallel()
	const burst = 3
	var inFlight, refusals, peakAfter atomic.Int64
	var mu sync.Mutex
	var firstRefusal time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Counted down before the answer is written, not after: the client
		// may get it and send its next request before a deferred count
		// would run, and a slow (race-detected) run then saw more in
		// flight than the client ever had.
		n := inFlight.Add(1)
		mu.Lock()
		refusedYet := !firstRefusal.IsZero() && time.Since(firstRefusal) > 50*time.Millisecond
		mu.Unlock()
		if refusedYet {
			for p := peakAfter.Load(); n > p && !peakAfter.CompareAndSwap(p, n); p = peakAfter.Load() {
			}
		}
		time.Sleep(5 * time.Millisecond)
		if n > burst {
			refusals.Add(1)
			mu.Lock()
			if firstRefusal.IsZero() {
				firstRefusal = time.Now()
			}
			mu.Unlock()
			inFlight.Add(-1)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte(`{"errorMessages":["rate limited"]}`))
			return
		}
		inFlight.Add(-1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	c := patientClient(t, srv)

	const requests = 200
	var calls []func() error
	for i := range requests {
		calls = append(calls, func() error {
			var v map[string]any
			return c.Get(t.Context(), fmt.Sprintf("rest/api/2/thing/%d", i), nil, &v)
		})
	}
	require.NoError(t, together(calls))
	t.Logf("refusals %d, peak after %d, bound %d", refusals.Load(), peakAfter.Load(), c.gate.bound())
	assert.LessOrEqual(t, peakAfter.Load(), int64(2*burst), "requests in flight once Jira has refused some")
	assert.Less(t, refusals.Load(), int64(requests/2), "429s")
	assert.Less(t, c.gate.bound(), 8)
}

// patientClient reads srv with 8 requests in flight and retries enough
// for a site that keeps refusing some; srv is closed when the test ends.
func patientClient(t *testing.T, srv *httptest.Server) *Client {
	t.Helper()
	t.Cleanup(srv.Close)
	base, err := url.Parse(srv.URL)
	require.NoError(t, err)
	retry := RetryPolicy{MaxAttempts: 20, BaseDelay: time.Millisecond, MaxDelay: 20 * time.Millisecond, MaxRetryAfter: 50 * time.Millisecond, MaxElapsed: 30 * time.Second}
	c, err := New(Options{BaseURL: base, Username: "u", Password: "p", Retry: retry, MaxInFlight: 8})
	require.NoError(t, err)
	return c
}

// together makes every call at once and joins their errors.
func together(calls []func() error) error {
	var wg sync.WaitGroup
	errs := make([]error, len(calls))
	for i, call := range calls {
		wg.Go(func() { errs[i] = call() })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// TestGateServesTheLowestRankFirst: a freed slot goes to the waiting
// request of the lowest rank (WithPriority paths, a path before its
// extensions; WithFirstPriority before every ranked one, whatever its
// context's rank), the earliest of equals; a waiter that gives up leaves the
// queue, and one granted a slot as it gives up hands the slot on.
func TestGateServesTheLowestRankFirst(t *testing.T) {
	t.Parallel()
	g := newGate(1, slog.New(slog.DiscardHandler))
	held, err := g.acquire(t.Context(), "")
	require.NoError(t, err)
	waiting := func() int {
		g.mu.Lock()
		defer g.mu.Unlock()
		return len(g.waiting)
	}
	ranked := func(ranks ...int) context.Context {
		ctx := t.Context()
		for _, r := range ranks {
			ctx = WithPriority(ctx, r)
		}
		return ctx
	}
	type arrival struct {
		name string
		ctx  context.Context
	}
	gaveUp, giveUp := context.WithCancel(ranked(0))
	arrivals := []arrival{
		{"issues page 3", ranked(6, 3)},
		{"projects, project 5", ranked(0, 5)},
		{"issues' id search", ranked(6)},
		{"projects, project 5 again", ranked(0, 5)},
		{"gives up", gaveUp},
		{"serverInfo", t.Context()},
		{"issues page 3, its comments", ranked(6, 3, 0)},
		{"worklogs' feed, a chain", WithFirstPriority(ranked(7))},
	}
	var mu sync.Mutex
	var order []string
	release := make(chan struct{})
	var wg sync.WaitGroup
	for i, a := range arrivals {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e, err := g.acquire(a.ctx, "")
			if err != nil {
				return
			}
			mu.Lock()
			order = append(order, a.name)
			mu.Unlock()
			<-release
			g.release(e, succeeded)
		}()
		// One at a time, so that arrival order is known.
		require.Eventually(t, func() bool { return waiting() == i+1 }, 5*time.Second, time.Millisecond)
	}
	giveUp()
	require.Eventually(t, func() bool { return waiting() == len(arrivals)-1 }, 5*time.Second, time.Millisecond, "a waiter that gave up left the queue")
	close(release)
	g.release(held, succeeded)
	wg.Wait()
	assert.Equal(t, []string{"serverInfo", "worklogs' feed, a chain", "projects, project 5", "projects, project 5 again", "issues' id search", "issues page 3", "issues page 3, its comments"}, order)

	// A waiter given a slot as it gives up hands the slot on: whichever
	// way each race goes, no slot is lost and no waiter is left behind.
	for range 20 {
		g := newGate(1, slog.New(slog.DiscardHandler))
		_, err := g.acquire(t.Context(), "")
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() {
			defer close(done)
			if e, err := g.acquire(ctx, ""); err == nil {
				g.release(e, succeeded)
			}
		}()
		require.Eventually(t, func() bool {
			g.mu.Lock()
			defer g.mu.Unlock()
			return len(g.waiting) == 1
		}, 5*time.Second, time.Millisecond)
		// The caller gives up while the gate is granting it the slot: it
		// wakes on its context and waits for the lock the grant holds.
		g.mu.Lock()
		cancel()
		time.Sleep(time.Millisecond)
		g.inFlight-- // the first slot's release, as release does it
		g.lanes[""].inFlight--
		g.grant()
		g.mu.Unlock()
		<-done
		g.mu.Lock()
		assert.Zero(t, g.inFlight, "slots held after every caller is done")
		assert.Empty(t, g.waiting)
		g.mu.Unlock()
	}
}

// TestGateLanes: a 429 from one endpoint's burst limit cuts that
// endpoint's lane, not the others nor the whole bound; a waiter whose lane
// is full does not hold back one whose lane has room, even of a lower
// rank; a 429 that names no endpoint still cuts everything.
func TestGateLanes(t *testing.T) {
	t.Parallel()
	const batches, comments = "POST /rest/api/2/issue/bulkfetch", "GET /rest/api/2/issue/{id}/comment"
	g := newGate(8, slog.New(slog.DiscardHandler))
	take := func(key string, n int) []ticket {
		var out []ticket
		for range n {
			tk, err := g.acquire(t.Context(), key)
			require.NoError(t, err)
			out = append(out, tk)
		}
		return out
	}
	for _, tk := range take(batches, 8) {
		g.release(tk, refusedHere)
	}
	assert.Equal(t, 4, g.laneBound(batches), "the refused endpoint's burst halves its lane once")
	assert.Equal(t, 8, g.laneBound(comments), "other endpoints keep the whole bound")
	assert.Equal(t, 8, g.bound(), "the whole bound is not cut")

	// Four batches in flight fill their lane: a fifth waits, comments do
	// not, up to the whole bound.
	// queue has a request of the given rank wait for a slot, and returns
	// the slot once it is granted.
	queue := func(rank int, key string) <-chan ticket {
		g.mu.Lock()
		n := len(g.waiting)
		g.mu.Unlock()
		got := make(chan ticket, 1)
		go func() {
			if tk, err := g.acquire(WithPriority(t.Context(), rank), key); err == nil {
				got <- tk
			}
		}()
		require.Eventually(t, func() bool {
			g.mu.Lock()
			defer g.mu.Unlock()
			return len(g.waiting) == n+1
		}, 5*time.Second, time.Millisecond)
		return got
	}
	held := take(batches, 4)
	waited := queue(0, batches)
	side := take(comments, 4) // would block if the waiting batch held them back
	assert.Len(t, side, 4)

	// The whole bound is full now. A comment of a later rank waits too;
	// a comment's slot freed goes to it, since the batch, ranked first,
	// has no room in its lane; a batch's slot freed goes to the batch.
	granted := func(ch <-chan ticket, failure string) ticket {
		select {
		case tk := <-ch:
			return tk
		case <-time.After(5 * time.Second):
			t.Fatal(failure)
			return ticket{}
		}
	}
	later := queue(1, comments)
	g.release(side[0], succeeded)
	side[0] = granted(later, "a slot freed went to nobody while a waiter's lane had room")
	select {
	case <-waited:
		t.Fatal("a batch got a slot past its lane's bound")
	default:
	}
	g.release(held[0], succeeded)
	held[0] = granted(waited, "the waiting batch did not get its lane's freed slot")
	for _, tk := range append(held, side...) {
		g.release(tk, succeeded)
	}
	g.mu.Lock()
	assert.Zero(t, g.inFlight)
	for key, l := range g.lanes {
		assert.Zero(t, l.inFlight, key)
	}
	g.mu.Unlock()

	// The lane climbs back with its successes, as the whole bound does.
	for range 200 {
		g.release(take(batches, 1)[0], succeeded)
	}
	assert.Equal(t, 8, g.laneBound(batches))

	// A 429 that names no endpoint's limit cuts the whole bound.
	for _, tk := range take(comments, 8) {
		g.release(tk, refused)
	}
	assert.Equal(t, 4, g.bound())
	assert.Equal(t, 8, g.laneBound(comments))
}

// TestClientSlowsOnlyTheRefusedEndpoint: a site whose issue batches are
// refused past three at once, with Jira Cloud's burst reason, gets fewer
// batches in flight after its first 429s, while the reads of another
// endpoint keep the whole bound; the same refusals without the reason
// cut every endpoint's requests.
func TestClientSlowsOnlyTheRefusedEndpoint(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		reason    string
		wantWhole bool // the whole bound kept, only the batches' lane cut
	}{
		{"burst reason", "jira-burst-based", true},
		{"burst reason, other case and spaces", " Jira-Burst-Based ", true},
		{"quota reason", "jira-quota-tenant-based", false},
		{"no reason", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			const burst = 3
			var batches, refusals atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				if r.URL.Path != "/rest/api/2/issue/bulkfetch" {
					time.Sleep(2 * time.Millisecond)
					_, _ = w.Write([]byte(`{"ok":true}`))
					return
				}
				n := batches.Add(1)
				time.Sleep(2 * time.Millisecond)
				batches.Add(-1)
				if n > burst {
					refusals.Add(1)
					if tc.reason != "" {
						w.Header().Set("RateLimit-Reason", tc.reason)
					}
					w.WriteHeader(http.StatusTooManyRequests)
					_, _ = w.Write([]byte(`{"errorMessages":["rate limited"]}`))
					return
				}
				_, _ = w.Write([]byte(`{"issues":[]}`))
			}))
			c := patientClient(t, srv)

			var calls []func() error
			for i := range 100 {
				calls = append(calls, func() error {
					var v map[string]any
					return c.Post(t.Context(), "rest/api/2/issue/bulkfetch", map[string]any{"issueIdsOrKeys": []int{i}}, &v)
				}, func() error {
					var v map[string]any
					return c.Get(t.Context(), fmt.Sprintf("rest/api/2/issue/%d/comment", i), nil, &v)
				})
			}
			require.NoError(t, together(calls))
			t.Logf("refusals %d, bound %d, batches' lane %d", refusals.Load(), c.gate.bound(), c.gate.laneBound("POST /rest/api/2/issue/bulkfetch"))
			assert.NotZero(t, refusals.Load())
			assert.Less(t, refusals.Load(), int64(50), "429s")
			assert.Equal(t, 8, c.gate.laneBound("GET /rest/api/2/issue/{id}/comment"), "the comments' lane is never cut")
			if tc.wantWhole {
				assert.Equal(t, 8, c.gate.bound(), "a burst 429 of one endpoint cut the whole bound")
				assert.Less(t, c.gate.laneBound("POST /rest/api/2/issue/bulkfetch"), 8)
			} else {
				assert.Less(t, c.gate.bound(), 8, "a 429 that names no endpoint did not cut the whole bound")
				assert.Equal(t, 8, c.gate.laneBound("POST /rest/api/2/issue/bulkfetch"))
			}
		})
	}
}
