package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
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
	"github.com/tap-jira/tap-jira/internal/singer/singertest"
)

// deselect marks a field of a stream as not selected in a catalog file.
func deselect(t *testing.T, catalog, stream, field string) string {
	t.Helper()
	var cat map[string]any
	require.NoError(t, jsonUnmarshalFile(catalog, &cat))
	found := false
	for _, s := range cat["streams"].([]any) {
		sm := s.(map[string]any)
		if sm["tap_stream_id"] != stream {
			continue
		}
		for _, m := range sm["metadata"].([]any) {
			mm := m.(map[string]any)
			if bc := mm["breadcrumb"].([]any); len(bc) == 2 && bc[1] == field {
				mm["metadata"].(map[string]any)["selected"] = false
				found = true
			}
		}
	}
	require.True(t, found, "%s.%s is in the catalog", stream, field)
	return writeFile(t, "catalog.json", mustJSON(t, cat))
}

// TestStatusHistoryEqualsGroundTruth compares every issue_status_history
// record, content included, with the simulator's changelogs, on both
// flavors, with and without the changelogs stream (whose field selection
// must not leak into the status records).
func TestStatusHistoryEqualsGroundTruth(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		flavor jirasim.Flavor
		with   bool // changelogs selected too, with its items deselected
	}{
		{"cloud alone", jirasim.Cloud, false},
		{"cloud with changelogs", jirasim.Cloud, true},
		{"datacenter alone", jirasim.DataCenter, false},
		{"datacenter with changelogs", jirasim.DataCenter, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newSite(t, tc.flavor, "Europe/Berlin", 600)
			start := "2025-11-28T00:00:00Z"
			cfg := s.config(t, start, "")
			catalog := selectAll(t, cfg, "issue_status_history")
			if tc.with {
				catalog = deselect(t, selectAll(t, cfg, "issue_status_history", "changelogs"), "changelogs", "items")
			}
			res := runTap(t, t.Context(), "--config", cfg, "--catalog", catalog)
			require.Equal(t, ExitOK, res.code, res.stderr)
			out := parseOutput(t, res.stdout)
			startT, _ := time.Parse(time.RFC3339, start)
			truth := s.sim.Truth()

			got, dups := keysOf(out.records["issue_status_history"], keyProps["issue_status_history"])
			assert.Equal(t, truth.ExpectedStatusHistory(startT), got)
			assert.Zero(t, dups)
			assert.Empty(t, out.records["issues"], "the parent is read, not emitted")
			if tc.with {
				assert.NotEmpty(t, out.records["changelogs"])
				assert.NotContains(t, out.records["changelogs"][0], "items", "deselected")
			}

			byKey := map[string]jirasim.TruthStatus{}
			for _, r := range truth.StatusHistory {
				byKey[strings.Join(r.Key, "/")] = *r.Status
			}
			perIssue := map[string]int{}
			for _, r := range out.records["issue_status_history"] {
				k := fmt.Sprint(r["issueId"]) + "/" + fmt.Sprint(r["changelogId"])
				want, ok := byKey[k]
				require.True(t, ok, k)
				from, _ := r["from"].(string)
				assert.Equal(t, want, jirasim.TruthStatus{From: from, To: fmt.Sprint(r["to"]),
					Created: fmt.Sprint(r["created"]), Author: fmt.Sprint(r["authorAccountId"])}, k)
				assert.Equal(t, r["changelogId"] == "0", r["initial"], k)
				assert.NotEmpty(t, r["toString"], k)
				assert.NotEmpty(t, r["issueKey"], k)
				perIssue[fmt.Sprint(r["issueId"])]++
			}
			// The trap was in range: an issue whose changelog Jira truncated
			// in the search response (40 histories).
			truncated := false
			for _, is := range s.sim.Data().Issues {
				if len(is.Histories) > 40 && !is.Updated.Before(startT) && perIssue[strconv.Itoa(is.ID)] > 0 {
					truncated = true
				}
			}
			assert.True(t, truncated, "an issue with a truncated changelog was synced")
			singertest.Check(t, "sync", "--messages", writeFile(t, "out.jsonl", res.stdout), "--catalog", catalog)
		})
	}
}

