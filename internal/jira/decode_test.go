package jira

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tap-jira/tap-jira/internal/jirasim"
	"github.com/tap-jira/tap-jira/internal/jsonscan"
)

func stdDecode(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	// One value and trailing whitespace only. (json.Unmarshal into an any
	// would also refuse numbers beyond float64, which UseNumber keeps.)
	if !json.Valid(data) {
		return nil, errors.New("not one JSON value")
	}
	return v, nil
}

func TestDecodeTreeMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	cases := []string{
		`{}`, `[]`, `null`, `true`, ` false `, `0`, `-0.5e-3`, `12345678901234567890`, `"x"`,
		`{"a":[1,{"b":null}],"c":"\u00e9\ud83d\ude80\n\t\"\\\/","a":2}`,
		`"lone \ud800 surrogate"`, `"reversed \udc00\ud800"`, "\"bad \xff utf8\"", `"\u2028"`,
		`{"a":1,}`, `[1,]`, `01`, `1.`, `-`, `.5`, `1e`, `"\x"`, "\"ctl \x01\"", `{"a" 1}`, `{1:2}`, `[1 2]`,
		`{"a":1} x`, `tru`, `nul`, ``, `   `, `"unterminated`, `{"a":`, `"\u12"`, `"\uZZZZ"`,
	}
	for _, c := range cases {
		want, werr := stdDecode([]byte(c))
		got, gerr := decodeTree([]byte(c), false)
		require.Equal(t, werr != nil, gerr != nil, "%q: encoding/json %v, decodeTree %v", c, werr, gerr)
		if werr == nil {
			assert.Equal(t, want, got, c)
		}
	}
}

func TestDecodeTreeOnJiraPages(t *testing.T) {
	t.Parallel()
	for f, body := range simPages(t) {
		want, werr := stdDecode([]byte(body))
		got, gerr := decodeTree([]byte(body), false)
		require.Equal(t, werr != nil, gerr != nil, f)
		assert.Equal(t, want, got, f)
	}
}

// simPages are the bodies jira-sim served that seed FuzzResponses, by file.
func simPages(t *testing.T) map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzResponses", "sim-*"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	pages := map[string]string{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		// The corpus file's last line is []byte("..."): a Go string literal.
		lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
		lit := strings.TrimSuffix(strings.TrimPrefix(lines[len(lines)-1], "[]byte("), ")")
		body, err := strconv.Unquote(lit)
		require.NoError(t, err, f)
		pages[f] = body
	}
	return pages
}

