// Package importer converts Argo CD and Flux manifests into Flotilla's.
//
// It reads the objects a team already has (exported with `kubectl get -o
// yaml` or kept in Git) and writes the Flotilla Applications, Fleets and
// Projects that do the same work. It promises three things: every field of
// the input is either converted or named in a comment of the output (none is
// dropped silently); a conversion that needs a person to choose (a cluster's
// name, a credential, a setting with no equivalent) is listed in a summary
// at the end; and a kind it cannot convert is reported by kind and name,
// never guessed at. The input is untrusted: its bytes, documents and YAML
// nodes are bounded before it is parsed, and YAML aliases are refused.
package importer
