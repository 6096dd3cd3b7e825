package jira

import (
	"context"
	"fmt"
	"iter"

	"golang.org/x/sync/errgroup"
)

// A list read by startAt slides when a record before the page being read is
// removed, or the list is reordered, between two requests: the next page
// starts one record late and that record is not read. For the tap's
// full-table lists (projects, versions, components, users) that is a row
// the target drops at ACTIVATE_VERSION until the next run; for an issue's
// comments, one that only comes back when the issue changes again. So each
// page after the first is asked for from one record earlier, and its first
// record must be the one the page before ended with. When it is not, the
// list is read on from the last record that joins, and from its start if
// even that one moved, the records already given skipped by their key.

// maxRereads bounds the times a list is read again because it changed
// while it was read; maxPagesAtOnce bounds the pages of one list requested
// at once (an issue with 2000 comments, or a total that is not to be
// believed), the rest come a window of pages at a time.
const (
	maxRereads     = 10
	maxPagesAtOnce = 20
)

// pageReader reads the records of a list from startAt (at most size) and,
// given how many records of the list precede their end, whether the list
// ends there. It is called for several pages at once.
type pageReader func(ctx context.Context, startAt, size int) ([]Record, func(at int) bool, error)

// readPage is a page of a window as read.
type readPage struct {
	startAt int
	records []Record
	ends    func(at int) bool
}

// overlapped iterates a list read by startAt, asking size records a page.
// known is how long the list is said to be (0 if that is not known): the
// pages it implies are requested at once, up to maxPagesAtOnce, and come a
// window at a time; an issue with 300 histories costs one round trip
// instead of a chain of three. Otherwise the pages come one at a time.
// Where Jira gives fewer records than asked without ending the list, the
// pages to come are spaced by what it gave.
func overlapped(ctx context.Context, path string, size, known int, read pageReader) iter.Seq2[[]Record, error] {
	return func(yield func([]Record, error) bool) {
		given := map[string]bool{}
		at, last := 0, "" // records of the list read, and the key of the last
		for rereads := 0; ; {
			// The pages that reach known from at: the first page holds
			// size records, each later one size-1 more.
			n, start := 1, at
			if at > 0 {
				start = at - 1
				n = max(1, (known-at+size-2)/(size-1))
			} else if known > size {
				n = 1 + (known-size+size-2)/(size-1)
			}
			pages, err := readWindow(ctx, read, start, size, min(n, maxPagesAtOnce))
			if err != nil {
				yield(nil, err)
				return
			}
			var fresh []Record
			from, ended := at, false
			for _, p := range pages {
				recs := p.records
				if at > 0 {
					if p.startAt != at-1 || len(recs) == 0 || (last != "" && recordKey(recs[0]) != last) {
						break // the next window starts from at
					}
					// Only the record it overlaps: nothing follows it.
					if recs = recs[1:]; len(recs) == 0 {
						ended = true
						break
					}
				}
				for _, r := range recs {
					if k := recordKey(r); k == "" || !given[k] {
						if k != "" {
							given[k] = true
						}
						fresh = append(fresh, r)
					}
				}
				if len(recs) == 0 {
					ended = true // an empty list
					break
				}
				at += len(recs)
				last = recordKey(recs[len(recs)-1])
				if ended = p.ends(at); ended {
					break
				}
				if got := len(p.records); got < size && got > 1 {
					size = got // Jira's cap on a page: the stride of the pages to come
				}
			}
			if len(fresh) > 0 && !yield(fresh, nil) {
				return
			}
			if ended {
				return
			}
			if at == from {
				// Even the record the list was read up to has moved: read it
				// again from the start.
				if rereads++; rereads > maxRereads {
					yield(nil, fmt.Errorf("GET %s: the list kept changing while it was read (%d times)", path, maxRereads))
					return
				}
				at, last = 0, ""
			}
		}
	}
}

// readWindow reads n pages of size records, size-1 apart from start, at
// once.
func readWindow(ctx context.Context, read pageReader, start, size, n int) ([]readPage, error) {
	pages := make([]readPage, n)
	if n == 1 {
		recs, ends, err := read(ctx, start, size)
		pages[0] = readPage{start, recs, ends}
		return pages, err
	}
	g, gctx := errgroup.WithContext(ctx)
	for i := range pages {
		g.Go(func() error {
			at := start + i*(size-1)
			recs, ends, err := read(gctx, at, size)
			pages[i] = readPage{at, recs, ends}
			return err
		})
	}
	return pages, g.Wait()
}

// recordKey is what names a record of a list: its id, or a user's
// accountId or (Data Center) key; "" when it has none, and then pages are
// joined by position alone.
func recordKey(r Record) string {
	for _, k := range []string{"id", "accountId", "key"} {
		if v, ok := r[k]; ok && v != nil {
			return k + "=" + fmt.Sprint(v)
		}
	}
	return ""
}
