package v1alpha1

import (
	"slices"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Application is one source path deployed to one destination.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=app;apps,categories=flotilla
// +kubebuilder:printcolumn:name="Cluster",type=string,JSONPath=`.spec.destination.cluster`
// +kubebuilder:printcolumn:name="Namespace",type=string,JSONPath=`.spec.destination.namespace`
// +kubebuilder:printcolumn:name="Sync",type=string,JSONPath=`.status.sync.status`
// +kubebuilder:printcolumn:name="Health",type=string,JSONPath=`.status.health.status`
// +kubebuilder:printcolumn:name="Revision",type=string,JSONPath=`.status.sync.revision`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Application struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ApplicationSpec   `json:"spec"`
	Status ApplicationStatus `json:"status,omitempty"`
}

// ApplicationList is a list of Applications.
//
// +kubebuilder:object:root=true
type ApplicationList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Application `json:"items"`
}

// ApplicationSpec is what the user wants deployed, from where, to where, and how.
type ApplicationSpec struct {
	// Project is the Project the Application belongs to; "default" allows everything.
	// +kubebuilder:default=default
	// +optional
	Project string `json:"project,omitempty"`
	// Source is where the manifests come from.
	Source ApplicationSource `json:"source"`
	// Destination is where they go.
	Destination Destination `json:"destination"`
	// SyncPolicy says when and how to sync.
	// +optional
	SyncPolicy SyncPolicy `json:"syncPolicy,omitempty"`
	// DependsOn lists Applications, in the same namespace, that must be
	// Synced and Healthy before this one syncs.
	// +optional
	DependsOn []DependencyReference `json:"dependsOn,omitempty"`
	// IgnoreDifferences lists fields that are not drift.
	// +optional
	IgnoreDifferences []IgnoreDifference `json:"ignoreDifferences,omitempty"`
	// HealthChecks are custom health checks, in CEL, per group and kind.
	// +optional
	HealthChecks []HealthCheck `json:"healthChecks,omitempty"`
	// DeletionPolicy says what happens to the objects the Application owns
	// when it is deleted, or when its destination cluster changes: Delete
	// removes them, Orphan releases them (they lose Flotilla's label and
	// annotation and stay). Empty means Delete when syncPolicy.automated.prune
	// is true, else Orphan.
	// +optional
	DeletionPolicy DeletionPolicy `json:"deletionPolicy,omitempty"`
}

// DeletionPolicy says what happens to an Application's objects when it
// lets them go.
// +kubebuilder:validation:Enum=Delete;Orphan
type DeletionPolicy string

const (
	// DeletionPolicyDelete removes the objects, in reverse order of staging,
	// and keeps Namespaces and CRDs that hold objects Flotilla does not own.
	DeletionPolicyDelete DeletionPolicy = "Delete"
	// DeletionPolicyOrphan removes Flotilla's tracking label and owner
	// annotation from the objects and leaves them running.
	DeletionPolicyOrphan DeletionPolicy = "Orphan"
)

// EffectiveDeletionPolicy is spec.deletionPolicy, or its default: Delete
// when automated prune is on, else Orphan.
func (s *ApplicationSpec) EffectiveDeletionPolicy() DeletionPolicy {
	if s.DeletionPolicy != "" {
		return s.DeletionPolicy
	}
	if a := s.SyncPolicy.Automated; a != nil && a.Prune {
		return DeletionPolicyDelete
	}
	return DeletionPolicyOrphan
}

