package jsonscan

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// Raw is a JSON object or array the tap passes through without building a
// tree for it: the bytes are exactly what the tap's encoder writes for the
// decoded value (keys sorted, a repeated key's last value, strings escaped
// as encoding/json escapes them without HTML escaping, Jira timestamps in
// RFC 3339 UTC, no whitespace). Encoding a Raw is a copy; most of an issue
// is nested objects the tap never reads, and building maps for them was
// most of its CPU.
type Raw string

// MarshalJSON makes encoding/json write a Raw as the JSON it holds, not as
// a string.
func (r Raw) MarshalJSON() ([]byte, error) { return []byte(r), nil }

// Decode builds the tree r stands for, as json.Decoder with UseNumber
// would: for the rare code that must look inside.
func (r Raw) Decode() (any, error) {
	dec := json.NewDecoder(bytes.NewReader([]byte(r)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// Expand returns v with every Raw in it replaced by its tree, copying the
// maps and slices on the way to one; v itself is left as it is. A Raw that
// does not decode (it always should) stays as it is. It is for the rare
// code that must look at a whole record: the full validator's report.
func Expand(v any) any {
	if !containsRaw(v) {
		return v
	}
	switch t := v.(type) {
	case Raw:
		if d, err := t.Decode(); err == nil {
			return d
		}
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = Expand(e)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = Expand(e)
		}
		return out
	}
	return v
}

func containsRaw(v any) bool {
	switch t := v.(type) {
	case Raw:
		return true
	case map[string]any:
		for _, e := range t {
			if containsRaw(e) {
				return true
			}
		}
	case []any:
		for _, e := range t {
			if containsRaw(e) {
				return true
			}
		}
	}
	return false
}

const hexDigits = "0123456789abcdef"

// plainByte marks the ASCII bytes a JSON string carries as they are.
var plainByte = func() (t [256]bool) {
	for c := range utf8.RuneSelf {
		t[c] = c >= 0x20 && c != '"' && c != '\\'
	}
	return t
}()

// AppendString is encoding/json's string encoding without HTML escaping.
func AppendString(dst []byte, s string) []byte {
	// Most strings need only their quotes, backslashes and control bytes
	// escaped: ASCII, and text in any script when it is valid UTF-8
	// without U+2028 or U+2029. That is checked once for the whole string
	// instead of rune by rune, and only when a byte calls for it.
	mark := len(dst)
	dst, high := appendText(dst, s)
	if !high || utf8.ValidString(s) && !strings.Contains(s, "\u2028") && !strings.Contains(s, "\u2029") {
		return dst
	}
	return appendRunes(dst[:mark], s)
}

// appendText is AppendString for strings whose every byte of 0x80 or above
// may go as it is; high reports whether there was one.
func appendText(dst []byte, s string) (_ []byte, high bool) {
	dst = append(dst, '"')
	if len(s) < 8 {
		// Most keys and many values are short: copied first, they are
		// checked as one word read from dst, where its capacity allows,
		// the bytes past s masked off (they can flag nothing in s: a
		// borrow only carries upward).
		at := len(dst)
		dst = append(dst, s...)
		if cap(dst)-at >= 8 {
			w := loadBytes(dst[at:at+8]) & below(len(s))
			if stops(w)&below(len(s)) == 0 {
				return append(dst, '"'), w&highs != 0
			}
		}
		dst = dst[:at]
	}
	start := 0
	for i := 0; ; {
		n, h := Text(s[i:])
		i += n
		high = high || h
		for i < len(s) && !Stop(s[i]) {
			high = high || s[i] >= utf8.RuneSelf
			i++
		}
		if i >= len(s) {
			break
		}
		dst = append(dst, s[start:i]...)
		dst = appendEscaped(dst, s[i])
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"'), high
}

// appendEscaped writes the escape of a quote, backslash or control byte.
func appendEscaped(dst []byte, b byte) []byte {
	switch b {
	case '\\', '"':
		return append(dst, '\\', b)
	case '\b':
		return append(dst, '\\', 'b')
	case '\f':
		return append(dst, '\\', 'f')
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	}
	return append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
}

// appendRunes is AppendString rune by rune: invalid UTF-8 becomes U+FFFD
// and U+2028 and U+2029 are escaped, as encoding/json does.
func appendRunes(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		// Eight bytes at a time while none needs a look: most strings are
		// long runs of plain ASCII.
		i += Plain(s[i:])
		if i >= len(s) {
			break
		}
		b := s[i]
		if plainByte[b] {
			i++
			continue
		}
		if b < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			dst = appendEscaped(dst, b)
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
