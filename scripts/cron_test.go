package scripts

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeTap prints two STATE messages (after a RECORD each), records its
// arguments, and then, as FAKE_TAP_MODE says: exits 0, exits 1, or waits
// for the file FAKE_TAP_RELEASE before exiting 0 (a run still going).
const fakeTap = `#!/usr/bin/env bash
printf '%s\n' "$*" > "$FAKE_TAP_ARGS"
echo '{"type":"RECORD","stream":"issues","record":{"id":"1"}}'
echo '{"type":"STATE","value":{"bookmarks":{"issues":{"updated":"2026-01-01T00:00:00Z"}}}}'
echo '{"type":"RECORD","stream":"issues","record":{"id":"2"}}'
echo '{"type":"STATE","value":{"bookmarks":{"issues":{"updated":"2026-01-02T00:00:00Z"}}}}'
case ${FAKE_TAP_MODE:-ok} in
  fail) echo "tap: boom" >&2; exit 1 ;;
  wait) for _ in $(seq 1 500); do [ -e "$FAKE_TAP_RELEASE" ] && exit 0; sleep 0.02; done; exit 3 ;;
esac
`

// fakeTarget prints the value of each STATE it reads, as Singer targets
// do, then exits FAKE_TARGET_EXIT (0 by default).
const fakeTarget = `#!/usr/bin/env bash
while IFS= read -r line; do
  case $line in
    *'"type":"STATE"'*) v=${line#*'"value":'}; printf '%s\n' "${v%\}}" ;;
  esac
done
exit ${FAKE_TARGET_EXIT:-0}
`

const (
	oldState = `{"bookmarks":{"issues":{"updated":"2025-12-01T00:00:00Z"}}}` + "\n"
	newState = `{"bookmarks":{"issues":{"updated":"2026-01-02T00:00:00Z"}}}` + "\n"
)

type cronRun struct {
	dir  string
	env  []string
	args string // where the fake tap writes its arguments
}

// newCronRun lays out a tap directory with config, catalog, the fake tap
// and target, and (if state is not empty) a state.json.
func newCronRun(t *testing.T, state string) *cronRun {
	t.Helper()
	dir := t.TempDir()
	bin := t.TempDir()
	write := func(path, content string, mode os.FileMode) {
		require.NoError(t, os.WriteFile(path, []byte(content), mode))
	}
	write(filepath.Join(dir, "config.json"), `{}`, 0o600)
	write(filepath.Join(dir, "catalog.json"), `{"streams":[]}`, 0o600)
	if state != "" {
		write(filepath.Join(dir, "state.json"), state, 0o600)
	}
	write(filepath.Join(bin, "fake-tap"), fakeTap, 0o755)
	write(filepath.Join(bin, "fake-target"), fakeTarget, 0o755)
	r := &cronRun{dir: dir, args: filepath.Join(bin, "args")}
	r.env = append(os.Environ(),
		"TAP_JIRA_DIR="+dir, "TAP="+filepath.Join(bin, "fake-tap"), "TARGET="+filepath.Join(bin, "fake-target"),
		"FAKE_TAP_ARGS="+r.args, "FAKE_TAP_RELEASE="+filepath.Join(bin, "release"))
	return r
}

func (r *cronRun) command(t *testing.T, extraEnv ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "bash", "cron-sync.sh")
	cmd.Env = append(append([]string{}, r.env...), extraEnv...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Stdout = &stderr // the script prints nothing on stdout
	return cmd, &stderr
}

func exitCode(t *testing.T, err error) int {
	t.Helper()
	if err == nil {
		return 0
	}
	ee, ok := err.(*exec.ExitError)
	require.True(t, ok, "%v", err)
	return ee.ExitCode()
}

func (r *cronRun) state(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(r.dir, "state.json"))
	if os.IsNotExist(err) {
		return ""
	}
	require.NoError(t, err)
	return string(b)
}

// leftovers lists files the script should not leave behind.
func (r *cronRun) leftovers(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(r.dir)
	require.NoError(t, err)
	var out []string
	for _, e := range entries {
		switch e.Name() {
		case "config.json", "catalog.json", "state.json", ".cron-sync.lock":
		default:
			out = append(out, e.Name())
		}
	}
	return out
}

func TestCronSync(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		state     string // state.json before; "" for none
		env       []string
		code      int
		wantState string
		stderr    string
	}{
		{name: "success replaces the state with the target's last", state: oldState, wantState: newState, stderr: "state.json replaced"},
		{name: "first run without a state", wantState: newState},
		{name: "target fails: state unchanged", state: oldState, env: []string{"FAKE_TARGET_EXIT=1"}, code: 11, wantState: oldState, stderr: "the target failed (exit 1)"},
		{name: "tap fails: state unchanged", state: oldState, env: []string{"FAKE_TAP_MODE=fail"}, code: 10, wantState: oldState, stderr: "the tap failed (exit 1)"},
		{name: "target prints no state", state: oldState, env: []string{"TARGET=cat >/dev/null"}, wantState: oldState, stderr: "printed no state"},
		{name: "target prints something else", state: oldState, env: []string{"TARGET=cat >/dev/null; echo done"}, code: 12, wantState: oldState},
		{name: "no target", state: oldState, env: []string{"TARGET="}, code: 64, wantState: oldState, stderr: "TARGET is not set"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newCronRun(t, tc.state)
			cmd, stderr := r.command(t, tc.env...)
			code := exitCode(t, cmd.Run())
			assert.Equal(t, tc.code, code, stderr.String())
			assert.Equal(t, tc.wantState, r.state(t))
			assert.Contains(t, stderr.String(), tc.stderr)
			assert.Empty(t, r.leftovers(t), "temp files are cleaned up")
			if tc.code == 0 {
				args, err := os.ReadFile(r.args)
				require.NoError(t, err)
				assert.Contains(t, string(args), "--catalog "+filepath.Join(r.dir, "catalog.json"))
				assert.Equal(t, tc.state != "", strings.Contains(string(args), "--state "+filepath.Join(r.dir, "state.json")),
					"the tap resumes from state.json when there is one: %s", args)
			}
		})
	}
}

// TestCronSyncLock: while a run is going, a second one refuses to start
// and touches nothing; once the first ends, the next run goes ahead.
func TestCronSyncLock(t *testing.T) {
	t.Parallel()
	r := newCronRun(t, oldState)
	first, firstErr := r.command(t, "FAKE_TAP_MODE=wait")
	require.NoError(t, first.Start())
	// The first run holds the lock once its tap has started.
	require.Eventually(t, func() bool { _, err := os.Stat(r.args); return err == nil }, 10*time.Second, 10*time.Millisecond)

	second, secondErr := r.command(t)
	start := time.Now()
	code := exitCode(t, second.Run())
	assert.Equal(t, 75, code, secondErr.String())
	assert.Less(t, time.Since(start), 5*time.Second, "refuses at once instead of waiting")
	assert.Contains(t, secondErr.String(), "not starting a second one")
	assert.Equal(t, oldState, r.state(t), "the refused run changes nothing")

	require.NoError(t, os.WriteFile(filepath.Join(filepath.Dir(r.args), "release"), nil, 0o600))
	require.NoError(t, first.Wait(), firstErr.String())
	assert.Equal(t, newState, r.state(t))

	third, thirdErr := r.command(t)
	assert.Equal(t, 0, exitCode(t, third.Run()), "the lock is free again: %s", thirdErr.String())
}
