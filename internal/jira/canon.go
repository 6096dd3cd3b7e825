package jira

import (
	"hash/maphash"
	"slices"
	"strings"
	"sync/atomic"
	"unique"
	"unsafe"

	"github.com/tap-jira/tap-jira/internal/jsonscan"
)

// Shape says which objects and arrays of a response the tap reads, and so
// decodes into maps and slices; every other object or array is kept as a
// jsonscan.Raw, its canonical encoding, which costs a fraction of building
// the maps and is written out by a copy. A nil *Shape means "keep raw".
type Shape struct {
	Members map[string]*Shape // an object's members by name
	Each    *Shape            // the other members of an object; every element of an array
	// Long, for an array: one with more elements than this comes out as a
	// *LongList, checked but not built, decoded later a window at a time.
	Long int
	// Repeats, for an object that keeps what is nested in it raw: the same
	// one comes back many times (a transition, a status), and a repeat is
	// given the map its first reading gave (repeats.go): a clone of it
	// for a record, which a stream writes into (its issue's id), the map
	// itself when Shared, for an object nested in a record, which nothing
	// writes into (selection copies a nested value before it edits it).
	Repeats, Shared bool
}

// Full decodes everything: the shape of any response the tap does not
// shape on purpose.
var Full = func() *Shape {
	s := &Shape{}
	s.Each = s
	return s
}()

func (s *Shape) member(k string) *Shape {
	if c, ok := s.Members[k]; ok {
		return c
	}
	return s.Each
}

// ChildRecord decodes a record's own members and keeps what is nested in
// them raw: a comment, a worklog. RepeatedRecord is one met many times: a
// transition, on every issue its workflow offers it on. RepeatedValue is
// such an object nested in a record: an issue's status.
var (
	ChildRecord    = &Shape{}
	RepeatedRecord = &Shape{Repeats: true}
	RepeatedValue  = &Shape{Repeats: true, Shared: true}
)

// IssuePage is the shape of a page of issues (search, search/jql and
// bulkfetch): of each issue, what the streams read to derive comments,
// changelogs, transitions and status history, and the issue's own members;
// user, project, status and custom field objects nested in fields stay raw.
// The envelope (issues, total, tokens, errors) is decoded whole, so a
// malformed page is reported as before.
var IssuePage = &Shape{Members: map[string]*Shape{"issues": {Each: IssueRecord}}, Each: Full}

// IssueRecord is the shape of one issue in an IssuePage.
// The streams read the status's own members (its id and name), so its
// category stays raw; the creator stays raw whole, its account id read
// from the bytes.
var IssueRecord = &Shape{Members: map[string]*Shape{
	"fields": {Members: map[string]*Shape{
		"comment": {Members: map[string]*Shape{"comments": {Each: ChildRecord}}, Each: Full},
		"status":  RepeatedValue,
	}},
	"changelog":   {Members: map[string]*Shape{"histories": {Each: ChangelogRecord, Long: LongFrom}}, Each: Full},
	"transitions": {Each: RepeatedRecord},
}}

// ChangelogRecord is the shape of one changelog entry: its items are read
// for status history, and its author stays raw (status history reads the
// account id from the raw bytes: a user built as a map cost more to
// encode, in every changelog and status record, than reading it saved).
var ChangelogRecord = &Shape{Members: map[string]*Shape{"items": {Each: ChildRecord}}}

// CommentPage, ChangelogPage and WorklogList are the shapes of the child
// endpoints' pages: each record's own members, with what is nested kept
// raw (a changelog entry's author and items are read for status history).
var (
	CommentPage   = &Shape{Members: map[string]*Shape{"comments": {Each: ChildRecord}}, Each: Full}
	ChangelogPage = &Shape{Members: map[string]*Shape{
		"values":    {Each: ChangelogRecord},
		"changelog": {Members: map[string]*Shape{"histories": {Each: ChangelogRecord, Long: LongFrom}}, Each: Full},
	}, Each: Full}
	WorklogList = &Shape{Each: ChildRecord}
	// ChangelogBulk is a page of /changelog/bulkfetch: entries grouped by
	// issue. Its groups are checked but not built (a LongList): a page
	// waits for its turn as its bytes, a quarter of its tree, and is
	// decoded a few groups at a time as it is written.
	ChangelogBulk = &Shape{Members: map[string]*Shape{
		"issueChangeLogs": {Each: &Shape{Members: map[string]*Shape{"changeHistories": {Each: ChangelogRecord}}, Each: Full}, Long: 1},
	}, Each: Full}
)

