package jirasim

import (
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDelete removes issues and worklogs through /__sim/delete and checks
// every endpoint and the ground truth agree.
func TestDelete(t *testing.T) {
	t.Parallel()
	for _, flavor := range []Flavor{Cloud, DataCenter} {
		t.Run(string(flavor), func(t *testing.T) {
			t.Parallel()
			c := newSim(t, flavor, "UTC", 200, Faults{})
			before := c.sim.Truth()
			var victim *Issue
			for _, is := range c.sim.Data().Issues {
				if len(is.Worklogs) > 0 {
					victim = is
					break
				}
			}
			require.NotNil(t, victim)
			id := strconv.Itoa(victim.ID)
			var d Deletion
			c.json(http.MethodPost, "/__sim/delete", map[string]any{"issues": []int{victim.ID, 1}, "worklogs": 2}, &d)
			assert.Equal(t, []string{id}, d.Issues, "unknown ids are ignored")
			assert.Len(t, d.Worklogs, 2+len(victim.Worklogs))

			status, _, _ := c.do(http.MethodGet, "/rest/api/2/issue/"+id+"?fields=id", nil)
			assert.Equal(t, http.StatusNotFound, status)
			after := c.sim.Truth()
			assert.Len(t, after.Streams["issues"], len(before.Streams["issues"])-1)
			assert.Len(t, after.Streams["worklogs"], len(before.Streams["worklogs"])-len(d.Worklogs))
			for _, r := range after.StatusHistory {
				assert.NotEqual(t, id, r.IssueID, "a deleted issue has no history")
			}
			deletedIssues := after.ExpectedDeleted(time.Time{})["issues"]
			assert.Equal(t, []string{id}, deletedIssues)

			// The feed releases the deletions after a minute, with their time.
			var feed struct {
				Values []struct {
					WorklogID   int   `json:"worklogId"`
					UpdatedTime int64 `json:"updatedTime"`
				} `json:"values"`
			}
			since := strconv.FormatInt(c.sim.Now().Add(-time.Second).UnixMilli(), 10)
			c.get("/rest/api/2/worklog/deleted?since="+since, &feed)
			assert.Empty(t, feed.Values, "the last minute is held back")
			c.sim.Advance(2 * time.Minute)
			c.get("/rest/api/2/worklog/deleted?since="+since, &feed)
			var got []string
			for _, v := range feed.Values {
				got = append(got, strconv.Itoa(v.WorklogID))
			}
			assert.ElementsMatch(t, d.Worklogs, got)
			want := c.sim.Truth().ExpectedDeleted(time.Time{})["worklogs"]
			for _, w := range d.Worklogs {
				assert.True(t, slices.Contains(want, w), "truth lists deleted worklog %s", w)
			}
			var list []map[string]any
			c.json(http.MethodPost, "/rest/api/2/worklog/list", map[string]any{"ids": d.Worklogs}, &list)
			assert.Empty(t, list, "deleted worklogs are gone")
		})
	}
}

func TestStatusTruthStartsWithTheInitialStatus(t *testing.T) {
	t.Parallel()
	c := newSim(t, Cloud, "UTC", 200, Faults{})
	byIssue := map[string][]TruthRecord{}
	for _, r := range c.sim.Truth().StatusHistory {
		byIssue[r.IssueID] = append(byIssue[r.IssueID], r)
	}
	require.Len(t, byIssue, len(c.sim.Data().Issues))
	for _, is := range c.sim.Data().Issues {
		recs := byIssue[strconv.Itoa(is.ID)]
		require.NotEmpty(t, recs)
		assert.Equal(t, "0", recs[0].Key[1])
		assert.Empty(t, recs[0].Status.From)
		for i := 1; i < len(recs); i++ {
			assert.Equal(t, recs[i-1].Status.To, recs[i].Status.From, "issue %d: each change starts where the last ended", is.ID)
		}
		assert.Equal(t, statusIDs[is.Status], recs[len(recs)-1].Status.To, "issue %d ends in its status", is.ID)
	}
}
