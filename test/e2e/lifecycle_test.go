package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/test/harness"
)

// configMaps is one ConfigMap file per name, under dir.
func configMaps(dir string, names ...string) map[string]string {
	files := map[string]string{}
	for _, n := range names {
		files[dir+"/"+n+".yaml"] = fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\ndata:\n  k: %s\n", n, n)
	}
	return files
}

// deleteApp deletes an Application and waits until it is gone.
func deleteApp(t *testing.T, name string, timeout time.Duration) {
	t.Helper()
	app := getApp(t, name)
	if app == nil {
		t.Fatalf("Application %s does not exist", name)
	}
	if err := env.Client.Delete(context.Background(), app); err != nil {
		t.Fatal(err)
	}
	env.WaitGone(t, name, timeout)
}

func workClient(t *testing.T, cluster string) client.Client {
	t.Helper()
	c, err := client.New(env.Fleet.Cluster(cluster).RESTConfig(), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func assertReleased(t *testing.T, cm *corev1.ConfigMap) {
	t.Helper()
	if cm == nil {
		t.Fatal("the ConfigMap should have been left in place")
	}
	if cm.Labels[flotillav1.TrackingLabel] != "" || cm.Annotations[flotillav1.OwnerAnnotation] != "" {
		t.Errorf("ConfigMap %s/%s still names Flotilla as its owner: labels=%v annotations=%v", cm.Namespace, cm.Name, cm.Labels, cm.Annotations)
	}
}

// TestDeletionPolicy: deleting an Application with prune deletes its
// objects (and the namespace it created), waits for those a finalizer
// holds and says so in status, and keeps a namespace that holds someone
// else's objects; without prune the objects are released and stay.
func TestDeletionPolicy(t *testing.T) {
	ns, shared, orphan := harness.TestNamespace(t), harness.TestNamespace(t)+"-shared", harness.TestNamespace(t)+"-orphan"
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "fleet")
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	files := configMaps("del", "plain")
	files["del/held.yaml"] = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: held\n  finalizers: [example.com/hold]\ndata:\n  k: v\n"
	for k, v := range configMaps("shared", "mine") {
		files[k] = v
	}
	for k, v := range configMaps("orphan", "left") {
		files[k] = v
	}
	repo.Commit("main", files)

	newApp(t, "del", harness.PlainApp(srv.URL("fleet"), "del", ns))
	newApp(t, "del-shared", harness.PlainApp(srv.URL("fleet"), "shared", shared))
	kept := harness.PlainApp(srv.URL("fleet"), "orphan", orphan)
	kept.SyncPolicy.Automated.Prune = false
	newApp(t, "del-orphan", kept)
	for _, name := range []string{"del", "del-shared", "del-orphan"} {
		env.WaitApp(t, name, 2*time.Minute, "Synced", harness.Synced)
	}
	ctx := context.Background()
	theirs := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "theirs", Namespace: shared}}
	if err := env.Client.Create(ctx, theirs); err != nil {
		t.Fatal(err)
	}

	// Delete: what a finalizer holds is waited for, and shown.
	if err := env.Client.Delete(ctx, getApp(t, "del")); err != nil {
		t.Fatal(err)
	}
	app := env.WaitApp(t, "del", time.Minute, "waiting for the held ConfigMap", func(a *flotillav1.Application) bool {
		c := harness.ReadyCondition(a)
		return c != nil && c.Reason == flotillav1.ReasonDeleting && strings.Contains(c.Message, "ConfigMap/"+ns+"/held")
	})
	if len(app.Status.Resources) == 0 {
		t.Errorf("status.resources should list what is left")
	}
	harness.WaitConfigMapGone(t, env.Client, ns, "plain")
	held := harness.LiveConfigMap(t, env.Client, ns, "held")
	if held == nil {
		t.Fatal("the held ConfigMap went despite its finalizer")
	}
	held.Finalizers = nil
	if err := env.Client.Update(ctx, held); err != nil {
		t.Fatal(err)
	}
	env.WaitGone(t, "del", time.Minute)
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		return apierrors.IsNotFound(env.Client.Get(ctx, client.ObjectKey{Name: ns}, &corev1.Namespace{})), nil
	})
	if err != nil {
		t.Errorf("the namespace the Application created should be deleted with it")
	}

	// Delete: a namespace holding someone else's object is kept, released.
	deleteApp(t, "del-shared", time.Minute)
	harness.WaitConfigMapGone(t, env.Client, shared, "mine")
	if harness.LiveConfigMap(t, env.Client, shared, "theirs") == nil {
		t.Errorf("someone else's ConfigMap was deleted")
	}
	var sharedNS corev1.Namespace
	if err := env.Client.Get(ctx, client.ObjectKey{Name: shared}, &sharedNS); err != nil || !sharedNS.DeletionTimestamp.IsZero() {
		t.Errorf("a namespace holding someone else's objects must stay (err=%v)", err)
	} else if sharedNS.Annotations[flotillav1.OwnerAnnotation] != "" {
		t.Errorf("the kept namespace still names the deleted Application: %v", sharedNS.Annotations)
	}

	// Orphan (no prune): the objects stay and are no longer Flotilla's.
	deleteApp(t, "del-orphan", time.Minute)
	assertReleased(t, harness.LiveConfigMap(t, env.Client, orphan, "left"))
}