// ApplicationSource is a Git repository, an OCI artifact or a Helm chart.
type ApplicationSource struct {
	// RepoURL is a Git URL (https://, ssh:// or user@host:path), an OCI
	// reference (oci://), or a Helm repository URL when Chart is set.
	// +kubebuilder:validation:MinLength=1
	RepoURL string `json:"repoURL"`
	// TargetRevision is a branch, a tag, a semver range over tags, or a
	// commit; for OCI a tag, semver range or digest. Empty means the
	// repository's default branch.
	// +optional
	TargetRevision string `json:"targetRevision,omitempty"`
	// Path is the folder inside the source: plain YAML, a kustomization, or a
	// Helm chart, detected from its content.
	// +optional
	Path string `json:"path,omitempty"`
	// Chart is the chart name, only for Helm repositories.
	// +optional
	Chart string `json:"chart,omitempty"`
	// +optional
	Helm *HelmSource `json:"helm,omitempty"`
	// +optional
	Kustomize *KustomizeSource `json:"kustomize,omitempty"`
	// CredentialsRef names a Secret in the Application's namespace with
	// username/password, bearerToken, or sshPrivateKey and knownHosts.
	// +optional
	CredentialsRef *LocalObjectReference `json:"credentialsRef,omitempty"`
	// ChartCredentials are credentials for the repositories the source's
	// charts come from besides the source itself: Helm dependencies and a
	// kustomization's helmCharts. A chart repository gets the Secret of the
	// entry whose url is the longest prefix of its own; with no such entry,
	// it gets credentialsRef only when it is on the source's own host, and
	// no credentials otherwise. Each Secret must be one the Project allows.
	// +optional
	// +kubebuilder:validation:MaxItems=32
	ChartCredentials []ChartCredentials `json:"chartCredentials,omitempty"`
	// Verify refuses revisions that are not signed by a trusted key.
	// +optional
	Verify *Verification `json:"verify,omitempty"`
	// Decryption decrypts SOPS-encrypted manifests.
	// +optional
	Decryption *Decryption `json:"decryption,omitempty"`
}

// MaxSourceSecrets is the most Secrets one source names: credentialsRef,
// verify, decryption and the 32 entries chartCredentials may hold.
const MaxSourceSecrets = 3 + 32

