// Package web holds the files of Flotilla's web UI, embedded in the binary.
// They are plain ES modules and CSS, loaded by the browser as they are: no
// build step and no Node.js. internal/server/ui serves them.
package web

import "embed"

// FS holds index.html and the assets folder.
//
//go:embed index.html assets
var FS embed.FS