func FuzzDecodeTree(f *testing.F) {
	for _, s := range []string{`{"a":[1,"x",null,true,{"b":"\u00e9"}],"n":-1.5e3}`, `"\ud83d\ude80"`, `[01]`, `{"a":1,"a":2}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		want, werr := stdDecode(data)
		got, gerr := decodeTree(data, false)
		if (werr != nil) != (gerr != nil) {
			t.Fatalf("acceptance differs on %q: encoding/json %v, decodeTree %v", data, werr, gerr)
		}
		if werr == nil {
			if !assert.ObjectsAreEqual(want, got) {
				t.Fatalf("values differ on %q:\n%#v\n%#v", data, want, got)
			}
			// Normalizing while decoding is the same as NormalizeTimes
			// after it (a timestamp-shaped key is left alone by both).
			norm, err := decodeTree(data, true)
			if err != nil {
				t.Fatalf("normalizing decode failed on %q: %v", data, err)
			}
			if m, ok := want.(map[string]any); ok {
				NormalizeTimes(m)
			} else if a, ok := want.([]any); ok {
				NormalizeTimes(a)
			} else if s, ok := want.(string); ok {
				want, _ = NormalizeTime(s)
			}
			if !assert.ObjectsAreEqual(want, norm) {
				t.Fatalf("normalized values differ on %q:\n%#v\n%#v", data, want, norm)
			}
		}
	})
}

func TestDecodeNormalizesTimestamps(t *testing.T) {
	t.Parallel()
	in := `{"updated":"2026-11-27T10:15:30.123-0800","2026-01-02T03:04:05.000+0100":["2026-01-02T03:04:05.000+0100",{"d":"2026-01-02"}],"n":"not a time"}`
	got, err := decodeTree([]byte(in), true)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{
		"updated":                      "2026-11-27T18:15:30.123Z",
		"2026-01-02T03:04:05.000+0100": []any{"2026-01-02T02:04:05.000Z", map[string]any{"d": "2026-01-02"}},
		"n":                            "not a time",
	}, got)
	raw, err := decodeTree([]byte(in), false)
	require.NoError(t, err)
	assert.Equal(t, "2026-11-27T10:15:30.123-0800", raw.(map[string]any)["updated"], "without normalize the value is Jira's")
}

func BenchmarkDecodePage(b *testing.B) {
	sim := jirasim.New(jirasim.Options{Email: "e", Token: "t", Gen: jirasim.GenOptions{Seed: 1, Issues: 200, Projects: 2, Users: 20}})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/rest/api/2/search/jql?jql="+url.QueryEscape(`updated >= "2000-01-01"`)+"&fields=*all,-worklog&expand=changelog,transitions&maxResults=50", nil)
	req.SetBasicAuth("e", "t")
	resp, err := srv.Client().Do(req)
	require.NoError(b, err)
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(b, err)
	b.Run("decodeTree", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := decodeTree(data, false); err != nil {
				b.Fatal(err)
			}
		}
	})
	// As the tap reads issue pages: normalized, shaped.
	b.Run("shaped", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeShaped(data, true, IssuePage); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding_json", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.UseNumber()
			var v any
			if err := dec.Decode(&v); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestDecodeDoesNotCopyThePage: the tree's strings are views of the body
// itself, so decoding a page of long strings allocates far less than the
// page (a copy of it would allocate the page's size again). Not parallel:
// it reads the process's allocation counter.
func TestDecodeDoesNotCopyThePage(t *testing.T) {
	long := strings.Repeat("x", 64<<10)
	page := []byte(`["` + strings.Repeat(long+`","`, 15) + long + `"]`)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	v, err := decodeTree(page, false)
	runtime.ReadMemStats(&after)
	require.NoError(t, err)
	require.Len(t, v, 16)
	require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(len(page)/4), "decoding copied the page")
}

// Unescaped strings and normalized timestamps share the page's arena
// instead of an allocation each (three per string before), and both stay
// intact while later ones reuse the scratch buffers.
func TestDecodeStashesStrings(t *testing.T) {
	var b strings.Builder
	b.WriteString("{")
	for i := range 200 {
		fmt.Fprintf(&b, `"s%d": "line %d\nnext \"quoted\"", "t%d": "2026-01-02T03:04:%02d.000-0800",`, i, i, i, i%60)
	}
	b.WriteString(`"end": true}`)
	doc := []byte(b.String())
	allocs := testing.AllocsPerRun(20, func() {
		if _, err := decodeTree(bytes.Clone(doc), true); err != nil {
			t.Fatal(err)
		}
	})
	// The clone, the map, a few arena chunks and the slabs the 400
	// strings' interface values hold their headers in (box); 805 before
	// the arena, 405 before the slabs.
	assert.Less(t, allocs, 30.0)
	v, err := decodeTree(doc, true)
	require.NoError(t, err)
	m := v.(map[string]any)
	for i := range 200 {
		require.Equal(t, fmt.Sprintf("line %d\nnext \"quoted\"", i), m[fmt.Sprintf("s%d", i)])
		require.Equal(t, fmt.Sprintf("2026-01-02T11:04:%02d.000Z", i%60), m[fmt.Sprintf("t%d", i)])
	}
}

// The interfaces of a tree hold their strings, numbers and raw values in
// the decoder's slabs (box): those must stay the tree's, never written
// again when the decoder goes on to other documents.
func TestBoxedValuesOutliveTheirDecoder(t *testing.T) {
	doc := func(n int) []byte {
		var b strings.Builder
		b.WriteString("[")
		for i := range 300 {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `{"s":"%d-%d","n":%d.5,"e":"","r":{"k":"%d-%d"}}`, n, i, n*1000+i, n, i)
		}
		b.WriteString(`]`)
		return []byte(b.String())
	}
	rows := &Shape{Each: ChildRecord}
	kept, err := decodeShaped(doc(1), true, rows)
	require.NoError(t, err)
	for n := 2; n < 20; n++ {
		_, err := decodeShaped(doc(n), true, rows)
		require.NoError(t, err)
	}
	runtime.GC()
	vals := kept.([]any)
	require.Len(t, vals, 300)
	for i, v := range vals {
		assert.Equal(t, map[string]any{
			"s": fmt.Sprintf("1-%d", i),
			"n": json.Number(fmt.Sprintf("%d.5", 1000+i)),
			"e": "",
			"r": jsonscan.Raw(fmt.Sprintf(`{"k":"1-%d"}`, i)),
		}, v)
	}
}

// TestDecodedObjectsTakeOneMoreMember: a stream adds its issue's id to a
// record (a comment has eight members), which must not grow the map: the
// decoding and the addition allocate no more than the decoding alone.
// Not parallel: AllocsPerRun counts the whole process.
func TestDecodedObjectsTakeOneMoreMember(t *testing.T) {
	for n := 1; n <= 20; n++ {
		var members []string
		for i := range n {
			members = append(members, fmt.Sprintf(`"k%d":%d`, i, i))
		}
		doc := []byte(`{` + strings.Join(members, ",") + `}`)
		// A decoder of its own each time: the race detector's pool drops
		// one now and then, which would count as allocations.
		decode := func() map[string]any {
			d := &decoder{data: doc, s: string(doc)}
			v, err := d.value(0, Full)
			if err != nil {
				t.Fatal(err)
			}
			return v.(map[string]any)
		}
		alone := testing.AllocsPerRun(20, func() { decode() })
		added := testing.AllocsPerRun(20, func() { decode()["issueId"] = "1" })
		assert.Equal(t, alone, added, "%d members", n)
	}
}
