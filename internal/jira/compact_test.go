package jira

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tap-jira/tap-jira/internal/singer"
)

// only leaves in the file every list past n bytes, and no other.
func only(n int) cutRule { return cutRule{most: n, least: n, budget: math.MaxInt} }

// encodedIssues encodes a page's issues, their long lists expanded.
func encodedIssues(t *testing.T, p DCPage) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "total %d\n", p.Total)
	for _, is := range p.Issues {
		enc, err := singer.EncodeRecord(expandLong(t, is))
		require.NoError(t, err)
		b.Write(enc)
		b.WriteByte('\n')
	}
	return b.String()
}

// checkCompact is the contract of compactPage: the page it leaves, with
// the lists it left in the file put back, decodes to what the whole page
// decodes to, and fails where that fails. A page with a repeated key it
// looks into it may refuse instead.
func checkCompact(t *testing.T, data []byte, cut cutRule) {
	t.Helper()
	whole, werr := dcPage(bytes.Clone(data), nil)
	out, longs, err := compactPage(bytes.NewReader(data), int64(len(data)), cut)
	if errors.Is(err, errRepeatedKey) {
		return
	}
	var got DCPage
	if err == nil {
		got, err = dcPage(out, longs)
	}
	if (werr != nil) != (err != nil) {
		t.Fatalf("acceptance differs on %q (cut %d): whole %v, compacted %v", data, cut, werr, err)
	}
	if werr != nil {
		return
	}
	for _, left := range longs {
		for _, l := range []*LongList{left.histories, left.comments} {
			if l != nil {
				assert.NotNil(t, l.src, "a list left in the file reads it")
			}
		}
	}
	if want, got := encodedIssues(t, whole), encodedIssues(t, got); want != got {
		t.Fatalf("pages differ on %q (cut %d):\nwhole\n%s\ncompacted\n%s", data, cut, want, got)
	}
}

// dcIssue is an issue of a Data Center search page with n changelog
// entries.
func dcIssue(id, n int) string {
	return dcIssueWith(id, n, 0)
}

// dcIssueWith is an issue with n changelog entries and m comments.
func dcIssueWith(id, n, m int) string {
	var comments strings.Builder
	for i := range m {
		if i > 0 {
			comments.WriteByte(',')
		}
		fmt.Fprintf(&comments, `{"id":"%d","author":{"name":"u%d","avatarUrls":{"16x16":"u"}},"body":"a comment \"]}","created":"2026-01-02T03:04:05.000+0000"}`, i, i%3)
	}
	return fmt.Sprintf(`{"id":"%d","key":"K-%d","fields":{"updated":"2026-01-02T03:04:05.000+0000","summary":"s\u00e9","comment":{"startAt":0,"maxResults":%d,"total":%d,"comments":[%s]}},"changelog":{"startAt":0,"maxResults":%d,"total":%d,"histories":[%s]}}`, id, id, m, m, comments.String(), n, n, entries(n))
}

