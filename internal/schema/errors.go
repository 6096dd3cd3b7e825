package schema

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/xeipuuv/gojsonschema"
)

// ValidationError is returned by Validate.
//
// It names the first violation only (ordered by Pointer, then Message) so that
// one bad record yields one stable, short log line; More counts the rest.
type ValidationError struct {
	// Stream is the stream the record belongs to.
	Stream string
	// Key describes the record, as passed to Validate (e.g. `id=10001`).
	Key string
	// Pointer is the RFC 6901 JSON pointer of the first bad value ("" is the
	// record itself). For a "required" or "additionalProperties" violation it
	// points at the missing or unexpected property (the object's pointer plus
	// the property name), not at the object that holds it.
	Pointer string
	// Message is the validator's description, without the offending value.
	Message string
	// More is how many further violations the record has.
	More int
}

// Error formats the error, e.g. `record issues id=10001 does not match its schema at /fields/updated: Does not match format 'date-time' (and 2 more)`.
func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("record ")
	b.WriteString(e.Stream)
	if e.Key != "" {
		b.WriteByte(' ')
		b.WriteString(e.Key)
	}
	b.WriteString(" does not match its schema at ")
	if e.Pointer == "" {
		b.WriteByte('/')
	} else {
		b.WriteString(e.Pointer)
	}
	b.WriteString(": ")
	b.WriteString(e.Message)
	if e.More > 0 {
		fmt.Fprintf(&b, " (and %d more)", e.More)
	}
	return b.String()
}

// violation is one validator finding before the first one is picked.
type violation struct {
	pointer string
	message string
}

// newValidationError picks the first of gojsonschema's errors, whose order is not stable.
func newValidationError(stream, key string, errs []gojsonschema.ResultError) error {
	found := make([]violation, 0, len(errs))
	for _, re := range errs {
		found = append(found, violation{pointer: pointerOf(re), message: re.Description()})
	}
	return firstViolation(stream, key, found)
}

// firstViolation orders the findings by pointer (array indexes numerically), then message.
func firstViolation(stream, key string, found []violation) error {
	if len(found) == 0 {
		return nil
	}
	sort.Slice(found, func(i, j int) bool {
		if c := comparePointers(found[i].pointer, found[j].pointer); c != 0 {
			return c < 0
		}
		return found[i].message < found[j].message
	})
	return &ValidationError{
		Stream:  stream,
		Key:     key,
		Pointer: found[0].pointer,
		Message: found[0].message,
		More:    len(found) - 1,
	}
}

// contextSep joins gojsonschema's context segments. The dotted form
// ("(root).a.b.0") is ambiguous for keys that contain dots, so the context is
// rendered with a separator that Jira keys never contain.
const contextSep = "\x00"

// pointerOf turns a gojsonschema error context such as (root).items.0.field
// into the RFC 6901 pointer /items/0/field.
func pointerOf(re gojsonschema.ResultError) string {
	var segs []string
	if ctx := re.Context(); ctx != nil {
		segs = strings.Split(ctx.String(contextSep), contextSep)
		if len(segs) > 0 && segs[0] == gojsonschema.STRING_CONTEXT_ROOT {
			segs = segs[1:]
		}
	}
	switch re.Type() {
	case "required", "additional_property_not_allowed":
		// The context is the object; name the property itself.
		if p, ok := re.Details()["property"].(string); ok {
			segs = append(segs, p)
		}
	}
	var b strings.Builder
	for _, s := range segs {
		b.WriteByte('/')
		b.WriteString(escapePointer(s))
	}
	return b.String()
}

// escapePointer escapes one reference token (RFC 6901 §3).
func escapePointer(s string) string {
	if !strings.ContainsAny(s, "~/") {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// comparePointers orders pointers segment by segment, comparing array indexes
// numerically so /items/2 sorts before /items/10, and a parent before its children.
func comparePointers(a, b string) int {
	as, bs := strings.Split(a, "/"), strings.Split(b, "/")
	for i := 0; i < len(as) && i < len(bs); i++ {
		if as[i] == bs[i] {
			continue
		}
		ai, aerr := strconv.ParseUint(as[i], 10, 64)
		bi, berr := strconv.ParseUint(bs[i], 10, 64)
		if aerr == nil && berr == nil && ai != bi {
			if ai < bi {
				return -1
			}
			return 1
		}
		return strings.Compare(as[i], bs[i])
	}
	return len(as) - len(bs)
}