// TestWorklogDeletes: the deleted-worklog feed is read after the updated
// feed; a deletion shows up once the feed releases it (a minute later),
// exactly once, as a worklogs record with _sdc_deleted_at.
func TestWorklogDeletes(t *testing.T) {
	t.Parallel()
	for _, flavor := range []jirasim.Flavor{jirasim.Cloud, jirasim.DataCenter} {
		t.Run(string(flavor), func(t *testing.T) {
			t.Parallel()
			s := newSite(t, flavor, "America/Los_Angeles", 300)
			start := "2025-11-28T00:00:00Z"
			startT, _ := time.Parse(time.RFC3339, start)
			cfg := s.config(t, start, "")
			catalog := selectAll(t, cfg, "worklogs")
			run := func(state map[string]any) (output, string) {
				t.Helper()
				args := []string{"--config", cfg, "--catalog", catalog}
				stateFile := ""
				if state != nil {
					stateFile = writeFile(t, "state.json", mustJSON(t, state))
					args = append(args, "--state", stateFile)
				}
				res := runTap(t, t.Context(), args...)
				require.Equal(t, ExitOK, res.code, res.stderr)
				return parseOutput(t, res.stdout), stateFile
			}
			deletedKeys := func(o output) []string {
				keys, dups := keysOf(o.deleted["worklogs"], []string{"id"})
				assert.Zero(t, dups, "a deletion is emitted once per run")
				for _, r := range o.deleted["worklogs"] {
					assert.Equal(t, r["updated"], r["_sdc_deleted_at"])
					assert.NotContains(t, r, "issueId", "nothing is invented")
				}
				return keys
			}

			// First run: the site's past deletions since start_date.
			first, _ := run(nil)
			want := s.sim.Truth().ExpectedDeleted(startT)["worklogs"]
			require.NotEmpty(t, want)
			assert.Equal(t, want, deletedKeys(first))
			live, _ := keysOf(first.records["worklogs"], []string{"id"})
			for _, k := range want {
				assert.NotContains(t, live, k, "a deleted worklog is not a live record")
			}

			// Deletions within the last minute are held back.
			s.sim.Advance(10 * time.Minute)
			del := s.sim.Delete(nil, 3)
			require.Len(t, del.Worklogs, 3)
			second, _ := run(first.lastState)
			for _, id := range del.Worklogs {
				assert.NotContains(t, deletedKeys(second), id, "the feed holds back the last minute")
			}
			bm := second.lastState["bookmarks"].(map[string]any)["worklogs"].(map[string]any)
			deletedAt, err := time.Parse(time.RFC3339, bm["deleted"].(string))
			require.NoError(t, err)
			assert.True(t, deletedAt.Before(s.sim.Now().Add(-time.Minute)), "the bookmark does not cover them")

			// A minute later they come, once, with the deletion time.
			s.sim.Advance(2 * time.Minute)
			third, stateFile := run(second.lastState)
			got := deletedKeys(third)
			for _, id := range del.Worklogs {
				assert.Contains(t, got, id)
			}
			for _, r := range third.deleted["worklogs"] {
				if slices.Contains(del.Worklogs, r["id"].(string)) {
					at, err := time.Parse(time.RFC3339, r["_sdc_deleted_at"].(string))
					require.NoError(t, err)
					assert.WithinDuration(t, s.sim.Now().Add(-2*time.Minute), at, time.Second)
				}
			}
			// The feed's since is inclusive: like the updated feed, the next
			// run re-reads only the bookmark's millisecond.
			bm = third.lastState["bookmarks"].(map[string]any)["worklogs"].(map[string]any)
			boundary, err := time.Parse(time.RFC3339, bm["deleted"].(string))
			require.NoError(t, err)
			fourth, _ := run(third.lastState)
			deletedKeys(fourth)
			for _, r := range fourth.deleted["worklogs"] {
				at, err := time.Parse(time.RFC3339, r["_sdc_deleted_at"].(string))
				require.NoError(t, err)
				assert.True(t, at.Equal(boundary), "only the boundary millisecond is read again: %v", r)
			}
			res := runTap(t, t.Context(), "--config", cfg, "--catalog", catalog, "--state", stateFile)
			singertest.Check(t, "sync", "--messages", writeFile(t, "out.jsonl", res.stdout), "--catalog", catalog, "--state-in", stateFile)
		})
	}
}

