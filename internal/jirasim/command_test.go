package jirasim

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCommandRefusesBadFlags(t *testing.T) {
	t.Parallel()
	cases := map[string][]string{
		"not loopback":   {"--addr", "0.0.0.0:0"},
		"public address": {"--addr", "192.0.2.1:8080"},
		"bad flavor":     {"--flavor", "server2000"},
		"bad zone":       {"--tz", "Mars/Olympus"},
		"bad now":        {"--now", "yesterday"},
		"unknown flag":   {"--nope"},
		"rate above one": {"--fail-rate", "1.5"},
	}
	for name, args := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var stderr bytes.Buffer
			code := Command(t.Context(), args, &bytes.Buffer{}, &stderr)
			assert.Equal(t, 2, code, stderr.String())
		})
	}
}

func TestCommandServesAndWritesPortFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	portFile := filepath.Join(dir, "port")
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan int, 1)
	go func() {
		done <- Command(ctx, []string{"--port-file", portFile, "--issues", "60", "--flavor", "datacenter", "--pat", "p"}, &bytes.Buffer{}, &bytes.Buffer{})
	}()
	var port int
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(portFile)
		if err != nil {
			return false
		}
		port, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil
	}, 10*time.Second, 20*time.Millisecond)
	req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:"+strconv.Itoa(port)+"/rest/api/2/serverInfo", nil)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
	cancel()
	select {
	case code := <-done:
		assert.Equal(t, 0, code)
	case <-time.After(10 * time.Second):
		t.Fatal("jira-sim did not stop")
	}
}

func TestCompareOutput(t *testing.T) {
	t.Parallel()
	out := strings.Join([]string{
		`{"type":"SCHEMA","stream":"issues","schema":{},"key_properties":["id"]}`,
		`{"type":"SCHEMA","stream":"issue_transitions","schema":{},"key_properties":["id","issueId"]}`,
		`{"type":"RECORD","stream":"issues","record":{"id":"1"}}`,
		`{"type":"RECORD","stream":"issues","record":{"id":"1"}}`,
		`{"type":"RECORD","stream":"issues","record":{"id":"3"}}`,
		`{"type":"RECORD","stream":"issue_transitions","record":{"id":"11","issueId":"1"}}`,
		`{"type":"STATE","value":{"bookmarks":{}}}`,
	}, "\n")
	want := map[string][]string{"issues": {"1", "2"}, "issue_transitions": {"11/1"}}
	counts, state, err := CompareOutput(strings.NewReader(out), want)
	require.NoError(t, err)
	require.Len(t, counts, 2)
	assert.Equal(t, StreamCount{Stream: "issue_transitions", Records: 1, Distinct: 1, Expected: 1}, counts[0])
	assert.True(t, counts[0].OK())
	assert.Equal(t, StreamCount{Stream: "issues", Records: 3, Distinct: 2, Expected: 2, Missing: 1, Extra: 1}, counts[1])
	assert.False(t, counts[1].OK())
	assert.JSONEq(t, `{"bookmarks":{}}`, string(state))

	_, _, err = CompareOutput(strings.NewReader("INFO not json"), want)
	assert.Error(t, err)
}

func TestBenchSpeedUp(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		sequential, wall time.Duration
		want             string
	}{
		{10 * time.Second, 2500 * time.Millisecond, "4.0x"},
		{9690 * time.Millisecond, 2350 * time.Millisecond, "4.1x"},
		{10 * time.Second, 10 * time.Second, "1.0x"},
		{0, 2 * time.Second, "—"}, // no sequential run (a site past --sequential-max)
	} {
		assert.Equal(t, c.want, speedUp(c.sequential, c.wall), "%v / %v", c.sequential, c.wall)
	}
}

// TestWireFloor: the 20k benchmark's 176 requests at 50 ms are 22 rounds
// at 8 in flight, so no more than 8x over the sequential 8.8 s of round
// trips, and 11 at 16.
func TestWireFloor(t *testing.T) {
	t.Parallel()
	const ms = time.Millisecond
	for _, c := range []struct {
		requests int64
		conc     int
		want     time.Duration
	}{
		{176, 8, 1100 * ms},
		{176, 16, 550 * ms},
		{176, 1, 8800 * ms},
		{177, 8, 1150 * ms}, // a last round of one
		{7, 8, 50 * ms},
		{0, 8, 0},
		{176, 0, 0}, // no concurrency given: no floor
	} {
		assert.Equal(t, c.want, wireFloor(c.requests, c.conc, 50*ms), "%d requests, %d at a time", c.requests, c.conc)
	}
}

// TestBenchConcurrency: "default" leaves max_concurrency out of the tap's
// config (label "") and stands for the tap's default on the flavor in the
// floors; a number is passed as it is.
func TestBenchConcurrency(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		value  string
		flavor Flavor
		conc   int
		label  string
		bad    bool
	}{
		{value: "default", flavor: Cloud, conc: 16},
		{value: " default", flavor: DataCenter, conc: 8},
		{value: "4", flavor: Cloud, conc: 4, label: "4"},
		{value: "1", flavor: DataCenter, conc: 1, label: "1"},
		{value: "0", flavor: Cloud, bad: true},
		{value: "eight", flavor: Cloud, bad: true},
	} {
		conc, label, err := benchConcurrency(c.value, c.flavor)
		if c.bad {
			assert.Error(t, err, c.value)
			continue
		}
		require.NoError(t, err, c.value)
		assert.Equal(t, c.conc, conc, c.value)
		assert.Equal(t, c.label, label, c.value)
	}
}
