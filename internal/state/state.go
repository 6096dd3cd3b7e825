// Package state reads and writes the tap's bookmarks in singer-io/tap-jira's
// state shape, so that a user can switch between the two taps.
package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// State is the tap's resumable progress.
type State struct {
	CurrentlySyncing string               // "" when null/absent
	Bookmarks        map[string]*Bookmark // never nil after Parse/New
}

// Bookmark is one stream's progress.
type Bookmark struct {
	Updated time.Time // zero when absent; UTC
	// Extra holds every other key of the bookmark object (e.g. "offset"),
	// kept verbatim (decoded with UseNumber) so we write back what we read.
	Extra map[string]any
}

// Error is a corrupt state file. The tap exits on it rather than silently
// re-syncing from start_date.
type Error struct {
	Msg string
}

func (e *Error) Error() string { return "state: " + e.Msg }

// Keys of singer-io's and the Meltano SDK's state shapes.
const (
	keyCurrentlySyncing    = "currently_syncing"
	keyBookmarks           = "bookmarks"
	keyUpdated             = "updated"
	keyReplicationKey      = "replication_key"
	keyReplicationKeyValue = "replication_key_value"
)

// timeLayout is singer-python's strftime format (%Y-%m-%dT%H:%M:%S.%fZ).
const timeLayout = "2006-01-02T15:04:05.000000Z"

// maxEcho bounds how much of a bad value an error repeats.
const maxEcho = 64

// New returns an empty state.
func New() *State {
	return &State{Bookmarks: map[string]*Bookmark{}}
}

// Parse reads a --state document. Warnings (sentences) report what was read
// best-effort: an unknown top-level key, a bookmark for a stream the tap does
// not have (knownStreams; nil means every stream is known), the Meltano SDK
// shape, a flat singer-spec shape without "bookmarks". An empty or
// whitespace-only document is an empty state with a warning.
func Parse(r io.Reader, knownStreams []string) (*State, []string, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, nil, fmt.Errorf("reading state: %w", err)
	}
	data = bytes.TrimPrefix(data, []byte("\uFEFF")) // editors on Windows add a BOM
	if len(bytes.Trim(data, jsonSpace)) == 0 {
		return New(), []string{"state document is empty; starting without bookmarks"}, nil
	}
	top, err := decodeObject(data)
	if err != nil {
		return nil, nil, err
	}

	p := parser{known: knownStreams}
	s := New()
	if s.CurrentlySyncing, err = parseCurrentlySyncing(top[keyCurrentlySyncing]); err != nil {
		return nil, nil, err
	}
	if raw, ok := top[keyBookmarks]; ok {
		if err := p.parseBookmarks(s, raw); err != nil {
			return nil, nil, err
		}
		for _, k := range slices.Sorted(maps.Keys(top)) {
			if k != keyCurrentlySyncing && k != keyBookmarks {
				p.warnf("ignoring unknown state key %q", k)
			}
		}
		return s, p.warnings, nil
	}
	if err := p.parseFlat(s, top); err != nil {
		return nil, nil, err
	}
	return s, p.warnings, nil
}

type parser struct {
	known    []string
	warnings []string
}

func (p *parser) warnf(format string, args ...any) {
	p.warnings = append(p.warnings, fmt.Sprintf(format, args...))
}

func (p *parser) isKnown(stream string) bool {
	return p.known == nil || slices.Contains(p.known, stream)
}

func parseCurrentlySyncing(raw json.RawMessage) (string, error) {
	switch jsonType(raw) {
	case "", "null":
		return "", nil
	case "string":
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", &Error{Msg: "currently_syncing: must be a valid JSON string"}
		}
		return s, nil
	default:
		return "", &Error{Msg: "currently_syncing: must be a stream name or null, got " + jsonType(raw)}
	}
}

