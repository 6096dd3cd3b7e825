package streams

import (
	"slices"
	"time"

	"github.com/tap-jira/tap-jira/internal/state"
)

// The issues group's streams share one bookmark, as in singer-io/tap-jira:
// a stream selected after the bookmark was made would get records only for
// the issues updated since, and its history before that would be missing
// for good (comments, changelogs or the status history of every issue
// older than the last run). So the bookmark records which of them it
// covers (state.KeyStreams), and a stream selected later is read from
// start_date by a pass of its own, resumable like any sync
// (state.KeyBackfill), that ends once it reaches the bookmark. The pass
// writes every selected stream of the issues it reads, not only the new
// one: records the target already holds come again and are upserted. The
// bookmark also records the scope it covers (state.KeyScope, projects and
// jql): a project added later has issues no run read, so in another scope
// the bookmark covers nothing and every stream is read from start_date.

// singerIOIssueStreams are the issues group's streams singer-io/tap-jira
// has: a state that does not say what its bookmark covers is taken to
// cover those selected now (the other, the status history, singer-io never
// wrote).
var singerIOIssueStreams = []string{"issues", "issue_comments", "changelogs", "issue_transitions"}

// issueGroupStreams are the streams read with the issues, the parent first.
var issueGroupStreams = []string{"issues", "issue_comments", "changelogs", "issue_transitions", "issue_status_history"}

// coverage is what the issues bookmark covers, and the pass from
// start_date for the streams it does not, while a run reads issues.
type coverage struct {
	covered  []string  // the streams the updated bookmark covers
	backfill []string  // the streams read from start_date, none if no pass
	at       time.Time // how far the pass has come
	until    time.Time // the updated bookmark: the pass ends on reaching it
}

// planCoverage works out, from the state, the streams selected and the
// scope, what the issues bookmark covers and where this run reads issues
// from: the bookmark, or where a pass from start_date for streams selected
// since (or a scope changed since) has come. It records them in the
// state, for the run's first STATE.
func planCoverage(env *Env, sink Sink) (c coverage, from time.Time) {
	var selected []string
	for _, name := range issueGroupStreams {
		if sink.Wants(name) {
			selected = append(selected, name)
		}
	}
	st := env.State
	bookmark := st.Updated("issues")
	scope := coverScope(env)
	scopeWas, scopeKnown := st.Scope("issues")
	st.SetScope("issues", scope)
	if bookmark.IsZero() {
		// A first run reads everything from start_date for all of them.
		c.covered = selected
		st.SetStreams("issues", c.covered)
		st.SetBackfill("issues", nil, time.Time{})
		return c, env.StartDate
	}
	covered, known := st.Streams("issues")
	if !known {
		covered = singerIOIssueStreams
	}
	pending, at := st.Backfill("issues")
	if scopeKnown && scopeWas != scope {
		// Projects or jql changed: the issues the new scope adds (a project
		// added) were never read. A narrower scope is read again too, as
		// the tap cannot tell one from the other in jql.
		env.Log.Info("projects or jql changed since the issues bookmark was made: the issues in scope are read from start_date")
		covered, pending, at = nil, nil, time.Time{}
	}
	// A stream deselected stops being covered: selected again, it has a
	// gap to fill.
	c.covered = intersect(covered, selected)
	c.backfill = slices.DeleteFunc(intersect(pending, selected), func(name string) bool { return slices.Contains(c.covered, name) })
	var added []string
	for _, name := range selected {
		if !slices.Contains(c.covered, name) && !slices.Contains(c.backfill, name) {
			added = append(added, name)
		}
	}
	if len(added) > 0 {
		// The pass starts again: the streams added need every issue.
		c.backfill = append(c.backfill, added...)
		at = time.Time{}
	}
	if len(c.backfill) > 0 && !at.IsZero() && !at.Before(bookmark) {
		// A pass come as far as the bookmark (a state edited by hand) is
		// over.
		c.covered, c.backfill = append(c.covered, c.backfill...), nil
	}
	st.SetStreams("issues", c.covered)
	if len(c.backfill) == 0 {
		st.SetBackfill("issues", nil, time.Time{})
		return c, bookmark
	}
	c.at = at
	if c.at.Before(env.StartDate) {
		c.at = env.StartDate
	}
	c.until = bookmark
	st.SetBackfill("issues", c.backfill, c.at)
	env.Log.Info("reading issues from start_date for the streams the bookmark does not cover",
		"streams", c.backfill, "from", c.at.UTC().Format(time.RFC3339), "bookmark", bookmark.UTC().Format(time.RFC3339))
	return c, c.at
}

// advance moves the bookmarks past a page written whose issues were
// updated up to mark: the pass's position while it is behind the
// bookmark, and once it reaches it, the bookmark, now covering the
// streams of the pass too.
func (c *coverage) advance(st *state.State, mark time.Time) {
	if c != nil && len(c.backfill) > 0 {
		if mark.Before(c.until) {
			if mark.After(c.at) {
				c.at = mark
				st.SetBackfill("issues", c.backfill, c.at)
			}
			return
		}
		c.finish(st)
	}
	st.Advance("issues", mark)
}

// finish ends the pass: every issue up to the bookmark has been written
// with the streams it read.
func (c *coverage) finish(st *state.State) {
	if len(c.backfill) == 0 {
		return
	}
	c.covered = append(c.covered, c.backfill...)
	c.backfill = nil
	st.SetStreams("issues", c.covered)
	st.SetBackfill("issues", nil, time.Time{})
}

// intersect is the names of a that are in b, in a's order.
func intersect(a, b []string) []string {
	var out []string
	for _, name := range a {
		if slices.Contains(b, name) {
			out = append(out, name)
		}
	}
	return out
}

// coverScope is the fingerprint of the issues' scope the bookmark covers:
// the projects (in any order) and jql. start_date is not in it: a rolling
// one moves every run, and only ever narrows the scope.
func coverScope(env *Env) string {
	projects := slices.Compact(slices.Sorted(slices.Values(env.Projects)))
	return fingerprint(projects, env.JQL)
}