// TestDeletionUnreachableCluster: an Application whose cluster cannot be
// reached stays, with a condition saying how to let it go, until the
// operator abandons its objects; they are left untouched.
func TestDeletionUnreachableCluster(t *testing.T) {
	ns := harness.TestNamespace(t)
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "fleet")
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	repo.Commit("main", configMaps("app", "far"))
	env.RegisterCluster(t, "gone-away", "dev-3", nil)
	spec := harness.PlainApp(srv.URL("fleet"), "app", ns)
	spec.Destination.Cluster = "gone-away"
	newApp(t, "unreachable", spec)
	env.WaitApp(t, "unreachable", 2*time.Minute, "Synced", harness.Synced)

	// The cluster's address now leads nowhere.
	cfg, err := clientcmd.Load(env.KubeconfigFor(t, "dev-3"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cfg.Clusters {
		c.Server = "https://127.0.0.1:1"
	}
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var secret corev1.Secret
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: flotillav1.DefaultNamespace, Name: "cluster-gone-away"}, &secret); err != nil {
		t.Fatal(err)
	}
	secret.Data["kubeconfig"] = data
	if err := env.Client.Update(ctx, &secret); err != nil {
		t.Fatal(err)
	}

	if err := env.Client.Delete(ctx, getApp(t, "unreachable")); err != nil {
		t.Fatal(err)
	}
	env.WaitApp(t, "unreachable", 2*time.Minute, "held: ClusterUnavailable, saying how to abandon", func(a *flotillav1.Application) bool {
		c := harness.ReadyCondition(a)
		return c != nil && c.Reason == flotillav1.ReasonClusterUnavailable && !a.DeletionTimestamp.IsZero() &&
			strings.Contains(c.Message, flotillav1.AbandonDeletionAnnotation)
	})
	time.Sleep(3 * time.Second)
	if getApp(t, "unreachable") == nil {
		t.Fatal("an Application whose cluster cannot be reached was let go without its objects")
	}
	annotate(t, "unreachable", map[string]string{flotillav1.AbandonDeletionAnnotation: "true"})
	env.WaitGone(t, "unreachable", time.Minute)
	if cm := harness.LiveConfigMap(t, workClient(t, "dev-3"), ns, "far"); cm == nil {
		t.Errorf("abandoned objects must be left as they are")
	}
}