// parseBookmarks reads singer-io's {"bookmarks": {stream: {...}}}.
func (p *parser) parseBookmarks(s *State, raw json.RawMessage) error {
	switch jsonType(raw) {
	case "null":
		return nil
	case "object":
	default:
		return &Error{Msg: fmt.Sprintf("bookmarks: must be an object of stream bookmarks, got %s", jsonType(raw))}
	}
	var bookmarks map[string]json.RawMessage
	if err := json.Unmarshal(raw, &bookmarks); err != nil {
		return &Error{Msg: "bookmarks: must be an object of stream bookmarks"}
	}
	for _, stream := range slices.Sorted(maps.Keys(bookmarks)) {
		b, err := p.parseBookmark(stream, bookmarks[stream])
		if err != nil {
			return err
		}
		if b == nil {
			continue
		}
		if !p.isKnown(stream) {
			p.warnf("state has a bookmark for stream %q, which tap-jira does not have; it is kept as is", stream)
		}
		s.Bookmarks[stream] = b
	}
	return nil
}

// parseFlat reads the singer-spec shape with stream bookmarks at the top
// level, e.g. {"issues": {"updated": "..."}} or {"issues": "..."}.
func (p *parser) parseFlat(s *State, top map[string]json.RawMessage) error {
	var read []string
	for _, k := range slices.Sorted(maps.Keys(top)) {
		raw := top[k]
		if k == keyCurrentlySyncing {
			continue
		}
		if !p.isKnown(k) {
			p.warnf("ignoring unknown state key %q", k)
			continue
		}
		switch jsonType(raw) {
		case "object":
			b, err := p.parseBookmark(k, raw)
			if err != nil {
				return err
			}
			s.Bookmarks[k] = b
		case "string":
			var v string
			_ = json.Unmarshal(raw, &v) // a string, checked above
			t, err := parseTime(v)
			if err != nil {
				p.warnf("ignoring top-level state key %q: %q is not a timestamp", k, echo(v))
				continue
			}
			s.Bookmarks[k] = &Bookmark{Updated: t}
		default:
			p.warnf("ignoring top-level state key %q: expected a bookmark object or timestamp, got %s", k, jsonType(raw))
			continue
		}
		read = append(read, k)
	}
	if len(read) > 0 {
		p.warnf("state has no %q object; read top-level keys %s as stream bookmarks (flat Singer shape)", keyBookmarks, strings.Join(read, ", "))
	}
	return nil
}

// parseBookmark reads one stream's bookmark; it returns nil for null.
func (p *parser) parseBookmark(stream string, raw json.RawMessage) (*Bookmark, error) {
	where := "bookmarks." + stream
	switch jsonType(raw) {
	case "null":
		return nil, nil
	case "object":
	default:
		return nil, &Error{Msg: fmt.Sprintf("%s: must be an object, got %s", where, jsonType(raw))}
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, &Error{Msg: where + ": must be an object"}
	}
	b := &Bookmark{}
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		if k == keyUpdated {
			continue
		}
		v, err := decodeAny(fields[k])
		if err != nil {
			return nil, &Error{Msg: fmt.Sprintf("%s.%s: cannot be decoded", where, k)}
		}
		if err := checkExtra(where+"."+k, k, v); err != nil {
			return nil, err
		}
		if b.Extra == nil {
			b.Extra = map[string]any{}
		}
		b.Extra[k] = v
	}

	if raw, ok := fields[keyUpdated]; ok {
		t, err := parseUpdated(where+"."+keyUpdated, raw)
		if err != nil {
			return nil, err
		}
		b.Updated = t
		return b, nil
	}
	p.readSDKShape(stream, b)
	return b, nil
}

