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
// start_date for the streams it does not, while a run reads issues. It
// goes into the state with each page's bookmark (apply), not before: a run
// that fails before its first page then states the same at any
// max_concurrency (its groups' states reach the output at their
// checkpoints only).
type coverage struct {
	scope    string    // the fingerprint of the scope (coverScope)
	covered  []string  // the streams the updated bookmark covers
	backfill []string  // the streams read from start_date, none if no pass
	at       time.Time // how far the pass has come
	until    time.Time // the updated bookmark: the pass ends on reaching it
}

// planCoverage works out, from the state, the streams selected and the
// scope, what the issues bookmark covers and where this run reads issues
// from: the bookmark, or where a pass from start_date for streams selected
// since (or a scope changed since) has come.
func planCoverage(env *Env, sink Sink) (c coverage, from time.Time) {
	var selected []string
	for _, name := range issueGroupStreams {
		if sink.Wants(name) {
			selected = append(selected, name)
		}
	}
	st := env.State
	bookmark := st.Updated("issues")
	c.scope = coverScope(env)
	if bookmark.IsZero() {
		// A first run reads everything from start_date for all of them.
		c.covered = selected
		return c, env.StartDate
	}
	covered, known := st.Streams("issues")
	if !known {
		covered = singerIOIssueStreams
	}
	pending, at := st.Backfill("issues")
	if was, ok := st.Scope("issues"); ok && was != c.scope {
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
	if len(c.backfill) == 0 {
		return c, bookmark
	}
	c.at = at
	if c.at.Before(env.StartDate) {
		c.at = env.StartDate
	}
	c.until = bookmark
	env.Log.Info("reading issues from start_date for the streams the bookmark does not cover",
		"streams", c.backfill, "from", c.at.UTC().Format(time.RFC3339), "bookmark", bookmark.UTC().Format(time.RFC3339))
	return c, c.at
}

// advance moves the bookmarks past a page written whose issues were
// updated up to mark: the pass's place while it is behind the bookmark,
// and once it reaches it, the bookmark, now covering the streams of the
// pass too.
func (c *coverage) advance(st *state.State, mark time.Time) {
	if c == nil {
		st.Advance("issues", mark)
		return
	}
	if len(c.backfill) > 0 {
		if mark.Before(c.until) {
			if mark.After(c.at) {
				c.at = mark
			}
			c.apply(st)
			return
		}
		c.covered, c.backfill = append(c.covered, c.backfill...), nil
	}
	st.Advance("issues", mark)
	c.apply(st)
}

// finish ends the pass: every issue up to the bookmark has been written
// with the streams it read.
func (c *coverage) finish(st *state.State) {
	c.covered, c.backfill = append(c.covered, c.backfill...), nil
	c.apply(st)
}

// apply states what the bookmark covers and the pass's place.
func (c *coverage) apply(st *state.State) {
	st.SetScope("issues", c.scope)
	st.SetStreams("issues", c.covered)
	st.SetBackfill("issues", c.backfill, c.at)
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

// worklogPass is the worklogs' counterpart of the issues' pass. The feed is
// site-wide, and projects restricts which of its worklogs are written: a
// project added later has worklogs no run wrote, so when the projects
// change the feed is read again from start_date, its place kept in the
// state (state.KeyBackfill) until it reaches the bookmark. jql does not
// restrict worklogs, so it is not part of their scope. Like coverage, it
// goes into the state with each page's bookmark.
type worklogPass struct {
	scope string
	open  bool
	until time.Time // the bookmark: the pass ends on reaching it
}

// planWorklogs returns where this run reads the worklog feed from: the
// bookmark, or where a pass from start_date has come.
func planWorklogs(env *Env) (p worklogPass, from time.Time) {
	st := env.State
	p.scope = fingerprint(slices.Compact(slices.Sorted(slices.Values(env.Projects))), "")
	bookmark := st.Updated("worklogs")
	if bookmark.IsZero() {
		return p, env.StartDate
	}
	pending, at := st.Backfill("worklogs")
	if was, ok := st.Scope("worklogs"); ok && was != p.scope {
		env.Log.Info("projects changed since the worklogs bookmark was made: the worklog feed is read from start_date")
		pending, at = []string{"worklogs"}, time.Time{}
	}
	if at.Before(env.StartDate) {
		at = env.StartDate
	}
	if len(pending) == 0 || !at.Before(bookmark) {
		return p, bookmark
	}
	env.Log.Info("reading the worklog feed from start_date for the projects the bookmark does not cover",
		"from", at.UTC().Format(time.RFC3339), "bookmark", bookmark.UTC().Format(time.RFC3339))
	p.open, p.until = true, bookmark
	return p, at
}

// advance moves the pass's place, or the bookmark, past a feed page
// written up to until.
func (p *worklogPass) advance(st *state.State, until time.Time) {
	st.SetScope("worklogs", p.scope)
	if p.open && until.Before(p.until) {
		st.SetBackfill("worklogs", []string{"worklogs"}, until)
		return
	}
	p.open = false
	st.SetBackfill("worklogs", nil, time.Time{})
	st.Advance("worklogs", until)
}

// finish ends the pass: the feed was read to its end.
func (p *worklogPass) finish(st *state.State) {
	p.open = false
	st.SetScope("worklogs", p.scope)
	st.SetBackfill("worklogs", nil, time.Time{})
}
