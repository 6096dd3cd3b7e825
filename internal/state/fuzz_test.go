package state_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tap-jira/tap-jira/internal/state"
)

func FuzzParse(f *testing.F) {
	f.Add([]byte(singerIOSample))
	f.Add([]byte(`{"bookmarks": {"issues": {"updated": "2026-10-21T12:00:23.738000Z", "known_ids": {"scope": "sha256:0011", "ids": "v1:oZwBBAY"}},
		"worklogs": {"updated": "2026-10-20T10:00:23.738000Z", "deleted": "2026-10-20T10:00:23.738000Z"}}}`))
	f.Add([]byte(`{"bookmarks": {"issues": {"updated": "2026-10-21T12:00:23.738000Z", "scope": "sha256:0011", "streams": ["issues"],
		"backfill": {"streams": ["changelogs"], "updated": "2026-01-02T03:04:05.000000Z"}}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, _, err := state.Parse(bytes.NewReader(data), streams)
		if err != nil {
			var serr *state.Error
			require.ErrorAs(t, err, &serr)
			assert.Nil(t, s)
			return
		}
		require.NotNil(t, s.Bookmarks)
		v := s.Value()
		b, err := json.Marshal(v)
		require.NoError(t, err)

		again, warnings, err := state.Parse(bytes.NewReader(b), streams)
		require.NoError(t, err, "re-parsing %s", b)
		assert.Equal(t, v, again.Value())
		for stream := range s.Bookmarks {
			assert.Equal(t, s.Updated(stream).Truncate(1000), again.Updated(stream))
		}
		// What we write is the canonical shape.
		for _, w := range warnings {
			assert.NotContains(t, w, "flat Singer shape")
			assert.NotContains(t, w, "is empty")
		}
	})
}

// FuzzDecodeIDSet holds the id-set decoder to untrusted input: it either
// rejects the string or returns a set that encodes back to an equal set.
func FuzzDecodeIDSet(f *testing.F) {
	for _, ids := range [][]int64{nil, {0}, {10000, 10001, 10002, 10007}, {1 << 40, 1<<40 + 1}} {
		set, err := state.NewIDSet(ids)
		require.NoError(f, err)
		f.Add(set.Encode())
	}
	f.Add("v1:gA")
	f.Add("v1:_v__________AQA")
	f.Fuzz(func(t *testing.T, s string) {
		set, err := state.DecodeIDSet(s)
		if err != nil {
			return
		}
		require.LessOrEqual(t, set.Len(), int64(state.MaxIDs))
		again, err := state.DecodeIDSet(set.Encode())
		require.NoError(t, err)
		assert.Equal(t, set.Len(), again.Len())
		assert.Equal(t, set.Encode(), again.Encode())
		if set.Len() <= 1000 {
			var n int64
			prev := int64(-1)
			for id := range set.All() {
				require.Greater(t, id, prev)
				require.True(t, again.Contains(id))
				prev = id
				n++
			}
			assert.Equal(t, set.Len(), n)
		}
	})
}
