package streams

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tap-jira/tap-jira/internal/state"
)

func TestPlanCoverage(t *testing.T) {
	t.Parallel()
	startDate := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	bookmark := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	midway := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	all := issueGroupStreams
	scopeA := fingerprint(nil, "")
	for _, tc := range []struct {
		name     string
		state    func(*state.State)
		projects []string
		selected []string
		from     time.Time
		covered  []string // after planning
		backfill []string
	}{
		{name: "first run", selected: all, from: startDate, covered: all},
		{name: "all covered", selected: all, from: bookmark, covered: all,
			state: func(s *state.State) {
				s.Advance("issues", bookmark)
				s.SetStreams("issues", all)
				s.SetScope("issues", scopeA)
			}},
		{name: "a stream selected since", selected: []string{"issues", "changelogs"}, from: startDate,
			covered: []string{"issues"}, backfill: []string{"changelogs"},
			state: func(s *state.State) { s.Advance("issues", bookmark); s.SetStreams("issues", []string{"issues"}) }},
		{name: "a stream deselected is no longer covered", selected: []string{"issues"}, from: bookmark, covered: []string{"issues"},
			state: func(s *state.State) {
				s.Advance("issues", bookmark)
				s.SetStreams("issues", []string{"issues", "changelogs"})
			}},
		{name: "a pass resumes where it came", selected: []string{"issues", "changelogs"}, from: midway,
			covered: []string{"issues"}, backfill: []string{"changelogs"},
			state: func(s *state.State) {
				s.Advance("issues", bookmark)
				s.SetStreams("issues", []string{"issues"})
				s.SetBackfill("issues", []string{"changelogs"}, midway)
			}},
		{name: "another stream selected starts the pass again", selected: []string{"issues", "changelogs", "issue_comments"}, from: startDate,
			covered: []string{"issues"}, backfill: []string{"changelogs", "issue_comments"},
			state: func(s *state.State) {
				s.Advance("issues", bookmark)
				s.SetStreams("issues", []string{"issues"})
				s.SetBackfill("issues", []string{"changelogs"}, midway)
			}},
		{name: "a pass of streams deselected ends", selected: []string{"issues"}, from: bookmark, covered: []string{"issues"},
			state: func(s *state.State) {
				s.Advance("issues", bookmark)
				s.SetStreams("issues", []string{"issues"})
				s.SetBackfill("issues", []string{"changelogs"}, midway)
			}},
		{name: "a pass at the bookmark is over", selected: []string{"issues", "changelogs"}, from: bookmark, covered: []string{"issues", "changelogs"},
			state: func(s *state.State) {
				s.Advance("issues", bookmark)
				s.SetStreams("issues", []string{"issues"})
				s.SetBackfill("issues", []string{"changelogs"}, bookmark)
			}},
		{name: "singer-io's state covers singer-io's streams", selected: []string{"issues", "issue_comments", "changelogs", "issue_transitions"}, from: bookmark,
			covered: []string{"issues", "issue_comments", "changelogs", "issue_transitions"},
			state:   func(s *state.State) { s.Advance("issues", bookmark) }},
		{name: "singer-io's state, and the status history", selected: []string{"issues", "issue_status_history"}, from: startDate,
			covered: []string{"issues"}, backfill: []string{"issue_status_history"},
			state: func(s *state.State) { s.Advance("issues", bookmark) }},
		{name: "another scope covers nothing", selected: []string{"issues", "changelogs"}, projects: []string{"ALPHA"}, from: startDate,
			backfill: []string{"issues", "changelogs"},
			state: func(s *state.State) {
				s.Advance("issues", bookmark)
				s.SetStreams("issues", all)
				s.SetScope("issues", scopeA)
			}},
		{name: "projects in another order are the same scope", selected: []string{"issues"}, projects: []string{"BETA", "ALPHA"}, from: bookmark,
			covered: []string{"issues"},
			state: func(s *state.State) {
				s.Advance("issues", bookmark)
				s.SetStreams("issues", all)
				s.SetScope("issues", fingerprint([]string{"ALPHA", "BETA"}, ""))
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := state.New()
			if tc.state != nil {
				tc.state(st)
			}
			wants := map[string]bool{}
			for _, name := range tc.selected {
				wants[name] = true
			}
			env := &Env{State: st, StartDate: startDate, Projects: tc.projects, Log: slog.New(slog.DiscardHandler)}
			before := st.Value()
			c, from := planCoverage(env, newKeySink(wants))
			assert.True(t, from.Equal(tc.from), "reads from %v, want %v", from, tc.from)
			assert.ElementsMatch(t, tc.covered, c.covered, "covered")
			assert.ElementsMatch(t, tc.backfill, c.backfill, "the pass")
			assert.Equal(t, before, st.Value(), "planning states nothing: its keys go with the first page's bookmark")
			// What the state says once the first page is written.
			c.apply(st)
			covered, ok := st.Streams("issues")
			assert.True(t, ok)
			assert.ElementsMatch(t, tc.covered, covered)
			pass, at := st.Backfill("issues")
			assert.ElementsMatch(t, tc.backfill, pass)
			if len(tc.backfill) > 0 {
				assert.True(t, at.Equal(tc.from))
			}
			want := time.Time{} // a first run's, until its first page
			if tc.state != nil {
				want = bookmark
			}
			assert.True(t, st.Updated("issues").Equal(want), "the bookmark does not move")
		})
	}
}

