package jsonscan

// StringMember returns the value of the member key of the object r when
// it is a string without escapes, which a Raw holds as it is: an author's
// account id read without decoding the author. ok is false when r is not
// an object, has no such member, the value is not a string or has escapes
// (the caller decodes r then), or r is not a Raw's canonical bytes.
func StringMember(r Raw, key string) (value string, ok bool) {
	s := string(r)
	if len(s) < 2 || s[0] != '{' {
		return "", false
	}
	i := 1
	for i < len(s) && s[i] != '}' {
		end, escaped := StringEnd(s, i)
		if end < 0 || end >= len(s) || s[end] != ':' {
			return "", false
		}
		name := s[i+1 : end-1]
		i = end + 1
		if !escaped && name == key {
			vend, vescaped := StringEnd(s, i)
			if vend < 0 || vescaped {
				return "", false
			}
			return s[i+1 : vend-1], true
		}
		var ok bool
		if i, ok = SkipValue(s, i); !ok || i >= len(s) {
			return "", false
		}
		if s[i] == ',' {
			i++
		}
	}
	return "", false
}

// StringEnd returns the index after the string starting at s[i] (a
// quote) and whether it holds an escape; -1 if it does not end.
func StringEnd(s string, i int) (int, bool) {
	if i >= len(s) || s[i] != '"' {
		return -1, false
	}
	escaped := false
	for j := i + 1; j < len(s); {
		j += Unquoted(s[j:])
		if j >= len(s) {
			break
		}
		switch s[j] {
		case '"':
			return j + 1, escaped
		case '\\':
			escaped = true
			j += 2
		default:
			j++
		}
	}
	return -1, false
}

// SkipValue returns the index after the value at s[i] of canonical bytes
// (no whitespace), without looking into it; false if there is none.
func SkipValue(s string, i int) (int, bool) {
	depth := 0
	for i < len(s) {
		switch c := s[i]; c {
		case '"':
			end, _ := StringEnd(s, i)
			if end < 0 {
				return 0, false
			}
			i = end
		case '{', '[':
			depth++
			i++
		case '}', ']':
			depth--
			i++
			if depth < 0 {
				return 0, false
			}
		case ',', ':':
			if depth == 0 {
				return 0, false
			}
			i++
		default:
			i++
		}
		if depth == 0 && i < len(s) && (s[i] == ',' || s[i] == '}' || s[i] == ']') {
			return i, true
		}
	}
	return i, depth == 0
}
