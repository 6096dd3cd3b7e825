package tap

import (
	"bufio"
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

	"github.com/tap-jira/tap-jira/internal/jira"
	"github.com/tap-jira/tap-jira/internal/singer"
	"github.com/tap-jira/tap-jira/internal/state"
	"github.com/tap-jira/tap-jira/internal/streams"
)

// TestPrefetchQueueIsBoundedInBytes: a group waiting for its turn queues at
// most prefetchBytes of encoded records, however few steps that is, and
// everything it queued is written in order once drained.
func TestPrefetchQueueIsBoundedInBytes(t *testing.T) {
	t.Parallel()
	plan, err := Plan(discovered(t, "projects"), bundled(t), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	var out bytes.Buffer
	w := singer.NewWriter(&out)
	sk := &sink{
		em: NewEmitter(w, slog.New(slog.DiscardHandler), fixedNow), w: w, st: state.New(),
		selected: map[string]*Selected{"projects": plan[0]}, counts: map[string]int{}, obs: nopObserver{},
	}

	const size = 1 << 20 // each record a quarter of the budget
	const total = 20
	var queued atomic.Int64
	g := streams.Group{Streams: []string{"projects"}, Run: func(_ context.Context, _ *streams.Env, s streams.Sink) error {
		for i := range total {
			rec := fmt.Appendf(nil, `{"id":"%d","pad":"`, i)
			rec = append(rec, bytes.Repeat([]byte{'x'}, size-len(rec)-2)...)
			rec = append(rec, `"}`...)
			if err := s.Write(streams.Prepared{Stream: "projects", Encoded: rec, Key: fmt.Sprint(i)}); err != nil {
				return err
			}
			queued.Add(1)
		}
		return nil
	}}
	pf := startPrefetch(t.Context(), g, &streams.Env{State: state.New()}, sk)

	want := int64(prefetchBytes / size)
	require.Eventually(t, func() bool { return queued.Load() == want }, 5*time.Second, time.Millisecond)
	time.Sleep(50 * time.Millisecond) // a group over budget would have gone on by now
	require.Equal(t, want, queued.Load(), "records queued beyond the byte budget")

	require.NoError(t, pf.drain(sk, g.Streams))
	require.Equal(t, int64(total), queued.Load())
	sc := bufio.NewScanner(&out)
	sc.Buffer(nil, 4<<20)
	n := 0
	for sc.Scan() {
		require.Contains(t, sc.Text(), fmt.Sprintf(`"record":{"id":"%d",`, n))
		n++
	}
	require.Equal(t, total, n)
}

// TestStoppedRunWaitsForItsGroups: a run that stops early (here the group
// being written fails) returns only once the groups fetching ahead of
// their turn have stopped too; one still running could log or make a
// request after the run ended. Not parallel: it replaces the groups.
func TestStoppedRunWaitsForItsGroups(t *testing.T) {
	plan, err := Plan(discovered(t, "projects", "users"), bundled(t), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	var stopped atomic.Bool
	saved := groupsToSync
	t.Cleanup(func() { groupsToSync = saved })
	groupsToSync = func() []streams.Group {
		return []streams.Group{
			{Streams: []string{"projects"}, Run: func(context.Context, *streams.Env, streams.Sink) error {
				return errors.New("projects failed")
			}},
			{Streams: []string{"users"}, Run: func(ctx context.Context, _ *streams.Env, _ streams.Sink) error {
				<-ctx.Done()
				time.Sleep(100 * time.Millisecond) // a request still returning
				stopped.Store(true)
				return ctx.Err()
			}},
		}
	}
	var out bytes.Buffer
	env := &streams.Env{Concurrency: 4}
	_, err = Sync(t.Context(), singer.NewWriter(&out), slog.New(slog.DiscardHandler), plan, state.New(), env, fixedNow)
	require.ErrorContains(t, err, "projects failed")
	require.True(t, stopped.Load(), "Sync returned while a group was still running")
}

// TestGroupsRankByTheirTurn: when the requests in flight are at their
// bound, the group written first gets the freed slot before a group
// written after it, however long that one has waited: the writer needs the
// first group's records first. Not parallel: it replaces the groups.
func TestGroupsRankByTheirTurn(t *testing.T) {
	plan, err := Plan(discovered(t, "projects", "users"), bundled(t), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
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
		_, _ = w.Write([]byte(`{}`))
	}))
	t.Cleanup(srv.Close)
	base, err := url.Parse(srv.URL)
	require.NoError(t, err)
	c, err := jira.New(jira.Options{BaseURL: base, Username: "u", Password: "p", Retry: jira.RetryPolicy{MaxAttempts: 1}, MaxInFlight: 1})
	require.NoError(t, err)
	get := func(ctx context.Context, path string) error {
		var v map[string]any
		return c.Get(ctx, path, nil, &v)
	}
	saved := groupsToSync
	t.Cleanup(func() { groupsToSync = saved })
	groupsToSync = func() []streams.Group {
		return []streams.Group{
			{Streams: []string{"projects"}, Run: func(ctx context.Context, _ *streams.Env, _ streams.Sink) error {
				time.Sleep(100 * time.Millisecond) // after the users' request queued
				return get(ctx, "projects")
			}},
			{Streams: []string{"users"}, Run: func(ctx context.Context, _ *streams.Env, _ streams.Sink) error {
				held := make(chan error, 1)
				go func() { held <- get(ctx, "hold") }()
				time.Sleep(30 * time.Millisecond) // the hold is in flight
				if err := get(ctx, "users"); err != nil {
					return err
				}
				return <-held
			}},
		}
	}
	go func() {
		time.Sleep(200 * time.Millisecond) // both requests wait for the slot
		close(hold)
	}()
	var out bytes.Buffer
	env := &streams.Env{Client: c, Concurrency: 4}
	_, err = Sync(t.Context(), singer.NewWriter(&out), slog.New(slog.DiscardHandler), plan, state.New(), env, fixedNow)
	require.NoError(t, err)
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{"hold", "projects", "users"}, seen)
}