func TestCoverageAdvance(t *testing.T) {
	t.Parallel()
	bookmark := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	st := state.New()
	st.Advance("issues", bookmark)
	st.SetStreams("issues", []string{"issues"})
	c := &coverage{covered: []string{"issues"}, backfill: []string{"changelogs"}, at: bookmark.AddDate(-1, 0, 0), until: bookmark}
	c.advance(st, bookmark.AddDate(0, -2, 0))
	pass, at := st.Backfill("issues")
	assert.Equal(t, []string{"changelogs"}, pass)
	assert.True(t, at.Equal(bookmark.AddDate(0, -2, 0)), "the pass's place moves")
	assert.True(t, st.Updated("issues").Equal(bookmark), "the bookmark does not")
	c.advance(st, bookmark.AddDate(0, -3, 0))
	_, at = st.Backfill("issues")
	assert.True(t, at.Equal(bookmark.AddDate(0, -2, 0)), "nor does the pass's place go back")

	c.advance(st, bookmark.Add(time.Minute))
	pass, _ = st.Backfill("issues")
	assert.Empty(t, pass, "past the bookmark the pass is over")
	covered, _ := st.Streams("issues")
	assert.ElementsMatch(t, []string{"issues", "changelogs"}, covered)
	assert.True(t, st.Updated("issues").Equal(bookmark.Add(time.Minute)), "and the bookmark moves on")
}

