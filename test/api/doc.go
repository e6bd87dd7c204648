// Package api holds the end-to-end stories of Flotilla's server and CLI:
// `flotilla server` and the flotilla binary, built once by TestMain, run
// against a hub with its controller and real workload clusters, as the
// users of the API and the CLI meet them.
package api
