package cli

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/cli/apiclient"
	"github.com/flotilla-dev/flotilla/internal/server/wire"
)

// The fixed objects of the golden tests, seen at fixedNow.
var fixedNow = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func ago(d time.Duration) metav1.Time { return metav1.NewTime(fixedNow.Add(-d)) }

func agoPtr(d time.Duration) *metav1.Time { t := ago(d); return &t }

const sha1 = "4f2a9c1d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a39"
const sha2 = "9b8a7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b"

func fixtureApps() []flotillav1.Application {
	web := flotillav1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: "guestbook", Namespace: "flotilla-system", CreationTimestamp: ago(72 * time.Hour),
			Labels: map[string]string{"team": "web"}},
		Spec: flotillav1.ApplicationSpec{
			Project: "default",
			Source: flotillav1.ApplicationSource{RepoURL: "https://git.example.com/org/config.git", Path: "apps/guestbook",
				TargetRevision: "main"},
			Destination: flotillav1.Destination{Cluster: "staging", Namespace: "guestbook"},
			SyncPolicy:  flotillav1.SyncPolicy{Automated: &flotillav1.AutomatedSync{Prune: true, SelfHeal: true}},
		},
		Status: flotillav1.ApplicationStatus{
			Sync:   flotillav1.SyncStatus{Status: flotillav1.SyncStatusSynced, Revision: sha1},
			Health: flotillav1.HealthStatus{Status: flotillav1.HealthHealthy},
			History: []flotillav1.HistoryEntry{
				{ID: 1, Revision: sha2, DeployedAt: ago(26 * time.Hour), Message: "guestbook: 2 replicas", Author: "Bo <bo@example.com>"},
				{ID: 2, Revision: sha1, DeployedAt: ago(2 * time.Minute), Message: "guestbook: new image", Author: "Ada <ada@example.com>"},
			},
			Operation: &flotillav1.OperationState{Phase: flotillav1.OperationSucceeded, Message: "Deployment/guestbook/web configured",
				StartedAt: agoPtr(3 * time.Minute), FinishedAt: agoPtr(2 * time.Minute)},
			Conditions: []metav1.Condition{{Type: "Ready", Status: metav1.ConditionTrue, Reason: "Succeeded",
				Message: "applied revision " + sha1, LastTransitionTime: ago(2 * time.Minute)}},
			Resources: []flotillav1.ResourceStatus{
				{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "guestbook", Name: "web", Sync: "Synced", Health: "Healthy"},
				{Version: "v1", Kind: "Service", Namespace: "guestbook", Name: "web", Sync: "Synced", Health: "Healthy"},
			},
		},
	}
	shop := flotillav1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "team-a", CreationTimestamp: ago(90 * time.Minute)},
		Spec: flotillav1.ApplicationSpec{
			Project:     "team-a",
			Source:      flotillav1.ApplicationSource{RepoURL: "oci://registry.example.com/shop", TargetRevision: "1.x"},
			Destination: flotillav1.Destination{Cluster: "prod-eu", Namespace: "shop"},
		},
		Status: flotillav1.ApplicationStatus{
			Sync:   flotillav1.SyncStatus{Status: flotillav1.SyncStatusOutOfSync, Revision: "sha256:" + sha1 + "0123456789abcdef0123456789ab"},
			Health: flotillav1.HealthStatus{Status: flotillav1.HealthDegraded, Message: "Deployment shop/api: 0 of 2 ready"},
			Operation: &flotillav1.OperationState{Phase: flotillav1.OperationFailed, Message: "Deployment/shop/api: apply failed (Invalid)",
				StartedAt: agoPtr(time.Minute), FinishedAt: agoPtr(50 * time.Second)},
			Pin: &flotillav1.Pin{HistoryID: 3, Revision: sha2, Since: ago(time.Hour)},
		},
	}
	return []flotillav1.Application{web, shop}
}

func fixtureClusters() []flotillav1.Cluster {
	return []flotillav1.Cluster{
		{
			ObjectMeta: metav1.ObjectMeta{Name: "prod-eu", Namespace: "flotilla-system", CreationTimestamp: ago(240 * time.Hour),
				Labels: map[string]string{"env": "prod", "region": "eu"}},
			Spec: flotillav1.ClusterSpec{Server: "https://10.1.2.3:6443", Mode: flotillav1.ClusterModePush},
			Status: flotillav1.ClusterStatus{Connected: true, KubernetesVersion: "v1.37.2", Applications: 12, LastHeartbeat: agoPtr(time.Minute),
				Conditions: []metav1.Condition{{Type: "Ready", Status: metav1.ConditionTrue, Reason: "Succeeded", LastTransitionTime: ago(time.Hour)}}},
		},
		{
			ObjectMeta: metav1.ObjectMeta{Name: "edge-1", Namespace: "flotilla-system", CreationTimestamp: ago(30 * time.Minute)},
			Spec:       flotillav1.ClusterSpec{Mode: flotillav1.ClusterModeAgent},
		},
	}
}

