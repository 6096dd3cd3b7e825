package schema

import (
	"sync/atomic"
	"unsafe"
)

// rawMemo remembers the Raw values found valid by where their bytes are.
// The decoder gives every repeat of a value in a page (the same user,
// project or status, hundreds of times) the very same bytes, so a repeat
// is accepted for a pointer comparison instead of a walk over them. An
// entry holds its value: while it is remembered its bytes cannot be freed
// and reused for another value, which is what makes the identity a proof.
// It is direct-mapped and lock-free; a newer value takes a slot over. A
// page's values fill most slots, so what it holds (and keeps alive) is the
// arenas of the last page or two, not more.
type rawMemo struct {
	slots [memoSlots]atomic.Pointer[memoEntry]
}

type memoEntry struct {
	node *fastNode
	raw  string
}

// minMemoized: shorter values walk about as fast as they are looked up.
// A page of issues has a few hundred users, projects and statuses under a
// dozen nodes; fewer slots than that missed more.
const (
	memoBits    = 10
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
	slot := &n.memo.slots[n.slotOf(raw)]
	if e := slot.Load(); e != nil && e.node == n && len(e.raw) == len(raw) && unsafe.StringData(e.raw) == unsafe.StringData(raw) {
		return true
	}
	end, ok := n.raw(raw, 0)
	if !ok || end != len(raw) {
		return false
	}
	slot.Store(&memoEntry{node: n, raw: raw})
	return true
}
