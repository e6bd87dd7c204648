// Package agent is the pull agent of a Cluster in agent mode
// (`flotilla agent`, docs/agent.md). It runs in (or beside) its workload
// cluster with a hub credential that reads only the Applications of that
// cluster, the Secrets and Projects they name, and writes only their status
// and the Cluster's heartbeat.
//
// The agent keeps a copy of each of its Applications in its own cluster and
// runs there the controller of package controller, unchanged, with the
// cluster as destination: the same engine fetches, renders, applies, prunes
// and heals. The copies are the last desired state the agent saw; the hub
// only feeds them. Status flows back the other way.
//
// Promises:
//   - The hub unreachable, nothing local is deleted or changed: the copies
//     keep being synced from Git and healed; status and heartbeats resume
//     when the hub answers again.
//   - A copy is deleted (and its objects pruned as its deletionPolicy says)
//     only when the hub answered that the Application is gone from the
//     agent's Role and can no longer be read, or deploys elsewhere.
//   - The agent mirrors at most Options.MaxApplications Applications.
//   - The hub credential never leaves the agent: no log line or status holds it.
package agent
