package jira

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"
	"time"
)

// oneShot answers the first request with body and every later one with a
// 404, so any paging loop ends.
type oneShot struct {
	body []byte
	n    atomic.Int64 // the pages of a list may be asked for at once
}

func (o *oneShot) RoundTrip(r *http.Request) (*http.Response, error) {
	status, body := http.StatusOK, o.body
	if o.n.Add(1) > 1 {
		status, body = http.StatusNotFound, []byte(`{"errorMessages":["done"]}`)
	}
	return &http.Response{
		StatusCode: status, Status: http.StatusText(status), Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader(body)), Request: r, ContentLength: int64(len(body)),
	}, nil
}

// FuzzResponses feeds arbitrary bodies to the decoding of every Jira
// response shape the tap reads: it must never panic or loop, whatever Jira
// (or something pretending to be Jira) sends.
func FuzzResponses(f *testing.F) {
	f.Add(uint8(0), []byte(`{"values":[{"id":"1"}],"isLast":false,"total":3}`))
	f.Add(uint8(1), []byte(`[{"accountId":"a"}]`))
	f.Add(uint8(2), []byte(`{"issues":[{"id":"1","fields":{}}],"nextPageToken":"x"}`))
	f.Add(uint8(3), []byte(`{"issues":[{"id":"1"}],"total":5,"startAt":0}`))
	f.Add(uint8(4), []byte(`{"comments":[{"id":"1"}],"total":2}`))
	f.Add(uint8(5), []byte(`{"values":[{"id":"1"}],"isLast":true}`))
	f.Add(uint8(6), []byte(`{"changelog":{"histories":[{"id":"1"}]}}`))
	f.Add(uint8(7), []byte(`{"values":[{"worklogId":1,"updatedTime":5}],"until":5,"lastPage":false}`))
	f.Add(uint8(8), []byte(`{"timeZone":"Mars/Base"}`))
	f.Add(uint8(9), []byte(`{"deploymentType":"Cloud"}`))
	f.Add(uint8(10), []byte(`{"issues":[{"id":"1","fields":{"updated":"2026-01-02T03:04:05.000+0000"}}]}`))
	f.Add(uint8(11), []byte(`{"issues":[{"id":"1","fields":{}}],"issueErrors":[{"issueIdOrKey":"2"}]}`))
	f.Add(uint8(12), []byte(`{"issues":[{"id":"1"}],"total":5,"startAt":0}`))
	f.Add(uint8(13), []byte(`{"issues":[{"id":"1"}],"nextPageToken":"x"}`))
	f.Add(uint8(14), []byte(`{"issueChangeLogs":[{"issueId":"1","changeHistories":[{"id":"2","items":[]}]}],"nextPageToken":"x"}`))
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		base, _ := url.Parse("https://jira.test")
		c, err := New(Options{BaseURL: base, Username: "u", Password: "p", Transport: &oneShot{body: body},
			Retry: RetryPolicy{MaxAttempts: 1, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond, MaxRetryAfter: time.Millisecond, MaxElapsed: time.Second}})
		if err != nil {
			t.Fatal(err)
		}
		ctx := t.Context()
		drain := func(seq func(func([]Record, error) bool)) {
			for range seq {
			}
		}
		switch which % 15 {
		case 0:
			drain(c.Paged(ctx, "rest/api/2/project/search", nil, 50))
		case 1:
			drain(c.PagedArray(ctx, "rest/api/2/users/search", nil, 50))
		case 2, 3:
			for range c.SearchIssues(ctx, which%15 == 2, "updated >= 0", []string{"*all"}, nil, 10) {
			}
		case 4:
			_, _ = c.IssueComments(ctx, "1", int(which%3)*100)
		case 5, 6:
			_, _ = c.IssueChangelog(ctx, which%15 == 5, "1", int(which%3)*100)
		case 7:
			for page, err := range c.WorklogFeed(ctx, time.UnixMilli(0)) {
				if err == nil {
					_, _ = c.WorklogList(ctx, page.IDs)
				}
			}
		case 8:
			_, _ = c.Myself(ctx)
		case 9:
			_, _ = c.ServerInfo(ctx)
		case 10:
			_, _ = c.IssuesUpdated(ctx, []string{"1", "2"})
		case 11:
			_, _ = c.BulkFetch(ctx, []string{"1", "2"}, []string{"*all"}, []string{"changelog"})
		case 12:
			_, _ = c.SearchPage(ctx, "updated >= 0", []string{"*all"}, nil, 0, 10)
		case 13:
			_, _ = c.SearchJQLPage(ctx, "updated >= 0", []string{"id"}, nil, 10, "")
		case 14:
			for page, err := range c.ChangelogBulk(ctx, []string{"1", "2"}) {
				if err == nil {
					for range page.Groups() {
					}
				}
			}
		}
	})
}
