package jsonscan

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
)

func isPlain(c byte) bool { return c >= 0x20 && c < 0x80 && c != '"' && c != '\\' }

// want is Plain written byte by byte.
func want(s string) int {
	n := 0
	for n < len(s) && isPlain(s[n]) {
		n++
	}
	return n / 8 * 8
}

func TestPlain(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   string
		want int
	}{
		{"", 0},
		{"abcdefg", 0},
		{"abcdefgh", 8},
		{"abcdefghijklmnop\"", 16},
		{"abc\"defghijklmnop", 0},
		{"abcdefgh\\ijklmnop", 8},
		{"abcdefgh\x1fijklmnop", 8},
		{"abcdefgh\x7fijklmnop", 16},
		{"abcdefghé", 8},
		{"        \x00       ", 8},
	} {
		if got := Plain(c.in); got != c.want {
			t.Errorf("Plain(%q) = %d, want %d", c.in, got, c.want)
		}
	}
}

// wantText and wantUnquoted are Text and Unquoted written byte by byte:
// the first byte they stop at, or 0 for a string shorter than a word.
func wantText(s string) (int, bool) {
	if len(s) < 8 {
		return 0, false
	}
	n, high := 0, false
	for n < len(s) && s[n] >= 0x20 && s[n] != '"' && s[n] != '\\' {
		high = high || s[n] >= 0x80
		n++
	}
	return n, high
}

func wantUnquoted(s string) int {
	if len(s) < 8 {
		return 0
	}
	n := 0
	for n < len(s) && s[n] != '"' && s[n] != '\\' {
		n++
	}
	return n
}

func TestTextAndUnquoted(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in             string
		text, unquoted int
		high           bool
	}{
		{"", 0, 0, false},
		{"abcdefg", 0, 0, false}, // shorter than a word: the caller scans it
		{"abc\"", 0, 0, false},
		{"abcdefg\"", 7, 7, false},
		{"abcdefgh\"", 8, 8, false}, // in the word that ends the string
		{"起動直後に落ちる\"", 24, 24, true},
		{"起動直後に落ちる\"abcdefg", 24, 24, true},
		{"ab\"défghijklmnop", 2, 2, false},     // high only before the stop
		{"abcdefgh起動直後に落ちる\x1f", 32, 33, true}, // Unquoted lets control bytes by
		{"abcdefgh起動直後に落ちる\x1fabcdefg", 32, 40, true},
		{"abcdefghijklmnop\\é", 16, 16, false},
		{"abcdefghijklmn\\é\"", 14, 14, false},
		{"abcdefgh\nijklmnopqrstuvwxyz\"", 8, 27, false},
		{"abcdefg\nijklmnopqrstuvwxyz\"", 7, 26, false},
		{"\x00bcdefghijklmnop", 0, 16, false},
		{"\x7fbcdefghijklmnop", 16, 16, false},
		{"abcdefghijklmnoé\"", 17, 17, true}, // the last word overlaps the one before
		{"abcdefghijklmnoéa\"ab", 18, 18, true},
		{"abcdefghijklmnoéa\"abcde", 18, 18, true},
		{"abcdefghijklmnopq", 17, 17, false},           // no stop at all
		{"abcdefghijklmnopqrstuvw\"x", 23, 23, false},  // in the second word of a pair
		{"abcdefghijk\"mnopqrstuvwx", 11, 11, false},   // in the first word of a pair
		{"abcdefghijklmnopqrstuvwxy\"", 25, 25, false}, // in a word after the pairs
		{"abcdefghijklmnoé", 17, 17, true},
		{"abcdefghé\x01", 10, 11, true},
		{"\x1f\"bcdefg", 0, 1, false}, // the lowest flagged byte, not a borrow above it
	} {
		n, high := Text(c.in)
		if n != c.text || high != c.high {
			t.Errorf("Text(%q) = %d, %v, want %d, %v", c.in, n, high, c.text, c.high)
		}
		if got := Unquoted(c.in); got != c.unquoted {
			t.Errorf("Unquoted(%q) = %d, want %d", c.in, got, c.unquoted)
		}
	}
}

func FuzzPlain(f *testing.F) {
	for _, s := range []string{"abcdefgh", "abc\"defghijklmno", "abcdefg\\", "\x1fbcdefgh", "abcdéfghijk", "!#$%&'()*+,-./0123"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got := Plain(s); got != want(s) {
			t.Fatalf("Plain(%q) = %d, want %d", s, got, want(s))
		}
		n, high := Text(s)
		if wn, wh := wantText(s); n != wn || high != wh {
			t.Fatalf("Text(%q) = %d, %v, want %d, %v", s, n, high, wn, wh)
		}
		if got := Unquoted(s); got != wantUnquoted(s) {
			t.Fatalf("Unquoted(%q) = %d, want %d", s, got, wantUnquoted(s))
		}
	})
}

func BenchmarkPlain(b *testing.B) {
	for _, n := range []int{16, 64, 1024} {
		s := ""
		for len(s) < n {
			s += "abcdefghijklmnopqrstuvwxyz0123456789"
		}
		s = s[:n] + `"`
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				if Plain(s) != n {
					b.Fatal("wrong length")
				}
			}
		})
	}
}

// FuzzAppendString holds AppendString to encoding/json (without HTML
// escaping) on any string, invalid UTF-8 included.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"plain", "id", "", "a\"b", "\\", "é", "\x01ab", "abcdef\n", "起動直後に落ちる \"q\" \\ \n", "a\u2028b\u2029c", "bad \xff\xfe utf-8 起動", "\x00\x1f\x7f <>&", "éééééééééééé\t"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(s); err != nil {
			t.Fatal(err)
		}
		got := AppendString([]byte("x"), s)
		if string(got) != "x"+strings.TrimSuffix(want.String(), "\n") {
			t.Fatalf("AppendString(%q) = %s, encoding/json gives %s", s, got[1:], want.String())
		}
		// With room to spare in dst, whatever its bytes past its length
		// (a short string is checked as a word read from there).
		for _, junk := range []byte{0, '"', '\\', 0x1f, 0xff, 'a'} {
			dst := bytes.Repeat([]byte{junk}, 64)[:1]
			dst[0] = 'x'
			got := AppendString(dst, s)
			if string(got) != "x"+strings.TrimSuffix(want.String(), "\n") {
				t.Fatalf("AppendString(%q) over %q = %s, encoding/json gives %s", s, junk, got[1:], want.String())
			}
		}
	})
}
