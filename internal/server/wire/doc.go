// Package wire holds the JSON bodies of Flotilla's REST API (see
// docs/api.md) that are not Kubernetes resources themselves: requests,
// list envelopes, the resource tree, diffs, sessions and errors. The server
// writes them and the CLI reads them, so both agree by construction.
package wire
