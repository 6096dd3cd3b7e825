package streams

import (
	"iter"
	"maps"
	"math/bits"
	"slices"
	"strconv"
	"strings"
)

// seenIDs is the set of ids written in a run, to skip one a search returns
// twice. Jira numbers issues and worklogs from site-wide sequences, so the
// ids are kept as their numbers in chunks of 65536: a sorted list of 2-byte
// offsets while a chunk is sparse, 8 KiB of bits once the list would be
// larger. A million ids take about 2 MB, against 40 MB as a map of strings
// (TestSeenIDsAreCompact); memory stays flat as a site grows.
type seenIDs struct {
	chunks map[uint64]*idChunk
	odd    map[string]struct{} // ids that are not canonical decimal numbers
	n      int
}

type idChunk struct {
	list []uint16 // sorted offsets, until bits replaces it
	bits *[chunkWords]uint64
}

const (
	chunkBits  = 16
	chunkWords = 1 << chunkBits / 64
	// A list of this many offsets is as large as the chunk's bits.
	chunkListMax = chunkWords * 64 / 16
)

// Add puts id in the set and says whether it was new.
func (s *seenIDs) Add(id string) bool {
	n, ok := decimalID(id)
	if !ok {
		if _, dup := s.odd[id]; dup {
			return false
		}
		if s.odd == nil {
			s.odd = map[string]struct{}{}
		}
		s.odd[strings.Clone(id)] = struct{}{} // id may be a view of a page
		s.n++
		return true
	}
	if s.chunks == nil {
		s.chunks = map[uint64]*idChunk{}
	}
	c := s.chunks[n>>chunkBits]
	if c == nil {
		c = &idChunk{}
		s.chunks[n>>chunkBits] = c
	}
	if !c.add(uint16(n)) {
		return false
	}
	s.n++
	return true
}

func (c *idChunk) add(off uint16) bool {
	if c.bits == nil {
		i, found := slices.BinarySearch(c.list, off)
		if found {
			return false
		}
		if len(c.list) < chunkListMax {
			c.list = slices.Insert(c.list, i, off)
			return true
		}
		c.bits = new([chunkWords]uint64)
		for _, o := range c.list {
			c.bits[o/64] |= 1 << (o % 64)
		}
		c.list = nil
	}
	w, b := off/64, uint64(1)<<(off%64)
	if c.bits[w]&b != 0 {
		return false
	}
	c.bits[w] |= b
	return true
}

// Len is the number of ids in the set.
func (s *seenIDs) Len() int { return s.n }

// All yields every id, the numbers in ascending order, then the others.
func (s *seenIDs) All() iter.Seq[string] {
	return func(yield func(string) bool) {
		for _, hi := range slices.Sorted(maps.Keys(s.chunks)) {
			c, base := s.chunks[hi], hi<<chunkBits
			for _, off := range c.list {
				if !yield(strconv.FormatUint(base|uint64(off), 10)) {
					return
				}
			}
			if c.bits == nil {
				continue
			}
			for w, word := range c.bits {
				for word != 0 {
					off := uint64(w*64 + bits.TrailingZeros64(word))
					word &= word - 1
					if !yield(strconv.FormatUint(base|off, 10)) {
						return
					}
				}
			}
		}
		for _, id := range slices.Sorted(maps.Keys(s.odd)) {
			if !yield(id) {
				return
			}
		}
	}
}

// decimalID reads an id written as Jira writes its numbers: decimal digits
// without a sign or leading zeros, so that each number has one spelling
// and "007" stays a different id from "7".
func decimalID(s string) (uint64, bool) {
	if len(s) == 0 || len(s) > 18 || (s[0] == '0' && len(s) > 1) {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i] - '0'
		if c > 9 {
			return 0, false
		}
		n = n*10 + uint64(c)
	}
	return n, true
}
