package streams

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tap-jira/tap-jira/internal/jira"
	"github.com/tap-jira/tap-jira/internal/state"
)

// DeletedAt is the property Singer targets read as "this row was deleted
// at"; a target may soft-delete the row or remove it.
const DeletedAt = "_sdc_deleted_at"

// syncDeletedWorklogs follows /worklog/deleted from its own bookmark
// (bookmarks.worklogs.deleted; start_date on the first run) and emits, for
// each deleted worklog, a worklogs record with its id, updated and
// _sdc_deleted_at both set to the deletion time. The feed holds back the
// last minute like /worklog/updated, so its high-water mark is safe to
// bookmark once the page's records are written.
func syncDeletedWorklogs(env *Env, sink Sink, feed iter.Seq2[jira.FeedPage, error]) error {
	var seen seenIDs
	for page, err := range feed {
		if err != nil {
			return stuckRemedy(err, "bookmarks.worklogs."+state.KeyDeleted)
		}
		for i, id := range page.IDs {
			if !seen.Add(id.String()) {
				continue // the feed repeats the item at a page boundary
			}
			at := jira.FormatTime(page.Times[i])
			if err := sink.Record("worklogs", jira.Record{"id": id.String(), "updated": at, DeletedAt: at}); err != nil {
				return err
			}
		}
		env.State.AdvanceTime("worklogs", state.KeyDeleted, page.Until)
		if err := sink.Checkpoint(); err != nil {
			return err
		}
	}
	return nil
}

// stuckRemedy adds to a feed that cannot advance (jira.StuckFeedError)
// what the user can do: the run stops rather than skip worklogs, and on
// every later run again, until the feed's place in the state (place) is
// moved past the millisecond, giving up the worklogs of it Jira cannot list.
func stuckRemedy(err error, place string) error {
	var stuck *jira.StuckFeedError
	if !errors.As(err, &stuck) {
		return err
	}
	return fmt.Errorf("%w; the sync stops rather than skip them. To go on without the rest of that millisecond's worklogs, set %s to %q in the state",
		err, place, jira.FormatTime(stuck.At.Add(time.Millisecond)))
}

// deletedFeed is /worklog/deleted from its bookmark, start_date on the
// first run.
func deletedFeed(ctx context.Context, env *Env) iter.Seq2[jira.FeedPage, error] {
	since := env.State.Time("worklogs", state.KeyDeleted)
	if since.IsZero() {
		since = env.StartDate
	}
	return env.Client.DeletedWorklogFeed(ctx, since)
}

// scopeFingerprint identifies which issues the tap syncs (projects and
// jql): ids remembered under another scope are dropped rather than
// compared, so narrowing the scope reports no deletions.
func scopeFingerprint(env *Env) string { return fingerprint(env.Projects, env.JQL) }

func fingerprint(projects []string, jql string) string {
	sum := sha256.Sum256([]byte("projects=" + strings.Join(projects, ",") + "\njql=" + jql))
	return "sha256:" + hex.EncodeToString(sum[:8])
}

// scanJQL is every issue in scope: updated since start_date in the
// configured projects and jql, in id order, which updates during the scan
// do not reshuffle.
func scanJQL(env *Env, loc *time.Location) string {
	q := IssuesJQL(env.StartDate, loc, env.Projects, env.JQL)
	return strings.TrimSuffix(q, " ORDER BY updated ASC, id ASC") + " ORDER BY id ASC"
}

// reconcileIssues finds issues deleted since the last run. It scans the ids
// of the issues in scope, and each id remembered from the last run but not
// found is checked by id: only one Jira no longer returns (deleted, or no
// longer visible to the user) gets an issues record with _sdc_deleted_at;
// one that still exists left the scope (moved project, no longer matching
// jql, older than a rolling start_date) and is only forgotten. Then the
// scanned ids, with those emitted this run, are remembered.
func reconcileIssues(ctx context.Context, env *Env, sink Sink, loc *time.Location, emitted *seenIDs) error {
	if !sink.Wants("issues") {
		env.Log.Warn("reconcile_deleted_issues needs the issues stream selected; skipping the scan")
		return nil
	}
	scope := scopeFingerprint(env)
	known := env.State.KnownIDs("issues", scope)
	jql := scanJQL(env, loc)
	env.Log.Info("scanning issue ids for deletions", "jql", jql)
	pageSize := jira.SearchIDPage
	if !env.Cloud {
		pageSize = jira.SearchIDDCPage
	}
	var ids []int64
	add := func(s string) {
		if id, err := strconv.ParseInt(s, 10, 64); err == nil && id >= 0 {
			ids = append(ids, id)
		} else {
			env.Log.Warn("issue id is not a number; it cannot be checked for deletion", "id", s)
		}
	}
	for page, err := range env.Client.SearchIssues(ctx, env.Cloud, jql, []string{"id"}, nil, pageSize) {
		if err != nil {
			return fmt.Errorf("scanning issue ids: %w", err)
		}
		for _, is := range page.Issues {
			add(fmt.Sprint(is["id"]))
		}
	}
	// An issue emitted this run but missed by the scan (deleted meanwhile)
	// is checked next run.
	for id := range emitted.All() {
		add(id)
	}
	scanned, err := state.NewIDSet(ids)
	if err != nil {
		return fmt.Errorf("scanning issue ids: %w", err)
	}
	ids = nil
	if known != nil {
		var missing []string
		for id := range known.All() {
			if !scanned.Contains(id) {
				missing = append(missing, strconv.FormatInt(id, 10))
			}
		}
		gone, err := goneIssues(ctx, env, missing)
		if err != nil {
			return err
		}
		at := jira.FormatTime(env.RunStart)
		for _, id := range gone {
			if err := sink.Record("issues", jira.Record{"id": id, "updated": at, DeletedAt: at}); err != nil {
				return err
			}
		}
		env.Log.Info("issue deletions", "remembered", known.Len(), "found", scanned.Len(), "missing", len(missing), "deleted", len(gone))
	} else {
		env.Log.Info("remembering issue ids to find deletions from the next run on", "issues", scanned.Len())
	}
	env.State.SetKnownIDs("issues", scope, scanned)
	return sink.Checkpoint()
}

// goneIssues returns, in id order, the ids Jira no longer returns: on Cloud
// by /issue/bulkfetch (100 a request), on Data Center one GET each.
func goneIssues(ctx context.Context, env *Env, ids []string) ([]string, error) {
	var mu sync.Mutex
	var gone []string
	if env.Cloud {
		chunks := slices.Collect(slices.Chunk(ids, jira.BulkFetchMax))
		err := each(ctx, env.Concurrency, chunks, func(ctx context.Context, chunk []string) error {
			found, err := env.Client.ExistingIssues(ctx, chunk)
			if err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			for _, id := range chunk {
				if !found[id] {
					gone = append(gone, id)
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	} else {
		err := each(ctx, env.Concurrency, ids, func(ctx context.Context, id string) error {
			ok, err := env.Client.IssueExists(ctx, id)
			if err != nil || ok {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			gone = append(gone, id)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	slices.SortFunc(gone, func(a, b string) int {
		x, _ := strconv.ParseInt(a, 10, 64)
		y, _ := strconv.ParseInt(b, 10, 64)
		return cmp.Compare(x, y)
	})
	return gone, nil
}
