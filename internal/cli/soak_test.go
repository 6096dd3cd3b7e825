package cli

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tap-jira/tap-jira/internal/jirasim"
)

// warehouse is what a Singer target upserting by key would hold: per
// stream and key, the last record written, with deletions kept as rows
// whose _sdc_deleted_at is set (a soft delete).
type warehouse map[string]map[string]map[string]any

// load applies a run's complete lines, in order.
func (w warehouse) load(t *testing.T, stdout string) (lastState map[string]any) {
	t.Helper()
	for msg := range messages(t, stdout) {
		switch msg.Type {
		case "RECORD":
			keys, _ := keysOf([]map[string]any{msg.Record}, keyProps[msg.Stream])
			require.Len(t, keys, 1, "%s record without its key: %v", msg.Stream, msg.Record)
			if w[msg.Stream] == nil {
				w[msg.Stream] = map[string]map[string]any{}
			}
			w[msg.Stream][keys[0]] = msg.Record
		case "STATE":
			lastState = msg.Value
		}
	}
	return lastState
}

func (w warehouse) live(stream, key string) (map[string]any, bool) {
	rec, ok := w[stream][key]
	return rec, ok && rec["_sdc_deleted_at"] == nil
}

// TestScheduledRunsKeepTheWarehouseTrue runs the tap as a scheduler would,
// every half hour of the site's clock, at the default concurrency, against
// a site that keeps changing: between the runs and during them (issues and
// worklogs updated, comments added and edited, issues and worklogs
// deleted), with 5xx, 429s, cut responses and answers that hang
// (request_timeout gives them up), and with some runs killed (SIGKILL) at
// a random line and the next resuming from the last STATE they printed. A
// target that upserts what the runs printed must then hold exactly the
// site: every issue, worklog and comment at its latest update and no other
// live issue or worklog, every child of the issues, every deletion. It
// checks the guarantees that matter together, with concurrency on, where
// each test elsewhere checks one. Search trails the changes by two
// minutes, within lookback_minutes.
func TestScheduledRunsKeepTheWarehouseTrue(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		flavor jirasim.Flavor
		tz     string
		// deployment_type: detected, the site's clock is serverInfo's;
		// set, the Date of the site's answers.
		deployment string
		// projects: how many of the site's projects the config names (0:
		// all). Their worklogs are picked from the site-wide feed by
		// looking their issues up, issues deleted meanwhile among them.
		projects int
	}{
		{jirasim.Cloud, "America/Los_Angeles", "auto", 0},
		{jirasim.DataCenter, "Asia/Kathmandu", "datacenter", 2}, // UTC+05:45: minutes matter
	} {
		t.Run(string(c.flavor), func(t *testing.T) {
			t.Parallel()
			loc, err := time.LoadLocation(c.tz)
			require.NoError(t, err)
			// Search trails changes by two minutes, as Jira's index does;
			// lookback_minutes (5) covers it.
			// Feed pages of 40 worklogs: the feeds take several pages a run,
			// with changes between them, as a big site's 1000-item pages do.
			s := startSite(t, jirasim.Options{Flavor: c.flavor, TZ: loc, SearchLag: 2 * time.Minute, FeedPage: 40,
				Faults: jirasim.Faults{Seed: 9, Latency: 2 * time.Millisecond, FailRate: 0.03, ThrottleRate: 0.01, CutRate: 0.01, StallRate: 0.02},
				Gen:    jirasim.GenOptions{Seed: 11, Issues: 500, Projects: 3, Users: 30}})
			// While drift is on, every fourth page of issues read moves
			// the clock a minute and changes some issues and worklogs.
			var drift atomic.Bool
			var pages atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				p := r.URL.Path
				if drift.Load() && (strings.HasSuffix(p, "/search") || strings.HasSuffix(p, "/search/jql") || strings.HasSuffix(p, "/issue/bulkfetch")) {
					if pages.Add(1)%4 == 0 {
						s.sim.Advance(time.Minute)
						s.sim.Mutate(2, 2)
						s.sim.MutateComments(1)
					}
				}
				s.sim.ServeHTTP(w, r)
			}))
			t.Cleanup(srv.Close)
			start := "2025-11-28T00:00:00Z"
			// The scope: the projects named, and what is theirs. Issues
			// are not moved, so an issue's project is the one it was
			// generated in, deleted or not.
			scope := newProjectScope(s.sim.Data(), c.projects)
			extra := fmt.Sprintf(`, "page_size": 10, "reconcile_deleted_issues": true, "deployment_type": %q, "request_timeout": 0.5`, c.deployment)
			if c.projects > 0 {
				extra += fmt.Sprintf(`, "projects": %q`, strings.Join(scope.keys, ","))
			}
			cfg := configAt(t, srv.URL, start, extra)
			catalog := selectAll(t, cfg)
			// The first run leaves out two streams of the issues group, as
			// a user adding them later would: the next run, killed midway,
			// starts the pass that reads them from start_date.
			var early []string
			for stream := range keyProps {
				if stream != "issue_comments" && stream != "issue_status_history" {
					early = append(early, stream)
				}
			}
			firstCatalog := selectAll(t, cfg, early...)
			rng := rand.New(rand.NewPCG(5, uint64(len(c.tz))))

			wh := warehouse{}
			var stateIn map[string]any
			run := func(killAt int, catalog string) bool {
				args := []string{"--config", cfg, "--catalog", catalog}
				if stateIn != nil {
					args = append(args, "--state", writeFile(t, "state.json", mustJSON(t, stateIn)))
				}
				res := runTapSignalledAt(t, syscall.SIGKILL, atLine(killAt), args...)
				if !res.signalled {
					require.NoError(t, res.err, "a run that was not killed completes: %s", res.stderr)
				}
				if st := wh.load(t, res.complete()); st != nil {
					stateIn = st
				}
				return res.signalled
			}

			kills := 0
			var victims []string // issues deleted while the warehouse held them
			for cycle := range 8 {
				if cycle > 0 {
					s.sim.Advance(30 * time.Minute)
					s.sim.Mutate(15, 10)
					s.sim.MutateComments(4)
				}
				if cycle > 1 {
					// Three issues the warehouse holds, and some worklogs.
					var ids []int
					for _, k := range slices.Sorted(maps.Keys(wh["issues"])) {
						if _, ok := wh.live("issues", k); ok && len(ids) < 3 {
							id, err := strconv.Atoi(k)
							require.NoError(t, err)
							ids = append(ids, id)
						}
					}
					require.Len(t, ids, 3)
					victims = append(victims, s.sim.Delete(ids, 3).Issues...)
				}
				drift.Store(true)
				killAt := -1
				if cycle%3 == 1 {
					// Such a run follows a complete one, so it writes the
					// full tables and then the issues: 750 lines or more,
					// and the kill lands, in either.
					killAt = 20 + rng.IntN(600)
				}
				cat := catalog
				if cycle == 0 {
					cat = firstCatalog
				}
				if run(killAt, cat) {
					kills++
				}
				drift.Store(false)
			}
			// The last run, once the feeds' held-back minute and search's
			// lag have passed.
			s.sim.Advance(3 * time.Minute)
			require.False(t, run(-1, catalog))
			require.Equal(t, 3, kills, "the three runs meant to be killed mid-run were")
			counts := s.sim.FaultCounts()
			require.Positive(t, counts.Failed+counts.Throttled+counts.Cut, "faults were injected")
			require.Positive(t, counts.Stalled, "answers stalled")

			truth := s.sim.Truth()
			scope.learn(s.sim.Data())
			startT, err := time.Parse(time.RFC3339, start)
			require.NoError(t, err)
			want := truth.Expected(startT)
			want["issue_status_history"] = truth.ExpectedStatusHistory(startT)
			all := len(want["issues"])
			scope.keep(truth, want)
			if c.projects > 0 {
				require.Less(t, len(want["issues"]), all, "the other projects have issues")
			}
			updated := map[string]map[string]string{} // stream, key: updated now
			for _, stream := range []string{"issues", "worklogs"} {
				updated[stream] = map[string]string{}
				for _, r := range truth.Streams[stream] {
					updated[stream][strings.Join(r.Key, "/")] = r.Updated
				}
			}
			// Comments added and edited: each at its latest version too.
			updated["issue_comments"] = map[string]string{}
			for _, r := range truth.Streams["issue_comments"] {
				updated["issue_comments"][strings.Join(r.Key, "/")] = r.OwnUpdated
			}
			for stream, keys := range want {
				var missing, stale []string
				for _, k := range keys {
					rec, ok := wh.live(stream, k)
					if !ok {
						missing = append(missing, k)
						continue
					}
					if u, ok := updated[stream][k]; ok && !sameTime(t, u, rec["updated"]) {
						stale = append(stale, fmt.Sprintf("%s: %v, now %s", k, rec["updated"], u))
					}
				}
				assert.Empty(t, missing, "%s: rows the warehouse lacks", stream)
				assert.Empty(t, stale, "%s: rows not at their latest update", stream)
			}
			for _, stream := range []string{"issues", "worklogs"} {
				var extra []string
				for k := range wh[stream] {
					if _, ok := wh.live(stream, k); ok && updated[stream][k] == "" {
						extra = append(extra, k)
					}
				}
				assert.Empty(t, extra, "%s: live rows the site no longer has", stream)
			}
			// Nothing of another project: no issue, no child, no worklog.
			for stream, rows := range wh {
				var outside []string
				for k, rec := range rows {
					if _, ok := wh.live(stream, k); ok && !scope.holds(stream, k, rec) {
						outside = append(outside, k)
					}
				}
				assert.Empty(t, outside, "%s: live rows of projects outside the configured ones", stream)
			}
			// Every deleted worklog is in the feed; a deleted issue is
			// reported if a run had emitted it (one updated only by the
			// deletion of one of its worklogs, as it was deleted, never was).
			deleted := truth.ExpectedDeleted(startT)
			deleted["issues"] = slices.DeleteFunc(deleted["issues"], func(id string) bool { return !scope.issue(id) })
			for stream, keys := range deleted {
				var notMarked []string
				for _, k := range keys {
					rec, ok := wh[stream][k]
					switch {
					case ok && rec["_sdc_deleted_at"] != nil:
					case ok || stream == "worklogs":
						notMarked = append(notMarked, k)
					}
				}
				assert.Empty(t, notMarked, "%s: deletions the warehouse does not hold", stream)
			}
			require.NotEmpty(t, victims)
			for _, id := range victims {
				rec := wh["issues"][id]
				assert.NotNil(t, rec["_sdc_deleted_at"], "issue %s, deleted while the warehouse held it, is marked deleted", id)
			}
		})
	}
}

