// Package jsonscan finds, eight bytes at a time, where a JSON string stops
// being plain ASCII: the decoder and the encoder both spend most of their
// time walking long runs of ordinary characters.
package jsonscan

import "math/bits"

// Plain returns the length of the longest prefix of s, in whole words of
// eight bytes, that holds no control character, '"', '\\' or non-ASCII
// byte. The caller scans the rest byte by byte.
func Plain(s string) int {
	n := len(s)
	// Two words a round: the test is a handful of ALU steps, so the loop
	// overhead is worth halving on the long runs of text this is for.
	for len(s) >= 16 && mask(load(s[:8]))|mask(load(s[8:16])) == 0 {
		s = s[16:]
	}
	for len(s) >= 8 && mask(load(s[:8])) == 0 {
		s = s[8:]
	}
	return n - len(s)
}

// load reads the eight bytes of w as a little-endian word. With len(w)
// known to be eight, the compiler drops the bounds checks and merges the
// loads into one.
func load(w string) uint64 {
	_ = w[7]
	return uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
		uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
}

// loadBytes is load for a byte slice.
func loadBytes(w []byte) uint64 {
	_ = w[7]
	return uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
		uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
}

// Text is Plain letting non-ASCII bytes through, and exact: the length of
// the longest prefix of s with no control character, '"' or '\\'. Only a
// string shorter than a word is left to the caller to scan byte by byte
// (Text returns 0). The bit tricks flag the lowest such byte of a word
// exactly (only above it may a borrow flag more), so the stop is found to
// the byte in the word that holds it, and the last bytes of s are read as
// the word that ends s, whose bytes already checked flag nothing. high
// reports whether that prefix holds a byte of 0x80 or above, for the
// caller to check its UTF-8 once. Text in other scripts than Latin would
// stop Plain at every character.
func Text(s string) (n int, high bool) {
	if len(s) < 8 {
		return 0, false
	}
	// One word first: most strings (keys, ids, names) end in it.
	a := load(s[:8])
	if m := stops(a); m != 0 {
		k := bits.TrailingZeros64(m) >> 3
		return k, a&below(k)&highs != 0
	}
	seen, i := a, 8
	for ; i+16 <= len(s); i += 16 {
		a, b := load(s[i:i+8]), load(s[i+8:i+16])
		ma, mb := stops(a), stops(b)
		if ma|mb == 0 {
			seen |= a | b
			continue
		}
		if ma != 0 {
			k := bits.TrailingZeros64(ma) >> 3
			return i + k, (seen|a&below(k))&highs != 0
		}
		k := bits.TrailingZeros64(mb) >> 3
		return i + 8 + k, (seen|a|b&below(k))&highs != 0
	}
	if i+8 <= len(s) {
		a := load(s[i : i+8])
		if m := stops(a); m != 0 {
			k := bits.TrailingZeros64(m) >> 3
			return i + k, (seen|a&below(k))&highs != 0
		}
		seen |= a
		i += 8
	}
	if i == len(s) {
		return i, seen&highs != 0
	}
	// The rest, under a word, read as the word that ends s.
	last := len(s) - 8
	a = load(s[last:])
	if m := stops(a); m != 0 {
		k := bits.TrailingZeros64(m) >> 3
		return last + k, (seen|a&below(k))&highs != 0
	}
	return len(s), (seen|a)&highs != 0
}

// below masks the k lowest bytes of a word (k < 8).
func below(k int) uint64 { return 1<<(8*k) - 1 }

// Stop reports whether Text stops at c: a quote, a backslash or a control
// character. Callers find the byte Text stopped before with it.
func Stop(c byte) bool { return textStop[c] }

var textStop = func() (t [256]bool) {
	for c := range 256 {
		t[c] = c == '"' || c == '\\' || c < 0x20
	}
	return t
}()

// Unquoted returns the length of the longest prefix of s with no '"' or
// '\\', exact as Text's is (0 for a string shorter than a word): all there
// is to look for in a string already encoded canonically.
func Unquoted(s string) int {
	if len(s) < 8 {
		return 0
	}
	if m := quotes(load(s[:8])); m != 0 {
		return bits.TrailingZeros64(m) >> 3
	}
	i := 8
	for ; i+16 <= len(s); i += 16 {
		ma, mb := quotes(load(s[i:i+8])), quotes(load(s[i+8:i+16]))
		if ma|mb == 0 {
			continue
		}
		if ma != 0 {
			return i + bits.TrailingZeros64(ma)>>3
		}
		return i + 8 + bits.TrailingZeros64(mb)>>3
	}
	if i+8 <= len(s) {
		if m := quotes(load(s[i : i+8])); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
		i += 8
	}
	if i == len(s) {
		return i
	}
	last := len(s) - 8
	if m := quotes(load(s[last:])); m != 0 {
		return last + bits.TrailingZeros64(m)>>3
	}
	return len(s)
}

const ones, highs = 0x0101010101010101, 0x8080808080808080

// quotes is nonzero when a byte of x is '"' or '\\': x^c has a zero byte
// where x has c, and (v-ones)&^v&highs is nonzero exactly when v has a zero
// byte.
func quotes(x uint64) uint64 {
	quote := x ^ (ones * '"')
	backslash := x ^ (ones * '\\')
	return ((quote-ones)&^quote | (backslash-ones)&^backslash) & highs
}

// stops is quotes or a control character: (x-ones*0x20)&^x&highs is
// nonzero exactly when a byte of x is below 0x20.
func stops(x uint64) uint64 { return ((x-ones*0x20)&^x)&highs | quotes(x) }

// mask is nonzero exactly when a byte of x is a control character, '"',
// '\\' or not ASCII. The bit tricks for "has a byte less than n" and "has a
// zero byte" are exact as yes/no answers once bytes of 0x80 and above are
// counted on their own.
func mask(x uint64) uint64 { return stops(x) | x&highs }