// readSDKShape takes Updated from the Meltano SDK's replication_key_value;
// the SDK keys are dropped so that a stale value is not written back.
func (p *parser) readSDKShape(stream string, b *Bookmark) {
	v, ok := b.Extra[keyReplicationKeyValue]
	if !ok {
		return
	}
	if rk, ok := b.Extra[keyReplicationKey].(string); ok && rk != keyUpdated {
		p.warnf("bookmark for %q uses replication key %q, not %q; its value is ignored", stream, rk, keyUpdated)
		return
	}
	s, ok := v.(string)
	if !ok {
		p.warnf("bookmark for %q has a non-string replication_key_value; it is ignored", stream)
		return
	}
	t, err := parseTime(s)
	if err != nil {
		p.warnf("bookmark for %q has replication_key_value %q, which is not a timestamp; it is ignored", stream, echo(s))
		return
	}
	b.Updated = t
	delete(b.Extra, keyReplicationKey)
	delete(b.Extra, keyReplicationKeyValue)
	if len(b.Extra) == 0 {
		b.Extra = nil
	}
	p.warnf("bookmark for %q is in the Meltano SDK shape; read replication_key_value as %q", stream, keyUpdated)
}

func parseUpdated(where string, raw json.RawMessage) (time.Time, error) {
	switch jsonType(raw) {
	case "null":
		return time.Time{}, nil
	case "string":
	default:
		return time.Time{}, &Error{Msg: fmt.Sprintf("%s: must be a timestamp string, got %s", where, jsonType(raw))}
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return time.Time{}, &Error{Msg: where + ": must be a valid JSON string"}
	}
	t, err := parseTime(s)
	if err != nil {
		return time.Time{}, &Error{Msg: fmt.Sprintf("%s: %q is not a timestamp (expected RFC 3339 such as 2026-01-02T03:04:05.000000Z)", where, echo(s))}
	}
	return t, nil
}

// parseTime accepts RFC 3339, Jira's 2026-01-02T03:04:05.000+0000 and a
// naive 2026-01-02T03:04:05 meaning UTC, as singer-python reads it.
func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999-0700", "2006-01-02T15:04:05"} {
		t, err := time.Parse(layout, s)
		if err != nil {
			continue
		}
		// An offset can push the year out of the four digits Value writes.
		if t = t.UTC(); t.Year() < 0 || t.Year() > 9999 {
			return time.Time{}, errors.New("timestamp out of range")
		}
		return t, nil
	}
	return time.Time{}, errors.New("unrecognised timestamp")
}

// Advance moves stream's updated bookmark to t if t is later; it never moves
// backwards. It reports whether it moved.
func (s *State) Advance(stream string, t time.Time) bool {
	if t.IsZero() {
		return false
	}
	b := s.bookmark(stream)
	if !t.After(b.Updated) {
		return false
	}
	b.Updated = t.UTC()
	return true
}

// Keys tap-jira keeps in a bookmark besides updated. singer-io/tap-jira
// reads only updated and ignores them.
const (
	// KeyUpdated is a bookmark's time, and a pass's (KeyBackfill).
	KeyUpdated = keyUpdated
	// KeyDeleted is the worklog deletion feed's position (a timestamp).
	KeyDeleted = "deleted"
	// KeyKnownIDs is the issues the reconciliation scan last found:
	// {"scope": <fingerprint of the issues' scope>, "ids": <IDSet.Encode>}.
	KeyKnownIDs = "known_ids"
	// KeyStreams is the streams of a group whose records the updated
	// bookmark covers (sorted names): a stream selected later has no
	// records before it, and is read from start_date (KeyBackfill).
	KeyStreams = "streams"
	// KeyBackfill is a pass from start_date for streams selected after the
	// bookmark was made: {"streams": [names], "updated": <how far it came>}.
	KeyBackfill = "backfill"
	// KeyScope is a fingerprint of the issues' scope (projects and jql)
	// the updated bookmark covers: in another scope, nothing is covered.
	KeyScope = "scope"
)