// projectScope is the projects a config names and what belongs to them.
type projectScope struct {
	keys   []string                   // the project keys named; nil: every project
	issues map[string]bool            // issue id: in scope
	lists  map[string]map[string]bool // versions, components: id: in scope
}

// newProjectScope names the first n of the site's projects (every project
// when n is 0).
func newProjectScope(d *jirasim.Data, n int) *projectScope {
	sc := &projectScope{issues: map[string]bool{}, lists: map[string]map[string]bool{"versions": {}, "components": {}}}
	for _, p := range d.Projects[:min(n, len(d.Projects))] {
		sc.keys = append(sc.keys, p.Key)
	}
	sc.learn(d)
	return sc
}

// learn adds the issues, versions and components d holds.
func (sc *projectScope) learn(d *jirasim.Data) {
	in := func(key string) bool { return sc.keys == nil || slices.Contains(sc.keys, key) }
	for _, p := range d.Projects {
		for _, v := range p.Versions {
			sc.lists["versions"][strconv.Itoa(v.ID)] = in(p.Key)
		}
		for _, c := range p.Components {
			sc.lists["components"][strconv.Itoa(c.ID)] = in(p.Key)
		}
	}
	for _, is := range d.Issues {
		sc.issues[strconv.Itoa(is.ID)] = in(is.Project.Key)
	}
	for _, is := range d.DeletedIssues {
		project, _, _ := strings.Cut(is.Key, "-")
		sc.issues[strconv.Itoa(is.ID)] = in(project)
	}
}

