package jira

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
)

// changelogWindows reads an issue (a GET with expand=changelog) from r
// without holding it: the entries of its changelog.histories are yielded
// up to size at a time, each window decoded as a page's entries are
// (ChangelogRecord, timestamps normalized), and only a window's bytes are
// held at once. Every other value is checked as JSON and dropped. What it
// yields is what decoding the whole document with ChangelogPage gives,
// window by window; a document that is not JSON fails, though possibly
// after windows that came before the fault (so does a long list on
// Cloud). A repeated "changelog" or "histories" is refused, not resolved
// to its last value as a decoder does, since the first was yielded
// already: Jira does not repeat keys.
func changelogWindows(r io.Reader, size int) iter.Seq2[[]Record, error] {
	return func(yield func([]Record, error) bool) {
		s := &streamScan{r: r, buf: make([]byte, 0, 256<<10)}
		if err := s.issue(size, yield); err != nil && !errors.Is(err, errStopped) {
			yield(nil, err)
		}
	}
}

// errStopped: the consumer stopped taking windows; nothing more is said.
var errStopped = errors.New("stopped")

var errRepeatedKey = errors.New("repeated key")

// streamScan reads JSON from r through a buffer, a value at a time.
type streamScan struct {
	r       io.Reader
	buf     []byte // buf[i:] is read and not yet scanned
	i       int
	off     int64 // the input offset of buf[0]
	readErr error // io.EOF once r is done
	scratch []byte
}

// more reads more input, keeping what is not yet scanned; false at the
// end of the input (or a read error, kept in readErr).
func (s *streamScan) more() bool {
	if s.readErr != nil {
		return false
	}
	if s.i > 0 {
		s.off += int64(s.i)
		s.buf = s.buf[:copy(s.buf, s.buf[s.i:])]
		s.i = 0
	}
	if len(s.buf) == cap(s.buf) {
		s.buf = append(s.buf, 0)[:len(s.buf)]
	}
	for {
		n, err := s.r.Read(s.buf[len(s.buf):cap(s.buf)])
		s.buf = s.buf[:len(s.buf)+n]
		if err != nil {
			s.readErr = err
		}
		if n > 0 {
			return true
		}
		if err != nil {
			return false
		}
	}
}

// endErr is the error for input that ends inside a value.
func (s *streamScan) endErr() error {
	if s.readErr != nil && s.readErr != io.EOF {
		return s.readErr
	}
	return errEnd
}

// peek skips white space and returns the next byte, unread.
func (s *streamScan) peek() (byte, error) {
	for {
		for ; s.i < len(s.buf); s.i++ {
			switch c := s.buf[s.i]; c {
			case ' ', '\t', '\n', '\r':
			default:
				return c, nil
			}
		}
		if !s.more() {
			return 0, s.endErr()
		}
	}
}

// expect reads the byte c, after white space.
func (s *streamScan) expect(c byte, after string) error {
	got, err := s.peek()
	if err != nil {
		return err
	}
	if got != c {
		return s.errorf("invalid character %q %s", got, after)
	}
	s.i++
	return nil
}

func (s *streamScan) errorf(format string, args ...any) error {
	return fmt.Errorf("%s (offset %d)", fmt.Sprintf(format, args...), s.off+int64(s.i))
}

// capture appends the next value's bytes to dst, finding its end as a
// decoder would for valid JSON; whether they are valid is for the caller
// to check (json.Valid, or the decoder of a window).
func (s *streamScan) capture(dst []byte) ([]byte, error) {
	c, err := s.peek()
	if err != nil {
		return dst, err
	}
	depth, inString, escaped := 0, false, false
	switch c {
	case '{', '[':
	case '"':
	default: // a literal or a number: up to the next delimiter
		for {
			j := s.i
			for ; j < len(s.buf); j++ {
				switch s.buf[j] {
				case ',', '}', ']', ':', ' ', '\t', '\n', '\r', '"', '{', '[':
					dst = append(dst, s.buf[s.i:j]...)
					s.i = j
					return dst, nil
				}
			}
			dst = append(dst, s.buf[s.i:]...)
			s.i = len(s.buf)
			if !s.more() {
				if s.readErr != io.EOF {
					return dst, s.readErr
				}
				return dst, nil // the document's last value
			}
		}
	}
	for {
		j := s.i
		for ; j < len(s.buf); j++ {
			b := s.buf[j]
			if inString {
				switch {
				case escaped:
					escaped = false
				case b == '\\':
					escaped = true
				case b == '"':
					inString = false
					if depth == 0 { // a string on its own
						dst = append(dst, s.buf[s.i:j+1]...)
						s.i = j + 1
						return dst, nil
					}
				}
				continue
			}
			switch b {
			case '"':
				inString = true
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					dst = append(dst, s.buf[s.i:j+1]...)
					s.i = j + 1
					return dst, nil
				}
			}
		}
		dst = append(dst, s.buf[s.i:]...)
		s.i = len(s.buf)
		if !s.more() {
			return dst, s.endErr()
		}
	}
}

