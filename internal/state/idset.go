package state

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"math"
	"slices"
	"strings"
)

// IDSet is a set of non-negative integer ids (Jira issue ids) held as
// sorted, disjoint, non-adjacent ranges: Jira numbers issues from one
// sequence, so the ids a tap has seen are mostly runs.
type IDSet struct {
	ranges []idRange
	n      int64
}

type idRange struct{ lo, hi int64 } // inclusive

// MaxIDs bounds a decoded set: a state file is untrusted input, and a set
// larger than any Jira site would only exhaust memory.
const MaxIDs = 50_000_000

// idSetPrefix versions the encoding.
const idSetPrefix = "v1:"

// NewIDSet builds a set from ids in any order; duplicates are ignored.
// Negative ids are an error.
func NewIDSet(ids []int64) (*IDSet, error) {
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	s := &IDSet{}
	for _, id := range sorted {
		if id < 0 {
			return nil, fmt.Errorf("id %d is negative", id)
		}
		if k := len(s.ranges); k > 0 && s.ranges[k-1].hi == id-1 {
			s.ranges[k-1].hi = id
		} else {
			s.ranges = append(s.ranges, idRange{id, id})
		}
	}
	s.n = int64(len(sorted))
	return s, nil
}

// With returns the set with ids added (in any order; duplicates and ids
// already in it are fine); s itself is left as it was. It costs a pass
// over both, not an insertion per id.
func (s *IDSet) With(ids []int64) (*IDSet, error) {
	add, err := NewIDSet(ids)
	if err != nil {
		return nil, err
	}
	out := &IDSet{ranges: make([]idRange, 0, len(s.ranges)+len(add.ranges))}
	push := func(r idRange) {
		// Overlapping or adjacent ranges merge; lo-1 cannot overflow (ids
		// are not negative), where hi+1 could.
		if k := len(out.ranges); k > 0 && r.lo-1 <= out.ranges[k-1].hi {
			out.ranges[k-1].hi = max(out.ranges[k-1].hi, r.hi)
			return
		}
		out.ranges = append(out.ranges, r)
	}
	i, j := 0, 0
	for i < len(s.ranges) || j < len(add.ranges) {
		if j == len(add.ranges) || (i < len(s.ranges) && s.ranges[i].lo <= add.ranges[j].lo) {
			push(s.ranges[i])
			i++
		} else {
			push(add.ranges[j])
			j++
		}
	}
	for _, r := range out.ranges {
		out.n += r.hi - r.lo + 1
	}
	return out, nil
}

// Len is the number of ids.
func (s *IDSet) Len() int64 { return s.n }

// Contains reports whether id is in the set.
func (s *IDSet) Contains(id int64) bool {
	_, found := slices.BinarySearchFunc(s.ranges, id, func(r idRange, id int64) int {
		switch {
		case r.hi < id:
			return -1
		case r.lo > id:
			return 1
		}
		return 0
	})
	return found
}

// All yields the ids in ascending order.
func (s *IDSet) All() iter.Seq[int64] {
	return func(yield func(int64) bool) {
		for _, r := range s.ranges {
			for id := r.lo; ; id++ {
				if !yield(id) {
					return
				}
				if id == r.hi {
					break
				}
			}
		}
	}
}

// Encode writes the set compactly: "v1:" and the URL-safe base64 (no
// padding) of one uvarint per range, twice the gap since the previous
// range's end (the first range's start) plus one if the range holds more
// than one id, followed then by a uvarint of its length minus one. Dense
// ids cost a few bytes per run; scattered ones (a project among many)
// about one byte each before base64.
func (s *IDSet) Encode() string {
	buf := make([]byte, 0, 4*len(s.ranges))
	prev := int64(-1)
	for _, r := range s.ranges {
		head := uint64(r.lo-prev-1) << 1
		if r.hi > r.lo {
			head |= 1
		}
		buf = binary.AppendUvarint(buf, head)
		if r.hi > r.lo {
			buf = binary.AppendUvarint(buf, uint64(r.hi-r.lo))
		}
		prev = r.hi
	}
	return idSetPrefix + base64.RawURLEncoding.EncodeToString(buf)
}

var errIDSet = errors.New("not an id set written by tap-jira")

// DecodeIDSet reads what Encode wrote. It rejects anything else: a bad
// prefix or base64, truncated or overlong varints, ids past int64, more than
// MaxIDs ids, or trailing bytes.
func DecodeIDSet(s string) (*IDSet, error) {
	body, ok := strings.CutPrefix(s, idSetPrefix)
	if !ok {
		return nil, fmt.Errorf("%w: missing %q prefix", errIDSet, idSetPrefix)
	}
	buf, err := base64.RawURLEncoding.Strict().DecodeString(body)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errIDSet, err)
	}
	set := &IDSet{}
	prev := int64(-1)
	for len(buf) > 0 {
		head, n := binary.Uvarint(buf)
		if n <= 0 {
			return nil, fmt.Errorf("%w: bad gap varint", errIDSet)
		}
		buf = buf[n:]
		gap, length := head>>1, uint64(0)
		if head&1 == 1 {
			if length, n = binary.Uvarint(buf); n <= 0 || length == 0 {
				return nil, fmt.Errorf("%w: bad length varint", errIDSet)
			}
			buf = buf[n:]
		}
		// prev+1+gap and lo+length must stay within int64.
		if gap > uint64(math.MaxInt64-(prev+1)) {
			return nil, fmt.Errorf("%w: id out of range", errIDSet)
		}
		lo := prev + 1 + int64(gap)
		if length > uint64(math.MaxInt64-lo) || length >= uint64(MaxIDs-set.n) {
			return nil, fmt.Errorf("%w: more than %d ids", errIDSet, MaxIDs)
		}
		hi := lo + int64(length)
		if k := len(set.ranges); k > 0 && gap == 0 {
			// Encode never writes adjacent ranges; merge so the set stays
			// canonical anyway.
			set.ranges[k-1].hi = hi
		} else {
			set.ranges = append(set.ranges, idRange{lo, hi})
		}
		set.n += int64(length) + 1
		prev = hi
		if prev == math.MaxInt64 && len(buf) > 0 {
			return nil, fmt.Errorf("%w: id out of range", errIDSet)
		}
	}
	return set, nil
}
