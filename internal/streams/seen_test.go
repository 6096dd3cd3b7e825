package streams

import (
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// checkSeen adds ids to a seenIDs and to a map, and compares what Add said
// and what All yields.
func checkSeen(t *testing.T, ids []string) {
	t.Helper()
	var s seenIDs
	want := map[string]bool{}
	for _, id := range ids {
		require.Equal(t, !want[id], s.Add(id), "Add(%q)", id)
		want[id] = true
	}
	assert.Equal(t, len(want), s.Len())
	got := slices.Collect(s.All())
	assert.Len(t, got, len(want))
	for _, id := range got {
		assert.True(t, want[id], "All yields %q, never added", id)
	}
	// Numbers come in ascending order, the other ids after them.
	var nums []uint64
	for _, id := range got {
		if n, ok := decimalID(id); ok {
			nums = append(nums, n)
		}
	}
	assert.True(t, slices.IsSorted(nums))
	assert.Equal(t, len(nums), len(got)-len(seenOdd(got)))
}

func seenOdd(ids []string) []string {
	var odd []string
	for _, id := range ids {
		if _, ok := decimalID(id); !ok {
			odd = append(odd, id)
		}
	}
	return odd
}

func TestSeenIDs(t *testing.T) {
	t.Parallel()
	span := func(from, n, step int) []string {
		var ids []string
		for i := range n {
			ids = append(ids, strconv.Itoa(from+i*step))
		}
		return ids
	}
	shuffled := func(ids []string) []string {
		r := rand.New(rand.NewPCG(1, 2))
		r.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
		return ids
	}
	tests := []struct {
		name string
		ids  []string
	}{
		{"repeats", []string{"10001", "10002", "10001", "10002", "10003"}},
		{"zero and leading zeros are other ids", []string{"0", "7", "007", "07", "7", "00", "0"}},
		{"not numbers", []string{"", "-1", "+1", "1.0", "1e3", "abc", " 1", "-1", "abc"}},
		{"beyond 18 digits", []string{"999999999999999999", "1000000000000000000", "18446744073709551616", "1000000000000000000"}},
		{"chunk edges", []string{"65535", "65536", "0", "131071", "131072", "65536", "65535"}},
		// One chunk filled past the size at which its list turns into bits,
		// then every id again.
		{"list turns into bits", append(shuffled(span(70000, 5000, 1)), span(70000, 5000, 1)...)},
		{"sparse across chunks", append(shuffled(span(10000, 3000, 977)), span(10000, 3000, 977)...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			checkSeen(t, tt.ids)
		})
	}
}

func FuzzSeenIDs(f *testing.F) {
	f.Add("10001,10002,10001")
	f.Add("0,00,007,7,-1,,1e3")
	f.Add("65535,65536,131072,18446744073709551616")
	f.Fuzz(func(t *testing.T, list string) {
		ids := strings.Split(list, ",")
		if len(ids) > 10000 {
			return
		}
		checkSeen(t, ids)
	})
}

// TestSeenIDsAreCompact holds the set to a few bytes an id: the ids of a
// run are kept to its end, so a map of strings (40 bytes an id, measured)
// made memory grow with the site. Not parallel: it reads the heap's size.
func TestSeenIDsAreCompact(t *testing.T) {
	const n = 1_000_000
	tests := []struct {
		name    string
		step    int     // distance between ids
		perID   float64 // bytes an id at most
		inOrder bool
	}{
		// A one-year sync of a busy site: most ids of a range, in the
		// order issues were updated.
		{"dense", 1, 0.5, false},
		// A project among many on a large site: one id in a hundred.
		{"sparse", 100, 5, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ids := make([]string, n)
			for i := range ids {
				ids[i] = strconv.Itoa(10000 + i*tt.step)
			}
			rand.New(rand.NewPCG(3, 4)).Shuffle(n, func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
			before := heapInUse()
			var s seenIDs
			for _, id := range ids {
				s.Add(id)
			}
			after := heapInUse()
			require.Equal(t, n, s.Len())
			perID := float64(after-before) / n
			t.Logf("%.2f bytes an id", perID)
			assert.Less(t, perID, tt.perID)
			runtime.KeepAlive(&s)
			runtime.KeepAlive(ids) // alive through both readings, so only the set counts
		})
	}
}

func heapInUse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
