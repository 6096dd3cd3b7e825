package streams

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/tap-jira/tap-jira/internal/jira"
)

// syncUsers reads every user: on Cloud /users/search, paged until an empty
// page; on Data Center /user/search with "." (everyone).
func syncUsers(ctx context.Context, env *Env, sink Sink) error {
	path, q := "rest/api/2/users/search", url.Values{}
	if !env.Cloud {
		path, q = "rest/api/2/user/search", url.Values{"username": {"."}, "includeInactive": {"true"}}
	}
	for page, err := range env.Client.PagedArray(ctx, path, q, 1000) {
		if err != nil {
			return fmt.Errorf("reading users: %w", err)
		}
		for _, u := range page {
			if _, ok := u["accountId"]; !ok && !env.Cloud {
				// Data Center has no accountIds; the user key is its stable
				// id, so it fills the table's key column.
				u["accountId"] = u["key"]
			}
			if err := sink.Record("users", u); err != nil {
				return err
			}
		}
		if err := sink.Checkpoint(); err != nil {
			return err
		}
	}
	return nil
}

// IssuesJQL builds the incremental query: issues updated since the bookmark,
// floored to the minute in the user's time zone, because Jira reads JQL date
// literals at minute precision in that zone.
func IssuesJQL(bookmark time.Time, loc *time.Location, projects []string, extra string) string {
	// The wall clock of the bookmark with the seconds dropped. In a repeated
	// hour (DST fall-back) Jira reads the earlier of the two instants, which
	// is never after the bookmark.
	local := bookmark.In(loc)
	var b strings.Builder
	fmt.Fprintf(&b, `updated >= "%s"`, local.Format("2006-01-02 15:04"))
	if len(projects) > 0 {
		fmt.Fprintf(&b, " AND project in (%s)", strings.Join(projects, ", "))
	}
	if extra != "" {
		fmt.Fprintf(&b, " AND (%s)", extra)
	}
	b.WriteString(" ORDER BY updated ASC, id ASC")
	return b.String()
}

// syncIssues reads issues updated since the bookmark and, from each, its
// comments, changelog histories and transitions. Embedded lists that Jira
// truncated are completed from the per-issue endpoints; complete ones cost
// no request.
func syncIssues(ctx context.Context, env *Env, sink Sink) error {
	loc, err := env.Client.Myself(ctx)
	if err != nil {
		return err
	}
	bookmark := env.State.Updated("issues")
	if bookmark.IsZero() {
		bookmark = env.StartDate
	}
	jql := IssuesJQL(bookmark, loc, env.Projects, env.JQL)
	// Search is eventually consistent: never bookmark past the run's start
	// minus the allowed lag, so the next run re-reads that window.
	ceiling := env.RunStart.Add(-env.Lookback)
	env.Log.Info("reading issues", "jql", jql, "time_zone", loc.String())
	seen := map[string]bool{}
	expand := []string{"changelog", "transitions"}
	if env.RenderedFields {
		expand = append(expand, "renderedFields")
	}
	for page, err := range env.Client.SearchIssues(ctx, env.Cloud, jql, []string{"*all"}, expand, env.PageSize) {
		if err != nil {
			return err
		}
		var last time.Time
		for _, is := range page.Issues {
			id := fmt.Sprint(is["id"])
			if seen[id] {
				continue // a boundary issue seen on an earlier page
			}
			seen[id] = true
			updated, err := issueUpdated(is)
			if err != nil {
				return fmt.Errorf("issue %s: %w", id, err)
			}
			if err := emitChildren(ctx, env, sink, id, is); err != nil {
				return err
			}
			if err := sink.Record("issues", issueRecord(is, updated)); err != nil {
				return err
			}
			if updated.After(last) {
				last = updated
			}
		}
		if !last.IsZero() {
			env.State.Advance("issues", minTime(last, ceiling))
		}
		if err := sink.Checkpoint(); err != nil {
			return err
		}
	}
	return nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func issueUpdated(is jira.Record) (time.Time, error) {
	fields, _ := is["fields"].(map[string]any)
	s, _ := fields["updated"].(string)
	t, err := jira.ParseTime(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("reading fields.updated: %w", err)
	}
	return t, nil
}

// issueRecord shapes an issue as the issues stream emits it: children moved
// out to their own streams, and updated copied to the top level, where a
// replication key must be.
func issueRecord(is jira.Record, updated time.Time) jira.Record {
	delete(is, "changelog")
	delete(is, "transitions")
	if fields, ok := is["fields"].(map[string]any); ok {
		delete(fields, "comment")
		delete(fields, "worklog")
	}
	is["updated"] = jira.FormatTime(updated)
	return is
}

// embedded reads an embedded child list ({<list>: [...], total: N}) and
// reports whether Jira sent all of it.
func embedded(container any, list string) ([]any, bool) {
	m, ok := container.(map[string]any)
	if !ok {
		return nil, false
	}
	items, _ := m[list].([]any)
	total, err := numberOf(m["total"])
	if err != nil {
		return items, false
	}
	return items, total <= len(items)
}

func numberOf(v any) (int, error) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, fmt.Errorf("not a number: %v", v)
	}
	i, err := n.Int64()
	return int(i), err
}

func emitChildren(ctx context.Context, env *Env, sink Sink, issueID string, is jira.Record) error {
	fields, _ := is["fields"].(map[string]any)
	if sink.Wants("issue_comments") {
		items, complete := embedded(fields["comment"], "comments")
		if !complete {
			recs, err := env.Client.IssueComments(ctx, issueID)
			if err != nil {
				return err
			}
			items = records(recs)
		}
		if err := emitAll(sink, "issue_comments", issueID, items); err != nil {
			return err
		}
	}
	if sink.Wants("changelogs") {
		items, complete := embedded(is["changelog"], "histories")
		if !complete {
			recs, err := env.Client.IssueChangelog(ctx, env.Cloud, issueID)
			if err != nil {
				return err
			}
			items = records(recs)
		}
		if err := emitAll(sink, "changelogs", issueID, items); err != nil {
			return err
		}
	}
	if sink.Wants("issue_transitions") {
		items, _ := is["transitions"].([]any)
		if err := emitAll(sink, "issue_transitions", issueID, items); err != nil {
			return err
		}
	}
	return nil
}

func records(recs []jira.Record) []any {
	out := make([]any, len(recs))
	for i, r := range recs {
		out[i] = r
	}
	return out
}

func emitAll(sink Sink, stream, issueID string, items []any) error {
	for _, it := range items {
		rec, ok := it.(map[string]any)
		if !ok {
			return fmt.Errorf("issue %s: a %s entry is not an object", issueID, stream)
		}
		rec["issueId"] = issueID
		if err := sink.Record(stream, rec); err != nil {
			return err
		}
	}
	return nil
}

// syncWorklogs follows the worklog change feed from the bookmark. The feed
// holds back the last minute, so its high-water mark is safe to bookmark.
func syncWorklogs(ctx context.Context, env *Env, sink Sink) error {
	since := env.State.Updated("worklogs")
	if since.IsZero() {
		since = env.StartDate
	}
	seen := map[string]bool{}
	for page, err := range env.Client.UpdatedWorklogs(ctx, since) {
		if err != nil {
			return err
		}
		for _, wl := range page.Worklogs {
			id := fmt.Sprint(wl["id"])
			if seen[id] {
				continue // the feed repeats the item at a page boundary
			}
			seen[id] = true
			if err := sink.Record("worklogs", wl); err != nil {
				return err
			}
		}
		env.State.Advance("worklogs", page.Until)
		if err := sink.Checkpoint(); err != nil {
			return err
		}
	}
	return nil
}
