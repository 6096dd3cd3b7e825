package tap

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// The collector's settings a sync runs with: the heap may grow to 4x the
// live data between collections instead of 2x, which trades a little
// memory for CPU, and a soft limit keeps the process near 100 MiB, because
// a tap's live data is a few pages. BenchmarkIssuePage runs under them too.
//
// The soft limit follows the live heap up, to the live heap plus
// LimitHeadroom or LimitPerLive times it, whichever is more: a fixed
// limit near the live data makes the collector run without pause (Go lets
// it take half the CPU then), which doubled the CPU a record took at
// max_concurrency 32, where 32 pages in flight are 80 MB live, and would
// do the same at the default on a site whose pages are fatter than the
// simulator's. A headroom of 48 MiB keeps memory flat with the length of a
// run: under 2.5 times the live heap, which this rule replaced, peak RSS
// followed the highest live heap a run reached, and the 100k sync at 16
// in flight peaked at 121-152 MB against 105 MB at 20k (119-120 MB
// against 106-107 MB under this rule). Past 96 MiB live, half the live
// heap is the headroom, so the collector's work per byte allocated stays
// bounded where pages are fat (docs/performance.md, "The default at 16").
const (
	GCPercent     = 400
	MemoryLimit   = 100 << 20
	LimitHeadroom = 48 << 20
	LimitPerLive  = 1.5
)

// TuneGC sets them for the process; GOGC and GOMEMLIMIT, when set, win
// (a GOMEMLIMIT given is a limit the user wants kept, so it does not
// move). restore puts back what was set before (for a benchmark).
func TuneGC() (restore func()) {
	percent, limit := -2, int64(-1) // not changed
	if os.Getenv("GOGC") == "" {
		percent = debug.SetGCPercent(GCPercent)
	}
	var f *limitFollower
	if os.Getenv("GOMEMLIMIT") == "" {
		limit = debug.SetMemoryLimit(MemoryLimit)
		f = followLiveHeap(MemoryLimit)
	}
	return func() {
		if f != nil {
			f.stop()
		}
		if percent != -2 {
			debug.SetGCPercent(percent)
		}
		if limit >= 0 {
			debug.SetMemoryLimit(limit)
		}
	}
}

// limitFor is the soft limit for a live heap: at least floor, at least
// live plus LimitHeadroom and LimitPerLive times live, and the current
// limit kept unless the wanted one differs from it by an eighth or more
// (setting the limit stops the world, so it is moved seldom).
func limitFor(floor, live, current int64) (int64, bool) {
	want := max(floor, live+LimitHeadroom, int64(float64(live)*LimitPerLive))
	diff := want - current
	if diff < 0 {
		diff = -diff
	}
	return want, diff >= current/8
}

// limitFollower moves the soft limit after each collection, from the
// live heap that collection found. It runs as a cleanup of an object
// made for it, which the collector finds unreachable every cycle, so it
// costs no goroutine of its own and no polling.
type limitFollower struct {
	floor   int64
	sample  []metrics.Sample
	mu      sync.Mutex // held while the limit is moved, so that stop is final
	limit   int64      // as last set
	stopped bool
}

// sentinel is made once per cycle; big enough not to share its block
// with other tiny objects, which would keep it alive past its cycle.
type sentinel struct{ _ [32]byte }

func followLiveHeap(floor int64) *limitFollower {
	f := &limitFollower{floor: floor, limit: floor, sample: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}}
	f.arm()
	return f
}

func (f *limitFollower) arm() {
	runtime.AddCleanup(new(sentinel), (*limitFollower).afterGC, f)
}

func (f *limitFollower) afterGC() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopped {
		return
	}
	metrics.Read(f.sample)
	if f.sample[0].Value.Kind() != metrics.KindUint64 { // a runtime without it: the limit stays
		return
	}
	if want, move := limitFor(f.floor, int64(f.sample[0].Value.Uint64()), f.limit); move {
		debug.SetMemoryLimit(want)
		f.limit = want
	}
	f.arm()
}

// stop ends the following: no cleanup moves the limit after it returns,
// so the caller may set the limit it wants.
func (f *limitFollower) stop() {
	f.mu.Lock()
	f.stopped = true
	f.mu.Unlock()
}