type canonMember struct {
	key        string
	start, end int // the member's canonical encoding in tmp, "key":value
}

// arenaChunk bounds the arenas a document's Raw values share (a larger value
// gets one of its own), so one page holds a few of them, not one per value.
const arenaChunk = 64 << 10

// raw reads the object or array at d.i into its canonical encoding: what
// the tap's encoder writes for the tree decoding it would give (sorted keys,
// a repeated key's last value, encoding/json's string escapes, timestamps
// normalized when d.normalize). It accepts and rejects what value does.
func (d *decoder) raw(depth int) (any, error) {
	base, from := len(d.tmp), d.i
	// The same user, project or status comes back many times in a page,
	// and page after page: bytes already read give the same Raw (their
	// first reading checked them), shared rather than rebuilt. A value is
	// looked up by a hash of its first cacheKey bytes, in the document's
	// cache, then in the run's (shared), and found by comparing what
	// follows with the bytes of a value cached under it: a complete object
	// or array that the input starts with is the value there, so its end
	// needs no scan.
	var h uint64
	if d.cached && len(d.s)-from >= cacheKey {
		h = maphash.String(cacheSeed, d.s[from:from+cacheKey])
		for _, c := range d.cache[h] {
			if strings.HasPrefix(d.s[from:], c.in) {
				d.i = from + len(c.in)
				return c.raw, nil
			}
		}
		if e := shared.find(h, d.s[from:], d.normalize); e != nil {
			d.i = from + len(e.in)
			return e.v.raw, nil
		}
	}
	defer func() { d.tmp = d.tmp[:base] }()
	if err := d.canon(depth); err != nil {
		return nil, err
	}
	r := d.box(rawType, d.stash(d.tmp[base:])) // boxed once, for its repeats too
	if h != 0 && d.i-from >= cacheKey {
		if d.cache == nil {
			d.cache = map[uint64][]cachedValue{}
		}
		cs := d.cache[h]
		if len(cs) == maxCachedUnder {
			cs = append(cs[:0], cs[1:]...) // the oldest makes room
		}
		d.cache[h] = append(cs, cachedValue{d.s[from:d.i], r})
		if d.i-from <= maxShared {
			shared.offer(h, d.s[from:d.i], d.normalize, func() rawCopy {
				keep := unique.Make(string(r.(jsonscan.Raw)))
				return rawCopy{jsonscan.Raw(keep.Value()), keep}
			})
		}
	}
	return r, nil
}

// cachedValue is a value of the document read raw: its input bytes and
// its canonical encoding (a jsonscan.Raw, boxed).
type cachedValue struct {
	in  string
	raw any
}

// shared holds copies of raw values met in one document and again in
// another (the run's users, projects, statuses, avatar sets): a page
// finds them without rebuilding them, for a hash and a comparison.
// sharedObjects (repeats.go) holds the maps of objects that repeat alike.
// Its copies, not views of a page, keep no page alive; sharedSlots times
// maxShared bounds their memory (4 MiB with the input copies).
var shared runCache[rawCopy]

// rawCopy is a raw value's canonical encoding, a boxed jsonscan.Raw whose
// bytes are keep's: the process's canonical copy (unique), which the
// schema check's memo holds too, and so finds this value by its address
// instead of comparing its bytes.
type rawCopy struct {
	raw  any
	keep unique.Handle[string]
}

// runCache is a run's cache of values read from pages, by the hash of
// their first input bytes. It is direct-mapped and lock-free, as pages are
// decoded side by side; a newer value takes a slot over. A value is copied
// the second time in a row its slot is offered it (seen holds the hash of
// the whole input last offered there), so one met in a single page (an
// issue's watches, its votes) costs no copy, nor do values that only share
// their first bytes (a multi-select's options, versions: the same first
// option, then others), which would otherwise take the slot in turns, a
// copy each time (7 thousand copies a 20k sync).
type runCache[V any] struct {
	slots [sharedSlots]atomic.Pointer[runEntry[V]]
	seen  [sharedSlots]atomic.Uint64
}

