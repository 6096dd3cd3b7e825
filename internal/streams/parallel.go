package streams

import (
	"context"
	"iter"

	"golang.org/x/sync/errgroup"

	"github.com/tap-jira/tap-jira/internal/jira"
)

// ordered fetches items with at most n fetches in flight and hands the
// results to emit one at a time, in the order of items. Output order, and so
// the meaning of every STATE, is the same as a sequential run's; at most
// n+1 results wait at once, so memory does not grow with the stream (it
// grows with n, the max_concurrency the user chose). Each fetch's requests
// rank by its item's place (jira.WithPriority), so that a fetch the writer
// waits for goes before those far ahead of it. The first error stops
// everything.
func ordered[T, R any](ctx context.Context, n int, items iter.Seq[T], fetch func(context.Context, T) (R, error), emit func(R) error) error {
	n = max(1, n)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		r   R
		err error
	}
	// Results wait here until their turn, each holding a page of records.
	// A fetch starts only once its place is queued, so the queue's size is
	// what lets n be in flight while the writer waits for the oldest.
	queue := make(chan chan result, n)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(n + 1) // n fetches plus the producer
	g.Go(func() error {
		defer close(queue)
		rank := 0
		for item := range items {
			ch := make(chan result, 1)
			select {
			case queue <- ch:
			case <-gctx.Done():
				return nil
			}
			ictx := jira.WithPriority(gctx, rank)
			rank++
			g.Go(func() error {
				r, err := fetch(ictx, item)
				ch <- result{r, err}
				return nil // reported in order by the consumer
			})
		}
		return nil
	})
	var firstErr error
	for ch := range queue {
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
