package tap

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

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
