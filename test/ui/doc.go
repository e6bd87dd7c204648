// Package ui holds the end-to-end tests of the web UI in headless Chromium
// (see test/browser): against a real `flotilla server` over real clusters
// from internal/localfleet, and against recorded API answers for what only
// the UI decides (rendering of hostile values, the render benchmark's
// fixture). Screenshots of every page visited go to FLOTILLA_ARTIFACTS.
package ui
