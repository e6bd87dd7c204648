// Package agent holds the end-to-end tests of the pull agent (`flotilla
// agent`, docs/agent.md) against a real hub and workload cluster: sync and
// status through the hub, self-healing and Git changes while the hub's API
// server is stopped, catching up when it returns, and the agent's hub
// credential refused what is not its own.
package agent
