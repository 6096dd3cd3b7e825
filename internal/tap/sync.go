package tap

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/tap-jira/tap-jira/internal/jira"
	"github.com/tap-jira/tap-jira/internal/singer"
	"github.com/tap-jira/tap-jira/internal/state"
	"github.com/tap-jira/tap-jira/internal/streams"
)

// groupsToSync is streams.Groups, which tests replace.
var groupsToSync = streams.Groups

// Summary counts what a sync emitted.
type Summary struct {
	Records map[string]int
}

// Sync extracts the planned streams and writes them as Singer messages:
// per group of streams, SCHEMA messages, then records, and after every page
// a flush and a STATE. A full-table stream's records carry the run's table
// version, activated once the stream is complete. A run interrupted during
// a group (currently_syncing) resumes at that group.
//
// On an error it flushes what was written, emits the last safe STATE and
// returns the error. obs, if given, hears of each record and each stream's
// end.
func Sync(ctx context.Context, w *singer.Writer, log *slog.Logger, plan []*Selected, st *state.State, env *streams.Env, now func() time.Time, obs ...Observer) (Summary, error) {
	selected := map[string]*Selected{}
	for _, p := range plan {
		selected[p.Stream.Name] = p
	}
	em := NewEmitter(w, log, now)
	sk := &sink{em: em, w: w, st: st, selected: selected, counts: map[string]int{}, obs: nopObserver{}}
	if len(obs) > 0 && obs[0] != nil {
		sk.obs = obs[0]
	}
	env.State = st
	env.IssueFields = issueFields(selected)
	version := env.RunStart.UnixMilli()

	groups := groupsToSync()
	resume := 0
	if cur := st.CurrentlySyncing; cur != "" {
		for i, g := range groups {
			if slices.Contains(g.Streams, cur) {
				resume = i
			}
		}
	}
	// Every group to run this time, in order.
	var todo []int
	for i, g := range groups {
		if !slices.ContainsFunc(g.Streams, func(name string) bool { return selected[name] != nil }) {
			continue
		}
		if i < resume {
			log.Info("skipping streams the interrupted run completed", "streams", g.Streams, "resuming_at", st.CurrentlySyncing)
			continue
		}
		todo = append(todo, i)
	}
	// With concurrency, every group starts fetching at once into a bounded
	// queue and the groups are written one after the other, in order: the
	// small lists and the worklog feed are read while issues are written,
	// instead of each waiting for the one before. The output is exactly a
	// sequential run's (a test compares the bytes).
	ahead := map[int]*prefetch{}
	if env.Concurrency > 1 && len(todo) > 1 {
		pctx, cancel := context.WithCancel(ctx)
		// A run that stops early stops the groups still fetching, and
		// returns only once they have: none of them may log, count a
		// request or touch the state after the run has ended.
		defer func() {
			cancel()
			for _, pf := range ahead {
				for range pf.ops { // closed once the group has returned
				}
			}
		}()
		// A group's requests rank by its place: when the requests in
		// flight are at their bound, the group being written, or the next
		// one, gets the freed slot before a group further behind.
		for _, i := range todo {
			ahead[i] = startPrefetch(jira.WithPriority(pctx, i), groups[i], env, sk)
		}
	}
	for _, i := range todo {
		g := groups[i]
		var mine []*Selected
		for _, name := range g.Streams {
			if s := selected[name]; s != nil {
				mine = append(mine, s)
			}
		}
		st.CurrentlySyncing = g.Streams[0]
		for _, s := range mine {
			if s.Stream.ReplicationKey == "" && s.Stream.Parent != "issues" {
				s.version = version
			}
			if err := em.Schema(s); err != nil {
				return sk.summary(), err
			}
		}
		if err := sk.Checkpoint(); err != nil {
			return sk.summary(), err
		}
		log.Info("syncing", "streams", g.Streams)
		run := g.Run
		if pf := ahead[i]; pf != nil {
			run = func(context.Context, *streams.Env, streams.Sink) error { return pf.drain(sk, g.Streams) }
		}
		if err := run(ctx, env, sk); err != nil {
			return sk.summary(), sk.fail(ctx, err)
		}
		for _, s := range mine {
			sk.obs.StreamDone(s.Stream.Name)
			if s.version != 0 {
				if err := w.WriteActivateVersion(s.Stream.Name, s.version); err != nil {
					return sk.summary(), err
				}
			}
		}
	}
	st.CurrentlySyncing = ""
	if err := sk.Checkpoint(); err != nil {
		return sk.summary(), err
	}
	return sk.summary(), nil
}

// sink routes extracted records to the emitter and writes checkpoints.
type sink struct {
	em       *Emitter
	w        *singer.Writer
	st       *state.State
	selected map[string]*Selected
	counts   map[string]int
	obs      Observer
}

func (s *sink) Wants(stream string) bool { return s.selected[stream] != nil }

// optedOut reports a deletion record of a stream whose catalog deselects
// _sdc_deleted_at: without its marker it would read as an upsert that
// empties the row, so deselecting the field opts out of deletions.
func optedOut(sel *Selected, rec jira.Record) bool {
	return rec[streams.DeletedAt] != nil && !sel.Selection.Keeps(streams.DeletedAt)
}

func (s *sink) Prepare(stream string, rec jira.Record) (streams.Prepared, error) {
	sel := s.selected[stream]
	if sel == nil || optedOut(sel, rec) {
		return streams.Prepared{Stream: stream, Skip: true}, nil
	}
	key, encoded, err := s.em.Prepare(sel, rec)
	return streams.Prepared{Stream: stream, Encoded: encoded, Key: key}, err
}