// TestPassLeftForTheNextRunStaysOpen: a Data Center search that stops
// before its end, leaving what lies past a shift to the next run, has not
// read every issue up to the bookmark, so a pass from start_date stays open
// at its place. Here the last issue read before the shift is one updated
// since the run began that the search, trailing the change, still lists
// where it stood: past the bookmark's ceiling, it ends the run's reading.
func TestPassLeftForTheNextRunStaysOpen(t *testing.T) {
	t.Parallel()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	runStart := base.Add(30 * time.Minute) // the ceiling is minute 25
	bookmark := base.Add(24 * time.Minute)
	for _, n := range []int{1, 4} {
		t.Run(fmt.Sprintf("concurrency=%d", n), func(t *testing.T) {
			t.Parallel()
			d := &dcSearch{issues: minuteIssues(base, 30)}
			d.issues[18].updated = runStart.Add(time.Minute)
			d.edit = func(startAt int) {
				if startAt == 18 && d.issues[1].id == 10001 {
					d.issues = append(d.issues[:1:1], d.issues[2:]...) // a deletion: a shift
				}
			}
			d.after = func(startAt int) int { // the page the shift meets is served last
				if startAt == 18 {
					return 3
				}
				return 0
			}
			srv := d.serve(t)
			st := state.New()
			st.Advance("issues", bookmark)
			st.SetStreams("issues", []string{"issues"})
			env := &Env{Client: clientAt(t, srv.URL), Log: slog.New(slog.DiscardHandler), State: st,
				StartDate: base, RunStart: runStart, Lookback: 5 * time.Minute, PageSize: 10, Concurrency: n}
			sink := &idSink{memSink: memSink{records: map[string]int{}}}
			require.NoError(t, syncIssues(t.Context(), env, sink))
			assert.NotContains(t, sink.ids, "10020", "the issues past the shift are the next run's")
			pass, at := st.Backfill("issues")
			assert.ElementsMatch(t, []string{"issue_comments", "changelogs", "issue_transitions", "issue_status_history"}, pass, "the pass stays open")
			assert.True(t, at.Before(bookmark), "at its place, %v", at)
			covered, _ := st.Streams("issues")
			assert.Equal(t, []string{"issues"}, covered)
			assert.True(t, st.Updated("issues").Equal(bookmark))
		})
	}
}

// cancelAt is a sink that cancels the run at its nth checkpoint: a run
// killed there.
type cancelAt struct {
	memSink
	n      int
	cancel context.CancelFunc
}

func (s *cancelAt) Checkpoint() error {
	if s.checks++; s.checks == s.n {
		s.cancel()
	}
	return nil
}

// TestWorklogPassResumes: projects changed since the worklogs bookmark was
// made, so the feed is read again from start_date; a run stopped after its
// first page keeps the pass's place, not the bookmark's (which does not
// move back), and the next run reads on from that place to the end.
func TestWorklogPassResumes(t *testing.T) {
	t.Parallel()
	pages := map[string][]int{"1000": {1, 2, 3}, "3000": {3, 4, 5}, "5000": {5, 6}}
	var mu sync.Mutex
	var sinces []string
	c := worklogSite(t, func(since string) ([]any, int, bool) {
		mu.Lock()
		sinces = append(sinces, since)
		mu.Unlock()
		var values []any
		for _, id := range pages[since] {
			values = append(values, feedItem(id))
		}
		return values, pages[since][len(pages[since])-1] * 1000, since == "5000"
	}, func() {})
	st := state.New()
	bookmark := time.UnixMilli(5500).UTC()
	st.Advance("worklogs", bookmark)
	st.SetScope("worklogs", fingerprint([]string{"ALPHA"}, ""))
	env := func() *Env {
		return &Env{Client: c, Log: slog.New(slog.DiscardHandler), State: st, Projects: nil,
			StartDate: time.UnixMilli(1000).UTC(), RunStart: time.Now(), Concurrency: 1}
	}

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	err := syncWorklogs(ctx, env(), &cancelAt{memSink: memSink{records: map[string]int{}}, n: 1, cancel: cancel})
	require.Error(t, err, "stopped after its first page")
	pass, at := st.Backfill("worklogs")
	assert.Equal(t, []string{"worklogs"}, pass)
	assert.Equal(t, time.UnixMilli(3000).UTC(), at, "the pass's place: the first page's end")
	assert.Equal(t, bookmark, st.Updated("worklogs"), "the bookmark does not move back")

	mu.Lock()
	sinces = nil
	mu.Unlock()
	sink := &memSink{records: map[string]int{}}
	require.NoError(t, syncWorklogs(t.Context(), env(), sink))
	mu.Lock()
	assert.Equal(t, "3000", sinces[0], "the next run reads on from the pass's place")
	mu.Unlock()
	assert.Equal(t, 4, sink.records["worklogs"], "3 (the boundary), 4, 5 and 6")
	pass, _ = st.Backfill("worklogs")
	assert.Empty(t, pass, "the pass is over")
	assert.Equal(t, time.UnixMilli(6000).UTC(), st.Updated("worklogs"))
}
