package cli

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tap-jira/tap-jira/internal/jirasim"
	"github.com/tap-jira/tap-jira/internal/singer/singertest"
)

var syncNow = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

type site struct {
	sim *jirasim.Server
	url string
}

func newSite(t *testing.T, flavor jirasim.Flavor, tz string, issues int) *site {
	t.Helper()
	loc, err := time.LoadLocation(tz)
	require.NoError(t, err)
	return startSite(t, jirasim.Options{Flavor: flavor, TZ: loc,
		Gen: jirasim.GenOptions{Seed: 11, Issues: issues, Projects: 3, Users: 30}})
}

// startSite serves a simulated site for one test: the tests' credentials, a
// frozen clock at syncNow (tests move it with Advance), closed at cleanup.
func startSite(t *testing.T, opts jirasim.Options) *site {
	t.Helper()
	opts.Email, opts.Token = "sim@example.com", "sim-token"
	if opts.Gen.Now.IsZero() {
		opts.Gen.Now = syncNow
	}
	frozen := time.Now()
	opts.Clock = func() time.Time { return frozen }
	sim := jirasim.New(opts)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return &site{sim: sim, url: srv.URL}
}

func (s *site) config(t *testing.T, startDate string, extra string) string {
	return configAt(t, s.url, startDate, extra)
}

// configAt writes a config for the simulated site served at url (a test's
// wrapper around it).
func configAt(t *testing.T, url, startDate, extra string) string {
	return writeFile(t, "config.json", fmt.Sprintf(`{"base_url": %q, "username": "sim@example.com", "password": "sim-token",
		"start_date": %q, "user_agent": "tap-jira-test"%s}`, url, startDate, extra))
}

// sentEarly serves s through a wrapper that holds each request whose path
// ends in later back, for at most d, until one ending in early has
// arrived. count counts the early ones; seen says whether one had arrived
// when a later one came.
func sentEarly(t *testing.T, s *site, early, later string, d time.Duration) (url string, count *atomic.Int64, seen *atomic.Bool) {
	count, seen = new(atomic.Int64), new(atomic.Bool)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, early):
			count.Add(1)
		case strings.HasSuffix(r.URL.Path, later):
			if waitUntil(d, func() bool { return count.Load() > 0 }) {
				seen.Store(true)
			}
		}
		s.sim.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, count, seen
}

// waitUntil polls cond every millisecond for at most d and reports whether
// it came true: a test server holding a request back until another one
// arrives.
func waitUntil(d time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(d); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			return false
		}
	}
	return true
}

// selectAll discovers the catalog and selects every stream.
func selectAll(t *testing.T, cfg string, only ...string) string {
	t.Helper()
	res := runTap(t, t.Context(), "--config", cfg, "--discover")
	require.Equal(t, ExitOK, res.code, res.stderr)
	var cat map[string]any
	require.NoError(t, json.Unmarshal([]byte(res.stdout), &cat))
	for _, s := range cat["streams"].([]any) {
		sm := s.(map[string]any)
		if len(only) > 0 && !slices.Contains(only, sm["tap_stream_id"].(string)) {
			continue
		}
		for _, m := range sm["metadata"].([]any) {
			mm := m.(map[string]any)
			if len(mm["breadcrumb"].([]any)) == 0 {
				mm["metadata"].(map[string]any)["selected"] = true
			}
		}
	}
	b, err := json.Marshal(cat)
	require.NoError(t, err)
	return writeFile(t, "catalog.json", string(b))
}

type output struct {
	records map[string][]map[string]any
	// deleted holds the deletion records (with _sdc_deleted_at), which
	// records leaves out.
	deleted   map[string][]map[string]any
	lastState map[string]any
	raw       string
}

// message is a line of the tap's output, as far as the tests read it.
type message struct {
	Type   string         `json:"type"`
	Stream string         `json:"stream"`
	Record map[string]any `json:"record"`
	Value  map[string]any `json:"value"`
}

// messages decodes the tap's output line by line, in order.
func messages(t *testing.T, stdout string) iter.Seq[message] {
	t.Helper()
	return func(yield func(message) bool) {
		sc := bufio.NewScanner(strings.NewReader(stdout))
		sc.Buffer(nil, 64<<20)
		for sc.Scan() {
			var msg message
			require.NoError(t, json.Unmarshal(sc.Bytes(), &msg), "not a JSON line: %.200s", sc.Text())
			if !yield(msg) {
				return
			}
		}
		require.NoError(t, sc.Err())
	}
}

func parseOutput(t *testing.T, stdout string) output {
	t.Helper()
	out := output{records: map[string][]map[string]any{}, deleted: map[string][]map[string]any{}, raw: stdout}
	for msg := range messages(t, stdout) {
		switch msg.Type {
		case "RECORD":
			if msg.Record["_sdc_deleted_at"] != nil {
				out.deleted[msg.Stream] = append(out.deleted[msg.Stream], msg.Record)
				continue
			}
			out.records[msg.Stream] = append(out.records[msg.Stream], msg.Record)
		case "STATE":
			out.lastState = msg.Value
		}
	}
	return out
}

var keyProps = map[string][]string{
	"projects": {"id"}, "versions": {"id"}, "components": {"id"}, "project_types": {"key"},
	"project_categories": {"id"}, "resolutions": {"id"}, "roles": {"id"}, "users": {"accountId"},
	"issues": {"id"}, "issue_comments": {"id"}, "changelogs": {"id"}, "issue_transitions": {"id", "issueId"},
	"worklogs": {"id"}, "issue_status_history": {"issueId", "changelogId"},
}