// TestCompactPage: long changelogs leave a page, short ones and all else
// stay, and the page decodes as it would whole.
func TestCompactPage(t *testing.T) {
	t.Parallel()
	page := func(issues ...string) string {
		return `{"expand":"schema,names","startAt":0,"maxResults":3,"total":` + strconv.Itoa(len(issues)) + `,"issues":[` + strings.Join(issues, ",") + `]}`
	}
	for _, c := range []struct {
		name, doc string
		cut       cutRule
		long      []int // the issues whose changelog is left in the file
		comments  []int // the issues whose comments are
		err       string
	}{
		{name: "one long, one short", doc: page(dcIssue(1, 40), dcIssue(2, 2)), cut: only(2000), long: []int{0}},
		{name: "every one long", doc: page(dcIssue(1, 40), dcIssue(2, 30), dcIssue(3, 50)), cut: only(100), long: []int{0, 1, 2}},
		{name: "none long", doc: page(dcIssue(1, 4), dcIssue(2, 3)), cut: only(1 << 20)},
		// Past the budget, shorter lists leave the page too: the first two
		// issues' histories (of about 1400 bytes each) stay, the page now
		// past 3000 bytes, and the rest leave.
		{name: "past the budget", doc: page(dcIssue(1, 8), dcIssue(2, 8), dcIssue(3, 8), dcIssue(4, 8), dcIssue(5, 1)), cut: cutRule{most: 1 << 20, least: 1000, budget: 3000}, long: []int{2, 3}},
		{name: "long comments", doc: page(dcIssueWith(1, 2, 40), dcIssueWith(2, 40, 2), dcIssueWith(3, 40, 40)), cut: only(2000), long: []int{1, 2}, comments: []int{0, 2}},
		{name: "comments of a null comment", doc: page(`{"id":"1","fields":{"comment":null}}`, `{"id":"2","fields":{"comment":{"comments":null}}}`, `{"id":"3","fields":null}`), cut: only(1)},
		{name: "a repeated comments", doc: page(`{"id":"1","fields":{"comment":{"comments":[],"comments":[]}}}`), cut: only(1), err: "repeated key"},
		{name: "a repeated fields", doc: page(`{"id":"1","fields":{},"fields":{}}`), cut: only(1), err: "repeated key"},
		{name: "no issues", doc: page(), cut: only(10)},
		{name: "members around and white space", doc: " {\"issues\" : [ " + dcIssue(1, 9) + " ] , \"total\" : 1 } ", cut: only(100), long: []int{0}},
		{name: "an escaped key", doc: `{"total":1,"issue\u0073":[{"id":"1","fields":{"updated":"2026-01-02T03:04:05.000+0000"},"change\u006cog":{"h\u0069stories":[` + entries(9) + `]}}]}`, cut: only(100), long: []int{0}},
		{name: "a null changelog and null entries", doc: page(`{"id":"1","changelog":null}`, `{"id":"2","changelog":{"histories":null}}`), cut: only(1)},
		{name: "an issue not an object", doc: page(`7`), cut: only(1), err: "expected a list of objects"},
		{name: "an entry not JSON", doc: page(`{"id":"1","changelog":{"histories":[` + entries(3) + `,{"a":tru}]}}`), cut: only(100), err: "not valid JSON"},
		{name: "cut short in the entries", doc: page(dcIssue(1, 9))[:900], cut: only(100), err: "unexpected end of JSON input"},
		{name: "a repeated changelog", doc: page(`{"id":"1","changelog":{"histories":[]},"changelog":null}`), cut: only(1), err: "repeated key"},
		{name: "more after the page", doc: page() + `x`, cut: only(1), err: "invalid character after top-level value"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			checkCompact(t, []byte(c.doc), c.cut)
			out, longs, err := compactPage(strings.NewReader(c.doc), int64(len(c.doc)), c.cut)
			if err == nil {
				_, err = dcPage(out, longs)
			}
			if c.err != "" {
				require.ErrorContains(t, err, c.err)
				return
			}
			require.NoError(t, err)
			var long, comments []int
			for i, left := range longs {
				if left.histories != nil {
					long = append(long, i)
				}
				if left.comments != nil {
					comments = append(comments, i)
				}
			}
			assert.ElementsMatch(t, c.long, long)
			assert.ElementsMatch(t, c.comments, comments)
			issues := map[int]bool{}
			for _, i := range append(slices.Clone(c.long), c.comments...) {
				issues[i] = true
			}
			assert.Len(t, longs, len(issues), "only issues with a list left in the file: the file is let go at once otherwise")
			assert.Less(t, len(out), len(c.doc)+1)
		})
	}
}

func FuzzCompactPage(f *testing.F) {
	for _, s := range []string{
		`{"total":2,"issues":[` + dcIssue(1, 5) + `,` + dcIssue(2, 1) + `]}`,
		`{"issues":[{"changelog":{"histories":[{"id":"1","created":"2026-01-02T03:04:05.000-0530","items":[{"a":"]"}]}]}}],"total":1}`,
		`{"issues":[{"changelog":null},{"changelog":{"histories":"x"}},[1],"s"],"total":4}`, `[]`, `{"issues":{}}`, `{"total":0,"issues":[]} `,
		`{"total":1,"issues":[` + dcIssueWith(1, 3, 3) + `]}`, `{"total":1,"issues":[{"fields":{"comment":{"comments":[{"a":1},2]}}}]}`,
	} {
		f.Add([]byte(s), uint8(40))
	}
	f.Fuzz(func(t *testing.T, data []byte, cut uint8) {
		checkCompact(t, data, cutRule{most: int(cut), least: int(cut) / 4, budget: 2 * int(cut)})
	})
}

