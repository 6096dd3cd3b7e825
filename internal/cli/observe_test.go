package cli

import (
	"bufio"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/xeipuuv/gojsonschema"

	"github.com/tap-jira/tap-jira/internal/jirasim"
)

// metricSchema is singer-python's metric line, as Meltano and singer-tools
// parse it.
const metricSchema = `{
  "type": "object", "additionalProperties": false,
  "required": ["type", "metric", "value", "tags"],
  "properties": {
    "type": {"enum": ["timer", "counter"]},
    "metric": {"enum": ["http_request_duration", "record_count"]},
    "value": {"type": "number", "minimum": 0},
    "tags": {"type": "object", "additionalProperties": false, "required": ["endpoint"],
      "properties": {
        "endpoint": {"type": "string", "minLength": 1, "not": {"pattern": "[?#]|://"}},
        "http_status_code": {"type": "integer", "minimum": 100, "maximum": 599},
        "status": {"enum": ["succeeded", "failed"]}}}
  },
  "oneOf": [
    {"properties": {"type": {"const": "timer"}, "metric": {"const": "http_request_duration"},
      "tags": {"required": ["endpoint", "status"]}}},
    {"properties": {"type": {"const": "counter"}, "metric": {"const": "record_count"},
      "value": {"type": "integer"}, "tags": {"not": {"anyOf": [{"required": ["status"]}, {"required": ["http_status_code"]}]}}}}
  ]
}`

type metricLine struct {
	Type   string  `json:"type"`
	Metric string  `json:"metric"`
	Value  float64 `json:"value"`
	Tags   struct {
		Endpoint string `json:"endpoint"`
		Status   string `json:"status"`
		Code     int    `json:"http_status_code"`
	} `json:"tags"`
}

// parseMetrics checks every stderr line is whole (a log line, a metric or
// a progress line, never two run together) and returns the metrics.
func parseMetrics(t *testing.T, stderr string) []metricLine {
	t.Helper()
	schema, err := gojsonschema.NewSchema(gojsonschema.NewStringLoader(metricSchema))
	require.NoError(t, err)
	var out []metricLine
	sc := bufio.NewScanner(strings.NewReader(stderr))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, "INFO METRIC: ")
		if !ok {
			require.Regexp(t, `^(time=\S+ level=[A-Z]+ msg=|progress: )`, line, "a line run into another")
			require.NotContains(t, line, "METRIC", "a metric in the middle of a line")
			continue
		}
		res, err := schema.Validate(gojsonschema.NewStringLoader(rest))
		require.NoError(t, err, line)
		require.True(t, res.Valid(), "%s: %v", line, res.Errors())
		var m metricLine
		require.NoError(t, json.Unmarshal([]byte(rest), &m))
		out = append(out, m)
	}
	require.NoError(t, sc.Err())
	return out
}

// TestMetrics runs whole syncs, through faults so that retries log while
// requests finish on other goroutines, and holds the metrics to the run:
// one timer per HTTP try (the summary's requests), a failed timer per
// retry, and record counts that add up to the RECORD messages per stream.
func TestMetrics(t *testing.T) {
	t.Parallel()
	for _, flavor := range []jirasim.Flavor{jirasim.Cloud, jirasim.DataCenter} {
		t.Run(string(flavor), func(t *testing.T) {
			t.Parallel()
			s := startSite(t, jirasim.Options{Flavor: flavor, TZ: time.UTC,
				Faults: jirasim.Faults{Seed: 3, FailRate: 0.08, CutRate: 0.02},
				Gen:    jirasim.GenOptions{Seed: 11, Issues: 150, Projects: 3, Users: 30}})
			cfg := s.config(t, "2025-01-01T00:00:00Z", `, "page_size": 20`)
			// A tiny interval: periodic record counts interleave with the
			// end-of-stream ones and must still add up.
			res := runTap(t, t.Context(), "--config", cfg, "--catalog", selectAll(t, cfg), "--metrics-interval", "2ms")
			require.Equal(t, ExitOK, res.code, res.stderr)
			assert.NotContains(t, res.stdout, "METRIC")
			out := parseOutput(t, res.stdout)

			ms := parseMetrics(t, res.stderr)
			timers, failed := 0, 0
			counts := map[string]int{}
			for _, m := range ms {
				switch m.Metric {
				case "http_request_duration":
					timers++
					assert.True(t, strings.HasPrefix(m.Tags.Endpoint, "/rest/api/"), m.Tags.Endpoint)
					assert.NotRegexp(t, `/\d+(/|$)`, strings.TrimPrefix(m.Tags.Endpoint, "/rest/api/2"), "ids are templated")
					if m.Tags.Status == "failed" {
						failed++
					} else {
						assert.Equal(t, 2, m.Tags.Code/100, "succeeded means 2xx")
					}
				case "record_count":
					counts[m.Tags.Endpoint] += int(m.Value)
				}
			}
			summary := regexp.MustCompile(`msg="sync complete; records emitted" .*requests=(\d+) retries=(\d+)`).FindStringSubmatch(res.stderr)
			require.NotNil(t, summary, res.stderr)
			requests, _ := strconv.Atoi(summary[1])
			retries, _ := strconv.Atoi(summary[2])
			assert.Equal(t, requests, timers, "one timer per HTTP try")
			assert.Positive(t, retries, "the faults made the client retry")
			assert.Equal(t, retries, failed, "each retry follows one failed try")
			want := map[string]int{}
			for stream, recs := range out.records {
				want[stream] = len(recs)
			}
			for stream, recs := range out.deleted {
				want[stream] += len(recs) // deletion records are records too
			}
			for stream, n := range counts {
				if n == 0 {
					delete(counts, stream) // a selected stream with no records says 0
				}
			}
			assert.Equal(t, want, counts, "record_count adds up to the records per stream")
		})
	}
}

