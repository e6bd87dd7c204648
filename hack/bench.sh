#!/usr/bin/env bash
# Runs Flotilla's benchmarks against real local clusters and prints medians
# (through benchstat). Results belong in docs/BENCHMARKS.md, with the machine
# and this command.
#
#   COUNT   samples per benchmark (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
count="${COUNT:-5}"
out="$(mktemp)"
trap 'rm -f "${out}"' EXIT

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(go version)" >&2
go test -run '^$' -bench . -benchtime 1x -count "${count}" -timeout 60m ./internal/localfleet/ | tee "${out}"
go run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da "${out}"
