package jira

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadBody(t *testing.T) {
	t.Parallel()
	body := strings.Repeat(`{"id":"10001"},`, 1000)
	cut := errors.New("connection reset")
	tests := []struct {
		name    string
		r       io.Reader
		size    int64
		want    string
		wantErr error
	}{
		{"announced", strings.NewReader(body), int64(len(body)), body, nil},
		{"announced, a byte at a time", iotest.OneByteReader(strings.NewReader(body)), int64(len(body)), body, nil},
		{"unknown length", strings.NewReader(body), -1, body, nil},
		{"empty", strings.NewReader(""), 0, "", nil},
		{"longer than announced", strings.NewReader(body), 10, body, nil},
		{"announced beyond the bound", strings.NewReader(body), maxPresized + 1, body, nil},
		{"shorter than announced", strings.NewReader(body), int64(len(body)) + 1, "", io.ErrUnexpectedEOF},
		{"cut inside", io.MultiReader(strings.NewReader(body[:100]), iotest.ErrReader(cut)), int64(len(body)), "", cut},
		{"cut after the announced bytes", io.MultiReader(strings.NewReader(body), iotest.ErrReader(cut)), int64(len(body)), "", cut},
		{"cut, length unknown", io.MultiReader(strings.NewReader(body[:100]), iotest.ErrReader(cut)), -1, "", cut},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := readBody(tt.r, tt.size)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, string(got))
		})
	}
}

// TestReadBodyAllocatesOnce holds a body of known length to one buffer:
// io.ReadAll's growing chunks and final copy cost a page's size twice.
// Not parallel: AllocsPerRun counts the whole process.
func TestReadBodyAllocatesOnce(t *testing.T) {
	page := bytes.Repeat([]byte("x"), 900<<10) // a bulkfetch page of 100 issues
	var got []byte
	allocs := testing.AllocsPerRun(20, func() {
		got, _ = readBody(bytes.NewReader(page), int64(len(page)))
	})
	assert.Equal(t, len(page), len(got))
	assert.LessOrEqual(t, allocs, 2.0, "the buffer and the bytes.Reader")
}
