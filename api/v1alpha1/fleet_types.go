package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Fleet is one Application template deployed to every cluster its selector
// picks: one Application `<fleet>-<cluster>` per cluster, owned by the Fleet.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=flotilla
// +kubebuilder:printcolumn:name="Clusters",type=integer,JSONPath=`.status.summary.clusters`
// +kubebuilder:printcolumn:name="Synced",type=integer,JSONPath=`.status.summary.synced`
// +kubebuilder:printcolumn:name="Healthy",type=integer,JSONPath=`.status.summary.healthy`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Fleet struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   FleetSpec   `json:"spec"`
	Status FleetStatus `json:"status,omitempty"`
}

// FleetList is a list of Fleets.
//
// +kubebuilder:object:root=true
type FleetList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Fleet `json:"items"`
}

// FleetSpec picks clusters and says what to deploy to each.
type FleetSpec struct {
	// Project of the generated Applications; the template cannot set its own.
	// +kubebuilder:default=default
	// +optional
	Project string `json:"project,omitempty"`
	// ClusterSelector picks Clusters by label; empty picks every Cluster.
	// +optional
	ClusterSelector *metav1.LabelSelector `json:"clusterSelector,omitempty"`
	// Template is an Application spec. Its string fields may use
	// {{ .Cluster.Name }} and {{ index .Cluster.Labels "key" }}; its
	// destination cluster is always the picked cluster.
	Template FleetTemplate `json:"template"`
	// +optional
	Rollout *Rollout `json:"rollout,omitempty"`
}

// FleetTemplate is the part of an Application spec a Fleet stamps out.
type FleetTemplate struct {
	Source ApplicationSource `json:"source"`
	// +optional
	Destination FleetDestination `json:"destination,omitempty"`
	// +optional
	SyncPolicy SyncPolicy `json:"syncPolicy,omitempty"`
	// +optional
	IgnoreDifferences []IgnoreDifference `json:"ignoreDifferences,omitempty"`
	// +optional
	HealthChecks []HealthCheck `json:"healthChecks,omitempty"`
	// DependsOn of the generated Applications: `{fleet: infra}` holds each
	// cluster's Application until the Fleet infra's Application on the
	// same cluster is Synced and Healthy at its revision.
	// +optional
	DependsOn []DependencyReference `json:"dependsOn,omitempty"`
	// DeletionPolicy of the generated Applications: what happens to their
	// objects when the Fleet removes them (see ApplicationSpec).
	// +optional
	DeletionPolicy DeletionPolicy `json:"deletionPolicy,omitempty"`
}

