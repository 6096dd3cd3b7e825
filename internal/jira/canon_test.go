package jira

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"strings"
	"testing"
	"unique"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tap-jira/tap-jira/internal/jsonscan"
	"github.com/tap-jira/tap-jira/internal/singer"
)

// checkCanonical is the contract of a Raw: decoding data with any shape and
// encoding the result gives exactly the bytes the fully decoded tree
// encodes to, and a Raw decodes back to the tree it stands for.
func checkCanonical(t *testing.T, data []byte, normalize bool, shape *Shape) {
	t.Helper()
	tree, terr := decodeTree(data, normalize)
	for _, cached := range []bool{false, true} {
		got, gerr := decodeWith(data, normalize, shape, cached)
		if gerr == nil {
			got = expandLong(t, got)
		}
		if (terr != nil) != (gerr != nil) {
			t.Fatalf("acceptance differs on %q (cached %v): tree %v, shaped %v", data, cached, terr, gerr)
		}
		if terr != nil {
			return
		}
		want, err := singer.EncodeRecord(tree)
		require.NoError(t, err)
		enc, err := singer.EncodeRecord(got)
		require.NoError(t, err)
		if string(want) != string(enc) {
			t.Fatalf("encodings differ on %q (cached %v):\ntree   %s\nshaped %s", data, cached, want, enc)
		}
		if !assert.ObjectsAreEqual(tree, jsonscan.Expand(got)) {
			t.Fatalf("expanded value differs on %q (cached %v):\n%#v\n%#v", data, cached, tree, jsonscan.Expand(got))
		}
	}
}

var testShapes = map[string]*Shape{"raw": nil, "top": ChildRecord, "issues": IssuePage, "list": WorklogList, "changelog": ChangelogPage, "long": longEverywhere,
	"repeats": {Each: RepeatedRecord}, "shared": {Each: RepeatedValue}}

// longEverywhere builds every object and keeps every array of more than
// two elements as a LongList, so that small documents exercise them.
var longEverywhere = func() *Shape {
	s := &Shape{Long: 2}
	s.Each = s
	return s
}()

// expandLong replaces each LongList in v by the elements its windows
// (of two elements, so that a list of three or more takes several) give.
func expandLong(t *testing.T, v any) any {
	t.Helper()
	switch x := v.(type) {
	case *LongList:
		out := []any{}
		for w, err := range x.Windows(2) {
			require.NoError(t, err)
			require.NotEmpty(t, w)
			out = append(out, w...)
		}
		require.Len(t, out, x.Len())
		return expandLong(t, out)
	case map[string]any:
		for k, e := range x {
			x[k] = expandLong(t, e)
		}
	case []any:
		for i, e := range x {
			x[i] = expandLong(t, e)
		}
	}
	return v
}

func TestCanonicalMatchesTheTree(t *testing.T) {
	t.Parallel()
	cases := []string{
		`{}`, `[]`, `{"b":1,"a":{"d":[],"c":{}}}`, `{"a":1,"a":{"x":2},"b":[1,{"a":3,"a":4}]}`,
		`{"a":[1,{"b":null}],"c":"\u00e9\ud83d\ude80\n\t\"\\\/<>&","a":2}`, "\"bad \xff utf8\"", `["\u2028\u2029"]`, "[\"line\u2028sep\", \"para\u2029sep\", \"é ok\"]", `["a\nb\"c\\d\te\rf\bg\fh", "x\/y", "\u0041\u00e9", "\u2028", "é\n"]`, "[\"line\u2028\\nsep\"]",
		`{"when":"2026-01-02T03:04:05.000+0100","2026-01-02T03:04:05.000+0100":"key left alone"}`,
		` { "z" : [ 1 , -0.5e-3 , true , false , null ] , "é":"\u00e9" , "e\u0301":0 } `,
		`{"issues":[{"id":"1","fields":{"comment":{"comments":[{"id":"2","author":{"b":1,"a":2}}]},"assignee":{"z":"2026-01-02T03:04:05.000-0800","a":[{"y":1,"x":2}]}}}]}`,
		`[{"user":{"name":"Zoë","self":"https://example.atlassian.net/rest/api/2/user?x=1"}},{"user":{"name":"Zoë","self":"https://example.atlassian.net/rest/api/2/user?x=1"}}]`,
		`[{"user":{"name":"Zoë","self":"https://example.atlassian.net/rest/api/2/user?x=1"}},{"user":{"name":"Zoë","self":"https://example.atlassian.net/rest/api/2/user?x=1"`,
		`[{"user":{"name":"Zoë","self":"https://example.atlassian.net/rest/api/2/user?x=1"}},{"user":{"name":"Zoë","self":"https://example.atlassian.net/rest/api/2/user?x=1"}x}]`,
		`[1,2,3,4,5]`, `[[1,2,3],[4,5,6,7],"2026-01-02T03:04:05.000+0100"]`, `[1,2,3,]`, `[1,2,{"a":tru}]`, `[1,2,3`, `[1,2,3 4]`,
		`{"a":1,}`, `[1,]`, `{"a" 1}`, `{"a":{"b":tru}}`, `[{"a":"\x"}]`, `{"a":[1 2]}`, `{"a":{"b":1`,
	}
	for _, c := range cases {
		for name, shape := range testShapes {
			t.Run(name, func(t *testing.T) {
				checkCanonical(t, []byte(c), true, shape)
				checkCanonical(t, []byte(c), false, shape)
			})
		}
	}
}

