package cli

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tap-jira/tap-jira/internal/jirasim"
)

// backfillStart is these tests' start_date: every issue of the sites is
// updated since.
var backfillStart = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// syncFrom runs a sync of the streams named (every one if none) from
// stateIn (none if nil), and returns its output and log.
func syncFrom(t *testing.T, cfg string, stateIn map[string]any, only ...string) (output, string) {
	t.Helper()
	args := []string{"--config", cfg, "--catalog", selectAll(t, cfg, only...)}
	if stateIn != nil {
		args = append(args, "--state", writeFile(t, "state.json", mustJSON(t, stateIn)))
	}
	res := runTap(t, t.Context(), args...)
	require.Equal(t, ExitOK, res.code, res.stderr)
	return parseOutput(t, res.stdout), res.stderr
}

// TestStreamsSelectedLaterGetTheirHistory: the issues group's streams
// share one bookmark, so a stream selected after it was made would only
// get the issues updated since. Such a stream is read from start_date,
// once, even across an interrupted run, and then incrementally with the
// others.
func TestStreamsSelectedLaterGetTheirHistory(t *testing.T) {
	t.Parallel()
	for _, flavor := range []jirasim.Flavor{jirasim.Cloud, jirasim.DataCenter} {
		t.Run(string(flavor), func(t *testing.T) {
			t.Parallel()
			s := newSite(t, flavor, "America/Los_Angeles", 400)
			cfg := s.config(t, backfillStart.Format(time.RFC3339), `, "page_size": 25`)
			run := func(stateIn map[string]any, only ...string) (output, string) {
				return syncFrom(t, cfg, stateIn, only...)
			}
			truth := func() map[string][]string {
				want := s.sim.Truth().Expected(backfillStart)
				want["issue_status_history"] = s.sim.Truth().ExpectedStatusHistory(backfillStart)
				return want
			}
			keys := func(out output, stream string) []string {
				k, _ := keysOf(out.records[stream], keyProps[stream])
				return k
			}

			// A month of runs with issues and comments only.
			out, _ := run(nil, "issues", "issue_comments")
			assert.Equal(t, truth()["issue_comments"], keys(out, "issue_comments"))
			s.sim.Advance(30 * time.Minute)
			s.sim.Mutate(4, 0)
			out, _ = run(out.lastState, "issues", "issue_comments")
			require.Less(t, len(out.records["issues"]), 100, "an incremental run")

			// Changelogs and the status history selected: their whole
			// history, the issues and comments again with them, and the
			// bookmark covers all four from then on.
			s.sim.Advance(30 * time.Minute)
			s.sim.Mutate(3, 0)
			both := []string{"issues", "issue_comments", "changelogs", "issue_status_history"}
			out, stderr := run(out.lastState, both...)
			assert.Contains(t, stderr, "streams the bookmark does not cover")
			want := truth()
			for _, stream := range both {
				assert.Equal(t, want[stream], keys(out, stream), "%s: every record since start_date", stream)
			}
			issues := out.lastState["bookmarks"].(map[string]any)["issues"].(map[string]any)
			assert.ElementsMatch(t, toAny(both), issues["streams"])
			assert.NotContains(t, issues, "backfill", "the pass is over")

			s.sim.Advance(30 * time.Minute)
			out, stderr = run(out.lastState, both...)
			assert.NotContains(t, stderr, "streams the bookmark does not cover")
			assert.Less(t, len(out.records["changelogs"]), len(want["changelogs"])/4, "then incremental")

			// Comments left out for a while, then selected again: the runs
			// without them left a gap, read from start_date again.
			s.sim.Advance(30 * time.Minute)
			out, _ = run(out.lastState, "issues", "changelogs", "issue_status_history")
			issues = out.lastState["bookmarks"].(map[string]any)["issues"].(map[string]any)
			assert.ElementsMatch(t, toAny([]string{"issues", "changelogs", "issue_status_history"}), issues["streams"])
			s.sim.Advance(30 * time.Minute)
			s.sim.MutateComments(2)
			out, _ = run(out.lastState, both...)
			assert.Equal(t, truth()["issue_comments"], keys(out, "issue_comments"), "comments reselected: all of them")

			// A state that does not say what it covers (singer-io's) is taken
			// to cover what singer-io has; the status history it never
			// wrote is read whole.
			bookmark := out.lastState["bookmarks"].(map[string]any)["issues"].(map[string]any)["updated"]
			foreign := map[string]any{"bookmarks": map[string]any{"issues": map[string]any{"updated": bookmark}}}
			s.sim.Advance(30 * time.Minute)
			out, _ = run(foreign, "issues", "changelogs")
			assert.Less(t, len(out.records["changelogs"]), len(want["changelogs"])/4, "changelogs taken as covered")
			out, _ = run(foreign, "issues", "issue_status_history")
			assert.Equal(t, truth()["issue_status_history"], keys(out, "issue_status_history"), "the status history, new to the state, whole")
		})
	}
}

