package streams

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/tap-jira/tap-jira/internal/jira"
	"github.com/tap-jira/tap-jira/internal/jsonscan"
)

// statusKeys is how many keys a status record has.
const statusKeys = 11

// InitialChangelogID is the changelogId of the record that states an
// issue's first status: no changelog entry exists for it.
const InitialChangelogID = "0"

// statusHistory derives an issue's issue_status_history records from its
// complete changelog, oldest first: one record for the status the issue was
// created in (the first change's from, or the current status when it never
// changed), then one per changelog entry that changed the status. Values
// are copied, so the records share nothing with the changelog records
// prepared from the same histories.
func statusHistory(is jira.Record, issueID string, histories []any) ([]jira.Record, error) {
	key, _ := is["key"].(string)
	out, err := statusChanges(issueID, key, histories)
	if err != nil {
		return nil, err
	}
	initial := initialStatus(is, issueID)
	if len(out) > 0 {
		startsFrom(initial, out[0])
	}
	return append([]jira.Record{initial}, out...), nil
}

// statusChanges derives the records of the entries of histories that
// changed the status, oldest first.
func statusChanges(issueID, key string, histories []any) ([]jira.Record, error) {
	var out []jira.Record
	id, k := boxed(issueID, key)
	for _, h := range histories {
		hist, ok := h.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("issue %s: a changelog entry is not an object", issueID)
		}
		items, _ := hist["items"].([]any)
		for _, it := range items {
			item, _ := it.(map[string]any)
			if !isStatusItem(item) {
				continue
			}
			rec := statusRecord(id, k, textOf(hist["id"]), hist["author"], hist["created"])
			rec["from"], rec["fromString"] = item["from"], item["fromString"]
			rec["to"], rec["toString"] = item["to"], item["toString"]
			out = append(out, rec)
			break // Jira changes the status at most once per entry
		}
	}
	// Jira documents the order of /changelog pages (oldest first) but not
	// of an embedded changelog, and the initial status comes from the
	// earliest change: sort rather than trust the order received.
	slices.SortStableFunc(out, olderChange)
	return out, nil
}

// olderChange orders status changes by time, then changelog id.
func olderChange(a, b jira.Record) int {
	if c := cmp.Compare(idText(a["created"]), idText(b["created"])); c != 0 {
		return c // RFC 3339 UTC with milliseconds: text order is time order
	}
	return cmp.Compare(numericID(a["changelogId"]), numericID(b["changelogId"]))
}

// initialStatus is the record of the status an issue was created in, as if
// it never changed (its current status); startsFrom corrects it from the
// earliest change.
func initialStatus(is jira.Record, issueID string) jira.Record {
	fields, _ := is["fields"].(map[string]any)
	key, _ := is["key"].(string)
	id, k := boxed(issueID, key)
	initial := statusRecord(id, k, InitialChangelogID, fields["creator"], fields["created"])
	initial["initial"] = true
	initial["from"], initial["fromString"] = nil, nil
	if st, ok := fields["status"].(map[string]any); ok {
		initial["to"], initial["toString"] = st["id"], st["name"]
	}
	return initial
}

// startsFrom makes initial the status the earliest change left.
func startsFrom(initial, earliest jira.Record) {
	initial["to"], initial["toString"] = earliest["from"], earliest["fromString"]
}

// isStatusItem matches the status field whether or not Jira sent fieldId
// (older Data Center versions do not).
func isStatusItem(item map[string]any) bool {
	if id, ok := item["fieldId"].(string); ok {
		return id == "status"
	}
	return item["field"] == "status" && item["fieldtype"] == "jira"
}

// statusRecord is a status record of the issue id (key nil: the issue has
// none). Its values are the ones given, as they are boxed: a string put
// into an interface costs an allocation, which the issue's id and key
// took once for all its records.
func statusRecord(id, key, changelogID, author, created any) jira.Record {
	// Sized for every key the record gets (the status's from and to are
	// set by the caller): a map filled past 8 keys grows once more.
	rec := make(jira.Record, statusKeys)
	rec["issueId"], rec["changelogId"], rec["initial"] = id, changelogID, false
	rec["author"], rec["authorAccountId"], rec["created"] = author, nil, created
	if key != nil {
		rec["issueKey"] = key
	}
	if acc := accountOf(author); acc != nil {
		rec["authorAccountId"] = acc
	}
	return rec
}

// accountOf is a user's account id, nil if it has none. Data Center users
// have no accountId; their key is the stable id, as in the users stream. A
// user kept raw (a changelog entry's author, an issue's creator) is read
// without decoding it when its id has no escapes, as ids do not.
func accountOf(user any) any {
	a, ok := user.(map[string]any)
	if r, raw := user.(jsonscan.Raw); raw {
		if v, ok := jsonscan.StringMember(r, "accountId"); ok {
			return v
		}
		// The key only where there is no accountId at all: canonical bytes
		// write that key as it is, wherever it stands.
		if !strings.Contains(string(r), `"accountId":`) {
			if v, ok := jsonscan.StringMember(r, "key"); ok {
				return v
			}
		}
		d, err := r.Decode()
		if err != nil {
			return nil
		}
		a, ok = d.(map[string]any)
	}
	if !ok {
		return nil
	}
	if acc, ok := a["accountId"]; ok && isString(acc) {
		return acc
	}
	if k, ok := a["key"]; ok && isString(k) {
		return k
	}
	return nil
}

// boxed is an issue's id and key as statusRecord takes them.
func boxed(issueID, key string) (id, k any) {
	if key != "" {
		k = key
	}
	return issueID, k
}

func isString(v any) bool {
	_, ok := v.(string)
	return ok
}

// textOf is v as a string value: v itself when it is one.
func textOf(v any) any {
	if isString(v) {
		return v
	}
	return idText(v)
}

// detached is v deep-copied with its own strings: strings and numbers
// decoded from a page are views of its body, so one kept after the page
// (an issue's initial status record, kept until its changelog is read)
// would keep the whole body alive.
func detached(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[strings.Clone(k)] = detached(e)
		}
		return m
	case []any:
		a := make([]any, len(v))
		for i, e := range v {
			a[i] = detached(e)
		}
		return a
	case string:
		return strings.Clone(v)
	case json.Number:
		return json.Number(strings.Clone(string(v)))
	case jsonscan.Raw:
		return jsonscan.Raw(strings.Clone(string(v)))
	}
	return v
}

// numericID orders changelog ids as numbers ("99" before "100").
func numericID(v any) int64 {
	n, _ := strconv.ParseInt(idText(v), 10, 64)
	return n
}

// idText is a decoded id or timestamp as text: what fmt.Sprint gives,
// without its cost for the strings and numbers Jira sends.
func idText(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case json.Number:
		return string(t)
	}
	return fmt.Sprint(v)
}
