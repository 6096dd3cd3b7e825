package streams

import (
	"context"
	"iter"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/tap-jira/tap-jira/internal/jira"
)

// ordered fetches items with at most n fetches in flight and hands the
// results to emit one at a time, in the order of items. Output order, and so
// the meaning of every STATE, is the same as a sequential run's; at most
// n+1 results wait at once (2n+1 while a fetch waits to retry, below), so
// memory does not grow with the stream (it grows with n, the
// max_concurrency the user chose). Each fetch's requests
// rank by its item's place (jira.WithPriority), so that a fetch the writer
// waits for goes before those far ahead of it. The first error stops
// everything.
//
// A fetch sitting out a wait before a retry (a 429's Retry-After, a
// backoff after a 5xx) holds no request slot but does hold its place in
// the window, and the writer waits for it: with a window of n, the fetches
// behind it filled the window within a round trip or two and the requests
// stopped until its retry came back (a second, for Jira's burst limits).
// So while any fetch waits the window is 2n, and the fetches behind it go
// on meanwhile; otherwise it is n, since fetches far ahead of the writer
// only take slots from the lists of the pages it needs first (a window of
// 2n throughout made the 20k sync a fifth slower).
func ordered[T, R any](ctx context.Context, n int, items iter.Seq[T], fetch func(context.Context, T) (R, error), emit func(R) error) error {
	return orderedIn(ctx, newWindow(n), items, fetch, emit)
}

// orderedIn is ordered within the window w (newWindow, or one that widens
// later).
func orderedIn[T, R any](ctx context.Context, w *window, items iter.Seq[T], fetch func(context.Context, T) (R, error), emit func(R) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		r   R
		err error
	}
	// Results wait here until their turn, each holding a page of records.
	// A fetch starts only once its place is queued, so the window's size
	// is what lets n be in flight while the writer waits for the oldest.
	queue := make(chan chan result, 2*max(w.n, w.wide))
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer close(queue)
		rank := 0
		for item := range items {
			if !w.enter(gctx) {
				return nil
			}
			ch := make(chan result, 1)
			queue <- ch
			ictx := jira.WithRetryWaits(jira.WithPriority(gctx, rank), w.waits)
			rank++
			g.Go(func() error {
				r, err := fetch(ictx, item)
				w.fetched()
				ch <- result{r, err}
				return nil // reported in order by the consumer
			})
		}
		return nil
	})
	var firstErr error
	for ch := range queue {
		w.leave()
		if firstErr != nil {
			continue // drain so the producer can finish
		}
		res := <-ch
		if res.err == nil {
			res.err = emit(res.r)
		}
		if res.err != nil {
			firstErr = res.err
			cancel()
		}
	}
	_ = g.Wait()
	if firstErr == nil && ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return firstErr
}

// window bounds ordered's fetches in flight, and its results queued
// ahead of the one the writer waits for, each to n, or 2n while a fetch
// waits to retry.
type window struct {
	mu       sync.Mutex
	n        int
	queued   int
	inFlight int
	waiting  int
	changed  chan struct{} // poked when a place may have opened
	// widen, once closed, takes n to wide (widenAt).
	widen <-chan struct{}
	wide  int
}

func newWindow(n int) *window {
	return &window{n: max(1, n), changed: make(chan struct{}, 1)}
}

// widenAt makes the window n wide once at is closed (nil: never).
func (w *window) widenAt(at <-chan struct{}, n int) *window {
	w.widen, w.wide = at, max(w.n, n)
	return w
}

// enter takes a place, waiting for one; false if ctx ends first.
func (w *window) enter(ctx context.Context) bool {
	for {
		w.mu.Lock()
		size := w.n
		if w.waiting > 0 {
			size *= 2
		}
		if w.queued < size && w.inFlight < size {
			w.queued++
			w.inFlight++
			w.mu.Unlock()
			return true
		}
		widen := w.widen
		w.mu.Unlock()
		select {
		case <-w.changed:
		case <-widen: // a nil channel never is
			w.mu.Lock()
			w.n, w.widen = w.wide, nil
			w.mu.Unlock()
		case <-ctx.Done():
			return false
		}
	}
}

// fetched frees a fetch's place in flight.
func (w *window) fetched() {
	w.mu.Lock()
	w.inFlight--
	w.mu.Unlock()
	w.poke()
}

// leave frees the queued place of the result the writer takes next.
func (w *window) leave() {
	w.mu.Lock()
	w.queued--
	w.mu.Unlock()
	w.poke()
}

// waits hears of a fetch starting (+1) or ending (-1) a wait to retry.
func (w *window) waits(delta int) {
	w.mu.Lock()
	w.waiting += delta
	w.mu.Unlock()
	if delta > 0 {
		w.poke()
	}
}

func (w *window) poke() {
	select {
	case w.changed <- struct{}{}:
	default:
	}
}

// each runs f for every item with at most n in flight and returns the
// first error. Requests rank by their item's place, as ordered's do.
func each[T any](ctx context.Context, n int, items []T, f func(context.Context, T) error) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(1, n))
	for i, it := range items {
		ictx := jira.WithPriority(gctx, i)
		g.Go(func() error { return f(ictx, it) })
	}
	return g.Wait()
}

// readAhead iterates seq in its own goroutine, up to depth items ahead of
// the consumer, so that the round trip for the next page overlaps the work
// on this one (the id pages of a Cloud scan would otherwise stall the
// bulkfetch pipeline once per 5000 issues). Items and errors arrive in
// seq's order; seq stops after its first error. A consumer that stops early
// waits at most for the item being fetched.
func readAhead[T any](ctx context.Context, depth int, seq iter.Seq2[T, error]) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		items, stop := startAhead(ctx, depth, seq)
		defer stop()
		for v, err := range items {
			if !yield(v, err) {
				return
			}
		}
	}
}

// startAhead is readAhead started now, before its items are wanted (a
// feed read while another is being written). items may be ranged over
// once; stop ends the reading and waits for it, and must be called.
func startAhead[T any](ctx context.Context, depth int, seq iter.Seq2[T, error]) (items iter.Seq2[T, error], stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	type item struct {
		v   T
		err error
	}
	ch := make(chan item, depth)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(ch)
		for v, err := range seq {
			select {
			case ch <- item{v, err}:
			case <-ctx.Done():
				return
			}
			if err != nil || ctx.Err() != nil {
				return // never start another fetch for a consumer that left
			}
		}
	}()
	items = func(yield func(T, error) bool) {
		for it := range ch {
			if !yield(it.v, it.err) {
				return
			}
		}
	}
	return items, func() {
		cancel()
		<-done // the goroutine ends with at most the fetch in hand
	}
}
