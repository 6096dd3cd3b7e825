package cli

import (
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tap-jira/tap-jira/internal/jirasim"
)

// TestFullSyncRequestsNearTheMinimum is the request target of the
// performance work: a first sync of every stream makes no more than 5%
// more requests than the fewest the endpoints allow, the same at any
// max_concurrency. The fewest are worked out here from the site's data,
// not from what the tap did: a change that reads issues by smaller pages,
// fetches a child list per issue where a batch would do, or pages a list
// it need not, fails it. The site has more than 5000 issues in scope, so
// the Cloud id search takes two pages.
func TestFullSyncRequestsNearTheMinimum(t *testing.T) {
	t.Parallel()
	const start = "2024-01-01T00:00:00Z"
	startT, err := time.Parse(time.RFC3339, start)
	require.NoError(t, err)
	for _, flavor := range []jirasim.Flavor{jirasim.Cloud, jirasim.DataCenter} {
		t.Run(string(flavor), func(t *testing.T) {
			t.Parallel()
			s := startSite(t, jirasim.Options{Flavor: flavor, TZ: time.UTC,
				Gen: jirasim.GenOptions{Seed: 11, Issues: 6000, Projects: 4, Users: 30}})
			least := fewestRequests(t, s.sim, startT)
			issues := least.issues
			require.Greater(t, issues, 5000, "the id search takes more than one page")
			var sequential map[string]int
			for _, conc := range []int{1, 8} {
				cfg := s.config(t, start, fmt.Sprintf(`, "max_concurrency": %d`, conc))
				catalog := selectAll(t, cfg)
				s.sim.ResetStats()
				res := runTap(t, t.Context(), "--config", cfg, "--catalog", catalog)
				require.Equal(t, ExitOK, res.code, res.stderr)
				made := map[string]int{}
				for route, byStatus := range s.sim.Stats() {
					for _, n := range byStatus {
						made[route] += int(n)
					}
				}
				total := 0
				for _, n := range made {
					total += n
				}
				t.Logf("max_concurrency %d: %d requests for %d issues, the fewest %d", conc, total, issues, least.total())
				called := slices.Collect(maps.Keys(least.routes))
				if flavor == jirasim.Cloud {
					called = append(called, "POST /rest/api/2/search/jql") // the id search
				}
				assert.ElementsMatch(t, called, slices.Collect(maps.Keys(made)), "the endpoints called")
				assert.LessOrEqual(t, float64(total), 1.05*float64(least.total()), "requests within 5%% of the fewest: %v against %v", made, least.routes)
				// Each list that grows with the issues, as few as it can be.
				for _, route := range least.exact {
					assert.Equal(t, least.routes[route], made[route], route)
				}
				// Comment pages overlap by one, to notice a list that moved.
				assert.LessOrEqual(t, made["GET /rest/api/2/issue/{id}/comment"], least.commentPages, "comment pages of 100, overlapping by one")
				if flavor == jirasim.Cloud {
					// The id search is one page per 5000 ids, each page after
					// the first costing one small bulkfetch to keep its place.
					pages := (issues + 4999) / 5000
					assert.Equal(t, pages, made["POST /rest/api/2/search/jql"], "id search pages")
					assert.Equal(t, least.routes["POST /rest/api/2/issue/bulkfetch"]+pages-1, made["POST /rest/api/2/issue/bulkfetch"], "bulkfetch batches of 100, and one per id page after the first")
					// A sequential run makes the same requests. (Data Center
					// sizes the pages not yet asked for by the weight of the
					// last one read, and in parallel more are asked for
					// before one is read: a page more or less.)
					if sequential == nil {
						sequential = made
					} else {
						assert.Equal(t, sequential, made, "the same requests at 1 and 8 in flight")
					}
				}
			}
		})
	}
}

// fewest is the fewest requests per route a first sync of every stream
// needs; exact lists the routes the tap is held to exactly.
type fewest struct {
	routes map[string]int
	exact  []string
	issues int
	// commentPages is the comment pages of 100 when each page after the
	// first starts on the last comment of the page before.
	commentPages int
}

func (f fewest) total() int {
	n := 0
	for _, v := range f.routes {
		n += v
	}
	return n
}