// keysOf returns the sorted keys of a stream's records, and how many records
// repeated a key.
func keysOf(recs []map[string]any, props []string) ([]string, int) {
	seen := map[string]bool{}
	dups := 0
	var out []string
	for _, r := range recs {
		parts := make([]string, len(props))
		for i, p := range props {
			parts[i] = fmt.Sprint(r[p])
		}
		k := strings.Join(parts, "/")
		if seen[k] {
			dups++
			continue
		}
		seen[k] = true
		out = append(out, k)
	}
	slices.Sort(out)
	return out, dups
}

func TestFullSyncEqualsGroundTruth(t *testing.T) {
	t.Parallel()
	for _, flavor := range []jirasim.Flavor{jirasim.Cloud, jirasim.DataCenter} {
		t.Run(string(flavor), func(t *testing.T) {
			t.Parallel()
			s := newSite(t, flavor, "America/Los_Angeles", 600)
			start := "2025-11-28T00:00:00Z"
			cfg := s.config(t, start, "")
			catalog := selectAll(t, cfg)
			res := runTap(t, t.Context(), "--config", cfg, "--catalog", catalog)
			require.Equal(t, ExitOK, res.code, res.stderr)
			out := parseOutput(t, res.stdout)
			startT, _ := time.Parse(time.RFC3339, start)
			want := s.sim.Truth().Expected(startT)
			require.Len(t, want, 13)
			for stream, keys := range want {
				got, dups := keysOf(out.records[stream], keyProps[stream])
				assert.Equal(t, keys, got, "%s: the sync must emit exactly the ground truth", stream)
				assert.Zero(t, dups, "%s: duplicates within a run", stream)
			}
			truth := s.sim.Truth()
			got, dups := keysOf(out.records["issue_status_history"], keyProps["issue_status_history"])
			assert.Equal(t, truth.ExpectedStatusHistory(startT), got, "issue_status_history")
			assert.Zero(t, dups)
			got, dups = keysOf(out.deleted["worklogs"], keyProps["worklogs"])
			assert.Equal(t, truth.ExpectedDeleted(startT)["worklogs"], got, "deleted worklogs")
			assert.Zero(t, dups)
			// the traps were in range
			assert.Greater(t, mostOfOneIssue(out.records["issue_comments"]), 150, "an issue with more than 150 comments was synced whole")
			assert.Empty(t, out.lastState["currently_syncing"])
			singertest.Check(t, "sync", "--messages", writeFile(t, "out.jsonl", res.stdout), "--catalog", catalog)
		})
	}
}

// mostOfOneIssue is the most records of one issue among records.
func mostOfOneIssue(records []map[string]any) int {
	counts := map[string]int{}
	most := 0
	for _, r := range records {
		id := fmt.Sprint(r["issueId"])
		counts[id]++
		most = max(most, counts[id])
	}
	return most
}

// TestLongChangelogsEqualGroundTruth syncs a site whose issues with the
// most history have changelogs far longer than a window of pages (read
// while the issue is written, on Cloud): the changelogs and status history
// are the ground truth, each record once.
func TestLongChangelogsEqualGroundTruth(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name   string
		flavor jirasim.Flavor
		faults jirasim.Faults
		// whole: the search embeds whole changelogs, every issue's 150
		// entries (pages weigh more than a Data Center page should).
		whole bool
		// long: the longest changelog (4500 if 0); every: every issue's
		// changelog length, instead of 150 with whole; pageSize: the
		// config's page_size, if set.
		long, every, pageSize int
	}{
		{name: "cloud", flavor: jirasim.Cloud},
		{name: "datacenter", flavor: jirasim.DataCenter},
		{name: "datacenter, whole changelogs in the search", flavor: jirasim.DataCenter, whole: true},
		// The windows of pages through 5xx, 429 and responses cut short.
		{name: "cloud with faults", flavor: jirasim.Cloud, faults: jirasim.Faults{Seed: 5, FailRate: 0.05, ThrottleRate: 0.03, CutRate: 0.01}},
		// An issue of 12,000 entries is a response past the spill size,
		// read from a file: the issue's own on its own (through faults
		// too), and a search page of it with the search embedding whole
		// changelogs.
		{name: "datacenter, a changelog spooled", flavor: jirasim.DataCenter, long: 12000, faults: jirasim.Faults{Seed: 5, FailRate: 0.05, ThrottleRate: 0.03, CutRate: 0.05}},
		{name: "datacenter, whole changelogs in a search page spooled", flavor: jirasim.DataCenter, whole: true, long: 12000},
		// Pages of 10 issues of 1500 entries each pass the spill size,
		// each issue's changelog past the size left in the file, though
		// it is shorter than a window.
		{name: "datacenter, whole changelogs shorter than a window left in the file", flavor: jirasim.DataCenter, whole: true, long: 1500, every: 1500, pageSize: 10},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			long := cmp.Or(c.long, 4500)
			gen := jirasim.GenOptions{Seed: 11, Issues: 300, Projects: 3, Users: 30, LongHistories: long}
			if c.whole {
				gen.Histories = cmp.Or(c.every, 150)
			}
			if c.every > 0 {
				gen.Issues = 40
			}
			s := startSite(t, jirasim.Options{Flavor: c.flavor, TZ: time.UTC, Faults: c.faults, Gen: gen, DCSearchWhole: c.whole})
			start := "2024-11-28T00:00:00Z"
			extra := ""
			if c.pageSize > 0 {
				extra = fmt.Sprintf(`, "page_size": %d`, c.pageSize)
			}
			cfg := s.config(t, start, extra)
			res := runTap(t, t.Context(), "--config", cfg, "--catalog", selectAll(t, cfg, "issues", "changelogs", "issue_status_history"))
			require.Equal(t, ExitOK, res.code, res.stderr)
			out := parseOutput(t, res.stdout)
			startT, _ := time.Parse(time.RFC3339, start)
			truth := s.sim.Truth()
			got, dups := keysOf(out.records["changelogs"], keyProps["changelogs"])
			assert.Equal(t, truth.Expected(startT)["changelogs"], got, "changelogs")
			assert.Zero(t, dups)
			got, dups = keysOf(out.records["issue_status_history"], keyProps["issue_status_history"])
			assert.Equal(t, truth.ExpectedStatusHistory(startT), got, "issue_status_history")
			assert.Zero(t, dups)
			assert.Equal(t, long, mostOfOneIssue(out.records["changelogs"]), "an issue's whole changelog")
			if c.whole {
				if c.every == 0 {
					searched := s.sim.Stats()["POST /rest/api/2/search"]
					assert.Greater(t, searched[200], int64(10), "pages of heavy issues are asked for smaller: %v", searched)
				}
				for endpoint := range s.sim.Stats() {
					assert.NotContains(t, endpoint, "/issue/", "whole changelogs are not read again")
				}
			}
			if c.faults.Seed != 0 {
				counts := s.sim.FaultCounts()
				assert.Positive(t, counts.Failed+counts.Throttled+counts.Cut, "faults were injected: %+v", counts)
			}
		})
	}
}

