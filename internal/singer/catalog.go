package singer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
)

// Catalog is a Singer catalog: what discovery prints and what sync reads.
type Catalog struct {
	Streams []*CatalogStream `json:"streams"`
}

// CatalogStream is one stream of a catalog.
type CatalogStream struct {
	TapStreamID   string          `json:"tap_stream_id"`
	Stream        string          `json:"stream"`
	TableName     string          `json:"table_name,omitempty"`
	KeyProperties []string        `json:"key_properties"`
	Schema        map[string]any  `json:"schema"`
	Metadata      []MetadataEntry `json:"metadata"`
}

// MetadataEntry is one element of a stream's metadata list.
type MetadataEntry struct {
	Breadcrumb []string `json:"breadcrumb"`
	Metadata   Metadata `json:"metadata"`
}

// Metadata holds the metadata keywords of one breadcrumb. Pointers keep
// "absent" apart from false, which selection depends on.
type Metadata struct {
	Inclusion               string   `json:"inclusion,omitempty"`
	Selected                *bool    `json:"selected,omitempty"`
	SelectedByDefault       *bool    `json:"selected-by-default,omitempty"`
	TableKeyProperties      []string `json:"table-key-properties,omitempty"`
	ForcedReplicationMethod string   `json:"forced-replication-method,omitempty"`
	ValidReplicationKeys    []string `json:"valid-replication-keys,omitempty"`
	ReplicationMethod       string   `json:"replication-method,omitempty"`
	ReplicationKey          string   `json:"replication-key,omitempty"`
	ParentTapStreamID       string   `json:"parent-tap-stream-id,omitempty"`
	// Extra holds the keys outside Singer's vocabulary (a tap's own, such
	// as tap-jira's "tap-jira.name"), kept through parsing and writing.
	Extra map[string]any `json:"-"`
}

// metadataFields is Metadata without its methods, for the default encoding.
type metadataFields Metadata

// singerKeys are the keys Metadata's fields carry.
var singerKeys = map[string]bool{
	"inclusion": true, "selected": true, "selected-by-default": true, "table-key-properties": true,
	"forced-replication-method": true, "valid-replication-keys": true, "replication-method": true,
	"replication-key": true, "parent-tap-stream-id": true,
}

// MarshalJSON writes the Singer keys in field order, then Extra's keys
// sorted, so output is stable.
func (m Metadata) MarshalJSON() ([]byte, error) {
	base, err := json.Marshal(metadataFields(m))
	if err != nil || len(m.Extra) == 0 {
		return base, err
	}
	var extra bytes.Buffer
	enc := json.NewEncoder(&extra)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m.Extra); err != nil {
		return nil, err
	}
	more := bytes.TrimSpace(extra.Bytes())
	if len(more) <= 2 {
		return base, nil
	}
	out := base[:len(base)-1]
	if len(base) > 2 {
		out = append(out, ',')
	}
	out = append(out, more[1:]...)
	return out, nil
}

// UnmarshalJSON reads the Singer keys into the fields and keeps the others
// in Extra.
func (m *Metadata) UnmarshalJSON(data []byte) error {
	var f metadataFields
	if err := json.Unmarshal(data, &f); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var all map[string]any
	if err := dec.Decode(&all); err != nil {
		return err
	}
	for k, v := range all {
		if singerKeys[k] {
			continue
		}
		if f.Extra == nil {
			f.Extra = map[string]any{}
		}
		f.Extra[k] = v
	}
	*m = Metadata(f)
	return nil
}

// Inclusion values.
const (
	InclusionAutomatic   = "automatic"
	InclusionAvailable   = "available"
	InclusionUnsupported = "unsupported"
)

// CatalogError is a catalog the tap cannot use: malformed JSON, wrong types.
type CatalogError struct{ Msg string }

func (e *CatalogError) Error() string { return "catalog: " + e.Msg }

