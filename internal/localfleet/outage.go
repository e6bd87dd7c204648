package localfleet

import (
	"context"
	"fmt"
	"time"
)

// StopAPIServer stops the kube-apiserver of a cluster, leaving etcd and the
// rest running: the cluster becomes unreachable, as in an outage, and keeps
// its data. StartAPIServer brings it back on the same address.
func (f *Fleet) StopAPIServer(cluster string) error {
	p, err := f.component(cluster, componentAPIServer)
	if err != nil {
		return err
	}
	return p.stop(15 * time.Second)
}

// StartAPIServer starts a stopped kube-apiserver again with the same flags
// and waits until it serves.
func (f *Fleet) StartAPIServer(ctx context.Context, cluster string) error {
	if f.sp == nil {
		return fmt.Errorf("localfleet: a fleet found through Load cannot start processes")
	}
	p, err := f.component(cluster, componentAPIServer)
	if err != nil {
		return err
	}
	if p.running() {
		return nil
	}
	fresh, err := startProcess(f.sp, p.Component, p.Bin, p.Args, p.Log, p.Detached)
	if err != nil {
		return err
	}
	c := f.Cluster(cluster)
	for i := range c.Processes {
		if c.Processes[i] == p {
			c.Processes[i] = fresh
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := c.waitServing(ctx); err != nil {
		return err
	}
	return f.save()
}

func (f *Fleet) component(cluster, component string) (*process, error) {
	c := f.Cluster(cluster)
	if c == nil {
		return nil, fmt.Errorf("localfleet: no cluster %q", cluster)
	}
	for _, p := range c.Processes {
		if p.Component == component {
			return p, nil
		}
	}
	return nil, fmt.Errorf("localfleet: cluster %s has no %s", cluster, component)
}
