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
// Jira Cloud scopes its burst limits to one endpoint and method and says
// which limit refused a request (RateLimit-Reason: jira-burst-based); its
// guide asks clients to slow down requests to that endpoint only. So each
// endpoint (method and path template) also has a lane with a bound of its
// own that adapts the same way to the refusals that name it, while the
// other endpoints keep the whole bound: on a site that refuses more than 4
// of one endpoint at once, a 429 from the issue batches no longer halves
// the comment, changelog and worklog reads beside them. A 429 that names
// no endpoint's limit (a quota, Data Center's token bucket, an older site)
// cuts the whole bound, as before.
//
// A slot is held for one try only, never while waiting to retry, so nested
// callers cannot deadlock. A freed slot goes to the waiting request of the
// lowest rank (WithPriority), the earliest among equals, whose lane has
// room: the one the writer needs soonest.
type gate struct {
	mu       sync.Mutex
	all      adaptive // the bound on all requests together
	inFlight int
	lanes    map[string]*lane
	waiting  []*waiter // requests waiting for a slot; none could take a free one
	arrivals uint64    // numbers the waiters, for ties
	log      *slog.Logger
}

// adaptive is one bound and what moves it.
type adaptive struct {
	max       int
	limit     int
	successes int    // since the bound last moved
	epoch     uint64 // bumped by every cut
	ceiling   int    // the bound Jira last refused at; 0 for none
	probeRuns int    // runs of successes before the step onto the ceiling
}

// lane is one endpoint's share of the gate.
type lane struct {
	key      string // method and path template
	bound    adaptive
	inFlight int
}

// waiter is a request waiting for a slot; grant hands it one by closing
// ready.
type waiter struct {
	prio    []int
	arrival uint64
	lane    *lane
	ticket  ticket // set when the slot is granted
	granted bool
	ready   chan struct{}
}

// ticket is a slot held: the epochs tell release whether a 429 answers a
// request sent before its bound was last cut. The requests of one burst
// are all refused together, and only the first of their 429s may cut.
type ticket struct {
	lane             *lane
	epoch, laneEpoch uint64
}

// First and most runs of successes, each as long as the bound, before the
// gate steps onto a ceiling again: the wait doubles at each refusal there.
const (
	firstProbeRuns = 4
	maxProbeRuns   = 64
)

func newGate(max int, log *slog.Logger) *gate {
	return &gate{all: adaptive{max: max, limit: max}, lanes: map[string]*lane{}, log: log}
}

// setMax makes max the bound of the gate and of every lane, as newGate
// would, and hands out the slots it frees; the same max changes nothing.
func (g *gate) setMax(max int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if max == g.all.max {
		return
	}
	// Epochs go on: a 429 to a request sent before is no news.
	g.all = adaptive{max: max, limit: max, epoch: g.all.epoch}
	for _, l := range g.lanes {
		l.bound = adaptive{max: max, limit: max, epoch: l.bound.epoch}
	}
	g.grant()
}

// acquire waits for a slot for a request to the endpoint named by key.
func (g *gate) acquire(ctx context.Context, key string) (ticket, error) {
	g.mu.Lock()
	l := g.lanes[key]
	if l == nil {
		l = &lane{key: key, bound: adaptive{max: g.all.max, limit: g.all.max}}
		g.lanes[key] = l
	}
	// Every waiter is one that no free slot could take (grant runs
	// whenever a slot or a bound frees up), so a slot free for this lane
	// is this request's.
	if g.inFlight < g.all.limit && l.inFlight < l.bound.limit {
		t := g.take(l)
		g.mu.Unlock()
		return t, nil
	}
	w := &waiter{prio: priorityOf(ctx), arrival: g.arrivals, lane: l, ready: make(chan struct{})}
	g.arrivals++
	g.waiting = append(g.waiting, w)
	g.mu.Unlock()
	select {
	case <-w.ready:
		return w.ticket, nil
	case <-ctx.Done():
		g.mu.Lock()
		defer g.mu.Unlock()
		if w.granted {
			// Granted as the caller gave up: the slot goes on.
			g.inFlight--
			l.inFlight--
			g.grant()
		} else {
			g.waiting = slices.DeleteFunc(g.waiting, func(o *waiter) bool { return o == w })
		}
		return ticket{}, context.Cause(ctx)
	}
}

// take hands out a slot of lane l. The caller holds g.mu.
func (g *gate) take(l *lane) ticket {
	g.inFlight++
	l.inFlight++
	return ticket{lane: l, epoch: g.all.epoch, laneEpoch: l.bound.epoch}
}

