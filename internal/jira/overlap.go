package jira

import (
	"fmt"
	"iter"
)

// A list read by startAt slides when a record before the page being read is
// removed, or the list is reordered, between two requests: the next page
// starts one record late and that record is not read. For the tap's
// full-table lists (projects, versions, components, users) that is a row
// the target drops at ACTIVATE_VERSION until the next run. So each page
// after the first is asked for from one record earlier, and its first
// record must be the one the page before ended with. When it is not, the
// list is read again from its start, the records already given skipped by
// their key.

// maxRereads bounds the times a list is read again because it changed
// while it was read.
const maxRereads = 10

// overlapped iterates a list read by startAt through read, which returns
// the records from startAt (at most size) and, given how many records of
// the list precede their end, whether the list ends there.
func overlapped(path string, pageSize int, read func(startAt, size int) ([]Record, func(at int) bool, error)) iter.Seq2[[]Record, error] {
	return func(yield func([]Record, error) bool) {
		given := map[string]bool{}
		for rereads := 0; ; rereads++ {
			if rereads > maxRereads {
				yield(nil, fmt.Errorf("GET %s: the list kept changing while it was read (%d times)", path, maxRereads))
				return
			}
			done, stop := overlappedOnce(pageSize, read, given, yield)
			if done || stop {
				return
			}
		}
	}
}

// overlappedOnce reads the list from its start once. done says it reached
// the end or failed, stop that the consumer stopped; neither, that the list
// changed and must be read again.
func overlappedOnce(pageSize int, read func(startAt, size int) ([]Record, func(at int) bool, error), given map[string]bool, yield func([]Record, error) bool) (done, stop bool) {
	at, last := 0, ""
	for {
		start, size := at, pageSize
		if last != "" {
			start, size = at-1, pageSize+1
		}
		recs, ends, err := read(start, size)
		if err != nil {
			yield(nil, err)
			return true, false
		}
		if last != "" {
			if len(recs) == 0 || recordKey(recs[0]) != last {
				return false, false
			}
			recs = recs[1:]
		}
		if len(recs) == 0 {
			return true, false
		}
		at += len(recs)
		last = recordKey(recs[len(recs)-1])
		fresh := recs[:0:0]
		for _, r := range recs {
			if k := recordKey(r); k == "" || !given[k] {
				if k != "" {
					given[k] = true
				}
				fresh = append(fresh, r)
			}
		}
		if len(fresh) > 0 && !yield(fresh, nil) {
			return false, true
		}
		if ends(at) {
			return true, false
		}
	}
}

// recordKey is what names a record of a list: its id, or a user's
// accountId or (Data Center) key; "" when it has none, and then the next
// page is read without overlap.
func recordKey(r Record) string {
	for _, k := range []string{"id", "accountId", "key"} {
		if v, ok := r[k]; ok && v != nil {
			return k + "=" + fmt.Sprint(v)
		}
	}
	return ""
}
