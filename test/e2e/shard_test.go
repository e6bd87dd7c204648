package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/internal/shard"
	"github.com/flotilla-dev/flotilla/test/harness"
)

// shardLease is the Lease duration of the sharded replicas in TestShards:
// short, so that a takeover fits in a test.
const shardLease = 5 * time.Second

// TestShards: two replicas started with --shards share six clusters. The
// owners in their Leases are the rendezvous assignment of the claimed keys;
// every Application syncs, and only the replica owning its cluster writes
// it. After one replica is killed, a new commit reaches every Application,
// those of the dead replica's clusters included, within two Lease
// durations. A third replica joins and takes a share, still with one writer
// per Application. A replica that stops cleanly deletes its Lease.
func TestShards(t *testing.T) {
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "shards")
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	first := repo.Commit("main", map[string]string{"app/cm.yaml": shardConfigMap("1")})

	// The shared controller owns everything: it steps aside for the test.
	env.StopController()
	replicas := map[string]*harness.Replica{}
	t.Cleanup(func() {
		for _, r := range replicas {
			r.Stop()
		}
		if err := env.StartController(); err != nil {
			t.Errorf("restart the shared controller: %v", err)
		}
	})
	startReplica := func(id string) {
		t.Helper()
		r, err := env.StartReplica(id, "--shards", "--shard-id", id, "--shard-lease-duration", shardLease.String())
		if err != nil {
			t.Fatal(err)
		}
		replicas[id] = r
	}
	startReplica("r1")
	startReplica("r2")

	// Six Clusters over the three workload clusters, one Application each
	// (in a namespace of its own), so that both replicas get a share.
	var clusters, apps []string
	appCluster := map[string]string{}
	for i, name := range []string{"shard-a", "shard-b", "shard-c", "shard-d", "shard-e", "shard-f"} {
		env.RegisterCluster(t, name, fmt.Sprintf("dev-%d", i%3+1), nil)
		clusters = append(clusters, name)
		app := "shards-" + name
		appCluster[app] = name
		apps = append(apps, app)
	}
	owners := waitShardsSettled(t, replicas, []string{"r1", "r2"}, clusters)
	t.Logf("owners: %v", owners)
	for _, app := range apps {
		spec := harness.PlainApp(srv.URL("shards"), "app", harness.TestNamespace(t)+"-"+appCluster[app])
		spec.Destination.Cluster = appCluster[app]
		newApp(t, app, spec)
	}
	waitShardApps(t, replicas, apps, 2*time.Minute, first)
	assertOneWriter(t, replicas, appCluster, owners, first)

	// Kill the owner of shard-a; its clusters must move to the survivor.
	victim := owners["shard-a"]
	survivor := "r1"
	if victim == "r1" {
		survivor = "r2"
	}
	replicas[victim].Kill()
	killed := time.Now()
	second := repo.Commit("main", map[string]string{"app/cm.yaml": shardConfigMap("2")})
	waitShardApps(t, replicas, apps, time.Minute, second)
	took := time.Since(killed)
	t.Logf("replica %s killed; every Application at the new commit %s later", victim, took.Round(100*time.Millisecond))
	if limit := 2*shardLease + 5*time.Second; took > limit {
		t.Errorf("the takeover took %s, want at most %s (two Lease durations and a sync)", took, limit)
	}
	for app, cl := range appCluster {
		if w := syncWriters(t, replicas, second)[app]; !slices.Equal(w, []string{survivor}) {
			t.Errorf("Application %s on %s: applied at the second commit by %v, want only %s", app, cl, w, survivor)
		}
	}
	waitLeaseGone(t, victim, 3*shardLease, "the dead replica's expired Lease should be deleted")

	// A third replica joins: it takes a share, handed over by the survivor.
	startReplica("r3")
	owners = waitShardsSettled(t, replicas, []string{survivor, "r3"}, clusters)
	t.Logf("owners after r3 joined: %v", owners)
	third := repo.Commit("main", map[string]string{"app/cm.yaml": shardConfigMap("3")})
	waitShardApps(t, replicas, apps, time.Minute, third)
	assertOneWriter(t, replicas, appCluster, owners, third)

	// A clean stop releases the Lease at once.
	replicas[survivor].Stop()
	if !waitLeaseGone(t, survivor, 5*time.Second, "a replica that stops cleanly should delete its Lease") {
		t.Log(replicaLogs(map[string]*harness.Replica{survivor: replicas[survivor]}, 20))
	}
}

// assertOneWriter checks that each Application was applied at revision by
// the owner of its cluster, and by no other replica.
func assertOneWriter(t *testing.T, replicas map[string]*harness.Replica, appCluster, owners map[string]string, revision string) {
	t.Helper()
	writers := syncWriters(t, replicas, revision)
	for app, cl := range appCluster {
		want := []string{owners[cl]}
		if diff := cmp.Diff(want, writers[app]); diff != "" {
			t.Errorf("Application %s on %s: replicas that applied it (-want +got):\n%s", app, cl, diff)
		}
	}
}

func shardConfigMap(version string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shard\ndata:\n  version: %q\n", version)
}

