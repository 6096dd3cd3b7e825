package streams

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/tap-jira/tap-jira/internal/jira"
	"github.com/tap-jira/tap-jira/internal/state"
)

// Sink receives what a group of streams extracts. The tap implements it:
// Record validates and writes (or drops a stream that is not selected),
// Checkpoint flushes the records and then writes the STATE.
type Sink interface {
	Wants(stream string) bool
	Record(stream string, rec jira.Record) error
	// Prepare shapes and validates a record ahead of writing it; it is safe
	// for concurrent use, so pages can be prepared in parallel.
	Prepare(stream string, rec jira.Record) (Prepared, error)
	// Write writes a record Prepare returned.
	Write(p Prepared) error
	Checkpoint() error
}

// Prepared is a record ready to be written; Skip marks a stream that is not
// selected (read for its children only).
type Prepared struct {
	Stream  string
	Encoded []byte // the record as its RECORD message carries it
	Key     string
	Skip    bool
}

// Env is what extraction needs from the run.
type Env struct {
	Client    *jira.Client
	Cloud     bool
	Log       *slog.Logger
	State     *state.State // bookmarks move forward here before each Checkpoint
	StartDate time.Time
	RunStart  time.Time
	// SiteStart is the site's own clock at the run's start (serverInfo's
	// serverTime), zero if unknown (then the client's SiteOffset, from the
	// Date of the site's answers, stands in). The issues bookmark is capped
	// by it, not by this machine's clock: Jira stamps updated with its
	// clock, and a machine running ahead of it would bookmark past issues
	// updated during the run.
	SiteStart time.Time
	Lookback  time.Duration
	PageSize  int
	Projects  []string // project keys; nil means all
	JQL       string
	// RenderedFields adds renderedFields to each issue.
	RenderedFields bool
	// IssueFields is the fields= of issue requests; nil means *all.
	IssueFields []string
	// Concurrency is max_concurrency: the client holds requests in flight
	// to it (1 is sequential); the issues pipelines work on more pages
	// (issuePipeline).
	Concurrency int
	// ReconcileDeletedIssues scans the issues in scope by id after the
	// issues sync and emits a deletion record for each remembered one gone.
	ReconcileDeletedIssues bool
	// IDPage is the ids per page of the Cloud id search; 0 means the most
	// Jira gives (jira.SearchIDPage). Tests make it small.
	IDPage int
	// Turn, when not nil, is closed once the group's records are being
	// written: until then they wait in a bounded queue (a group fetched
	// ahead of its turn), and a group that holds what it fetched ahead to
	// less than it could fetch at once widens to Concurrency then. nil
	// means now.
	Turn <-chan struct{}
}

// searchCeiling is the latest updated time the issues bookmark may reach:
// the run's start on the site's clock, minus the lag search is allowed.
//
// The site's clock is serverInfo's serverTime when the run read it: Jira's
// own, the one updated is stamped with. Otherwise (deployment_type set) it
// is the Date header of the site's first answer (the /myself the issues'
// JQL waits for, at the latest), but only when it is behind this
// machine's: Date may come from a proxy in front of Jira, with a clock of
// its own, and the earlier of two clocks is wrong only when both run ahead
// of Jira's. An earlier ceiling costs a longer window read again, a later
// one loses updates. A run says when the clock it uses is more than
// clockSkewNoted from this machine's.
func (e *Env) searchCeiling() time.Time {
	start := e.RunStart
	if !e.SiteStart.IsZero() {
		start = e.SiteStart
	} else if off, ok := e.Client.SiteOffset(); ok {
		if off < 0 {
			start = e.RunStart.Add(off)
		} else if off > clockSkewNoted {
			e.Log.Info("this machine's clock is behind the Jira site's Date header; the issues bookmark follows this machine's, so each run reads that much more again", "behind_site", off.Round(time.Second))
		}
	}
	if skew := e.RunStart.Sub(start); skew.Abs() > clockSkewNoted {
		e.Log.Info("this machine's clock and the Jira site's differ; the issues bookmark follows the site's", "ahead_of_site", skew.Round(time.Second))
	}
	return start.Add(-e.Lookback)
}

// clockSkewNoted is how far this machine's clock may be from the site's
// before a run says so (serverInfo's round trip, or Date's whole seconds,
// alone put them a little apart). Only said: the bookmark follows the
// site's clock either way.
const clockSkewNoted = time.Minute

func (e *Env) idPage() int {
	if e.IDPage > 0 {
		return e.IDPage
	}
	return jira.SearchIDPage
}

// Group is a set of streams read together: a parent and the streams read
// from its records, or a single stream.
type Group struct {
	Streams []string // the first is the group's name in currently_syncing
	Run     func(ctx context.Context, env *Env, sink Sink) error
	// TimeZone: Run first needs the user's time zone (Client.Myself).
	TimeZone bool
}

// NeedsTimeZone reports whether syncing the streams selected reads the
// user's time zone, which a run may then ask for early.
func NeedsTimeZone(selected func(stream string) bool) bool {
	for _, g := range Groups() {
		if g.TimeZone && slices.ContainsFunc(g.Streams, selected) {
			return true
		}
	}
	return false
}

// Groups returns every group in sync order, which is All()'s order.
func Groups() []Group {
	list := func(stream, path string) Group {
		return Group{Streams: []string{stream}, Run: func(ctx context.Context, env *Env, sink Sink) error {
			return syncList(ctx, env, sink, stream, path)
		}}
	}
	return []Group{
		{Streams: []string{"projects", "versions", "components"}, Run: syncProjects},
		list("project_types", "rest/api/2/project/type"),
		list("project_categories", "rest/api/2/projectCategory"),
		list("resolutions", "rest/api/2/resolution"),
		list("roles", "rest/api/2/role"),
		{Streams: []string{"users"}, Run: syncUsers},
		{Streams: slices.Clone(issueGroupStreams), Run: syncIssues, TimeZone: true},
		{Streams: []string{"worklogs"}, Run: syncWorklogs},
	}
}

func syncList(ctx context.Context, env *Env, sink Sink, stream, path string) error {
	recs, err := env.Client.List(ctx, path, nil)
	if err != nil {
		return err
	}
	for _, r := range recs {
		if err := sink.Record(stream, r); err != nil {
			return err
		}
	}
	return sink.Checkpoint()
}