func (sc *projectScope) issue(id string) bool { return sc.issues[id] }

// holds says whether a stream's row (key k, record rec) is in scope.
func (sc *projectScope) holds(stream, k string, rec map[string]any) bool {
	switch stream {
	case "issues":
		return sc.issue(k)
	case "versions", "components":
		return sc.lists[stream][k]
	}
	if id, ok := rec["issueId"]; ok {
		return sc.issue(fmt.Sprint(id))
	}
	return true // a full table, or a deletion record (ids only)
}

// keep leaves in want, the keys a complete sync emits, those in scope.
func (sc *projectScope) keep(truth jirasim.Truth, want map[string][]string) {
	issueOf := map[string]map[string]string{} // stream, key: issue id
	for stream, recs := range truth.Streams {
		issueOf[stream] = map[string]string{}
		for _, r := range recs {
			issueOf[stream][strings.Join(r.Key, "/")] = r.IssueID
		}
	}
	issueOf["issue_status_history"] = map[string]string{}
	for _, r := range truth.StatusHistory {
		issueOf["issue_status_history"][strings.Join(r.Key, "/")] = r.IssueID
	}
	for stream, keys := range want {
		want[stream] = slices.DeleteFunc(keys, func(k string) bool {
			rec := map[string]any{}
			if id := issueOf[stream][k]; id != "" {
				rec["issueId"] = id
			}
			return !sc.holds(stream, k, rec)
		})
	}
}

func sameTime(t *testing.T, want string, got any) bool {
	t.Helper()
	w, err := time.Parse(time.RFC3339, want)
	require.NoError(t, err)
	g, err := time.Parse(time.RFC3339, fmt.Sprint(got))
	if err != nil {
		return false
	}
	return w.Equal(g)
}
