package streams

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tap-jira/tap-jira/internal/jira"
	"github.com/tap-jira/tap-jira/internal/state"
)

// syncUsers reads every user: on Cloud /users/search, paged until an empty
// page; on Data Center /user/search with "." (everyone).
func syncUsers(ctx context.Context, env *Env, sink Sink) error {
	path, q := "rest/api/2/users/search", url.Values{}
	if !env.Cloud {
		path, q = "rest/api/2/user/search", url.Values{"username": {"."}, "includeInactive": {"true"}}
	}
	for page, err := range env.Client.PagedArray(ctx, path, q, 1000) {
		if err != nil {
			return fmt.Errorf("reading users: %w", err)
		}
		for _, u := range page {
			if _, ok := u["accountId"]; !ok && !env.Cloud {
				// Data Center has no accountIds; the user key is its stable
				// id, so it fills the table's key column.
				u["accountId"] = u["key"]
			}
			if err := sink.Record("users", u); err != nil {
				return err
			}
		}
		if err := sink.Checkpoint(); err != nil {
			return err
		}
	}
	return nil
}

// IssuesJQL builds the incremental query: issues updated since the bookmark,
// floored to the minute in the user's time zone, because Jira reads JQL date
// literals at minute precision in that zone.
func IssuesJQL(bookmark time.Time, loc *time.Location, projects []string, extra string) string {
	// The wall clock of the bookmark with the seconds dropped. In a repeated
	// hour (DST fall-back) Jira reads the earlier of the two instants, which
	// is never after the bookmark.
	local := bookmark.In(loc)
	var b strings.Builder
	fmt.Fprintf(&b, `updated >= "%s"`, local.Format("2006-01-02 15:04"))
	if len(projects) > 0 {
		fmt.Fprintf(&b, " AND project in (%s)", strings.Join(projects, ", "))
	}
	if extra != "" {
		fmt.Fprintf(&b, " AND (%s)", extra)
	}
	b.WriteString(" ORDER BY updated ASC, id ASC")
	return b.String()
}

// syncIssues reads issues updated since the bookmark and, from each, its
// comments, changelog histories and transitions. Embedded lists that Jira
// truncated are completed from the per-issue endpoints; complete ones cost
// no request.
//
// On Cloud an id-only search (5000 ids a page) feeds /issue/bulkfetch
// batches of 100; on Data Center the startAt pages of one search are read.
// Either way Concurrency pages are fetched at once and emitted in order
// (1 is one request at a time), and an issue that moves while the search
// is read cannot make another slide out of it (scanIDs, searchPages).
func syncIssues(ctx context.Context, env *Env, sink Sink) error {
	loc, err := env.Client.Myself(ctx)
	if err != nil {
		return err
	}
	cover, from := planCoverage(env, sink)
	jqlFrom := func(from time.Time) string { return IssuesJQL(from, loc, env.Projects, env.JQL) }
	jql := jqlFrom(from)
	env.Log.Info("reading issues", "jql", jql, "time_zone", loc.String(), "concurrency", env.Concurrency)
	expand := []string{"transitions"}
	if wantsChangelog(sink) {
		expand = []string{"changelog", "transitions"}
	}
	if env.RenderedFields {
		expand = append(expand, "renderedFields")
	}
	fields := []string{"*all"}
	if env.IssueFields != nil {
		fields = env.IssueFields
	}
	b := &issueBatches{env: env, sink: sink, cover: &cover,
		// Search is eventually consistent: never bookmark past the run's
		// start minus the allowed lag, so the next run re-reads that window.
		ceiling: env.searchCeiling()}
	if env.ReconcileDeletedIssues && sink.Wants("issues") {
		b.scope = scopeFingerprint(env)
		b.known = env.State.KnownIDs("issues", b.scope)
	}
	if !env.Cloud {
		// One page more than requests in flight, each of about 1 MiB
		// (pageSizer): see issuePipeline.
		err = b.searchPages(ctx, max(1, env.Concurrency)+1, from, jqlFrom, fields, expand)
	} else {
		n := issuePipeline(env.Concurrency)
		scan := b.scanIDs(ctx, from, jqlFrom)
		type chunk struct {
			ids  []string
			rank int // its place among the batches, as ordered ranks it
		}
		batches := func(yield func(chunk) bool) {
			rank := 0
			// The next page of ids is read while this one's issues are.
			for ids, err := range readAhead(ctx, 1, scan) {
				if err != nil {
					b.err = err
					return
				}
				for c := range slices.Chunk(ids, min(env.PageSize, jira.BulkFetchMax)) {
					if !yield(chunk{c, rank}) {
						return
					}
					rank++
				}
			}
		}
		lag := newPageLag(env.Concurrency)
		// Reads started as pages arrive outlive the fetches (pages kept
		// back are written after ordered returns) and end with the scan.
		readsCtx, cancelReads := context.WithCancel(ctx)
		defer cancelReads()
		if env.Concurrency > 1 {
			b.early = make(chan struct{}, earlyReads)
			defer b.stopEarly()
		}
		err = ordered(ctx, n, batches, func(ctx context.Context, c chunk) (*issueBatch, error) {
			ids := c.ids
			issues, err := env.Client.BulkFetch(ctx, ids, fields, expand)
			if err != nil {
				return nil, err
			}
			// bulkfetch answers in id order; the search's order (updated,
			// then id) is what the bookmark relies on.
			pos := make(map[string]int, len(ids))
			for i, id := range ids {
				pos[id] = i
			}
			type ranked struct {
				at int
				is jira.Record
			}
			rs := make([]ranked, len(issues))
			for i, is := range issues {
				rs[i] = ranked{pos[fmt.Sprint(is["id"])], is} // one id string per issue, not per comparison
			}
			slices.SortStableFunc(rs, func(a, b ranked) int { return a.at - b.at })
			for i := range rs {
				issues[i] = rs[i].is
			}
			batch, err := b.prepare(issues)
			if batch != nil {
				batch.rank = c.rank
				b.startEarly(readsCtx, batch)
			}
			return batch, err
		}, func(batch *issueBatch) error {
			return lag.push(ctx, b, batch)
		})
		err = lag.flush(ctx, b, err)
	}
	if err != nil {
		return err
	}
	if b.err != nil {
		return b.err
	}
	// The search is read to its end: a pass from start_date has read every
	// issue, the bookmark's too. (Not so when the rest was left to the next
	// run: the last issue read can be one updated since the run began that
	// the search, trailing the change, still lists where it stood.)
	if len(cover.backfill) > 0 && !b.leftForNextRun {
		cover.finish(env.State)
		if err := sink.Checkpoint(); err != nil {
			return err
		}
	}
	if env.ReconcileDeletedIssues {
		return reconcileIssues(ctx, env, sink, loc, &b.seen)
	}
	// Forget a set remembered while reconciliation was on: it would only
	// grow every STATE.
	env.State.SetKnownIDs("issues", "", nil)
	return nil
}