// TestLongCommentsEqualGroundTruth syncs a Data Center site whose search
// embeds every comment, each project's issue with the most comments having
// 12,000 of them: its page passes the spill size and the comments are
// left in the file, read back a window at a time, not again from Jira.
func TestLongCommentsEqualGroundTruth(t *testing.T) {
	t.Parallel()
	const long = 12000
	gen := jirasim.GenOptions{Seed: 11, Issues: 300, Projects: 3, Users: 30, LongComments: long}
	s := startSite(t, jirasim.Options{Flavor: jirasim.DataCenter, TZ: time.UTC, Gen: gen, DCSearchWhole: true})
	start := "2024-11-28T00:00:00Z"
	cfg := s.config(t, start, "")
	res := runTap(t, t.Context(), "--config", cfg, "--catalog", selectAll(t, cfg, "issues", "issue_comments"))
	require.Equal(t, ExitOK, res.code, res.stderr)
	out := parseOutput(t, res.stdout)
	startT, _ := time.Parse(time.RFC3339, start)
	got, dups := keysOf(out.records["issue_comments"], keyProps["issue_comments"])
	assert.Equal(t, s.sim.Truth().Expected(startT)["issue_comments"], got, "issue_comments")
	assert.Zero(t, dups)
	assert.Equal(t, long, mostOfOneIssue(out.records["issue_comments"]), "an issue's whole comments")
	for endpoint := range s.sim.Stats() {
		assert.NotContains(t, endpoint, "/comment", "whole comments are not read again")
	}
}

func TestIncrementalSync(t *testing.T) {
	t.Parallel()
	for _, flavor := range []jirasim.Flavor{jirasim.Cloud, jirasim.DataCenter} {
		t.Run(string(flavor), func(t *testing.T) {
			t.Parallel()
			s := newSite(t, flavor, "Asia/Kolkata", 300)
			cfg := s.config(t, "2025-11-28T00:00:00Z", "")
			catalog := selectAll(t, cfg, "issues", "worklogs", "changelogs")
			first := runTap(t, t.Context(), "--config", cfg, "--catalog", catalog)
			require.Equal(t, ExitOK, first.code, first.stderr)
			state1 := parseOutput(t, first.stdout).lastState

			// Change things, and let the clock pass the worklog feed's minute.
			s.sim.Advance(10 * time.Minute)
			m := s.sim.Mutate(5, 3)
			s.sim.Advance(2 * time.Minute)
			changed := map[string]bool{}
			for _, id := range m.Issues {
				changed[id] = true
			}
			for _, w := range s.sim.Truth().Streams["worklogs"] {
				if slices.Contains(m.Worklogs, w.Key[0]) {
					changed[w.IssueID] = true // a worklog change updates its issue
				}
			}
			stateFile := writeFile(t, "state.json", mustJSON(t, state1))
			second := runTap(t, t.Context(), "--config", cfg, "--catalog", catalog, "--state", stateFile)
			require.Equal(t, ExitOK, second.code, second.stderr)
			out2 := parseOutput(t, second.stdout)
			gotIssues, _ := keysOf(out2.records["issues"], []string{"id"})
			for id := range changed {
				assert.Contains(t, gotIssues, id, "a changed issue is synced again")
			}
			gotWorklogs, _ := keysOf(out2.records["worklogs"], []string{"id"})
			for _, id := range m.Worklogs {
				assert.Contains(t, gotWorklogs, id, "a changed worklog is synced again")
			}
			// Beyond the changed ones, only the bookmark's minute comes back.
			overlapFrom := bookmarkMinute(t, state1, "issues")
			for _, is := range out2.records["issues"] {
				if !changed[fmt.Sprint(is["id"])] {
					assert.GreaterOrEqual(t, is["updated"].(string), overlapFrom, "issue %v is neither changed nor in the overlap", is["id"])
				}
			}

			state2 := parseOutput(t, second.stdout).lastState
			stateFile2 := writeFile(t, "state.json", mustJSON(t, state2))
			third := runTap(t, t.Context(), "--config", cfg, "--catalog", catalog, "--state", stateFile2)
			require.Equal(t, ExitOK, third.code, third.stderr)
			out3 := parseOutput(t, third.stdout)
			overlapFrom = bookmarkMinute(t, state2, "issues")
			for _, is := range out3.records["issues"] {
				assert.GreaterOrEqual(t, is["updated"].(string), overlapFrom, "a run without changes re-reads only the overlap")
			}
			// The changes were made within lookback_minutes of the second
			// run's start on the site's clock: the third run reads them again.
			gotIssues3, _ := keysOf(out3.records["issues"], []string{"id"})
			for id := range changed {
				assert.Contains(t, gotIssues3, id, "a change within the lookback window is read again")
			}
			singertest.Check(t, "sync", "--messages", writeFile(t, "out.jsonl", third.stdout), "--catalog", catalog, "--state-in", stateFile2)
		})
	}
}

