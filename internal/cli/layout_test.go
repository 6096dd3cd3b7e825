package cli

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPackagesKeepTheirPlaces holds the code to the architecture notes
// where a parser can: only internal/jira speaks go-jira (it is HTTP
// plumbing there, nowhere else), main is one line, no package is named for
// nothing in particular, and a function that takes a context takes it
// first.
func TestPackagesKeepTheirPlaces(t *testing.T) {
	t.Parallel()
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	importers := map[string][]string{} // import path: directories of non-test files importing it
	var vague, ctxLater []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "testdata", "node_modules":
				return filepath.SkipDir
			case "util", "utils", "common", "helpers", "misc":
				vague = append(vague, path)
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ctxLater = append(ctxLater, contextNotFirst(fset, f)...)
		rel, err := filepath.Rel(root, filepath.Dir(path))
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			p, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				return err
			}
			if !slices.Contains(importers[p], filepath.ToSlash(rel)) {
				importers[p] = append(importers[p], filepath.ToSlash(rel))
			}
		}
		return nil
	})
	require.NoError(t, err)
	require.NotEmpty(t, importers["github.com/spf13/cobra"], "the walk found the code")
	assert.Equal(t, []string{"internal/jira"}, importers["github.com/andygrunwald/go-jira"], "packages importing go-jira")
	assert.Empty(t, vague, "packages named for nothing in particular")
	assert.Empty(t, ctxLater, "functions taking a context.Context after other parameters")

	src, err := os.ReadFile(filepath.Join(root, "cmd", "tap-jira", "main.go"))
	require.NoError(t, err)
	f, err := parser.ParseFile(fset, "main.go", src, 0)
	require.NoError(t, err)
	var body []ast.Stmt
	for _, d := range f.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Name.Name == "main" {
			body = fn.Body.List
			assert.Equal(t, fset.Position(fn.Pos()).Line, fset.Position(fn.End()).Line, "main is one line")
		}
	}
	assert.Len(t, body, 1, "main hands over to internal/cli in one statement")
}

// contextNotFirst lists the functions of f, declared or literal, that take
// a context.Context other than as their first parameter.
func contextNotFirst(fset *token.FileSet, f *ast.File) []string {
	var out []string
	ast.Inspect(f, func(n ast.Node) bool {
		var ft *ast.FuncType
		switch x := n.(type) {
		case *ast.FuncDecl:
			ft = x.Type
		case *ast.FuncLit:
			ft = x.Type
		default:
			return true
		}
		i := 0
		for _, field := range ft.Params.List {
			if sel, ok := field.Type.(*ast.SelectorExpr); ok && sel.Sel.Name == "Context" {
				if pkg, ok := sel.X.(*ast.Ident); ok && pkg.Name == "context" && i > 0 {
					out = append(out, fset.Position(ft.Pos()).String())
				}
			}
			i += max(1, len(field.Names))
		}
		return true
	})
	return out
}
