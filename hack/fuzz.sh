#!/usr/bin/env bash
# Runs every native Go fuzz target of the module for a short while, beyond
# the seed corpus `go test` already runs: FUZZTIME inputs each (default
# 2000x; a count, not a duration: with a duration, Go 1.26's fuzz
# coordinator can fail a target at the deadline having found nothing,
# go.dev/issue/75804). New interesting inputs are minimized briefly.
# The parsers of untrusted input (archives, Helm indexes, manifests, paths)
# are the ones that matter; a failing input is written to the package's
# testdata/fuzz folder, where `go test` replays it from then on.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime="${FUZZTIME:-2000x}"
grep -rl --include='*_test.go' '^func Fuzz' internal | sort | while read -r file; do
	pkg="./$(dirname "${file}")"
	for target in $(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "${file}"); do
		echo "fuzz ${pkg} ${target} (${fuzztime})"
		if ! out="$(go test -run '^$' -fuzz "^${target}\$" -fuzztime "${fuzztime}" -fuzzminimizetime 100x "${pkg}" 2>&1)"; then
			echo "${out}"
			exit 1
		fi
	done
done
