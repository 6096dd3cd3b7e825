package jira

import (
	"errors"
	"fmt"
	"io"
	"iter"
	"unsafe"
)

// LongFrom is the length past which an issue's embedded changelog is not
// built with its page but kept as a LongList: Data Center gives an issue's
// changelog whole (it has no endpoint to page it), and a changelog has no
// length limit; built whole, one of 100,000 entries took 450 MB.
const LongFrom = 2000

// LongList is an array of a response too long to build at once: the
// array's bytes, a view of the response (which its other values keep alive
// anyway), checked as the response was read, so reading it again cannot
// fail on the document, only on its elements' shape.
type LongList struct {
	data      []byte // from '[' to ']'
	n         int
	each      *Shape
	normalize bool
	// Or the array is in src, a response spooled to a file, from off for
	// size bytes: checked as the response was read, and read again a
	// window at a time (see compactPage). The file is closed when the
	// lists that read it are gone (os.File's cleanup), its space freed
	// then: it was unlinked when made.
	src       io.ReaderAt
	off, size int64
}

// Len is the number of elements.
func (l *LongList) Len() int { return l.n }

// Windows decodes the elements, up to size at a time, as the page would
// have decoded them, each window a slice of its own.
func (l *LongList) Windows(size int) iter.Seq2[[]any, error] {
	return func(yield func([]any, error) bool) {
		if l.src != nil {
			s := &streamScan{r: io.NewSectionReader(l.src, l.off, l.size), buf: make([]byte, 0, 256<<10)}
			err := s.array(size, l.each, l.normalize, func(window []any) error {
				if !yield(window, nil) {
					return errStopped
				}
				return nil
			})
			if err != nil && !errors.Is(err, errStopped) {
				yield(nil, fmt.Errorf("reading a long list: %w", err))
			}
			return
		}
		at := 1 // past '['
		for left := l.n; left > 0; {
			window, next, err := l.window(at, min(size, left))
			if err != nil {
				yield(nil, err)
				return
			}
			if !yield(window, nil) {
				return
			}
			at, left = next, left-len(window)
		}
	}
}

// Records is Windows for a list of objects: records, up to size at a time.
func (l *LongList) Records(size int) iter.Seq2[[]Record, error] {
	return func(yield func([]Record, error) bool) {
		for window, err := range l.Windows(size) {
			var recs []Record
			if err == nil {
				recs, err = objects(window)
			}
			if !yield(recs, err) || err != nil {
				return
			}
		}
	}
}

// window decodes n elements from at, the offset of the first (or of the
// comma before it), and returns the offset after the last.
func (l *LongList) window(at, n int) ([]any, int, error) {
	d := decoders.Get().(*decoder)
	defer d.release()
	d.data, d.s, d.i, d.normalize = l.data, unsafe.String(unsafe.SliceData(l.data), len(l.data)), at, l.normalize
	d.cached = len(l.data) >= minCachedDoc
	out := make([]any, 0, n)
	for range n {
		d.skipSpace()
		if d.i < len(d.data) && d.data[d.i] == ',' {
			d.i++
			d.skipSpace()
		}
		v, err := d.value(0, l.each)
		if err != nil {
			return nil, 0, fmt.Errorf("reading a long list: %w", err)
		}
		out = append(out, v)
	}
	return out, d.i, nil
}

// MarshalJSON refuses: a LongList is read window by window, never written
// as one value, and a record that still held one would otherwise be
// written as {} without a word.
func (l *LongList) MarshalJSON() ([]byte, error) {
	return nil, errors.New("a long list is read a window at a time, not encoded whole")
}

// longList goes on reading the array that began at start, its first
// shape.Long elements read already, checking the rest without building
// them (canon into scratch space, dropped), and returns it as a LongList.
func (d *decoder) longList(depth, start int, shape *Shape) (any, error) {
	n := shape.Long
	for {
		d.skipSpace()
		base := len(d.tmp)
		err := d.canon(depth)
		d.tmp = d.tmp[:base]
		if err != nil {
			return nil, err
		}
		n++
		d.skipSpace()
		if d.i >= len(d.data) {
			return nil, errEnd
		}
		switch d.data[d.i] {
		case ',':
			d.i++
		case ']':
			d.i++
			return &LongList{data: d.data[start:d.i:d.i], n: n, each: shape.Each, normalize: d.normalize}, nil
		default:
			return nil, d.errorf("invalid character after array element")
		}
	}
}