// checkExtra validates the bookmark keys tap-jira itself reads, so a
// corrupt one stops the run at startup instead of midway.
func checkExtra(where, key string, v any) error {
	switch key {
	case KeyDeleted:
		s, ok := v.(string)
		if v == nil {
			return nil
		}
		if !ok {
			return &Error{Msg: where + ": must be a timestamp string"}
		}
		if _, err := parseTime(s); err != nil {
			return &Error{Msg: fmt.Sprintf("%s: %q is not a timestamp", where, echo(s))}
		}
	case KeyKnownIDs:
		if v == nil {
			return nil
		}
		if _, _, err := knownIDs(v); err != nil {
			return &Error{Msg: where + ": " + err.Error()}
		}
	case KeyScope:
		if _, ok := v.(string); !ok {
			return &Error{Msg: where + ": must be a string"}
		}
	case KeyStreams:
		if _, err := names(v); err != nil {
			return &Error{Msg: where + ": " + err.Error()}
		}
	case KeyBackfill:
		if v == nil {
			return nil
		}
		if _, _, err := backfill(v); err != nil {
			return &Error{Msg: where + ": " + err.Error()}
		}
	}
	return nil
}

// names reads a list of stream names.
func names(v any) ([]string, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, errors.New("must be a list of stream names")
	}
	out := make([]string, 0, len(list))
	for _, e := range list {
		name, ok := e.(string)
		if !ok {
			return nil, errors.New("must be a list of stream names")
		}
		out = append(out, name)
	}
	return out, nil
}

func backfill(v any) (streams []string, at time.Time, err error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, time.Time{}, errors.New(`must be an object {"streams": [...], "updated": ...}`)
	}
	if streams, err = names(m["streams"]); err != nil {
		return nil, time.Time{}, fmt.Errorf("streams: %w", err)
	}
	str, ok := m[keyUpdated].(string)
	if !ok {
		return nil, time.Time{}, errors.New("updated: must be a timestamp string")
	}
	if at, err = parseTime(str); err != nil {
		return nil, time.Time{}, fmt.Errorf("updated: %q is not a timestamp", echo(str))
	}
	return streams, at, nil
}

// Streams returns the streams stream's updated bookmark covers (see
// KeyStreams); ok is false when the bookmark does not say (a state from
// singer-io/tap-jira, or from before tap-jira kept the list).
func (s *State) Streams(stream string) (covered []string, ok bool) {
	b := s.Bookmarks[stream]
	if b == nil {
		return nil, false
	}
	v, ok := b.Extra[KeyStreams]
	if !ok {
		return nil, false
	}
	covered, err := names(v)
	return covered, err == nil
}

// Scope returns the scope fingerprint stream's bookmark covers; ok is
// false when the bookmark does not say.
func (s *State) Scope(stream string) (scope string, ok bool) {
	if b := s.Bookmarks[stream]; b != nil {
		scope, ok = b.Extra[KeyScope].(string)
	}
	return scope, ok
}

// SetScope records the scope fingerprint stream's bookmark covers.
func (s *State) SetScope(stream, scope string) { s.setExtra(stream, KeyScope, scope) }

// SetStreams records the streams stream's updated bookmark covers.
func (s *State) SetStreams(stream string, covered []string) {
	s.setExtra(stream, KeyStreams, sortedNames(covered))
}

// Backfill returns the streams being read from start_date and how far
// that pass has come; none when there is no such pass.
func (s *State) Backfill(stream string) (streams []string, at time.Time) {
	b := s.Bookmarks[stream]
	if b == nil {
		return nil, time.Time{}
	}
	v, ok := b.Extra[KeyBackfill]
	if !ok || v == nil {
		return nil, time.Time{}
	}
	streams, at, err := backfill(v)
	if err != nil {
		return nil, time.Time{}
	}
	return streams, at
}

// SetBackfill records a pass from start_date for streams, come as far as
// at; no streams ends it.
func (s *State) SetBackfill(stream string, streams []string, at time.Time) {
	if len(streams) == 0 {
		s.deleteExtra(stream, KeyBackfill)
		return
	}
	s.setExtra(stream, KeyBackfill, map[string]any{"streams": sortedNames(streams), keyUpdated: at.UTC().Format(timeLayout)})
}