// SecretNames are the names of the Secrets the source names
// (credentialsRef, chartCredentials, verify and decryption), each once, in
// that order; at most MaxSourceSecrets. What reads or grants a source's
// Secrets starts from this list, so that a new reference is not forgotten
// by one of them.
func (s *ApplicationSource) SecretNames() []string {
	var names []string
	add := func(name string) {
		if name != "" && !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	if s.CredentialsRef != nil {
		add(s.CredentialsRef.Name)
	}
	for _, c := range s.ChartCredentials {
		add(c.SecretRef.Name)
	}
	if s.Verify != nil {
		add(s.Verify.SecretRef.Name)
	}
	if s.Decryption != nil {
		add(s.Decryption.SecretRef.Name)
	}
	return names
}

// ChartCredentials are the credentials of the chart repositories under one
// URL prefix.
type ChartCredentials struct {
	// URL is a chart repository URL or a prefix of one, such as
	// https://charts.example.com/team-a or oci://registry.example.com/charts.
	// It matches a repository of the same scheme and host whose path is
	// URL's path or continues it after a '/'.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	URL string `json:"url"`
	// SecretRef names a Secret of the Application's namespace with
	// username/password or bearerToken, and caCert when needed.
	SecretRef LocalObjectReference `json:"secretRef"`
}

// HelmSource are the render inputs of a Helm chart.
type HelmSource struct {
	// +optional
	ReleaseName string `json:"releaseName,omitempty"`
	// ValueFiles are paths inside the source, merged in order.
	// +optional
	ValueFiles []string `json:"valueFiles,omitempty"`
	// Values are merged last.
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	Values *apiextensionsv1.JSON `json:"values,omitempty"`
}

// KustomizeSource are kustomize render inputs applied on top of the path.
type KustomizeSource struct {
	// +optional
	NamePrefix string `json:"namePrefix,omitempty"`
	// +optional
	Images []KustomizeImage `json:"images,omitempty"`
	// +optional
	Patches []KustomizePatch `json:"patches,omitempty"`
}

// KustomizeImage overrides an image's name, tag or digest.
type KustomizeImage struct {
	Name string `json:"name"`
	// +optional
	NewName string `json:"newName,omitempty"`
	// +optional
	NewTag string `json:"newTag,omitempty"`
	// +optional
	Digest string `json:"digest,omitempty"`
}

// KustomizePatch is a strategic-merge or JSON 6902 patch and its target.
type KustomizePatch struct {
	Patch string `json:"patch"`
	// +optional
	Target *KustomizeSelector `json:"target,omitempty"`
}

// KustomizeSelector selects the objects a patch applies to.
type KustomizeSelector struct {
	// +optional
	Group string `json:"group,omitempty"`
	// +optional
	Version string `json:"version,omitempty"`
	// +optional
	Kind string `json:"kind,omitempty"`
	// +optional
	Name string `json:"name,omitempty"`
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// +optional
	LabelSelector string `json:"labelSelector,omitempty"`
	// +optional
	AnnotationSelector string `json:"annotationSelector,omitempty"`
}

// LocalObjectReference names an object in the same namespace.
type LocalObjectReference struct {
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
}

// Verification says whose signatures a revision must carry.
type Verification struct {
	// +kubebuilder:validation:Enum=ssh;gpg;cosign
	Provider string `json:"provider"`
	// SecretRef names a Secret holding the trusted public keys.
	SecretRef LocalObjectReference `json:"secretRef"`
}

// Decryption says how to decrypt encrypted manifests.
type Decryption struct {
	// +kubebuilder:validation:Enum=sops
	Provider string `json:"provider"`
	// SecretRef names a Secret holding the private keys.
	SecretRef LocalObjectReference `json:"secretRef"`
}

// Destination is a cluster and a default namespace.
type Destination struct {
	// Cluster is a Cluster's name; "in-cluster" is the hub itself.
	// +kubebuilder:default=in-cluster
	// +optional
	Cluster string `json:"cluster,omitempty"`
	// Namespace is given to namespaced objects that name none.
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// SyncPolicy says when and how to sync.
type SyncPolicy struct {
	// Automated syncs every new revision, and on drift if SelfHeal is set.
	// Without it, the Application only reports what differs until a manual sync.
	// +optional
	Automated *AutomatedSync `json:"automated,omitempty"`
	// CreateNamespace creates the destination namespace if it is missing.
	// +optional
	CreateNamespace bool `json:"createNamespace,omitempty"`
	// AllowEmpty lets a render with no objects prune everything the
	// Application owns. Off, an empty render prunes nothing and fails.
	// +optional
	AllowEmpty bool `json:"allowEmpty,omitempty"`
	// Interval is the full resync period, the safety net behind events:
	// between 1s and 24h.
	// +kubebuilder:default="10m"
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1s') && duration(self) <= duration('24h')",message="interval must be between 1s and 24h"
	// +optional
	Interval *metav1.Duration `json:"interval,omitempty"`
	// Timeout bounds the waiting of one sync in phases and waves, for its
	// hooks to complete and its waves to become healthy: between 1s and
	// 24h, and never beyond the controller's --sync-timeout (10 minutes by
	// default), which applies when it is unset or longer. A step not ready
	// within it fails the sync.
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1s') && duration(self) <= duration('24h')",message="timeout must be between 1s and 24h"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`
	// Retry bounds and spaces retries of a failed sync.
	// +optional
	Retry *RetryPolicy `json:"retry,omitempty"`
	// PruneLimit, when set, bounds how many objects one sync may prune: a
	// count, or a percentage of the objects the Application owns (rounded
	// down). A larger prune is held, with reason PruneRefused, until the
	// flotilla.dev/confirm-prune annotation confirms it once.
	// +kubebuilder:validation:XIntOrString
	// +kubebuilder:validation:XValidation:rule="type(self) == int ? self >= 0 : self.matches('^(100|[1-9]?[0-9])%$')",message="pruneLimit is a count of at least 0 or a percentage from 0% to 100%"
	// +optional
	PruneLimit *intstr.IntOrString `json:"pruneLimit,omitempty"`
}

// AutomatedSync configures automated sync.
type AutomatedSync struct {
	// Prune deletes objects that left the source.
	// +optional
	Prune bool `json:"prune,omitempty"`
	// SelfHeal re-applies objects changed in the cluster.
	// +optional
	SelfHeal bool `json:"selfHeal,omitempty"`
}

// RetryPolicy bounds retries of a failed sync.
type RetryPolicy struct {
	// Limit is the number of retries; 0 means retry forever.
	// +kubebuilder:validation:Minimum=0
	// +optional
	Limit int32 `json:"limit,omitempty"`
	// +optional
	Backoff *Backoff `json:"backoff,omitempty"`
}

// Backoff spaces retries: Duration, then times Factor, at most MaxDuration.
type Backoff struct {
	// Duration is the wait before the first retry: between 1s and 1h (default 5s).
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1s') && duration(self) <= duration('1h')",message="backoff duration must be between 1s and 1h"
	// +optional
	Duration *metav1.Duration `json:"duration,omitempty"`
	// Factor multiplies the wait after each retry: 1 to 10 (default 2).
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=10
	// +optional
	Factor *int32 `json:"factor,omitempty"`
	// MaxDuration caps the wait: between 1s and 24h (default 3m).
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1s') && duration(self) <= duration('24h')",message="backoff maxDuration must be between 1s and 24h"
	// +optional
	MaxDuration *metav1.Duration `json:"maxDuration,omitempty"`
}

// DependencyReference names another Application in the same namespace, or
// a Fleet of the same namespace: then the Application that Fleet generated
// for a cluster (this Application's destination cluster, or the one named)
// must be Synced and Healthy at the revision the Fleet pinned it to.
// +kubebuilder:validation:XValidation:rule="has(self.name) != has(self.fleet)",message="a dependency names either an Application (name) or a Fleet (fleet)"
// +kubebuilder:validation:XValidation:rule="!has(self.cluster) || has(self.fleet)",message="cluster goes with fleet"
type DependencyReference struct {
	// Name is an Application.
	// +kubebuilder:validation:MinLength=1
	// +optional
	Name string `json:"name,omitempty"`
	// Fleet is a Fleet.
	// +kubebuilder:validation:MinLength=1
	// +optional
	Fleet string `json:"fleet,omitempty"`
	// Cluster, with fleet, is the cluster whose Application of the Fleet
	// must be ready; empty means this Application's destination cluster.
	// +optional
	Cluster string `json:"cluster,omitempty"`
}

// IgnoreDifference names fields of some objects that are not drift.
type IgnoreDifference struct {
	// +optional
	Group string `json:"group,omitempty"`
	Kind  string `json:"kind"`
	// +optional
	Name string `json:"name,omitempty"`
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// JSONPointers are RFC 6901 pointers, like /spec/replicas.
	// +optional
	JSONPointers []string `json:"jsonPointers,omitempty"`
	// ManagedFieldsManagers ignores fields owned by these field managers.
	// +optional
	ManagedFieldsManagers []string `json:"managedFieldsManagers,omitempty"`
}

// HealthCheck decides the health of objects of one kind with CEL.
type HealthCheck struct {
	// +optional
	Group string `json:"group,omitempty"`
	Kind  string `json:"kind"`
	// CEL is an expression over `self` (the live object) that is true when
	// the object is healthy.
	// +kubebuilder:validation:MinLength=1
	CEL string `json:"cel"`
}

// ApplicationStatus is what the controller observed and did.
type ApplicationStatus struct {
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// +optional
	Sync SyncStatus `json:"sync,omitempty"`
	// +optional
	Health HealthStatus `json:"health,omitempty"`
	// Resources is the inventory: every object the Application owns.
	// +optional
	Resources []ResourceStatus `json:"resources,omitempty"`
	// History lists the last 10 successful syncs, newest last.
	// +optional
	History []HistoryEntry `json:"history,omitempty"`
	// Operation is the current or last sync.
	// +optional
	Operation *OperationState `json:"operation,omitempty"`
	// Pin is set while a rollback holds the Application at an earlier
	// revision; automated sync stays there until the rollback annotation is
	// removed.
	// +optional
	Pin *Pin `json:"pin,omitempty"`
	// LastHandledSync is the value of the sync annotation last acted on, so
	// a request is handled once.
	// +optional
	LastHandledSync string `json:"lastHandledSync,omitempty"`
	// LastHandledRefresh is the value of the refresh annotation last acted on.
	// +optional
	LastHandledRefresh string `json:"lastHandledRefresh,omitempty"`
	// LastHandledPrune is the value of the confirm-prune annotation last
	// seen: a confirmation is used once.
	// +optional
	LastHandledPrune string `json:"lastHandledPrune,omitempty"`
	// Cluster is the cluster the inventory (resources) lives in. When
	// spec.destination.cluster moves away from it, the objects there are
	// deleted or released (deletionPolicy) before anything is applied in
	// the new cluster.
	// +optional
	Cluster string `json:"cluster,omitempty"`
}

// Pin is a rollback in force.
type Pin struct {
	// HistoryID is the history entry rolled back to.
	HistoryID int64 `json:"historyID"`
	// Revision is that entry's revision, which every sync applies while pinned.
	Revision string      `json:"revision"`
	Since    metav1.Time `json:"since"`
}

// SyncStatus compares the cluster with the source.
type SyncStatus struct {
	// +optional
	Status SyncStatusCode `json:"status,omitempty"`
	// Revision is the resolved commit SHA or digest last compared.
	// +optional
	Revision string `json:"revision,omitempty"`
}

// HealthStatus is the rolled-up health of the Application's objects.
type HealthStatus struct {
	// +optional
	Status HealthStatusCode `json:"status,omitempty"`
	// Message names the worst object and why.
	// +optional
	Message string `json:"message,omitempty"`
}

// ResourceStatus is one object of the inventory.
type ResourceStatus struct {
	// +optional
	Group   string `json:"group,omitempty"`
	Version string `json:"version"`
	Kind    string `json:"kind"`
	// +optional
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	// +optional
	Sync SyncStatusCode `json:"sync,omitempty"`
	// +optional
	Health HealthStatusCode `json:"health,omitempty"`
	// +optional
	Message string `json:"message,omitempty"`
}

// HistoryEntry is one successful sync.
type HistoryEntry struct {
	ID         int64       `json:"id"`
	Revision   string      `json:"revision"`
	DeployedAt metav1.Time `json:"deployedAt"`
	// Message is the first line of the commit's message, for a git source,
	// read when the entry was written; at most 256 bytes.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Message string `json:"message,omitempty"`
	// Author is the commit's author, "Name <address>", for a git source;
	// at most 256 bytes.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Author string `json:"author,omitempty"`
}

// OperationState is the state of a sync operation.
type OperationState struct {
	Phase OperationPhase `json:"phase"`
	// +optional
	Message string `json:"message,omitempty"`
	// +optional
	Revision string `json:"revision,omitempty"`
	// +optional
	StartedAt *metav1.Time `json:"startedAt,omitempty"`
	// +optional
	FinishedAt *metav1.Time `json:"finishedAt,omitempty"`
	// SyncPhase is the phase of a sync in phases and waves (PreSync, Sync,
	// PostSync, SyncFail) under way, or where it ended; empty for a sync
	// applied at once.
	// +optional
	SyncPhase string `json:"syncPhase,omitempty"`
	// SyncWave is the wave of SyncPhase under way, or where it ended.
	// +optional
	SyncWave *int32 `json:"syncWave,omitempty"`
	// RetryCount is how many times this operation was retried.
	// +optional
	RetryCount int32 `json:"retryCount,omitempty"`
}
