package live

import (
	"fmt"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/server/wire"
)

// agentModeError is the answer to a live view the hub cannot give of a
// cluster in agent mode.
func agentModeError(cluster string) error {
	return fmt.Errorf("%w: cluster %s is in agent mode and the hub cannot reach it: live manifests, diffs, "+
		"the events of its objects and Pod logs are read in that cluster; the tree shows the objects and health its agent reports",
		ErrAgentMode, cluster)
}

// reportedTree is the tree of an Application of an agent-mode cluster: its
// managed objects, with the sync and health its agent last reported in
// status.resources. No descendants: the agent reports none.
func (r *Reader) reportedTree(app *flotillav1.Application) *wire.Tree {
	t := &wire.Tree{Nodes: []wire.ResourceNode{}}
	for _, res := range app.Status.Resources {
		if len(t.Nodes) >= r.opts.Limits.MaxNodes {
			t.Truncated = true
			break
		}
		node := wire.ResourceNode{
			ObjectRef: wire.ObjectRef{Group: res.Group, Version: res.Version, Kind: res.Kind, Namespace: res.Namespace, Name: res.Name},
			Managed:   true, Sync: string(res.Sync),
		}
		if res.Health != "" {
			node.Health = &wire.Health{Status: string(res.Health), Message: res.Message}
		}
		t.Nodes = append(t.Nodes, node)
	}
	return t
}
