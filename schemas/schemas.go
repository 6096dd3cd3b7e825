// Package schemas embeds the hand-written JSON Schema of every stream (<stream>.json) so the binary is self-contained.
package schemas

import "embed"

// FS holds every <stream>.json schema file of this directory.
//
//go:embed *.json
var FS embed.FS