// TestCanonicalOnJiraPages runs the contract on pages jira-sim served, with
// the shape the tap decodes each with.
func TestCanonicalOnJiraPages(t *testing.T) {
	t.Parallel()
	raws := 0
	for _, body := range simPages(t) {
		for _, shape := range testShapes {
			checkCanonical(t, []byte(body), true, shape)
		}
		if v, err := decodeShaped([]byte(body), true, nil); err == nil { // some pages are cut on purpose
			raws += countRaw(v)
		}
	}
	require.Positive(t, raws, "no page was read raw")
}

func countRaw(v any) int {
	switch t := v.(type) {
	case jsonscan.Raw:
		return 1
	case map[string]any:
		n := 0
		for _, e := range t {
			n += countRaw(e)
		}
		return n
	case []any:
		n := 0
		for _, e := range t {
			n += countRaw(e)
		}
		return n
	}
	return 0
}

// TestIssueShapeKeepsWhatStreamsRead: the parts the streams read are maps
// and slices, the rest of an issue is raw.
func TestIssueShapeKeepsWhatStreamsRead(t *testing.T) {
	t.Parallel()
	page := `{"issues":[{"id":"1","key":"P-1","fields":{"updated":"2026-01-02T03:04:05.000+0000",
		"comment":{"total":1,"comments":[{"id":"9","author":{"accountId":"a"}}]},
		"creator":{"accountId":"c","avatarUrls":{"48x48":"u"}},"status":{"id":"3","name":"Done","statusCategory":{"id":3}},"assignee":{"accountId":"x"},"labels":["a"]},
		"changelog":{"total":1,"histories":[{"id":"5","author":{"accountId":"a","avatarUrls":{"48x48":"u"}},"items":[{"field":"status"}]}]},
		"transitions":[{"id":"11","to":{"id":"3"}}]}],"nextPageToken":"t"}`
	v, err := decodeShaped([]byte(page), true, IssuePage)
	require.NoError(t, err)
	is := v.(map[string]any)["issues"].([]any)[0].(map[string]any)
	fields := is["fields"].(map[string]any)
	assert.Equal(t, "2026-01-02T03:04:05.000Z", fields["updated"])
	comment := fields["comment"].(map[string]any)["comments"].([]any)[0].(map[string]any)
	assert.Equal(t, jsonscan.Raw(`{"accountId":"a"}`), comment["author"])
	assert.Equal(t, jsonscan.Raw(`{"accountId":"c","avatarUrls":{"48x48":"u"}}`), fields["creator"])
	assert.Equal(t, "Done", fields["status"].(map[string]any)["name"])
	assert.Equal(t, jsonscan.Raw(`{"id":3}`), fields["status"].(map[string]any)["statusCategory"])
	assert.Equal(t, jsonscan.Raw(`{"accountId":"x"}`), fields["assignee"])
	assert.Equal(t, jsonscan.Raw(`["a"]`), fields["labels"])
	history := is["changelog"].(map[string]any)["histories"].([]any)[0].(map[string]any)
	assert.Equal(t, jsonscan.Raw(`{"accountId":"a","avatarUrls":{"48x48":"u"}}`), history["author"])
	assert.Equal(t, "status", history["items"].([]any)[0].(map[string]any)["field"])
	tr := is["transitions"].([]any)[0].(map[string]any)
	assert.Equal(t, jsonscan.Raw(`{"id":"3"}`), tr["to"])
}

