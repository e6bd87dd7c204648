// Package bench holds Flotilla's end-to-end benchmarks against real local
// clusters. They run with `make bench` (hack/bench.sh), never in `make test`:
// they take minutes and their numbers belong in docs/BENCHMARKS.md, not in
// pass/fail checks.
package bench
