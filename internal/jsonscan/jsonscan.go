// Package jsonscan finds, eight bytes at a time, where a JSON string stops
// being plain ASCII: the decoder and the encoder both spend most of their
// time walking long runs of ordinary characters.
package jsonscan

// Plain returns the length of the longest prefix of s, in whole words of
// eight bytes, that holds no control character, '"', '\\' or non-ASCII
// byte. The caller scans the rest byte by byte.
func Plain(s string) int {
	i := 0
	for i+8 <= len(s) && !special(load(s, i)) {
		i += 8
	}
	return i
}

// load reads s[i:i+8] as a little-endian word (the compiler merges the
// loads).
func load(s string, i int) uint64 {
	_ = s[i+7]
	return uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
		uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
}

// special reports whether any byte of x is a control character, '"', '\\'
// or not ASCII. The bit tricks for "has a byte less than n" and "has a zero
// byte" are exact as yes/no answers once bytes of 0x80 and above are
// counted on their own.
func special(x uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	quote := x ^ (ones * '"')
	backslash := x ^ (ones * '\\')
	return ((x-ones*0x20)&^x|(quote-ones)&^quote|(backslash-ones)&^backslash|x)&highs != 0
}
