package jira

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// cutRule says which of a spooled page's lists compactPage leaves in the
// file: one past most bytes, and, once what the page keeps in memory has
// passed budget bytes, one past least. So a page of many issues with long
// histories, each under most (a first page of 100, before pages are sized
// by their weight), keeps about budget of them in memory, not all.
type cutRule struct{ most, least, budget int }

// pageCut is the rule for Data Center search pages.
var pageCut = cutRule{most: 1 << 20, least: 64 << 10, budget: spillFrom}

// compactPage reads a Data Center search page spooled to src (size bytes)
// and returns it without its long lists: every issue's
// changelog.histories and fields.comment.comments that cut says is long
// is checked (each element must be JSON), left in the file, and replaced
// in the page by [], and LongLists that read them from the file come back
// by the index of their issue in issues. Everything else is copied as it
// is, for the decoder to judge: a site whose search embeds every
// changelog entry and comment (Data Center may) returns an issue with
// 100,000 of them as 85 MB of one page, which is then held as its bytes
// on disk, not in memory. Only the page's own "issues", and an issue's
// own "changelog", "histories", "fields", "comment" and "comments" are
// looked into; a repeated one is refused (Jira does not repeat keys).
func compactPage(src io.ReaderAt, size int64, cut cutRule) ([]byte, map[int]*leftLists, error) {
	c := &compactor{
		s:   &streamScan{r: io.NewSectionReader(src, 0, size), buf: make([]byte, 0, 256<<10)},
		src: src, cut: cut, longs: map[int]*leftLists{},
		out: make([]byte, 0, min(size, 256<<10)),
	}
	ch, err := c.s.peek()
	if err != nil {
		return nil, nil, err
	}
	if ch != '{' {
		c.out, err = c.s.capture(c.out) // not a page: the decoder says so
	} else {
		seen := map[string]bool{}
		err = c.object(func(k string) (bool, error) {
			if k != "issues" {
				return false, nil
			}
			return readOnce(seen, k, c.issues)
		})
	}
	if err != nil {
		return nil, nil, err
	}
	if _, err := c.s.peek(); err == nil {
		return nil, nil, c.s.errorf("invalid character after top-level value")
	} else if err != errEnd {
		return nil, nil, err
	}
	if cap(c.out)-len(c.out) > len(c.out)/4 {
		// The page's values are views of it until it is written: do not
		// keep the room appends left.
		c.out = bytes.Clone(c.out)
	}
	return c.out, c.longs, nil
}

// leftLists are the lists of an issue left in the file.
type leftLists struct{ histories, comments *LongList }

type compactor struct {
	s       *streamScan
	src     io.ReaderAt
	cut     cutRule
	out     []byte
	longs   map[int]*leftLists
	scratch []byte
}

// leave puts a list of issue i left in the file where set says.
func (c *compactor) leave(i int, set func(*leftLists, *LongList)) func(*LongList) {
	return func(l *LongList) {
		if c.longs[i] == nil {
			c.longs[i] = &leftLists{}
		}
		set(c.longs[i], l)
	}
}

// readOnce reads the value of key with read, refusing a key read before:
// for the members compactPage looks into.
func readOnce(seen map[string]bool, key string, read func() (bool, error)) (bool, error) {
	if seen[key] {
		return true, fmt.Errorf("%q: %w", key, errRepeatedKey)
	}
	seen[key] = true
	return read()
}

// object copies the object at the scanner to out. member is called with
// the scanner at each value, its key copied: it reads and copies the
// value itself, or returns false to have it copied as it is.
func (c *compactor) object(member func(key string) (bool, error)) error {
	if err := c.s.expect('{', "looking for beginning of object"); err != nil {
		return err
	}
	c.out = append(c.out, '{')
	for first := true; ; first = false {
		ch, err := c.s.peek()
		if err != nil {
			return err
		}
		if ch == '}' {
			c.s.i++
			c.out = append(c.out, '}')
			return nil
		}
		if !first {
			if ch != ',' {
				return c.s.errorf("invalid character %q after object key:value pair", ch)
			}
			c.s.i++
			c.out = append(c.out, ',')
		}
		k, err := c.s.key()
		if err != nil {
			return err
		}
		c.out = append(append(c.out, c.s.scratch...), ':') // the key as read
		done, err := member(k)
		if err != nil {
			return err
		}
		if !done {
			if c.out, err = c.s.capture(c.out); err != nil {
				return err
			}
		}
	}
}