// FleetDestination is the namespace in each cluster.
type FleetDestination struct {
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// Rollout says how a new revision moves across the fleet.
type Rollout struct {
	// MaxParallel bounds how many clusters sync a new revision at once: a
	// number or a percentage of the fleet. Empty means all at once.
	// +optional
	MaxParallel string `json:"maxParallel,omitempty"`
	// MaxRemoval bounds how many generated Applications one reconcile may
	// remove: a count, or a percentage of the Applications the Fleet has.
	// Empty means: not all of them, and not more than half when there are
	// four or more. A larger removal waits, with reason MassRemovalRefused.
	// +kubebuilder:validation:XIntOrString
	// +kubebuilder:validation:XValidation:rule="type(self) == int ? self >= 0 : self.matches('^(100|[1-9]?[0-9])%$')",message="maxRemoval is a count of at least 0 or a percentage from 0% to 100%"
	// +optional
	MaxRemoval *intstr.IntOrString `json:"maxRemoval,omitempty"`
	// AllowMassRemoval lets the Fleet remove any number of its Applications
	// at once, as its selector says.
	// +optional
	AllowMassRemoval bool `json:"allowMassRemoval,omitempty"`
	// Waves move a new revision through the fleet in order: each wave's
	// clusters take it only once every earlier wave passed its gate (all
	// its Applications Synced and Healthy at the revision, its checks
	// true) and stayed healthy for its bake time. A cluster no wave picks
	// joins the last wave.
	// +kubebuilder:validation:MaxItems=20
	// +listType=map
	// +listMapKey=name
	// +optional
	Waves []RolloutWave `json:"waves,omitempty"`
	// ProgressDeadline is how long a wave may take to pass its health gate;
	// a wave not passed by then has failed. Default 10m.
	// +optional
	ProgressDeadline *metav1.Duration `json:"progressDeadline,omitempty"`
	// AutoRollback, when a wave fails, moves the clusters that took the
	// failed revision back to the last revision that passed every wave.
	// Default true when waves are set.
	// +optional
	AutoRollback *bool `json:"autoRollback,omitempty"`
	// Paused stops moving clusters to a new revision; clusters already on
	// their way go on, and a failure is still rolled back.
	// +optional
	Paused bool `json:"paused,omitempty"`
}

// RolloutWave is one step of a rollout: the clusters it picks (by name, by
// label, or a percentage of the clusters no earlier wave picked), how many
// of them move at once, what must hold before the next wave, and for how
// long.
// +kubebuilder:validation:XValidation:rule="[has(self.clusters), has(self.clusterSelector), has(self.percent)].filter(x, x).size() <= 1",message="a wave picks clusters by one of clusters, clusterSelector or percent"
type RolloutWave struct {
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Name string `json:"name"`
	// Clusters picks these clusters by name.
	// +kubebuilder:validation:MaxItems=500
	// +optional
	Clusters []string `json:"clusters,omitempty"`
	// ClusterSelector picks clusters by label.
	// +optional
	ClusterSelector *metav1.LabelSelector `json:"clusterSelector,omitempty"`
	// Percent picks this share of the clusters no earlier wave picked,
	// rounded up, in name order. A wave with none of clusters,
	// clusterSelector and percent picks every cluster left.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	// +optional
	Percent *int32 `json:"percent,omitempty"`
	// MaxParallel bounds how many of the wave's clusters move at once: a
	// count or a percentage of the wave. Default: spec.rollout.maxParallel,
	// else all at once.
	// +optional
	MaxParallel string `json:"maxParallel,omitempty"`
	// BakeTime is how long the wave must stay healthy after its gate first
	// holds before the next wave starts.
	// +optional
	BakeTime *metav1.Duration `json:"bakeTime,omitempty"`
	// Checks are CEL expressions over each Application of the wave (as
	// `self`), all of which must be true for the gate to hold, for example
	// `self.status.resources.all(r, r.health != 'Degraded')`.
	// +kubebuilder:validation:MaxItems=10
	// +optional
	Checks []string `json:"checks,omitempty"`
}

// FleetStatus summarizes the generated Applications.
type FleetStatus struct {
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// Revision is the commit the fleet is rolling out, when all its clusters agree.
	// +optional
	Revision string `json:"revision,omitempty"`
	// Clusters are the clusters picked, in name order.
	// +optional
	Clusters []string `json:"clusters,omitempty"`
	// +optional
	Summary FleetSummary `json:"summary,omitempty"`
	// LastHandledRemoval is the value of the confirm-removal annotation last
	// seen: a confirmation is used once.
	// +optional
	LastHandledRemoval string `json:"lastHandledRemoval,omitempty"`
	// StableRevision is the last revision that passed every wave: where an
	// automatic rollback takes the clusters back to.
	// +optional
	StableRevision string `json:"stableRevision,omitempty"`
	// FailedRevision is a revision that failed a wave. It is not rolled out
	// again until a newer revision arrives, or the retry-rollout annotation
	// names it.
	// +optional
	FailedRevision string `json:"failedRevision,omitempty"`
	// Waves say, per wave, which revision is where, since when, and why it
	// waits.
	// +optional
	Waves []WaveStatus `json:"waves,omitempty"`
	// LastHandledPromote is the value of the promote annotation last seen.
	// +optional
	LastHandledPromote string `json:"lastHandledPromote,omitempty"`
	// LastHandledRetry is the value of the retry-rollout annotation last
	// used: a retry is used once.
	// +optional
	LastHandledRetry string `json:"lastHandledRetry,omitempty"`
}

// WaveStatus is where one wave of a rollout is.
type WaveStatus struct {
	Name string `json:"name"`
	// Clusters are the clusters of the wave, in name order.
	// +optional
	Clusters []string `json:"clusters,omitempty"`
	// Revision is the revision the wave's clusters run when they agree.
	// +optional
	Revision string `json:"revision,omitempty"`
	// Phase is Pending, Progressing, Baking, Succeeded, Failed or
	// RolledBack.
	// +optional
	Phase WavePhase `json:"phase,omitempty"`
	// Message says what the wave waits for, or why it failed.
	// +optional
	Message string `json:"message,omitempty"`
	// Since is when the wave entered its phase.
	// +optional
	Since *metav1.Time `json:"since,omitempty"`
}

// WavePhase is where a wave of a rollout is.
type WavePhase string

// The phases of a wave.
const (
	WavePending     WavePhase = "Pending"
	WaveProgressing WavePhase = "Progressing"
	WaveBaking      WavePhase = "Baking"
	WaveSucceeded   WavePhase = "Succeeded"
	WaveFailed      WavePhase = "Failed"
	WaveRolledBack  WavePhase = "RolledBack"
)

// FleetSummary counts the generated Applications.
type FleetSummary struct {
	// +optional
	Clusters int32 `json:"clusters,omitempty"`
	// +optional
	Synced int32 `json:"synced,omitempty"`
	// +optional
	Healthy int32 `json:"healthy,omitempty"`
}
