package tap

import (
	"log/slog"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tap-jira/tap-jira/internal/jira"
	"github.com/tap-jira/tap-jira/internal/jirasim"
	"github.com/tap-jira/tap-jira/internal/schema"
	"github.com/tap-jira/tap-jira/internal/singer"
)

// everyStream plans a sync of every stream, every field selected, by
// stream name.
func everyStream(b testing.TB) map[string]*Selected {
	schemas, err := schema.Bundled()
	require.NoError(b, err)
	cat, err := Discover(schemas, nil, false)
	require.NoError(b, err)
	for _, s := range cat.Streams {
		s.Root().Selected = new(true)
	}
	plan, err := Plan(cat, schemas, slog.New(slog.DiscardHandler))
	require.NoError(b, err)
	byName := map[string]*Selected{}
	for _, p := range plan {
		byName[p.Stream.Name] = p
	}
	return byName
}

// BenchmarkIssuePage is a page's work after it arrives: decoding it as
// issue pages are decoded, then each issue's changelog entries,
// transitions and the issue itself prepared (validated and encoded), as
// the issues group does. Unlike BenchmarkRecord it has what one issue
// alone lacks: the same users, projects and statuses on many issues.
func BenchmarkIssuePage(b *testing.B) {
	page, err := jirasim.SamplePage(0)
	require.NoError(b, err)
	require.Contains(b, string(page), `"histories"`)
	b.SetBytes(int64(len(page)))
	benchPages(b, [][]byte{page})
}

// BenchmarkIssuePages is BenchmarkIssuePage over the 11 full pages of the
// generated site in turn, not one page again and again: what one page
// shares with the pages before it (users, projects, statuses), as a
// sync's pages do, and no more.
func BenchmarkIssuePages(b *testing.B) {
	var pages [][]byte
	for n := range 11 {
		page, err := jirasim.SamplePage(n)
		require.NoError(b, err)
		pages = append(pages, page)
	}
	benchPages(b, pages)
}

// benchPages prepares the pages in turn, one an iteration.
func benchPages(b *testing.B, pages [][]byte) {
	byName := everyStream(b)
	em := NewEmitter(singer.NewWriter(discard{}), slog.New(slog.DiscardHandler), fixedNow)
	b.ReportAllocs()
	// The collector as a sync runs it (the benchmark binary's default is
	// GOGC 100): its work is part of a record's cost. GOGC and GOMEMLIMIT
	// win, as they do for the tap (make instructions counts with GOGC=off).
	defer TuneGC()()
	records, i := 0, 0
	before := cpuTime()
	for b.Loop() {
		records += preparePage(b, em, byName, pages[i%len(pages)])
		i++
	}
	// The issue's target is CPU per record, whatever the page's mix:
	// ns/record is wall time, cpu-ns/record the process's CPU (the
	// collector's on other cores included).
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(records), "ns/record")
	b.ReportMetric(float64(cpuTime()-before)/float64(records), "cpu-ns/record")
}

// cpuTime is the CPU the process has used, user and system, in ns.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// preparePage returns the number of records it prepared.
func preparePage(b testing.TB, em *Emitter, byName map[string]*Selected, page []byte) int {
	decoded, err := jira.DecodeRecordShaped(page, jira.IssuePage)
	if err != nil {
		b.Fatal(err)
	}
	records := 0
	prepare := func(stream string, rec map[string]any) {
		if _, _, err := em.Prepare(byName[stream], rec); err != nil {
			b.Fatal(err)
		}
		records++
	}
	for _, v := range decoded["issues"].([]any) {
		is := v.(map[string]any)
		for _, h := range is["changelog"].(map[string]any)["histories"].([]any) {
			rec := h.(map[string]any)
			rec["issueId"] = is["id"]
			prepare("changelogs", rec)
		}
		for _, t := range is["transitions"].([]any) {
			rec := t.(map[string]any)
			rec["issueId"] = is["id"]
			prepare("issue_transitions", rec)
		}
		delete(is, "changelog")
		delete(is, "transitions")
		prepare("issues", is)
	}
	return records
}
