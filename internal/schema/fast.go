package schema

import (
	"encoding/json"
	"net/url"
	"strings"
	"time"

	"github.com/tap-jira/tap-jira/internal/jsonscan"
)

// fastNode is a schema compiled for a quick walk that can only say "valid"
// or "not sure". It accepts a record only where gojsonschema would (the
// same type, integer and format rules, fuzzed against it); for everything
// else, and to report an error with its pointer, Validate falls back to
// gojsonschema, which stays the judge. Most records are valid, and this
// walk costs a fraction of gojsonschema's.
type fastNode struct {
	types       typeSet
	format      string // "", "date-time", "date" or "uri"
	properties  map[string]*fastNode
	items       *fastNode
	unsupported bool     // a keyword the walk does not know: always "not sure"
	memo        *rawMemo // shared by the nodes of one schema
}

type typeSet uint8

const (
	tNull typeSet = 1 << iota
	tBoolean
	tString
	tNumber
	tInteger
	tObject
	tArray
	tAny typeSet = 0xff
)

// keywords that only describe, and that the fast walk may ignore.
var descriptive = map[string]bool{"title": true, "description": true, "default": true, "examples": true, "$comment": true}

func compileFast(doc map[string]any) *fastNode {
	return compileFastNode(doc, new(rawMemo))
}

func compileFastNode(doc map[string]any, memo *rawMemo) *fastNode {
	n := &fastNode{types: tAny, memo: memo}
	for k, v := range doc {
		switch k {
		case "type":
			ts, ok := parseTypes(v)
			if !ok {
				n.unsupported = true
			}
			n.types = ts
		case "format":
			f, _ := v.(string)
			if f != "date-time" && f != "date" && f != "uri" {
				n.unsupported = true
			}
			n.format = f
		case "properties":
			props, ok := v.(map[string]any)
			if !ok {
				n.unsupported = true
				continue
			}
			n.properties = make(map[string]*fastNode, len(props))
			for name, sub := range props {
				m, ok := sub.(map[string]any)
				if !ok {
					// Still declared (a checked encoding reads declarations here).
					n.unsupported = true
					n.properties[name] = &fastNode{unsupported: true, memo: memo}
					continue
				}
				n.properties[name] = compileFastNode(m, memo)
			}
		case "items":
			m, ok := v.(map[string]any)
			if !ok { // tuple validation
				n.unsupported = true
				continue
			}
			n.items = compileFastNode(m, memo)
		default:
			if !descriptive[k] {
				n.unsupported = true
			}
		}
	}
	return n
}

func parseTypes(v any) (typeSet, bool) {
	one := func(s string) (typeSet, bool) {
		switch s {
		case "null":
			return tNull, true
		case "boolean":
			return tBoolean, true
		case "string":
			return tString, true
		case "number":
			return tNumber, true
		case "integer":
			return tInteger, true
		case "object":
			return tObject, true
		case "array":
			return tArray, true
		}
		return 0, false
	}
	switch t := v.(type) {
	case string:
		return one(t)
	case []any:
		var ts typeSet
		for _, e := range t {
			s, ok := e.(string)
			if !ok {
				return 0, false
			}
			b, ok := one(s)
			if !ok {
				return 0, false
			}
			ts |= b
		}
		return ts, ts != 0
	}
	return 0, false
}

// valid reports true only when gojsonschema would accept v.
func (n *fastNode) valid(v any) bool {
	if n.unsupported {
		return false
	}
	switch t := v.(type) {
	case nil:
		return n.types&tNull != 0
	case bool:
		return n.types&tBoolean != 0
	case string:
		return n.validString(t)
	case json.Number:
		return n.validNumber(string(t))
	case jsonscan.Raw:
		return n.validRaw(string(t))
	case map[string]any:
		if n.types&tObject == 0 {
			return false
		}
		// Walk the smaller side: most nested objects carry far more keys
		// than their schema declares, or declare none.
		if len(n.properties) < len(t) {
			for k, sub := range n.properties {
				if e, ok := t[k]; ok && !sub.valid(e) {
					return false
				}
			}
			return true
		}
		for k, e := range t {
			if sub := n.properties[k]; sub != nil && !sub.valid(e) {
				return false
			}
		}
		return true
	case []any:
		if n.types&tArray == 0 {
			return false
		}
		if n.items != nil {
			for _, e := range t {
				if !n.items.valid(e) {
					return false
				}
			}
		}
		return true
	}
	return false // not decoded JSON: let Validate explain
}

func (n *fastNode) validString(t string) bool {
	if n.types&tString == 0 {
		return false
	}
	switch n.format {
	case "date-time":
		return isDateTime(t)
	case "date":
		// gojsonschema's date check; custom date fields use it.
		_, err := time.Parse(time.DateOnly, t)
		return err == nil
	case "uri":
		return isURI(t)
	}
	return true
}

func (n *fastNode) validNumber(t string) bool {
	if n.format != "" {
		return false
	}
	if n.types&tNumber != 0 {
		return validNumber(t)
	}
	return n.types&tInteger != 0 && plainInteger(t)
}

// isDateTime is gojsonschema's date-time check: any of these layouts.
func isDateTime(s string) bool {
	if utcMillis(s) {
		return true
	}
	for _, layout := range [...]string{time.RFC3339, "15:04:05", "15:04:05Z07:00", "2006-01-02", time.RFC3339Nano} {
		if _, err := time.Parse(layout, s); err == nil {
			return true
		}
	}
	return false
}

// isURI is gojsonschema's uri check.
func isURI(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Scheme != "" && !strings.Contains(s, `\`)
}

// plainInteger accepts the integers written without fraction or exponent;
// gojsonschema also takes 1.0 or 1e2 as integers, which the slow path
// handles.
func plainInteger(s string) bool {
	if strings.HasPrefix(s, "-") {
		s = s[1:]
	}
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// validNumber is the JSON number grammar (what json.Number must hold).
func validNumber(s string) bool {
	_, err := json.Number(s).Float64()
	if err != nil {
		return false
	}
	return json.Valid([]byte(s)) && !strings.ContainsAny(s, " \t\n\r\"")
}

// utcMillis accepts the one layout the tap emits for every timestamp,
// 2006-01-02T15:04:05.000Z, with the ranges time.Parse checks (including the
// days of each month), so the common case skips time.Parse. Anything else
// gets a false and the full check.
func utcMillis(s string) bool {
	if len(s) != 24 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != '.' || s[23] != 'Z' {
		return false
	}
	num := func(i, j int) int {
		n := 0
		for _, c := range []byte(s[i:j]) {
			if c < '0' || c > '9' {
				return -1
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	year, month, day := num(0, 4), num(5, 7), num(8, 10)
	hour, minute, sec, frac := num(11, 13), num(14, 16), num(17, 19), num(20, 23)
	if year < 0 || frac < 0 || month < 1 || month > 12 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || sec < 0 || sec > 59 {
		return false
	}
	days := [...]int{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[month-1]
	if month == 2 && year%4 == 0 && (year%100 != 0 || year%400 == 0) {
		days = 29
	}
	return day >= 1 && day <= days
}
