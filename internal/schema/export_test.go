package schema

import "github.com/tap-jira/tap-jira/schemas"

// For the external tests (check_test.go), which encode with singer:
// singer imports this package, so its tests here could not.
var (
	FastValid            = func(s *Schema, rec map[string]any) bool { return s.fast.valid(rec) }
	SlowValid            = slowValid
	Mutate               = mutate
	AssertRawJudgedAlike = assertRawJudgedAlike
	// LoadBundled compiles the embedded schemas afresh, as a run starts.
	LoadBundled = func() error { _, err := loadFS(schemas.FS); return err }
)