// fewestRequests works out, from the site's data, the fewest requests a
// full sync of every stream from start needs, with the page sizes the
// endpoints allow:
//   - one GET each for the site's type and clock (serverInfo), the user's
//     time zone (myself), roles, resolutions, project categories and types;
//   - projects by pages of 100 (Data Center: one list); each project's
//     versions by pages of 50, its components likewise on Cloud and in one
//     list on Data Center; users by pages of 1000, then the empty page
//     that is the only sure end of that list;
//   - issues by search pages of 100 whole issues, what the Cloud id
//     search and its bulkfetch batches are measured against;
//   - the comments of each issue whose embedded 20 were cut short, by
//     pages of 100 (the tap's pages overlap by one: held to that); the changelogs cut short (40 embedded on Cloud, 100 in
//     a Data Center search) by one Cloud /changelog/bulkfetch per 1000
//     issues and 5000 entries, or one Data Center GET of the issue each;
//   - the worklog feed by pages of 1000 ids (at least one), each page's
//     worklogs by one /worklog/list, and one page of deleted worklogs.
func fewestRequests(t *testing.T, sim *jirasim.Server, start time.Time) fewest {
	t.Helper()
	data := sim.Data()
	truth := sim.Truth()
	want := truth.Expected(start)
	inScope := map[string]bool{}
	for _, k := range want["issues"] {
		inScope[k] = true
	}
	pages := func(n, size int) int { return max(1, (n+size-1)/size) }
	cloud := sim.Flavor() == jirasim.Cloud
	r := map[string]int{}
	const api = "/rest/api/2/"
	for _, p := range []string{"serverInfo", "myself", "role", "resolution", "projectCategory", "project/type"} {
		r["GET "+api+p] = 1
	}
	for _, p := range data.Projects {
		r["GET "+api+"project/{id}/version"] += pages(len(p.Versions), 50)
		if cloud {
			r["GET "+api+"project/{id}/component"] += pages(len(p.Components), 50)
		} else {
			r["GET "+api+"project/{id}/components"]++
		}
	}
	users := pages(len(data.Users), 1000) + 1 // the last page empty
	if cloud {
		r["GET "+api+"project/search"] = pages(len(data.Projects), 100)
		r["GET "+api+"users/search"] = users
	} else {
		r["GET "+api+"project"] = 1
		r["GET "+api+"user/search"] = users
	}
	issues := len(inScope)
	search := "POST " + api + "search"
	if cloud {
		search = "POST " + api + "issue/bulkfetch" // measured against, see above
	}
	r[search] = pages(issues, 100)
	embedded := 100
	if cloud {
		embedded = 40
	}
	var cutIssues, cutEntries, commentPages int
	for _, is := range data.Issues {
		if !inScope[fmt.Sprint(is.ID)] {
			continue
		}
		if len(is.Comments) > 20 {
			r["GET "+api+"issue/{id}/comment"] += pages(len(is.Comments), 100)
			commentPages += pages(len(is.Comments)-1, 99)
		}
		if len(is.Histories) > embedded {
			cutIssues++
			cutEntries += len(is.Histories)
			if !cloud {
				r["GET "+api+"issue/{id}"]++
			}
		}
	}
	if cloud && cutIssues > 0 {
		r["POST "+api+"changelog/bulkfetch"] = max(pages(cutIssues, 1000), pages(cutEntries, 5000))
	}
	worklogs := len(want["worklogs"])
	r["GET "+api+"worklog/updated"] = pages(worklogs, 1000)
	if worklogs > 0 {
		r["POST "+api+"worklog/list"] = (worklogs + 999) / 1000
	}
	r["GET "+api+"worklog/deleted"] = pages(len(data.DeletedWorklogs), 1000)
	exact := []string{"GET " + api + "worklog/updated", "POST " + api + "worklog/list", "GET " + api + "worklog/deleted"}
	if cloud {
		exact = append(exact, "POST "+api+"changelog/bulkfetch")
	} else {
		exact = append(exact, "GET "+api+"issue/{id}")
	}
	for _, route := range append(exact, "GET "+api+"issue/{id}/comment") {
		require.Positive(t, r[route], "the site exercises %s", route)
	}
	return fewest{routes: r, exact: exact, issues: issues, commentPages: commentPages}
}
