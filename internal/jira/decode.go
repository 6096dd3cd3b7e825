package jira

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"slices"
	"strconv"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"github.com/tap-jira/tap-jira/internal/jsonscan"
)

// decodeTree decodes one JSON document into the values encoding/json
// produces for an `any` target with UseNumber: map[string]any, []any,
// string, json.Number, bool and nil. It accepts and rejects exactly what
// encoding/json does (fuzzed against it), in one pass and without
// reflection: decoding Jira's pages is the tap's largest CPU cost.
//
// With normalize, every string that is a timestamp with an offset comes out
// as NormalizeTime makes it (RFC 3339 UTC), as NormalizeTimes would leave
// the tree, without a second walk over it.
//
// decodeTree takes data over: strings and numbers without escapes are
// substrings of data itself, so they cost no allocation of their own, and
// the caller must never modify data afterwards (a body read for this call
// alone). In exchange any one of them keeps the whole document alive.
// Callers that keep a value beyond the page it came from (a set of ids seen
// during a run) must strings.Clone it.
func decodeTree(data []byte, normalize bool) (any, error) {
	return decodeShaped(data, normalize, Full)
}

// decodeShaped is decodeTree building maps and slices only where shape
// says the tap reads; every other object or array comes out as a
// jsonscan.Raw holding its canonical encoding.
func decodeShaped(data []byte, normalize bool, shape *Shape) (any, error) {
	// A lone record seldom repeats itself: only pages pay back the
	// lookups of the cache of repeated values.
	return decodeWith(data, normalize, shape, len(data) >= minCachedDoc)
}

func decodeWith(data []byte, normalize bool, shape *Shape, cached bool) (any, error) {
	// No copy: a page's tree and its body would otherwise both be live
	// until its records are encoded, and pages are the tap's largest
	// memory.
	d := decoders.Get().(*decoder)
	defer d.release()
	d.data, d.s, d.i, d.normalize, d.cached = data, unsafe.String(unsafe.SliceData(data), len(data)), 0, normalize, cached
	d.skipSpace()
	v, err := d.value(0, shape)
	if err != nil {
		return nil, err
	}
	d.skipSpace()
	if d.i != len(d.data) {
		return nil, d.errorf("invalid character after top-level value")
	}
	return v, nil
}

// A string or json.Number converted to an interface is an allocation of
// its own, of 16 bytes: the most numerous object of a page's tree. box
// gives the interface a string header in a slab of the document's instead,
// a fraction of the allocations and of the objects the collector marks.
// This relies on the layout of an empty interface, any (a type word, then
// a pointer to the value, for a string as for any type that is not a
// pointer), which reflect and the runtime share; a slab's headers are
// never written again once appended, as an interface's value must not be.
// The slab belongs to the tree: a document never shares one with another.
type eface struct{ typ, data unsafe.Pointer }

func typeWord(v any) unsafe.Pointer { return (*eface)(unsafe.Pointer(&v)).typ }

var (
	stringType = typeWord("")
	numberType = typeWord(json.Number(""))
	rawType    = typeWord(jsonscan.Raw(""))
)

const slabLen = 128

// box returns s as an interface of the type typ: string, json.Number or
// jsonscan.Raw.
func (d *decoder) box(typ unsafe.Pointer, s string) any {
	if len(s) == 0 { // as the runtime boxes it, without a header
		switch typ {
		case numberType:
			return json.Number("")
		case rawType:
			return jsonscan.Raw("")
		}
		return ""
	}
	if len(d.slab) == cap(d.slab) {
		d.slab = make([]string, 0, slabLen)
	}
	d.slab = append(d.slab, s)
	var v any
	e := (*eface)(unsafe.Pointer(&v))
	e.typ, e.data = typ, unsafe.Pointer(&d.slab[len(d.slab)-1])
	return v
}

// decoders keep their scratch stacks from page to page.
var decoders = sync.Pool{New: func() any { return new(decoder) }}

func (d *decoder) release() {
	d.data, d.s, d.arena, d.slab = nil, "", nil, nil // the arena and the slab belong to the tree now
	clear(d.cache)                                   // its values are views of data
	clear(d.objects)
	if cap(d.members) > 4096 || cap(d.elems) > 4096 || cap(d.tmp) > 1<<20 || cap(d.unesc) > 1<<20 {
		return // an odd document's stacks are left to the GC
	}
	decoders.Put(d)
}

