// Package singer speaks the Singer protocol: the messages a tap writes, the
// catalog it reads and writes, and field selection. It knows nothing of Jira.
package singer

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/tap-jira/tap-jira/internal/schema"
)

// Message types, upper-case as singer-python and the Meltano SDK require.
const (
	TypeSchema          = "SCHEMA"
	TypeRecord          = "RECORD"
	TypeState           = "STATE"
	TypeActivateVersion = "ACTIVATE_VERSION"
)

// TimeLayout is how the tap writes every timestamp: RFC 3339 in UTC with
// milliseconds, the precision Jira keeps.
const TimeLayout = "2006-01-02T15:04:05.000Z07:00"

type schemaMessage struct {
	Type               string   `json:"type"`
	Stream             string   `json:"stream"`
	Schema             any      `json:"schema"`
	KeyProperties      []string `json:"key_properties"`
	BookmarkProperties []string `json:"bookmark_properties,omitempty"`
}

type stateMessage struct {
	Type  string `json:"type"`
	Value any    `json:"value"`
}

type activateVersionMessage struct {
	Type    string `json:"type"`
	Stream  string `json:"stream"`
	Version int64  `json:"version"`
}

// OutputError is a failure of the output itself (a closed pipe, a full
// disk): nothing more can be written.
type OutputError struct{ Err error }

func (e *OutputError) Error() string { return "writing singer output: " + e.Err.Error() }

func (e *OutputError) Unwrap() error { return e.Err }

// Writer writes Singer messages, one JSON object per line, to a buffered
// io.Writer. It is the only thing in the tap that writes to stdout. It is not
// safe for concurrent use.
//
// Each message is encoded into a scratch buffer before it reaches the output,
// so an encoding error never leaves half a line behind.
type Writer struct {
	out     *bufio.Writer
	head    []byte // a RECORD's envelope
	stamp   []byte // time_extracted as written, for the millisecond stampMs
	stampMs int64
	scratch *lineBuffer
	enc     *json.Encoder
	err     error // sticky: once the output failed, every later call fails
}

type lineBuffer struct{ b []byte }

func (l *lineBuffer) Write(p []byte) (int, error) {
	l.b = append(l.b, p...)
	return len(p), nil
}

// NewWriter returns a Writer over w with a 64 KiB buffer.
func NewWriter(w io.Writer) *Writer {
	scratch := &lineBuffer{}
	enc := json.NewEncoder(scratch)
	// Jira text is full of <, > and &; escaping them only bloats the output.
	enc.SetEscapeHTML(false)
	return &Writer{out: bufio.NewWriterSize(w, 64<<10), scratch: scratch, enc: enc}
}

// WriteSchema writes a SCHEMA message. keyProperties is always present in the
// output, as [] when the stream has no key.
func (w *Writer) WriteSchema(stream string, schema any, keyProperties, bookmarkProperties []string) error {
	if keyProperties == nil {
		keyProperties = []string{}
	}
	return w.write(schemaMessage{
		Type:               TypeSchema,
		Stream:             stream,
		Schema:             schema,
		KeyProperties:      keyProperties,
		BookmarkProperties: bookmarkProperties,
	})
}

// WriteRecord writes a RECORD message stamped with the time it was extracted.
func (w *Writer) WriteRecord(stream string, record any, extracted time.Time) error {
	return w.writeRecord(stream, record, nil, extracted)
}

// WriteVersionedRecord writes a RECORD message that belongs to a table version
// announced with ACTIVATE_VERSION.
func (w *Writer) WriteVersionedRecord(stream string, record any, version int64, extracted time.Time) error {
	return w.writeRecord(stream, record, &version, extracted)
}

// EncodeRecord encodes a record as a RECORD message carries it, so callers
// can encode in parallel and write with WriteEncodedRecord.
func EncodeRecord(record any) ([]byte, error) {
	return encodeRecord(func(dst []byte) ([]byte, error) { return appendJSON(dst, record) })
}

// EncodeChecked is EncodeRecord for a record judged against its schema's
// check (schema.Schema.Root) in the same walk, instead of one of its own:
// sure is true when the check vouches for every value, as
// schema.Schema.Validate would; when false, the caller asks Judge. The
// record's top-level keys the check does not declare are deleted from it,
// left out of the encoding and returned.
func EncodeChecked(record map[string]any, root *schema.Node) (encoded []byte, undeclared []string, sure bool, err error) {
	encoded, err = encodeRecord(func(dst []byte) ([]byte, error) {
		var err error
		dst, undeclared, sure, err = appendChecked(dst, record, root)
		return dst, err
	})
	return encoded, undeclared, sure, err
}

