package tap

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/tap-jira/tap-jira/internal/jira"
	"github.com/tap-jira/tap-jira/internal/singer"
	"github.com/tap-jira/tap-jira/internal/state"
	"github.com/tap-jira/tap-jira/internal/streams"
)

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

	groups := streams.Groups()
	resume := 0
	if cur := st.CurrentlySyncing; cur != "" {
		for i, g := range groups {
			if slices.Contains(g.Streams, cur) {
				resume = i
			}
		}
	}
	for i, g := range groups {
		var mine []*Selected
		for _, name := range g.Streams {
			if s := selected[name]; s != nil {
				mine = append(mine, s)
			}
		}
		if len(mine) == 0 {
			continue
		}
		if i < resume {
			log.Info("skipping streams the interrupted run completed", "streams", g.Streams, "resuming_at", st.CurrentlySyncing)
			continue
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
		if err := g.Run(ctx, env, sk); err != nil {
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
