package jira

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tap-jira/tap-jira/internal/jsonscan"
)

// testTransition is a transition as Jira writes one in an issue, over
// cacheKey bytes before its name.
func testTransition(id, name string) string {
	return `{"id":"` + id + `","isGlobal":true,"hasScreen":false,"isInitial":false,"isAvailable":true,"isConditional":false,"looped":false,` +
		`"expand":"` + strings.Repeat("x", 100) + `","name":"` + name + `","to":{"self":"https://example.atlassian.net/rest/api/2/status/3","id":"3"}}`
}

// issuesWith is a page of n issues, each with transitions ts.
func issuesWith(n int, ts ...string) []byte {
	issue := `{"id":"1","fields":{"summary":"` + strings.Repeat("s", 300) + `"},"transitions":[` + strings.Join(ts, ",") + `]}`
	return []byte(`{"issues":[` + strings.TrimSuffix(strings.Repeat(issue+",", n), ",") + `]}`)
}

func transitionsOf(t *testing.T, v any) [][]map[string]any {
	t.Helper()
	var out [][]map[string]any
	for _, is := range v.(map[string]any)["issues"].([]any) {
		var ts []map[string]any
		for _, tr := range is.(map[string]any)["transitions"].([]any) {
			ts = append(ts, tr.(map[string]any))
		}
		out = append(out, ts)
	}
	return out
}

// TestRepeatedObjectsAreClones: a transition met on issue after issue
// of a page is read once, then cloned from the map that reading gave;
// every issue gets a map of its own, so what a stream adds to one
// (its issue's id) or deletes from one reaches no other. A transition that
// only starts like a cached one is read for itself.
func TestRepeatedObjectsAreClones(t *testing.T) {
	t.Parallel()
	a, b := testTransition("11", "To Do"), testTransition("21", "In Progress")
	longer := strings.TrimSuffix(a, "}") + `,"fields":{"x":1}}`
	page := issuesWith(100, a, b, longer)
	require.Greater(t, len(page), minCachedDoc)
	v, err := decodeShaped(page, true, IssuePage)
	require.NoError(t, err)
	issues := transitionsOf(t, v)
	require.Len(t, issues, 100)
	name := func(i, j int) unsafe.Pointer { return unsafe.Pointer(unsafe.StringData(issues[i][j]["name"].(string))) }
	at := unsafe.Pointer(unsafe.SliceData(page[bytes.Index(page, []byte(`"To Do"`))+1:]))
	assert.Equal(t, at, name(0, 0), "the reading's name is a view of the page")
	for i := 1; i < len(issues); i++ {
		assert.Equal(t, name(0, 0), name(i, 0), "issue %d: a clone of the reading", i)
		assert.Equal(t, name(0, 1), name(i, 1), "issue %d", i)
	}
	for _, i := range []int{0, 5} {
		issues[i][0]["issueId"] = "5"
		delete(issues[i][1], "name")
	}
	for i, ts := range issues {
		require.Len(t, ts, 3)
		if i != 0 && i != 5 {
			assert.NotContains(t, ts[0], "issueId", "issue %d", i)
			assert.Equal(t, "In Progress", ts[1]["name"], "issue %d", i)
		}
		assert.Equal(t, "To Do", ts[0]["name"])
		assert.Equal(t, jsonscan.Raw(`{"x":1}`), ts[2]["fields"], "issue %d: the longer one is its own", i)
		assert.NotContains(t, ts[0], "fields", "issue %d", i)
	}
	for _, normalize := range []bool{false, true} {
		checkCanonical(t, page, normalize, IssuePage)
	}
}

// repeatRuns numbers the transitions TestRepeatedObjectsSharedAcrossPages makes.
var repeatRuns atomic.Int64

// TestRepeatedObjectsSharedAcrossPages: a transition met in one page and again
// in another is kept for the run, and later pages clone its copy, whose
// strings are copies too: no page stays alive for it.
func TestRepeatedObjectsSharedAcrossPages(t *testing.T) {
	t.Parallel()
	// The run's cache outlives the test, and -count above 1 or another
	// test could have filled the slot: a name of its own per run.
	tr := testTransition("31", fmt.Sprintf("Shared %d", repeatRuns.Add(1)))
	// Once per page: the page's own cache never finds it.
	page := issuesWith(1, tr, `"`+strings.Repeat("p", minCachedDoc)+`"`)
	first := func(data []byte) map[string]any {
		v, err := decodeShaped(data, true, IssuePage)
		require.NoError(t, err)
		return v.(map[string]any)["issues"].([]any)[0].(map[string]any)["transitions"].([]any)[0].(map[string]any)
	}
	var got []map[string]any
	var pages [][]byte
	for range 4 {
		p := bytes.Clone(page)
		pages = append(pages, p)
		got = append(got, first(p))
	}
	name := func(m map[string]any) unsafe.Pointer { return unsafe.Pointer(unsafe.StringData(m["name"].(string))) }
	inPage := func(m map[string]any, p []byte) bool {
		at := uintptr(name(m))
		start := uintptr(unsafe.Pointer(unsafe.SliceData(p)))
		return at >= start && at < start+uintptr(len(p))
	}
	// Pages 1 and 2 read it (the second offers it twice: kept), 3 and 4
	// clone the run's copy.
	assert.True(t, inPage(got[0], pages[0]))
	assert.True(t, inPage(got[1], pages[1]))
	for _, p := range pages {
		assert.False(t, inPage(got[2], p), "a later page reads it again, or the copy keeps a page alive")
	}
	assert.Equal(t, name(got[2]), name(got[3]))
	got[2]["issueId"] = "2"
	assert.NotContains(t, got[3], "issueId", "each page gets a map of its own")
	for _, m := range got {
		assert.Equal(t, got[1]["name"], m["name"])
	}
}

