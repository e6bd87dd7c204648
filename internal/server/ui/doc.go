// Package ui serves Flotilla's web UI (the files of package web, embedded in
// the binary) under a strict Content-Security-Policy: scripts and styles
// only from the server itself, no inline script or style, no framing, and
// Trusted Types required so that no string can reach innerHTML.
//
// Assets are served under /assets/VERSION/, where VERSION is a hash of every
// embedded file, so that they are cached for a year (immutable) and a new
// binary's files are fetched anew. index.html, which names that folder, is
// never cached. Any other path without a file extension is a route of the
// UI (a deep link) and gets index.html; the UI reads the path itself.
package ui
