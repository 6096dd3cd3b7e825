package schema

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"unique"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tap-jira/tap-jira/internal/jsonscan"
)

// memoSchema has two members whose objects differ only in the type of
// their "name".
func memoSchema(t *testing.T) *Schema {
	t.Helper()
	s, err := Compile("memo", map[string]any{"type": "object", "properties": map[string]any{
		"u": map[string]any{"type": "object", "properties": map[string]any{"name": map[string]any{"type": "string"}}},
		"v": map[string]any{"type": "object", "properties": map[string]any{"name": map[string]any{"type": "integer"}}},
	}})
	require.NoError(t, err)
	return s
}

// padded is a raw object long enough to be remembered.
func padded(name string) jsonscan.Raw {
	return jsonscan.Raw(`{"name":` + name + `,"pad":"` + strings.Repeat("p", minMemoized) + `"}`)
}

func TestRawMemoTrustsOnlyTheSameBytesForTheSameNode(t *testing.T) {
	t.Parallel()
	s := memoSchema(t)
	u, v := s.fast.properties["u"], s.fast.properties["v"]
	named := padded(`"ann"`)
	at := func(n *fastNode, r jsonscan.Raw) *atomic.Pointer[memoEntry] {
		i, _ := n.slotOf(string(r))
		return &s.fast.memo.slots[i][0] // the newer of its set
	}
	require.True(t, s.fast.valid(map[string]any{"u": named}))
	require.Nil(t, at(u, named).Load(), "a value met once is not copied")
	again := jsonscan.Raw(strings.Clone(string(named))) // as another page holds it
	require.True(t, s.fast.valid(map[string]any{"u": again}))
	e := at(u, named).Load()
	require.NotNil(t, e, "an accepted value met again is remembered")
	assert.NotSame(t, unsafe.StringData(string(named)), unsafe.StringData(e.raw), "as a copy, not a view of its page")
	assert.NotSame(t, unsafe.StringData(string(again)), unsafe.StringData(e.raw), "as a copy, not a view of its page")
	assert.Same(t, unsafe.StringData(unique.Make(string(named)).Value()), unsafe.StringData(e.raw),
		"the process's canonical copy, which the decoder's run cache gives too")

	// What the memo holds is used, wherever the bytes are: with u's name
	// now required to be an integer, the bytes u accepted before still
	// pass without a walk.
	name := u.properties["name"]
	saved := name.types
	name.types = tInteger
	assert.True(t, u.valid(named), "the bytes accepted before must be found in the memo")
	assert.True(t, u.valid(jsonscan.Raw(strings.Clone(string(named)))), "at any address")
	name.types = saved
	long := jsonscan.Raw(`{"name":"ann","pad":"` + strings.Repeat("p", maxMemoized) + `"}`)
	for range 2 {
		require.True(t, s.fast.valid(map[string]any{"u": long}))
	}
	assert.Nil(t, at(u, long).Load(), "a value longer than maxMemoized is walked, not kept")

	// Other bytes in the slot, of the same length, are walked, not
	// trusted.
	numbered := padded(`12345`)
	require.Len(t, numbered, len(named))
	at(u, numbered).Store(&memoEntry{node: u, raw: string(named)})
	assert.False(t, s.fast.valid(map[string]any{"u": numbered}))
	// The same bytes under another node are walked again: there the name
	// must be an integer.
	at(v, named).Store(&memoEntry{node: u, raw: string(named)})
	assert.False(t, s.fast.valid(map[string]any{"v": named}))
	assert.True(t, s.fast.valid(map[string]any{"v": numbered}))
}

func TestRawMemoNeverRemembersARefusal(t *testing.T) {
	t.Parallel()
	s := memoSchema(t)
	bad := padded(`true`)
	for range 3 {
		assert.False(t, s.fast.valid(map[string]any{"u": bad}))
	}
	for _, e := range entries(s) {
		assert.NotEqual(t, string(bad), e.raw)
	}
	short := jsonscan.Raw(`{"name":"a"}`)
	for range 2 { // met twice, as a value is copied
		assert.True(t, s.fast.valid(map[string]any{"u": short}))
	}
	for _, e := range entries(s) {
		assert.NotEqual(t, string(short), e.raw, "a value shorter than minMemoized is walked, not kept")
	}
}

// entries is every entry s's memo holds.
func entries(s *Schema) []*memoEntry {
	var out []*memoEntry
	for i := range s.fast.memo.slots {
		for w := range s.fast.memo.slots[i] {
			if e := s.fast.memo.slots[i][w].Load(); e != nil {
				out = append(out, e)
			}
		}
	}
	return out
}

// TestRawMemoKeepsTwoValuesOfASet: values whose hashes fall in the same
// set (users' avatars, among a site's hundreds) are met in turns; both
// are kept and found, with no walk and no copy at each turn, and a third
// pushes the older out.
func TestRawMemoKeepsTwoValuesOfASet(t *testing.T) {
	t.Parallel()
	s := memoSchema(t)
	u := s.fast.properties["u"]
	bySet := map[uint64][]jsonscan.Raw{}
	var same []jsonscan.Raw
	for n := 0; len(same) < 3; n++ {
		r := padded(fmt.Sprintf(`"user %d"`, n))
		i, _ := u.slotOf(string(r))
		bySet[i] = append(bySet[i], r)
		if len(bySet[i]) == 3 {
			same = bySet[i]
		}
	}
	a, b, c := same[0], same[1], same[2]
	kept := func(r jsonscan.Raw) *memoEntry {
		for _, e := range entries(s) {
			if e.raw == string(r) {
				return e
			}
		}
		return nil
	}
	for _, r := range []jsonscan.Raw{a, a, b, b} { // each met twice: kept
		require.True(t, u.valid(r))
	}
	ea, eb := kept(a), kept(b)
	require.NotNil(t, ea)
	require.NotNil(t, eb)
	for range 3 {
		for _, r := range []jsonscan.Raw{a, b} {
			require.True(t, u.valid(r))
		}
	}
	assert.Same(t, ea, kept(a), "found, not walked and copied again")
	assert.Same(t, eb, kept(b))
	for range 2 {
		require.True(t, u.valid(c))
	}
	assert.NotNil(t, kept(c))
	assert.Nil(t, kept(a), "the older pushed out")
	assert.NotNil(t, kept(b))
}

// Records are validated by many goroutines at once (run with -race).
func TestRawMemoConcurrently(t *testing.T) {
	t.Parallel()
	s := memoSchema(t)
	values := []jsonscan.Raw{padded(`"a"`), padded(`"b"`), padded(`1`), padded(`2`), padded(`null`)}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				r := values[(g+i)%len(values)]
				isString := r[8] == '"'
				isInt := r[8] >= '0' && r[8] <= '9'
				assert.Equal(t, isString, s.fast.valid(map[string]any{"u": r}))
				assert.Equal(t, isInt, s.fast.valid(map[string]any{"v": r}))
			}
		})
	}
	wg.Wait()
}