// sortedNames is names sorted, as a JSON list.
func sortedNames(names []string) []any {
	list := make([]any, 0, len(names))
	for _, name := range slices.Sorted(slices.Values(names)) {
		list = append(list, name)
	}
	return list
}

// setExtra keeps v under key in stream's bookmark.
func (s *State) setExtra(stream, key string, v any) {
	b := s.bookmark(stream)
	if b.Extra == nil {
		b.Extra = map[string]any{}
	}
	b.Extra[key] = v
}

// deleteExtra drops key from stream's bookmark.
func (s *State) deleteExtra(stream, key string) {
	if b := s.Bookmarks[stream]; b != nil {
		delete(b.Extra, key)
	}
}

func knownIDs(v any) (scope string, ids *IDSet, err error) {
	m, ok := v.(map[string]any)
	if !ok {
		return "", nil, errors.New(`must be an object {"scope": ..., "ids": ...}`)
	}
	scope, ok1 := m["scope"].(string)
	enc, ok2 := m["ids"].(string)
	if !ok1 || !ok2 {
		return "", nil, errors.New(`must have string "scope" and "ids"`)
	}
	if ids, err = DecodeIDSet(enc); err != nil {
		return "", nil, fmt.Errorf("ids: %w", err)
	}
	return scope, ids, nil
}

// KnownIDs returns the issue ids remembered for scope; nil when none are,
// or they were remembered for another scope.
func (s *State) KnownIDs(stream, scope string) *IDSet {
	b := s.Bookmarks[stream]
	if b == nil {
		return nil
	}
	v, ok := b.Extra[KeyKnownIDs]
	if !ok {
		return nil
	}
	sc, ids, err := knownIDs(v)
	if err != nil || sc != scope {
		return nil
	}
	return ids
}

// SetKnownIDs remembers ids for scope; nil forgets them.
func (s *State) SetKnownIDs(stream, scope string, ids *IDSet) {
	if ids == nil {
		s.deleteExtra(stream, KeyKnownIDs)
		return
	}
	s.setExtra(stream, KeyKnownIDs, map[string]any{"scope": scope, "ids": ids.Encode()})
}

// Time returns a timestamp kept under key in stream's bookmark (such as
// KeyDeleted), zero when there is none.
func (s *State) Time(stream, key string) time.Time {
	b := s.Bookmarks[stream]
	if b == nil {
		return time.Time{}
	}
	str, _ := b.Extra[key].(string)
	t, err := parseTime(str)
	if err != nil {
		return time.Time{}
	}
	return t
}

// AdvanceTime moves the timestamp under key to t if t is later; like
// Advance, it never moves backwards.
func (s *State) AdvanceTime(stream, key string, t time.Time) bool {
	if t.IsZero() || !t.After(s.Time(stream, key)) {
		return false
	}
	s.setExtra(stream, key, t.UTC().Format(timeLayout))
	return true
}

func (s *State) bookmark(stream string) *Bookmark {
	if s.Bookmarks == nil {
		s.Bookmarks = map[string]*Bookmark{}
	}
	b := s.Bookmarks[stream]
	if b == nil {
		b = &Bookmark{}
		s.Bookmarks[stream] = b
	}
	return b
}

// Updated returns stream's updated bookmark, zero when there is none.
func (s *State) Updated(stream string) time.Time {
	if b := s.Bookmarks[stream]; b != nil {
		return b.Updated
	}
	return time.Time{}
}