// issuePipeline is how many Cloud issue batches are worked on at once:
// fetched, prepared, or waiting to be written. One more than requests in
// flight: the client holds requests to concurrency, and the extra batch is
// prepared (decoded records validated and encoded) while the others are
// on the wire; at 1 this is a sequential tap that reads the next batch
// while it writes. With concurrency, twice as many up to 16 in flight
// (extraPages): on two cores batches arrive together faster than they
// are prepared and written, and with fewer the window filled with batches
// waiting to be written while the requests in flight fell below the
// bound (10-13 of 16 with one more; with half again as many, 25 at 16,
// interleaved runs of the 20k sync took 0.86 s at the median against
// 0.79 s with 33, and the same memory at 20k and at 100k issues).
// Data Center search pages keep one more than requests in flight: they
// are weighed to 1 MiB each, and where issues carry long histories the
// extra pages held took a site of fat pages at 16 from 3.4 s to 3.9 s
// (the collector working on what they hold).
func issuePipeline(concurrency int) int {
	c := max(1, concurrency)
	if c == 1 {
		return 2
	}
	return c + 1 + extraPages(c)
}

// extraPages is what issuePipeline adds past one a request: as many as
// the requests in flight up to 16, then fewer, back to 8 from 24 on. Past
// 16 on two cores the CPU bounds the sync, not the window, and more
// batches waiting only hold memory (at 32: 128-150 MB with 16 more,
// 124-132 MB with 8, in the same time).
func extraPages(c int) int { return min(c, max(8, 32-c)) }

// wantsChangelog says whether issues' changelogs are needed: the changelogs
// stream and the status history are read from them.
func wantsChangelog(sink Sink) bool {
	return sink.Wants("changelogs") || sink.Wants("issue_status_history")
}

// issueBatches turns pages of issues into records, in order.
type issueBatches struct {
	env     *Env
	sink    Sink
	cover   *coverage // what the bookmark covers, and a pass from start_date
	seen    seenIDs   // issue ids emitted this run
	written int       // issues written this run
	ceiling time.Time
	err     error // from the page iterator
	// leftForNextRun: the search stopped before its end, the rest being
	// the next run's (searchPages).
	leftForNextRun bool
	// noBulk: the site answered /changelog/bulkfetch 404 or 405 (a proxy
	// or an older site), or its bulk reads kept coming short; changelogs
	// are read issue by issue.
	noBulk atomic.Bool
	short  atomic.Int64 // issues whose bulk read came short, this run
	// readWaits counts the pages' list reads waiting to retry now.
	readWaits atomic.Int64
	// early holds a place for each page whose lists are read as it
	// arrives (startEarly); nil where none are. earlyPages are those
	// pages until they are written.
	early      chan struct{}
	earlyMu    sync.Mutex
	earlyPages []*issueBatch
	// known is the issue ids a reconciliation scan found, with every
	// issue written since, for scope; nil if issue deletions are not
	// tracked (yet). Each page states its issues' ids before writing them
	// (rememberAhead), so a run that stops before its scan leaves the next
	// one the ids it emitted: one deleted meanwhile is still found
	// missing.
	known *state.IDSet
	scope string
}

// maxShortBulk is how many issues' bulk reads may come short in a run
// before changelogs are read issue by issue for the rest of it: a site
// whose bulk read leaves out entries its per-issue read gives would
// otherwise read every changelog twice.
const maxShortBulk = 10

// issueBatch is a page of issues made ready to write: each issue with its
// children, in the search's order.
type issueBatch struct {
	items []issueItem
	// overlaps says the page started on the last issue of the page before
	// (Data Center pages); head is that issue as this page read it (nil if
	// the page was empty), which emit checks.
	overlaps bool
	head     *place
	// bulk reads the page's changelogs read in bulk (Cloud), once started;
	// whole hands out its lists read whole, in order, and stopWhole ends
	// that reading (startReads).
	bulk      *bulkRead
	whole     func() ([]jira.Record, error)
	stopWhole func()
	// rank is the page's place among the pages ordered fetched: the lists
	// read for it rank with it (jira.WithPriority), before later pages.
	rank int
	// early says its lists were started as it arrived (startEarly).
	early bool
}

// place is where an issue stands in the search's order.
type place struct {
	id      string
	updated time.Time
}

func placeOf(is jira.Record) (*place, error) {
	updated, err := issueUpdated(is)
	if err != nil {
		return nil, fmt.Errorf("issue %v: %w", is["id"], err)
	}
	return &place{fmt.Sprint(is["id"]), updated}, nil
}

func (p place) same(o place) bool { return p.id == o.id && p.updated.Equal(o.updated) }

type issueItem struct {
	id      string
	updated time.Time
	// deferred lists its comments or changelog, read while it is
	// written; initial is then its first status record, completed once the
	// changelog is read.
	deferred []deferredList
	initial  jira.Record
	recs     []Prepared // children first, then the issue
}

// deferredList is a list of an issue's children read while the issue is
// written rather than with its page.
type deferredList struct {
	comments bool // else the changelog
	known    int  // the total the embedded list gave
	// stream: too long to hold, read a window at a time; else read whole,
	// several such lists at once.
	stream bool
	// long: the changelog or the comments, complete in the page but too
	// long to build with it (Data Center may embed them whole), decoded a
	// window at a time.
	long *jira.LongList
	// bulk: a changelog read with those of the page's other issues, by
	// /changelog/bulkfetch (Cloud), not on its own.
	bulk bool
}

// longFrom is the length from which an issue's comments or changelog are
// read a window (2000 records) at a time while the issue is written, never
// whole: a changelog has no length limit (automation can add hundreds of
// entries a day to one issue). On Cloud a window is 20 pages of /comment
// or /changelog; Data Center, which has no /changelog to page, gives a
// changelog whole with its issue, and a changelog past longFrom is not
// built there but decoded a window at a time (jira.LongList).
const longFrom = jira.LongFrom

// deferral gives the embedded totals of an issue's lists read while the
// issue is written, 0 for a list complete in the page; long and
// longComments are a changelog and comments complete in the page but too
// long to build with it.
type deferral struct {
	comments, changelog int
	long, longComments  *jira.LongList
}

// streamed says whether a deferred list of known records is read a window
// at a time: a long one, and a LongList whatever its length (one left in a
// spooled page's file may be shorter than longFrom, and would otherwise be
// read again from Jira).
func streamed(known int, long *jira.LongList) bool { return known > longFrom || long != nil }

