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