// DecodeRecord decodes one JSON object as the tap decodes Jira's pages.
// data is copied, as a page body is read afresh for each decoding.
func DecodeRecord(data []byte) (Record, error) {
	return DecodeRecordShaped(data, Full)
}

// DecodeRecordShaped decodes one JSON object as the tap decodes a record
// of that shape in a page (IssueRecord, ChangelogRecord, ChildRecord).
func DecodeRecordShaped(data []byte, shape *Shape) (Record, error) {
	var m map[string]any
	if err := decodeInto(bytes.Clone(data), shaped{into: &m, shape: shape}); err != nil {
		return nil, err
	}
	return m, nil
}

// maxDepth matches encoding/json's nesting limit.
const maxDepth = 10000

type decoder struct {
	data []byte
	s    string // the same bytes, for allocation-free substrings
	i    int

	normalize bool // rewrite timestamps to RFC 3339 UTC as they are read

	// verbatim says how the last string str read stood in the input;
	// transient, that str returned a view of unesc, good until its next
	// call (keep makes it last).
	verbatim  verbatim
	transient bool
	keyAt     int // the last key memberKey read, in the input
	keyEnd    int
	unesc     []byte // unescaped strings
	tbuf      []byte // normalized timestamps

	// Scratch stacks of the objects and arrays being read; nested ones
	// push above their parent's.
	members []member
	elems   []any

	// Canonical encodings of the values kept raw: built in tmp (members
	// of an object are sorted there), then copied into arena, which the
	// Raw values of one document share.
	tmp      []byte
	cmembers []canonMember
	arena    []byte
	slab     []string                  // the strings the tree's interfaces hold (box)
	cache    map[uint64][]cachedValue  // Raw values of this document by the hash of their first input bytes
	objects  map[uint64][]cachedObject // objects that repeat, likewise (repeats.go)
	cached   bool                      // look repeated values up in cache
}

type verbatim uint8

const (
	decoded verbatim = iota // it had escapes or invalid UTF-8
	asASCII                 // plain ASCII, no escapes
	asUTF8                  // valid UTF-8, no escapes
	// valid UTF-8 whose escapes are the ones encoding/json writes, without
	// U+2028 or U+2029: the input bytes are its canonical encoding
	escapedCanonical
)

type member struct {
	key string
	val any
}

var errEnd = errors.New("unexpected end of JSON input")

func (d *decoder) errorf(format string, args ...any) error {
	return fmt.Errorf("%s at offset %d", fmt.Sprintf(format, args...), d.i)
}

