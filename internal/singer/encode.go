package singer

import (
	"bytes"
	"encoding/json"
	"hash/maphash"
	"slices"
	"strings"
	"sync"

	"github.com/tap-jira/tap-jira/internal/jsonscan"
	"github.com/tap-jira/tap-jira/internal/schema"
)

// appendJSON appends v encoded exactly as encoding/json does with
// SetEscapeHTML(false), for the values a decoded record holds (nil, bool,
// string, json.Number, []any, map[string]any; map keys sorted). It skips
// reflection, which makes encoding records about twice as fast; any other
// type goes through encoding/json.
func appendJSON(dst []byte, v any) ([]byte, error) {
	e := encoders.Get().(*encoder)
	defer encoders.Put(e)
	return e.append(dst, v, nil)
}

// appendChecked is appendJSON for a record judged against root as it is
// encoded (see EncodeChecked): the top-level keys root does not declare
// are deleted from record, left out and returned; sure is false when some
// value is one the check cannot vouch for.
func appendChecked(dst []byte, record map[string]any, root *schema.Node) (out []byte, undeclared []string, sure bool, err error) {
	e := encoders.Get().(*encoder)
	defer encoders.Put(e)
	e.unsure, e.top = false, true
	out, err = e.appendObject(dst, record, root)
	if len(e.undeclared) > 0 {
		undeclared = slices.Clone(e.undeclared)
		clear(e.undeclared)
		e.undeclared = e.undeclared[:0]
	}
	return out, undeclared, !e.unsure, err
}

// encoders are reused: records are encoded concurrently, one per goroutine.
var encoders = sync.Pool{New: func() any { return new(encoder) }}

// encoder holds a scratch stack of an object's members, reused by every
// object of a record (nested ones push above their parent's), so sorting
// keys costs no allocation and no second map lookup per member.
type encoder struct {
	members []member
	// Key orders of large objects by the hash of their key set, kept for a
	// key set met twice: issues carry the same hundred fields page after
	// page, and looking each up in a known order is cheaper than sorting
	// them again. A key set met once (a site whose projects each carry
	// fields of their own has many) only costs its hash.
	orders map[uint64]*keyOrder
	once   map[uint64]bool
	// The key orders of the small objects last judged against each node,
	// the newer first: a changelog item, a transition or a status record
	// has the same few keys record after record (two sets where a member
	// comes and goes, a user's email), and finding them in that order
	// costs less than sorting them and looking up each one's check again.
	small map[*schema.Node]*[2]*keyOrder
	// A checked encoding: unsure is set when a value's check fails; top
	// while the record's own object is next, whose keys the check does not
	// declare are left out and listed in undeclared.
	unsure     bool
	top        bool
	undeclared []string
}

type keyOrder struct {
	keys []string
	enc  []byte // every key encoded with its colon, one after the other
	ends []int  // where each key's encoding ends in enc
	// The checks of keys' values under node, found once for the node the
	// order was last used with.
	node *schema.Node
	subs []*schema.Node
}

// minOrdered is the size from which an object's key order is kept;
// maxOrders bounds the orders kept (and maxOrders*4 the key sets met
// once), so an encoder's memory does not grow with the site.
const (
	minOrdered = 16
	maxOrders  = 64
	minSmall   = 3
	maxSmall   = 256
)

var keySeed = maphash.MakeSeed()

// keySetHash does not depend on the order of the map's keys.
func keySetHash(t map[string]any) uint64 {
	var h uint64
	for k := range t {
		h += maphash.String(keySeed, k)
	}
	return h
}

type member struct {
	key string
	val any
}