// skip reads the next value and checks that it is JSON.
func (s *streamScan) skip() (kind string, err error) {
	s.scratch, err = s.capture(s.scratch[:0])
	if err != nil {
		return "", err
	}
	if !json.Valid(s.scratch) {
		return "", s.errorf("invalid JSON value")
	}
	return kindOfJSON(s.scratch[0]), nil
}

// key reads an object's key and the colon after it.
func (s *streamScan) key() (string, error) {
	c, err := s.peek()
	if err != nil {
		return "", err
	}
	if c != '"' {
		return "", s.errorf("invalid character %q looking for beginning of object key string", c)
	}
	s.scratch, err = s.capture(s.scratch[:0])
	if err != nil {
		return "", err
	}
	var k string
	if err := json.Unmarshal(s.scratch, &k); err != nil {
		return "", s.errorf("invalid object key: %v", err)
	}
	return k, s.expect(':', "after object key")
}

// members reads an object's members, calling member for each with the
// scanner at its value, which member must read.
func (s *streamScan) members(member func(key string) error) error {
	if err := s.expect('{', "looking for beginning of object"); err != nil {
		return err
	}
	for first := true; ; first = false {
		c, err := s.peek()
		if err != nil {
			return err
		}
		if c == '}' {
			s.i++
			return nil
		}
		if !first {
			if c != ',' {
				return s.errorf("invalid character %q after object key:value pair", c)
			}
			s.i++
		}
		k, err := s.key()
		if err != nil {
			return err
		}
		if err := member(k); err != nil {
			return err
		}
	}
}

// open peeks at the next value: true if it starts with open. Else the
// value is read, and is an error (want, and what it is instead) unless it
// is a null and nullable.
func (s *streamScan) open(open byte, want string, nullable bool) (bool, error) {
	c, err := s.peek()
	if err != nil || c == open {
		return err == nil, err
	}
	kind, err := s.skip()
	if err != nil || (nullable && kind == "null") {
		return false, err
	}
	return false, fmt.Errorf("%s, got %s", want, kind)
}

// only is a members callback that reads key's value with read, checks
// every other member as JSON, and refuses key twice.
func (s *streamScan) only(key string, read func() error) func(k string) error {
	seen := false
	return func(k string) error {
		if k != key {
			_, err := s.skip()
			return err
		}
		if seen {
			return fmt.Errorf("%q: %w", k, errRepeatedKey)
		}
		seen = true
		return read()
	}
}

// issue reads the top-level document.
func (s *streamScan) issue(size int, yield func([]Record, error) bool) error {
	if ok, err := s.open('{', "expected a JSON object", false); !ok {
		return err
	}
	err := s.members(s.only("changelog", func() error { return s.changelog(size, yield) }))
	if err != nil {
		return err
	}
	if _, err := s.peek(); err == nil {
		return s.errorf("invalid character after top-level value")
	} else if err != errEnd {
		return err
	}
	return nil
}

// changelog reads the changelog object (or null).
func (s *streamScan) changelog(size int, yield func([]Record, error) bool) error {
	if ok, err := s.open('{', `"changelog": expected an object`, true); !ok {
		return err
	}
	return s.members(s.only("histories", func() error { return s.histories(size, yield) }))
}

// histories reads the entries (or null), yielding them a window at a time.
func (s *streamScan) histories(size int, yield func([]Record, error) bool) error {
	if ok, err := s.open('[', `"histories": expected a list`, true); !ok {
		return err
	}
	return s.array(size, ChangelogRecord, true, func(window []any) error {
		recs, err := objects(window)
		if err != nil {
			return fmt.Errorf("\"histories\": %w", err)
		}
		if !yield(recs, nil) {
			return errStopped
		}
		return nil
	})
}

// array reads the array that starts at the next byte, handing its
// elements to each, decoded with shape (timestamps normalized with
// normalize), up to size at a time; only one window's bytes are held at
// once. An error from each ends it.
func (s *streamScan) array(size int, shape *Shape, normalize bool, each func([]any) error) error {
	if err := s.expect('[', "looking for beginning of array"); err != nil {
		return err
	}
	window, n := []byte{'['}, 0
	flush := func() error {
		if n == 0 {
			return nil
		}
		l := &LongList{data: append(window, ']'), n: n, each: shape, normalize: normalize}
		for w, err := range l.Windows(n) {
			if err != nil {
				return err
			}
			if err := each(w); err != nil {
				return err
			}
		}
		window, n = make([]byte, 1, cap(window)), 0
		window[0] = '['
		return nil
	}
	c, err := s.peek()
	if err != nil {
		return err
	}
	if c == ']' {
		s.i++
		return nil
	}
	for {
		if n > 0 {
			window = append(window, ',')
		}
		if window, err = s.capture(window); err != nil {
			return err
		}
		if n++; n == size {
			if err := flush(); err != nil {
				return err
			}
		}
		c, err := s.peek()
		if err != nil {
			return err
		}
		switch c {
		case ',':
			s.i++
		case ']':
			s.i++
			return flush()
		default:
			return s.errorf("invalid character %q after array element", c)
		}
	}
}

// kindOfJSON names the kind of the JSON value that starts with c.
func kindOfJSON(c byte) string {
	switch c {
	case '{':
		return "an object"
	case '[':
		return "a list"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}
