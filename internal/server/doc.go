// Package server is Flotilla's REST API over the hub (see docs/api.md): it
// reads Applications, Clusters, Fleets and Projects through informers, so
// lists are served from memory, and writes only to the hub, by creating,
// patching and deleting those resources. The controller stays the only
// actor on workload clusters.
//
// The server mounts the packages of its neighbours: auth (who calls) and
// rbac (what they may do) on every route, every list item and every stream
// event; live (read-only views of a workload cluster); webhook (Git and OCI
// push hooks). Errors become {code, message} and an HTTP status in one
// place, writeError.
package server