// append encodes v, judging it against n unless n is nil.
func (e *encoder) append(dst []byte, v any, n *schema.Node) ([]byte, error) {
	switch t := v.(type) {
	case nil:
		if n != nil && !n.AcceptsNull() {
			e.unsure = true
		}
		return append(dst, "null"...), nil
	case bool:
		if n != nil && !n.AcceptsBool() {
			e.unsure = true
		}
		if t {
			return append(dst, "true"...), nil
		}
		return append(dst, "false"...), nil
	case string:
		if n != nil && !n.AcceptsString(t) {
			e.unsure = true
		}
		return appendString(dst, t), nil
	case jsonscan.Raw:
		if n != nil && !n.AcceptsRaw(string(t)) {
			e.unsure = true
		}
		return append(dst, t...), nil
	case json.Number:
		if n != nil && !n.AcceptsNumber(string(t)) {
			e.unsure = true
		}
		if t == "" {
			return append(dst, '0'), nil
		}
		if !validNumber(string(t)) {
			return fallbackJSON(dst, v) // reports the error encoding/json would
		}
		return append(dst, t...), nil
	case []any:
		var items *schema.Node
		if n != nil {
			if !n.AcceptsArray() {
				e.unsure = true
			}
			items = n.Items()
		}
		dst = append(dst, '[')
		for i, x := range t {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = e.append(dst, x, items); err != nil {
				return dst, err
			}
		}
		return append(dst, ']'), nil
	case map[string]any:
		return e.appendObject(dst, t, n)
	default:
		if n != nil {
			e.unsure = true // not decoded JSON: let the full check explain
		}
		return fallbackJSON(dst, v)
	}
}

// appendObject encodes t with its keys sorted, each value judged against
// the property of n its key names (when n is not nil). At the top of a
// checked record (e.top), keys n does not declare are left out (see
// leaveOut).
func (e *encoder) appendObject(dst []byte, t map[string]any, n *schema.Node) ([]byte, error) {
	top := e.top
	e.top = false // only the record's own keys
	if n != nil && !n.AcceptsObject() {
		e.unsure = true
	}
	var set uint64
	if len(t) >= minOrdered {
		set = keySetHash(t)
		if o := e.orders[set]; o != nil && len(o.keys) == len(t) {
			if out, ok, err := e.appendInOrder(dst, t, o, n, top); ok || err != nil {
				return out, err
			}
		}
	}
	small := n != nil && len(t) >= minSmall && len(t) < minOrdered
	if small {
		if kept := e.small[n]; kept != nil {
			for _, o := range kept {
				if o == nil || len(o.keys) != len(t) {
					continue
				}
				if out, ok, err := e.appendInOrder(dst, t, o, n, top); ok || err != nil {
					return out, err
				}
			}
		}
	}
	base := len(e.members)
	for k, x := range t {
		e.members = append(e.members, member{k, x})
	}
	own := e.members[base:]
	sortMembers(own)
	dst = append(dst, '{')
	wrote := false
	for i := range len(own) {
		// Re-slice each time: a nested object may grow the stack and
		// move it.
		m := e.members[base+i]
		var sub *schema.Node
		if n != nil {
			sub = n.Prop(m.key)
		}
		if sub == nil && top {
			e.leaveOut(t, m.key)
			continue
		}
		if wrote {
			dst = append(dst, ',')
		}
		wrote = true
		dst = appendString(dst, m.key)
		dst = append(dst, ':')
		var err error
		if dst, err = e.append(dst, m.val, sub); err != nil {
			return dst, err
		}
	}
	switch {
	case len(own) >= minOrdered:
		e.remember(set, e.members[base:base+len(own)])
	case small:
		e.rememberSmall(n, e.members[base:base+len(own)])
	}
	clear(e.members[base:]) // drop references for the GC
	e.members = e.members[:base]
	return append(dst, '}'), nil
}

// sortMembers sorts an object's members by key. Most objects are small
// (a changelog item, a user, a transition): sorted in place by insertion,
// comparing keys directly (keyLess), they cost about half what
// slices.SortFunc's comparison calls do.
func sortMembers(ms []member) {
	if len(ms) > 12 {
		slices.SortFunc(ms, func(a, b member) int { return strings.Compare(a.key, b.key) })
		return
	}
	for i := 1; i < len(ms); i++ {
		for j := i; j > 0 && keyLess(ms[j].key, ms[j-1].key); j-- {
			ms[j], ms[j-1] = ms[j-1], ms[j]
		}
	}
}

// keyLess is a < b, deciding by the first bytes inline when they differ,
// as most keys of an object do, instead of calling the runtime's compare.
func keyLess(a, b string) bool {
	if a != "" && b != "" && a[0] != b[0] {
		return a[0] < b[0]
	}
	return a < b
}

