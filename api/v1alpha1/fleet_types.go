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
}

// FleetSummary counts the generated Applications.
type FleetSummary struct {
	// +optional
	Clusters int32 `json:"clusters,omitempty"`
	// +optional
	Synced int32 `json:"synced,omitempty"`
	// +optional
	Healthy int32 `json:"healthy,omitempty"`
}