type runEntry[V any] struct {
	in         string // the value's input bytes
	v          V
	normalized bool // with timestamps normalized (the decoder's option)
}

const (
	sharedBits  = 10
	sharedSlots = 1 << sharedBits
	maxShared   = 2 << 10
)

var cacheSeed, offerSeed = maphash.MakeSeed(), maphash.MakeSeed()

func sharedSlot(h uint64) uint64 { return h >> (64 - sharedBits) }

// find returns the entry of the value the input rest starts with, if the
// slot of h holds it, read with the same option.
func (c *runCache[V]) find(h uint64, rest string, normalized bool) *runEntry[V] {
	if e := c.slots[sharedSlot(h)].Load(); e != nil && e.normalized == normalized && strings.HasPrefix(rest, e.in) {
		return e
	}
	return nil
}

// offer keeps the value read from in, as lasting gives its copy, the
// second time in a row its slot is offered it.
func (c *runCache[V]) offer(h uint64, in string, normalized bool, lasting func() V) {
	i := sharedSlot(h)
	if w := maphash.String(offerSeed, in); c.seen[i].Swap(w) != w {
		return
	}
	if e := c.slots[i].Load(); e != nil && e.in == in && e.normalized == normalized {
		return
	}
	c.slots[i].Store(&runEntry[V]{in: strings.Clone(in), v: lasting(), normalized: normalized})
}

// stash copies b into the document's arena and returns the copy. The
// arena's bytes are never written again once appended: the strings and Raw
// values are views of them.
func (d *decoder) stash(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if cap(d.arena)-len(d.arena) < len(b) {
		// What is left of the document bounds what it can still need
		// (escapes aside), so a small document gets a small arena.
		d.arena = make([]byte, 0, max(len(b), min(arenaChunk, len(b)+len(d.data)-d.i)))
	}
	at := len(d.arena)
	d.arena = append(d.arena, b...)
	return unsafe.String(&d.arena[at], len(b))
}

// keep returns a string str read that lasts: one unescaped in the scratch
// buffer is stashed, one that is a view of the document already lasts.
func (d *decoder) keep(s string) string {
	if !d.transient {
		return s
	}
	return d.stash(unsafe.Slice(unsafe.StringData(s), len(s)))
}

// cacheKey is how many of a value's first bytes it is cached under: enough
// to reach the id in the "self" URL that Jira writes first in users,
// projects and statuses, so different ones seldom share a key; a shorter
// value is not cached (rebuilding it costs about what finding it would).
// maxCachedUnder bounds the values kept under one key. minCachedDoc is the
// smallest document worth a cache: only pages pay it back.
const (
	cacheKey       = 160
	maxCachedUnder = 8
	minCachedDoc   = 32 << 10
)

func (d *decoder) canon(depth int) error {
	if d.i >= len(d.data) {
		return errEnd
	}
	if depth > maxDepth {
		return d.errorf("exceeded max depth")
	}
	switch c := d.data[d.i]; {
	case c == '{':
		return d.canonObject(depth + 1)
	case c == '[':
		return d.canonArray(depth + 1)
	case c == '"':
		start := d.i
		str, err := d.str()
		if err != nil {
			return err
		}
		if d.normalize {
			// A timestamp needs no escapes.
			if b, ok := appendNormalTime(append(d.tmp, '"'), str); ok {
				d.tmp = append(b, '"')
				return nil
			}
		}
		// A string is written as it came when that is how encoding/json
		// writes it.
		if d.asWritten(str) {
			d.tmp = append(d.tmp, d.data[start:d.i]...)
			return nil
		}
		d.tmp = jsonscan.AppendString(d.tmp, str)
		return nil
	case c == '-' || (c >= '0' && c <= '9'):
		start := d.i
		if err := d.scanNumber(); err != nil {
			return err
		}
		d.tmp = append(d.tmp, d.data[start:d.i]...)
		return nil
	case c == 't':
		d.tmp = append(d.tmp, "true"...)
		return d.literal("true")
	case c == 'f':
		d.tmp = append(d.tmp, "false"...)
		return d.literal("false")
	case c == 'n':
		d.tmp = append(d.tmp, "null"...)
		return d.literal("null")
	default:
		return d.errorf("invalid character %q looking for beginning of value", c)
	}
}