// Value returns the STATE message value in singer-io's shape. It is a deep
// copy, so later changes to s do not alter a returned value.
func (s *State) Value() map[string]any {
	bookmarks := make(map[string]any, len(s.Bookmarks))
	for stream, b := range s.Bookmarks {
		if b == nil {
			continue
		}
		m := make(map[string]any, len(b.Extra)+1)
		for k, v := range b.Extra {
			m[k] = deepCopy(v)
		}
		delete(m, keyUpdated) // Updated is authoritative
		if !b.Updated.IsZero() {
			m[keyUpdated] = b.Updated.UTC().Format(timeLayout)
		}
		bookmarks[stream] = m
	}
	var syncing any
	if s.CurrentlySyncing != "" {
		syncing = s.CurrentlySyncing
	}
	return map[string]any{keyCurrentlySyncing: syncing, keyBookmarks: bookmarks}
}

// Clone returns a deep copy of s.
func (s *State) Clone() *State {
	c := &State{CurrentlySyncing: s.CurrentlySyncing, Bookmarks: make(map[string]*Bookmark, len(s.Bookmarks))}
	for stream, b := range s.Bookmarks {
		if b == nil {
			c.Bookmarks[stream] = nil
			continue
		}
		nb := &Bookmark{Updated: b.Updated}
		if b.Extra != nil {
			nb.Extra = make(map[string]any, len(b.Extra))
			for k, v := range b.Extra {
				nb.Extra[k] = deepCopy(v)
			}
		}
		c.Bookmarks[stream] = nb
	}
	return c
}

// deepCopy copies the containers that JSON decoding produces; other values
// are immutable.
func deepCopy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		a := make([]any, len(v))
		for i, e := range v {
			a[i] = deepCopy(e)
		}
		return a
	default:
		return v
	}
}

const jsonSpace = " \t\r\n"

// decodeObject decodes data as one JSON object, keeping each value raw.
func decodeObject(data []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var top map[string]json.RawMessage
	if err := dec.Decode(&top); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
			line, col := position(data, len(bytes.TrimRight(data, jsonSpace)))
			return nil, &Error{Msg: fmt.Sprintf("unexpected end of JSON at line %d, column %d (the file is truncated)", line, col)}
		case errors.As(err, &syn):
			line, col := position(data, int(syn.Offset)-1)
			return nil, &Error{Msg: fmt.Sprintf("malformed JSON at line %d, column %d: %s", line, col, syn.Error())}
		case errors.As(err, &typ):
			return nil, &Error{Msg: "must be a JSON object, got " + typ.Value}
		default:
			return nil, &Error{Msg: "malformed JSON"}
		}
	}
	if top == nil {
		return nil, &Error{Msg: "must be a JSON object, got null"}
	}
	off := int(dec.InputOffset())
	if rest := bytes.TrimLeft(data[off:], jsonSpace); len(rest) > 0 {
		line, col := position(data, len(data)-len(rest))
		return nil, &Error{Msg: fmt.Sprintf("malformed JSON at line %d, column %d: unexpected data after the top-level object", line, col)}
	}
	return top, nil
}

// decodeAny decodes a raw value keeping numbers as json.Number, so that
// they are written back exactly as read.
func decodeAny(raw json.RawMessage) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("decoding bookmark value: %w", err)
	}
	return v, nil
}

// position converts a byte offset into a 1-based line and column (in
// characters).
func position(data []byte, off int) (line, col int) {
	off = max(0, min(off, len(data)))
	before := data[:off]
	line = bytes.Count(before, []byte("\n")) + 1
	lineStart := bytes.LastIndexByte(before, '\n') + 1
	return line, utf8.RuneCount(before[lineStart:]) + 1
}

// jsonType names the JSON type of a raw value; "" when absent.
func jsonType(v json.RawMessage) string {
	v = bytes.TrimLeft(v, jsonSpace)
	if len(v) == 0 {
		return ""
	}
	switch v[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	default:
		return "number"
	}
}

// echo shortens a bad value for an error message.
func echo(s string) string {
	if utf8.RuneCountInString(s) <= maxEcho {
		return s
	}
	return string([]rune(s)[:maxEcho]) + "…"
}