// TestIssueDeletes runs twice with issues deleted between the runs.
func TestIssueDeletes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		flavor    jirasim.Flavor
		reconcile bool
		// second is the config the second run uses instead of the first's.
		second string
		// wantDeleted: the deleted issues are reported.
		wantDeleted bool
	}{
		{"cloud", jirasim.Cloud, true, "", true},
		{"datacenter", jirasim.DataCenter, true, "", true},
		{"off", jirasim.Cloud, false, "", false},
		{"project filter changed", jirasim.Cloud, true, `, "projects": "ALPHA"`, false},
		{"datacenter jql changed", jirasim.DataCenter, true, `, "jql": "created >= \"2020-01-01\""`, false},
		// Older issues leave the scan's range but still exist: checked one
		// by one, they are not deletions; the deleted ones still are.
		{"later start_date", jirasim.DataCenter, true, `, "start_date": "2026-06-01T00:00:00Z"`, true},
		{"cloud later start_date", jirasim.Cloud, true, `, "start_date": "2026-06-01T00:00:00Z"`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newSite(t, tc.flavor, "Asia/Kolkata", 300)
			start := "2025-11-28T00:00:00Z"
			extra := fmt.Sprintf(`, "reconcile_deleted_issues": %t`, tc.reconcile)
			cfg := s.config(t, start, extra)
			catalog := selectAll(t, cfg, "issues", "worklogs")
			first := runTap(t, t.Context(), "--config", cfg, "--catalog", catalog)
			require.Equal(t, ExitOK, first.code, first.stderr)
			out1 := parseOutput(t, first.stdout)
			assert.Empty(t, out1.deleted["issues"], "nothing is remembered on a first run")
			known, hasKnown := out1.lastState["bookmarks"].(map[string]any)["issues"].(map[string]any)["known_ids"]
			assert.Equal(t, tc.reconcile, hasKnown, "known_ids: %v", known)

			// Delete two recently updated issues of project ALPHA, which
			// every scope of this test includes.
			var victims []int
			for _, is := range slices.Backward(s.sim.Data().Issues) {
				if is.Project.Key == "ALPHA" && is.Updated.After(time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)) && len(victims) < 2 {
					victims = append(victims, is.ID)
				}
			}
			require.Len(t, victims, 2)
			s.sim.Advance(10 * time.Minute)
			del := s.sim.Delete(victims, 0)
			s.sim.Advance(2 * time.Minute)

			cfg2 := cfg
			if tc.second != "" {
				cfg2 = writeFile(t, "config2.json", strings.Replace(readFile(t, cfg), "}", tc.second+"}", 1))
				if strings.Contains(tc.second, "start_date") {
					cfg2 = s.config(t, "2026-06-01T00:00:00Z", extra)
				}
			}
			stateFile := writeFile(t, "state.json", mustJSON(t, out1.lastState))
			second := runTap(t, t.Context(), "--config", cfg2, "--catalog", catalog, "--state", stateFile)
			require.Equal(t, ExitOK, second.code, second.stderr)
			out2 := parseOutput(t, second.stdout)
			got, dups := keysOf(out2.deleted["issues"], []string{"id"})
			assert.Zero(t, dups)
			if tc.wantDeleted {
				startT, _ := time.Parse(time.RFC3339, start)
				assert.Equal(t, s.sim.Truth().ExpectedDeleted(startT)["issues"], got)
				assert.ElementsMatch(t, del.Issues, got)
				for _, r := range out2.deleted["issues"] {
					assert.Equal(t, r["updated"], r["_sdc_deleted_at"])
				}
			} else {
				assert.Empty(t, got, "no deletion is reported")
			}
			// The deleted issues' worklogs are deleted too.
			gotWl, _ := keysOf(out2.deleted["worklogs"], []string{"id"})
			for _, id := range del.Worklogs {
				assert.Contains(t, gotWl, id)
			}

			// Reported once: a third run finds nothing new.
			stateFile2 := writeFile(t, "state.json", mustJSON(t, out2.lastState))
			third := runTap(t, t.Context(), "--config", cfg2, "--catalog", catalog, "--state", stateFile2)
			require.Equal(t, ExitOK, third.code, third.stderr)
			out3 := parseOutput(t, third.stdout)
			assert.Empty(t, out3.deleted["issues"], "a deletion is reported once")
			singertest.Check(t, "sync", "--messages", writeFile(t, "out.jsonl", second.stdout), "--catalog", catalog, "--state-in", stateFile)
		})
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

