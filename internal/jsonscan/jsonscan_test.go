package jsonscan

import (
	"strconv"
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

func FuzzPlain(f *testing.F) {
	for _, s := range []string{"abcdefgh", "abc\"defghijklmno", "abcdefg\\", "\x1fbcdefgh", "abcdéfghijk", "!#$%&'()*+,-./0123"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got := Plain(s); got != want(s) {
			t.Fatalf("Plain(%q) = %d, want %d", s, got, want(s))
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