// bookmarkMinute is a STATE's bookmark floored to the minute, as RFC 3339:
// what the next run's query starts from.
func bookmarkMinute(t *testing.T, st map[string]any, stream string) string {
	t.Helper()
	bm := st["bookmarks"].(map[string]any)[stream].(map[string]any)["updated"].(string)
	ts, err := time.Parse(time.RFC3339, bm)
	require.NoError(t, err)
	return ts.Truncate(time.Minute).Format("2006-01-02T15:04:05.000Z")
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// TestTimeZonesGiveTheSameRecords syncs the same site with its user in three
// zones, from a start date just before the 2026 spring-forward change in
// Los Angeles.
func TestTimeZonesGiveTheSameRecords(t *testing.T) {
	t.Parallel()
	start := "2026-03-08T09:59:00Z" // 01:59 PST, a minute before the gap
	var first map[string][]string
	for i, tz := range []string{"UTC", "America/Los_Angeles", "Asia/Kolkata"} {
		flavor := []jirasim.Flavor{jirasim.Cloud, jirasim.DataCenter}[i%2]
		s := newSite(t, flavor, tz, 400)
		cfg := s.config(t, start, "")
		catalog := selectAll(t, cfg, "issues", "issue_comments", "worklogs")
		res := runTap(t, t.Context(), "--config", cfg, "--catalog", catalog)
		require.Equal(t, ExitOK, res.code, res.stderr)
		out := parseOutput(t, res.stdout)
		got := map[string][]string{}
		for _, stream := range []string{"issues", "issue_comments", "worklogs"} {
			got[stream], _ = keysOf(out.records[stream], keyProps[stream])
		}
		startT, _ := time.Parse(time.RFC3339, start)
		want := s.sim.Truth().Expected(startT)
		for stream, keys := range got {
			assert.Equal(t, want[stream], keys, "%s in %s", stream, tz)
		}
		if first == nil {
			first = got
		}
		assert.Equal(t, first, got, "the user's zone must not change what is synced (%s)", tz)
	}
}

// cutWriter accepts n lines and then fails like a closed pipe, which is
// what a killed run's target has received.
type cutWriter struct {
	buf   strings.Builder
	lines int
}

func (w *cutWriter) Write(p []byte) (int, error) {
	for i, b := range p {
		if w.lines == 0 {
			return i, fmt.Errorf("write |1: broken pipe")
		}
		w.buf.WriteByte(b)
		if b == '\n' {
			w.lines--
		}
	}
	return len(p), nil
}

func TestInterruptedRunResumes(t *testing.T) {
	t.Parallel()
	for _, flavor := range []jirasim.Flavor{jirasim.Cloud, jirasim.DataCenter} {
		t.Run(string(flavor), func(t *testing.T) {
			t.Parallel()
			interruptAndResume(t, flavor)
		})
	}
}

func interruptAndResume(t *testing.T, flavor jirasim.Flavor) {
	s := newSite(t, flavor, "America/Los_Angeles", 700)
	start := "2025-11-28T00:00:00Z"
	cfg := s.config(t, start, `, "page_size": 25`)
	catalog := selectAll(t, cfg)
	startT, _ := time.Parse(time.RFC3339, start)
	want := s.sim.Truth().Expected(startT)

	union := map[string]map[string]bool{}
	stateIn := ""
	runs := 0
	for cut := 400; ; cut += 900 {
		runs++
		require.Less(t, runs, 30, "the runs must make progress")
		args := []string{"--config", cfg, "--catalog", catalog}
		if stateIn != "" {
			args = append(args, "--state", writeFile(t, "state.json", stateIn))
		}
		w := &cutWriter{lines: cut}
		var stderr strings.Builder
		code := Run(t.Context(), args, strings.NewReader(""), w, &stderr)
		out := parseOutput(t, w.buf.String())
		for stream, recs := range out.deleted {
			out.records["deleted "+stream] = recs
		}
		for stream, recs := range out.records {
			keys, _ := keysOf(recs, keyProps[strings.TrimPrefix(stream, "deleted ")])
			if union[stream] == nil {
				union[stream] = map[string]bool{}
			}
			for _, k := range keys {
				union[stream][k] = true
			}
		}
		if stateIn != "" && strings.Contains(stateIn, `"currently_syncing":"issues"`) {
			assert.Empty(t, out.records["projects"], "a resumed run does not start over")
		}
		if code == ExitOK {
			break
		}
		require.Equal(t, ExitRuntime, code, "a closed output ends the run with an error: %s", stderr.String())
		assert.Contains(t, stderr.String(), "broken pipe")
		require.NotNil(t, out.lastState, "a STATE came before the cut")
		stateIn = mustJSON(t, out.lastState)
	}
	assert.Greater(t, runs, 2, "the test cut the sync at least twice")
	truth := s.sim.Truth()
	want["issue_status_history"] = truth.ExpectedStatusHistory(startT)
	want["deleted worklogs"] = truth.ExpectedDeleted(startT)["worklogs"]
	for stream, keys := range want {
		var got []string
		for k := range union[stream] {
			got = append(got, k)
		}
		slices.Sort(got)
		assert.Equal(t, keys, got, "%s: the union of the interrupted runs is the ground truth", stream)
	}
}

func TestResumeSkipsCompletedStreams(t *testing.T) {
	t.Parallel()
	s := newSite(t, jirasim.Cloud, "UTC", 100)
	cfg := s.config(t, "2025-11-28T00:00:00Z", "")
	catalog := selectAll(t, cfg)
	// The bookmark covers every stream of the group (a state that does not
	// say so would have the status history read from start_date).
	state := `{"currently_syncing": "issues", "bookmarks": {"issues": {"updated": "2026-11-01T00:00:00.000000Z",
		"streams": ["issues", "issue_comments", "changelogs", "issue_transitions", "issue_status_history"]}}}`
	res := runTap(t, t.Context(), "--config", cfg, "--catalog", catalog, "--state", writeFile(t, "state.json", state))
	require.Equal(t, ExitOK, res.code, res.stderr)
	out := parseOutput(t, res.stdout)
	for _, stream := range []string{"projects", "versions", "components", "project_types", "project_categories", "resolutions", "roles", "users"} {
		assert.Empty(t, out.records[stream], "%s was completed by the interrupted run", stream)
	}
	assert.NotEmpty(t, out.records["worklogs"])
	for _, is := range out.records["issues"] {
		assert.GreaterOrEqual(t, is["updated"].(string), "2026-11-01T00:00", "resumed from the bookmark, not from start_date")
	}
}

func TestChildWithoutParentAndRequestEconomy(t *testing.T) {
	t.Parallel()
	s := newSite(t, jirasim.Cloud, "UTC", 300)
	cfg := s.config(t, "2024-01-01T00:00:00Z", "")
	catalog := selectAll(t, cfg, "issue_comments")
	s.sim.ResetStats()
	res := runTap(t, t.Context(), "--config", cfg, "--catalog", catalog)
	require.Equal(t, ExitOK, res.code, res.stderr)
	out := parseOutput(t, res.stdout)
	assert.Empty(t, out.records["issues"], "the parent is read, not emitted")
	got, _ := keysOf(out.records["issue_comments"], keyProps["issue_comments"])
	assert.Equal(t, s.sim.Truth().Expected(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))["issue_comments"], got)

	// One comment request per issue whose embedded comments were truncated,
	// and none for the others; no changelog requests at all.
	truncated := 0
	for _, is := range s.sim.Data().Issues {
		if len(is.Comments) > 20 {
			truncated += (len(is.Comments) + 99) / 100
		}
	}
	stats := s.sim.Stats()
	assert.EqualValues(t, truncated, stats["GET /rest/api/2/issue/{id}/comment"][200])
	assert.Zero(t, stats["GET /rest/api/2/issue/{id}/changelog"][200])
	for route := range stats {
		assert.NotContains(t, []string{"GET /rest/api/2/search", "POST /rest/api/2/search"}, route, "the removed search is never called on Cloud")
	}
}

