// Package config embeds Flotilla's kustomize bases, so that `flotilla
// install --controller` and `--export` build exactly what `kubectl apply -k
// config/default` applies: one source for both.
package config

import "embed"

// Bases holds the kustomize tree: crd, rbac, manager, in-cluster, ha and
// default.
//
//go:embed crd/kustomization.yaml crd/bases/*.yaml rbac/*.yaml manager/*.yaml in-cluster/*.yaml ha/*.yaml default/*.yaml namespace/*.yaml
var Bases embed.FS
