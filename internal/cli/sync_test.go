package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
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
	frozen := time.Now()
	sim := jirasim.New(jirasim.Options{
		Flavor: flavor, TZ: loc, Email: "sim@example.com", Token: "sim-token",
		Gen:   jirasim.GenOptions{Seed: 11, Issues: issues, Projects: 3, Users: 30, Now: syncNow},
		Clock: func() time.Time { return frozen },
	})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return &site{sim: sim, url: srv.URL}
}

func (s *site) config(t *testing.T, startDate string, extra string) string {
	return writeFile(t, "config.json", fmt.Sprintf(`{"base_url": %q, "username": "sim@example.com", "password": "sim-token",
		"start_date": %q, "user_agent": "tap-jira-test"%s}`, s.url, startDate, extra))
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
	records   map[string][]map[string]any
	lastState map[string]any
	raw       string
}

func parseOutput(t *testing.T, stdout string) output {
	t.Helper()
	out := output{records: map[string][]map[string]any{}, raw: stdout}
	sc := bufio.NewScanner(strings.NewReader(stdout))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var msg struct {
			Type   string         `json:"type"`
			Stream string         `json:"stream"`
			Record map[string]any `json:"record"`
			Value  map[string]any `json:"value"`
		}
		require.NoError(t, json.Unmarshal(sc.Bytes(), &msg), "not a JSON line: %.200s", sc.Text())
		switch msg.Type {
		case "RECORD":
			out.records[msg.Stream] = append(out.records[msg.Stream], msg.Record)
		case "STATE":
			out.lastState = msg.Value
		}
	}
	require.NoError(t, sc.Err())
	return out
}

var keyProps = map[string][]string{
	"projects": {"id"}, "versions": {"id"}, "components": {"id"}, "project_types": {"key"},
	"project_categories": {"id"}, "resolutions": {"id"}, "roles": {"id"}, "users": {"accountId"},
	"issues": {"id"}, "issue_comments": {"id"}, "changelogs": {"id"}, "issue_transitions": {"id", "issueId"},
	"worklogs": {"id"},
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
			// the traps were in range
			counts := map[string]int{}
			for _, r := range out.records["issue_comments"] {
				counts[fmt.Sprint(r["issueId"])]++
			}
			maxComments := 0
			for _, n := range counts {
				maxComments = max(maxComments, n)
			}
			assert.Greater(t, maxComments, 150, "an issue with more than 150 comments was synced whole")
			assert.Empty(t, out.lastState["currently_syncing"])
			singertest.Check(t, "sync", "--messages", writeFile(t, "out.jsonl", res.stdout), "--catalog", catalog)
		})
	}
}

func TestIncrementalSync(t *testing.T) {
	t.Parallel()
	s := newSite(t, jirasim.Cloud, "Asia/Kolkata", 300)
	cfg := s.config(t, "2025-11-28T00:00:00Z", `, "lookback_minutes": 0`)
	catalog := selectAll(t, cfg, "issues", "worklogs", "changelogs")
	first := runTap(t, t.Context(), "--config", cfg, "--catalog", catalog)
	require.Equal(t, ExitOK, first.code, first.stderr)
	state1 := parseOutput(t, first.stdout).lastState

	// Change things, and let the clock pass the worklog feed's minute.
	s.sim.Advance(10 * time.Minute)
	m := s.sim.Mutate(5, 3)
	s.sim.Advance(2 * time.Minute)
	stateFile := writeFile(t, "state.json", mustJSON(t, state1))
	second := runTap(t, t.Context(), "--config", cfg, "--catalog", catalog, "--state", stateFile)
	require.Equal(t, ExitOK, second.code, second.stderr)
	out2 := parseOutput(t, second.stdout)
	gotIssues, _ := keysOf(out2.records["issues"], []string{"id"})
	for _, id := range m.Issues {
		assert.Contains(t, gotIssues, id, "a changed issue is synced again")
	}
	gotWorklogs, _ := keysOf(out2.records["worklogs"], []string{"id"})
	for _, id := range m.Worklogs {
		assert.Contains(t, gotWorklogs, id, "a changed worklog is synced again")
	}
	// Only the changed ones plus the boundary minute come back.
	assert.LessOrEqual(t, len(gotIssues), len(m.Issues)+len(m.Worklogs)+3)

	third := runTap(t, t.Context(), "--config", cfg, "--catalog", catalog, "--state", writeFile(t, "state.json", mustJSON(t, parseOutput(t, second.stdout).lastState)))
	require.Equal(t, ExitOK, third.code, third.stderr)
	out3 := parseOutput(t, third.stdout)
	assert.LessOrEqual(t, len(out3.records["issues"]), len(m.Issues)+len(m.Worklogs), "a run without changes re-reads at most the boundary minute")
	singertest.Check(t, "sync", "--messages", writeFile(t, "out.jsonl", third.stdout), "--catalog", catalog, "--state-in", stateFile)
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}
