package schema

import (
	"strings"
	"sync/atomic"
	"unsafe"
)

// rawMemo remembers the Raw values found valid, found again by where their
// bytes are. The decoder gives every repeat of a value in a page (the same
// user, project or status, hundreds of times) the very same bytes, so a
// repeat lands on its entry without hashing its bytes, and is accepted for
// one comparison with the copy the entry holds instead of a walk over
// them. Validity depends on the bytes alone: the address only finds the
// slot, and bytes equal to the copy are valid wherever they are (at an
// address reused after the page is gone included). The entry's own copy, not
// a view of the page, keeps no page alive. It is direct-mapped and
// lock-free; a newer value takes a slot over.
//
// A value is copied the second time its bytes are met at the same address
// (seen holds the address of the last value found valid in each slot,
// as a number, which keeps nothing alive and is only compared): many of
// the values an issue holds are met once (its watches, its votes), and
// copying each of them cost more than a repeat's walk saves.
type rawMemo struct {
	slots [memoSlots]atomic.Pointer[memoEntry]
	seen  [memoSlots]atomic.Uintptr
}

type memoEntry struct {
	node *fastNode
	raw  string // a copy of the bytes found valid
}

// minMemoized: shorter values walk about as fast as they are looked up.
// memoSlots: 1024 found a few more repeats, but the copies they held added
// their share of a sequential sync's heap (75 MB peak RSS at 256 slots,
// 86-89 MB at 1024, 70-75 MB without the memo).
const (
	memoBits    = 8
	memoSlots   = 1 << memoBits
	minMemoized = 96
)

// slotOf is where the memo keeps raw for n: a hash of both addresses.
func (n *fastNode) slotOf(raw string) uint64 {
	at := uint64(uintptr(unsafe.Pointer(unsafe.StringData(raw))))
	node := uint64(uintptr(unsafe.Pointer(n)))
	return ((at ^ node>>4) * 0x9e3779b97f4a7c15) >> (64 - memoBits)
}

// validRaw reports what n.raw says of a whole Raw value, through the memo.
func (n *fastNode) validRaw(raw string) bool {
	if n.memo == nil || len(raw) < minMemoized {
		end, ok := n.raw(raw, 0)
		return ok && end == len(raw)
	}
	i := n.slotOf(raw)
	slot := &n.memo.slots[i]
	if e := slot.Load(); e != nil && e.node == n && e.raw == raw {
		return true
	}
	end, ok := n.raw(raw, 0)
	if !ok || end != len(raw) {
		return false
	}
	at := uintptr(unsafe.Pointer(unsafe.StringData(raw)))
	if n.memo.seen[i].Swap(at) == at {
		slot.Store(&memoEntry{node: n, raw: strings.Clone(raw)})
	}
	return true
}
