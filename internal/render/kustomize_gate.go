package render

import (
	"sync"

	"sigs.k8s.io/kustomize/kyaml/openapi"
)

// openAPIGate guards the OpenAPI schema that kustomize keeps in
// process-wide variables of kyaml's openapi package.
//
// Two hazards come with those variables. Builds that run at once race on the
// schema's lazy initialisation (kubernetes-sigs/kustomize#4824, #5805). And a
// kustomization with an `openapi:` field replaces the schema for every later
// build in the process, never restored (fluxcd/pkg#1237: a trimmed schema in
// one tenant's kustomization silently broke strategic merges for others);
// an invalid custom schema even panics while parsing.
//
// So builds without an `openapi:` field share the gate and only read a
// schema initialised beforehand; a build with one holds the gate alone and
// the schema is reset before and after it.
//
// This is the package's one piece of process-wide state: it mirrors
// kustomize's own. Everything in the process that runs kustomize should do so
// through this package.
var kustomizeSchema openAPIGate

type openAPIGate struct {
	mu   sync.RWMutex
	warm bool // the default schema is initialised; guarded by mu
}

func (g *openAPIGate) shared(fn func()) {
	g.mu.RLock()
	for !g.warm {
		g.mu.RUnlock()
		g.warmUp()
		g.mu.RLock()
	}
	defer g.mu.RUnlock()
	fn()
}

func (g *openAPIGate) warmUp() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.warm {
		_ = openapi.Schema() // parses the built-in schema once, now, alone
		g.warm = true
	}
}

func (g *openAPIGate) exclusive(fn func()) {
	g.mu.Lock()
	defer g.mu.Unlock()
	openapi.ResetOpenAPI()
	defer func() {
		openapi.ResetOpenAPI()
		g.warm = false
	}()
	fn()
}