func (d *decoder) skipSpace() {
	for d.i < len(d.data) {
		switch d.data[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *decoder) value(depth int, shape *Shape) (any, error) {
	if d.i >= len(d.data) {
		return nil, errEnd
	}
	if depth > maxDepth {
		return nil, d.errorf("exceeded max depth")
	}
	switch c := d.data[d.i]; {
	case c == '{':
		if shape == nil {
			return d.raw(depth)
		}
		return d.object(depth+1, shape)
	case c == '[':
		if shape == nil {
			return d.raw(depth)
		}
		return d.array(depth+1, shape)
	case c == '"':
		str, err := d.str()
		if err != nil {
			return nil, err
		}
		if d.normalize {
			if b, ok := appendNormalTime(d.tbuf[:0], str); ok {
				d.tbuf = b
				return d.box(stringType, d.stash(b)), nil
			}
		}
		return d.box(stringType, d.keep(str)), nil
	case c == '-' || (c >= '0' && c <= '9'):
		start := d.i
		if err := d.scanNumber(); err != nil {
			return nil, err
		}
		return d.box(numberType, d.s[start:d.i]), nil
	case c == 't':
		return true, d.literal("true")
	case c == 'f':
		return false, d.literal("false")
	case c == 'n':
		return nil, d.literal("null")
	default:
		return nil, d.errorf("invalid character %q looking for beginning of value", c)
	}
}

func (d *decoder) literal(lit string) error {
	for k := 0; k < len(lit); k++ {
		if d.i >= len(d.data) {
			return errEnd
		}
		if d.data[d.i] != lit[k] {
			return d.errorf("invalid character in literal %s", lit)
		}
		d.i++
	}
	return nil
}

// object reads the members onto the decoder's stack first and builds the
// map once their number is known: a map grown insert by insert rehashes
// at every doubling, and Jira's issues carry objects of a hundred fields.
func (d *decoder) object(depth int, shape *Shape) (any, error) {
	from := d.i
	var h uint64
	if d.cached && shape.repeats() && len(d.s)-from >= cacheKey {
		h = maphash.String(cacheSeed, d.s[from:from+cacheKey])
		if m := d.cachedObject(h, from, depth, shape.Shared); m != nil {
			return m, nil
		}
	}
	d.i++ // {
	d.skipSpace()
	if d.i < len(d.data) && d.data[d.i] == '}' {
		d.i++
		return map[string]any{}, nil
	}
	base := len(d.members)
	defer func() {
		clear(d.members[base:]) // the stack must not keep the tree alive
		d.members = d.members[:base]
	}()
	for {
		k, err := d.memberKey()
		if err != nil {
			return nil, err
		}
		// Only an object or an array has a shape to look up.
		var sub *Shape
		if d.i < len(d.data) && (d.data[d.i] == '{' || d.data[d.i] == '[') {
			sub = shape.member(k)
		}
		v, err := d.value(depth, sub)
		if err != nil {
			return nil, err
		}
		d.members = append(d.members, member{k, v})
		d.skipSpace()
		if d.i >= len(d.data) {
			return nil, errEnd
		}
		switch d.data[d.i] {
		case ',':
			d.i++
		case '}':
			d.i++
			own := d.members[base:]
			// One member more than read: the streams add their issue's
			// id to records, and a comment's map of eight members would
			// grow into a table for a ninth.
			m := make(map[string]any, len(own)+1)
			for _, mb := range own {
				m[mb.key] = mb.val // a repeated key keeps the last value, as encoding/json does
			}
			if h != 0 && d.i-from >= cacheKey {
				d.keepObject(h, d.s[from:d.i], m, shape.Shared)
			}
			return m, nil
		default:
			return nil, d.errorf("invalid character after object key:value pair")
		}
	}
}

// memberKey reads an object member's key and the colon after it, leaving
// d.i at the value; the key's input, quotes included, is d.data[d.keyAt:
// d.keyEnd].
func (d *decoder) memberKey() (string, error) {
	d.skipSpace()
	if d.i >= len(d.data) {
		return "", errEnd
	}
	if d.data[d.i] != '"' {
		return "", d.errorf("invalid character looking for beginning of object key string")
	}
	d.keyAt = d.i
	k, err := d.str()
	if err != nil {
		return "", err
	}
	d.keyEnd = d.i
	k = d.keep(k)
	d.skipSpace()
	if d.i >= len(d.data) {
		return "", errEnd
	}
	if d.data[d.i] != ':' {
		return "", d.errorf("invalid character after object key")
	}
	d.i++
	d.skipSpace()
	return k, nil
}

// array reads its elements onto the decoder's stack, then copies them into
// a slice of the exact length.
func (d *decoder) array(depth int, shape *Shape) (any, error) {
	start := d.i
	d.i++ // [
	d.skipSpace()
	if d.i < len(d.data) && d.data[d.i] == ']' {
		d.i++
		return []any{}, nil
	}
	base := len(d.elems)
	defer func() {
		clear(d.elems[base:])
		d.elems = d.elems[:base]
	}()
	for {
		d.skipSpace()
		if shape.Long > 0 && len(d.elems)-base == shape.Long {
			return d.longList(depth, start, shape)
		}
		v, err := d.value(depth, shape.Each)
		if err != nil {
			return nil, err
		}
		d.elems = append(d.elems, v)
		d.skipSpace()
		if d.i >= len(d.data) {
			return nil, errEnd
		}
		switch d.data[d.i] {
		case ',':
			d.i++
		case ']':
			d.i++
			return slices.Clone(d.elems[base:]), nil
		default:
			return nil, d.errorf("invalid character after array element")
		}
	}
}

// scanNumber moves past the number at d.i, checking its grammar.
func (d *decoder) scanNumber() error {
	if d.data[d.i] == '-' {
		d.i++
	}
	digits := func() int {
		j := d.i
		for d.i < len(d.data) && d.data[d.i] >= '0' && d.data[d.i] <= '9' {
			d.i++
		}
		return d.i - j
	}
	if d.i >= len(d.data) {
		return errEnd
	}
	if d.data[d.i] == '0' {
		d.i++
	} else if digits() == 0 {
		return d.errorf("invalid character in numeric literal")
	}
	if d.i < len(d.data) && d.data[d.i] == '.' {
		d.i++
		if d.i >= len(d.data) {
			return errEnd
		}
		if digits() == 0 {
			return d.errorf("invalid character after decimal point in numeric literal")
		}
	}
	if d.i < len(d.data) && (d.data[d.i] == 'e' || d.data[d.i] == 'E') {
		d.i++
		if d.i < len(d.data) && (d.data[d.i] == '+' || d.data[d.i] == '-') {
			d.i++
		}
		if d.i >= len(d.data) {
			return errEnd
		}
		if digits() == 0 {
			return d.errorf("invalid character in exponent of numeric literal")
		}
	}
	return nil
}

// str reads a string at d.i (on its opening quote), unescaping as
// encoding/json does: invalid UTF-8 and lone surrogates become U+FFFD.
func (d *decoder) str() (string, error) {
	d.verbatim, d.transient = decoded, false
	d.i++ // opening quote
	start := d.i
	// Fast path: no escapes. Text finds the closing quote (or an escape)
	// a word at a time, to the byte unless it is in the document's last
	// few bytes; UTF-8 is checked once, if a byte called for it.
	n, high := jsonscan.Text(d.s[d.i:])
	d.i += n
	for d.i < len(d.data) && !jsonscan.Stop(d.data[d.i]) {
		high = high || d.data[d.i] >= utf8.RuneSelf
		d.i++
	}
	if d.i >= len(d.data) {
		return "", errEnd
	}
	switch c := d.data[d.i]; {
	case c == '"':
		end := d.i
		d.i++
		if !high {
			d.verbatim = asASCII
			return d.s[start:end], nil
		}
		if utf8.Valid(d.data[start:end]) {
			d.verbatim = asUTF8
			return d.s[start:end], nil
		}
		return string([]rune(d.s[start:end])), nil // U+FFFD for invalid bytes
	case c < 0x20:
		return "", d.errorf("invalid character in string literal")
	}
	// The unescaped string is built in a scratch buffer: canonical
	// encoding only copies it on, and keep stashes what the tree holds.
	buf := append(d.unesc[:0], d.data[start:d.i]...)
	// Escapes as encoding/json writes them (\n, \", \\ ...) leave the input
	// canonical; \/ and \u do not.
	canonical := true
	for {
		// Copy the run up to the next quote, backslash or control byte at
		// once: text with line breaks spends most of its bytes here.
		n, _ := jsonscan.Text(d.s[d.i:])
		j := d.i + n
		for j < len(d.data) && !jsonscan.Stop(d.data[j]) {
			j++
		}
		buf = append(buf, d.data[d.i:j]...)
		d.i = j
		if d.i >= len(d.data) {
			return "", errEnd
		}
		c := d.data[d.i]
		switch {
		case c == '"':
			d.i++
			if utf8.Valid(buf) {
				if canonical && !bytes.Contains(buf, lineSep) && !bytes.Contains(buf, paraSep) {
					d.verbatim = escapedCanonical
				}
				d.unesc, d.transient = buf, true
				return unsafe.String(unsafe.SliceData(buf), len(buf)), nil
			}
			d.unesc = buf
			return string([]rune(string(buf))), nil
		case c < 0x20:
			return "", d.errorf("invalid character in string literal")
		}
		d.i++ // backslash
		if d.i >= len(d.data) {
			return "", errEnd
		}
		e := d.data[d.i]
		d.i++
		switch e {
		case '"', '\\':
			buf = append(buf, e)
		case '/':
			buf = append(buf, e)
			canonical = false
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			canonical = false
			r, ok := d.hex4()
			if !ok {
				return "", d.errorf("invalid character in \\u hexadecimal character escape")
			}
			if utf16.IsSurrogate(r) {
				// A high surrogate followed by \u and a low one make a pair.
				if d.i+6 <= len(d.data) && d.data[d.i] == '\\' && d.data[d.i+1] == 'u' {
					save := d.i
					d.i += 2
					r2, ok := d.hex4()
					if ok {
						if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
							buf = utf8.AppendRune(buf, dec)
							continue
						}
					}
					d.i = save
				}
				r = utf8.RuneError
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return "", d.errorf("invalid character in string escape code")
		}
	}
}

// The two characters encoding/json escapes beyond ASCII.
var lineSep, paraSep = []byte("\u2028"), []byte("\u2029")

func (d *decoder) hex4() (rune, bool) {
	if d.i+4 > len(d.data) {
		d.i = len(d.data)
		return 0, false
	}
	n, err := strconv.ParseUint(string(d.data[d.i:d.i+4]), 16, 32)
	if err != nil {
		return 0, false
	}
	d.i += 4
	return rune(n), true
}