// elements copies the array at the scanner to out, calling element with
// the scanner at each element and its index; it reads and copies the
// element, or returns false to have it copied as it is.
func (c *compactor) elements(element func(i int) (bool, error)) error {
	if err := c.s.expect('[', "looking for beginning of array"); err != nil {
		return err
	}
	c.out = append(c.out, '[')
	for i := 0; ; i++ {
		ch, err := c.s.peek()
		if err != nil {
			return err
		}
		if ch == ']' && i == 0 {
			c.s.i++
			c.out = append(c.out, ']')
			return nil
		}
		done, err := element(i)
		if err != nil {
			return err
		}
		if !done {
			if c.out, err = c.s.capture(c.out); err != nil {
				return err
			}
		}
		if ch, err = c.s.peek(); err != nil {
			return err
		}
		switch ch {
		case ',':
			c.s.i++
			c.out = append(c.out, ',')
		case ']':
			c.s.i++
			c.out = append(c.out, ']')
			return nil
		default:
			return c.s.errorf("invalid character %q after array element", ch)
		}
	}
}

// issues copies the page's issues, looking into each one's lists.
func (c *compactor) issues() (bool, error) {
	if ch, err := c.s.peek(); err != nil || ch != '[' {
		return false, err
	}
	return true, c.elements(func(i int) (bool, error) {
		if ch, err := c.s.peek(); err != nil || ch != '{' {
			return false, err
		}
		seen := map[string]bool{}
		return true, c.object(func(k string) (bool, error) {
			switch k {
			case "changelog":
				return readOnce(seen, k, func() (bool, error) {
					return c.inner(k, "histories", func() (bool, error) {
						return c.list(ChangelogRecord, c.leave(i, func(ll *leftLists, l *LongList) { ll.histories = l }))
					})
				})
			case "fields":
				return readOnce(seen, k, func() (bool, error) {
					return c.inner(k, "comment", func() (bool, error) {
						return c.inner("comment", "comments", func() (bool, error) {
							return c.list(ChildRecord, c.leave(i, func(ll *leftLists, l *LongList) { ll.comments = l }))
						})
					})
				})
			}
			return false, nil
		})
	})
}

// inner copies the object (if it is one) of the member named outer,
// reading its member key with read.
func (c *compactor) inner(outer, key string, read func() (bool, error)) (bool, error) {
	if ch, err := c.s.peek(); err != nil || ch != '{' {
		return false, err
	}
	seen := map[string]bool{}
	return true, c.object(func(k string) (bool, error) {
		if k != key {
			return false, nil
		}
		done, err := readOnce(seen, k, read)
		if err != nil {
			err = fmt.Errorf("%q: %w", outer, err)
		}
		return done, err
	})
}

// list copies an array of elements of the given shape, or, past the size
// the cut rule gives it, checks them, leaves them in the file and hands
// put a LongList that reads them.
func (c *compactor) list(shape *Shape, put func(*LongList)) (bool, error) {
	if ch, err := c.s.peek(); err != nil || ch != '[' {
		return false, err
	}
	start := c.s.off + int64(c.s.i)
	c.s.i++ // '['
	arr, n, inFile := append(c.scratch[:0], '['), 0, false
	limit := c.cut.most
	if len(c.out) > c.cut.budget {
		limit = c.cut.least
	}
	ch, err := c.s.peek()
	if err != nil {
		return true, err
	}
	if ch != ']' {
		for {
			if inFile {
				arr = arr[:0]
			} else if n > 0 {
				arr = append(arr, ',')
			}
			if arr, err = c.s.capture(arr); err != nil {
				return true, err
			}
			n++
			// What stays in the page the decoder checks; what is left in
			// the file is checked here, the elements so far at once.
			switch {
			case inFile && !json.Valid(arr):
				return true, c.s.errorf("an element of a long list is not valid JSON")
			case !inFile && len(arr) > limit:
				if !json.Valid(append(arr, ']')) {
					return true, c.s.errorf("an element of a long list is not valid JSON")
				}
				inFile = true
			}
			if ch, err = c.s.peek(); err != nil {
				return true, err
			}
			if ch == ']' {
				break
			}
			if ch != ',' {
				return true, c.s.errorf("invalid character %q after array element", ch)
			}
			c.s.i++
		}
	}
	c.s.i++ // ']'
	c.scratch = arr[:0]
	if !inFile {
		c.out = append(append(c.out, arr...), ']')
		return true, nil
	}
	end := c.s.off + int64(c.s.i)
	c.out = append(c.out, "[]"...)
	put(&LongList{src: c.src, off: start, size: end - start, n: n, each: shape, normalize: true})
	return true, nil
}