func TestProjectsAndJQLFilters(t *testing.T) {
	t.Parallel()
	s := newSite(t, jirasim.DataCenter, "UTC", 300)
	cfg := s.config(t, "2024-01-01T00:00:00Z", `, "projects": "BETA", "jql": "created >= \"2025-06-01\"", "rendered_fields": true`)
	catalog := selectAll(t, cfg, "issues", "versions", "projects")
	res := runTap(t, t.Context(), "--config", cfg, "--catalog", catalog)
	require.Equal(t, ExitOK, res.code, res.stderr)
	out := parseOutput(t, res.stdout)
	require.NotEmpty(t, out.records["issues"])
	for _, is := range out.records["issues"] {
		fields := is["fields"].(map[string]any)
		assert.Equal(t, "BETA", fields["project"].(map[string]any)["key"])
		assert.GreaterOrEqual(t, fields["created"].(string), "2025-06-01")
		assert.Contains(t, is["renderedFields"], "description", "rendered_fields asks for renderedFields")
	}
	var beta *jirasim.Project
	for _, p := range s.sim.Data().Projects {
		if p.Key == "BETA" {
			beta = p
		}
	}
	require.NotNil(t, beta)
	assert.Len(t, out.records["versions"], len(beta.Versions), "versions of BETA only")
	assert.Len(t, out.records["projects"], len(s.sim.Data().Projects), "the projects stream itself is not filtered")
}

func TestWrongCredentialsAreFatal(t *testing.T) {
	t.Parallel()
	s := newSite(t, jirasim.Cloud, "UTC", 20)
	cfg := writeFile(t, "config.json", fmt.Sprintf(`{"base_url": %q, "username": "sim@example.com", "password": %q, "deployment_type": "cloud"}`, s.url, secret))
	catalog := selectAll(t, s.config(t, "2025-11-28T00:00:00Z", ""), "projects")
	res := runTap(t, t.Context(), "--config", cfg, "--catalog", catalog)
	assert.Equal(t, ExitRuntime, res.code)
	assert.Contains(t, res.stderr, "HTTP 401")
	assert.NotContains(t, res.stderr, secret)
}

// TestSmallSyncGolden pins the whole message stream of a small sync, with
// the volatile parts (extraction times, table versions, the server's port)
// replaced. Regenerate with UPDATE_GOLDEN=1 after reviewing the change.
func TestSmallSyncGolden(t *testing.T) {
	t.Parallel()
	loc, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	s := startSite(t, jirasim.Options{Flavor: jirasim.Cloud, TZ: loc,
		Gen: jirasim.GenOptions{Seed: 5, Issues: 8, Projects: 1, Users: 4}})
	cfg := s.config(t, "2025-11-28T00:00:00Z", "")
	catalog := selectAll(t, cfg, "issues", "issue_comments", "changelogs", "issue_transitions", "issue_status_history", "worklogs", "project_types", "resolutions")
	res := runTap(t, t.Context(), "--config", cfg, "--catalog", catalog)
	require.Equal(t, ExitOK, res.code, res.stderr)
	singertest.Check(t, "sync", "--messages", writeFile(t, "out.jsonl", res.stdout), "--catalog", catalog)

	got := strings.ReplaceAll(res.stdout, s.url, "http://jira.test")
	got = regexpTimeExtracted.ReplaceAllString(got, `"time_extracted":"<now>"`)
	got = regexpVersion.ReplaceAllString(got, `"version":<run start>`)
	golden := filepath.Join(singertest.RepoRoot(t), "testdata", "golden", "sync_small.jsonl")
	if os.Getenv("UPDATE_GOLDEN") == "1" {
		require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err, "run UPDATE_GOLDEN=1 go test ./internal/cli to create it")
	assert.Equal(t, string(want), got, "sync output differs from %s; review and regenerate with make golden", golden)
}

