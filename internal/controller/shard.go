package controller

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/shard"
)

// With sharding on, a replica holds the clusters it owns by name (an
// Application's destination, a Cluster) and the Fleets it owns by fleetKey.
// Fleets are owned by one replica too, not reconciled by all: two replicas
// with caches a moment apart could otherwise create and delete the same
// generated Application, or both move a rollout wave.
const fleetKeyPrefix = "Fleet/"

func fleetKey(name string) string { return fleetKeyPrefix + name }

// shardID returns id, or hostname-pid (a random id if the host has no
// name), checked to make a valid Lease name.
func shardID(id string) (string, error) {
	if id == "" {
		host, err := os.Hostname()
		if err != nil || host == "" {
			b := make([]byte, 4)
			_, _ = rand.Read(b)
			host = hex.EncodeToString(b)
		}
		id = fmt.Sprintf("%s-%d", dnsLabel(host), os.Getpid())
	}
	if errs := validation.IsDNS1123Subdomain(shard.LeasePrefix + id); len(errs) > 0 {
		return "", fmt.Errorf("--shard-id %q: Lease %s%s: %s", id, shard.LeasePrefix, id, strings.Join(errs, "; "))
	}
	return id, nil
}

// dnsLabel lowercases s and turns what a DNS label may not hold into '-'.
func dnsLabel(s string) string {
	s = strings.ToLower(s)
	b := []byte(s)
	for i, c := range b {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			b[i] = '-'
		}
	}
	s = string(b)
	if len(s) > 50 {
		s = s[:50]
	}
	return strings.Trim(s, "-")
}

// newShardMember makes this replica's Member and adds it to the manager.
// A cluster it acquires has its Applications queued at once; Clusters and
// Fleets it skipped look again within a Lease duration.
func newShardMember(mgr ctrl.Manager, opts Options, capiKind *schema.GroupVersionKind, onChange func(types.NamespacedName)) (*shard.Member, error) {
	sOpts := shard.DefaultOptions()
	sOpts.Client, sOpts.Reader = mgr.GetClient(), mgr.GetAPIReader()
	sOpts.Namespace, sOpts.ID, sOpts.Logger = opts.Namespace, opts.ShardID, opts.Logger
	if opts.ShardLeaseDuration > 0 {
		sOpts.LeaseDuration = opts.ShardLeaseDuration
	}
	cached := mgr.GetClient()
	sOpts.Keys = func(ctx context.Context) ([]string, error) { return shardKeys(ctx, cached, opts.Namespace, capiKind) }
	sOpts.OnAcquire = func(key string) {
		if strings.HasPrefix(key, fleetKeyPrefix) {
			return
		}
		var apps flotillav1.ApplicationList
		if err := cached.List(context.Background(), &apps, client.InNamespace(opts.Namespace), client.MatchingFields{destinationIndex: key}); err != nil {
			return
		}
		for _, a := range apps.Items {
			onChange(client.ObjectKeyFromObject(&a))
		}
	}
	m, err := shard.New(sOpts)
	if err != nil {
		return nil, err
	}
	if err := mgr.Add(m); err != nil {
		return nil, err
	}
	return m, nil
}

// shardKeys is what the replicas share: every Cluster, every destination
// an Application names (even one with no Cluster, so that its failure is
// still reported by someone), the hub itself, every Fleet, and with --capi
// every Cluster API Cluster (by its name: the replica that registers it
// then also watches over the Cluster it becomes).
func shardKeys(ctx context.Context, c client.Reader, ns string, capiKind *schema.GroupVersionKind) ([]string, error) {
	keys := []string{flotillav1.InCluster}
	var clusters flotillav1.ClusterList
	if err := c.List(ctx, &clusters, client.InNamespace(ns)); err != nil {
		return nil, fmt.Errorf("list Clusters: %w", err)
	}
	for _, cl := range clusters.Items {
		keys = append(keys, cl.Name)
	}
	var apps flotillav1.ApplicationList
	if err := c.List(ctx, &apps, client.InNamespace(ns)); err != nil {
		return nil, fmt.Errorf("list Applications: %w", err)
	}
	for i := range apps.Items {
		keys = append(keys, destinationName(&apps.Items[i]))
	}
	var fleets flotillav1.FleetList
	if err := c.List(ctx, &fleets, client.InNamespace(ns)); err != nil {
		return nil, fmt.Errorf("list Fleets: %w", err)
	}
	for _, f := range fleets.Items {
		keys = append(keys, fleetKey(f.Name))
	}
	if capiKind != nil {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(capiKind.GroupVersion().WithKind(capiKind.Kind + "List"))
		if err := c.List(ctx, list, client.InNamespace(ns)); err != nil {
			return nil, fmt.Errorf("list Cluster API Clusters: %w", err)
		}
		for _, u := range list.Items {
			keys = append(keys, u.GetName())
		}
	}
	return keys, nil
}
