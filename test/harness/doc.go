// Package harness runs Flotilla as a user would, for end-to-end tests and
// benchmarks: the flotilla binary built from this checkout, a local fleet of
// real clusters with Flotilla installed in the hub, and the controller as a
// separate process that a test may kill and start again.
package harness
