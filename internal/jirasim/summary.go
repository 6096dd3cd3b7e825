package jirasim

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"
)

// StreamCount compares what a sync emitted for one stream with the ground
// truth.
type StreamCount struct {
	Stream   string
	Records  int // RECORD messages
	Distinct int // distinct keys among them
	Expected int // keys in the ground truth
	Missing  int // expected keys never emitted
	Extra    int // emitted keys not in the ground truth
	Deleted  int // deletion records (with _sdc_deleted_at), not compared
}

// OK reports whether the stream was synced exactly.
func (c StreamCount) OK() bool { return c.Missing == 0 && c.Extra == 0 }

// CompareOutput reads a tap's Singer output and compares the keys of its
// records, stream by stream, with want (Truth.Expected). Keys are built from
// each stream's SCHEMA key_properties. It also returns the last STATE value.
func CompareOutput(r io.Reader, want map[string][]string) ([]StreamCount, json.RawMessage, error) {
	keyProps := map[string][]string{}
	got := map[string]map[string]bool{}
	records, deleted := map[string]int{}, map[string]int{}
	var lastState json.RawMessage
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 64<<20)
	line := 0
	for sc.Scan() {
		line++
		var msg struct {
			Type          string          `json:"type"`
			Stream        string          `json:"stream"`
			KeyProperties []string        `json:"key_properties"`
			Record        map[string]any  `json:"record"`
			Value         json.RawMessage `json:"value"`
		}
		if err := json.Unmarshal(sc.Bytes(), &msg); err != nil {
			return nil, nil, fmt.Errorf("line %d is not a JSON message: %w", line, err)
		}
		switch msg.Type {
		case "SCHEMA":
			keyProps[msg.Stream] = msg.KeyProperties
		case "RECORD":
			if msg.Record["_sdc_deleted_at"] != nil {
				deleted[msg.Stream]++
				continue
			}
			parts := make([]string, 0, len(keyProps[msg.Stream]))
			for _, p := range keyProps[msg.Stream] {
				parts = append(parts, fmt.Sprint(msg.Record[p]))
			}
			if got[msg.Stream] == nil {
				got[msg.Stream] = map[string]bool{}
			}
			got[msg.Stream][strings.Join(parts, "/")] = true
			records[msg.Stream]++
		case "STATE":
			lastState = msg.Value
		}
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("reading messages: %w", err)
	}
	var out []StreamCount
	for stream := range keyProps {
		c := StreamCount{Stream: stream, Records: records[stream], Distinct: len(got[stream]), Expected: len(want[stream]), Deleted: deleted[stream]}
		for _, k := range want[stream] {
			if !got[stream][k] {
				c.Missing++
			}
		}
		c.Extra = c.Distinct - (c.Expected - c.Missing)
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b StreamCount) int { return strings.Compare(a.Stream, b.Stream) })
	return out, lastState, nil
}

type simStats struct {
	Total    int64                       `json:"total"`
	Requests map[string]map[string]int64 `json:"requests"`
}

func fetchStats(ctx context.Context, url string) (simStats, error) {
	var st simStats
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(url, "/")+"/__sim/stats", nil)
	if err != nil {
		return st, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

// summaryCommand is `jira-sim summary`: it prints what a tap run extracted
// next to the simulator's ground truth and, with --check, fails on any
// difference.
func summaryCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("jira-sim summary", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "", "the simulator's URL")
	messages := fs.String("messages", "", "the tap's Singer output (a file)")
	startDate := fs.String("start-date", "", "the start_date the tap ran with (RFC 3339)")
	check := fs.Bool("check", false, "exit 1 unless every synced stream equals the ground truth")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	start, err := time.Parse(time.RFC3339, *startDate)
	if *url == "" || *messages == "" || err != nil {
		fmt.Fprintln(stderr, "jira-sim summary: --url, --messages and an RFC 3339 --start-date are required")
		return 2
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(*url, "/")+"/__sim/truth", nil)
	if err != nil {
		fmt.Fprintln(stderr, "jira-sim summary:", err)
		return 2
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintln(stderr, "jira-sim summary: reading the ground truth:", err)
		return 1
	}
	defer resp.Body.Close()
	var truth Truth
	if err := json.NewDecoder(resp.Body).Decode(&truth); err != nil {
		fmt.Fprintln(stderr, "jira-sim summary: decoding the ground truth:", err)
		return 1
	}
	f, err := os.Open(*messages)
	if err != nil {
		fmt.Fprintln(stderr, "jira-sim summary:", err)
		return 2
	}
	defer f.Close()
	want := truth.Expected(start)
	want["issue_status_history"] = truth.ExpectedStatusHistory(start)
	counts, state, err := CompareOutput(f, want)
	if err != nil {
		fmt.Fprintln(stderr, "jira-sim summary:", err)
		return 1
	}
	fmt.Fprintf(stdout, "%-20s %9s %9s %12s  %s\n", "stream", "records", "distinct", "ground truth", "")
	allOK := len(counts) > 0
	for _, c := range counts {
		status := "ok"
		if !c.OK() {
			status = fmt.Sprintf("MISMATCH (%d missing, %d unexpected)", c.Missing, c.Extra)
			allOK = false
		}
		fmt.Fprintf(stdout, "%-20s %9d %9d %12d  %s\n", c.Stream, c.Records, c.Distinct, c.Expected, status)
	}
	fmt.Fprintf(stdout, "\nfinal STATE: %s\n", state)
	if stats, err := fetchStats(ctx, *url); err == nil {
		fmt.Fprintf(stdout, "\nrequests to jira-sim: %d\n", stats.Total)
		routes := slices.Sorted(maps.Keys(stats.Requests))
		for _, r := range routes {
			n := int64(0)
			for _, c := range stats.Requests[r] {
				n += c
			}
			fmt.Fprintf(stdout, "  %6d  %s\n", n, r)
		}
	}
	if *check && !allOK {
		fmt.Fprintln(stderr, "jira-sim summary: the sync differs from the ground truth")
		return 1
	}
	return 0
}