// TestRecreateAdopts: an Application deleted without its objects and made
// again under the same name takes them back; an object a live Application
// owns stays a conflict.
func TestRecreateAdopts(t *testing.T) {
	ns := harness.TestNamespace(t)
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "fleet")
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	repo.Commit("main", configMaps("app", "restored"))
	spec := harness.PlainApp(srv.URL("fleet"), "app", ns)
	first := newApp(t, "restored", spec)
	env.WaitApp(t, "restored", 2*time.Minute, "Synced", harness.Synced)
	oldOwner := harness.LiveConfigMap(t, env.Client, ns, "restored").Annotations[flotillav1.OwnerAnnotation]

	// As a backup restore or a lost finalizer would: the Application goes,
	// its objects stay with its owner annotation.
	annotate(t, "restored", map[string]string{flotillav1.AbandonDeletionAnnotation: "true"})
	deleteApp(t, "restored", time.Minute)
	if got := harness.LiveConfigMap(t, env.Client, ns, "restored"); got == nil || got.Annotations[flotillav1.OwnerAnnotation] != oldOwner {
		t.Fatalf("the abandoned ConfigMap should keep its owner annotation %q", oldOwner)
	}
	again := newApp(t, "restored", spec)
	if again.UID == first.UID {
		t.Fatal("the Application was not made anew")
	}
	env.WaitApp(t, "restored", 2*time.Minute, "Synced after re-creation", harness.Synced)
	if got := harness.LiveConfigMap(t, env.Client, ns, "restored").Annotations[flotillav1.OwnerAnnotation]; !strings.HasSuffix(got, "/"+string(again.UID)) {
		t.Errorf("the re-created Application should own the ConfigMap, annotation is %q", got)
	}

	// Another Application naming the same object: a conflict, untouched.
	newApp(t, "restored-rival", spec)
	env.WaitApp(t, "restored-rival", 2*time.Minute, "OwnershipConflict", harness.FailedWith(flotillav1.ReasonOwnershipConflict))
	if got := harness.LiveConfigMap(t, env.Client, ns, "restored").Annotations[flotillav1.OwnerAnnotation]; !strings.HasSuffix(got, "/"+string(again.UID)) {
		t.Errorf("a live Application's object was taken over: %q", got)
	}
}

// TestMoveCluster: changing destination.cluster deletes the objects in the
// old cluster (deletionPolicy Delete) and applies them in the new one.
func TestMoveCluster(t *testing.T) {
	ns := harness.TestNamespace(t)
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "fleet")
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	repo.Commit("main", configMaps("app", "mover"))
	env.RegisterCluster(t, "move-from", "dev-1", nil)
	env.RegisterCluster(t, "move-to", "dev-2", nil)
	spec := harness.PlainApp(srv.URL("fleet"), "app", ns)
	spec.Destination.Cluster = "move-from"
	newApp(t, "mover", spec)
	env.WaitApp(t, "mover", 2*time.Minute, "Synced in move-from", harness.Synced)
	from, to := workClient(t, "dev-1"), workClient(t, "dev-2")
	if harness.LiveConfigMap(t, from, ns, "mover") == nil {
		t.Fatal("the ConfigMap is not in the first cluster")
	}

	harness.Update(t, env.Client, getApp(t, "mover"), func(a *flotillav1.Application) { a.Spec.Destination.Cluster = "move-to" })
	app := env.WaitApp(t, "mover", 2*time.Minute, "Synced in move-to", func(a *flotillav1.Application) bool {
		return harness.Synced(a) && a.Status.Cluster == "move-to"
	})
	if harness.LiveConfigMap(t, to, ns, "mover") == nil {
		t.Errorf("the ConfigMap should be applied in the new cluster")
	}
	harness.WaitConfigMapGone(t, from, ns, "mover")
	if resource(app, "ConfigMap", "mover") == nil {
		t.Errorf("the inventory should list the ConfigMap in the new cluster: %+v", app.Status.Resources)
	}
}