// grant hands free slots to the waiters that come first among those whose
// lane has room. The caller holds g.mu.
func (g *gate) grant() {
	for g.inFlight < g.all.limit && len(g.waiting) > 0 {
		best := -1
		for i, w := range g.waiting {
			if w.lane.inFlight < w.lane.bound.limit && (best < 0 || w.before(g.waiting[best])) {
				best = i
			}
		}
		if best < 0 {
			return // every waiter's lane is full
		}
		w := g.waiting[best]
		g.waiting = slices.Delete(g.waiting, best, best+1)
		w.granted, w.ticket = true, g.take(w.lane)
		close(w.ready)
	}
}

func (w *waiter) before(o *waiter) bool {
	if c := slices.Compare(w.prio, o.prio); c != 0 {
		return c < 0
	}
	return w.arrival < o.arrival
}

// outcome is what a try's answer says about the bounds.
type outcome int

const (
	neutral   outcome = iota // an error that says nothing about load
	succeeded                // a 2xx
	refused                  // a 429 that names no endpoint's limit
	// refusedHere is a 429 from the burst limit of the request's own
	// endpoint and method (RateLimit-Reason: jira-burst-based).
	refusedHere
)

func (g *gate) release(t ticket, o outcome) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.inFlight--
	t.lane.inFlight--
	switch o {
	case refused:
		if cut, fromMax := g.all.refuse(t.epoch); cut {
			// One warning per episode of throttling, not one per cut.
			g.log.Log(context.Background(), episodeLevel(fromMax), "Jira is rate limiting: fewer requests in flight until it stops", "max_in_flight", g.all.limit)
		}
	case refusedHere:
		if cut, fromMax := t.lane.bound.refuse(t.laneEpoch); cut {
			g.log.Log(context.Background(), episodeLevel(fromMax), "Jira is rate limiting an endpoint: fewer requests to it in flight until it stops", "endpoint", t.lane.key, "max_in_flight", t.lane.bound.limit)
		}
	case succeeded:
		if g.all.succeed() {
			g.log.Debug("requests in flight raised again", "max_in_flight", g.all.limit)
		}
		if t.lane.bound.succeed() {
			g.log.Debug("requests to an endpoint in flight raised again", "endpoint", t.lane.key, "max_in_flight", t.lane.bound.limit)
		}
	}
	g.grant()
}

func episodeLevel(fromMax bool) slog.Level {
	if fromMax {
		return slog.LevelWarn
	}
	return slog.LevelDebug
}

// refuse takes a 429 to a request sent at epoch; it reports whether the
// bound was cut, and whether it was cut from max (a new episode).
func (a *adaptive) refuse(epoch uint64) (cut, fromMax bool) {
	if epoch != a.epoch {
		return false, false // one of a burst already answered
	}
	a.epoch++
	a.successes = 0
	if a.limit <= 1 {
		return false, false
	}
	fromMax = a.limit == a.max
	if a.limit == a.ceiling {
		// Refused again where it was before, after runs of successes one
		// below: the site's limit, not a new load. Back one step, and
		// wait longer before the next try.
		a.probeRuns = min(2*a.probeRuns, maxProbeRuns)
		a.limit--
	} else {
		a.ceiling, a.probeRuns = a.limit, firstProbeRuns
		a.limit = max(1, a.limit/2)
	}
	return true, fromMax
}

// succeed takes a 2xx; it reports whether the bound was raised.
func (a *adaptive) succeed() bool {
	if a.limit >= a.max {
		return false
	}
	need := a.limit
	if a.limit+1 == a.ceiling {
		need *= a.probeRuns
	}
	if a.successes++; a.successes < need {
		return false
	}
	if a.ceiling > 0 && a.limit >= a.ceiling {
		a.ceiling = 0
	}
	a.limit++
	a.successes = 0
	return true
}

// bound is the number of requests let in flight at once now, all
// endpoints together.
func (g *gate) bound() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.all.limit
}

// laneBound is the number of requests to the endpoint named by key let in
// flight at once now.
func (g *gate) laneBound(key string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if l := g.lanes[key]; l != nil {
		return l.bound.limit
	}
	return g.all.max
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

// WithFirstPriority ranks the requests made with the returned context
// before every ranked request waiting for a slot. It is for a chain of
// small requests, each sent once the one before has answered (a feed
// followed page by page): a page among parallel ones that waits for a slot
// delays itself, but a link of a chain delays every link after it, and a
// chain starved by the pages around it can end the sync on its own.
func WithFirstPriority(ctx context.Context) context.Context {
	return context.WithValue(ctx, priorityKey{}, []int(nil))
}

func priorityOf(ctx context.Context) []int {
	p, _ := ctx.Value(priorityKey{}).([]int)
	return p
}
