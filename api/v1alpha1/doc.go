// Package v1alpha1 is Flotilla's API: the Application, Cluster, Project and
// Fleet resources of the group flotilla.dev, their condition types and
// reasons, and the labels and annotations Flotilla reads and writes. It is
// the contract with users, the REST API and the UI; it depends on nothing
// else of Flotilla's.
//
// +kubebuilder:object:generate=true
// +groupName=flotilla.dev
package v1alpha1
