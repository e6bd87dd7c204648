// Package crd embeds Flotilla's generated CustomResourceDefinitions, so that
// `flotilla install` and tests install exactly what controller-gen produced.
package crd

import "embed"

// Bases holds bases/*.yaml, one CRD per file.
//
//go:embed bases/*.yaml
var Bases embed.FS
