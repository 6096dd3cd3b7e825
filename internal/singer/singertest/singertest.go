// Package singertest holds test helpers for Singer output: running the
// independent singer-check conformance checker from ../shared.
package singertest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// RepoRoot finds the module root (the directory holding go.mod) above the
// test's working directory.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("getwd: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no go.mod above the test directory")
		}
		dir = parent
	}
}

// Check runs singer_check.py with args (e.g. "discover", "--catalog", path)
// and fails the test unless it exits 0. Where the checker or its Python
// dependency is missing it skips, unless TAP_JIRA_REQUIRE_SINGER_CHECK=1
// (set by .ci/run), where it fails instead.
func Check(t testing.TB, args ...string) {
	t.Helper()
	script := filepath.Join(RepoRoot(t), "..", "shared", "tools", "singer-check", "singer_check.py")
	unavailable := func(why string) {
		if os.Getenv("TAP_JIRA_REQUIRE_SINGER_CHECK") == "1" {
			t.Fatalf("singer-check is required but %s", why)
		}
		t.Skipf("singer-check unavailable: %s", why)
	}
	if _, err := os.Stat(script); err != nil {
		unavailable("missing " + script)
	}
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import jsonschema").Run(); err != nil {
		unavailable("python3-jsonschema is not installed (apt-get install python3-jsonschema)")
	}
	out, err := exec.Command(py, append([]string{script}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("singer-check %v failed: %v\n%s", args, err, out)
	}
	t.Logf("singer-check %v:\n%s", args, out)
}
