package jira

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"iter"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tap-jira/tap-jira/internal/singer"
)

// readWindows encodes what windows yields, a record a line, with the
// length of each window and the error it ends with, if any.
func readWindows(t *testing.T, windows iter.Seq2[[]Record, error]) (lines string, sizes []int, err error) {
	t.Helper()
	var b strings.Builder
	for recs, werr := range windows {
		if werr != nil {
			return b.String(), sizes, werr
		}
		require.NotEmpty(t, recs, "no empty windows")
		sizes = append(sizes, len(recs))
		for _, r := range recs {
			enc, err := singer.EncodeRecord(r)
			require.NoError(t, err)
			b.Write(enc)
			b.WriteByte('\n')
		}
	}
	return b.String(), sizes, nil
}

// checkWindows is the contract of changelogWindows: on any document it
// yields what the body held whole yields (the same records, encoded alike),
// and fails where that fails (after the windows before the fault),
// however the reader hands out its bytes. A document with a repeated key
// it may refuse instead.
func checkWindows(t *testing.T, data []byte, size int) {
	t.Helper()
	want, _, werr := readWindows(t, changelogInMemory(bytes.Clone(data)))
	for name, r := range map[string]io.Reader{
		"whole":       bytes.NewReader(data),
		"a byte at a": iotest.OneByteReader(bytes.NewReader(data)),
		"with EOF":    iotest.DataErrReader(bytes.NewReader(data)),
	} {
		got, _, gerr := readWindows(t, changelogWindows(r, size))
		if gerr != nil && errors.Is(gerr, errRepeatedKey) {
			continue
		}
		if (werr != nil) != (gerr != nil) {
			t.Fatalf("%s: acceptance differs on %q: whole %v, streamed %v", name, data, werr, gerr)
		}
		if werr == nil && got != want {
			t.Fatalf("%s: records differ on %q:\nwhole\n%s\nstreamed\n%s", name, data, want, got)
		}
	}
}

func entries(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, `{"id":"%d","author":{"accountId":"a%d","avatarUrls":{"16x16":"u"}},"created":"2026-01-02T03:04:05.000+0100","items":[{"field":"status","from":"1","to":"2"}],"note":"\u00e9\"]}"}`, i, i%3)
	}
	return b.String()
}

// TestChangelogWindowsAsWhole: an issue read from a stream gives the
// records, windows and errors the body held whole gives.
func TestChangelogWindowsAsWhole(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, doc string
		size      int
		sizes     []int  // of the streamed windows
		err       string // of the streamed read
	}{
		{name: "entries after other members", doc: `{"expand":"changelog","id":"7","self":"x","key":"K-7","fields":{"a":[1,{"b":null}]},"changelog":{"startAt":0,"maxResults":7,"total":7,"histories":[` + entries(7) + `]}}`, size: 3, sizes: []int{3, 3, 1}},
		{name: "a full last window", doc: `{"changelog":{"histories":[` + entries(6) + `]}}`, size: 3, sizes: []int{3, 3}},
		{name: "members after the entries", doc: ` { "changelog" : { "histories" : [ ` + entries(4) + ` ] , "total" : 4 } , "id" : "7" } `, size: 2, sizes: []int{2, 2}},
		{name: "an escaped key", doc: `{"change\u006cog":{"h\u0069stories":[` + entries(2) + `]}}`, size: 5, sizes: []int{2}},
		{name: "no changelog", doc: `{"id":"7"}`, size: 2},
		{name: "a null changelog", doc: `{"changelog":null}`, size: 2},
		{name: "null entries", doc: `{"changelog":{"histories":null}}`, size: 2},
		{name: "no entries", doc: `{"changelog":{"histories":[]}}`, size: 2},
		{name: "cut short", doc: `{"changelog":{"histories":[` + entries(5), size: 2, sizes: []int{2, 2}, err: "unexpected end of JSON input"},
		{name: "cut in a string", doc: `{"id":"7`, size: 2, err: "unexpected end of JSON input"},
		{name: "not an object", doc: `[1,2]`, size: 2, err: "expected a JSON object, got a list"},
		{name: "a changelog not an object", doc: `{"changelog":[]}`, size: 2, err: `"changelog": expected an object, got a list`},
		{name: "entries not a list", doc: `{"changelog":{"histories":"x"}}`, size: 2, err: `"histories": expected a list, got a string`},
		{name: "an entry not an object", doc: `{"changelog":{"histories":[` + entries(3) + `,7]}}`, size: 2, sizes: []int{2}, err: "expected a list of objects, item 1 is a number"},
		{name: "an entry not JSON", doc: `{"changelog":{"histories":[` + entries(3) + `,{"a":tru}]}}`, size: 2, sizes: []int{2}, err: "invalid character"},
		{name: "a member not JSON", doc: `{"fields":{"a":01},"changelog":{"histories":[]}}`, size: 2, err: "invalid JSON value"},
		{name: "a trailing comma", doc: `{"changelog":{"histories":[` + entries(1) + `,]}}`, size: 2, err: "invalid character"},
		{name: "more after the issue", doc: `{"changelog":null} {}`, size: 2, err: "invalid character after top-level value"},
		{name: "a key not a string", doc: `{changelog:null}`, size: 2, err: "looking for beginning of object key string"},
		{name: "a repeated changelog", doc: `{"changelog":{"histories":[]},"changelog":null}`, size: 2, err: "repeated key"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			checkWindows(t, []byte(c.doc), c.size)
			_, sizes, err := readWindows(t, changelogWindows(strings.NewReader(c.doc), c.size))
			assert.Equal(t, c.sizes, sizes)
			if c.err == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, c.err)
		})
	}
}

// TestChangelogWindowsStop: a consumer that stops taking windows is not
// given another, nor an error.
func TestChangelogWindowsStop(t *testing.T) {
	t.Parallel()
	calls := 0
	for range changelogWindows(strings.NewReader(`{"changelog":{"histories":[`+entries(5)+`]}}`), 2) {
		calls++
		break
	}
	assert.Equal(t, 1, calls)
}

func FuzzChangelogWindows(f *testing.F) {
	for _, s := range []string{
		`{"id":"7","changelog":{"total":3,"histories":[` + entries(3) + `]}}`,
		`{"changelog":{"histories":[{"id":"1","items":[]},{"id":"2","created":"2026-01-02T03:04:05.000-0530"}]},"x":[true,false,null,-0.5e3,"\ud83d\ude00"]}`,
		`{"changelog":null}`, `{"a":"\\\"","changelog":{"histories":[{"b":"]"}]}}`, `[]`, `"x"`, `{`, `{"changelog":{"histories":[{}]`,
	} {
		f.Add([]byte(s), uint8(2))
	}
	f.Fuzz(func(t *testing.T, data []byte, size uint8) {
		checkWindows(t, data, int(size%4)+1)
	})
}