// TestTurnComesWhenTheGroupIsWritten: a group fetched ahead of its turn
// sees its Env.Turn closed once the groups before it are written and its
// own records are, not before: until then what it fetches waits in memory,
// and a group that widens at its turn (the worklog lists) would hold more.
// Not parallel: it replaces the groups.
func TestTurnComesWhenTheGroupIsWritten(t *testing.T) {
	plan, err := Plan(discovered(t, "projects", "users"), bundled(t), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	release := make(chan struct{})
	var early, noTurn atomic.Bool
	saved := groupsToSync
	t.Cleanup(func() { groupsToSync = saved })
	groupsToSync = func() []streams.Group {
		return []streams.Group{
			{Streams: []string{"projects"}, Run: func(ctx context.Context, _ *streams.Env, _ streams.Sink) error {
				select {
				case <-release:
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			}},
			{Streams: []string{"users"}, Run: func(ctx context.Context, env *streams.Env, _ streams.Sink) error {
				if env.Turn == nil {
					noTurn.Store(true)
					close(release)
					return nil
				}
				select {
				case <-env.Turn:
					early.Store(true)
				case <-time.After(50 * time.Millisecond): // the projects are not written yet
				}
				close(release)
				select {
				case <-env.Turn:
					return nil
				case <-time.After(5 * time.Second):
					return errors.New("the users' turn never came")
				}
			}},
		}
	}
	var out bytes.Buffer
	_, err = Sync(t.Context(), singer.NewWriter(&out), slog.New(slog.DiscardHandler), plan, state.New(), &streams.Env{Concurrency: 4}, fixedNow)
	require.NoError(t, err)
	assert.False(t, noTurn.Load(), "a group fetched ahead of its turn has an Env.Turn")
	assert.False(t, early.Load(), "the users' turn came while the projects were not written")
}