// leaseClaims lists the shard Leases: member ID → claimed keys.
func leaseClaims(t *testing.T) map[string][]string {
	t.Helper()
	var list coordinationv1.LeaseList
	if err := env.Client.List(context.Background(), &list, client.InNamespace(flotillav1.DefaultNamespace)); err != nil {
		t.Fatalf("list Leases: %v", err)
	}
	out := map[string][]string{}
	for _, l := range list.Items {
		id, ok := strings.CutPrefix(l.Name, shard.LeasePrefix)
		if !ok {
			continue
		}
		out[id] = nil
		if v := l.Annotations[shard.ClaimsAnnotation]; v != "" {
			out[id] = strings.Split(v, ",")
		}
	}
	return out
}

// waitShardsSettled waits until exactly the members have a Lease, the claims
// have not changed for three seconds, every cluster is claimed by exactly
// one replica, and the claims are the rendezvous assignment of all claimed
// keys over the members. It returns key → owner.
func waitShardsSettled(t *testing.T, replicas map[string]*harness.Replica, members, clusters []string) map[string]string {
	t.Helper()
	var last map[string][]string
	var since time.Time
	var why string
	err := wait.PollUntilContextTimeout(context.Background(), 250*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		claims := leaseClaims(t)
		if !cmp.Equal(claims, last) {
			last, since = claims, time.Now()
			return false, nil
		}
		if time.Since(since) < 3*time.Second {
			return false, nil
		}
		why = checkClaims(claims, members, clusters)
		return why == "", nil
	})
	if err != nil {
		t.Fatalf("the shards did not settle: %v: %s\nclaims: %v\n%s", err, why, last, replicaLogs(replicas, 20))
	}
	owners := map[string]string{}
	for id, keys := range last {
		for _, k := range keys {
			owners[k] = id
		}
	}
	return owners
}

// checkClaims says what is wrong with the claims, or "".
func checkClaims(claims map[string][]string, members, clusters []string) string {
	if ids := slices.Sorted(maps.Keys(claims)); !slices.Equal(ids, slices.Sorted(slices.Values(members))) {
		return fmt.Sprintf("want the Leases of %v, have %v", members, ids)
	}
	var all []string
	got := map[string]string{}
	for id, keys := range claims {
		for _, k := range keys {
			if other, ok := got[k]; ok {
				return fmt.Sprintf("%s is claimed by both %s and %s", k, other, id)
			}
			got[k] = id
			all = append(all, k)
		}
	}
	for _, cl := range clusters {
		if got[cl] == "" {
			return cl + " is claimed by no replica"
		}
	}
	if diff := cmp.Diff(shard.Assign(all, members), got); diff != "" {
		return "the claims are not the rendezvous assignment (-want +got):\n" + diff
	}
	return ""
}

// waitShardApps waits until every Application is Synced at revision.
func waitShardApps(t *testing.T, replicas map[string]*harness.Replica, apps []string, timeout time.Duration, revision string) {
	t.Helper()
	var pending []string
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		pending = pending[:0]
		for _, name := range apps {
			var a flotillav1.Application
			err := env.Client.Get(ctx, client.ObjectKey{Namespace: flotillav1.DefaultNamespace, Name: name}, &a)
			if err != nil || !harness.Synced(&a) || a.Status.Sync.Revision != revision {
				pending = append(pending, name)
			}
		}
		return len(pending) == 0, nil
	})
	if err != nil {
		t.Fatalf("Applications not Synced at %s: %v: %v\n%s", revision, err, pending, replicaLogs(replicas, 30))
	}
}

// syncWriters reads the replicas' logs: Application name → the replicas
// that logged "sync applied" for it at revision, sorted.
func syncWriters(t *testing.T, replicas map[string]*harness.Replica, revision string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for id, r := range replicas {
		sc := bufio.NewScanner(strings.NewReader(r.Log()))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var line struct {
				Msg      string `json:"msg"`
				App      string `json:"app"`
				Shard    string `json:"shard"`
				Revision string `json:"revision"`
			}
			if json.Unmarshal(sc.Bytes(), &line) != nil || line.Msg != "sync applied" || line.Revision != revision {
				continue
			}
			if line.Shard != id {
				t.Errorf("replica %s logged shard %q", id, line.Shard)
			}
			name := strings.TrimPrefix(line.App, flotillav1.DefaultNamespace+"/")
			if !slices.Contains(out[name], id) {
				out[name] = append(out[name], id)
				slices.Sort(out[name])
			}
		}
	}
	return out
}

func waitLeaseGone(t *testing.T, id string, timeout time.Duration, what string) bool {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		var l coordinationv1.Lease
		err := env.Client.Get(ctx, client.ObjectKey{Namespace: flotillav1.DefaultNamespace, Name: shard.LeasePrefix + id}, &l)
		return apierrors.IsNotFound(err), nil
	})
	if err != nil {
		t.Errorf("%s: Lease %s%s still there after %s", what, shard.LeasePrefix, id, timeout)
	}
	return err == nil
}

func replicaLogs(replicas map[string]*harness.Replica, n int) string {
	var b strings.Builder
	for _, id := range slices.Sorted(maps.Keys(replicas)) {
		lines := strings.Split(replicas[id].Log(), "\n")
		if len(lines) > n {
			lines = lines[len(lines)-n:]
		}
		fmt.Fprintf(&b, "--- replica %s ---\n%s\n", id, strings.Join(lines, "\n"))
	}
	return b.String()
}
