package tap

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLimitFor(t *testing.T) {
	t.Parallel()
	const floor, mib = int64(MemoryLimit), int64(1 << 20)
	for _, tc := range []struct {
		name          string
		live, current int64
		want          int64
		move          bool
	}{
		{"little live data keeps the floor", 10 * mib, floor, floor, false},
		{"just under the floor's share", 52 * mib, floor, floor, false},
		{"16 pages in flight, 60 MiB live: not an eighth more", 60 * mib, floor, 108 * mib, false},
		{"32 pages in flight: the headroom", 82 * mib, floor, 130 * mib, true},
		{"fat pages: half the live heap", 170 * mib, floor, 255 * mib, true},
		{"a small change is not worth a stop", 84 * mib, 130 * mib, 132 * mib, false},
		{"an eighth more moves it", 100 * mib, 120 * mib, 150 * mib, true},
		{"live data gone: back to the floor", 2 * mib, 205 * mib, floor, true},
		{"down by less than an eighth stays", 76 * mib, 130 * mib, 124 * mib, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			want, move := limitFor(floor, tc.live, tc.current)
			assert.Equal(t, tc.want, want)
			assert.Equal(t, tc.move, move)
		})
	}
}

// TestSoftLimitFollowsTheLiveHeap runs the process's collector for real,
// so it is not parallel (t.Setenv): the parallel tests wait for it.
func TestSoftLimitFollowsTheLiveHeap(t *testing.T) {
	for _, tc := range []struct {
		name, gomemlimit string
		follows          bool
	}{
		{"the tap's limit follows", "", true},
		{"a GOMEMLIMIT given is kept", "300MiB", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("GOGC", "")
			t.Setenv("GOMEMLIMIT", tc.gomemlimit)
			before := debug.SetMemoryLimit(-1)
			restore := TuneGC()
			first := debug.SetMemoryLimit(-1)
			if tc.follows {
				require.Equal(t, int64(MemoryLimit), first)
			} else {
				require.Equal(t, before, first, "a GOMEMLIMIT given is not overridden")
			}

			live := make([]byte, 80<<20) // past MemoryLimit-LimitHeadroom
			raised := int64(len(live)) + LimitHeadroom
			if !tc.follows {
				collect(3)
				runtime.KeepAlive(live)
				assert.Equal(t, before, debug.SetMemoryLimit(-1), "the limit moved though GOMEMLIMIT was given")
				restore()
				return
			}
			got := waitForLimit(func(l int64) bool { return l >= raised })
			runtime.KeepAlive(live) // dead from here: the limit must come back down
			require.GreaterOrEqual(t, got, raised, "the limit did not follow 80 MiB of live data up")
			require.Equal(t, int64(MemoryLimit), waitForLimit(func(l int64) bool { return l == MemoryLimit }),
				"the limit did not come back down when the data died")

			restore()
			require.Equal(t, before, debug.SetMemoryLimit(-1))
			keep := make([]byte, 80<<20)
			collect(3)
			runtime.KeepAlive(keep)
			assert.Equal(t, before, debug.SetMemoryLimit(-1), "a cleanup moved the limit after restore")
		})
	}
}

// waitForLimit collects until the soft limit satisfies ok, for up to 3 s
// (the follower runs as a cleanup, after a collection), and returns it.
func waitForLimit(ok func(int64) bool) int64 {
	deadline := time.Now().Add(3 * time.Second)
	for {
		runtime.GC()
		time.Sleep(5 * time.Millisecond)
		l := debug.SetMemoryLimit(-1)
		if ok(l) || time.Now().After(deadline) {
			return l
		}
	}
}

// collect runs n collections, giving the cleanups after each time to run.
func collect(n int) {
	for range n {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
}