var (
	regexpTimeExtracted = regexp.MustCompile(`"time_extracted":"[^"]+"`)
	regexpVersion       = regexp.MustCompile(`"version":\d+`)
)

func TestForbiddenProjectIsAWarning(t *testing.T) {
	t.Parallel()
	s := startSite(t, jirasim.Options{Flavor: jirasim.Cloud, TZ: time.UTC, Restricted: []string{"BETA"},
		Gen: jirasim.GenOptions{Seed: 11, Issues: 60, Projects: 3, Users: 10}})
	sim := s.sim
	cfg := s.config(t, "2025-11-28T00:00:00Z", "")
	catalog := selectAll(t, cfg, "versions", "components")
	res := runTap(t, t.Context(), "--config", cfg, "--catalog", catalog)
	require.Equal(t, ExitOK, res.code, res.stderr)
	assert.Contains(t, res.stderr, "level=WARN")
	assert.Contains(t, res.stderr, "project=BETA")
	out := parseOutput(t, res.stdout)
	want := 0
	for _, p := range sim.Data().Projects {
		if p.Key != "BETA" {
			want += len(p.Versions)
		}
	}
	assert.Len(t, out.records["versions"], want, "the other projects' versions are all there")
}

// TestConcurrencyKeepsTheOutput compares a sequential sync with a parallel
// one, message by message: order and STATEs must be the same.
func TestConcurrencyKeepsTheOutput(t *testing.T) {
	t.Parallel()
	for _, flavor := range []jirasim.Flavor{jirasim.Cloud, jirasim.DataCenter} {
		t.Run(string(flavor), func(t *testing.T) {
			t.Parallel()
			s := newSite(t, flavor, "America/Los_Angeles", 700)
			var outs []string
			for _, n := range []int{1, 8} {
				cfg := s.config(t, "2025-11-28T00:00:00Z", fmt.Sprintf(`, "max_concurrency": %d, "page_size": 50`, n))
				res := runTap(t, t.Context(), "--config", cfg, "--catalog", selectAll(t, cfg))
				require.Equal(t, ExitOK, res.code, res.stderr)
				got := regexpTimeExtracted.ReplaceAllString(res.stdout, `"time_extracted":"<now>"`)
				outs = append(outs, regexpVersion.ReplaceAllString(got, `"version":<run start>`))
			}
			require.Equal(t, strings.Count(outs[0], "\n"), strings.Count(outs[1], "\n"))
			assert.True(t, outs[0] == outs[1], "max_concurrency 8 must emit exactly what max_concurrency 1 does")
		})
	}
}

// TestLaterGroupErrorWaitsItsTurn: with concurrency the groups are fetched
// ahead, but a group that fails (here the worklog feed, read while issues
// are still being written) fails the run only at its turn, after everything
// before it is written, exactly as a sequential run does.
func TestLaterGroupErrorWaitsItsTurn(t *testing.T) {
	t.Parallel()
	s := newSite(t, jirasim.Cloud, "UTC", 400)
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/worklog/updated") {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"errorMessages":["worklog feed refused"]}`))
			return
		}
		s.sim.ServeHTTP(w, r)
	}))
	t.Cleanup(broken.Close)
	var outs []string
	for _, n := range []int{1, 8} {
		cfg := configAt(t, broken.URL, "2025-11-28T00:00:00Z", fmt.Sprintf(`, "max_concurrency": %d, "page_size": 50`, n))
		res := runTap(t, t.Context(), "--config", cfg, "--catalog", selectAll(t, cfg))
		require.Equal(t, ExitRuntime, res.code, res.stderr)
		assert.Contains(t, res.stderr, "worklog feed refused")
		out := parseOutput(t, res.stdout)
		assert.Len(t, out.records["issues"], len(s.sim.Truth().Expected(time.Date(2025, 11, 28, 0, 0, 0, 0, time.UTC))["issues"]), "every issue is written before the worklogs fail")
		lines := strings.Split(strings.TrimSpace(res.stdout), "\n")
		assert.Contains(t, lines[len(lines)-1], `"type":"STATE"`, "the last line is the last safe STATE")
		got := regexpTimeExtracted.ReplaceAllString(res.stdout, `"time_extracted":"<now>"`)
		outs = append(outs, regexpVersion.ReplaceAllString(got, `"version":<run start>`))
	}
	assert.True(t, outs[0] == outs[1], "max_concurrency 8 must fail exactly where max_concurrency 1 does")
}