// TestOnceMetObjectsAreNotLookedUp: comments and worklogs are met once,
// and many start with the same author: they are read for themselves,
// never cloned, even where two are the same.
func TestOnceMetObjectsAreNotLookedUp(t *testing.T) {
	t.Parallel()
	comment := `{"author":` + testUser("5b10") + `,"body":"the same words","id":"1"}`
	page := []byte(`{"comments":[` + strings.TrimSuffix(strings.Repeat(comment+",", 400), ",") + `]}`)
	require.Greater(t, len(page), minCachedDoc)
	v, err := decodeShaped(page, true, CommentPage)
	require.NoError(t, err)
	seen := map[unsafe.Pointer]bool{}
	for _, c := range v.(map[string]any)["comments"].([]any) {
		body := unsafe.Pointer(unsafe.StringData(c.(map[string]any)["body"].(string)))
		assert.False(t, seen[body], "a comment cloned from another")
		seen[body] = true
	}
	assert.Len(t, seen, 400)
}

// mapID is a map's identity.
func mapID(m map[string]any) uintptr { return reflect.ValueOf(m).Pointer() }

// TestRepeatedValuesAreShared: a status nested in record after record (an
// issue's) is read once and the same map is given to every issue,
// nothing writing into it; a transition, a record a stream writes into,
// gets a map of its own. The same object met first as a record and then
// nested is not the record's map: what the stream writes into the record
// never reaches the value.
func TestRepeatedValuesAreShared(t *testing.T) {
	t.Parallel()
	user := testUser("5b10-shared")
	tr := testTransition("11", "To Do")
	issue := func(status string) string {
		return `{"id":"1","fields":{"status":` + status + `,"summary":"` + strings.Repeat("s", 300) + `"},"transitions":[` + tr + `]}`
	}
	var issues []string
	for range 100 {
		issues = append(issues, issue(user))
	}
	issues = append(issues, issue(tr)) // a transition's bytes as a status
	page := []byte(`{"issues":[` + strings.Join(issues, ",") + `]}`)
	require.Greater(t, len(page), minCachedDoc)
	v, err := decodeShaped(page, true, IssuePage)
	require.NoError(t, err)
	var statuses, transitions []map[string]any
	for _, is := range v.(map[string]any)["issues"].([]any) {
		m := is.(map[string]any)
		statuses = append(statuses, m["fields"].(map[string]any)["status"].(map[string]any))
		transitions = append(transitions, m["transitions"].([]any)[0].(map[string]any))
	}
	ids := map[uintptr]bool{}
	for i, c := range statuses[:100] {
		assert.Equal(t, mapID(statuses[0]), mapID(c), "issue %d: the status read again", i)
		ids[mapID(transitions[i])] = true
	}
	assert.Len(t, ids, 100, "each transition a map of its own")
	for _, tr := range transitions {
		tr["issueId"] = "1"
	}
	assert.NotContains(t, statuses[100], "issueId", "the record's map given as a value")
	assert.Equal(t, "To Do", statuses[100]["name"])
}

// TestRepeatedValuesSharedAcrossPages: a status nested in one page and
// again in another is kept for the run, and later pages are given the run's
// copy itself.
func TestRepeatedValuesSharedAcrossPages(t *testing.T) {
	t.Parallel()
	user := testUser(fmt.Sprintf("shared-value-%d", repeatRuns.Add(1)))
	page := []byte(`{"issues":[{"id":"1","fields":{"status":` + user + `,"summary":"` + strings.Repeat("s", minCachedDoc) + `"}}]}`)
	var got []map[string]any
	for range 4 {
		v, err := decodeShaped(bytes.Clone(page), true, IssuePage)
		require.NoError(t, err)
		got = append(got, v.(map[string]any)["issues"].([]any)[0].(map[string]any)["fields"].(map[string]any)["status"].(map[string]any))
	}
	// Pages 1 and 2 read it (the second offer keeps a copy), 3 and 4 are
	// given the copy.
	assert.NotEqual(t, mapID(got[0]), mapID(got[1]))
	assert.NotEqual(t, mapID(got[1]), mapID(got[2]))
	assert.Equal(t, mapID(got[2]), mapID(got[3]))
	for _, m := range got {
		assert.Equal(t, got[0], m)
	}
}