func fixtureFleets() []flotillav1.Fleet {
	return []flotillav1.Fleet{{
		ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "flotilla-system", CreationTimestamp: ago(48 * time.Hour)},
		Spec: flotillav1.FleetSpec{
			Project:         "team-a",
			ClusterSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"env": "prod"}},
			Template: flotillav1.FleetTemplate{Source: flotillav1.ApplicationSource{RepoURL: "https://git.example.com/org/shop.git",
				Path: "deploy", TargetRevision: "main"}},
		},
		Status: flotillav1.FleetStatus{Revision: sha1, Clusters: []string{"prod-eu", "prod-us"},
			Summary: flotillav1.FleetSummary{Clusters: 2, Synced: 2, Healthy: 1}},
	}}
}

func fixtureFleetDetail() *apiclient.FleetDetail {
	f := fixtureFleets()[0]
	since := ago(3 * time.Minute)
	f.Status.StableRevision = sha2
	f.Status.Waves = []flotillav1.WaveStatus{
		{Name: "canary", Clusters: []string{"prod-eu"}, Revision: sha1, Phase: flotillav1.WaveBaking, Since: &since, Message: "healthy at " + sha1[:12] + "; bakes 2m more"},
		{Name: "rest", Clusters: []string{"prod-us"}, Revision: sha2, Phase: flotillav1.WavePending, Message: "waits for wave canary to pass"},
	}
	return &apiclient.FleetDetail{Fleet: f, Clusters: []apiclient.FleetCluster{
		{Cluster: "prod-eu", Application: "shop-prod-eu", Sync: "Synced", Health: "Healthy", Revision: sha1},
		{Cluster: "prod-us", Application: "shop-prod-us", Sync: "Synced", Health: "Progressing", Revision: sha1,
			Message: "Deployment shop/api: 1 of 2 updated"},
	}}
}

func fixtureProjects() []flotillav1.Project {
	return []flotillav1.Project{
		{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: "flotilla-system", CreationTimestamp: ago(240 * time.Hour)}},
		{
			ObjectMeta: metav1.ObjectMeta{Name: "team-a", Namespace: "flotilla-system", CreationTimestamp: ago(24 * time.Hour)},
			Spec: flotillav1.ProjectSpec{
				SourceRepos:    []string{"https://git.example.com/team-a/*"},
				Destinations:   []flotillav1.ProjectDestination{{Cluster: "prod-*", Namespace: "team-a-*"}},
				ServiceAccount: "team-a-deployer",
				Roles: []flotillav1.ProjectRole{{Name: "dev", Groups: []string{"team-a"},
					Policies: []string{"applications:get", "applications:sync"}}},
			},
		},
	}
}

func fixtureHistory() []wire.HistoryEntry {
	return []wire.HistoryEntry{
		{ID: 2, Revision: sha2, DeployedAt: fixedNow.Add(-26 * time.Hour), Message: "shop: 2 replicas\n\nlonger text", Author: "Ada <ada@example.com>"},
		{ID: 3, Revision: sha1, DeployedAt: fixedNow.Add(-2 * time.Minute), Message: "guestbook: new image"},
	}
}

func fixtureTree() *wire.Tree {
	dep := wire.ObjectRef{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "guestbook", Name: "web", UID: "u-dep"}
	rs := wire.ObjectRef{Group: "apps", Version: "v1", Kind: "ReplicaSet", Namespace: "guestbook", Name: "web-5d8f", UID: "u-rs"}
	return &wire.Tree{Nodes: []wire.ResourceNode{
		{ObjectRef: wire.ObjectRef{Version: "v1", Kind: "Pod", Namespace: "guestbook", Name: "web-5d8f-b", UID: "u-pb"},
			Parents: []wire.ObjectRef{rs}, Health: &wire.Health{Status: "Progressing", Message: "container app: ContainerCreating"}},
		{ObjectRef: wire.ObjectRef{Version: "v1", Kind: "Service", Namespace: "guestbook", Name: "web", UID: "u-svc"},
			Health: &wire.Health{Status: "Healthy"}, Sync: "Synced", Managed: true},
		{ObjectRef: dep, Health: &wire.Health{Status: "Progressing", Message: "1 of 2 ready"}, Sync: "Synced", Managed: true},
		{ObjectRef: rs, Parents: []wire.ObjectRef{dep}, Health: &wire.Health{Status: "Progressing"}},
		{ObjectRef: wire.ObjectRef{Version: "v1", Kind: "Pod", Namespace: "guestbook", Name: "web-5d8f-a", UID: "u-pa"},
			Parents: []wire.ObjectRef{rs}, Health: &wire.Health{Status: "Healthy"}},
	}}
}

func fixtureDiff() *wire.Diff {
	return &wire.Diff{Revision: sha1, Resources: []wire.ResourceDiff{
		{ObjectRef: wire.ObjectRef{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "guestbook", Name: "web"},
			Action: wire.DiffUpdate, Diff: "--- live\n+++ desired\n@@ -3 +3 @@\n-  replicas: 1\n+  replicas: 2\n"},
		{ObjectRef: wire.ObjectRef{Version: "v1", Kind: "ConfigMap", Namespace: "guestbook", Name: "web-config"},
			Action: wire.DiffCreate, Desired: "apiVersion: v1\nkind: ConfigMap\ndata:\n  mode: blue\n"},
		{ObjectRef: wire.ObjectRef{Version: "v1", Kind: "Service", Namespace: "guestbook", Name: "web"}, Action: wire.DiffNone},
	}}
}