func (s *sink) Write(p streams.Prepared) error {
	if p.Skip {
		return nil
	}
	if err := s.em.Write(s.selected[p.Stream], p.Encoded, p.Key); err != nil {
		return err
	}
	s.counts[p.Stream]++
	s.obs.Record(p.Stream)
	return nil
}

func (s *sink) Record(stream string, rec jira.Record) error {
	sel := s.selected[stream]
	if sel == nil || optedOut(sel, rec) {
		return nil // read for its children, or a deletion opted out of
	}
	if err := s.em.Record(sel, rec); err != nil {
		return err
	}
	s.counts[stream]++
	s.obs.Record(stream)
	return nil
}

// Checkpoint flushes the records written so far, then states the bookmarks
// that cover them.
func (s *sink) Checkpoint() error {
	if err := s.w.Flush(); err != nil {
		return err
	}
	if err := s.w.WriteState(s.st.Value()); err != nil {
		return err
	}
	return s.w.Flush()
}

// fail ends a run that hit err: what was written is flushed and followed by
// the last safe STATE, unless the output itself is what failed.
func (s *sink) fail(ctx context.Context, err error) error {
	var outErr *singer.OutputError
	if errors.As(err, &outErr) {
		return err
	}
	if cerr := s.Checkpoint(); cerr != nil {
		return fmt.Errorf("%w (and writing the last state: %v)", err, cerr)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("sync stopped: %w", context.Cause(ctx))
	}
	return err
}

func (s *sink) summary() Summary {
	out := Summary{Records: map[string]int{}}
	for k, v := range s.counts {
		out.Records[k] = v
	}
	return out
}

// prefetch is a group extracted ahead of its turn: its records, prepared
// (validated and encoded), and its checkpoints wait in a bounded queue
// until the groups before it are written.
type prefetch struct {
	ops    chan queued
	budget *semaphore.Weighted // bytes of encoded records queued
	turn   chan struct{}       // the group's Env.Turn, closed by drain
	err    error               // the group's result; read after ops is closed
}

// queued is one step of a prefetched group: a record to write, or a
// checkpoint carrying the group's bookmarks as they were at that point.
type queued struct {
	record streams.Prepared
	held   int64 // bytes of the group's budget the record holds
	marks  *state.State
}

// prefetchDepth and prefetchBytes bound what a group may queue ahead, in
// steps and in bytes of encoded records, so memory does not grow with the
// size of a stream that is not yet being written. Steps alone let a queue
// of issues reach 10 MB per group, and a heap that large keeps the
// collector near the memory limit, where it costs the most CPU.
const (
	prefetchDepth = 1024
	prefetchBytes = 4 << 20
)

func startPrefetch(ctx context.Context, g streams.Group, env *streams.Env, sk *sink) *prefetch {
	pf := &prefetch{ops: make(chan queued, prefetchDepth), budget: semaphore.NewWeighted(prefetchBytes), turn: make(chan struct{})}
	// The group advances a private copy of the state; the writer applies
	// its bookmarks only once the records they cover are written.
	own := *env
	own.State = env.State.Clone()
	own.Turn = pf.turn
	qs := &queueSink{ctx: ctx, sink: sk, st: own.State, ops: pf.ops, budget: pf.budget}
	go func() {
		defer close(pf.ops)
		pf.err = g.Run(ctx, &own, qs)
	}()
	return pf
}

// drain writes what the group queued, in order, moving the real state's
// bookmarks of the group's streams at each checkpoint, and returns the
// group's error once its queue is empty.
func (pf *prefetch) drain(sk *sink, names []string) error {
	close(pf.turn)
	for q := range pf.ops {
		if q.marks == nil {
			if err := sk.Write(q.record); err != nil {
				return err
			}
			pf.budget.Release(q.held)
			continue
		}
		for _, name := range names {
			if b, ok := q.marks.Bookmarks[name]; ok {
				sk.st.Bookmarks[name] = b
			} else {
				delete(sk.st.Bookmarks, name)
			}
		}
		if err := sk.Checkpoint(); err != nil {
			return err
		}
	}
	return pf.err
}

// queueSink is the Sink of a prefetched group: records are prepared at once
// (in the group's goroutines) and queued with the checkpoints.
type queueSink struct {
	ctx    context.Context
	sink   *sink
	st     *state.State // the group's private state
	ops    chan<- queued
	budget *semaphore.Weighted
}

func (q *queueSink) Wants(stream string) bool { return q.sink.Wants(stream) }

func (q *queueSink) Prepare(stream string, rec jira.Record) (streams.Prepared, error) {
	return q.sink.Prepare(stream, rec)
}

func (q *queueSink) Write(p streams.Prepared) error {
	if p.Skip {
		return nil
	}
	// A record larger than the whole budget still passes, alone.
	held := min(int64(len(p.Encoded)), prefetchBytes)
	if err := q.budget.Acquire(q.ctx, held); err != nil {
		return context.Cause(q.ctx)
	}
	if err := q.send(queued{record: p, held: held}); err != nil {
		q.budget.Release(held)
		return err
	}
	return nil
}

func (q *queueSink) Record(stream string, rec jira.Record) error {
	p, err := q.sink.Prepare(stream, rec)
	if err != nil {
		return err
	}
	return q.Write(p)
}

func (q *queueSink) Checkpoint() error { return q.send(queued{marks: q.st.Clone()}) }

func (q *queueSink) send(op queued) error {
	select {
	case q.ops <- op:
		return nil
	case <-q.ctx.Done():
		return context.Cause(q.ctx)
	}
}