// deferrals finds the truncated lists of a page's issues. They are read
// while the page is written, max_concurrency at once, not with the page:
// a page held with its issues' lists, max_concurrency+1 pages of them,
// grows with how much history its issues carry (a site whose issues each
// had 60 changelog entries peaked at 361 MB that way, against 108 MB).
func (b *issueBatches) deferrals(issues []jira.Record) []deferral {
	out := make([]deferral, len(issues))
	truncated := func(container any, list string) int {
		if _, complete := embedded(container, list); complete {
			return 0
		}
		return max(embeddedTotal(container), 1)
	}
	for i, is := range issues {
		fields, _ := is["fields"].(map[string]any)
		if b.sink.Wants("issue_comments") {
			comment, _ := fields["comment"].(map[string]any)
			if long, ok := comment["comments"].(*jira.LongList); ok && embeddedTotal(comment) <= long.Len() {
				out[i].comments, out[i].longComments = long.Len(), long
			} else {
				out[i].comments = truncated(fields["comment"], "comments")
			}
		}
		if !wantsChangelog(b.sink) {
			continue
		}
		changelog, _ := is["changelog"].(map[string]any)
		if long, ok := changelog["histories"].(*jira.LongList); ok && embeddedTotal(changelog) <= long.Len() {
			out[i].changelog, out[i].long = long.Len(), long
		} else {
			out[i].changelog = truncated(changelog, "histories")
		}
	}
	return out
}

// prepare shapes and validates every record of a page but those of the
// lists Jira truncated, which are read while the page is written. It runs
// concurrently with other pages; only writing is sequential.
func (b *issueBatches) prepare(issues []jira.Record) (*issueBatch, error) {
	later := b.deferrals(issues)
	batch := &issueBatch{items: make([]issueItem, 0, len(issues))}
	for i, is := range issues {
		id := fmt.Sprint(is["id"])
		updated, err := issueUpdated(is)
		if err != nil {
			return nil, fmt.Errorf("issue %s: %w", id, err)
		}
		item := issueItem{id: id, updated: updated}
		fields, _ := is["fields"].(map[string]any)
		longComments, longChangelog := later[i].comments > 0, later[i].changelog > 0
		if longComments {
			item.deferred = append(item.deferred, deferredList{comments: true, known: later[i].comments,
				stream: streamed(later[i].comments, later[i].longComments), long: later[i].longComments})
		}
		if longChangelog {
			item.deferred = append(item.deferred, deferredList{known: later[i].changelog, stream: streamed(later[i].changelog, later[i].long), long: later[i].long,
				bulk: b.env.Cloud && later[i].changelog <= longFrom && !b.noBulk.Load()}) // a LongList is longer
			if b.sink.Wants("issue_status_history") {
				item.initial = detached(initialStatus(is, id)).(jira.Record)
			}
		}
		var history []any
		if wantsChangelog(b.sink) && !longChangelog {
			history, _ = embedded(is["changelog"], "histories")
		}
		// Derived before the changelogs are prepared, which edits them in
		// place (field selection).
		var statuses []jira.Record
		if b.sink.Wants("issue_status_history") && !longChangelog {
			if statuses, err = statusHistory(is, id, history); err != nil {
				return nil, err
			}
		}
		if b.sink.Wants("issue_comments") && !longComments {
			items, _ := embedded(fields["comment"], "comments")
			if item.recs, err = prepareAll(b.sink, item.recs, "issue_comments", id, items); err != nil {
				return nil, err
			}
		}
		if b.sink.Wants("changelogs") && !longChangelog {
			if item.recs, err = prepareAll(b.sink, item.recs, "changelogs", id, history); err != nil {
				return nil, err
			}
		}
		if b.sink.Wants("issue_transitions") {
			items, _ := is["transitions"].([]any)
			if item.recs, err = prepareAll(b.sink, item.recs, "issue_transitions", id, items); err != nil {
				return nil, err
			}
		}
		for _, rec := range statuses {
			p, err := b.sink.Prepare("issue_status_history", rec)
			if err != nil {
				return nil, err
			}
			item.recs = append(item.recs, p)
		}
		p, err := b.sink.Prepare("issues", issueRecord(is, updated))
		if err != nil {
			return nil, err
		}
		item.recs = append(item.recs, p)
		batch.items = append(batch.items, item)
	}
	return batch, nil
}

// scanIDs reads the ids of the issues to sync on Cloud (search/jql, 5000 a
// page from the minute of from) and yields, page by page, those not read
// before in the run.
//
// Atlassian does not say whether its page token holds its place when
// issues change. If it counted issues, as an offset does, an issue read and
// then updated (which moves it to the end of ORDER BY updated) would make
// the token skip another. So each page after the first is a new search from
// the minute of the last issue of the page before (its updated time read
// with one small request), and the ids read already are skipped: whatever
// the token does, nothing slides between two pages. The token is followed
// only within one minute of more than a page of issues, or past the
// bookmark's ceiling, where what slides is the next run's.
func (b *issueBatches) scanIDs(ctx context.Context, from time.Time, jqlFrom func(time.Time) string) iter.Seq2[[]string, error] {
	return func(yield func([]string, error) bool) {
		env := b.env
		var scanned seenIDs
		token := ""
		for {
			page, err := env.Client.SearchJQLPage(ctx, jqlFrom(from), []string{"id"}, nil, env.idPage(), token)
			if err != nil {
				yield(nil, err)
				return
			}
			var fresh []string
			for _, is := range page.Issues {
				if id := fmt.Sprint(is["id"]); scanned.Add(id) {
					fresh = append(fresh, id)
				}
			}
			if len(fresh) > 0 && !yield(fresh, nil) {
				return
			}
			if page.Next == "" {
				return
			}
			// The anchor is the last issue of the page not updated since the
			// run began: one updated after the page was read has moved, and
			// its time would skip the issues it was read before.
			tail := page.Issues[max(0, len(page.Issues)-anchorTail):]
			ids := make([]string, len(tail))
			for i, is := range tail {
				ids[i] = fmt.Sprint(is["id"])
			}
			times, err := env.Client.IssuesUpdated(ctx, ids)
			if err != nil {
				yield(nil, err)
				return
			}
			var at time.Time
			for _, id := range slices.Backward(ids) {
				if t, ok := times[id]; ok && !t.After(b.ceiling) {
					at = t
					break
				}
			}
			if at.Truncate(time.Minute).After(from.Truncate(time.Minute)) {
				from, token = at, ""
				continue
			}
			// A page within one minute, or whose last issues are all past
			// the bookmark's ceiling (next run's): follow the token.
			token = page.Next
		}
	}
}