func TestMetricsOff(t *testing.T) {
	t.Parallel()
	s := newSite(t, jirasim.Cloud, "UTC", 20)
	cfg := s.config(t, "2025-01-01T00:00:00Z", "")
	cat := selectAll(t, cfg, "projects", "issues")
	cases := []struct {
		name string
		args []string
		want bool
	}{
		{"default on", nil, true},
		{"--metrics=false", []string{"--metrics=false"}, false},
		{"log level warn hides INFO metrics", []string{"--log-level", "warn"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := runTap(t, t.Context(), append([]string{"--config", cfg, "--catalog", cat}, tc.args...)...)
			require.Equal(t, ExitOK, res.code, res.stderr)
			assert.Equal(t, tc.want, strings.Contains(res.stderr, "INFO METRIC: "), res.stderr)
			assert.NotContains(t, res.stdout, "METRIC")
		})
	}
}

// TestMetricsJSONLogs: with JSON logs every stderr line stays JSON; each
// metric is a log record with the metric under metric_info.
func TestMetricsJSONLogs(t *testing.T) {
	t.Parallel()
	s := newSite(t, jirasim.Cloud, "UTC", 20)
	cfg := s.config(t, "2025-01-01T00:00:00Z", "")
	res := runTap(t, t.Context(), "--config", cfg, "--catalog", selectAll(t, cfg, "projects", "issues"), "--log-format", "json")
	require.Equal(t, ExitOK, res.code, res.stderr)
	n := 0
	for line := range strings.SplitSeq(strings.TrimSpace(res.stderr), "\n") {
		var rec struct {
			Msg  string      `json:"msg"`
			Info *metricLine `json:"metric_info"`
		}
		require.NoError(t, json.Unmarshal([]byte(line), &rec), line)
		if rec.Info != nil {
			n++
			assert.True(t, strings.HasPrefix(rec.Msg, "METRIC: {"), rec.Msg)
			assert.Contains(t, []string{"http_request_duration", "record_count"}, rec.Info.Metric)
		}
	}
	assert.Positive(t, n)
}

func TestProgressLines(t *testing.T) {
	t.Parallel()
	s := startSite(t, jirasim.Options{Flavor: jirasim.Cloud, TZ: time.UTC,
		Faults: jirasim.Faults{Latency: 15 * time.Millisecond},
		Gen:    jirasim.GenOptions{Seed: 11, Issues: 60, Projects: 2, Users: 10}})
	cfg := s.config(t, "2025-01-01T00:00:00Z", `, "page_size": 10, "max_concurrency": 1`)
	cat := selectAll(t, cfg)
	cases := []struct {
		progress string
		want     bool
	}{
		{"always", true},
		{"auto", false}, // stderr is a buffer, not a terminal
		{"never", false},
	}
	for _, tc := range cases {
		t.Run(tc.progress, func(t *testing.T) {
			t.Parallel()
			res := runTap(t, t.Context(), "--config", cfg, "--catalog", cat, "--progress", tc.progress, "--progress-interval", "20ms")
			require.Equal(t, ExitOK, res.code, res.stderr)
			assert.NotContains(t, res.stdout, "progress:")
			lines := regexp.MustCompile(`(?m)^progress: .*requests (\d+), retries (\d+)$`).FindAllStringSubmatch(res.stderr, -1)
			if !tc.want {
				assert.Empty(t, lines)
				return
			}
			require.NotEmpty(t, lines, res.stderr)
			last := lines[len(lines)-1][0]
			assert.Contains(t, last, "projects 2", "records per stream so far")
			parseMetrics(t, res.stderr) // whole lines only
		})
	}
}

func TestBadObserveFlags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"--progress", "sometimes"}, {"--progress-interval", "0s"}} {
		res := runTap(t, t.Context(), append([]string{"--config", writeFile(t, "c.json", goodConfig()), "--discover"}, args...)...)
		assert.Equal(t, ExitUsage, res.code, res.stderr)
		assert.Empty(t, res.stdout)
	}
}

// TestRecordCountAtStreamEnd: with no periodic counts in the run, each
// selected stream has exactly one record_count, written when the stream
// ends (before the next group starts), with the stream's total.
func TestRecordCountAtStreamEnd(t *testing.T) {
	t.Parallel()
	s := newSite(t, jirasim.Cloud, "UTC", 30)
	cfg := s.config(t, "2025-01-01T00:00:00Z", "")
	res := runTap(t, t.Context(), "--config", cfg, "--catalog", selectAll(t, cfg, "projects", "roles", "issues", "changelogs"), "--metrics-interval", "1h")
	require.Equal(t, ExitOK, res.code, res.stderr)
	out := parseOutput(t, res.stdout)
	lines := strings.Split(res.stderr, "\n")
	at := func(substr string) int {
		for i, l := range lines {
			if strings.Contains(l, substr) {
				return i
			}
		}
		t.Fatalf("no stderr line has %q:\n%s", substr, res.stderr)
		return -1
	}
	counts := map[string][]int{}
	for _, m := range parseMetrics(t, res.stderr) {
		if m.Metric == "record_count" {
			counts[m.Tags.Endpoint] = append(counts[m.Tags.Endpoint], int(m.Value))
		}
	}
	for _, stream := range []string{"projects", "roles", "issues", "changelogs"} {
		assert.Equal(t, []int{len(out.records[stream])}, counts[stream], stream)
	}
	assert.Less(t, at(`"endpoint":"projects"}}`), at("msg=syncing streams=[roles]"), "projects counted when it ended")
	assert.Less(t, at(`"endpoint":"roles"}}`), at("msg=syncing streams=\"[issues"), "roles counted when it ended")
}
