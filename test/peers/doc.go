// Package peers measures Flotilla side by side with Flux on the same
// workload: one repository of N folders (a Deployment at 0 replicas, a
// ServiceAccount, a Service and a ConfigMap each, distinct names), served
// over smart HTTP, applied with prune and health waits into one fresh local
// cluster per tool. It reports, for each tool, the time until every folder is
// applied and healthy, the peak RSS and CPU time of the tool's processes,
// and the write requests they sent (from the API server's audit log), then
// prints one table with the ratios.
//
// Flux's source-controller and kustomize-controller are run as programs,
// built by hack/peers/build.sh from a module of their own; Flotilla's module
// never imports them. `make bench-peers` builds them and runs this.
//
//	FLOTILLA_PEERS_BIN    the folder hack/peers/build.sh prints
//	FLOTILLA_PEERS_APPS   how many folders (default 100)
package peers
