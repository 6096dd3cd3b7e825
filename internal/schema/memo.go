package schema

import (
	"hash/maphash"
	"sync/atomic"
	"unique"
	"unsafe"
)

// rawMemo remembers the Raw values found valid, found again by a hash of
// their bytes: the same user, project, status or avatar set comes back on
// page after page (and hundreds of times in a page), and a repeat is
// accepted for a hash and one comparison with the copy its entry holds
// instead of a walk over its bytes. Validity depends on the bytes and the
// node alone: the hash only finds the set, and an entry is trusted only
// for its node and bytes equal to its copy. The copy, not a view of a
// page, keeps no page alive. It is lock-free, two entries a set, the
// newer first; a value stored pushes the older out. With one entry a
// set, the users whose avatars hashed to the same slot took it in turns
// and missed it every time (10 thousand walks a 20k sync).
//
// A value is copied the second time it is met (seen holds the hash of the
// last value found valid in each of its own slots): many of the values an
// issue holds are met once (its watches, its votes), and copying each of
// them cost more than a repeat's walk saves. Seen has eight times as many
// slots as the memo has sets, so that the values met once, one an issue,
// seldom wipe out a repeated one's mark before it comes back.
type rawMemo struct {
	slots [memoSlots][memoWays]atomic.Pointer[memoEntry]
	seen  [seenSlots]atomic.Uint64
}

type memoEntry struct {
	node *fastNode
	raw  string // a copy of the bytes found valid: keep's
	keep unique.Handle[string]
}

// minMemoized: shorter values walk about as fast as they are looked up.
// maxMemoized bounds the copies (memoSlots of them at most): a value that
// long is rarely met twice. The memo was kept by address before, which
// found only the repeats within a page: 256 slots then; by content, 1024
// find more (make instructions: 45.5 million a page by address, 44.9 by
// content with 256 slots, 43.8 with 1024).
const (
	memoBits    = 10
	memoSlots   = 1 << memoBits
	memoWays    = 2
	seenBits    = memoBits + 3
	seenSlots   = 1 << seenBits
	minMemoized = 96
	maxMemoized = 2048
)

// slotOf is the set where the memo keeps raw for n, and raw's hash: a
// hash of its bytes and the node's address.
func (n *fastNode) slotOf(raw string) (uint64, uint64) {
	node := uint64(uintptr(unsafe.Pointer(n)))
	h := maphash.String(memoSeed, raw) ^ node*0x9e3779b97f4a7c15
	return h >> (64 - memoBits), h
}

var memoSeed = maphash.MakeSeed()

// validRaw reports what n.raw says of a whole Raw value, through the memo.
func (n *fastNode) validRaw(raw string) bool {
	if n.memo == nil || len(raw) < minMemoized || len(raw) > maxMemoized {
		end, ok := n.raw(raw, 0)
		return ok && end == len(raw)
	}
	i, h := n.slotOf(raw)
	set := &n.memo.slots[i]
	for w := range set {
		if e := set[w].Load(); e != nil && e.node == n && e.raw == raw {
			return true
		}
	}
	end, ok := n.raw(raw, 0)
	if !ok || end != len(raw) {
		return false
	}
	if n.memo.seen[h>>(64-seenBits)].Swap(h) == h {
		set[1].Store(set[0].Load())
		// The copy is the process's canonical one (unique), which the
		// decoder's run cache of raw values also holds: a value the
		// decoder gives from there is then compared by its address, not
		// its bytes.
		keep := unique.Make(raw)
		set[0].Store(&memoEntry{node: n, raw: keep.Value(), keep: keep})
	}
	return true
}
