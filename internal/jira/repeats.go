package jira

import (
	"encoding/json"
	"maps"
	"strings"

	"github.com/tap-jira/tap-jira/internal/jsonscan"
)

// Objects of a Repeats shape come back many times: a transition on every
// issue its workflow offers it on, an issue's status on every issue in it
// (users are kept raw whole: see ChangelogRecord). Such a map holds only
// values nothing writes into (strings, numbers, booleans, Raw: what is
// nested is kept raw), so a repeat is given the map its reading built, or
// a clone of it where a stream writes into the map (a record), for a
// fraction of reading it again. A repeat is found as raw finds one: by the
// hash of its first cacheKey input bytes, in the document's cache, then
// in the run's (sharedObjects), and by comparing the input that follows
// with the input the map was read from: a complete object the input starts
// with is that object. Comments and worklogs are not looked up: each is
// met once, and many of them start with the same author, which would take
// turns in the run's cache.

// repeats reports whether objects of shape s are looked up as repeats.
func (s *Shape) repeats() bool {
	return s != nil && s.Repeats && s.Members == nil && s.Each == nil && s.Long == 0
}

// cachedObject is an object that repeats, read from the document: its
// input and the map it gave, which was handed out too, shared or to a
// record. Clones of it are only made while the document is read, before
// anything writes into its maps.
type cachedObject struct {
	in     string
	m      map[string]any
	shared bool
}

// cachedObject returns the map the object at from gives if a cache holds
// it, and moves past its input; otherwise nil. A shared reading gets the
// cached map itself, unless a record was given it; a record, a clone.
func (d *decoder) cachedObject(h uint64, from, depth int, shared bool) map[string]any {
	for _, c := range d.objects[h] {
		if strings.HasPrefix(d.s[from:], c.in) && depth+len(c.in) <= maxDepth {
			d.i = from + len(c.in)
			if shared && c.shared {
				return c.m
			}
			return maps.Clone(c.m)
		}
	}
	if e := sharedObjects.find(h, d.s[from:], d.normalize); e != nil && depth+len(e.in) <= maxDepth {
		d.i = from + len(e.in)
		if shared {
			return e.v // the run's maps are never given to a record
		}
		return maps.Clone(e.v)
	}
	return nil
}

// keepObject keeps an object that repeats, just read from in, for the
// rest of the document, and offers it to the run's cache.
func (d *decoder) keepObject(h uint64, in string, m map[string]any, shared bool) {
	if d.objects == nil {
		d.objects = map[uint64][]cachedObject{}
	}
	cs := d.objects[h]
	if len(cs) == maxCachedUnder {
		cs = append(cs[:0], cs[1:]...) // the oldest makes room
	}
	d.objects[h] = append(cs, cachedObject{in, m, shared})
	if len(in) <= maxShared {
		sharedObjects.offer(h, in, d.normalize, func() map[string]any { return lastingCopy(m) })
	}
}

// sharedObjects is the run's cache (runCache) of the maps of objects that
// repeat. Its maps are copies whose strings are copies too (lastingCopy),
// so no page stays alive for them; they are handed out as the document's
// are.
var sharedObjects runCache[map[string]any]

// lastingCopy copies the map of an object that repeats with its keys and
// values, which are views of a page.
func lastingCopy(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		switch t := v.(type) {
		case string:
			v = strings.Clone(t)
		case json.Number:
			v = json.Number(strings.Clone(string(t)))
		case jsonscan.Raw:
			v = jsonscan.Raw(strings.Clone(string(t)))
		}
		out[strings.Clone(k)] = v
	}
	return out
}
