// Package capi reads Cluster API's Cluster objects (group cluster.x-k8s.io)
// for the controller's --capi mode, which registers every cluster Cluster
// API provisions in the hub as a Flotilla Cluster (see docs/capi.md). It
// reads objects as unstructured data, so that Flotilla depends on no
// version of Cluster API's Go module and reads both v1beta1 and v1beta2.
//
// Promises:
//   - A cluster counts as provisioned once its control plane is
//     initialized, as either API version reports it; never before.
//   - A kubeconfig is read only from the key "value" of the Secret
//     <name>-kubeconfig, and only up to MaxKubeconfigBytes.
//   - What is copied onto the Flotilla Cluster is the CAPI Cluster's
//     labels, never its annotations or spec.
package capi