// TestSpooledSearchPage: a Data Center search page past the spill size is
// read from a file, its long changelogs left there and read back a window
// at a time, its length the response's.
func TestSpooledSearchPage(t *testing.T) {
	t.Parallel()
	const long = 6000 // past pageCut.most, as bytes
	page := `{"startAt":0,"maxResults":2,"total":2,"issues":[` + dcIssue(1, long) + `,` + dcIssue(2, 5) + `]}`
	require.Greater(t, len(page), pageCut.most)
	client := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "/jira/rest/api/2/search", r.URL.Path)
		_, _ = w.Write([]byte(page))
	})
	client.spillFrom = 1 << 10
	p, err := client.SearchPage(t.Context(), "project = K", []string{"*all"}, []string{"changelog"}, 0, 2)
	require.NoError(t, err)
	assert.Equal(t, len(page), p.Bytes)
	require.Len(t, p.Issues, 2)
	l, ok := p.Issues[0]["changelog"].(map[string]any)["histories"].(*LongList)
	require.True(t, ok, "the long changelog is a LongList")
	assert.NotNil(t, l.src, "read from the file")
	assert.Equal(t, long, l.Len())
	next := 0
	for recs, err := range l.Records(LongFrom) {
		require.NoError(t, err)
		for _, r := range recs {
			require.Equal(t, strconv.Itoa(next), r["id"])
			require.Equal(t, "2026-01-02T02:04:05.000Z", r["created"], "timestamps normalized")
			next++
		}
	}
	assert.Equal(t, long, next)
	short, ok := p.Issues[1]["changelog"].(map[string]any)["histories"].([]any)
	require.True(t, ok, "a short changelog is built with its page")
	assert.Len(t, short, 5)
}

// TestLongChangelogInASearchPageIsNotHeld: a Data Center search page whose
// issue has a changelog of 17 MB does not hold it: the page comes back
// with a heap grown by a fraction of it. Not parallel: it measures the
// heap.
func TestLongChangelogInASearchPageIsNotHeld(t *testing.T) {
	const n = 40000
	var size countWriter
	longSearchPage(&size, n)
	var requests atomic.Int32
	client := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Header().Set("Content-Length", strconv.FormatInt(size.n, 10))
		longSearchPage(w, n)
	})
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	before := ms.HeapAlloc
	p, err := client.SearchPage(t.Context(), "project = K", []string{"*all"}, []string{"changelog"}, 0, 1)
	require.NoError(t, err)
	runtime.GC()
	runtime.ReadMemStats(&ms)
	grown := int64(ms.HeapAlloc) - int64(before)
	assert.Less(t, grown, size.n/4, "the heap grew by %d bytes for a page of %d", grown, size.n)
	l, ok := p.Issues[0]["changelog"].(map[string]any)["histories"].(*LongList)
	require.True(t, ok)
	got := 0
	for recs, err := range l.Records(LongFrom) {
		require.NoError(t, err)
		got += len(recs)
	}
	assert.Equal(t, n, got)
	assert.Equal(t, int32(1), requests.Load())
}

// longSearchPage writes a search page of one issue whose changelog has n
// entries, a piece at a time.
func longSearchPage(w io.Writer, n int) {
	_, _ = w.Write([]byte(`{"startAt":0,"maxResults":1,"total":1,"issues":[`))
	longIssue(w, n)
	_, _ = w.Write([]byte(`]}`))
}

// BenchmarkCompactPage compacts a 10 MB search page whose first issue's
// changelog is left in the file, then decodes what stays: the cost of a
// spooled page over one held whole (BenchmarkDecodeSpooledPage/whole).
func BenchmarkCompactPage(b *testing.B) {
	var page bytes.Buffer
	page.WriteString(`{"startAt":0,"maxResults":100,"total":100,"issues":[`)
	page.WriteString(dcIssue(0, 8000))
	for i := 1; i < 100; i++ {
		page.WriteString("," + dcIssueWith(i, 30, 10))
	}
	page.WriteString(`]}`)
	data := page.Bytes()
	for _, c := range []struct {
		name string
		read func() (DCPage, error)
	}{
		{"whole", func() (DCPage, error) { return dcPage(bytes.Clone(data), nil) }},
		{"spooled", func() (DCPage, error) {
			out, longs, err := compactPage(bytes.NewReader(data), int64(len(data)), pageCut)
			if err != nil {
				return DCPage{}, err
			}
			return dcPage(out, longs)
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.read(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkChangelogWindows reads a 7 MB issue's changelog a window at a
// time from a stream, against the body held whole.
func BenchmarkChangelogWindows(b *testing.B) {
	var issue bytes.Buffer
	longIssue(&issue, 16000)
	data := issue.Bytes()
	for _, c := range []struct {
		name    string
		windows func() iter.Seq2[[]Record, error]
	}{
		{"whole", func() iter.Seq2[[]Record, error] { return changelogInMemory(bytes.Clone(data)) }},
		{"streamed", func() iter.Seq2[[]Record, error] { return changelogWindows(bytes.NewReader(data), LongFrom) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				for _, err := range c.windows() {
					if err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
