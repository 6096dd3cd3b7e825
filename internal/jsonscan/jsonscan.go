// Package jsonscan finds, eight bytes at a time, where a JSON string stops
// being plain ASCII: the decoder and the encoder both spend most of their
// time walking long runs of ordinary characters.
package jsonscan

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

// Text is Plain letting non-ASCII bytes through: the length of the longest
// prefix of s, in whole words, with no control character, '"' or '\\'.
// high reports whether that prefix holds a byte of 0x80 or above, for the
// caller to check its UTF-8 once. Text in other scripts than Latin would
// stop Plain at every character.
func Text(s string) (n int, high bool) {
	n = len(s)
	var seen uint64
	for len(s) >= 16 {
		a, b := load(s[:8]), load(s[8:16])
		if stops(a)|stops(b) != 0 {
			break
		}
		seen |= a | b
		s = s[16:]
	}
	for len(s) >= 8 {
		a := load(s[:8])
		if stops(a) != 0 {
			break
		}
		seen |= a
		s = s[8:]
	}
	return n - len(s), seen&highs != 0
}

// Stop reports whether Text stops at c: a quote, a backslash or a control
// character. Callers find the byte Text stopped before with it.
func Stop(c byte) bool { return textStop[c] }

var textStop = func() (t [256]bool) {
	for c := range 256 {
		t[c] = c == '"' || c == '\\' || c < 0x20
	}
	return t
}()

// Unquoted returns the length of the longest prefix of s, in whole words,
// with no '"' or '\\': all there is to look for in a string already
// encoded canonically.
func Unquoted(s string) int {
	n := len(s)
	for len(s) >= 16 && quotes(load(s[:8]))|quotes(load(s[8:16])) == 0 {
		s = s[16:]
	}
	for len(s) >= 8 && quotes(load(s[:8])) == 0 {
		s = s[8:]
	}
	return n - len(s)
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
