package state_test

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tap-jira/tap-jira/internal/state"
)

func TestIDSetRoundTrip(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		ids  []int64
	}{
		{"empty", nil},
		{"zero", []int64{0}},
		{"one run", []int64{10000, 10001, 10002, 10003}},
		{"unsorted with duplicates", []int64{7, 3, 3, 5, 4, 10, 9}},
		{"max", []int64{math.MaxInt64 - 1, math.MaxInt64, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			set, err := state.NewIDSet(tc.ids)
			require.NoError(t, err)
			want := slices.Compact(slices.Sorted(slices.Values(tc.ids)))
			assert.Equal(t, want, nilIfEmpty(slices.Collect(set.All())))
			assert.EqualValues(t, len(want), set.Len())
			back, err := state.DecodeIDSet(set.Encode())
			require.NoError(t, err)
			assert.Equal(t, want, nilIfEmpty(slices.Collect(back.All())))
			for _, id := range want {
				assert.True(t, back.Contains(id))
			}
			assert.False(t, back.Contains(-1))
		})
	}
	_, err := state.NewIDSet([]int64{-1})
	assert.Error(t, err)
}

// TestIDSetWith compares With against a plain map: the result holds both
// sets' ids, ranges merged (its encoding is that of the set built from
// scratch), and the set it was called on is unchanged.
func TestIDSetWith(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		have, add []int64
	}{
		{"both empty", nil, nil},
		{"into empty", nil, []int64{5, 3}},
		{"nothing added", []int64{1, 2, 3}, nil},
		{"adjacent on both sides", []int64{1, 2, 6, 7}, []int64{3, 4, 5}},
		{"already there", []int64{1, 2, 3}, []int64{2, 3}},
		{"spans several", []int64{1, 5, 9, 20}, []int64{2, 3, 4, 6, 7, 8, 10, 11}},
		{"around the edges", []int64{0, math.MaxInt64}, []int64{1, math.MaxInt64 - 1}},
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 50 {
		var have, add []int64
		for range rng.IntN(200) {
			have = append(have, rng.Int64N(300))
		}
		for range rng.IntN(50) {
			add = append(add, rng.Int64N(300))
		}
		cases = append(cases, struct {
			name      string
			have, add []int64
		}{fmt.Sprint("random ", i), have, add})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			set, err := state.NewIDSet(tc.have)
			require.NoError(t, err)
			before := set.Encode()
			got, err := set.With(tc.add)
			require.NoError(t, err)
			all := map[int64]bool{}
			for _, id := range append(slices.Clone(tc.have), tc.add...) {
				all[id] = true
			}
			want := slices.Sorted(maps.Keys(all))
			assert.Equal(t, nilIfEmpty(want), nilIfEmpty(slices.Collect(got.All())))
			assert.EqualValues(t, len(want), got.Len())
			fresh, err := state.NewIDSet(want)
			require.NoError(t, err)
			assert.Equal(t, fresh.Encode(), got.Encode(), "ranges merged as a fresh set's")
			assert.Equal(t, before, set.Encode(), "the set With was called on is unchanged")
		})
	}
	set, err := state.NewIDSet([]int64{1})
	require.NoError(t, err)
	_, err = set.With([]int64{-2})
	assert.Error(t, err)
}

func nilIfEmpty(s []int64) []int64 {
	if len(s) == 0 {
		return nil
	}
	return s
}

func TestDecodeIDSetRejects(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, in string }{
		{"no prefix", "AAAA"},
		{"bad base64", "v1:***"},
		{"padded base64", "v1:AA=="},
		{"truncated pair", "v1:AQ"},          // gap 1, no length
		{"unterminated varint", "v1:gA"},     // 0x80
		{"too many ids", "v1:AP____8P"},      // one run of 2^32 ids
		{"past int64", "v1:_v__________AQA"}, // MaxInt64, then another range
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := state.DecodeIDSet(tc.in)
			assert.Error(t, err)
		})
	}
}

// TestIDSetSize pins what the set costs in every STATE: for 10,000 issue ids
// as one project among several leaves them (gaps of 1-6) and as a whole
// site does (a gap every 50 or so).
func TestIDSetSize(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		gap     func(r *rand.Rand) int64
		maxSize int
	}{
		{"one project of three", func(r *rand.Rand) int64 { return 1 + r.Int64N(6) }, 14_000},
		{"whole site", func(r *rand.Rand) int64 {
			if r.IntN(50) == 0 {
				return 2 + r.Int64N(3)
			}
			return 1
		}, 1_000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := rand.New(rand.NewPCG(1, 2))
			ids := make([]int64, 10_000)
			id := int64(10_000)
			for i := range ids {
				ids[i] = id
				id += tc.gap(r)
			}
			set, err := state.NewIDSet(ids)
			require.NoError(t, err)
			enc := set.Encode()
			t.Logf("%s: %d bytes for %d ids", tc.name, len(enc), len(ids))
			assert.Less(t, len(enc), tc.maxSize)
		})
	}
}

func TestKnownIDsAndTimeKeys(t *testing.T) {
	t.Parallel()
	s := state.New()
	assert.Nil(t, s.KnownIDs("issues", "a"))
	set, err := state.NewIDSet([]int64{1, 2, 5})
	require.NoError(t, err)
	s.SetKnownIDs("issues", "a", set)
	require.NotNil(t, s.KnownIDs("issues", "a"))
	assert.Nil(t, s.KnownIDs("issues", "b"), "another scope's ids are not these")

	t1 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	assert.True(t, s.AdvanceTime("worklogs", state.KeyDeleted, t1))
	assert.False(t, s.AdvanceTime("worklogs", state.KeyDeleted, t1.Add(-time.Hour)), "never backwards")
	assert.True(t, s.Time("worklogs", state.KeyDeleted).Equal(t1))

	doc := toJSON(t, s.Value())
	again, _ := parse(t, doc)
	assert.Equal(t, []int64{1, 2, 5}, slices.Collect(again.KnownIDs("issues", "a").All()))
	assert.True(t, again.Time("worklogs", state.KeyDeleted).Equal(t1))
	assert.True(t, again.Updated("worklogs").IsZero(), "the deleted feed does not move updated")

	s.SetKnownIDs("issues", "a", nil)
	assert.NotContains(t, toJSON(t, s.Value()), state.KeyKnownIDs)
}

func TestParseRejectsCorruptDeleteKeys(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, doc, want string }{
		{"deleted not a time", `{"bookmarks": {"worklogs": {"deleted": "soon"}}}`, "bookmarks.worklogs.deleted"},
		{"deleted a number", `{"bookmarks": {"worklogs": {"deleted": 5}}}`, "bookmarks.worklogs.deleted"},
		{"known_ids not an object", `{"bookmarks": {"issues": {"known_ids": "v1:"}}}`, "bookmarks.issues.known_ids"},
		{"known_ids bad set", `{"bookmarks": {"issues": {"known_ids": {"scope": "x", "ids": "v1:gA"}}}}`, "bookmarks.issues.known_ids: ids"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := state.Parse(strings.NewReader(tc.doc), streams)
			var serr *state.Error
			require.ErrorAs(t, err, &serr)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}