// TestRepeatedRawIsShared: a value repeated in a page is read once and
// shared (a user on every issue), and the copies encode the same.
func TestRepeatedRawIsShared(t *testing.T) {
	t.Parallel()
	user := testUser("5b10")
	issue := `{"fields":{"assignee":` + user + `,"reporter":` + user + `,"summary":"` + strings.Repeat("x", 200) + `"}}`
	page := `{"issues":[` + strings.TrimSuffix(strings.Repeat(issue+",", 200), ",") + `]}` // a page, not a lone record
	require.Greater(t, len(page), minCachedDoc)
	v, err := decodeShaped([]byte(page), true, IssuePage)
	require.NoError(t, err)
	issues := v.(map[string]any)["issues"].([]any)
	first := issues[0].(map[string]any)["fields"].(map[string]any)["assignee"].(jsonscan.Raw)
	for _, is := range issues {
		fields := is.(map[string]any)["fields"].(map[string]any)
		for _, k := range []string{"assignee", "reporter"} {
			r := fields[k].(jsonscan.Raw)
			require.Equal(t, first, r)
			require.Same(t, unsafe.StringData(string(first)), unsafe.StringData(string(r)), "read again, not shared")
		}
	}
}

// testUser is a user as Jira writes one inside an issue: its "self" URL
// first, then avatars, well over cacheKey bytes.
func testUser(id string) string {
	self := "https://example.atlassian.net/rest/api/2/user?accountId=" + id
	avatar := "https://avatar-management--avatars.us-west-2.prod.public.atl-paas.net/" + id + "/48"
	return `{"self":"` + self + `","accountId":"` + id + `","avatarUrls":{"48x48":"` + avatar + `","24x24":"` + avatar + `"},"displayName":"Zoë ` + id + `","active":true,"timeZone":"Europe/Paris","accountType":"atlassian"}`
}

// TestCachedValuesSharingTheirFirstBytes: values cached under the same
// first bytes (a site whose URLs are long enough to push the ids past
// them) are told apart by the rest, however many there are, and a value
// that only starts like a cached one is read for itself.
func TestCachedValuesSharingTheirFirstBytes(t *testing.T) {
	t.Parallel()
	long := "https://" + strings.Repeat("a-very-long-company-name-", 6) + "atlassian.net/rest/api/2/user?accountId="
	user := func(id string) string {
		return `{"self":"` + long + id + `","accountId":"` + id + `","displayName":"` + id + `"}`
	}
	require.Greater(t, len(`{"self":"`+long), cacheKey, "the ids lie past the key")
	var issues []string
	var want []string
	for i := range 300 {
		id := fmt.Sprintf("u%d", i%(2*maxCachedUnder+3)) // more users than are kept under one key
		u := user(id)
		if i%7 == 0 {
			// Starts like the user, then goes on: a different value.
			u = strings.TrimSuffix(u, "}") + `,"extra":[1,2]}`
			id += "+extra"
		}
		want = append(want, id)
		issues = append(issues, `{"fields":{"assignee":`+u+`,"summary":"`+strings.Repeat("x", 100)+`"}}`)
	}
	page := `{"issues":[` + strings.Join(issues, ",") + `]}`
	require.Greater(t, len(page), minCachedDoc)
	v, err := decodeShaped([]byte(page), true, IssuePage)
	require.NoError(t, err)
	for i, is := range v.(map[string]any)["issues"].([]any) {
		var got map[string]any
		require.NoError(t, json.Unmarshal([]byte(is.(map[string]any)["fields"].(map[string]any)["assignee"].(jsonscan.Raw)), &got))
		id, _ := strings.CutSuffix(want[i], "+extra")
		assert.Equal(t, id, got["accountId"], "issue %d", i)
		_, extra := got["extra"]
		assert.Equal(t, strings.HasSuffix(want[i], "+extra"), extra, "issue %d", i)
	}
}

