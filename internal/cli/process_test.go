package cli

import (
	"bufio"
	"bytes"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tap-jira/tap-jira/internal/jirasim"
)

// TestMain lets a test run the real tap-jira process: the test binary
// re-executes itself with TAP_JIRA_TEST_MAIN=1 and becomes Main(), signals,
// pipes and exit codes included.
func TestMain(m *testing.M) {
	if os.Getenv("TAP_JIRA_TEST_MAIN") == "1" {
		os.Args = append([]string{"tap-jira"}, strings.Split(os.Getenv("TAP_JIRA_TEST_ARGS"), "\x1f")...)
		os.Exit(Main())
	}
	os.Exit(m.Run())
}

func tapProcess(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "TAP_JIRA_TEST_MAIN=1", "TAP_JIRA_TEST_ARGS="+strings.Join(args, "\x1f"))
	return cmd
}

// stoppedRun is what a target got from a run of the tap as a process.
type stoppedRun struct {
	// upTo is the output through the line the run was signalled at (all
	// of it if it was not); after, what came after the signal, as written
	// (a line cut short by SIGKILL included).
	upTo, after string
	stderr      string
	signalled   bool
	err         error // the process's, from Wait
}

// complete is the whole lines a target got: a last line cut short is
// dropped, as a target would drop it.
func (r stoppedRun) complete() string { return completeLines([]byte(r.upTo + r.after)) }

// runTapSignalledAt runs the tap as a process and sends it sig at the first
// line of its output that stop says is the last (n counts lines from 1); a
// run stop never stops ends on its own.
func runTapSignalledAt(t *testing.T, sig syscall.Signal, stop func(n int, line []byte) bool, args ...string) stoppedRun {
	t.Helper()
	cmd := tapProcess(t, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	r := bufio.NewReader(stdout)
	var run stoppedRun
	var out bytes.Buffer
	for n := 1; ; n++ {
		line, err := r.ReadBytes('\n')
		out.Write(line)
		if err != nil {
			break
		}
		if stop(n, line) {
			require.NoError(t, cmd.Process.Signal(sig))
			run.signalled = true
			rest, _ := io.ReadAll(r)
			run.after = string(rest)
			break
		}
	}
	run.err = cmd.Wait()
	run.upTo, run.stderr = out.String(), stderr.String()
	return run
}

// atLine stops a run at its line n; below 1, never.
func atLine(n int) func(int, []byte) bool {
	return func(i int, _ []byte) bool { return i == n }
}

// slowSite adds latency so a sync lasts long enough to be interrupted.
func slowSite(t *testing.T, issues int) *site {
	t.Helper()
	return startSite(t, jirasim.Options{Flavor: jirasim.Cloud, TZ: time.UTC,
		Faults: jirasim.Faults{Latency: 8 * time.Millisecond},
		Gen:    jirasim.GenOptions{Seed: 11, Issues: issues, Projects: 3, Users: 30}})
}

// completeLines returns the whole lines of out; a last line without its
// newline (cut by a kill) is dropped, as a target would drop it.
func completeLines(out []byte) string {
	i := bytes.LastIndexByte(out, '\n')
	if i < 0 {
		return ""
	}
	return string(out[:i+1])
}

func TestSignalsStopCleanly(t *testing.T) {
	t.Parallel()
	for sig, want := range map[syscall.Signal]int{syscall.SIGTERM: ExitTerminated, syscall.SIGINT: ExitInterrupted} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			s := slowSite(t, 500)
			cfg := s.config(t, "2025-11-28T00:00:00Z", `, "page_size": 10`)
			records := 0
			res := runTapSignalledAt(t, sig, func(_ int, line []byte) bool {
				if bytes.Contains(line, []byte(`"type":"RECORD"`)) {
					records++
				}
				return records == 300
			}, "--config", cfg, "--catalog", selectAll(t, cfg))
			require.True(t, res.signalled, "the sync ended before the signal: %v\n%s", res.err, res.stderr)
			var exit *exec.ExitError
			require.ErrorAs(t, res.err, &exit)
			assert.Equal(t, want, exit.ExitCode(), res.stderr)
			out := res.upTo + res.after
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			assert.True(t, strings.HasSuffix(out, "\n"), "no half-written line")
			assert.Contains(t, lines[len(lines)-1], `"type":"STATE"`, "the last message is the last safe STATE")
			assert.Contains(t, res.stderr, "interrupted by", "the log says why it stopped")
			assert.NotContains(t, res.stderr, "goroutine ")
		})
	}
}

func TestClosedOutputEndsTheRun(t *testing.T) {
	t.Parallel()
	s := slowSite(t, 500)
	cfg := s.config(t, "2025-11-28T00:00:00Z", `, "page_size": 10`)
	cmd := tapProcess(t, "--config", cfg, "--catalog", selectAll(t, cfg))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	// A target that reads a little and then dies.
	_, err = bufio.NewReader(stdout).ReadBytes('\n')
	require.NoError(t, err)
	require.NoError(t, stdout.Close())
	err = cmd.Wait()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	assert.Equal(t, ExitRuntime, exit.ExitCode(), "EPIPE is an error, not a crash by SIGPIPE: %s", stderr.String())
	assert.Contains(t, stderr.String(), "broken pipe")
	assert.NotContains(t, stderr.String(), "goroutine ", "no panic")
}

// TestKillAndResume kills the tap with SIGKILL at ten random points and
// resumes each time from the last STATE it printed: the union of what the
// runs emitted is the ground truth, and no resumed run starts over.
func TestKillAndResume(t *testing.T) {
	t.Parallel()
	s := slowSite(t, 1500)
	start := "2025-11-28T00:00:00Z"
	cfg := s.config(t, start, `, "page_size": 10`)
	catalog := selectAll(t, cfg)
	startT, _ := time.Parse(time.RFC3339, start)
	want := s.sim.Truth().Expected(startT)
	rng := rand.New(rand.NewPCG(42, 7))

	union := map[string]map[string]bool{}
	stateIn := ""
	kills := 0
	for i := 0; ; i++ {
		require.Less(t, i, 40, "the runs must make progress")
		args := []string{"--config", cfg, "--catalog", catalog}
		if stateIn != "" {
			args = append(args, "--state", writeFile(t, "state.json", stateIn))
		}
		killAt := -1
		if kills < 10 {
			killAt = 50 + rng.IntN(550)
		}
		res := runTapSignalledAt(t, syscall.SIGKILL, atLine(killAt), args...)
		parsed := parseOutput(t, res.complete())
		for stream, recs := range parsed.records {
			keys, _ := keysOf(recs, keyProps[stream])
			if union[stream] == nil {
				union[stream] = map[string]bool{}
			}
			for _, k := range keys {
				union[stream][k] = true
			}
		}
		if stateIn != "" && strings.Contains(stateIn, `"issues":{"updated"`) {
			for _, line := range strings.Split(res.stderr, "\n") {
				if strings.Contains(line, "reading issues") {
					assert.NotContains(t, line, `2025-11-28 00:00`, "a resumed run starts from its bookmark, not start_date")
				}
			}
		}
		if res.err == nil {
			break // a run that was not killed, or finished first
		}
		kills++
		if parsed.lastState != nil {
			stateIn = mustJSON(t, parsed.lastState)
		}
	}
	assert.Equal(t, 10, kills, "ten runs were killed")
	for stream, keys := range want {
		got := make([]string, 0, len(union[stream]))
		for k := range union[stream] {
			got = append(got, k)
		}
		slices.Sort(got)
		assert.Equal(t, keys, got, "%s: the union of the killed runs is the ground truth", stream)
	}
}
