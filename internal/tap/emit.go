package tap

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tap-jira/tap-jira/internal/schema"
	"github.com/tap-jira/tap-jira/internal/singer"
	"github.com/tap-jira/tap-jira/internal/streams"
)

// UsageError is a problem with what the user asked for (catalog, state,
// config) rather than with Jira; the command exits 2 on it.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Selected is one stream the catalog selects, ready to emit.
type Selected struct {
	Stream    streams.Stream
	Selection *singer.Selection
	schema    *schema.Schema
	warned    map[string]bool // undeclared keys already reported
	version   int64           // table version of a full-table stream's records; 0 for none
	mu        sync.Mutex      // guards warned: Prepare runs concurrently
	custom    []customColumn  // issues: the catalog's custom fields
	flattened bool            // issues: some custom field has its own column
}

// Plan resolves a catalog against the tap's streams: the selected streams in
// sync order. A selected stream the tap does not have is a UsageError; an
// unselected one is only reported.
func Plan(cat *singer.Catalog, schemas map[string]*schema.Schema, log *slog.Logger) ([]*Selected, error) {
	var unknown []string
	for _, cs := range cat.Streams {
		if _, ok := streams.Lookup(cs.ID()); ok {
			continue
		}
		if cs.Selected() {
			unknown = append(unknown, cs.ID())
		} else {
			log.Warn("catalog stream unknown to tap-jira; ignored", "stream", cs.ID())
		}
	}
	if len(unknown) > 0 {
		return nil, &UsageError{Msg: fmt.Sprintf("catalog selects streams tap-jira does not have: %s (streams: %s)",
			strings.Join(unknown, ", "), strings.Join(streams.Names(), ", "))}
	}
	var plan []*Selected
	for _, st := range streams.All() {
		cs := cat.Stream(st.Name)
		if cs == nil || !cs.Selected() {
			continue
		}
		sch, ok := schemas[st.Name]
		if !ok {
			return nil, fmt.Errorf("planning sync: no schema for stream %q", st.Name)
		}
		var custom []customColumn
		if st.Name == issueStream {
			var err error
			if sch, custom, err = issuesSchema(sch, cs); err != nil {
				return nil, err
			}
		}
		plan = append(plan, &Selected{
			Stream:    st,
			Selection: singer.NewSelection(cs.Metadata),
			schema:    sch,
			warned:    map[string]bool{},
			custom:    custom,
			flattened: slices.ContainsFunc(custom, func(c customColumn) bool { return c.Column != "" }),
		})
	}
	return plan, nil
}

// issuesSchema is the bundled issues schema with the custom fields the
// catalog declares, typed as the catalog types them.
func issuesSchema(bundled *schema.Schema, cs *singer.CatalogStream) (*schema.Schema, []customColumn, error) {
	doc := bundled.Doc()
	custom, err := catalogCustomFields(cs, doc)
	if err != nil {
		return nil, nil, err
	}
	if len(custom) == 0 {
		return bundled, nil, nil
	}
	sch, err := schema.Compile(issueStream, doc)
	if err != nil {
		return nil, nil, &UsageError{Msg: fmt.Sprintf("catalog: the schemas of the issues stream's custom fields: %v", err)}
	}
	return sch, custom, nil
}

// Emitter turns raw Jira records into RECORD messages: it normalizes
// timestamps, validates against the stream's schema, applies the catalog's
// field selection and writes.
type Emitter struct {
	w   *singer.Writer
	log *slog.Logger
	now func() time.Time
}

// NewEmitter returns an Emitter writing to w. now stamps time_extracted.
func NewEmitter(w *singer.Writer, log *slog.Logger, now func() time.Time) *Emitter {
	return &Emitter{w: w, log: log, now: now}
}

// Schema writes the SCHEMA message of a selected stream: the bundled schema
// without the deselected fields.
func (e *Emitter) Schema(s *Selected) error {
	doc := s.schema.Doc()
	s.Selection.ApplySchema(doc)
	var bookmark []string
	if s.Stream.ReplicationKey != "" {
		bookmark = []string{s.Stream.ReplicationKey}
	}
	if err := e.w.WriteSchema(s.Stream.Name, doc, s.Stream.KeyProperties, bookmark); err != nil {
		return fmt.Errorf("writing schema of %s: %w", s.Stream.Name, err)
	}
	return nil
}