func FuzzCanonical(f *testing.F) {
	for _, s := range []string{`{"b":[1,"x",null,true,{"d":"\u00e9","c":2}],"a":-1.5e3}`, `[{"a":1,"a":2}]`, `{"t":"2026-01-02T03:04:05.000+0100"}`, `{"issues":[{"fields":{"x":{"b":1,"a":2}}}]}`} {
		f.Add([]byte(s), true)
	}
	// Values long enough to be cached, repeated, and one that starts like
	// them and goes on.
	u := testUser("5b10")
	f.Add([]byte(`{"issues":[{"fields":{"a":`+u+`,"b":`+u+`,"c":`+strings.TrimSuffix(u, "}")+`,"t":"2026-01-02T03:04:05.000+0100"}}}]}`), true)
	// Repeated objects (transitions, users) met again, and one that
	// starts like them and goes on.
	tr := testTransition("11", "To Do")
	f.Add([]byte(`[`+tr+`,`+tr+`,`+strings.TrimSuffix(tr, "}")+`,"n":1}]`), false)
	f.Add([]byte(`{"issues":[{"transitions":[`+tr+`]},{"transitions":[`+tr+`,`+tr+`]}]}`), true)
	f.Fuzz(func(t *testing.T, data []byte, normalize bool) {
		for _, shape := range testShapes {
			checkCanonical(t, data, normalize, shape)
		}
	})
}