// searchPages reads the Data Center search, from the minute of from, by
// startAt pages, n at once.
//
// An offset counts the issues before it, and those change while the run
// reads: an issue already read that is updated moves to the end of ORDER BY
// updated, a deleted one leaves, and every issue behind it moves one place
// up. A page asked for by its offset afterwards would start one issue late,
// and that issue, itself unchanged, would never come back. So each page
// after the first starts on the last issue of the page before it. When that
// issue is not the one (same id, same updated) the page before ended with,
// the issues moved: the search is read again from that issue's minute,
// where the issues already written are skipped, and nothing between the two
// is lost.
func (b *issueBatches) searchPages(ctx context.Context, n int, from time.Time, jqlFrom func(time.Time) string, fields, expand []string) error {
	env := b.env
	stuck := 0
	for {
		jql := jqlFrom(from)
		first, err := env.Client.SearchPage(ctx, jql, fields, expand, 0, env.PageSize)
		if err != nil {
			return err
		}
		// Each later page overlaps the one before by an issue. The first
		// page's length is the most Jira allows; pages are asked for
		// smaller while they weigh more than dcPageBytes (see pageSizer).
		sizer := newPageSizer(first)
		offsets := func(yield func(dcRange) bool) {
			if !yield(dcRange{}) {
				return
			}
			for at, prev, rank := 0, len(first.Issues), 1; ; rank++ {
				if at += max(prev-1, 1); at >= first.Total-1 {
					return
				}
				size := sizer.next()
				if !yield(dcRange{at, size, rank}) {
					return
				}
				prev = size
			}
		}
		var last *place // the last issue of the page received last
		written := b.written
		lag := newPageLag(env.Concurrency)
		err = ordered(ctx, n, offsets, func(ctx context.Context, r dcRange) (*issueBatch, error) {
			if r.at == 0 {
				return b.prepare(first.Issues) // rank 0
			}
			page, err := env.Client.SearchPage(ctx, jql, fields, expand, r.at, r.size)
			if err != nil {
				return nil, err
			}
			sizer.saw(page)
			issues := page.Issues
			// The first issue is the one the page before ended with: it is
			// checked, not prepared again.
			var head *place
			if len(issues) > 0 {
				if head, err = placeOf(issues[0]); err != nil {
					return nil, err
				}
				issues = issues[1:]
			}
			batch, err := b.prepare(issues)
			if batch != nil {
				batch.overlaps, batch.head, batch.rank = true, head, r.rank
			}
			return batch, err
		}, func(batch *issueBatch) error {
			if batch.overlaps && (batch.head == nil || last == nil || !batch.head.same(*last)) {
				return errShifted
			}
			if k := len(batch.items); k > 0 {
				last = &place{batch.items[k-1].id, batch.items[k-1].updated}
			}
			return lag.push(ctx, b, batch)
		})
		// The pages received before a shift are written before the search
		// is read again from the last of them.
		if err = lag.flush(ctx, b, err); !errors.Is(err, errShifted) {
			return err
		}
		if last != nil && last.updated.After(b.ceiling) {
			// Every issue up to the bookmark's ceiling is written; the
			// ones updated since the run started come next run.
			env.Log.Info("issues moved while the search was read, past the bookmark's ceiling; the next run reads on from it")
			b.leftForNextRun = true
			return nil
		}
		// Read again from the minute of the last issue written. A search
		// that keeps shifting without a new issue written is not left to
		// loop.
		if b.written == written {
			if stuck++; stuck > maxShifts {
				return fmt.Errorf("reading issues: the search kept changing while it was read (%d times without progress)", stuck)
			}
		} else {
			stuck = 0
		}
		if last != nil {
			from = last.updated
		}
		env.Log.Info("issues moved while the search was read; reading it again from the last issue written", "from", from)
	}
}

// dcRange is a Data Center search page to read: where it starts, its
// length, and its place among the pages, as ordered ranks it.
type dcRange struct{ at, size, rank int }

// dcPageBytes is what a Data Center search page should weigh at most. A
// page holds its issues' changelogs (Data Center cuts them at 100 entries
// an issue, or not at all: undocumented) and, with max_concurrency pages
// in flight and waiting, pages of 100 history-heavy issues took a sync of
// 3000 issues with 300 entries each to 295 MB, and to 835 MB uncut; with
// pages of 1 MiB, 105 and 150 MB (2 MiB: 107 and 174). A site of light
// issues keeps pages of 100. minDCPage bounds how small pages get.
const (
	dcPageBytes = 1 << 20
	minDCPage   = 5
)

// pageSizer sizes the Data Center search pages not yet asked for from the
// weight per issue of the last page read, up to the size Jira allows (the
// first page's length): a site of light issues keeps whole pages.
type pageSizer struct {
	most int
	size atomic.Int64
}

func newPageSizer(first jira.DCPage) *pageSizer {
	s := &pageSizer{most: max(len(first.Issues), 2)}
	s.size.Store(int64(s.most))
	s.saw(first)
	return s
}

// saw takes the weight of a page read into account.
func (s *pageSizer) saw(p jira.DCPage) {
	if len(p.Issues) == 0 || p.Bytes <= 0 {
		return
	}
	perIssue := max(p.Bytes/len(p.Issues), 1)
	s.size.Store(int64(min(max(dcPageBytes/perIssue, min(minDCPage, s.most), 2), s.most)))
}

// next is the size to ask the next page for.
func (s *pageSizer) next() int { return int(s.size.Load()) }

// anchorTail is how many of an id page's last issues are looked at for one
// not updated since the run began.
const anchorTail = 10

// errShifted says a page did not start where the page before it ended.
var errShifted = errors.New("the search shifted")

// maxShifts bounds the times in a row the search may shift under the run
// with no issue written in between.
const maxShifts = 10

// emit writes a page's records, then moves the bookmark and checkpoints.
// The bookmark is the latest update among the page's issues that is not
// past the ceiling: an issue updated after the run started may have moved
// ahead of others not read yet, so its time proves nothing about them.
func (b *issueBatches) emit(ctx context.Context, batch *issueBatch) error {
	ctx = jira.WithPriority(ctx, batch.rank)
	b.startReads(ctx, batch)
	defer b.endEarly(batch)
	defer batch.stopReads()
	whole := batch.whole
	dups := make([]bool, len(batch.items))
	for i, it := range batch.items {
		dups[i] = !b.seen.Add(it.id) // a boundary issue seen on an earlier page
	}
	if err := b.rememberAhead(batch, dups); err != nil {
		return err
	}
	// Deferred lists come before the issues' other records, those read in
	// bulk first.
	if err := b.writeBulkChangelogs(ctx, batch, dups); err != nil {
		return err
	}
	var mark time.Time
	for i, it := range batch.items {
		dup := dups[i]
		for _, l := range it.deferred {
			if l.bulk {
				continue
			}
			var recs []jira.Record
			if !l.stream {
				var err error
				if recs, err = whole(); err != nil {
					return err
				}
			}
			if dup {
				continue
			}
			if err := b.writeDeferred(ctx, it, l, recs); err != nil {
				return err
			}
		}
		if dup {
			continue
		}
		b.written++
		if err := b.write(it.recs); err != nil {
			return err
		}
		if !it.updated.After(b.ceiling) && it.updated.After(mark) {
			mark = it.updated
		}
	}
	if !mark.IsZero() {
		b.cover.advance(b.env.State, mark)
	}
	return b.sink.Checkpoint()
}