// TestPruneLimit: a commit that would prune more than pruneLimit prunes
// nothing until an annotation confirms it once.
func TestPruneLimit(t *testing.T) {
	ns := harness.TestNamespace(t)
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "fleet")
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	repo.Commit("main", configMaps("app", "p1", "p2", "p3", "p4"))
	spec := harness.PlainApp(srv.URL("fleet"), "app", ns)
	limit := intstr.FromString("25%")
	spec.SyncPolicy.PruneLimit = &limit
	newApp(t, "limited", spec)
	env.WaitApp(t, "limited", 2*time.Minute, "Synced", harness.Synced)

	repo.Commit("main", configMaps("app", "p1", "p2"))
	app := env.WaitApp(t, "limited", time.Minute, "PruneRefused", harness.FailedWith(flotillav1.ReasonPruneRefused))
	if msg := harness.ReadyCondition(app).Message; !strings.Contains(msg, flotillav1.ConfirmPruneAnnotation) {
		t.Errorf("the condition should say how to confirm: %s", msg)
	}
	time.Sleep(3 * time.Second)
	for _, n := range []string{"p3", "p4"} {
		if harness.LiveConfigMap(t, env.Client, ns, n) == nil {
			t.Fatalf("ConfigMap %s was pruned over the limit", n)
		}
	}
	annotate(t, "limited", map[string]string{flotillav1.ConfirmPruneAnnotation: "once"})
	env.WaitApp(t, "limited", time.Minute, "Synced after the confirmation", harness.Synced)
	harness.WaitConfigMapGone(t, env.Client, ns, "p3")
	harness.WaitConfigMapGone(t, env.Client, ns, "p4")
}

// TestFleetMassRemovalGuard: a Fleet whose selector suddenly picks no
// cluster removes nothing until an annotation confirms it.
func TestFleetMassRemovalGuard(t *testing.T) {
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "fleet")
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	repo.Commit("main", configMaps("app", "guarded"))
	env.RegisterCluster(t, "guard-a", "dev-1", map[string]string{"guard": "on"})
	env.RegisterCluster(t, "guard-b", "dev-2", map[string]string{"guard": "on"})
	f := &flotillav1.Fleet{
		ObjectMeta: metav1.ObjectMeta{Name: "guard", Namespace: flotillav1.DefaultNamespace},
		Spec: flotillav1.FleetSpec{
			ClusterSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"guard": "on"}},
			Template: flotillav1.FleetTemplate{
				Source:      flotillav1.ApplicationSource{RepoURL: srv.URL("fleet"), TargetRevision: "main", Path: "app"},
				Destination: flotillav1.FleetDestination{Namespace: "fleet-guard"},
				SyncPolicy: flotillav1.SyncPolicy{
					Automated: &flotillav1.AutomatedSync{Prune: true}, CreateNamespace: true, Interval: harness.Interval(2 * time.Second),
				},
			},
		},
	}
	ctx := context.Background()
	if err := env.Client.Create(ctx, f); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), f) })
	for _, name := range []string{"guard-guard-a", "guard-guard-b"} {
		env.WaitApp(t, name, 2*time.Minute, "Synced", harness.Synced)
	}

	// A typo in the selector picks nothing. A merge patch: the controller
	// writes the Fleet's status meanwhile.
	typo := []byte(`{"spec":{"clusterSelector":{"matchLabels":{"guard":"onn"}}}}`)
	if err := env.Client.Patch(ctx, f, client.RawPatch(types.MergePatchType, typo)); err != nil {
		t.Fatal(err)
	}
	waitFleetNamed(t, "guard", "MassRemovalRefused", func(f *flotillav1.Fleet) bool {
		for _, c := range f.Status.Conditions {
			if c.Type == flotillav1.ConditionReady && c.Reason == flotillav1.ReasonMassRemovalRefused {
				return true
			}
		}
		return false
	})
	time.Sleep(3 * time.Second)
	for _, name := range []string{"guard-guard-a", "guard-guard-b"} {
		if a := getApp(t, name); a == nil || !a.DeletionTimestamp.IsZero() {
			t.Fatalf("Application %s was removed although the removal was refused", name)
		}
	}

	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(f), f); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(f.DeepCopy())
	f.Annotations = map[string]string{flotillav1.ConfirmRemovalAnnotation: "yes"}
	if err := env.Client.Patch(ctx, f, patch); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"guard-guard-a", "guard-guard-b"} {
		env.WaitGone(t, name, 2*time.Minute)
	}
}
