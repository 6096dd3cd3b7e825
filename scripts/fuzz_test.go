package scripts

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeGo stands in for go test -fuzz: it counts its calls per target in
// FAKE_GO_CALLS and behaves as the target's name says, printing what Go
// prints in each case.
const fakeGo = `#!/usr/bin/env bash
for a in "$@"; do case $a in -fuzz=*) name=${a#-fuzz=^}; name=${name%$} ;; esac; done
echo x >> "$FAKE_GO_CALLS/$name"
calls=$(wc -l < "$FAKE_GO_CALLS/$name")
deadline() {
  echo "fuzz: elapsed: 9s, execs: 88196 (0/sec), new interesting: 68 (total: 82)"
  printf -- '--- FAIL: %s (11.02s)\n    context deadline exceeded\nFAIL\nexit status 1\n' "$name"
  exit 1
}
case $name in
  FuzzPass) echo PASS ;;
  FuzzFlakeOnce) [ "$calls" -gt 1 ] && echo PASS || deadline ;;
  FuzzFlakeTwice) deadline ;;
  FuzzFinds)
    printf -- '--- FAIL: %s (0.31s)\n    --- FAIL: %s (0.00s)\n        x_test.go:12: wrong\n' "$name" "$name"
    printf '    Failing input written to testdata/fuzz/%s/5d1b\n    context deadline exceeded\nFAIL\n' "$name"
    exit 1 ;;
  FuzzPanics) printf 'panic: boom\n    context deadline exceeded\n'; exit 2 ;;
esac
`

// TestFuzzRunsADeadlineFlakeAgain: make fuzz runs a target once more when
// Go's fuzzing coordinator stopped on its own deadline with no failing
// input, and fails on a failing input, a panic or a second such stop,
// going on with the other targets.
func TestFuzzRunsADeadlineFlakeAgain(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		targets []string
		ok      bool
		calls   map[string]int
	}{
		{"a flake, then a pass", []string{"FuzzPass", "FuzzFlakeOnce"}, true, map[string]int{"FuzzPass": 1, "FuzzFlakeOnce": 2}},
		{"the same flake twice", []string{"FuzzFlakeTwice", "FuzzPass"}, false, map[string]int{"FuzzFlakeTwice": 2, "FuzzPass": 1}},
		{"a failing input", []string{"FuzzFinds", "FuzzPass"}, false, map[string]int{"FuzzFinds": 1, "FuzzPass": 1}},
		{"a panic", []string{"FuzzPanics"}, false, map[string]int{"FuzzPanics": 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			goBin := filepath.Join(dir, "go")
			require.NoError(t, os.WriteFile(goBin, []byte(fakeGo), 0o755))
			calls := filepath.Join(dir, "calls")
			require.NoError(t, os.Mkdir(calls, 0o755))
			var targets []string
			for _, name := range tc.targets {
				targets = append(targets, name+" ./internal/x")
			}
			cmd := exec.CommandContext(t.Context(), "bash", "fuzz.sh", "1s")
			cmd.Env = append(os.Environ(), "GO="+goBin, "FAKE_GO_CALLS="+calls, "FUZZ_TARGETS="+strings.Join(targets, "\n"))
			out, err := cmd.CombinedOutput()
			if tc.ok {
				require.NoError(t, err, "%s", out)
			} else {
				require.Error(t, err, "%s", out)
			}
			for name, want := range tc.calls {
				got, err := os.ReadFile(filepath.Join(calls, name))
				require.NoError(t, err, "%s was run", name)
				assert.Equal(t, want, strings.Count(string(got), "x"), "runs of %s", name)
			}
		})
	}
}

// TestFuzzRunsEveryTarget: fuzz.sh's list names every fuzz target in the
// repository, each with its package, so that a new one is not left out of
// make fuzz.
func TestFuzzRunsEveryTarget(t *testing.T) {
	t.Parallel()
	script, err := os.ReadFile("fuzz.sh")
	require.NoError(t, err)
	m := regexp.MustCompile(`(?s)targets=\$\{FUZZ_TARGETS:-"(.*?)"\}`).FindSubmatch(script)
	require.NotNil(t, m, "fuzz.sh's list of targets")
	listed := strings.Split(strings.TrimSpace(string(m[1])), "\n")

	var found []string
	decl := regexp.MustCompile(`(?m)^func (Fuzz\w+)\(f \*testing\.F\)`)
	err = filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, f := range decl.FindAllSubmatch(src, -1) {
			found = append(found, string(f[1])+" ./"+filepath.ToSlash(filepath.Dir(strings.TrimPrefix(path, "../"))))
		}
		return nil
	})
	require.NoError(t, err)
	require.NotEmpty(t, found)
	assert.ElementsMatch(t, found, listed)
}
