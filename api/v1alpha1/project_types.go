package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Project is a tenancy boundary: which sources its Applications may use,
// where they may deploy, which kinds they may apply, and as whom.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=proj,categories=flotilla
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Project struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ProjectSpec   `json:"spec"`
	Status ProjectStatus `json:"status,omitempty"`
}

// ProjectList is a list of Projects.
//
// +kubebuilder:object:root=true
type ProjectList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Project `json:"items"`
}

// ProjectSpec is what a Project allows. Patterns are globs: `*` matches any
// run of characters, `?` one character.
type ProjectSpec struct {
	// SourceRepos are the repository URLs (globs) Applications may use.
	// Empty allows none.
	// +optional
	SourceRepos []string `json:"sourceRepos,omitempty"`
	// Destinations are the cluster and namespace pairs (globs) Applications
	// may deploy to. Empty allows none.
	// +optional
	Destinations []ProjectDestination `json:"destinations,omitempty"`
	// ClusterResourceWhitelist lists the cluster-scoped kinds Applications
	// may apply. Empty allows none.
	// +optional
	ClusterResourceWhitelist []GroupKindPattern `json:"clusterResourceWhitelist,omitempty"`
	// NamespaceResourceBlacklist lists namespaced kinds Applications may not apply.
	// +optional
	NamespaceResourceBlacklist []GroupKindPattern `json:"namespaceResourceBlacklist,omitempty"`
	// ServiceAccount, when set, is impersonated in every destination
	// namespace for every apply and prune, so that the target cluster's RBAC
	// has the last word. It must exist there: a missing ServiceAccount is an
	// error, never a fall-back to the controller's own identity.
	// +optional
	ServiceAccount string `json:"serviceAccount,omitempty"`
	// Secrets are the names (globs) of the Secrets of the namespace that
	// its Applications and Fleets may name as source.credentialsRef,
	// source.verify.secretRef and source.decryption.secretRef, besides
	// the Secrets labelled flotilla.dev/project=<this Project's name>. A
	// leading '!' denies, also a labelled Secret. Empty allows only the
	// labelled Secrets. A Cluster's credentials are never allowed.
	// +optional
	Secrets []string `json:"secrets,omitempty"`
	// Roles grant users and groups actions on the Project's Applications,
	// Fleets and the Project itself through the API.
	// +optional
	Roles []ProjectRole `json:"roles,omitempty"`
}

// ProjectDestination is a cluster and namespace pattern.
type ProjectDestination struct {
	// +optional
	Cluster string `json:"cluster,omitempty"`
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// GroupKindPattern names kinds; `*` matches any group or kind.
type GroupKindPattern struct {
	// +optional
	Group string `json:"group"`
	Kind  string `json:"kind"`
}

// ProjectRole grants policies to users and groups.
type ProjectRole struct {
	Name string `json:"name"`
	// Groups are group names as the API server knows them: a local
	// account's groups or the OpenID provider's groups claim.
	// +optional
	Groups []string `json:"groups,omitempty"`
	// Users are user names: a local account's name or the OpenID
	// provider's user claim.
	// +optional
	Users []string `json:"users,omitempty"`
	// Policies are "resource:action", like "applications:sync".
	// +optional
	Policies []string `json:"policies,omitempty"`
}

// ProjectStatus is what the controller last saw of the Project.
type ProjectStatus struct {
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}