// rememberAhead adds the ids of a page's issues not remembered yet to the
// ids the deletion scan compares with, and states them, before any of
// their records is written: a run stopped after writing some of them
// leaves the next run their ids in its last STATE, even when it stopped
// before the page's own STATE. An id stated but never written costs
// nothing: it is checked like any other.
func (b *issueBatches) rememberAhead(batch *issueBatch, dups []bool) error {
	if b.known == nil {
		return nil
	}
	var ids []int64
	for i, it := range batch.items {
		if id, err := strconv.ParseInt(it.id, 10, 64); err == nil && id >= 0 && !dups[i] && !b.known.Contains(id) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	known, err := b.known.With(ids)
	if err != nil {
		return err
	}
	b.known = known
	b.env.State.SetKnownIDs("issues", b.scope, known)
	return b.sink.Checkpoint()
}

// readAheadWhole reads the deferred lists of a page that are read whole,
// max_concurrency at once (ordered), in a goroutine of their own ahead of
// the writer (startAhead), and hands them out in the page's order: whole
// returns the next. A few more than max_concurrency wait at most, so
// memory holds a few lists whatever the page. stop ends the reading and
// must be called.
func (b *issueBatches) readAheadWhole(ctx context.Context, batch *issueBatch) (whole func() ([]jira.Record, error), stop func()) {
	type list struct {
		issueID string
		l       deferredList
	}
	var lists []list
	for _, it := range batch.items {
		for _, l := range it.deferred {
			if !l.stream && !l.bulk {
				lists = append(lists, list{it.id, l})
			}
		}
	}
	if len(lists) == 0 {
		return nil, func() {}
	}
	fetched := func(yield func([]jira.Record, error) bool) {
		err := ordered(ctx, b.env.Concurrency, slices.Values(lists), func(ctx context.Context, l list) ([]jira.Record, error) {
			return b.readWhole(ctx, l.issueID, l.l)
		}, func(recs []jira.Record) error {
			if !yield(recs, nil) {
				return errStopped
			}
			return nil
		})
		if err != nil && !errors.Is(err, errStopped) {
			yield(nil, err)
		}
	}
	items, stopAhead := startAhead(ctx, 1, fetched)
	next, stopPull := iter.Pull2(items)
	return func() ([]jira.Record, error) {
			recs, err, ok := next()
			if !ok {
				return nil, errors.New("reading deferred lists: ended early") // not expected: one per list
			}
			return recs, err
		}, func() {
			stopPull()
			stopAhead()
		}
}

// writeLag is how many pages received the writer keeps back with
// concurrency, while the first of them has lists to read (comments and
// changelogs past what a page embeds): the lists of the pages behind it
// are read meanwhile, instead of each page's once the page before is
// written. Where pages come faster than one a round trip, as at the end of
// a sync, one page behind left a round trip on the writer's path for each
// page with such lists (a 20k sync ended with two, one after the other). A
// page with nothing to read is written as soon as it is first: held, pages
// heavy with embedded history took 30-40 MB more for nothing. A sequential
// sync keeps one page back: its requests go one at a time anyway.
const writeLag = 3

// waitLag is how many pages the writer keeps back, with concurrency, while
// a list read of one of them waits to retry (a 429's Retry-After, a backoff
// after a 5xx). The first page is written only once its every list is
// read, so with writeLag pages the lists of four pages at most were read
// at once, and a wait of a second stopped the requests for most of it: on
// a Data Center site whose issues' changelogs are read one by one, 2.5% of
// the requests failing made a sync at 100 ms take 65-69 s against 43 s;
// 55-58 s with 6 pages, and 12 were no faster there (memory: the pages
// kept back hold their lists).
const waitLag = 6

// pageLag keeps the last pages received, their reads started, until keep
// more have come, the first has nothing left to read, or the search ends.
type pageLag struct {
	keep    int
	pending []*issueBatch
}

func newPageLag(concurrency int) *pageLag {
	if concurrency > 1 {
		return &pageLag{keep: writeLag}
	}
	return &pageLag{keep: 1}
}

func (l *pageLag) push(ctx context.Context, b *issueBatches, batch *issueBatch) error {
	b.startReads(jira.WithPriority(ctx, batch.rank), batch)
	l.pending = append(l.pending, batch)
	keep := l.keep
	if keep > 1 && b.readWaits.Load() > 0 {
		keep = waitLag
	}
	for len(l.pending) > 0 && (len(l.pending) > keep || !l.pending[0].reads()) {
		next := l.pending[0]
		l.pending = l.pending[1:]
		if err := b.emit(ctx, next); err != nil {
			return err
		}
	}
	return nil
}

// flush writes the pages kept back once the search has ended with err
// (errShifted still writes them: they were read before the shift), and
// stops the reads of those it does not write.
func (l *pageLag) flush(ctx context.Context, b *issueBatches, err error) error {
	for _, batch := range l.pending {
		if err == nil || errors.Is(err, errShifted) {
			if werr := b.emit(ctx, batch); werr != nil {
				err = werr
			}
			continue
		}
		batch.stopReads()
		b.endEarly(batch)
	}
	l.pending = nil
	return err
}

// earlyReads is how many pages not yet at the writer may have their lists
// read as they arrive (Cloud, with concurrency), besides those pageLag
// keeps back. Started at the writer, the lists of the sync's last page
// waited for the pages before it to be written, and then their round trip
// ended the sync (the 20k sync at 16: 36 ms from the last bulkfetch to its
// lists, then 60 ms for them). A few pages' lists at most are held this way,
// so a site whose every page has lists does not hold all of them.
const earlyReads = 3

// startEarly starts reading the lists of a page that has some as it
// arrives, ahead of the writer, while fewer than earlyReads pages are so
// read. emit frees the place (endEarly).
func (b *issueBatches) startEarly(ctx context.Context, batch *issueBatch) {
	if b.early == nil || !batch.hasLists(b) {
		return
	}
	select {
	case b.early <- struct{}{}:
		batch.early = true
		b.earlyMu.Lock()
		b.earlyPages = append(b.earlyPages, batch)
		b.earlyMu.Unlock()
		b.startReads(jira.WithPriority(ctx, batch.rank), batch)
	default:
	}
}

// endEarly frees the place of a page whose lists were read early.
func (b *issueBatches) endEarly(batch *issueBatch) {
	if batch.early {
		batch.early = false
		b.earlyMu.Lock()
		b.earlyPages = slices.DeleteFunc(b.earlyPages, func(p *issueBatch) bool { return p == batch })
		b.earlyMu.Unlock()
		<-b.early
	}
}

// stopEarly stops the reads of pages read early that were never written
// (a run that failed before them), once nothing else holds the pages.
func (b *issueBatches) stopEarly() {
	b.earlyMu.Lock()
	pages := slices.Clone(b.earlyPages)
	b.earlyMu.Unlock()
	for _, p := range pages {
		p.stopReads()
		b.endEarly(p)
	}
}

// hasLists says whether the page has lists startReads reads.
func (batch *issueBatch) hasLists(b *issueBatches) bool {
	for _, it := range batch.items {
		for _, l := range it.deferred {
			if !l.stream && (!l.bulk || !b.noBulk.Load()) {
				return true
			}
		}
	}
	return false
}

// startReads starts reading a page's lists that it does not embed whole:
// its changelogs in bulk (Cloud) and its lists read whole, each ahead of
// the writer. Once is enough; ctx carries the page's rank.
func (b *issueBatches) startReads(ctx context.Context, batch *issueBatch) {
	if batch.stopWhole != nil {
		return // started: readAheadWhole always gives a stop
	}
	ctx = jira.WithRetryWaits(ctx, func(d int) { b.readWaits.Add(int64(d)) })
	b.startBulk(ctx, batch)
	batch.whole, batch.stopWhole = b.readAheadWhole(ctx, batch)
}

// reads says whether the page has lists being read for it.
func (batch *issueBatch) reads() bool { return batch.bulk != nil || batch.whole != nil }

// stopReads ends the reads startReads began; it may be called more than
// once.
func (batch *issueBatch) stopReads() {
	if batch.bulk != nil {
		batch.bulk.stop()
	}
	if batch.stopWhole != nil {
		batch.stopWhole()
	}
}

// errStopped ends a read ahead whose reader has gone.
var errStopped = errors.New("stopped")

func (b *issueBatches) write(recs []Prepared) error {
	for _, p := range recs {
		if err := b.sink.Write(p); err != nil {
			return err
		}
	}
	return nil
}

// readWhole reads a deferred list that is not streamed.
func (b *issueBatches) readWhole(ctx context.Context, issueID string, l deferredList) ([]jira.Record, error) {
	if l.comments {
		return b.env.Client.IssueComments(ctx, issueID, l.known)
	}
	return b.env.Client.IssueChangelog(ctx, b.env.Cloud, issueID, l.known)
}

// writeDeferred writes a deferred list of an issue: read whole (recs), or
// streamed a window of pages at a time. A changelog's status changes are
// derived chunk by chunk, and the issue's initial status once the earliest
// change is known.
func (b *issueBatches) writeDeferred(ctx context.Context, it issueItem, l deferredList, recs []jira.Record) error {
	chunks := func(yield func([]jira.Record, error) bool) { yield(recs, nil) }
	switch {
	case l.long != nil:
		chunks = l.long.Records(longFrom)
	case l.stream && l.comments:
		chunks = b.env.Client.IssueCommentPages(ctx, it.id, l.known)
	case l.stream:
		chunks = b.env.Client.IssueChangelogPages(ctx, b.env.Cloud, it.id, l.known)
	}
	if l.comments {
		for recs, err := range chunks {
			if err != nil {
				return err
			}
			prepared, err := prepareAll(b.sink, nil, "issue_comments", it.id, records(recs))
			if err != nil {
				return err
			}
			if err := b.write(prepared); err != nil {
				return err
			}
		}
		return nil
	}
	var earliest jira.Record
	for recs, err := range chunks {
		if err != nil {
			return err
		}
		if err := b.writeChangelogs(it, records(recs), &earliest); err != nil {
			return err
		}
	}
	return b.writeInitialStatus(it, earliest)
}

// writeChangelogs writes some changelog entries of an issue and its status
// changes among them, and keeps the earliest change seen in earliest.
func (b *issueBatches) writeChangelogs(it issueItem, histories []any, earliest *jira.Record) error {
	var statuses []Prepared
	if it.initial != nil {
		// Derived before the changelogs are prepared, which edits them
		// in place (field selection).
		key, _ := it.initial["issueKey"].(string)
		changes, err := statusChanges(it.id, key, histories)
		if err != nil {
			return err
		}
		if len(changes) > 0 && (*earliest == nil || olderChange(changes[0], *earliest) < 0) {
			// Its own top level: preparing the change below edits that
			// (field selection leaves what is nested alone).
			*earliest = maps.Clone(changes[0])
		}
		for _, rec := range changes {
			p, err := b.sink.Prepare("issue_status_history", rec)
			if err != nil {
				return err
			}
			statuses = append(statuses, p)
		}
	}
	var changelogs []Prepared
	if b.sink.Wants("changelogs") {
		var err error
		if changelogs, err = prepareAll(b.sink, nil, "changelogs", it.id, histories); err != nil {
			return err
		}
	}
	return b.write(append(changelogs, statuses...))
}

// writeInitialStatus writes an issue's initial status record, if it has
// one, once its earliest change is known.
func (b *issueBatches) writeInitialStatus(it issueItem, earliest jira.Record) error {
	if it.initial == nil {
		return nil
	}
	if earliest != nil {
		startsFrom(it.initial, earliest)
	}
	p, err := b.sink.Prepare("issue_status_history", it.initial)
	if err != nil {
		return err
	}
	// Its from now holds views of the changelog's last window (or page),
	// and its issue's page keeps it until the page is written: a page of
	// 100 issues with long changelogs kept 100 windows alive (134 MB).
	clear(it.initial)
	return b.sink.Write(p)
}

// bulkRead is the read of a page's changelogs in bulk, started before the
// page's turn to be written.
type bulkRead struct {
	pages iter.Seq2[jira.ChangelogBulkPage, error]
	stop  func()
}

// startBulk starts reading, in bulk, the changelogs of a page's issues that
// are read that way (Cloud): its first page of entries is fetched at once
// and waits; each next one is fetched while the one before is written.
// Started while the pages before it are written (pageLag), it takes the
// round trip off the writer's path, and it holds at most one page of
// entries while it waits. ctx carries the page's rank.
func (b *issueBatches) startBulk(ctx context.Context, batch *issueBatch) {
	var ids []string
	for _, it := range batch.items {
		for _, l := range it.deferred {
			if l.bulk {
				ids = append(ids, it.id)
			}
		}
	}
	if len(ids) == 0 || batch.bulk != nil || b.noBulk.Load() {
		return
	}
	pages := func(yield func(jira.ChangelogBulkPage, error) bool) {
		for chunk := range slices.Chunk(ids, jira.ChangelogBulkMax) {
			for page, err := range b.env.Client.ChangelogBulk(ctx, chunk) {
				if !yield(page, err) || err != nil {
					return
				}
			}
		}
	}
	read := &bulkRead{}
	read.pages, read.stop = startAhead(ctx, 0, pages)
	batch.bulk = read
}

// writeBulkChangelogs writes the changelogs of a page's issues that are read
// together (Cloud: one /changelog/bulkfetch for the page instead of one or
// more /changelog requests per issue; a site whose issues each had 60
// entries took 31 requests per 1000 issues where it took 1030), page by
// page as Jira gives them, oldest first across the issues, then each
// issue's initial status. An issue that got fewer entries from before its
// update than its embedded total said (entries that slid between pages
// whose token counts, or an issue Jira left out) has its changelog read
// again on its own, whole: delivery is at least once. Issues written on an
// earlier page (dups) are not written again.
func (b *issueBatches) writeBulkChangelogs(ctx context.Context, batch *issueBatch, dups []bool) error {
	type bulkIssue struct {
		it       issueItem
		known    int    // the embedded total
		updated  string // the issue's update, as created is written
		before   int    // entries received from before it
		earliest jira.Record
		alone    bool // read on its own: the site has no bulk read
	}
	byID := map[string]*bulkIssue{}
	var order []*bulkIssue
	for i, it := range batch.items {
		for _, l := range it.deferred {
			if l.bulk && !dups[i] {
				bi := &bulkIssue{it: it, known: l.known, updated: jira.FormatTime(it.updated)}
				byID[it.id] = bi
				order = append(order, bi)
			}
		}
	}
	if len(order) == 0 {
		return nil
	}
	bulk := batch.bulk
	if bulk == nil { // the site has no bulk read: each on its own
		bulk = &bulkRead{pages: func(yield func(jira.ChangelogBulkPage, error) bool) {}}
		for _, bi := range order {
			bi.alone = true
		}
	}
	received := false // a page of entries came
	for page, err := range bulk.pages {
		var apiErr *jira.APIError
		if err != nil && !received && errors.As(err, &apiErr) && (apiErr.Status == http.StatusNotFound || apiErr.Status == http.StatusMethodNotAllowed) {
			if b.noBulk.CompareAndSwap(false, true) { // a page read ahead may have tried too
				b.env.Log.Warn("Jira has no /changelog/bulkfetch here; reading each issue's changelog on its own", "status", apiErr.Status)
			}
			for _, bi := range order {
				bi.alone = true
			}
			break
		}
		if err != nil {
			return err
		}
		received = true
		for g, err := range page.Groups() {
			if err != nil {
				return err
			}
			bi := byID[g.IssueID]
			if bi == nil {
				continue // not asked for, or written already
			}
			for _, h := range g.Histories {
				// RFC 3339 UTC with milliseconds: text order is time order.
				if created, _ := h["created"].(string); created != "" && created <= bi.updated {
					bi.before++
				}
			}
			if err := b.writeChangelogs(bi.it, records(g.Histories), &bi.earliest); err != nil {
				return err
			}
		}
	}
	for _, bi := range order {
		if bi.alone || bi.before < bi.known {
			if !bi.alone {
				switch n := b.short.Add(1); {
				case n < maxShortBulk:
					b.env.Log.Warn("changelog came short from the bulk read; reading it on its own", "issue", bi.it.id, "expected", bi.known, "got", bi.before)
				case n == maxShortBulk:
					b.noBulk.Store(true)
					b.env.Log.Warn("changelogs keep coming short from the bulk read; reading them issue by issue for the rest of the run", "issues", n)
				}
			}
			for recs, err := range b.env.Client.IssueChangelogPages(ctx, b.env.Cloud, bi.it.id, bi.known) {
				if err != nil {
					return err
				}
				if err := b.writeChangelogs(bi.it, records(recs), &bi.earliest); err != nil {
					return err
				}
			}
		}
		if err := b.writeInitialStatus(bi.it, bi.earliest); err != nil {
			return err
		}
	}
	return nil
}

func issueUpdated(is jira.Record) (time.Time, error) {
	fields, _ := is["fields"].(map[string]any)
	s, _ := fields["updated"].(string)
	t, err := jira.ParseTime(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("reading fields.updated: %w", err)
	}
	return t, nil
}

// issueRecord shapes an issue as the issues stream emits it: children moved
// out to their own streams, and updated copied to the top level, where a
// replication key must be.
func issueRecord(is jira.Record, updated time.Time) jira.Record {
	delete(is, "changelog")
	delete(is, "transitions")
	if fields, ok := is["fields"].(map[string]any); ok {
		delete(fields, "comment")
		delete(fields, "worklog")
	}
	is["updated"] = jira.FormatTime(updated)
	return is
}

// embedded reads an embedded child list ({<list>: [...], total: N}) and
// reports whether Jira sent all of it.
func embedded(container any, list string) ([]any, bool) {
	m, ok := container.(map[string]any)
	if !ok {
		return nil, false
	}
	items, _ := m[list].([]any)
	total, err := jira.IntOf(m["total"])
	if err != nil {
		return items, false
	}
	return items, total <= len(items)
}

// embeddedTotal is the total an embedded list gives, 0 if none.
func embeddedTotal(container any) int {
	m, _ := container.(map[string]any)
	total, err := jira.IntOf(m["total"])
	if err != nil {
		return 0
	}
	return total
}

func records(recs []jira.Record) []any {
	out := make([]any, len(recs))
	for i, r := range recs {
		out[i] = r
	}
	return out
}

// prepareAll prepares a child list, each record tagged with its issue.
func prepareAll(sink Sink, out []Prepared, stream, issueID string, items []any) ([]Prepared, error) {
	for _, it := range items {
		rec, ok := it.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("issue %s: a %s entry is not an object", issueID, stream)
		}
		rec["issueId"] = issueID
		p, err := sink.Prepare(stream, rec)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// feedReadAhead is how many worklog feed pages may be read ahead of the
// pages being listed; worklogListsInFlight bounds the /worklog/list calls
// at once until the group's turn (Env.Turn; more at a high max_concurrency,
// worklogListsAhead), max_concurrency after it.
// The worklogs group is written last: until then each listed
// page (up to 1000 worklogs, about 1.5 MB encoded) waits in memory, and
// more than fit its 4 MiB queue only keep the collector busy. At 16 in
// flight the 100k sync took 10.4-10.8 s and 111 MB with 4, against
// 12.0-12.6 s and 121-127 MB with 16 lists; at 8, about 5% less CPU.
const (
	feedReadAhead        = 64
	worklogListsInFlight = 4
)

// worklogListsAhead is how many /worklog/list calls run at once before
// the group's turn: worklogListsInFlight, or half of max_concurrency when
// that is more. With 16 in flight, 4 left the 20k sync's last three lists
// to its end, one more round trip after the issues; all 16 took the 100k
// sync to 175-191 MB (docs/performance.md, "The default at 16").
func worklogListsAhead(concurrency int) int {
	return min(max(1, concurrency), max(worklogListsInFlight, concurrency/2))
}

// syncWorklogs follows the worklog change feed from the bookmark. The feed
// holds back the last minute, so its high-water mark is safe to bookmark.
// Feed pages are read ahead while earlier pages' worklogs are fetched.
func syncWorklogs(ctx context.Context, env *Env, sink Sink) error {
	pass, since := planWorklogs(env)
	// The feed repeats an item at a page boundary, so the entries (id and
	// updatedTime) of the page written last are all it takes to skip
	// repeats; memory does not grow with the number of worklogs. An id
	// again with another time is no repeat: the worklog was updated after
	// the page before was read, and its new version is written (skipped,
	// it was lost, as the bookmark moves past it).
	// The deleted-worklog feed (ids and times) is read while the updated
	// one is listed, not after it, where its chain of pages would end the
	// group.
	if env.JQL != "" {
		env.Log.Warn("jql does not restrict worklogs: they come from Jira's site-wide worklog feed, restricted to the configured projects only")
	}
	// Each feed page waits for the one before: ranked with the group, the
	// chain waited for a slot at every link while the issue batches were
	// fetched and ended the sync on its own (at 16 in flight its nine pages
	// took the whole 20k sync, 76-812 ms, where 60 ms each would do).
	feedCtx := jira.WithFirstPriority(ctx)
	deleted := deletedFeed(feedCtx, env)
	if env.Concurrency > 1 {
		ahead, stop := startAhead(ctx, feedReadAhead, deleted)
		defer stop()
		deleted = ahead
	}
	var seen, last map[string]time.Time
	var feedErr error
	pages := func(yield func(jira.FeedPage) bool) {
		// Feed pages are ids only (about 50 KB each): read them well ahead,
		// so a group waiting for its turn has its chain of feed requests
		// behind it and only the parallel /worklog/list calls left.
		for page, err := range readAhead(ctx, feedReadAhead, env.Client.WorklogFeed(feedCtx, since)) {
			if err != nil {
				feedErr = err
				return
			}
			if !yield(page) {
				return
			}
		}
	}
	type listed struct {
		worklogs []Prepared
		ids      []string
		times    []time.Time // each worklog's feed entry; zero if the page did not list its id
		until    time.Time
	}
	// Once the group's records are being written, what is listed goes
	// out at once: the lists left then are the tail of the sync (at 100k
	// issues and 8 in flight, 35 lists four at a time, 550 ms of 5.7 s).
	lists := newWindow(env.Concurrency)
	if env.Turn != nil {
		lists = newWindow(worklogListsAhead(env.Concurrency)).widenAt(env.Turn, env.Concurrency)
	}
	err := orderedIn(ctx, lists, pages, func(ctx context.Context, p jira.FeedPage) (listed, error) {
		wls, err := env.Client.WorklogList(ctx, p.IDs)
		if err != nil {
			return listed{}, err
		}
		if len(env.Projects) > 0 {
			if wls, err = worklogsInProjects(ctx, env, wls); err != nil {
				return listed{}, err
			}
		}
		l := listed{until: p.Until}
		entries := make(map[string]time.Time, len(p.IDs))
		for i, id := range p.IDs {
			entries[id.String()] = p.Times[i]
		}
		for _, wl := range wls {
			prep, err := sink.Prepare("worklogs", wl)
			if err != nil {
				return listed{}, err
			}
			id := fmt.Sprint(wl["id"])
			l.worklogs = append(l.worklogs, prep)
			l.ids = append(l.ids, id)
			l.times = append(l.times, entries[id])
		}
		return l, nil
	}, func(l listed) error {
		seen, last = last, seen
		clear(last)
		if last == nil {
			last = map[string]time.Time{}
		}
		for i, wl := range l.worklogs {
			at := l.times[i]
			last[l.ids[i]] = at
			if before, ok := seen[l.ids[i]]; ok && !at.IsZero() && before.Equal(at) {
				continue // the feed repeats the item at a page boundary
			}
			if err := sink.Write(wl); err != nil {
				return err
			}
		}
		pass.advance(env.State, l.until)
		return sink.Checkpoint()
	})
	if err != nil {
		return err
	}
	if feedErr != nil {
		place := "bookmarks.worklogs." + state.KeyUpdated
		if pass.open {
			place = "bookmarks.worklogs." + state.KeyBackfill + "." + state.KeyUpdated
		}
		return stuckRemedy(feedErr, place)
	}
	if pass.open {
		// The feed was read to its end, past the bookmark's time.
		pass.finish(env.State)
		if err := sink.Checkpoint(); err != nil {
			return err
		}
	}
	return syncDeletedWorklogs(env, sink, deleted)
}

// worklogsInProjects keeps the worklogs whose issue is in one of the
// configured projects. The worklog feed is site-wide and a worklog names its
// issue by id only, so each page's issues are looked up: on Cloud 100 a
// request, side by side; on Data Center in one search.
func worklogsInProjects(ctx context.Context, env *Env, wls []jira.Record) ([]jira.Record, error) {
	var ids []string
	seen := map[string]bool{}
	for _, wl := range wls {
		if id := fmt.Sprint(wl["issueId"]); !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	size := len(ids)
	if env.Cloud {
		size = jira.BulkFetchMax
	}
	var mu sync.Mutex
	in := map[string]bool{}
	err := each(ctx, env.Concurrency, slices.Collect(slices.Chunk(ids, max(size, 1))), func(ctx context.Context, chunk []string) error {
		found, err := env.Client.IssuesIn(ctx, env.Cloud, chunk, env.Projects)
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		maps.Copy(in, found)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(wls, func(wl jira.Record) bool { return !in[fmt.Sprint(wl["issueId"])] }), nil
}