// TestMaxConcurrencyBoundsTheWholeRun: max_concurrency bounds the requests
// in flight of the whole run, every group of streams together (they fetch
// side by side), and a parallel run does reach it.
func TestMaxConcurrencyBoundsTheWholeRun(t *testing.T) {
	t.Parallel()
	s := newSite(t, jirasim.Cloud, "UTC", 400)
	url, peak := peakServer(t, s, func(*atomic.Int64) {
		time.Sleep(2 * time.Millisecond) // so that requests overlap
	})
	for _, n := range []int64{1, 3} {
		peak.Store(0)
		cfg := configAt(t, url, "2025-11-28T00:00:00Z", fmt.Sprintf(`, "max_concurrency": %d, "page_size": 50`, n))
		res := runTap(t, t.Context(), "--config", cfg, "--catalog", selectAll(t, cfg))
		require.Equal(t, ExitOK, res.code, res.stderr)
		assert.Equal(t, n, peak.Load(), "max_concurrency %d: requests in flight at the peak", n)
	}
}

// TestDefaultConcurrencyByFlavor: without max_concurrency, a run keeps up
// to 16 requests in flight on Jira Cloud and 8 on Data Center, whose flavor
// the run finds out from serverInfo after its first requests.
func TestDefaultConcurrencyByFlavor(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		flavor jirasim.Flavor
		want   int64
	}{
		{jirasim.Cloud, 16},
		{jirasim.DataCenter, 8},
	} {
		t.Run(string(tc.flavor), func(t *testing.T) {
			t.Parallel()
			s := newSite(t, tc.flavor, "UTC", 400)
			url, peak := peakServer(t, s, func(inFlight *atomic.Int64) {
				// Each request waits until two more than the bound are in
				// flight (the bound does not hold) or 300 ms, so that a
				// loaded machine reaches the bound too.
				for deadline := time.Now().Add(300 * time.Millisecond); inFlight.Load() < tc.want+2 && time.Now().Before(deadline); {
					time.Sleep(time.Millisecond)
				}
			})
			cfg := configAt(t, url, "2025-11-28T00:00:00Z", `, "page_size": 10`)
			res := runTap(t, t.Context(), "--config", cfg, "--catalog", selectAll(t, cfg))
			require.Equal(t, ExitOK, res.code, res.stderr)
			// One more at most: the client frees a slot once it has read
			// an answer, which may be before its handler here has returned.
			assert.GreaterOrEqual(t, peak.Load(), tc.want, "requests in flight at the peak")
			assert.LessOrEqual(t, peak.Load(), tc.want+1, "requests in flight at the peak")
		})
	}
}

// peakServer serves the site and notes the most requests in flight at
// once, before and after hold, which each request runs first.
func peakServer(t *testing.T, s *site, hold func(inFlight *atomic.Int64)) (string, *atomic.Int64) {
	var inFlight, peak atomic.Int64
	note := func() {
		for p, n := peak.Load(), inFlight.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inFlight.Add(1)
		defer inFlight.Add(-1)
		note()
		hold(&inFlight)
		note()
		s.sim.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &peak
}

// TestTruncatedListsReadPagesSideBySide: a sync reads the pages of an
// issue's truncated comments at once, from the total the issue's embedded
// list gave, and the truncated changelogs of a page of issues together
// (/changelog/bulkfetch), not issue by issue.
func TestTruncatedListsReadPagesSideBySide(t *testing.T) {
	t.Parallel()
	s := newSite(t, jirasim.Cloud, "UTC", 400)
	var mu sync.Mutex
	arrived, inFlight, peak := map[string]int{}, map[string]int{}, map[string]int{}
	var bulk atomic.Int32
	counting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		list := r.URL.Path
		if strings.HasSuffix(list, "/changelog/bulkfetch") {
			bulk.Add(1)
		}
		if !strings.HasSuffix(list, "/comment") && !strings.HasSuffix(list, "/changelog") {
			s.sim.ServeHTTP(w, r)
			return
		}
		mu.Lock()
		arrived[list]++
		inFlight[list]++
		first := arrived[list] == 1
		mu.Unlock()
		// The first page waits for a second one of its list, which comes
		// at once if the pages are requested together, never if each
		// waits for the one before.
		if first {
			waitUntil(2*time.Second, func() bool {
				mu.Lock()
				defer mu.Unlock()
				return inFlight[list] >= 2
			})
		}
		mu.Lock()
		peak[list] = max(peak[list], inFlight[list])
		mu.Unlock()
		s.sim.ServeHTTP(w, r)
		mu.Lock()
		inFlight[list]--
		mu.Unlock()
	}))
	t.Cleanup(counting.Close)
	// Slots to spare, so no page waits for one behind another list's.
	cfg := configAt(t, counting.URL, "2024-11-28T00:00:00Z", `, "max_concurrency": 32`)
	res := runTap(t, t.Context(), "--config", cfg, "--catalog", selectAll(t, cfg, "issue_comments", "changelogs"))
	require.Equal(t, ExitOK, res.code, res.stderr)
	most := map[string]int{}
	for list, n := range peak {
		kind := list[strings.LastIndex(list, "/")+1:]
		most[kind] = max(most[kind], n)
	}
	assert.GreaterOrEqual(t, most["comment"], 2, "pages of one issue's comments in flight at once")
	assert.Zero(t, most["changelog"], "a changelog read on its own")
	assert.Positive(t, bulk.Load(), "changelogs read in bulk")
}

// TestTimeZoneAskedAlongsideServerInfo: a run that reads issues asks for
// the user's time zone while serverInfo is on the wire, not after it; a
// run that reads no issues does not ask at all.
func TestTimeZoneAskedAlongsideServerInfo(t *testing.T) {
	t.Parallel()
	s := newSite(t, jirasim.Cloud, "UTC", 50)
	url, myself, together := sentEarly(t, s, "/myself", "/serverInfo", 2*time.Second)
	cfg := configAt(t, url, "2025-11-28T00:00:00Z", "")
	res := runTap(t, t.Context(), "--config", cfg, "--catalog", selectAll(t, cfg, "issues"))
	require.Equal(t, ExitOK, res.code, res.stderr)
	assert.True(t, together.Load(), "/myself was on the wire while serverInfo was")
	assert.Equal(t, int64(1), myself.Load(), "asked once")

	myself.Store(0)
	res = runTap(t, t.Context(), "--config", cfg, "--catalog", selectAll(t, cfg, "projects"))
	require.Equal(t, ExitOK, res.code, res.stderr)
	assert.Zero(t, myself.Load(), "a run without issues does not ask")
}

