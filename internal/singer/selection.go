package singer

import (
	"maps"
	"slices"

	"github.com/tap-jira/tap-jira/internal/jsonscan"
)

// Selection applies a catalog stream's field selection to records and to the
// stream's schema. A field is left out when its metadata says selected: false
// or inclusion: unsupported, unless its inclusion is automatic; everything
// else is kept, as singer-python's filter_data_by_metadata does.
type Selection struct {
	drop map[string]bool // breadcrumb keys of fields to leave out
	walk map[string]bool // breadcrumb keys with a dropped field below them
}

// NewSelection builds the selection of one catalog stream.
func NewSelection(entries []MetadataEntry) *Selection {
	s := &Selection{drop: map[string]bool{}, walk: map[string]bool{}}
	for _, e := range entries {
		md := e.Metadata
		if len(e.Breadcrumb) == 0 || md.Inclusion == InclusionAutomatic {
			continue
		}
		deselected := md.Selected != nil && !*md.Selected
		if !deselected && md.Inclusion != InclusionUnsupported {
			continue
		}
		s.drop[breadcrumbKey(e.Breadcrumb)] = true
		for i := 0; i < len(e.Breadcrumb); i++ {
			s.walk[breadcrumbKey(e.Breadcrumb[:i])] = true
		}
	}
	return s
}

// Empty reports whether the selection keeps every field, so callers can
// skip Apply on the hot path.
func (s *Selection) Empty() bool { return len(s.drop) == 0 }

// Keeps reports whether records keep the top-level field name.
func (s *Selection) Keeps(name string) bool {
	return !s.drop[breadcrumbKey(PropertyBreadcrumb(name))]
}

// Apply removes deselected fields from record in place. What is nested in
// it is never edited: an object or array it must change below the top
// level is replaced by an edited copy, so records may share nested values
// (a changelog entry and its status record share the author) without one's
// selection reaching the other.
func (s *Selection) Apply(record map[string]any) {
	if s.Empty() {
		return
	}
	s.applyObject(record, nil)
}

func (s *Selection) applyObject(obj map[string]any, at []string) {
	for k, v := range obj {
		bc := append(at[:len(at):len(at)], "properties", k)
		key := breadcrumbKey(bc)
		if s.drop[key] {
			delete(obj, k)
			continue
		}
		if s.walk[key] {
			v = ownCopy(v)
			obj[k] = v
			s.applyValue(v, bc)
		}
	}
}

// ownCopy is a value selection may edit in place of v: a raw value decoded,
// an object or array copied one level deep (applyObject and applyValue copy
// the levels below as they reach them).
func ownCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		return maps.Clone(t)
	case []any:
		return slices.Clone(t)
	}
	if d, ok := decodeRaw(v); ok {
		return d
	}
	return v
}

// decodeRaw decodes a value kept raw (see jsonscan.Raw) that selection must
// look inside; the caller puts the tree in its place.
func decodeRaw(v any) (any, bool) {
	r, ok := v.(jsonscan.Raw)
	if !ok {
		return nil, false
	}
	d, err := r.Decode()
	return d, err == nil // a Raw always decodes; if not, it stays whole
}

func (s *Selection) applyValue(v any, at []string) {
	switch t := v.(type) {
	case map[string]any:
		s.applyObject(t, at)
	case []any:
		bc := append(at[:len(at):len(at)], "items")
		if !s.walk[breadcrumbKey(bc)] {
			return
		}
		for i, item := range t {
			item = ownCopy(item)
			t[i] = item
			s.applyValue(item, bc)
		}
	}
}

// ApplySchema removes deselected properties from a JSON Schema document in
// place, so the SCHEMA message describes exactly what the records carry.
func (s *Selection) ApplySchema(schema map[string]any) {
	if s.Empty() {
		return
	}
	s.applySchema(schema, nil)
}

func (s *Selection) applySchema(schema map[string]any, at []string) {
	if props, ok := schema["properties"].(map[string]any); ok {
		for k, sub := range props {
			bc := append(at[:len(at):len(at)], "properties", k)
			key := breadcrumbKey(bc)
			if s.drop[key] {
				delete(props, k)
				continue
			}
			if m, ok := sub.(map[string]any); ok && s.walk[key] {
				s.applySchema(m, bc)
			}
		}
	}
	if items, ok := schema["items"].(map[string]any); ok {
		bc := append(at[:len(at):len(at)], "items")
		if s.walk[breadcrumbKey(bc)] {
			s.applySchema(items, bc)
		}
	}
}

// KeepsAt reports whether the field at breadcrumb is emitted: neither it
// nor a field above it is deselected. Deselections below it do not count.
func (s *Selection) KeepsAt(breadcrumb []string) bool {
	for i := 1; i <= len(breadcrumb); i++ {
		if s.drop[breadcrumbKey(breadcrumb[:i])] {
			return false
		}
	}
	return true
}

// Narrows reports whether the field at breadcrumb, or one below it, is
// deselected.
func (s *Selection) Narrows(breadcrumb []string) bool {
	key := breadcrumbKey(breadcrumb)
	return s.drop[key] || s.walk[key]
}
