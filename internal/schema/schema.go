// Package schema compiles the streams' JSON Schemas once and validates decoded
// records against them, so that no RECORD leaves the tap with a shape its
// SCHEMA message does not promise.
//
// It hides github.com/xeipuuv/gojsonschema (v1.2.0, unmaintained) behind a small
// API so the validator can be swapped without touching the rest of the tap.
package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/xeipuuv/gojsonschema"

	"github.com/tap-jira/tap-jira/internal/jsonscan"
	"github.com/tap-jira/tap-jira/schemas"
)

// Schema is one stream's JSON Schema, compiled once.
//
// A Schema is safe for concurrent use: it does not change once compiled,
// but for the lock-free memo of raw values it found valid (memo.go).
type Schema struct {
	name     string
	doc      map[string]any
	compiled *gojsonschema.Schema
	fast     *fastNode // accepts the common valid record without gojsonschema
}

// Compile compiles doc (a JSON Schema decoded with UseNumber, as map[string]any) for stream name.
//
// doc is copied, so the caller may reuse it. It must be a self-contained
// draft-4 schema whose top level is "type": "object" with "properties" (what a
// Singer SCHEMA message needs): "$ref", "definitions", "$schema", "id"/"$id",
// "const" and other post-draft-4 keywords are rejected because a Singer target
// cannot resolve references and gojsonschema would silently ignore the newer
// keywords in draft-4 mode.
func Compile(name string, doc map[string]any) (*Schema, error) {
	if name == "" {
		return nil, errors.New("schema: compile: empty stream name")
	}
	if doc == nil {
		return nil, fmt.Errorf("schema %s: nil document", name)
	}
	// A JSON round trip gives a private deep copy and turns any Go numbers
	// the caller put in (int, float64) into json.Number, as gojsonschema wants.
	norm, err := normalize(doc)
	if err != nil {
		return nil, fmt.Errorf("schema %s: %w", name, err)
	}
	if err := checkTopLevel(norm); err != nil {
		return nil, fmt.Errorf("schema %s: %w", name, err)
	}
	if err := checkDraft4(norm, ""); err != nil {
		return nil, fmt.Errorf("schema %s: %w", name, err)
	}
	return compile(name, norm, true)
}

// compile compiles a private document decoded with UseNumber; meta checks
// it against the draft-4 metaschema first. The embedded schemas skip
// Compile's checks at run time, the metaschema's above all: it was two
// thirds of the CPU of compiling them, at the start of every run
// (gojsonschema compiles the metaschema anew each time). They cannot change
// after the build, so TestBundledSchemasPassTheMetaschema puts each
// through Compile instead. Anything from the catalog goes through Compile.
func compile(name string, norm map[string]any, meta bool) (*Schema, error) {
	loader := gojsonschema.NewSchemaLoader()
	loader.Draft = gojsonschema.Draft4
	loader.AutoDetect = false
	loader.Validate = meta // the draft-4 metaschema
	compiled, err := loader.Compile(gojsonschema.NewRawLoader(deepCopy(norm)))
	if err != nil {
		return nil, fmt.Errorf("schema %s: compile: %w", name, err)
	}
	return &Schema{name: name, doc: norm, compiled: compiled, fast: compileFast(norm)}, nil
}

// bundled compiles the embedded schemas once per process.
var bundled = sync.OnceValues(func() (map[string]*Schema, error) {
	return loadFS(schemas.FS)
})

// Bundled decodes and compiles every schemas/*.json (from schemas.FS); keys are stream names ("issues" from issues.json).
//
// Compilation happens once per process; each call returns a new map sharing
// the same immutable *Schema values.
func Bundled() (map[string]*Schema, error) {
	m, err := bundled()
	if err != nil {
		return nil, err
	}
	return maps.Clone(m), nil
}

// loadFS decodes and compiles every *.json at the root of fsys, the
// embedded schemas, without Compile's checks (see compile).
func loadFS(fsys fs.FS) (map[string]*Schema, error) {
	names, err := fs.Glob(fsys, "*.json")
	if err != nil {
		return nil, fmt.Errorf("schema: list bundled schemas: %w", err)
	}
	if len(names) == 0 {
		return nil, errors.New("schema: no bundled schemas (*.json) found")
	}
	sort.Strings(names)
	out := make(map[string]*Schema, len(names))
	for _, file := range names {
		raw, err := fs.ReadFile(fsys, file)
		if err != nil {
			return nil, fmt.Errorf("schema: read %s: %w", file, err)
		}
		doc, err := decodeObject(raw)
		if err != nil {
			return nil, fmt.Errorf("schema: decode %s: %w", file, err)
		}
		name := strings.TrimSuffix(path.Base(file), ".json")
		s, err := compile(name, doc, false)
		if err != nil {
			return nil, fmt.Errorf("schema: %s: %w", file, err)
		}
		out[name] = s
	}
	return out, nil
}