// TestLongChangelogIsNotBuilt decodes a page whose issue has one changelog
// entry more than LongFrom: the histories come as a LongList whose windows
// give every entry as the page would have, and one entry fewer is built.
func TestLongChangelogIsNotBuilt(t *testing.T) {
	t.Parallel()
	page := func(n int) []byte {
		var b strings.Builder
		b.WriteString(`{"issues":[{"id":"1","changelog":{"total":` + fmt.Sprint(n) + `,"histories":[`)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"id":"%d","created":"2026-01-02T03:04:05.000+0100","author":{"accountId":"a"},"items":[{"field":"status"}]}`, i)
		}
		b.WriteString(`]}}]}`)
		return []byte(b.String())
	}
	histories := func(t *testing.T, n int) any {
		v, err := decodeShaped(page(n), true, IssuePage)
		require.NoError(t, err)
		return v.(map[string]any)["issues"].([]any)[0].(map[string]any)["changelog"].(map[string]any)["histories"]
	}
	built, ok := histories(t, LongFrom).([]any)
	require.True(t, ok, "a changelog of LongFrom entries is built")
	require.Len(t, built, LongFrom)

	long, ok := histories(t, LongFrom+1).(*LongList)
	require.True(t, ok, "a changelog of LongFrom+1 entries is a LongList")
	require.Equal(t, LongFrom+1, long.Len())
	var sizes []int
	next := 0
	for w, err := range long.Windows(1000) {
		require.NoError(t, err)
		sizes = append(sizes, len(w))
		for _, e := range w {
			entry := e.(map[string]any)
			require.Equal(t, fmt.Sprint(next), entry["id"])
			require.Equal(t, "2026-01-02T02:04:05.000Z", entry["created"], "normalized as the page is")
			require.IsType(t, map[string]any{}, entry["items"].([]any)[0], "decoded with the entries' shape")
			require.IsType(t, jsonscan.Raw(""), entry["author"], "decoded with the entries' shape")
			next++
		}
	}
	require.Equal(t, []int{1000, 1000, 1}, sizes)
	_, err := json.Marshal(map[string]any{"histories": long})
	require.Error(t, err, "a LongList must never be written as a value")
}

// sharedRuns numbers the users TestRawsSharedAcrossPages makes.
var sharedRuns int

// slotOf is the run's cache slot a value is offered to.
func slotOf(v string) uint64 { return sharedSlot(maphash.String(cacheSeed, v[:cacheKey])) }

// TestRawsSharedAcrossPages: a value met in one page and again in another
// (a user, a status) is kept for the run, and later pages get it without
// reading it again; it is given only where the input is exactly it, and
// only as decoded with the same timestamp option. Not parallel: the
// shared cache is the process's, and other tests' values could take its
// slots over while this one looks.
func TestRawsSharedAcrossPages(t *testing.T) {
	// Over cacheKey bytes before its timestamp, which normalizing changes.
	stamped := `{"self":"https://example.atlassian.net/rest/api/2/status/10077` + strings.Repeat("/x", 60) + `","created":"2026-01-02T03:04:05.000+0100"}`
	// The run's cache outlives the test: a user of its own per run keeps
	// -count above 1 from finding it there already. The cache is direct
	// mapped and its hash seeded per process: a user in the slot of the
	// other value would take turns with it and never be shared.
	var user string
	for {
		sharedRuns++
		user = testUser(fmt.Sprintf("shared-7f3c-%d", sharedRuns))
		if slotOf(user) != slotOf(stamped) {
			break
		}
	}
	page := func(priority string) []byte {
		issue := `{"fields":{"assignee":` + user + `,"priority":` + priority + `,"summary":"` + strings.Repeat("s", 300) + `"}}`
		return []byte(`{"issues":[` + strings.TrimSuffix(strings.Repeat(issue+",", 100), ",") + `]}`)
	}
	p := page(stamped)
	require.Greater(t, len(p), minCachedDoc)
	assignee := func(data []byte, normalize bool) jsonscan.Raw {
		v, err := decodeShaped(data, normalize, IssuePage)
		require.NoError(t, err)
		return v.(map[string]any)["issues"].([]any)[0].(map[string]any)["fields"].(map[string]any)["assignee"].(jsonscan.Raw)
	}
	var got []jsonscan.Raw
	for range 4 {
		got = append(got, assignee(bytes.Clone(p), true))
	}
	// Pages 1 and 2 read it (the second keeps a copy), 3 and 4 share it.
	assert.NotSame(t, unsafe.StringData(string(got[0])), unsafe.StringData(string(got[1])))
	assert.Same(t, unsafe.StringData(string(got[2])), unsafe.StringData(string(got[3])), "a later page reads it again")
	assert.Same(t, unsafe.StringData(unique.Make(string(got[0])).Value()), unsafe.StringData(string(got[2])),
		"the process's canonical copy, which the schema check's memo holds too")
	for _, r := range got {
		assert.Equal(t, got[0], r)
	}
	// Whatever is kept, every page still decodes as its tree: with the
	// other timestamp option, and where a value starts like a kept one
	// and goes on.
	for _, normalize := range []bool{false, true} {
		checkCanonical(t, p, normalize, IssuePage)
		checkCanonical(t, page(strings.TrimSuffix(stamped, "}")+`,"next":{"a":1}}`), normalize, IssuePage)
	}
	other := page(stamped)
	copy(other[bytes.Index(other, []byte("2026-01-02T03")):], "2027")
	checkCanonical(t, other, true, IssuePage)
}

// TestValuesSharingTheirFirstBytesDoNotTakeTurns: two values under the
// same first bytes (a multi-select's options: the same first option, then
// others), met in turn page after page, are not copied into the run's
// cache each time one follows the other; a value met twice in a row is.
func TestValuesSharingTheirFirstBytesDoNotTakeTurns(t *testing.T) {
	sharedRuns++
	option := func(id string) string {
		return `{"self":"https://example.atlassian.net/rest/api/2/customFieldOption/` + id + strings.Repeat("/x", 40) + `","value":"` + id + `"}`
	}
	first := option(fmt.Sprintf("turns-%d", sharedRuns))
	a, b := `[`+first+`,`+option("a")+`]`, `[`+first+`,`+option("b")+`]`
	require.Equal(t, slotOf(a), slotOf(b))
	page := func(v string) []byte {
		issue := `{"fields":{"options":` + v + `,"summary":"` + strings.Repeat("s", 300) + `"}}`
		return []byte(`{"issues":[` + strings.TrimSuffix(strings.Repeat(issue+",", 100), ",") + `]}`)
	}
	kept := func(v string) bool {
		e := shared.slots[slotOf(v)].Load()
		return e != nil && e.in == v
	}
	for range 4 {
		for _, v := range []string{a, b} {
			_, err := decodeShaped(page(v), true, IssuePage)
			require.NoError(t, err)
			assert.False(t, kept(a) || kept(b), "copied in its turn")
		}
	}
	for range 2 {
		_, err := decodeShaped(page(a), true, IssuePage)
		require.NoError(t, err)
	}
	assert.True(t, kept(a), "met twice in a row")
}