func encodeRecord(appendTo func([]byte) ([]byte, error)) ([]byte, error) {
	// Encode into pooled scratch, then keep an exact copy: growing a fresh
	// slice by appends costs a dozen allocations for an issue and leaves
	// up to half of its capacity unused while the record waits its turn.
	sp := encodeScratch.Get().(*[]byte)
	b, err := appendTo((*sp)[:0])
	if err != nil {
		encodeScratch.Put(sp)
		return nil, fmt.Errorf("encoding record: %w", err)
	}
	out := keepEncoded(b)
	if cap(b) <= maxPooledScratch {
		*sp = b[:0]
		encodeScratch.Put(sp)
	}
	return out, nil
}

// maxPooledScratch keeps one huge record from pinning its buffer in the pool.
const maxPooledScratch = 1 << 20

// keepEncoded copies an encoded record into a slab shared with the
// records encoded after it on the same P, not into an allocation of its
// own: one allocation per record was about 4% of a sync's CPU. The
// copy's capacity ends where it does, so nothing appended to it reaches
// its neighbour. Records are written in about the order they are
// encoded, so a slab is garbage soon after its last record is written;
// a record of more than a quarter slab gets an allocation of its own.
func keepEncoded(b []byte) []byte {
	if len(b) > slabSize/4 {
		out := make([]byte, len(b))
		copy(out, b)
		return out
	}
	sp := encodeSlabs.Get().(*[]byte)
	s := *sp
	if cap(s)-len(s) < len(b) {
		s = make([]byte, 0, slabSize)
	}
	at := len(s)
	s = append(s, b...)
	*sp = s
	encodeSlabs.Put(sp)
	return s[at:len(s):len(s)]
}

const slabSize = 64 << 10

var encodeSlabs = sync.Pool{New: func() any { return new([]byte) }}

var encodeScratch = sync.Pool{New: func() any { return new([]byte) }}

// WriteEncodedRecord writes a RECORD message around a record EncodeRecord
// encoded; version is nil for records outside a table version.
func (w *Writer) WriteEncodedRecord(stream string, record []byte, version *int64, extracted time.Time) error {
	if w.err != nil {
		return w.err
	}
	return w.finishRecord(stream, record, version, extracted)
}

// writeRecord builds the RECORD line by hand, in the field order of a
// RECORD message: records are nearly all of the output, and appendJSON
// encodes them without reflection. The record is encoded whole before any
// byte is written, so an encoding error leaves no partial line.
func (w *Writer) writeRecord(stream string, record any, version *int64, extracted time.Time) error {
	if w.err != nil {
		return w.err
	}
	b, err := appendJSON(w.scratch.b[:0], record)
	w.scratch.b = b[:0]
	if err != nil {
		return fmt.Errorf("encoding singer message: %w", err)
	}
	return w.finishRecord(stream, b, version, extracted)
}

// finishRecord writes the envelope and the encoded record, piece by piece
// into the buffer: no copy of the record is made.
func (w *Writer) finishRecord(stream string, rec []byte, version *int64, extracted time.Time) error {
	h := append(w.head[:0], `{"type":"RECORD","stream":`...)
	h = appendString(h, stream)
	h = append(h, `,"record":`...)
	t := len(h)
	if version != nil {
		h = append(h, `,"version":`...)
		h = strconv.AppendInt(h, *version, 10)
	}
	h = append(h, `,"time_extracted":"`...)
	// Records come thousands a second: the stamp is formatted once per
	// millisecond, its precision.
	if ms := extracted.UnixMilli(); ms != w.stampMs || w.stamp == nil {
		w.stamp, w.stampMs = extracted.UTC().AppendFormat(w.stamp[:0], TimeLayout), ms
	}
	h = append(h, w.stamp...)
	h = append(h, "\"}\n"...)
	w.head = h[:0]
	for _, part := range [][]byte{h[:t], rec, h[t:]} {
		if _, err := w.out.Write(part); err != nil {
			w.err = &OutputError{Err: err}
			return w.err
		}
	}
	return nil
}

// WriteState writes a STATE message. Callers flush records first; see Flush.
func (w *Writer) WriteState(value any) error {
	return w.write(stateMessage{Type: TypeState, Value: value})
}

// WriteActivateVersion writes an ACTIVATE_VERSION message, which tells a
// target to drop rows of the stream that carry another version.
func (w *Writer) WriteActivateVersion(stream string, version int64) error {
	return w.write(activateVersionMessage{Type: TypeActivateVersion, Stream: stream, Version: version})
}

// Flush writes buffered messages to the underlying writer.
func (w *Writer) Flush() error {
	if w.err != nil {
		return w.err
	}
	if err := w.out.Flush(); err != nil {
		w.err = &OutputError{Err: err}
	}
	return w.err
}

func (w *Writer) write(msg any) error {
	if w.err != nil {
		return w.err
	}
	w.scratch.b = w.scratch.b[:0]
	if err := w.enc.Encode(msg); err != nil {
		// Not sticky: the output is intact, only this message was refused.
		return fmt.Errorf("encoding singer message: %w", err)
	}
	if _, err := w.out.Write(w.scratch.b); err != nil {
		w.err = &OutputError{Err: err}
		return w.err
	}
	return nil
}
