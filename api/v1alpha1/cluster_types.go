package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Cluster is a member of the fleet.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=flotilla
// +kubebuilder:printcolumn:name="Server",type=string,JSONPath=`.spec.server`
// +kubebuilder:printcolumn:name="Mode",type=string,JSONPath=`.spec.mode`
// +kubebuilder:printcolumn:name="Connected",type=boolean,JSONPath=`.status.connected`
// +kubebuilder:printcolumn:name="Version",type=string,JSONPath=`.status.kubernetesVersion`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Cluster struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ClusterSpec   `json:"spec"`
	Status ClusterStatus `json:"status,omitempty"`
}

// ClusterList is a list of Clusters.
//
// +kubebuilder:object:root=true
type ClusterList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Cluster `json:"items"`
}

// ClusterMode says who applies to the cluster.
type ClusterMode string

const (
	// ClusterModePush: the hub applies.
	ClusterModePush ClusterMode = "push"
	// ClusterModeAgent: an agent in the cluster pulls and applies.
	ClusterModeAgent ClusterMode = "agent"
)

// ClusterSpec says how to reach a cluster.
type ClusterSpec struct {
	// Server is the cluster's API server URL. When empty, the kubeconfig in
	// the credentials Secret says.
	// +optional
	Server string `json:"server,omitempty"`
	// CredentialsRef names a Secret in the Cluster's namespace with a
	// `kubeconfig`, or `bearerToken` and `caData`.
	// +optional
	CredentialsRef *LocalObjectReference `json:"credentialsRef,omitempty"`
	// +kubebuilder:validation:Enum=push;agent
	// +kubebuilder:default=push
	// +optional
	Mode ClusterMode `json:"mode,omitempty"`
	// +optional
	Limits *ClusterLimits `json:"limits,omitempty"`
}

// ClusterLimits bound the requests Flotilla makes to one cluster.
type ClusterLimits struct {
	// +kubebuilder:validation:Minimum=1
	// +optional
	QPS int32 `json:"qps,omitempty"`
	// +kubebuilder:validation:Minimum=1
	// +optional
	Burst int32 `json:"burst,omitempty"`
}

// ClusterStatus is what the controller last saw of the cluster.
type ClusterStatus struct {
	// +optional
	Connected bool `json:"connected,omitempty"`
	// +optional
	KubernetesVersion string `json:"kubernetesVersion,omitempty"`
	// +optional
	LastHeartbeat *metav1.Time `json:"lastHeartbeat,omitempty"`
	// Applications is how many Applications target this cluster.
	// +optional
	Applications int32 `json:"applications,omitempty"`
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}