// ParseCatalog reads a --catalog (or legacy --properties) document. Unknown
// keys are ignored: catalogs pass through tools that add their own.
func ParseCatalog(r io.Reader) (*Catalog, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("reading catalog: %w", err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, &CatalogError{Msg: "the document is empty"}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var c Catalog
	if err := dec.Decode(&c); err != nil {
		return nil, &CatalogError{Msg: DescribeJSONError(data, err)}
	}
	if dec.More() {
		return nil, &CatalogError{Msg: "unexpected data after the catalog object"}
	}
	if c.Streams == nil {
		return nil, &CatalogError{Msg: `missing "streams" list`}
	}
	seen := make(map[string]bool, len(c.Streams))
	for i, s := range c.Streams {
		if s == nil {
			return nil, &CatalogError{Msg: fmt.Sprintf("streams[%d] is null", i)}
		}
		id := s.ID()
		if id == "" {
			return nil, &CatalogError{Msg: fmt.Sprintf("streams[%d] has neither tap_stream_id nor stream", i)}
		}
		if seen[id] {
			return nil, &CatalogError{Msg: fmt.Sprintf("stream %q appears twice", id)}
		}
		seen[id] = true
	}
	return &c, nil
}

// DescribeJSONError turns a decoding error of data into a message with the
// line and column, without quoting the input: the input may hold secrets.
func DescribeJSONError(data []byte, err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		line, col := position(data, syn.Offset)
		return fmt.Sprintf("malformed JSON at line %d, column %d", line, col)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		line, col := position(data, int64(len(data)))
		return fmt.Sprintf("unexpected end of JSON at line %d, column %d (truncated?)", line, col)
	case errors.As(err, &typ):
		line, col := position(data, typ.Offset)
		where := typ.Field
		if where == "" {
			where = "the document"
		}
		return fmt.Sprintf("%s must be %s, got JSON %s (line %d, column %d)", where, jsonTypeName(typ.Type), typ.Value, line, col)
	default:
		return "invalid JSON: " + err.Error()
	}
}

func jsonTypeName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	default:
		return "a " + t.Kind().String()
	}
}

// position converts a byte offset into a 1-based line and column.
func position(data []byte, offset int64) (line, col int) {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	if offset < 0 {
		offset = 0
	}
	before := data[:offset]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(offset) - (bytes.LastIndexByte(before, '\n') + 1)
	if col < 1 {
		col = 1
	}
	return line, col
}

// ID is the stream's tap_stream_id, or its stream name in catalogs that
// carry only that.
func (s *CatalogStream) ID() string {
	if s.TapStreamID != "" {
		return s.TapStreamID
	}
	return s.Stream
}

// Root returns the stream-level metadata (breadcrumb []), or nil.
func (s *CatalogStream) Root() *Metadata {
	for i := range s.Metadata {
		if len(s.Metadata[i].Breadcrumb) == 0 {
			return &s.Metadata[i].Metadata
		}
	}
	return nil
}

// Selected reports whether the stream is selected: metadata "selected" at
// breadcrumb [] first, then the legacy schema-level "selected", then
// "selected-by-default". Streams are not selected unless something says so.
func (s *CatalogStream) Selected() bool {
	if root := s.Root(); root != nil && root.Selected != nil {
		return *root.Selected
	}
	if v, ok := s.Schema["selected"].(bool); ok {
		return v
	}
	if root := s.Root(); root != nil && root.SelectedByDefault != nil {
		return *root.SelectedByDefault
	}
	return false
}

// Stream finds a stream by tap_stream_id (or stream name).
func (c *Catalog) Stream(id string) *CatalogStream {
	for _, s := range c.Streams {
		if s.ID() == id {
			return s
		}
	}
	return nil
}

// Breadcrumb helpers.

// PropertyBreadcrumb is the breadcrumb of a top-level property.
func PropertyBreadcrumb(name string) []string { return []string{"properties", name} }

func breadcrumbKey(b []string) string { return strings.Join(b, "\x00") }

// SortMetadata orders entries root first, then by breadcrumb, so discovery
// output is stable.
func SortMetadata(entries []MetadataEntry) {
	slices.SortStableFunc(entries, func(a, b MetadataEntry) int {
		return slices.Compare(a.Breadcrumb, b.Breadcrumb)
	})
}

// WriteCatalog writes a catalog as one indented JSON document, the output of
// discovery.
func WriteCatalog(w io.Writer, c *Catalog) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(c); err != nil {
		return fmt.Errorf("writing catalog: %w", err)
	}
	return nil
}