// canonObject encodes each member's value in tmp as it reads it, then
// writes the object with its members sorted by key and moves it down over
// them.
func (d *decoder) canonObject(depth int) error {
	d.i++ // {
	d.skipSpace()
	if d.i < len(d.data) && d.data[d.i] == '}' {
		d.i++
		d.tmp = append(d.tmp, "{}"...)
		return nil
	}
	base := len(d.cmembers)
	defer func() {
		clear(d.cmembers[base:])
		d.cmembers = d.cmembers[:base]
	}()
	start := len(d.tmp)
	for {
		// Each member is written key and value, "key":value, so that
		// sorting only moves whole members: a key is encoded once, as it
		// is read (a copy of its input when that is canonical).
		ks := len(d.tmp)
		k, err := d.canonKey()
		if err != nil {
			return err
		}
		if err := d.canon(depth); err != nil {
			return err
		}
		d.cmembers = append(d.cmembers, canonMember{k, ks, len(d.tmp)})
		d.skipSpace()
		if d.i >= len(d.data) {
			return errEnd
		}
		switch d.data[d.i] {
		case ',':
			d.i++
			continue
		case '}':
			d.i++
		default:
			return d.errorf("invalid character after object key:value pair")
		}
		break
	}
	own := d.cmembers[base:]
	// Stable, so that of a repeated key the last value, which the tree
	// keeps, is the last of its run. Most objects are small: sorted by
	// insertion (stable), comparing keys directly.
	if len(own) > 12 {
		slices.SortStableFunc(own, func(a, b canonMember) int { return strings.Compare(a.key, b.key) })
	} else {
		for i := 1; i < len(own); i++ {
			for j := i; j > 0 && own[j].key < own[j-1].key; j-- {
				own[j], own[j-1] = own[j-1], own[j]
			}
		}
	}
	out := len(d.tmp)
	d.tmp = append(d.tmp, '{')
	first := true
	for i, m := range own {
		if i+1 < len(own) && own[i+1].key == m.key {
			continue
		}
		if !first {
			d.tmp = append(d.tmp, ',')
		}
		first = false
		d.tmp = append(d.tmp, d.tmp[m.start:m.end]...)
	}
	d.tmp = append(d.tmp, '}')
	n := copy(d.tmp[start:], d.tmp[out:])
	d.tmp = d.tmp[:start+n]
	return nil
}

// canonKey reads an object member's key and the colon after it, as
// memberKey does, and writes the key's canonical encoding and the colon in
// tmp.
func (d *decoder) canonKey() (string, error) {
	k, err := d.memberKey()
	if err != nil {
		return "", err
	}
	if d.asWritten(k) {
		d.tmp = append(d.tmp, d.data[d.keyAt:d.keyEnd]...)
	} else {
		d.tmp = jsonscan.AppendString(d.tmp, k)
	}
	d.tmp = append(d.tmp, ':')
	return k, nil
}

// asWritten reports whether the string str just read, s, stood in the
// input as encoding/json writes it: no escapes but the ones it uses, and
// not the two characters it escapes beyond ASCII.
func (d *decoder) asWritten(s string) bool {
	return d.verbatim == asASCII || d.verbatim == escapedCanonical ||
		(d.verbatim == asUTF8 && !strings.Contains(s, "\u2028") && !strings.Contains(s, "\u2029"))
}

func (d *decoder) canonArray(depth int) error {
	d.i++ // [
	d.skipSpace()
	if d.i < len(d.data) && d.data[d.i] == ']' {
		d.i++
		d.tmp = append(d.tmp, "[]"...)
		return nil
	}
	d.tmp = append(d.tmp, '[')
	for {
		d.skipSpace()
		if err := d.canon(depth); err != nil {
			return err
		}
		d.skipSpace()
		if d.i >= len(d.data) {
			return errEnd
		}
		switch d.data[d.i] {
		case ',':
			d.i++
			d.tmp = append(d.tmp, ',')
		case ']':
			d.i++
			d.tmp = append(d.tmp, ']')
			return nil
		default:
			return d.errorf("invalid character after array element")
		}
	}
}