// TestDeletedWorklogsReadAhead: with concurrency the deleted-worklog feed
// is read while worklogs are listed, not after them; a sequential run
// keeps one request after the other.
func TestDeletedWorklogsReadAhead(t *testing.T) {
	t.Parallel()
	s := newSite(t, jirasim.Cloud, "UTC", 200)
	for _, tc := range []struct {
		concurrency int
		ahead       bool
	}{{8, true}, {1, false}} {
		// The deleted feed comes at once when read ahead, never while
		// lists are still read.
		url, deleted, ahead := sentEarly(t, s, "/worklog/deleted", "/worklog/list", time.Second)
		cfg := configAt(t, url, "2025-11-28T00:00:00Z", fmt.Sprintf(`, "max_concurrency": %d`, tc.concurrency))
		res := runTap(t, t.Context(), "--config", cfg, "--catalog", selectAll(t, cfg, "worklogs"))
		require.Equal(t, ExitOK, res.code, res.stderr)
		assert.Equal(t, tc.ahead, ahead.Load(), "max_concurrency %d: deleted feed read before a worklog list answered", tc.concurrency)
		assert.Positive(t, deleted.Load())
	}
}

// TestBookmarkFollowsTheSiteClock: Jira stamps updated with its own clock,
// so the issues bookmark is capped by the site's clock at the run's start
// (serverInfo's serverTime), not by this machine's. Here the site's clock is
// days behind the machine's: capped by the machine's, the bookmark reached
// issues updated a minute before the run, and an issue updated during the
// run behind one already written (a minute's difference is enough) was
// never read again.
func TestBookmarkFollowsTheSiteClock(t *testing.T) {
	t.Parallel()
	for _, flavor := range []jirasim.Flavor{jirasim.Cloud, jirasim.DataCenter} {
		// Detected, the site's clock is serverInfo's serverTime; with
		// deployment_type set, serverInfo is not read and the Date of the
		// site's answers gives it.
		for _, deployment := range []string{"auto", map[jirasim.Flavor]string{jirasim.Cloud: "cloud", jirasim.DataCenter: "datacenter"}[flavor]} {
			t.Run(string(flavor)+"/"+deployment, func(t *testing.T) {
				t.Parallel()
				s := newSite(t, flavor, "UTC", 200)
				s.sim.Advance(time.Hour)
				m := s.sim.Mutate(5, 0)
				require.NotEmpty(t, m.Issues)
				touched := s.sim.Now().Truncate(time.Millisecond)
				s.sim.Advance(time.Minute)
				require.Greater(t, time.Since(s.sim.Now()), time.Hour, "the site's clock is behind this machine's")

				cfg := s.config(t, "2025-11-28T00:00:00Z", fmt.Sprintf(`, "deployment_type": %q`, deployment))
				res := runTap(t, t.Context(), "--config", cfg, "--catalog", selectAll(t, cfg, "issues"))
				require.Equal(t, ExitOK, res.code, res.stderr)
				out := parseOutput(t, res.stdout)
				ids, _ := keysOf(out.records["issues"], []string{"id"})
				assert.Subset(t, ids, m.Issues, "the issues updated a minute ago are written")
				bm, err := time.Parse(time.RFC3339, out.lastState["bookmarks"].(map[string]any)["issues"].(map[string]any)["updated"].(string))
				require.NoError(t, err)
				assert.True(t, bm.Before(touched), "bookmark %v stops short of the site's last five minutes (%v)", bm, touched)
				assert.Contains(t, res.stderr, "this machine's clock and the Jira site's differ")
			})
		}
	}
}

// TestProjectsRestrictWorklogs: the worklog feed is site-wide; with
// projects set, only the worklogs of issues in those projects are written.
// jql does not restrict them, and a warning says so.
func TestProjectsRestrictWorklogs(t *testing.T) {
	t.Parallel()
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, flavor := range []jirasim.Flavor{jirasim.Cloud, jirasim.DataCenter} {
		t.Run(string(flavor), func(t *testing.T) {
			t.Parallel()
			s := newSite(t, flavor, "UTC", 300)
			cfg := s.config(t, start.Format(time.RFC3339), `, "projects": "BETA, GAMMA", "jql": "created >= \"2020-01-01\""`)
			res := runTap(t, t.Context(), "--config", cfg, "--catalog", selectAll(t, cfg, "worklogs"))
			require.Equal(t, ExitOK, res.code, res.stderr)
			assert.Contains(t, res.stderr, "jql does not restrict worklogs", "a warning says what jql leaves")
			project := map[string]string{}
			for _, is := range s.sim.Data().Issues {
				project[fmt.Sprint(is.ID)] = is.Project.Key
			}
			var want []string
			all := s.sim.Truth().Expected(start)["worklogs"]
			for _, r := range s.sim.Truth().Streams["worklogs"] {
				if p := project[r.IssueID]; (p == "BETA" || p == "GAMMA") && slices.Contains(all, r.Key[0]) {
					want = append(want, r.Key[0])
				}
			}
			slices.Sort(want)
			require.NotEmpty(t, want)
			require.Greater(t, len(all), len(want), "other projects have worklogs")
			got, _ := keysOf(parseOutput(t, res.stdout).records["worklogs"], keyProps["worklogs"])
			assert.Equal(t, want, got)
		})
	}
}