// appendInOrder encodes t with the key order o when t has exactly o's keys
// (it has as many, so finding each of them is proof); otherwise it
// returns dst as it was and false. Values are judged against n's
// properties, as appendObject does, and top is as there.
func (e *encoder) appendInOrder(dst []byte, t map[string]any, o *keyOrder, n *schema.Node, top bool) ([]byte, bool, error) {
	if n != nil && o.node != n {
		o.node, o.subs = n, checksOf(o.keys, n)
	}
	mark, unsure := len(dst), e.unsure
	dst = append(dst, '{')
	wrote := false
	for i, k := range o.keys {
		x, ok := t[k]
		if !ok {
			e.unsure = unsure // what was judged is judged again by appendObject
			return dst[:mark], false, nil
		}
		var sub *schema.Node
		if n != nil {
			sub = o.subs[i]
		}
		if sub == nil && top {
			e.leaveOut(t, k)
			continue
		}
		if wrote {
			dst = append(dst, ',')
		}
		wrote = true
		start := 0
		if i > 0 {
			start = o.ends[i-1]
		}
		dst = append(dst, o.enc[start:o.ends[i]]...)
		var err error
		if dst, err = e.append(dst, x, sub); err != nil {
			return dst, true, err
		}
	}
	return append(dst, '}'), true, nil
}

// leaveOut deletes a record's top-level key the check does not declare
// and lists it.
func (e *encoder) leaveOut(record map[string]any, k string) {
	delete(record, k)
	e.undeclared = append(e.undeclared, k)
}

// checksOf is the check of each of keys under n, nil for a key n does not
// declare.
func checksOf(keys []string, n *schema.Node) []*schema.Node {
	subs := make([]*schema.Node, len(keys))
	for i, k := range keys {
		subs[i] = n.Prop(k)
	}
	return subs
}

// remember keeps the sorted keys of a large object the second time its
// key set is met.
func (e *encoder) remember(set uint64, sorted []member) {
	if !e.once[set] {
		if e.once == nil || len(e.once) >= 4*maxOrders {
			e.once = map[uint64]bool{}
		}
		e.once[set] = true
		return
	}
	delete(e.once, set)
	if e.orders == nil || len(e.orders) >= maxOrders {
		e.orders = map[uint64]*keyOrder{}
	}
	e.orders[set] = newKeyOrder(sorted)
}

// rememberSmall keeps the order of a small object's sorted keys for n,
// in place of the older of n's two.
func (e *encoder) rememberSmall(n *schema.Node, sorted []member) {
	if e.small == nil || len(e.small) >= maxSmall {
		e.small = map[*schema.Node]*[2]*keyOrder{}
	}
	kept := e.small[n]
	if kept == nil {
		kept = new([2]*keyOrder)
		e.small[n] = kept
	}
	o := newKeyOrder(sorted)
	o.node, o.subs = n, checksOf(o.keys, n)
	kept[0], kept[1] = o, kept[0]
}

// newKeyOrder is the order of sorted's keys. The keys are copied, all
// into one string: they may be views of a page that must not stay alive
// for them.
func newKeyOrder(sorted []member) *keyOrder {
	size := 0
	for _, m := range sorted {
		size += len(m.key)
	}
	var b strings.Builder
	b.Grow(size)
	for _, m := range sorted {
		b.WriteString(m.key)
	}
	all := b.String()
	o := &keyOrder{keys: make([]string, len(sorted)), enc: make([]byte, 0, size+3*len(sorted)), ends: make([]int, len(sorted))}
	at := 0
	for i, m := range sorted {
		o.keys[i] = all[at : at+len(m.key)]
		at += len(m.key)
		o.enc = append(appendString(o.enc, m.key), ':')
		o.ends[i] = len(o.enc)
	}
	return o
}

// validNumber reports whether s is a JSON number, as encoding/json checks
// before writing a json.Number.
func validNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	digits := func() int {
		j := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i - j
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case digits() == 0:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

func fallbackJSON(dst []byte, v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return dst, err
	}
	return append(dst, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...), nil
}

// appendString is encoding/json's string encoding without HTML escaping.
func appendString(dst []byte, s string) []byte { return jsonscan.AppendString(dst, s) }