func jsonUnmarshalFile(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// TestDeselectedDeletedAtOptsOut: without _sdc_deleted_at a deletion record
// would be an upsert emptying the row, so deselecting it means no deletion
// records at all.
func TestDeselectedDeletedAtOptsOut(t *testing.T) {
	t.Parallel()
	s := newSite(t, jirasim.Cloud, "UTC", 100)
	cfg := s.config(t, "2025-11-28T00:00:00Z", "")
	for _, tc := range []struct {
		name     string
		catalog  string
		deletion bool
	}{
		{"selected", selectAll(t, cfg, "worklogs"), true},
		{"deselected", deselect(t, selectAll(t, cfg, "worklogs"), "worklogs", "_sdc_deleted_at"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := runTap(t, t.Context(), "--config", cfg, "--catalog", tc.catalog)
			require.Equal(t, ExitOK, res.code, res.stderr)
			out := parseOutput(t, res.stdout)
			assert.Equal(t, tc.deletion, len(out.deleted["worklogs"]) > 0)
			for _, r := range out.records["worklogs"] {
				assert.Contains(t, r, "author", "only live worklogs: %v", r)
			}
		})
	}
}

// TestIssueDeletesAfterARunStoppedBeforeItsScan: a run that emits issues
// new to the scope and then stops before its deletion scan must leave their
// ids in the last STATE a target got, so that the next run reports one
// deleted meanwhile: its scan cannot find it, and only the remembered ids
// say it was ever emitted. The run stops two ways: its scan fails, after
// every page's STATE; or it is killed right after the issue's record,
// before its page's STATE. Remembered only by the scan, or only in the
// page's STATE, the ids were lost, and the warehouse kept the deleted
// issue for good.
func TestIssueDeletesAfterARunStoppedBeforeItsScan(t *testing.T) {
	t.Parallel()
	for _, flavor := range []jirasim.Flavor{jirasim.Cloud, jirasim.DataCenter} {
		for _, killed := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/killed=%v", flavor, killed), func(t *testing.T) {
				t.Parallel()
				s := newSite(t, flavor, "UTC", 300)
				var failScan atomic.Bool
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					body, err := io.ReadAll(r.Body)
					require.NoError(t, err)
					r.Body = io.NopCloser(bytes.NewReader(body))
					q, _ := url.QueryUnescape(r.URL.RawQuery)
					if failScan.Load() && strings.Contains(string(body)+q, "ORDER BY id ASC") {
						w.Header().Set("Content-Type", "application/json")
						w.WriteHeader(http.StatusBadRequest)
						_, _ = io.WriteString(w, `{"errorMessages":["the scan fails this time"]}`)
						return
					}
					s.sim.ServeHTTP(w, r)
				}))
				t.Cleanup(srv.Close)
				start := "2025-11-28T00:00:00Z"
				startT, _ := time.Parse(time.RFC3339, start)
				cfg := configAt(t, srv.URL, start, `, "reconcile_deleted_issues": true, "page_size": 10`)
				catalog := selectAll(t, cfg, "issues")
				first := runTap(t, t.Context(), "--config", cfg, "--catalog", catalog)
				require.Equal(t, ExitOK, first.code, first.stderr)

				// Issues older than start_date are updated: new to the scope.
				old := map[int]bool{}
				for _, is := range s.sim.Data().Issues {
					if is.Updated.Before(startT) {
						old[is.ID] = true
					}
				}
				s.sim.Advance(10 * time.Minute)
				var entered []int
				for _, id := range s.sim.Mutate(60, 0).Issues {
					if n, _ := strconv.Atoi(id); old[n] {
						entered = append(entered, n)
					}
				}
				require.NotEmpty(t, entered, "some issues entered the scope")
				victim := strconv.Itoa(entered[0])
				s.sim.Advance(10 * time.Minute)

				args := []string{"--config", cfg, "--catalog", catalog,
					"--state", writeFile(t, "state.json", mustJSON(t, parseOutput(t, first.stdout).lastState))}
				var lastState map[string]any
				if killed {
					// What a target got up to the victim's record, and the
					// kill.
					res := runTapSignalledAt(t, syscall.SIGKILL, func(_ int, line []byte) bool {
						var msg struct {
							Stream string         `json:"stream"`
							Record map[string]any `json:"record"`
						}
						require.NoError(t, json.Unmarshal(line, &msg))
						return msg.Stream == "issues" && msg.Record["id"] == victim
					}, args...)
					require.True(t, res.signalled, "the run ended before emitting issue %s", victim)
					lastState = parseOutput(t, res.upTo).lastState
				} else {
					failScan.Store(true)
					second := runTap(t, t.Context(), args...)
					failScan.Store(false)
					require.Equal(t, ExitRuntime, second.code, second.stderr)
					require.Contains(t, second.stderr, "the scan fails this time")
					out2 := parseOutput(t, second.stdout)
					ids, _ := keysOf(out2.records["issues"], []string{"id"})
					require.Contains(t, ids, victim, "the stopped run emitted the issue new to the scope")
					lastState = out2.lastState
				}
				require.NotNil(t, lastState)

				s.sim.Advance(10 * time.Minute)
				s.sim.Delete([]int{entered[0]}, 0)
				s.sim.Advance(10 * time.Minute)
				third := runTap(t, t.Context(), "--config", cfg, "--catalog", catalog,
					"--state", writeFile(t, "state.json", mustJSON(t, lastState)))
				require.Equal(t, ExitOK, third.code, third.stderr)
				got, _ := keysOf(parseOutput(t, third.stdout).deleted["issues"], []string{"id"})
				assert.Equal(t, []string{victim}, got, "the issue the stopped run emitted, deleted since, is reported")
			})
		}
	}
}
