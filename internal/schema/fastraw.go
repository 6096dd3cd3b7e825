package schema

import "github.com/tap-jira/tap-jira/internal/jsonscan"

// raw is the fast walk over a jsonscan.Raw: the same judgement valid gives
// the tree the bytes stand for, read from the canonical encoding without
// building it. It returns where the value at s[i:] ends. Anything it is not
// sure of (a key or a formatted string with escapes, bytes that are not
// canonical) is false, and Validate falls back to gojsonschema.
func (n *fastNode) raw(s string, i int) (int, bool) {
	if n.unsupported || i >= len(s) {
		return 0, false
	}
	switch c := s[i]; {
	case c == '{':
		if n.types&tObject == 0 {
			return 0, false
		}
		i++
		if i < len(s) && s[i] == '}' {
			return i + 1, true
		}
		for {
			end, escaped := jsonscan.StringEnd(s, i)
			if end < 0 || escaped || end >= len(s) || s[end] != ':' {
				return 0, false
			}
			key := s[i+1 : end-1]
			var ok bool
			if sub := n.properties[key]; sub != nil {
				i, ok = sub.raw(s, end+1)
			} else {
				i, ok = jsonscan.SkipValue(s, end+1)
			}
			if !ok || i >= len(s) {
				return 0, false
			}
			switch s[i] {
			case ',':
				i++
			case '}':
				return i + 1, true
			default:
				return 0, false
			}
		}
	case c == '[':
		if n.types&tArray == 0 {
			return 0, false
		}
		i++
		if i < len(s) && s[i] == ']' {
			return i + 1, true
		}
		for {
			var ok bool
			if n.items != nil {
				i, ok = n.items.raw(s, i)
			} else {
				i, ok = jsonscan.SkipValue(s, i)
			}
			if !ok || i >= len(s) {
				return 0, false
			}
			switch s[i] {
			case ',':
				i++
			case ']':
				return i + 1, true
			default:
				return 0, false
			}
		}
	case c == '"':
		end, escaped := jsonscan.StringEnd(s, i)
		if end < 0 || n.types&tString == 0 {
			return 0, false
		}
		if n.format != "" && (escaped || !n.validString(s[i+1:end-1])) {
			return 0, false
		}
		return end, true
	case c == 't':
		return i + 4, n.types&tBoolean != 0 && hasAt(s, i, "true")
	case c == 'f':
		return i + 5, n.types&tBoolean != 0 && hasAt(s, i, "false")
	case c == 'n':
		return i + 4, n.types&tNull != 0 && hasAt(s, i, "null")
	default:
		end := numberEnd(s, i)
		return end, end > i && n.validNumber(s[i:end])
	}
}

func hasAt(s string, i int, lit string) bool { return len(s)-i >= len(lit) && s[i:i+len(lit)] == lit }

// numberEnd returns the index after the number starting at s[i] (its
// grammar is checked by validNumber).
func numberEnd(s string, i int) int {
	j := i
	for j < len(s) {
		switch c := s[j]; {
		case c >= '0' && c <= '9', c == '-', c == '+', c == '.', c == 'e', c == 'E':
			j++
			continue
		}
		break
	}
	return j
}