// decodeObject decodes exactly one JSON object with UseNumber.
func decodeObject(raw []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	if doc == nil {
		return nil, errors.New("document is null, want an object")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("trailing data after the JSON object")
	}
	return doc, nil
}

// normalize deep-copies doc through JSON so it holds only the types
// encoding/json produces with UseNumber.
func normalize(doc map[string]any) (map[string]any, error) {
	raw, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("encode document: %w", err)
	}
	return decodeObject(raw)
}

// Name returns the stream name the schema was compiled for.
func (s *Schema) Name() string { return s.name }

// Doc returns a deep copy of the decoded schema document (callers may modify it, e.g. to drop deselected properties).
func (s *Schema) Doc() map[string]any {
	return deepCopy(s.doc)
}

// Validate checks one decoded record (map[string]any holding json.Number, string, bool, nil, []any, map[string]any). key describes the record for the error (e.g. `id=10001`).
//
// It returns nil or a *ValidationError naming the first violation (ordered by
// JSON pointer, then message, so the report is stable) and how many more there
// are. The message never contains the offending value, which may be personal
// data. Any other Go type in the record (int, float64, []string, ...) is
// reported as a violation too: gojsonschema would silently accept numbers that
// are not json.Number and panic on typed slices. A record the fast walk
// accepts (see fastNode) skips gojsonschema: it would accept it too.
func (s *Schema) Validate(record map[string]any, key string) error {
	if record == nil {
		return &ValidationError{Stream: s.name, Key: key, Message: "Invalid type. Expected: object, given: null"}
	}
	if s.fast.valid(record) {
		return nil
	}
	return s.judge(record, key)
}

// judge is Validate's verdict from gojsonschema, for a record the fast
// walk is not sure of.
func (s *Schema) judge(record map[string]any, key string) error {
	// gojsonschema reads trees: the parts kept raw are decoded for it.
	record = jsonscan.Expand(record).(map[string]any)
	if !plainJSON(record) {
		return s.goTypeError(record, key)
	}
	res, err := s.compiled.Validate(gojsonschema.NewRawLoader(record))
	if err != nil { // not expected: a raw loader never fails to load
		return fmt.Errorf("record %s %s: validate: %w", s.name, key, err)
	}
	if res.Valid() {
		return nil
	}
	return newValidationError(s.name, key, res.Errors())
}

// plainJSON reports whether v holds only the types json.Decoder.UseNumber produces.
func plainJSON(v any) bool {
	switch t := v.(type) {
	case nil, string, bool, json.Number:
		return true
	case map[string]any:
		for _, e := range t {
			if !plainJSON(e) {
				return false
			}
		}
		return true
	case []any:
		for _, e := range t {
			if !plainJSON(e) {
				return false
			}
		}
		return true
	default:
		return false
	}
}

// goTypeError reports the values of record that are not decoded JSON.
func (s *Schema) goTypeError(record map[string]any, key string) error {
	var found []violation
	var walk func(v any, ptr string)
	walk = func(v any, ptr string) {
		switch t := v.(type) {
		case nil, string, bool, json.Number:
		case map[string]any:
			for k, e := range t {
				walk(e, ptr+"/"+escapePointer(k))
			}
		case []any:
			for i, e := range t {
				walk(e, fmt.Sprintf("%s/%d", ptr, i))
			}
		default:
			found = append(found, violation{
				pointer: ptr,
				message: fmt.Sprintf("unsupported Go type %T: records must hold values decoded by json.Decoder with UseNumber", v),
			})
		}
	}
	walk(record, "")
	return firstViolation(s.name, key, found)
}

// deepCopy copies the maps and slices of a decoded JSON document; scalars are immutable.
func deepCopy(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = deepCopyValue(v)
	}
	return out
}

func deepCopyValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		return deepCopy(t)
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = deepCopyValue(e)
		}
		return out
	default:
		return v
	}
}