// TestBackfillResumes: a pass from start_date cut short resumes where it
// came, not at start_date, and the runs together write every record.
func TestBackfillResumes(t *testing.T) {
	t.Parallel()
	start := backfillStart.Format(time.RFC3339)
	for _, c := range []struct {
		flavor jirasim.Flavor
		conc   int
	}{{jirasim.Cloud, 8}, {jirasim.DataCenter, 8}, {jirasim.Cloud, 1}, {jirasim.DataCenter, 1}} {
		t.Run(fmt.Sprintf("%s/max_concurrency_%d", c.flavor, c.conc), func(t *testing.T) {
			t.Parallel()
			s := newSite(t, c.flavor, "UTC", 600)
			cfg := s.config(t, start, fmt.Sprintf(`, "page_size": 20, "max_concurrency": %d`, c.conc))
			first := runTap(t, t.Context(), "--config", cfg, "--catalog", selectAll(t, cfg, "issues"))
			require.Equal(t, ExitOK, first.code, first.stderr)
			stateIn := mustJSON(t, parseOutput(t, first.stdout).lastState)
			s.sim.Advance(30 * time.Minute)

			catalog := selectAll(t, cfg, "issues", "changelogs")
			got := map[string]bool{}
			var froms []string
			for run := 0; ; run++ {
				require.Less(t, run, 20, "the runs must make progress")
				w := &cutWriter{lines: 700}
				var stderr strings.Builder
				code := Run(t.Context(), []string{"--config", cfg, "--catalog", catalog, "--state", writeFile(t, "state.json", stateIn)}, strings.NewReader(""), w, &stderr)
				out := parseOutput(t, w.buf.String())
				for _, k := range func() []string { k, _ := keysOf(out.records["changelogs"], keyProps["changelogs"]); return k }() {
					got[k] = true
				}
				for _, line := range strings.Split(stderr.String(), "\n") {
					if i := strings.Index(line, " from="); i >= 0 && strings.Contains(line, "streams the bookmark does not cover") {
						froms = append(froms, strings.Fields(line[i+len(" from="):])[0])
					}
				}
				if code == ExitOK {
					break
				}
				require.Equal(t, ExitRuntime, code, stderr.String())
				require.NotNil(t, out.lastState)
				stateIn = mustJSON(t, out.lastState)
			}
			require.Greater(t, len(froms), 2, "the pass was cut at least twice")
			assert.Equal(t, start, froms[0], "the pass starts at start_date")
			assert.True(t, slices.IsSorted(froms), "and each run resumes it further on: %v", froms)
			assert.Greater(t, froms[len(froms)-1], start)
			want := s.sim.Truth().Expected(backfillStart)["changelogs"]
			assert.Len(t, got, len(want), "every changelog entry, across the runs")
			for _, k := range want {
				if !got[k] {
					assert.Fail(t, fmt.Sprintf("changelog entry %s was never written", k))
					break
				}
			}
		})
	}
}

// TestWiderScopeIsReadFromStartDate: a project added to projects (or jql
// changed) after the bookmark was made has issues and worklogs the runs
// never read; they are read from start_date once. The same projects in
// another order are the same scope.
func TestWiderScopeIsReadFromStartDate(t *testing.T) {
	t.Parallel()
	s := newSite(t, jirasim.Cloud, "UTC", 300)
	run := func(stateIn map[string]any, projects string) output {
		cfg := s.config(t, backfillStart.Format(time.RFC3339), `, "projects": "`+projects+`"`)
		out, _ := syncFrom(t, cfg, stateIn, "issues", "issue_comments", "worklogs")
		return out
	}
	inProjects := func(stream string, keys ...string) []string {
		var out []string
		byIssue := map[string]string{}
		for _, is := range s.sim.Data().Issues {
			byIssue[fmt.Sprint(is.ID)] = is.Project.Key
		}
		for _, r := range s.sim.Truth().Streams[stream] {
			issue := r.IssueID
			if stream == "issues" {
				issue = r.Key[0]
			}
			if slices.Contains(keys, byIssue[issue]) && slices.Contains(s.sim.Truth().Expected(backfillStart)[stream], strings.Join(r.Key, "/")) {
				out = append(out, strings.Join(r.Key, "/"))
			}
		}
		slices.Sort(out)
		return out
	}
	keys := func(out output, stream string) []string {
		k, _ := keysOf(out.records[stream], keyProps[stream])
		return k
	}

	out := run(nil, "BETA")
	require.NotEmpty(t, out.records["issues"])
	s.sim.Advance(30 * time.Minute)
	out = run(out.lastState, "BETA")
	s.sim.Advance(30 * time.Minute)
	out = run(out.lastState, "BETA, ALPHA")
	for _, stream := range []string{"issues", "issue_comments", "worklogs"} {
		assert.Equal(t, inProjects(stream, "ALPHA", "BETA"), keys(out, stream), "%s: the added project's records since start_date", stream)
	}
	for _, stream := range []string{"issues", "worklogs"} {
		assert.NotContains(t, out.lastState["bookmarks"].(map[string]any)[stream], "backfill", "%s: the pass is over", stream)
	}
	s.sim.Advance(30 * time.Minute)
	out = run(out.lastState, "ALPHA,BETA")
	assert.Less(t, len(out.records["issues"]), 20, "the same projects in another order: incremental")
	assert.Less(t, len(out.records["worklogs"]), 20, "worklogs too")

	// A state from singer-io, which has no projects, says nothing of its
	// scope: it is taken as the one configured.
	bookmark := out.lastState["bookmarks"].(map[string]any)["issues"].(map[string]any)["updated"]
	out = run(map[string]any{"bookmarks": map[string]any{"issues": map[string]any{"updated": bookmark}}}, "GAMMA")
	assert.Less(t, len(out.records["issues"]), 20, "no scope in the state: incremental")
}