// ErrInvalidRecord marks a record that cannot be emitted as it is.
var ErrInvalidRecord = errors.New("invalid record")

// Record writes one record of a selected stream. record is modified in
// place; it must come from the jira package's decoding, which has already
// made its timestamps RFC 3339 UTC.
func (e *Emitter) Record(s *Selected, record map[string]any) error {
	key, encoded, err := e.Prepare(s, record)
	if err != nil {
		return err
	}
	return e.Write(s, encoded, key)
}

// Prepare makes a record ready to write: key present, deselected fields
// and undeclared top-level keys out, schema valid, encoded. It returns the
// record's key for messages and its JSON. It is safe to call from several
// goroutines at once, so this work runs in parallel with the requests for
// other pages and leaves the writer only copying bytes.
func (e *Emitter) Prepare(s *Selected, record map[string]any) (string, []byte, error) {
	if s.flattened {
		flattenCustom(record, s.custom)
	}
	key, err := recordKey(s.Stream, record)
	if err != nil {
		return "", nil, err
	}
	// Deselected fields are out before the record is judged: what is
	// judged is what the target gets, in the walk that encodes it.
	s.Selection.Apply(record)
	encoded, undeclared, sure, err := singer.EncodeChecked(record, s.schema.Root())
	// The SCHEMA is the contract with the target: a top-level key it does
	// not declare would be refused or silently mistyped downstream. Say so
	// once per key instead of dropping it silently. Timestamps are already
	// RFC 3339 UTC: the jira package normalizes them while decoding, which
	// saves a walk over every record.
	for _, k := range undeclared {
		e.warnUndeclared(s, k)
	}
	// gojsonschema judges what the check was not sure of, and a value that
	// cannot be encoded, which the schema refuses first.
	if !sure || err != nil {
		if verr := s.schema.Judge(record, key); verr != nil {
			return "", nil, fmt.Errorf("%w: %w", ErrInvalidRecord, verr)
		}
	}
	if err != nil {
		return "", nil, fmt.Errorf("%s record %s: %w", s.Stream.Name, key, err)
	}
	return key, encoded, nil
}

// warnUndeclared says once per stream that records' key k is left out.
func (e *Emitter) warnUndeclared(s *Selected, k string) {
	s.mu.Lock()
	first := !s.warned[k]
	if first {
		s.warned[strings.Clone(k)] = true // k may be a view of a page
	}
	s.mu.Unlock()
	if first {
		e.log.Warn("field not in the stream's schema; left out of records", "stream", s.Stream.Name, "field", k)
	}
}

// Write writes a prepared record.
func (e *Emitter) Write(s *Selected, encoded []byte, key string) error {
	var version *int64
	if s.version != 0 {
		version = &s.version
	}
	if err := e.w.WriteEncodedRecord(s.Stream.Name, encoded, version, e.now()); err != nil {
		return fmt.Errorf("writing %s record %s: %w", s.Stream.Name, key, err)
	}
	return nil
}

// recordKey describes the record by its key properties (id=10001) and
// checks they are present: a record without its key cannot be upserted.
func recordKey(st streams.Stream, record map[string]any) (string, error) {
	if len(st.KeyProperties) == 1 { // most streams: one allocation, not a builder's growth
		k := st.KeyProperties[0]
		switch t := record[k].(type) {
		case string:
			return k + "=" + t, nil
		case json.Number:
			return k + "=" + string(t), nil
		}
	}
	var b strings.Builder
	b.Grow(48)
	for i, k := range st.KeyProperties {
		v, ok := record[k]
		if !ok || v == nil {
			return "", fmt.Errorf("%w: %s record without its key property %q", ErrInvalidRecord, st.Name, k)
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k)
		b.WriteByte('=')
		switch t := v.(type) { // keys are strings or numbers: no fmt per record
		case string:
			b.WriteString(t)
		case json.Number:
			b.WriteString(t.String())
		default:
			fmt.Fprint(&b, v)
		}
	}
	return b.String(), nil
}
