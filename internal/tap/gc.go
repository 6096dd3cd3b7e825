package tap

import (
	"os"
	"runtime/debug"
)

// The collector's settings a sync runs with: the heap may grow to 4x the
// live data between collections instead of 2x, which trades a little
// memory for CPU, and a soft limit keeps the process near 100 MiB, because
// a tap's live data is a few pages. BenchmarkIssuePage runs under them too.
const (
	GCPercent   = 400
	MemoryLimit = 100 << 20
)

// TuneGC sets them for the process; GOGC and GOMEMLIMIT, when set, win.
// restore puts back what was set before (for a benchmark).
func TuneGC() (restore func()) {
	percent, limit := -2, int64(-1) // not changed
	if os.Getenv("GOGC") == "" {
		percent = debug.SetGCPercent(GCPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		limit = debug.SetMemoryLimit(MemoryLimit)
	}
	return func() {
		if percent != -2 {
			debug.SetGCPercent(percent)
		}
		if limit >= 0 {
			debug.SetMemoryLimit(limit)
		}
	}
}
