package jira

import (
	"context"
	"log/slog"
	"slices"
	"sync"
)

// gate bounds the requests in flight, all callers together, and adapts the
// bound to Jira's answers (additive increase, multiplicative decrease): a
// 429 halves it, since the requests in flight are what Jira's per-second
// burst limits count, and each run of successes as long as the bound
// raises it by one again, up to max. Without 429s it stays at max.
//
// It also remembers the bound Jira refused at, its ceiling, and climbs
// back to just below it as before but takes the step onto it only after
// probeRuns runs of successes. Refused there again, it steps back by one,
// not by half, and waits twice as long before the next try: a site whose
// limit is below max is refused now and then instead of at the top of
// every climb (78 refusals in a 100k sync at 16 against a limit of 10,
// each stalling the pages behind it for its Retry-After, and each climb
// back from half the bound slow). A run of successes at the ceiling shows
// Jira takes more now, and the ceiling is forgotten; a refusal below it
// is a new load and halves the bound as before.
//
// A slot is held for one try only, never while waiting to retry, so nested
// callers cannot deadlock. A freed slot goes to the waiting request of the
// lowest rank (WithPriority), the earliest among equals: the one the writer
// needs soonest.
type gate struct {
	mu        sync.Mutex
	max       int
	limit     int
	inFlight  int
	successes int       // since the bound last moved
	epoch     uint64    // bumped by every cut
	ceiling   int       // the bound Jira last refused at; 0 for none
	probeRuns int       // runs of successes before the step onto the ceiling
	waiting   []*waiter // requests waiting for a slot; never while one is free
	arrivals  uint64    // numbers the waiters, for ties
	log       *slog.Logger
}

// waiter is a request waiting for a slot; grant hands it one by closing
// ready.
type waiter struct {
	prio    []int
	arrival uint64
	epoch   uint64 // the gate's epoch when the slot was granted
	granted bool
	ready   chan struct{}
}

// First and most runs of successes, each as long as the bound, before the
// gate steps onto a ceiling again: the wait doubles at each refusal there.
const (
	firstProbeRuns = 4
	maxProbeRuns   = 64
)

func newGate(max int, log *slog.Logger) *gate {
	return &gate{max: max, limit: max, log: log}
}

// acquire waits for a slot. The epoch it returns tells release whether a
// 429 answers a request sent before the bound was last cut: the requests
// of one burst are all refused together, and only the first of their 429s
// may cut.
func (g *gate) acquire(ctx context.Context) (uint64, error) {
	g.mu.Lock()
	if g.inFlight < g.limit && len(g.waiting) == 0 {
		g.inFlight++
		epoch := g.epoch
		g.mu.Unlock()
		return epoch, nil
	}
	w := &waiter{prio: priorityOf(ctx), arrival: g.arrivals, ready: make(chan struct{})}
	g.arrivals++
	g.waiting = append(g.waiting, w)
	g.mu.Unlock()
	select {
	case <-w.ready:
		return w.epoch, nil
	case <-ctx.Done():
		g.mu.Lock()
		defer g.mu.Unlock()
		if w.granted {
			// Granted as the caller gave up: the slot goes on.
			g.inFlight--
			g.grant()
		} else {
			g.waiting = slices.DeleteFunc(g.waiting, func(o *waiter) bool { return o == w })
		}
		return 0, context.Cause(ctx)
	}
}

// grant hands free slots to the waiters that come first. The caller holds
// g.mu.
func (g *gate) grant() {
	for g.inFlight < g.limit && len(g.waiting) > 0 {
		best := 0
		for i, w := range g.waiting[1:] {
			if w.before(g.waiting[best]) {
				best = i + 1
			}
		}
		w := g.waiting[best]
		g.waiting = slices.Delete(g.waiting, best, best+1)
		g.inFlight++
		w.granted, w.epoch = true, g.epoch
		close(w.ready)
	}
}

func (w *waiter) before(o *waiter) bool {
	if c := slices.Compare(w.prio, o.prio); c != 0 {
		return c < 0
	}
	return w.arrival < o.arrival
}

// outcome is what a try's answer says about the bound.
type outcome int

const (
	neutral   outcome = iota // an error that says nothing about load
	succeeded                // a 2xx
	refused                  // a 429
)

func (g *gate) release(epoch uint64, o outcome) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.inFlight--
	switch {
	case o == refused && epoch == g.epoch:
		g.epoch++
		g.successes = 0
		if g.limit > 1 {
			// One warning per episode of throttling, not one per cut.
			level := slog.LevelDebug
			if g.limit == g.max {
				level = slog.LevelWarn
			}
			if g.limit == g.ceiling {
				// Refused again where it was before, after runs of
				// successes one below: the site's limit, not a new load.
				// Back one step, and wait longer before the next try.
				g.probeRuns = min(2*g.probeRuns, maxProbeRuns)
				g.limit--
			} else {
				g.ceiling, g.probeRuns = g.limit, firstProbeRuns
				g.limit = max(1, g.limit/2)
			}
			g.log.Log(context.Background(), level, "Jira is rate limiting: fewer requests in flight until it stops", "max_in_flight", g.limit)
		}
	case o == succeeded && g.limit < g.max:
		need := g.limit
		if g.limit+1 == g.ceiling {
			need *= g.probeRuns
		}
		if g.successes++; g.successes >= need {
			if g.ceiling > 0 && g.limit >= g.ceiling {
				g.ceiling = 0
			}
			g.limit++
			g.successes = 0
			g.log.Debug("requests in flight raised again", "max_in_flight", g.limit)
		}
	}
	g.grant()
}

// bound is the number of requests let in flight at once now.
func (g *gate) bound() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.limit
}

type priorityKey struct{}

// WithPriority ranks the requests made with the returned context among
// those waiting for a slot, under ctx's own rank: lower first, compared
// as paths (a group of streams, then a page within it, then a list within
// the page), a path before its extensions. Callers number what they fetch
// in the order it will be written, so that when the requests in flight are
// at their bound, what the writer needs next is fetched next instead of a
// page far ahead of it or a group written later.
func WithPriority(ctx context.Context, rank int) context.Context {
	return context.WithValue(ctx, priorityKey{}, append(slices.Clip(priorityOf(ctx)), rank))
}

func priorityOf(ctx context.Context) []int {
	p, _ := ctx.Value(priorityKey{}).([]int)
	return p
}
