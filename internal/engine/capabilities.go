package engine

import (
	"sort"
	"sync"
	"time"

	"k8s.io/client-go/discovery"
)

// capabilitiesTTL is how long a cluster's version and API list are reused
// before discovery is asked again.
const capabilitiesTTL = time.Minute

// capabilities is what a Helm chart sees of its destination cluster:
// .Capabilities.KubeVersion and .Capabilities.APIVersions.
type capabilities struct {
	mu          sync.Mutex
	disco       discovery.DiscoveryInterface
	readAt      time.Time
	kubeVersion string
	apiVersions []string
}

// get returns the cluster's version and its served "group/version" and
// "group/version/Kind" names, read through discovery at most once a
// minute. When discovery fails, the last good answer (or none) is returned:
// the render then falls back to the Kubernetes version Flotilla is built
// against, and the sync itself reports the unreachable cluster.
func (c *capabilities) get() (string, []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.readAt) < capabilitiesTTL {
		return c.kubeVersion, c.apiVersions
	}
	v, err := c.disco.ServerVersion()
	if err != nil {
		return c.kubeVersion, c.apiVersions
	}
	// A partial answer (one aggregated API down) still lists the others.
	_, lists, _ := c.disco.ServerGroupsAndResources()
	seen := map[string]bool{}
	for _, l := range lists {
		seen[l.GroupVersion] = true
		for _, r := range l.APIResources {
			seen[l.GroupVersion+"/"+r.Kind] = true
		}
	}
	versions := make([]string, 0, len(seen))
	for gv := range seen {
		versions = append(versions, gv)
	}
	sort.Strings(versions)
	c.kubeVersion, c.apiVersions, c.readAt = v.GitVersion, versions, time.Now()
	return c.kubeVersion, c.apiVersions
}
